/*
 * NAME
 *	arc_fuzz - libFuzzer target for ARC chain parsing and validation
 * DESCRIPTION
 *	mx reads the ARC fields of every message from the Internet: the set
 *	grouping, the tag-lists of ARC-Message-Signature and ARC-Seal, their
 *	body hashes and the seal's hash data (built here with a key record
 *	that parses but holds no usable key, so the code up to the crypto
 *	call runs). Build and run with `make fuzz`; arc_fuzz.dict names the
 *	fields and tags.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arc_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char key[] = "v=DKIM1; k=rsa; p=AAAA";
	const char *msg = (const char *)data, *hend;
	struct arc_chain c;
	size_t hlen, i;
	enum arc_result r;

	hend = memmem(msg, size, "\r\n\r\n", 4);
	hlen = hend ? (size_t)(hend - msg) + 4 : size;
	arc_verify_prepare(&c, msg, hlen, size, 0);
	for (i = 0; i < c.nsig; i++)
		if (c.sigs[i].need_key)
			arc_verify_key(&c, i, msg, hlen, key, sizeof(key) - 1);
	r = arc_verify_result(&c);
	if (r >= ARC_NRESULTS || (c.n == 0 && r == ARC_PASS) ||
	    (c.n > 0 && r == ARC_PASS))	/* no key here can verify */
		abort();
	arc_chain_free(&c);
	return 0;
}
