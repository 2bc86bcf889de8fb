/*
 * NAME
 *	dns_ttl_fuzz - libFuzzer target for the answer cache's TTL reader
 * DESCRIPTION
 *	Answer packets are the network's (or a hostile resolver path's):
 *	dns_packet_ttl() must survive any bytes, in both modes, and a
 *	negative answer without a SOA is never kept longer than DNS_NEG_TTL
 *	when it has no answer records either. Build and run with
 *	`make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t pos = dns_packet_ttl(data, size, 0);
	uint32_t neg = dns_packet_ttl(data, size, 1);

	/* no answer records, no authority ones: the fixed negative TTL or
	 * nothing (malformed question), and never a positive lifetime */
	if (size >= 12 && data[6] == 0 && data[7] == 0 && data[8] == 0 &&
		data[9] == 0 && (pos != 0 || (neg != 0 && neg != DNS_NEG_TTL)))
		abort();
	return 0;
}
