/*
 * NAME
 *	addrlist_fuzz - libFuzzer target for the RFC 5322 address-list parser
 * DESCRIPTION
 *	From: and Sender: bodies are the client's. Both modes must survive
 *	anything, every mailbox must come out NUL-terminated, and an
 *	accepted list parsed again from its own addr-specs must give the
 *	same addresses. Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct addrlist_mailbox mb[64], again[64];
	const char *err;
	struct sbuf re;
	size_t n, n2, i;
	int mode;

	for (mode = 0; mode < 2; mode++) {
		if (addrlist_parse((const char *)data, size, mode, mb, 64, &n,
				   &err) < 0)
			continue;
		sbuf_init(&re, 1 << 16);
		for (i = 0; i < n; i++)
			if (strlen(mb[i].addr) > LIM_PATH ||
			    sbuf_printf(&re, "%s<%s>", i ? ", " : "",
					mb[i].addr) < 0)
				abort();
		if (n > 0) {
			if (addrlist_parse(re.data, re.len, ADDRLIST_MAILBOXES,
					   again, 64, &n2, &err) < 0 ||
			    n2 != n)
				abort();
			for (i = 0; i < n; i++)
				if (strcmp(mb[i].addr, again[i].addr) != 0)
					abort();
		}
		sbuf_free(&re);
	}
	return 0;
}
