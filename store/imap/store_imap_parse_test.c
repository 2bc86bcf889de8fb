/*
 * NAME
 *	store_imap_parse_test - table-driven tests of the IMAP parser
 */
#include <stdlib.h>
#include <string.h>

#include "store_imap_parse.h"
#include "test.h"

static const struct imap_parse_limits lim = {
	.line_max = 200,
	.literal_max = 20,
	.append_max = 1000,
	.args_max = 50,
	.depth_max = 10,
};

struct pcase {
	const char *name;
	const char *in;
	enum imap_parse_res res;
	const char *tag;	/* OK, or BAD with a tag */
	const char *cmd;	/* OK: command name */
	int uid;
	size_t nargs;		/* OK: args (lists count with contents) */
	const char *arg0;	/* OK: first arg's text, NULL to skip */
	long used;		/* OK/BAD: bytes consumed; -1: whole input */
	size_t lit_len;		/* MORE: synchronizing literal waiting */
	int skip_line;
};

static const struct pcase cases[] = {
	{"simple", "a1 NOOP\r\n", IMAP_P_OK, "a1", "NOOP", 0, 0, NULL, -1,
	 0, 0},
	{"lowercase name", "a1 noop\r\n", IMAP_P_OK, "a1", "NOOP", 0, 0,
	 NULL, -1, 0, 0},
	{"login atoms", "x LOGIN alice secret\r\n", IMAP_P_OK, "x", "LOGIN",
	 0, 2, "alice", -1, 0, 0},
	{"quoted escapes", "x LOGIN \"a\\\"b\\\\c\" p\r\n", IMAP_P_OK, "x",
	 "LOGIN", 0, 2, "a\"b\\c", -1, 0, 0},
	{"bad escape", "x LOGIN \"a\\nb\" p\r\n", IMAP_P_BAD, "x", NULL, 0,
	 0, NULL, -1, 0, 0},
	{"uid fetch", "7 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From "
	 "To)]<0.100>)\r\n", IMAP_P_OK, "7", "FETCH", 1, 4, "1:*", -1, 0, 0},
	{"nested lists", "t X ((a) (b (c)))\r\n", IMAP_P_OK, "t", "X", 0, 7,
	 "", -1, 0, 0},
	{"two commands", "a NOOP\r\nb NOOP\r\n", IMAP_P_OK, "a", "NOOP", 0, 0,
	 NULL, 8, 0, 0},
	{"incomplete line", "a NOO", IMAP_P_MORE, NULL, NULL, 0, 0, NULL, 0,
	 0, 0},
	{"incomplete CRLF", "a NOOP\r", IMAP_P_MORE, NULL, NULL, 0, 0, NULL,
	 0, 0, 0},
	{"sync literal waits", "a LOGIN {5}\r\n", IMAP_P_MORE, NULL, NULL, 0,
	 0, NULL, 0, 5, 0},
	{"sync literal partial", "a LOGIN {5}\r\nali", IMAP_P_MORE, NULL,
	 NULL, 0, 0, NULL, 0, 5, 0},
	{"empty sync literal waits", "a LOGIN {0}\r\n", IMAP_P_MORE, NULL,
	 NULL, 0, 0, NULL, 0, 0, 0},
	{"literal8", "a APPEND INBOX ~{3+}\r\nabc\r\n", IMAP_P_OK, "a",
	 "APPEND", 0, 2, "INBOX", -1, 0, 0},
	{"literal8 sync waits", "a APPEND INBOX ~{3}\r\n", IMAP_P_MORE,
	 NULL, NULL, 0, 0, NULL, 0, 3, 0},
	{"tilde alone", "a APPEND INBOX ~", IMAP_P_MORE, NULL, NULL, 0, 0,
	 NULL, 0, 0, 0},
	{"tilde atom", "a X ~a\r\n", IMAP_P_OK, "a", "X", 0, 1, "~a", -1, 0,
	 0},
	{"empty sync literal", "a LOGIN {0}\r\n x\r\n", IMAP_P_OK, "a",
	 "LOGIN", 0, 2, "", -1, 0, 0},
	{"sync literal done", "a LOGIN {5}\r\nalice pw\r\n", IMAP_P_OK, "a",
	 "LOGIN", 0, 2, "alice", -1, 0, 0},
	{"literal plus", "a LOGIN {5+}\r\nal\r\ne pw\r\n", IMAP_P_OK, "a",
	 "LOGIN", 0, 2, "al\r\ne", -1, 0, 0},
	{"literal plus partial", "a LOGIN {5+}\r\nal", IMAP_P_MORE, NULL,
	 NULL, 0, 0, NULL, 0, 0, 0},
	{"literal too big sync", "a LOGIN {50}\r\nb NOOP\r\n", IMAP_P_BAD,
	 "a", NULL, 0, 0, NULL, 14, 0, 0},
	{"literal too big plus", "a LOGIN {50+}\r\n", IMAP_P_FATAL, NULL,
	 NULL, 0, 0, NULL, -1, 0, 0},
	{"append literal", "a APPEND INBOX {30}\r\n", IMAP_P_MORE, NULL,
	 NULL, 0, 0, NULL, 0, 30, 0},
	{"append too big", "a APPEND INBOX {3000}\r\n", IMAP_P_BAD, "a",
	 NULL, 0, 0, NULL, -1, 0, 0},
	{"literal bad head", "a LOGIN {5x}\r\n", IMAP_P_BAD, "a", NULL, 0, 0,
	 NULL, -1, 0, 0},
	{"literal huge number", "a LOGIN {99999999999}\r\n", IMAP_P_BAD, "a",
	 NULL, 0, 0, NULL, -1, 0, 0},
	{"error skips plus literal", "a X ) {1+}\r\n)\r\nb NOOP\r\n",
	 IMAP_P_BAD, "a", NULL, 0, 0, NULL, 15, 0, 0},
	{"error waits for plus literal", "a X ) {3+}\r\n)", IMAP_P_MORE,
	 NULL, NULL, 0, 0, NULL, 0, 0, 0},
	{"unbalanced close", "a X )\r\n", IMAP_P_BAD, "a", NULL, 0, 0, NULL,
	 -1, 0, 0},
	{"unclosed list", "a X (b\r\n", IMAP_P_BAD, "a", NULL, 0, 0, NULL,
	 -1, 0, 0},
	{"too deep", "a X ((((((((((((x))))))))))))\r\n", IMAP_P_BAD, "a",
	 NULL, 0, 0, NULL, -1, 0, 0},
	{"bad tag", "a*b NOOP\r\n", IMAP_P_BAD, NULL, NULL, 0, 0, NULL, -1,
	 0, 0},
	{"plus tag", "+ NOOP\r\n", IMAP_P_BAD, NULL, NULL, 0, 0, NULL, -1, 0,
	 0},
	{"no command", "abc\r\n", IMAP_P_BAD, "abc", NULL, 0, 0, NULL, -1, 0,
	 0},
	{"digit in name", "a NO0P\r\n", IMAP_P_BAD, "a", NULL, 0, 0, NULL,
	 -1, 0, 0},
	{"empty line", "\r\nb NOOP\r\n", IMAP_P_BAD, NULL, NULL, 0, 0, NULL,
	 2, 0, 0},
	{"bare CR", "a NOOP x\rb\r\n", IMAP_P_BAD, "a", NULL, 0, 0, NULL, -1,
	 0, 0},
	{"bare LF", "a NOOP x\nb NOOP\r\n", IMAP_P_BAD, "a", NULL, 0, 0,
	 NULL, 9, 0, 0},
	{"control char", "a LOGIN a\001b c\r\n", IMAP_P_BAD, "a", NULL, 0, 0,
	 NULL, -1, 0, 0},
	{"8-bit atom", "a LOGIN a\xc3\xa9 c\r\n", IMAP_P_BAD, "a", NULL, 0,
	 0, NULL, -1, 0, 0},
	/* "[" is an ATOM-CHAR: an unclosed one is not a section (FETCH
	 * then refuses the item) */
	{"unterminated bracket", "a FETCH 1 BODY[HEADER\r\n", IMAP_P_OK,
	 "a", "FETCH", 0, 2, "1", -1, 0, 0},
	{"bracket in mailbox", "a SELECT a[b\r\n", IMAP_P_OK, "a", "SELECT",
	 0, 1, "a[b", -1, 0, 0},
	{"lone bracket", "a SELECT [\r\n", IMAP_P_OK, "a", "SELECT", 0, 1,
	 "[", -1, 0, 0},
	{"close bracket astring", "a SELECT a]b\r\n", IMAP_P_OK, "a",
	 "SELECT", 0, 1, "a]b", -1, 0, 0},
	{"bracket then space", "a SELECT a[b c]\r\n", IMAP_P_OK, "a",
	 "SELECT", 0, 2, "a[b", -1, 0, 0},
	{"bracket then list", "a X a[ (b)\r\n", IMAP_P_OK, "a", "X", 0, 3,
	 "a[", -1, 0, 0},
	{"section with fields", "a FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (A B)]"
	 "<0.5>\r\n", IMAP_P_OK, "a", "FETCH", 0, 2, "1", -1, 0, 0},
	{"empty section", "a FETCH 1 BODY[]\r\n", IMAP_P_OK, "a", "FETCH",
	 0, 2, "1", -1, 0, 0},
	{"nested brackets", "a SELECT a[[b]]\r\n", IMAP_P_OK, "a", "SELECT",
	 0, 1, "a[[b]]", -1, 0, 0},
	{"unterminated quote", "a LOGIN \"abc\r\n", IMAP_P_BAD, "a", NULL,
	 0, 0, NULL, -1, 0, 0},
	{"too many args", "a X 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 "
	 "19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 "
	 "41 42 43 44 45 46 47 48 49 50 51\r\n", IMAP_P_BAD, "a", NULL, 0, 0,
	 NULL, -1, 0, 0},
	{"flags and wildcards", "a LIST \"\" %.*\r\n", IMAP_P_OK, "a", "LIST",
	 0, 2, "", -1, 0, 0},
	{"long line no CRLF", "a X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaa", IMAP_P_BAD, "a", NULL, 0, 0, NULL, -1,
	 0, 1},
};

/* RFC 3501 9 (RFC 9051 9 alike): atom-specials = "(" / ")" / "{" / SP /
 * CTL / list-wildcards / quoted-specials / resp-specials. */
static int rfc_atom_char(int c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* The other atom-like tokens: ASTRING-CHAR adds resp-specials "]",
 * list-char adds the wildcards, a flag starts with "\". */
static int extra_atom_char(int c)
{
	return c != 0 && strchr("]%*\\", c) != NULL;
}

/* Every byte in the middle of a mailbox name: one atom "x<c>y" exactly
 * for ATOM-CHAR and the extras, never one atom for anything else. */
static void run_atom_chars(void)
{
	struct imap_cmd cmd;
	struct imap_parse_out out;
	char in[32], name[48];
	int c, one;
	enum imap_parse_res r;

	for (c = 0; c < 256; c++) {
		snprintf(name, sizeof(name), "atom char 0x%02x", c);
		memcpy(in, "a SELECT x?y\r\n", 15);
		in[10] = (char)c;
		r = imap_parse(in, 15, &lim, &cmd, &out);
		one = r == IMAP_P_OK && cmd.nargs == 1 &&
		      cmd.args[0].type == IMAP_ARG_ATOM &&
		      cmd.args[0].len == 3 && memcmp(cmd.args[0].s, in + 9,
						     3) == 0;
		CHECK(one == (rfc_atom_char(c) || extra_atom_char(c)), name);
		if (c == ' ')
			CHECK(r == IMAP_P_OK && cmd.nargs == 2, name);
		if (r == IMAP_P_OK)
			imap_cmd_free(&cmd);
		/* the same byte in an astring of LOGIN, and ending an atom */
		memcpy(in, "a LOGIN u x?\r\n", 15);
		in[11] = (char)c;
		r = imap_parse(in, 15, &lim, &cmd, &out);
		one = r == IMAP_P_OK && cmd.nargs == 2 &&
		      cmd.args[1].len == 2;
		CHECK(one == (rfc_atom_char(c) || extra_atom_char(c)), name);
		if (r == IMAP_P_OK)
			imap_cmd_free(&cmd);
	}
}

/* A literal8 is marked and is no astring; a plain literal is not. */
static void run_literal8(void)
{
	static const char in[] = "a APPEND INBOX ~{3+}\r\na\0b {1+}\r\nc\r\n";
	struct imap_cmd cmd;
	struct imap_parse_out out;

	CHECK(imap_parse(in, sizeof(in) - 1, &lim, &cmd, &out) == IMAP_P_OK,
	      "literal8 parsed");
	CHECK(out.used == sizeof(in) - 1 && cmd.nargs == 3, "literal8 args");
	if (out.used != sizeof(in) - 1 || cmd.nargs != 3)
		return;
	CHECK(cmd.args[1].bin && cmd.args[1].len == 3 &&
	      memcmp(cmd.args[1].s, "a\0b", 3) == 0 &&
	      imap_arg_str(&cmd, 1) == NULL, "literal8 marked");
	CHECK(!cmd.args[2].bin && imap_arg_str(&cmd, 2) != NULL, "literal");
	imap_cmd_free(&cmd);
}

static void run_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];
		struct imap_cmd cmd;
		struct imap_parse_out out;
		size_t len = strlen(c->in);
		enum imap_parse_res r = imap_parse(c->in, len, &lim, &cmd,
						   &out);

		CHECK(r == c->res, c->name);
		if (r == IMAP_P_OK) {
			CHECK(strcmp(cmd.tag, c->tag) == 0, c->name);
			CHECK(strcmp(cmd.name, c->cmd) == 0, c->name);
			CHECK(cmd.uid == c->uid, c->name);
			CHECK(cmd.nargs == c->nargs, c->name);
			if (c->arg0 && cmd.nargs > 0)
				CHECK(cmd.args[0].len == strlen(c->arg0) &&
				      memcmp(cmd.args[0].s, c->arg0,
					     cmd.args[0].len) == 0, c->name);
			imap_cmd_free(&cmd);
		}
		if (r == IMAP_P_BAD || r == IMAP_P_OK || r == IMAP_P_FATAL)
			CHECK(out.used == (c->used < 0 ? len :
					   (size_t)c->used), c->name);
		if (r == IMAP_P_BAD) {
			CHECK(out.has_tag == (c->tag != NULL), c->name);
			if (c->tag)
				CHECK(strcmp(cmd.tag, c->tag) == 0, c->name);
			CHECK(out.skip_line == c->skip_line, c->name);
			CHECK(out.err[0] != '\0', c->name);
		}
		if (r == IMAP_P_MORE)
			CHECK(out.lit_len == c->lit_len, c->name);
	}
}

/* An over-long line is refused however it arrives: whole, or in
 * pieces (then the rest of it is skipped). */
static void run_long(void)
{
	struct imap_cmd cmd;
	struct imap_parse_out out;
	char buf[400];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "a1 SEARCH SUBJECT ");
	memset(buf + n, 'x', 250);
	n += 250;
	CHECK(imap_parse(buf, n, &lim, &cmd, &out) == IMAP_P_BAD &&
	      out.skip_line && out.used == n, "long, in pieces");
	buf[n++] = '\r';
	buf[n++] = '\n';
	CHECK(imap_parse(buf, n, &lim, &cmd, &out) == IMAP_P_BAD &&
	      !out.skip_line && out.used == n && out.has_tag, "long, whole");
	/* literal data does not count as text */
	n = (size_t)snprintf(buf, sizeof(buf), "a2 APPEND INBOX {300+}\r\n");
	memset(buf + n, 'y', 300);
	n += 300;
	buf[n++] = '\r';
	buf[n++] = '\n';
	CHECK(imap_parse(buf, n, &lim, &cmd, &out) == IMAP_P_OK, "literal");
	imap_cmd_free(&cmd);
}

/* A synchronizing literal waits with the tag and name known, so the
 * session may refuse it before the data (APPEND over quota). */
static void run_waiting(void)
{
	const char *in = "t9 APPEND INBOX (\\Seen) {3000}\r\n";
	struct imap_parse_limits l = lim;
	struct imap_cmd cmd;
	struct imap_parse_out out;

	l.append_max = 5000;
	CHECK(imap_parse(in, strlen(in), &l, &cmd, &out) == IMAP_P_MORE,
	      "waiting");
	CHECK(out.lit_len == 3000 && out.lit_off == strlen(in), "lit");
	CHECK(strcmp(cmd.tag, "t9") == 0 && strcmp(cmd.name, "APPEND") == 0,
	      "tag and name");
	/* "{0}" waits for "+" too: lit_off says so, lit_len is 0 */
	CHECK(imap_parse("t1 LOGIN {0}\r\n", 14, &l, &cmd, &out) ==
	      IMAP_P_MORE && out.lit_off == 14 && out.lit_len == 0, "{0}");
	/* literals of one command are bounded together too */
	l.append_max = 50;
	in = "t8 LOGIN {20+}\r\naaaaaaaaaaaaaaaaaaaa {20+}\r\n"
	     "aaaaaaaaaaaaaaaaaaaa {20+}\r\n";
	CHECK(imap_parse(in, strlen(in), &l, &cmd, &out) == IMAP_P_FATAL,
	      "total of literals");
}

/* 10,000 nested parentheses: a BAD, not a crash or a deep recursion. */
static void run_deep(void)
{
	struct imap_parse_limits l = lim;
	size_t n = 10000, i, len = 0;
	char *buf = malloc(2 * n + 16);
	struct imap_cmd cmd;
	struct imap_parse_out out;

	l.line_max = 3 * n;
	len += (size_t)snprintf(buf, 16, "a X ");
	for (i = 0; i < n; i++)
		buf[len++] = '(';
	for (i = 0; i < n; i++)
		buf[len++] = ')';
	buf[len++] = '\r';
	buf[len++] = '\n';
	CHECK(imap_parse(buf, len, &l, &cmd, &out) == IMAP_P_BAD, "deep");
	CHECK(out.used == len, "deep used");
	free(buf);
}

/* Every prefix of a valid command is "more", never an error. */
static void run_prefixes(void)
{
	const char *in = "a1 UID STORE 1:5,7 +FLAGS.SILENT (\\Seen $Junk) "
			 "{3+}\r\nabc \"q\\\"\" {2}\r\nxy\r\n";
	size_t len = strlen(in), k;
	struct imap_cmd cmd;
	struct imap_parse_out out;

	for (k = 0; k < len; k++)
		CHECK(imap_parse(in, k, &lim, &cmd, &out) == IMAP_P_MORE,
		      "prefix");
	CHECK(imap_parse(in, len, &lim, &cmd, &out) == IMAP_P_OK, "full");
	CHECK(cmd.uid && strcmp(cmd.name, "STORE") == 0, "full name");
	CHECK(cmd.nargs == 8, "full nargs");
	CHECK(imap_arg_next(&cmd, 2) == 5, "next skips list");
	CHECK(imap_arg_is(&cmd, 1, "+flags.silent"), "arg is");
	CHECK(strcmp(imap_arg_str(&cmd, 7), "xy") == 0, "literal");
	CHECK(imap_arg_str(&cmd, 2) == NULL, "list not a string");
	imap_cmd_free(&cmd);
}

struct scase {
	const char *in;
	uint32_t star;
	int rc;
	uint32_t yes, no;
};

static const struct scase sets[] = {
	{"1", 10, 0, 1, 2},
	{"1:3", 10, 0, 3, 4},
	{"3:1", 10, 0, 2, 4},
	{"2,4:5", 10, 0, 5, 3},
	{"*", 10, 0, 10, 9},
	{"5:*", 10, 0, 7, 4},
	{"*:5", 10, 0, 6, 11},
	{"4294967295", 1, 0, 4294967295u, 1},
	{"0", 10, -1, 0, 0},
	{"01", 10, -1, 0, 0},
	{"4294967296", 10, -1, 0, 0},
	{"1,", 10, -1, 0, 0},
	{",1", 10, -1, 0, 0},
	{"1::2", 10, -1, 0, 0},
	{"a", 10, -1, 0, 0},
	{"", 10, -1, 0, 0},
	{"1:2:3", 10, -1, 0, 0},
};

static void run_sets(void)
{
	size_t i;
	struct imap_seqset s;

	for (i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		int rc = imap_seqset_parse(sets[i].in, sets[i].star, &s);

		CHECK(rc == sets[i].rc, sets[i].in);
		if (rc == 0) {
			CHECK(imap_seqset_has(&s, sets[i].yes), sets[i].in);
			CHECK(!imap_seqset_has(&s, sets[i].no), sets[i].in);
			imap_seqset_free(&s);
		}
	}
}

static void run_modseqs(void)
{
	static const struct {
		const char *in;
		int zero_ok, rc;
		uint64_t want;
	} t[] = {
		{"1", 0, 0, 1},
		{"0", 0, -1, 0},
		{"0", 1, 0, 0},
		{"00", 1, -1, 0},
		{"01", 1, -1, 0},
		{"9223372036854775807", 0, 0, 9223372036854775807ull},
		{"9223372036854775808", 0, -1, 0},
		{"99999999999999999999999", 0, -1, 0},
		{"", 1, -1, 0},
		{"-1", 1, -1, 0},
		{"1x", 1, -1, 0},
	};
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = 12345;
		CHECK(imap_parse_modseq(t[i].in, t[i].zero_ok, &v) == t[i].rc &&
		      (t[i].rc < 0 || v == t[i].want), t[i].in);
	}
}

static void run_dates(void)
{
	char out[32];

	CHECK(imap_parse_date("1-Feb-1994") == 760060800, "date");
	CHECK(imap_parse_date("01-feb-1994") == 760060800, "date 2 digits");
	CHECK(imap_parse_date("1-Foo-1994") == -1, "bad month");
	CHECK(imap_parse_date("1-Feb-94") == -1, "short year");
	CHECK(imap_parse_date("32-Feb-1994") == -1, "bad day");
	CHECK(imap_parse_datetime(" 1-Feb-1994 01:00:00 +0100") == 760060800,
	      "datetime");
	CHECK(imap_parse_datetime("01-Feb-1994 00:00:00 -0000") == 760060800,
	      "datetime 2");
	CHECK(imap_parse_datetime("01-Feb-1994 00:00:00") == -1,
	      "no zone");
	CHECK(imap_parse_datetime("01-Feb-1994 25:00:00 +0000") == -1,
	      "bad hour");
	imap_format_datetime(760060800, out);
	CHECK(strcmp(out, "01-Feb-1994 00:00:00 +0000") == 0, "format");
}

int main(void)
{
	run_parse();
	run_literal8();
	run_atom_chars();
	run_deep();
	run_long();
	run_waiting();
	run_prefixes();
	run_sets();
	run_modseqs();
	run_dates();
	return test_done();
}
