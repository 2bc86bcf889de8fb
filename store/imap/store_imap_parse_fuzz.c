/*
 * NAME
 *	store_imap_parse_fuzz - libFuzzer target for the IMAP parser
 * DESCRIPTION
 *	Every byte an IMAP client sends goes through imap_parse(): the
 *	input is parsed command after command as the session would (with
 *	small limits so they are hit), and each argument goes through the
 *	sequence-set and date parsers and the mailbox name codec
 *	(store_imap_utf7.c). Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A mailbox name that decodes encodes back to itself, and one that
 * encodes decodes back (one spelling each way, RFC 3501 5.1.3). */
static void mutf7_round_trip(const char *s)
{
	char a[1200], b[1200];

	if (imap_mutf7_decode(s, a, sizeof(a)) == 0 &&
	    (imap_mutf7_encode(a, b, sizeof(b)) != 0 || strcmp(s, b) != 0))
		abort();
	if (imap_mutf7_encode(s, a, sizeof(a)) == 0 &&
	    (imap_mutf7_decode(a, b, sizeof(b)) != 0 || strcmp(s, b) != 0))
		abort();
}

static void check_args(const struct imap_cmd *cmd)
{
	struct imap_seqset set;
	uint64_t ms;
	size_t i;

	for (i = 0; i < cmd->nargs; i = imap_arg_next(cmd, i)) {
		const char *s = imap_arg_str(cmd, i);

		if (i >= cmd->nargs)
			abort();
		if (s == NULL)
			continue;
		if (imap_seqset_parse(s, 100, &set) == 0) {
			if (set.n == 0)
				abort();
			imap_seqset_has(&set, 50);
			imap_seqset_free(&set);
		}
		imap_parse_date(s);
		imap_parse_datetime(s);
		if (imap_parse_modseq(s, 1, &ms) == 0 && ms >> 63)
			abort();
		mutf7_round_trip(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_parse_limits lim = {
		.line_max = 1024,
		.literal_max = 64,
		.append_max = 512,
		.args_max = 100,
		.depth_max = 20,
	};
	const char *p = (const char *)data;
	struct imap_cmd cmd;
	struct imap_parse_out out;
	enum imap_parse_res r;

	while (size > 0) {
		r = imap_parse(p, size, &lim, &cmd, &out);
		if (r == IMAP_P_MORE || r == IMAP_P_FATAL)
			break;
		if (out.used == 0 || out.used > size)
			abort();
		if (r == IMAP_P_OK) {
			check_args(&cmd);
			imap_cmd_free(&cmd);
		}
		p += out.used;
		size -= out.used;
	}
	return 0;
}
