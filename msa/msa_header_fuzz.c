/*
 * NAME
 *	msa_header_fuzz - libFuzzer target for msa's header scanner
 * DESCRIPTION
 *	The header section of a submitted message is the client's: the
 *	field scanner and the address-list parser must survive anything.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512];
	struct msa_hdr h;
	int n, k;
	size_t o = 0;

	msa_header_scan((const char *)data, size, &h);
	n = msa_header_addrs((const char *)data, size, "From", out,
			     sizeof(out));
	/* every mailbox is NUL-terminated inside out */
	for (k = 0; k < n; k++) {
		o += strnlen(out + o, sizeof(out) - o) + 1;
		if (o > sizeof(out))
			abort();
	}
	return 0;
}
