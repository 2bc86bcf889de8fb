/*
 * NAME
 *	msa_header_test - table-driven tests of the header scanner and of
 *	finding the fields of a name
 */
#include <stdio.h>
#include <string.h>

#include "msa.h"
#include "test.h"

struct field_case {
	const char *name;
	const char *hdr;	/* header section */
	const char *want;	/* the From: bodies joined with '|' */
};

static const struct field_case fields[] = {
	{"one", "From: alice@example.test\r\n\r\n", " alice@example.test\r\n"},
	{"folded", "From: Alice\r\n <a@x.test>\r\nTo: b\r\n",
	 " Alice\r\n <a@x.test>\r\n"},
	{"two fields", "From: a@x.test\r\nSubject: s\r\nFROM: b@x.test\r\n",
	 " a@x.test\r\n| b@x.test\r\n"},
	{"body not read", "Subject: s\r\n\r\nFrom: b@x.test\r\n", ""},
	{"other field", "Sender: a@x.test\r\n", ""},
	{"name with space", "From : a@x.test\r\n", " a@x.test\r\n"},
	{"no colon", "From a@x.test\r\n", ""},
	{"no final CRLF", "From: a@x.test", " a@x.test"},
};

struct scan_case {
	const char *name;
	const char *hdr;
	int date, msgid, from, sender;
};

static const struct scan_case scans[] = {
	{"none", "Subject: x\r\n\r\n", 0, 0, 0, 0},
	{"all", "Date: now\r\nMessage-Id: <a@b>\r\nfrom: a@b\r\nSender: c@d"
	 "\r\n\r\n", 1, 1, 1, 1},
	{"folded date", "Subject: x\r\nDate:\r\n Mon\r\n\r\nDate: y\r\n", 1,
	 0, 0, 0},
	{"two From", "From: a@b\r\nFrom: c@d\r\n", 0, 0, 2, 0},
	{"empty", "", 0, 0, 0, 0},
};

int main(void)
{
	char joined[1024];
	struct msa_hdr mh;
	const char *val;
	size_t i, off, vlen, j;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_case *t = &fields[i];

		joined[0] = '\0';
		off = j = 0;
		while (msa_header_field(t->hdr, strlen(t->hdr), "From", &off,
					&val, &vlen))
			j += (size_t)snprintf(joined + j, sizeof(joined) - j,
					      "%s%.*s", j ? "|" : "",
					      (int)vlen, val);
		if (strcmp(joined, t->want) != 0)
			fprintf(stderr, "  %s: got [%s]\n", t->name, joined);
		CHECK(strcmp(joined, t->want) == 0, t->name);
	}
	for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		const struct scan_case *t = &scans[i];

		msa_header_scan(t->hdr, strlen(t->hdr), &mh);
		CHECK(mh.date == t->date && mh.message_id == t->msgid &&
		      mh.from == t->from && mh.sender == t->sender, t->name);
	}
	return test_done();
}
