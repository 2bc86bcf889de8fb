/*
 * NAME
 *	spf_fuzz - libFuzzer target for SPF records and macros
 * DESCRIPTION
 *	SPF records come from any DNS zone: the record parser and the macro
 *	expander (RFC 7208 4.6, 7) see whatever an attacker publishes. The
 *	input is parsed as a record, and every term's argument expanded.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record r;
	struct spf_macro_vars v = {"strong-bad@email.example.com",
				   "email.example.com", "2001:db8::cb01",
				   "mail.example.com"};
	char err[128], out[300];
	size_t i;

	if (spf_record_parse((const char *)data, size, &r, err,
			     sizeof(err)) < 0) {
		spf_macro_expand(&v, (const char *)data, size, out,
				 sizeof(out));
		return 0;
	}
	for (i = 0; i < r.n; i++)
		if (r.t[i].arg)
			spf_macro_expand(&v, r.t[i].arg, r.t[i].arglen, out,
					 sizeof(out));
	return 0;
}
