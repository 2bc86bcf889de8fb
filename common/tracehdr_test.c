/*
 * NAME
 *	tracehdr_test - table-driven tests of trace-header stripping
 * DESCRIPTION
 *	Each case: a message, its header length, the message wanted and the
 *	number of fields removed.
 */
#include <string.h>

#include "tracehdr.h"
#include "test.h"

struct tcase {
	const char *name, *in, *want;
	size_t removed;
};

static const struct tcase cases[] = {
	{"nothing to strip", "Subject: hi\r\n\r\nbody\r\n",
	 "Subject: hi\r\n\r\nbody\r\n", 0},
	{"one field", "X-Spam-Flag: YES\r\nSubject: hi\r\n\r\nbody\r\n",
	 "Subject: hi\r\n\r\nbody\r\n", 1},
	{"case-insensitive, folded",
	 "From: a@b\r\nx-spam-status: Yes,\r\n\tscore=9\r\n  tests=X\r\n"
	 "X-SLUICE-Virus: clean\r\nTo: c@d\r\n\r\nb\r\n",
	 "From: a@b\r\nTo: c@d\r\n\r\nb\r\n", 2},
	{"body lines untouched",
	 "Subject: s\r\n\r\nX-Spam-Flag: YES\r\n",
	 "Subject: s\r\n\r\nX-Spam-Flag: YES\r\n", 0},
	{"all fields gone", "X-Spam-Score: 3\r\n\r\nb\r\n", "\r\nb\r\n", 1},
	{"prefix must start the name", "Y-X-Spam-Flag: 1\r\n\r\n",
	 "Y-X-Spam-Flag: 1\r\n\r\n", 0},
	{"header only, last line unterminated",
	 "Subject: s\r\nX-Spam-Flag: YES", "Subject: s\r\n", 1},
	{"not a trace header", "X-Spammy: 1\r\n\r\n", "X-Spammy: 1\r\n\r\n",
	 0},
};

static const struct {
	const char *name, *msg;
	int spam;
} spam_cases[] = {
	{"flag yes", "Subject: s\r\nX-Spam-Flag: YES\r\n\r\nb", 1},
	{"lower case, no space", "x-spam-flag:yes\r\n\r\n", 1},
	{"flag no", "X-Spam-Flag: NO\r\n\r\n", 0},
	{"yes as a prefix", "X-Spam-Flag: YESTERDAY\r\n\r\n", 0},
	{"other field", "X-Spam-Flagged: YES\r\n\r\n", 0},
	{"in the body", "Subject: s\r\n\r\nX-Spam-Flag: YES\r\n", 0},
	{"no header", "", 0},
};

/* Header length as the engine computes it: through the empty line. */
static size_t header_len_of(const char *m)
{
	const char *e;

	if (strncmp(m, "\r\n", 2) == 0)
		return 2;
	e = strstr(m, "\r\n\r\n");
	return e ? (size_t)(e - m) + 4 : strlen(m);
}

int main(void)
{
	size_t i, n, hl, want_hl;
	struct sbuf b;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_init(&b, 1 << 16);
		sbuf_puts(&b, cases[i].in);
		hl = header_len_of(cases[i].in);
		n = tracehdr_strip(&b, &hl, TRACEHDR_PREFIXES);
		CHECK(n == cases[i].removed, cases[i].name);
		CHECK(b.len == strlen(cases[i].want) &&
		      memcmp(b.data, cases[i].want, b.len) == 0,
		      cases[i].name);
		want_hl = strncmp(cases[i].want, "\r\n", 2) == 0 ? 2
			  : header_len_of(cases[i].want);
		CHECK(hl == want_hl,
		      cases[i].name);
		CHECK(b.data[b.len] == '\0', cases[i].name);
		sbuf_free(&b);
	}
	for (i = 0; i < sizeof(spam_cases) / sizeof(spam_cases[0]); i++)
		CHECK(tracehdr_spam(spam_cases[i].msg,
				    header_len_of(spam_cases[i].msg)) ==
		      spam_cases[i].spam, spam_cases[i].name);
	return test_done();
}
