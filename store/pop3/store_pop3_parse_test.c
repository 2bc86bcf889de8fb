/*
 * NAME
 *	store_pop3_parse_test - table-driven tests of the POP3 reader and
 *	command parser
 */
#include <stdio.h>
#include <string.h>

#include "store_pop3_parse.h"
#include "test.h"

struct pcase {
	const char *in;
	int rc;
	enum pop3_verb verb;
	int nargs;
	const char *a0, *a1;
	unsigned long n0, n1;
};

static const struct pcase pcases[] = {
	{"USER alice@example.test", 0, POP3_USER, 1, "alice@example.test",
	 NULL, 0, 0},
	{"user bob", 0, POP3_USER, 1, "bob", NULL, 0, 0},
	{"PASS with spaces  inside ", 0, POP3_PASS, 1,
	 "with spaces  inside ", NULL, 0, 0},
	{"PASS", -2, POP3_PASS, 0, NULL, NULL, 0, 0},
	{"PASS ", -2, POP3_PASS, 0, NULL, NULL, 0, 0},
	{"USER", -2, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USER a b", -2, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USER  a", -2, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USER a ", -2, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USER 12345678901234567890123456789012345678901", -2, POP3_USER, 0,
	 NULL, NULL, 0, 0},
	{"STAT", 0, POP3_STAT, 0, NULL, NULL, 0, 0},
	{"stat x", -2, POP3_STAT, 0, NULL, NULL, 0, 0},
	{"LIST", 0, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"LIST 3", 0, POP3_LIST, 1, "3", NULL, 3, 0},
	{"LIST 3 4", -2, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"LIST x", -2, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"LIST -1", -2, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"LIST 4294967295", 0, POP3_LIST, 1, "4294967295", NULL,
	 4294967295UL, 0},
	{"LIST 4294967296", -2, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"LIST 99999999999", -2, POP3_LIST, 0, NULL, NULL, 0, 0},
	{"RETR 1", 0, POP3_RETR, 1, "1", NULL, 1, 0},
	{"RETR", -2, POP3_RETR, 0, NULL, NULL, 0, 0},
	{"DELE 0", 0, POP3_DELE, 1, "0", NULL, 0, 0},
	{"TOP 1 10", 0, POP3_TOP, 2, "1", "10", 1, 10},
	{"TOP 1", -2, POP3_TOP, 0, NULL, NULL, 0, 0},
	{"TOP 1 x", -2, POP3_TOP, 0, NULL, NULL, 0, 0},
	{"UIDL", 0, POP3_UIDL, 0, NULL, NULL, 0, 0},
	{"UIDL 2", 0, POP3_UIDL, 1, "2", NULL, 2, 0},
	{"NOOP", 0, POP3_NOOP, 0, NULL, NULL, 0, 0},
	{"RSET", 0, POP3_RSET, 0, NULL, NULL, 0, 0},
	{"QUIT", 0, POP3_QUIT, 0, NULL, NULL, 0, 0},
	{"Quit", 0, POP3_QUIT, 0, NULL, NULL, 0, 0},
	{"CAPA", 0, POP3_CAPA, 0, NULL, NULL, 0, 0},
	{"STLS", 0, POP3_STLS, 0, NULL, NULL, 0, 0},
	{"AUTH", 0, POP3_AUTH, 0, NULL, NULL, 0, 0},
	{"AUTH PLAIN", 0, POP3_AUTH, 1, "PLAIN", NULL, 0, 0},
	{"AUTH PLAIN AGFAYg==", 0, POP3_AUTH, 2, "PLAIN", "AGFAYg==", 0, 0},
	{"AUTH PLAIN =", 0, POP3_AUTH, 2, "PLAIN", "=", 0, 0},
	{"AUTH PLAIN a b", -2, POP3_AUTH, 0, NULL, NULL, 0, 0},
	{"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZSBzZWNyZXQgMQ==", 0,
	 POP3_AUTH, 2, "PLAIN",
	 "AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZSBzZWNyZXQgMQ==", 0, 0},
	{"AUTH PLAINPLAINPLAINPLAINPLAINPLAINPLAINPLAINPLAIN x", -2, POP3_AUTH, 0,
	 NULL, NULL, 0, 0},
	{"APOP a b", 0, POP3_APOP, 2, "a", "b", 0, 0},
	{"", -1, POP3_USER, 0, NULL, NULL, 0, 0},
	{" USER a", -1, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USERX a", -1, POP3_USER, 0, NULL, NULL, 0, 0},
	{"XTND", -1, POP3_USER, 0, NULL, NULL, 0, 0},
	{"US", -1, POP3_USER, 0, NULL, NULL, 0, 0},
	{"USER\ta", -1, POP3_USER, 0, NULL, NULL, 0, 0},
};

static void test_parse(void)
{
	struct pop3_cmd c;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *t = &pcases[i];
		int rc = pop3_parse(t->in, strlen(t->in), &c, &why);

		CHECK(rc == t->rc, t->in);
		if (rc != 0 || t->rc != 0)
			continue;
		CHECK(c.verb == t->verb && c.nargs == t->nargs, t->in);
		CHECK(!t->a0 || (c.arg[0] && !strcmp(c.arg[0], t->a0)), t->in);
		CHECK(!t->a1 || (c.arg[1] && !strcmp(c.arg[1], t->a1)), t->in);
		CHECK(c.num[0] == t->n0 && c.num[1] == t->n1, t->in);
	}
	{
		char big[400];

		memset(big, 'A', sizeof(big));
		memcpy(big, "PASS ", 5);
		CHECK(pop3_parse(big, sizeof(big), &c, &why) == -2,
		      "over 255");
		CHECK(pop3_parse("USER a\0b", 8, &c, &why) == -2, "NUL");
	}
}

/* Feed input in chunks of every size; collect what the reader says. */
struct rcase {
	const char *name, *in;
	size_t max;
	const char *want; /* one letter per event: O ok, L long, B bad */
	const char *lines; /* the OK lines joined with '|' */
	size_t len;	   /* of in; 0: strlen */
};

static const struct rcase rcases[] = {
	{"two lines", "STAT\r\nLIST 1\r\n", 255, "OO", "STAT|LIST 1|", 0},
	{"partial", "STAT\r\nLIS", 255, "O", "STAT|", 0},
	{"bare LF", "STAT\nNOOP\r\n", 255, "BO", "NOOP|", 0},
	{"bare CR", "ST\rAT\r\nNOOP\r\n", 255, "BO", "NOOP|", 0},
	{"NUL", "ST\0AT\r\nNOOP\r\n", 255, "BO", "NOOP|", 13},
	{"empty line", "\r\n", 255, "O", "|", 0},
	{"exactly max", "12345678\r\nX\r\n", 10, "OO", "12345678|X|", 0},
	{"one over", "123456789\r\nX\r\n", 10, "LO", "X|", 0},
	{"very long", "123456789012345678901234567890\r\nNOOP\r\n", 10,
	 "LO", "NOOP|", 0},
};

static void run_reader(const struct rcase *t, size_t inlen, size_t chunk)
{
	char buf[256], events[16] = "", lines[256] = "";
	struct pop3_reader r = {0};
	size_t have = 0, fed = 0, len, used, ne = 0;
	enum pop3_line res;

	while (fed < inlen || have > 0) {
		size_t take = inlen - fed < chunk ? inlen - fed : chunk;

		memcpy(buf + have, t->in + fed, take);
		have += take;
		fed += take;
		for (;;) {
			res = pop3_read_line(&r, buf, have, t->max, &len,
					     &used);
			if (res == POP3_LINE_OK) {
				size_t l = strlen(lines);

				snprintf(lines + l, sizeof(lines) - l, "%.*s|",
					 (int)len, buf);
			}
			if (res != POP3_LINE_NEED && ne < sizeof(events) - 1)
				events[ne++] = res == POP3_LINE_OK     ? 'O'
					       : res == POP3_LINE_LONG ? 'L'
								       : 'B';
			memmove(buf, buf + used, have - used);
			have -= used;
			if (res == POP3_LINE_NEED)
				break;
		}
		if (fed == inlen)
			break;
	}
	CHECK(!strcmp(events, t->want), t->name);
	CHECK(!strcmp(lines, t->lines), t->name);
}

static void test_reader(void)
{
	size_t i, chunk;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *t = &rcases[i];
		size_t n = t->len ? t->len : strlen(t->in);

		for (chunk = 1; chunk <= n; chunk++)
			run_reader(t, n, chunk);
	}
}

int main(void)
{
	test_parse();
	test_reader();
	return test_done();
}
