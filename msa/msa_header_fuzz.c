/*
 * NAME
 *	msa_header_fuzz - libFuzzer target for msa's header scanner
 * DESCRIPTION
 *	The header section of a submitted message is the client's: the
 *	field scanner, and the address-list parser on what it finds, must
 *	survive anything.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "msa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct addrlist_mailbox mb[16];
	const char *val, *err;
	struct msa_hdr h;
	size_t off = 0, vlen, n;

	msa_header_scan((const char *)data, size, &h);
	while (msa_header_field((const char *)data, size, "From", &off, &val,
				&vlen)) {
		/* every field body lies inside the input */
		if (val < (const char *)data ||
		    val + vlen > (const char *)data + size)
			abort();
		addrlist_parse(val, vlen, ADDRLIST_MAILBOXES, mb, 16, &n, &err);
	}
	return 0;
}
