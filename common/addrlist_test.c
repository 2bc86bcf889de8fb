/*
 * NAME
 *	addrlist_test - table-driven tests of the RFC 5322 address-list
 *	parser
 * DESCRIPTION
 *	Without arguments: the table. With "-": reads field bodies
 *	separated by NUL bytes on stdin, parses each as an address-list and
 *	prints one JSON line per body ({"ok": [[local, domain, in_group],
 *	...]} or {"error": reason}), for tests/test_addrlist.py, which
 *	compares the parser with Python's email.headerregistry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrlist.h"
#include "test.h"

#define M ADDRLIST_MAILBOXES
#define A ADDRLIST_ADDRESSES

struct addrlist_case {
	const char *name;
	int mode;
	const char *in;
	const char *want; /* addrs joined with '|' ("" none), NULL: error */
};

static const struct addrlist_case cases[] = {
	/* clean lists */
	{"bare", M, "alice@example.test", "alice@example.test"},
	{"final CRLF", M, " alice@example.test\r\n", "alice@example.test"},
	{"display name", M, "Alice Smith <Alice@Example.TEST>",
	 "Alice@example.test"},
	{"quoted name with <>", M, "\"Bob <bob@x.test>\" <alice@x.test>",
	 "alice@x.test"},
	{"quoted name with @", M, "\"ceo@bank.test\" <alice@x.test>",
	 "alice@x.test"},
	{"comment", M, "alice@x.test (Bob <bob@x.test>)", "alice@x.test"},
	{"comment hides @", M, "alice@mine.test (on behalf of @victim.test)",
	 "alice@mine.test"},
	{"nested comment", M, "(a (b \\) c) d) alice@x.test", "alice@x.test"},
	{"comment before @", M, "alice (x) @ (y) x.test", "alice@x.test"},
	{"two", M, "a@x.test, \"B, C\" <b@x.test>", "a@x.test|b@x.test"},
	{"folded", M, "Alice\r\n <alice@x.test>", "alice@x.test"},
	{"folded twice", M, "Alice\r\n \r\n\t<alice@x.test>", "alice@x.test"},
	{"obs phrase dot", M, "John Q. Public <jqp@x.test>", "jqp@x.test"},
	{"spaces in <>", M, "A < alice@x.test >", "alice@x.test"},
	{"quoted local", M, "<\"a b\"@x.test>", "\"a b\"@x.test"},
	{"quoted local is atom", M, "\"alice\"@x.test", "alice@x.test"},
	{"quoted local escapes", M, "\"a\\\"b\\\\c\"@x.test",
	 "\"a\\\"b\\\\c\"@x.test"},
	{"quoted @ in local", M, "\"ceo@bank.test\"@x.test",
	 "\"ceo@bank.test\"@x.test"},
	{"obs route", M, "<@relay.test,@r2.test:alice@x.test>",
	 "alice@x.test"},
	{"obs route commas", M, "<,@r.test, ,@s.test:a@x.test>", "a@x.test"},
	{"domain literal", M, "a@[192.0.2.1]", "a@[192.0.2.1]"},
	{"empty members", M, ", a@x.test,, b@x.test ,", "a@x.test|b@x.test"},
	{"utf8 name", M, "J\xc3\xbcrgen <j@x.test>", "j@x.test"},
	{"=? in local", M, "a=?b@x.test", "a=?b@x.test"},
	{"encoded-word local", M, "=?utf-8?q?ceo?=@x.test", NULL},
	{"encoded-word span", M, "=?u\"tf-8?q?x?= <ceo@bank.test>, \"?= "
	 "<a@x.test>", NULL},
	{"utf8 local", M, "j\xc3\xbcrgen@x.test", "j\xc3\xbcrgen@x.test"},
	{"encoded word", M, "=?utf-8?q?J=C3=BCrgen?= <j@x.test>", "j@x.test"},
	{"group", A, "team: a@x.test, B <b@x.test>;, c@x.test",
	 "a@x.test|b@x.test|c@x.test"},
	{"empty group", A, "undisclosed-recipients:;", ""},
	{"group of commas", A, "g: , ,;", ""},
	{"group comment", A, "g: (none) ; (end)", ""},
	/* hidden or broken mailboxes: errors */
	{"addr then <>", M, "ceo@bank.test <>", NULL},
	{"quoted then <>", M, "\"ceo@bank.test\" <>", NULL},
	{"angle then addr", M, "<alice@x.test> ceo@bank.test", NULL},
	{"addr then angle", M, "ceo@bank.test <alice@x.test>", NULL},
	{"two angles", M, "<a@x.test> <b@x.test>", NULL},
	{"angle then text", M, "<alice@x.test> hi", NULL},
	{"empty angle", M, "<>", NULL},
	{"name only", M, "Alice Smith", NULL},
	{"empty", M, "", NULL},
	{"only commas", M, " , ,", NULL},
	{"only comment", M, "(alice@x.test)", NULL},
	{"no local", M, "@x.test", NULL},
	{"no domain", M, "alice@", NULL},
	{"two @", M, "a@b@x.test", NULL},
	{"unclosed <", M, "<alice@x.test", NULL},
	{"unclosed quote", M, "\"alice@x.test", NULL},
	{"unclosed comment", M, "alice@x.test (x", NULL},
	{"stray )", M, "alice@x.test )", NULL},
	{"bare LF fold", M, "Alice\n <alice@x.test>", NULL},
	{"bare CR", M, "Alice\r<alice@x.test>", NULL},
	{"CRLF no WSP", M, "a@x.test\r\nb@x.test", NULL},
	{"NUL", M, "a@x.test\0", NULL},
	{"control in quotes", M, "\"a\x01\" <a@x.test>", NULL},
	{"control in comment", M, "a@x.test (\x7f)", NULL},
	{"bad utf8", M, "J\xc3 <j@x.test>", NULL},
	{"overlong utf8", M, "J\xc0\xaf <j@x.test>", NULL},
	{"surrogate", M, "J\xed\xa0\x80 <j@x.test>", NULL},
	{"obs local CFWS", M, "a . b@x.test", NULL},
	{"obs local mixed", M, "\"a\".b@x.test", NULL},
	{"double dot", M, "a..b@x.test", NULL},
	{"leading dot", M, ".a@x.test", NULL},
	{"trailing dot", M, "a.@x.test", NULL},
	{"obs domain", M, "a@x . test", NULL},
	{"domain dot end", M, "a@x.test.", NULL},
	{"group in From", M, "team: a@x.test;", NULL},
	{"nested group", A, "a: b: c@x.test;;", NULL},
	{"unclosed group", A, "g: a@x.test", NULL},
	{"group no name", A, ": a@x.test;", NULL},
	{"bad route", M, "<@r.test alice@x.test>", NULL},
	{"route no addr", M, "<@r.test:>", NULL},
	{"semicolon", M, "a@x.test; b@x.test", NULL},
	{"phrase starts dot", M, ". <a@x.test>", NULL},
	{"local too long", M, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaa@x.test", NULL},
	{"deep comments", M, "a@x.test ((((((((((((((((((((((((((((((((("
	 ")))))))))))))))))))))))))))))))))", NULL},
};

static void join(const struct addrlist_mailbox *mb, size_t n, char *out,
		 size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "|" : "",
				      mb[i].addr);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* The differential mode: NUL-separated bodies in, JSON lines out. */
static int differential(void)
{
	static struct addrlist_mailbox mb[256];
	static char in[ADDRLIST_MAX_INPUT + 2];
	const char *err;
	size_t n, i, len = 0;
	int ch;

	for (;;) {
		ch = getchar();
		if (ch != EOF && ch != '\0') {
			if (len < sizeof(in))
				in[len++] = (char)ch;
			continue;
		}
		if (ch == EOF && len == 0)
			return 0;
		if (addrlist_parse(in, len, A, mb, 256, &n, &err) < 0) {
			printf("{\"error\": ");
			json_str(err);
		} else {
			printf("{\"ok\": [");
			for (i = 0; i < n; i++) {
				printf("%s[", i ? ", " : "");
				json_str(mb[i].local);
				printf(", ");
				json_str(mb[i].domain);
				printf(", %d]", mb[i].in_group);
			}
			printf("]");
		}
		printf("}\n");
		len = 0;
		if (ch == EOF)
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct addrlist_mailbox mb[8];
	char got[2048];
	const char *err;
	size_t i, n, len;
	int rc;

	if (argc > 1 && strcmp(argv[1], "-") == 0)
		return differential();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct addrlist_case *t = &cases[i];

		len = strlen(t->in);
		if (strcmp(t->name, "NUL") == 0)
			len++;
		err = NULL;
		rc = addrlist_parse(t->in, len, t->mode, mb, 8, &n, &err);
		if (t->want == NULL) {
			CHECK(rc == -1 && err != NULL, t->name);
			continue;
		}
		CHECK(rc == 0, t->name);
		if (rc < 0) {
			fprintf(stderr, "  %s: %s\n", t->name, err);
			continue;
		}
		join(mb, n, got, sizeof(got));
		if (strcmp(got, t->want) != 0)
			fprintf(stderr, "  %s: got %s\n", t->name, got);
		CHECK(strcmp(got, t->want) == 0, t->name);
	}
	/* groups are marked */
	rc = addrlist_parse("a@x.test, g: b@x.test;", 22, A, mb, 8, &n, &err);
	CHECK(rc == 0 && n == 2 && !mb[0].in_group && mb[1].in_group,
	      "in_group");
	/* more mailboxes than room */
	rc = addrlist_parse("a@x.test, b@x.test", 18, M, mb, 1, &n, &err);
	CHECK(rc == -1, "too many");
	return test_done();
}
