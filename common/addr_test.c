/*
 * NAME
 *	addr_test - table-driven tests of the RFC 5321 path parser
 */
#include <string.h>

#include "addr.h"
#include "test.h"

struct tcase {
	const char *name;
	const char *in;
	unsigned opts;
	int ok;
	const char *mailbox;
	unsigned flags;
	const char *rest;
};

static const struct tcase cases[] = {
	{"plain", "<alice@example.test>", 0, 1, "alice@example.test", 0, ""},
	{"domain lowercased", "<Alice@Example.TEST> SIZE=1", 0, 1,
	 "Alice@example.test", 0, " SIZE=1"},
	{"null ok", "<>", ADDR_OPT_NULL_OK, 1, "", ADDR_NULL, ""},
	{"null refused", "<>", 0, 0, NULL, 0, NULL},
	{"postmaster", "<Postmaster>", ADDR_OPT_POSTMASTER, 1, "Postmaster",
	 ADDR_POSTMASTER, ""},
	{"postmaster not for MAIL", "<postmaster>", 0, 0, NULL, 0, NULL},
	{"percent hack", "<user%other.test@example.test>", 0, 1,
	 "user%other.test@example.test", ADDR_ROUTING, ""},
	{"bang path", "<other.test!bob@example.test>", 0, 1,
	 "other.test!bob@example.test", ADDR_ROUTING, ""},
	{"quoted at", "<\"bob@other\"@example.test>", 0, 1,
	 "\"bob@other\"@example.test", ADDR_ROUTING | ADDR_QUOTED, ""},
	{"quoted plain", "<\"john doe\"@example.test>", 0, 1,
	 "\"john doe\"@example.test", ADDR_QUOTED, ""},
	{"source route", "<@a.test,@b.test:bob@example.test>", 0, 1,
	 "bob@example.test", ADDR_SOURCE_ROUTE, ""},
	{"ip literal", "<bob@[127.0.0.1]>", 0, 1, "bob@[127.0.0.1]",
	 ADDR_IP_LITERAL, ""},
	{"ipv6 literal", "<bob@[IPv6:::1]>", 0, 1, "bob@[IPv6:::1]",
	 ADDR_IP_LITERAL, ""},
	{"utf8 ok", "<j\xc3\xb6rg@example.test>", ADDR_OPT_UTF8, 1,
	 "j\xc3\xb6rg@example.test", ADDR_UTF8, ""},
	{"utf8 without opt", "<j\xc3\xb6rg@example.test>", 0, 0, NULL, 0, NULL},
	{"overlong utf8", "<j\xc0\xafrg@example.test>", ADDR_OPT_UTF8, 0, NULL,
	 0, NULL},
	{"surrogate", "<j\xed\xa0\x80@example.test>", ADDR_OPT_UTF8, 0, NULL,
	 0, NULL},
	{"truncated utf8", "<j\xc3@example.test>", ADDR_OPT_UTF8, 0, NULL, 0,
	 NULL},
	{"no brackets", "alice@example.test", 0, 0, NULL, 0, NULL},
	{"no close", "<alice@example.test", 0, 0, NULL, 0, NULL},
	{"no domain", "<alice>", 0, 0, NULL, 0, NULL},
	{"empty domain", "<alice@>", 0, 0, NULL, 0, NULL},
	{"empty label", "<alice@example..test>", 0, 0, NULL, 0, NULL},
	{"trailing dot local", "<alice.@example.test>", 0, 0, NULL, 0, NULL},
	{"leading dot local", "<.alice@example.test>", 0, 0, NULL, 0, NULL},
	{"space inside", "<al ice@example.test>", 0, 0, NULL, 0, NULL},
	{"unbalanced quote", "<\"alice@example.test>", 0, 0, NULL, 0, NULL},
	{"control char", "<al\x01ice@example.test>", 0, 0, NULL, 0, NULL},
	{"hyphen label start", "<a@-x.test>", 0, 0, NULL, 0, NULL},
	{"bad source route", "<@a.test;b@example.test>", 0, 0, NULL, 0, NULL},
};

static void long_cases(void)
{
	char buf[600];
	struct addr a;
	const char *rest, *err;

	/* local part of 64 octets is fine, 65 is not (4.5.3.1.1) */
	memset(buf, 0, sizeof(buf));
	buf[0] = '<';
	memset(buf + 1, 'a', 64);
	strcat(buf, "@example.test>");
	CHECK(addr_parse_path(buf, 0, &a, &rest, &err) == 0, "local 64");
	memset(buf + 1, 'a', 65);
	buf[66] = '\0';
	strcat(buf, "@example.test>");
	CHECK(addr_parse_path(buf, 0, &a, &rest, &err) < 0, "local 65");
	/* label of 64 octets */
	strcpy(buf, "<a@");
	memset(buf + 3, 'b', 64);
	buf[67] = '\0';
	strcat(buf, ".test>");
	CHECK(addr_parse_path(buf, 0, &a, &rest, &err) < 0, "label 64");
	/* path longer than 256 */
	strcpy(buf, "<a@");
	for (int i = 0; i < 30; i++)
		strcat(buf, "abcdefghi.");
	strcat(buf, "test>");
	CHECK(addr_parse_path(buf, 0, &a, &rest, &err) < 0, "path > 256");
	CHECK(addr_domain_valid("example.test"), "domain valid");
	CHECK(!addr_domain_valid("example..test"), "domain invalid");
}

int main(void)
{
	struct addr a;
	const char *rest, *err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *t = &cases[i];

		rc = addr_parse_path(t->in, t->opts, &a, &rest, &err);
		CHECK((rc == 0) == t->ok, t->name);
		if (rc != 0 || !t->ok)
			continue;
		CHECK(strcmp(a.mailbox, t->mailbox) == 0, t->name);
		CHECK(a.flags == t->flags, t->name);
		CHECK(strcmp(rest, t->rest) == 0, t->name);
	}
	long_cases();
	return test_done();
}
