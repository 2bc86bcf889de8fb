/*
 * NAME
 *	msa_header_test - table-driven tests of the header scanner and of
 *	the mailboxes pulled out of address fields
 */
#include <stdio.h>
#include <string.h>

#include "msa.h"
#include "test.h"

struct addr_case {
	const char *name;
	const char *hdr;	/* header section */
	int count;
	const char *want;	/* the mailboxes joined with '|' */
};

static const struct addr_case addrs[] = {
	{"bare", "From: alice@example.test\r\n\r\n", 1, "alice@example.test"},
	{"display name", "From: Alice Smith <Alice@Example.TEST>\r\n", 1,
	 "alice@example.test"},
	{"quoted name with <>", "From: \"Bob <bob@example.test>\" "
	 "<alice@example.test>\r\n", 1, "alice@example.test"},
	{"comment", "From: alice@example.test (Bob <bob@example.test>)\r\n",
	 1, "alice@example.test"},
	{"nested comment", "From: (a (b) c) alice@example.test\r\n", 1,
	 "alice@example.test"},
	{"two mailboxes", "From: a@x.test, \"B, C\" <b@x.test>\r\n", 2,
	 "a@x.test|b@x.test"},
	{"folded", "From: Alice\r\n <alice@example.test>\r\n", 1,
	 "alice@example.test"},
	{"group", "From: team: a@x.test, b@x.test;\r\n", 2,
	 "a@x.test|b@x.test"},
	{"empty group", "From: undisclosed:;\r\n", 0, ""},
	{"obs route", "From: <@relay.test,@r2.test:alice@example.test>\r\n",
	 1, "alice@example.test"},
	{"quoted local", "From: <\"a b\"@x.test>\r\n", 1, "\"a b\"@x.test"},
	{"name only", "From: Alice Smith\r\n", 1, "alicesmith"},
	{"two fields", "From: a@x.test\r\nSubject: s\r\nFROM: b@x.test\r\n",
	 2, "a@x.test|b@x.test"},
	{"body not read", "Subject: s\r\n\r\nFrom: b@x.test\r\n", 0, ""},
	{"other field", "Sender: a@x.test\r\n", 0, ""},
	{"name with space", "From : a@x.test\r\n", 1, "a@x.test"},
	{"no colon", "From a@x.test\r\n", 0, ""},
	{"too long", "From: <aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "@example.test>\r\n", 1, "!"},
};

struct scan_case {
	const char *name;
	const char *hdr;
	int date, msgid, from;
};

static const struct scan_case scans[] = {
	{"none", "Subject: x\r\n\r\n", 0, 0, 0},
	{"all", "Date: now\r\nMessage-Id: <a@b>\r\nfrom: a@b\r\n\r\n", 1, 1, 1},
	{"folded date", "Subject: x\r\nDate:\r\n Mon\r\n\r\nDate: y\r\n", 1,
	 0, 0},
	{"empty", "", 0, 0, 0},
};

int main(void)
{
	char buf[1024], joined[1024];
	struct msa_hdr mh;
	size_t i, o, j;
	int n, k;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		const struct addr_case *t = &addrs[i];

		n = msa_header_addrs(t->hdr, strlen(t->hdr), "From", buf,
				     sizeof(buf));
		CHECK(n == t->count, t->name);
		joined[0] = '\0';
		for (k = 0, o = 0, j = 0; k < n && k < t->count; k++) {
			j += (size_t)snprintf(joined + j, sizeof(joined) - j,
					      "%s%s", k ? "|" : "", buf + o);
			o += strlen(buf + o) + 1;
		}
		CHECK(strcmp(joined, t->want) == 0, t->name);
	}
	for (i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		const struct scan_case *t = &scans[i];

		msa_header_scan(t->hdr, strlen(t->hdr), &mh);
		CHECK(mh.date == t->date && mh.message_id == t->msgid &&
		      mh.from == t->from, t->name);
	}
	n = msa_header_addrs("From: a@x.test, b@x.test\r\n", 26, "From", buf,
			     10);
	CHECK(n == -1, "output too small");
	return test_done();
}
