/*
 * NAME
 *	store_imap_utf7_test - table-driven tests of the mailbox name codec
 */
#include <string.h>

#include "store_imap_parse.h"
#include "test.h"

struct ucase {
	const char *name;
	const char *mutf7;	/* NULL: utf8 does not encode */
	const char *utf8;	/* NULL: mutf7 does not decode */
};

static const struct ucase cases[] = {
	{"ascii", "INBOX.Sent", "INBOX.Sent"},
	{"empty", "", ""},
	{"ampersand", "R&-D", "R&D"},
	{"latin-1", "Entw&APw-rfe", "Entw\xc3\xbc" "rfe"},
	{"RFC 3501 example", "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	 "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	 "\xe8\xaa\x9e"},
	{"astral (surrogate pair)", "&2D3eAA-", "\xf0\x9f\x98\x80"},
	{"two runs", "&AOQ-a&APY-", "\xc3\xa4" "a\xc3\xb6"},
	{"control in base64", "a&AAk-b", "a\tb"},
	{"unterminated run", "&AOQ", NULL},
	{"empty run", "&-x&-", "&x&"},
	{"bad base64 char", "&AO/-", NULL},
	{"ascii inside base64", "&AGE-", NULL},
	{"non-zero padding bits", "&AOR-", NULL},
	{"lone high surrogate", "&2D0-", NULL},
	{"lone low surrogate", "&3gA-", NULL},
	{"adjacent runs", "&AOQ-&AOQ-", NULL},
	{"8-bit in mutf7", "\xc3\xa4", NULL},
	{"control in mutf7", "a\tb", NULL},
};

struct bad8 {
	const char *name;
	const char *utf8;
};

static const struct bad8 bad_utf8[] = {
	{"overlong", "\xc0\xaf"},
	{"surrogate", "\xed\xa0\x80"},
	{"above U+10FFFF", "\xf4\x90\x80\x80"},
	{"cut short", "a\xc3"},
	{"stray continuation", "\x80"},
};

int main(void)
{
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ucase *c = &cases[i];
		int rc = imap_mutf7_decode(c->mutf7, out, sizeof(out));

		if (c->utf8 == NULL) {
			CHECK(rc < 0, c->name);
			continue;
		}
		CHECK(rc == 0 && strcmp(out, c->utf8) == 0, c->name);
		rc = imap_mutf7_encode(c->utf8, out, sizeof(out));
		CHECK(rc == 0 && strcmp(out, c->mutf7) == 0, c->name);
	}
	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
		CHECK(imap_mutf7_encode(bad_utf8[i].utf8, out, sizeof(out)) < 0,
		      bad_utf8[i].name);
	CHECK(imap_mutf7_decode("Entw&APw-rfe", out, 8) < 0, "too small");
	CHECK(imap_mutf7_encode("Entw\xc3\xbcrfe", out, 8) < 0,
	      "too small to encode");
	return test_done();
}
