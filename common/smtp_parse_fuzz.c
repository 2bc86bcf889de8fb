/*
 * NAME
 *	smtp_parse_fuzz - libFuzzer target for the command-line parsers
 * DESCRIPTION
 *	Everything a client sends as a command goes through these: the
 *	verb, the path (with every option combination), the ESMTP
 *	parameters and BDAT's chunk size. Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1), out[LIM_ORCPT + 1];
	struct smtp_cmd c;
	struct addr a;
	struct mail_params mp;
	struct rcpt_params rp;
	struct parse_err e;
	const char *rest, *err;
	unsigned opts;
	long long bsize;
	int blast;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (smtp_parse_cmd(line, &c) == 0) {
		for (opts = 0; opts < 8; opts++) {
			if (addr_parse_path(c.arg, opts, &a, &rest, &err) != 0)
				continue;
			if (strlen(a.mailbox) > LIM_PATH ||
			    strlen(a.domain) > LIM_DOMAIN)
				abort();
			smtp_parse_mail_params(rest, 15, &mp, &e);
			smtp_parse_rcpt_params(rest, 15, &rp, &e);
		}
	}
	smtp_parse_mail_params(line, 15, &mp, &e);
	smtp_parse_mail_params(line, 31, &mp, &e); /* trusted-peer claims */
	smtp_parse_rcpt_params(line, 15, &rp, &e);
	xtext_decode(line, out, sizeof(out));
	xtext_encode(line, out, sizeof(out));
	addr_domain_valid(line);
	/* BDAT's size: never negative, at most 18 digits */
	if (smtp_parse_bdat(line, &bsize, &blast) == 0 &&
	    (bsize < 0 || bsize > 999999999999999999LL || (blast & ~1)))
		abort();
	free(line);
	return 0;
}
