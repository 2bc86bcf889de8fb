/*
 * NAME
 *	store_mime_test - table-driven tests of the MIME parser and the
 *	IMAP renderers, with golden ENVELOPE and BODYSTRUCTURE outputs
 * DESCRIPTION
 *	`store_mime_test -p` prints what the code produces for every golden
 *	case instead of checking it (to review a change by eye).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "store_mime.h"
#include "store_mime_int.h"
#include "test.h"

#include "store_mime_test_cases.h"

static int print_mode;

static void check_str(const char *name, const char *what, const char *got,
		      const char *want)
{
	if (print_mode) {
		printf("%s %s:\n%s\n", name, what, got);
		return;
	}
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s %s:\n got: %s\nwant: %s\n", name, what,
			got, want);
	CHECK(strcmp(got, want) == 0, name);
}

static void run_golden(const struct golden *g)
{
	struct mime_part *root = mime_parse(g->msg, strlen(g->msg), NULL);
	struct sbuf out;

	CHECK(root != NULL, g->name);
	if (root == NULL)
		return;
	sbuf_init(&out, 1 << 20);
	CHECK(mime_envelope(root, &out) == 0, g->name);
	check_str(g->name, "ENVELOPE", out.data ? out.data : "", g->envelope);
	sbuf_reset(&out);
	CHECK(mime_bodystructure(root, 1, &out) == 0, g->name);
	check_str(g->name, "BODYSTRUCTURE", out.data ? out.data : "",
		  g->bodystructure);
	if (g->body) {
		sbuf_reset(&out);
		CHECK(mime_bodystructure(root, 0, &out) == 0, g->name);
		check_str(g->name, "BODY", out.data ? out.data : "", g->body);
	}
	sbuf_free(&out);
	mime_free(&root);
	CHECK(root == NULL, g->name);
}

static void run_section(const struct section_case *c)
{
	struct mime_part *root = mime_parse(c->msg, strlen(c->msg), NULL);
	struct sbuf out;
	int r;

	sbuf_init(&out, 1 << 20);
	r = mime_section(root, c->section, &out);
	CHECK(mime_section_valid(c->section) == (c->want != NULL), c->name);
	if (c->want == NULL) {
		CHECK(r == -1 && out.len == 0, c->name);
	} else {
		CHECK(r == 0, c->name);
		check_str(c->name, c->section, out.data ? out.data : "",
			  c->want);
	}
	sbuf_free(&out);
	mime_free(&root);
}

static void run_search(const struct search_case *c)
{
	struct mime_part *root = mime_parse(c->msg, strlen(c->msg), NULL);
	int got;

	if (c->field)
		got = mime_header_contains(root, c->field, c->needle);
	else if (c->text)
		got = mime_text_contains(root, c->needle);
	else
		got = mime_body_contains(root, c->needle);
	if (got != c->want && !print_mode)
		fprintf(stderr, "search %s: got %d\n", c->name, got);
	CHECK(!got == !c->want, c->name);
	mime_free(&root);
}

static const struct {
	const char *in, *want;
} normalised[] = {
	{"<user-from (comment)@ (comment) domain.org>",
	 "<user-from@domain.org>"},
	{"Someone  (x) Else <a . b @ c>", "Someone Else <a.b@c>"},
	{"\"q (not) \\\" a\" <x@[1.2.3.4] (c)>, y@z",
	 "\"q (not) \\\" a\" <x@[1.2.3.4]>, y@z"},
	{"(((nested) c) d)u@v(open", "u@v"},
	{"\"unterminated", "\"unterminated"},
	{"", ""},
};

static void run_normalise(void)
{
	struct sbuf out;
	size_t i;

	sbuf_init(&out, 4096);
	for (i = 0; i < sizeof(normalised) / sizeof(normalised[0]); i++) {
		sbuf_reset(&out);
		CHECK(mime_addr_normalise(normalised[i].in,
					  strlen(normalised[i].in), &out) == 0,
		      normalised[i].in);
		check_str(normalised[i].in, "normalised",
			  out.data ? out.data : "", normalised[i].want);
	}
	sbuf_free(&out);
}

static void run_date(const struct date_case *c)
{
	char msg[512];
	struct mime_part *root;
	time_t t;
	int zone;

	snprintf(msg, sizeof(msg), "Date: %s\r\n\r\nx\r\n", c->date);
	root = mime_parse(msg, strlen(msg), NULL);
	t = mime_date_zone(root, &zone);
	if (t != c->want && !print_mode)
		fprintf(stderr, "date %s: got %lld\n", c->date,
			(long long)t);
	CHECK(t == c->want, c->date);
	CHECK(t == -1 || zone == c->zone, c->date);
	CHECK(mime_date(root) == t, c->date);
	mime_free(&root);
}

static void run_string(const struct string_case *c)
{
	struct sbuf out;

	sbuf_init(&out, 4096);
	CHECK(mime_imap_string(&out, c->in, c->in ? c->n : 0) == 0, c->want);
	check_str("imap_string", c->want, out.data ? out.data : "", c->want);
	sbuf_free(&out);
}

/* Limits: deep nesting and many parts stay bounded and well-formed. */
static void run_limits(void)
{
	struct sbuf m, out;
	struct mime_part *root;
	int i, open = 0, close = 0;
	size_t k;

	sbuf_init(&m, 1 << 24);
	for (i = 0; i < 200; i++)
		sbuf_printf(&m, "Content-Type: multipart/mixed; "
			    "boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	sbuf_puts(&m, "\r\nleaf\r\n");
	root = mime_parse(m.data, m.len, NULL);
	sbuf_init(&out, 1 << 24);
	CHECK(root && mime_bodystructure(root, 1, &out) == 0, "deep");
	for (k = 0; k < out.len; k++) {
		open += out.data[k] == '(';
		close += out.data[k] == ')';
	}
	CHECK(open == close, "deep balanced");
	CHECK(open < 40 * 8, "deep capped");
	mime_free(&root);

	sbuf_reset(&m);
	sbuf_reset(&out);
	sbuf_puts(&m, "Content-Type: multipart/mixed; boundary=x\r\n\r\n");
	for (i = 0; i < 5000; i++)
		sbuf_puts(&m, "--x\r\n\r\np\r\n");
	root = mime_parse(m.data, m.len, NULL);
	CHECK(root && mime_bodystructure(root, 0, &out) == 0, "many");
	for (k = 0, open = 0; k < out.len; k++)
		open += out.data[k] == '(';
	CHECK(open > 1000 && open <= 2000 * 2 + 1, "many capped");
	sbuf_reset(&out);
	CHECK(mime_section(root, "1999", &out) == 0 && out.len > 0,
	      "many: last part");
	sbuf_reset(&out);
	CHECK(mime_section(root, "2001", &out) == 0 && out.len == 0,
	      "many: past the cap");
	mime_free(&root);

	/* A full output buffer fails cleanly and leaves it unchanged. */
	root = mime_parse(golden[0].msg, strlen(golden[0].msg), NULL);
	sbuf_free(&out);
	sbuf_init(&out, 10);
	sbuf_puts(&out, "abc");
	CHECK(mime_envelope(root, &out) == -1 && out.len == 3, "full env");
	CHECK(mime_bodystructure(root, 1, &out) == -1 && out.len == 3,
	      "full bs");
	CHECK(mime_section(root, "", &out) == -1 && out.len == 3,
	      "full section");
	mime_free(&root);
	sbuf_free(&out);
	sbuf_free(&m);
}

/* RFC 3516 BINARY[part]: the transfer encoding undone, or -2. */
static void run_binary(void)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		"AAEC/w==\r\n"
		"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
		"a=3Db=\r\nc\r\n"
		"--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
		"begin\r\n"
		"--b\r\n\r\nplain\r\n--b--\r\n";
	struct mime_part *root = mime_parse(msg, sizeof(msg) - 1, NULL);
	struct sbuf b;

	sbuf_init(&b, 1 << 20);
	CHECK(root != NULL, "binary parse");
	CHECK(mime_binary(root, "1", &b) == 0 && b.len == 4 &&
	      memcmp(b.data, "\0\1\2\377", 4) == 0, "binary base64");
	sbuf_reset(&b);
	CHECK(mime_binary(root, "2", &b) == 0 && b.len == 4 &&
	      memcmp(b.data, "a=bc", 4) == 0, "binary qp");
	sbuf_reset(&b);
	CHECK(mime_binary(root, "3", &b) == -2, "binary unknown cte");
	sbuf_reset(&b);
	CHECK(mime_binary(root, "4", &b) == 0 && b.len == 5, "binary 7bit");
	sbuf_reset(&b);
	CHECK(mime_binary(root, "9", &b) == 0 && b.len == 0, "no such part");
	CHECK(mime_binary(root, "1.MIME", &b) == -1 &&
	      mime_binary(root, "HEADER", &b) == -1, "binary needs numbers");
	CHECK(mime_binary(root, "", &b) == 0 && b.len == sizeof(msg) - 1,
	      "binary whole");
	sbuf_free(&b);
	mime_free(&root);
}

/* RFC 5256 2.1 base subjects, first mailboxes and thread ids. */
static void run_sort_keys(void)
{
	static const struct {
		const char *subject, *want;
		int reply;
	} t[] = {
		{"Re: hello", "HELLO", 1},
		{"Fwd: [list] Re: Hello (fwd)", "HELLO", 1},
		{"[fwd: Re: hi]", "HI", 1},
		{"[list] hello", "HELLO", 0},
		{"[list]", "[LIST]", 0},
		{"Re: Re: re:  x", "X", 1},
		{"   spaced \t  out   ", "SPACED OUT", 0},
		{"Report: x", "REPORT: X", 0},
		{"", "", 0},
		{"Re [blob]: x", "X", 1},
		{"FW: a", "A", 1},
		{"=?utf-8?q?caf=C3=A9?= re", "CAF\xc3\xa9 RE", 0},
		{"[a][b] Re: c", "C", 1},
		{"[fwd: x] (fwd)", "X", 1},
	};
	struct sbuf b, id, refs;
	struct mime_part *root;
	char msg[300];
	size_t i;
	int r;

	sbuf_init(&b, 1 << 20);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(msg, sizeof(msg), "Subject: %s\r\n\r\nx\r\n",
			 t[i].subject);
		root = mime_parse(msg, strlen(msg), NULL);
		sbuf_reset(&b);
		r = root ? mime_base_subject(root, &b) : -1;
		CHECK(r == t[i].reply && b.len == strlen(t[i].want) &&
		      memcmp(b.data ? b.data : "", t[i].want, b.len) == 0,
		      t[i].subject);
		mime_free(&root);
	}
	snprintf(msg, sizeof(msg), "From: \"A (x)\" <Alice@x.test>\r\n"
		 "To: g: a.b@c, d@e;\r\nMessage-ID: <1@x>\r\n"
		 "In-Reply-To: <0@x>\r\nReferences: <a@x> junk <b@x>\r\n\r\n");
	root = mime_parse(msg, strlen(msg), NULL);
	sbuf_reset(&b);
	mime_first_mailbox(root, "from", &b);
	CHECK(b.len == 5 && memcmp(b.data, "ALICE", 5) == 0, "first from");
	sbuf_reset(&b);
	mime_first_mailbox(root, "to", &b);
	CHECK(b.len == 3 && memcmp(b.data, "A.B", 3) == 0, "first in group");
	sbuf_reset(&b);
	mime_first_mailbox(root, "cc", &b);
	CHECK(b.len == 0, "no cc");
	sbuf_init(&id, 1 << 20);
	sbuf_init(&refs, 1 << 20);
	CHECK(mime_thread_ids(root, &id, &refs) == 2 &&
	      strcmp(id.data, "<1@x>") == 0 && refs.len == 12 &&
	      memcmp(refs.data, "<a@x>\0<b@x>\0", 12) == 0, "thread ids");
	sbuf_free(&id);
	sbuf_free(&refs);
	sbuf_free(&b);
	mime_free(&root);
}

int main(int argc, char **argv)
{
	size_t i;

	print_mode = argc > 1 && strcmp(argv[1], "-p") == 0;
	for (i = 0; i < sizeof(golden) / sizeof(golden[0]); i++)
		run_golden(&golden[i]);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		run_section(&sections[i]);
	for (i = 0; i < sizeof(searches) / sizeof(searches[0]); i++)
		run_search(&searches[i]);
	for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++)
		run_date(&dates[i]);
	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		run_string(&strings[i]);
	run_normalise();
	run_limits();
	run_binary();
	run_sort_keys();
	return test_done();
}
