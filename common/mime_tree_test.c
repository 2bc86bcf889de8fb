/*
 * NAME
 *	mime_tree_test - the MIME structure parser, table-driven
 * DESCRIPTION
 *	Each message is parsed and its tree written out in document order,
 *	one part a line: "depth type/subtype header-body-end cte flags"
 *	(flags: d no usable Content-Type, c cut at a limit). The store's
 *	golden Dovecot comparisons (store/mime/store_mime_test.c,
 *	tests/test_imap_mime.py) check what is rendered from the tree; here
 *	the offsets, transfer encodings, limits and dispositions themselves.
 */
#include <stdio.h>
#include <string.h>

#include "mime_tree.h"
#include "sbuf.h"
#include "test.h"

struct tcase {
	const char *name, *msg;
	int depth; /* limits; 0 and 0: the hard ones */
	size_t parts;
	const char *want;
};

static const struct tcase cases[] = {
	{"no Content-Type: text/plain", "Subject: x\r\n\r\nhi\r\n", 0, 0,
		"0 text/plain 0-14-18 i d\n"},
	{"no header at all", "\r\nbody", 0, 0, "0 text/plain 0-2-6 i d\n"},
	{"no blank line: all header", "Subject: x\r\n", 0, 0,
		"0 text/plain 0-12-12 i d\n"},
	{"multipart, CRLF before a delimiter is the delimiter's",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n"
		"--b\r\n\r\none\r\n--b\r\nContent-Type: text/html\r\n\r\n"
		"<b>two</b>\r\n--b--\r\nepilogue\r\n",
		0, 0,
		"0 multipart/mixed 0-45-123 i \n"
		"1 text/plain 55-57-60 i d\n"
		"1 text/html 67-94-104 i \n"},
	{"boundary after \"= \" and LF line ends",
		"Content-Type: multipart/mixed; boundary= \"b\"\n\n--b\n"
		"Content-Type: text/plain\n\nx\n--b--\n",
		0, 0,
		"0 multipart/mixed 0-46-84 i \n"
		"1 text/plain 50-76-77 i \n"},
	{"unclosed multipart: the last part runs to the end",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"\r\ntail",
		0, 0,
		"0 multipart/mixed 0-45-56 i \n"
		"1 text/plain 50-52-56 i d\n"},
	{"no boundary: a multipart of no part",
		"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n", 0, 0,
		"0 multipart/mixed 0-33-43 i \n"},
	{"the first Content-Type and transfer encoding count",
		"Content-Type: text/html\r\nContent-Type: image/gif\r\n"
		"Content-Transfer-Encoding: BASE64 \r\n"
		"Content-Transfer-Encoding: 7bit\r\n\r\nx",
		0, 0, "0 text/html 0-121-122 b \n"},
	/* an empty body: the blank line's CRLF is the delimiter's */
	{"quoted-printable, unknown, 8bit",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n--b\r\n"
		"Content-Transfer-Encoding: x-uuencode\r\n\r\n--b\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n--b--\r\n",
		0, 0,
		"0 multipart/mixed 0-45-190 i \n"
		"1 text/plain 50-95-95 q d\n"
		"1 text/plain 102-141-141 o d\n"
		"1 text/plain 148-181-181 i d\n"},
	{"junk after the type: text/plain (RFC 2045 5.2)",
		"Content-Type: text/html junk\r\n\r\nx", 0, 0,
		"0 text/plain 0-32-33 i d\n"},
	{"message/rfc822 holds a message",
		"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody",
		0, 0,
		"0 message/rfc822 0-32-51 i \n"
		"1 text/plain 32-47-51 i d\n"},
	{"digest parts default to message/rfc822 (RFC 2046 5.1.5)",
		"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n"
		"\r\nSubject: a\r\n\r\nx\r\n--d--\r\n",
		0, 0,
		"0 multipart/digest 0-46-77 i \n"
		"1 message/rfc822 51-53-68 i d\n"
		"2 text/plain 53-67-68 i d\n"},
	{"too deep: read as text/plain",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"\r\nx\r\n--b--\r\n--a--\r\n",
		1, 0,
		"0 multipart/mixed 0-45-119 i \n"
		"1 text/plain 50-95-110 i dc\n"},
	{"past the part limit the last part keeps the rest",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--\r\n",
		0, 2,
		"0 multipart/mixed 0-45-82 i \n"
		"1 text/plain 50-52-53 i d\n"
		"1 text/plain 60-62-82 i d\n"},
};

static void render(const struct mime_part *p, struct sbuf *out)
{
	static const char cte[] = "ibqo";

	for (; p; p = p->next) {
		sbuf_printf(out, "%d %s/%s %zu-%zu-%zu %c %s%s\n", p->depth,
			p->ct.type, p->ct.subtype, p->hdr_off, p->body_off,
			p->body_off + p->body_len, cte[p->cte],
			p->flags & MIME_F_DEFAULT_CT ? "d" : "",
			p->flags & MIME_F_CUT ? "c" : "");
		render(p->child, out);
	}
}

static void test_trees(void)
{
	struct mime_limits lim;
	struct mime_part *root;
	struct sbuf out;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];

		lim.depth = c->depth ? c->depth : LIM_MIME_DEPTH;
		lim.parts = c->parts ? c->parts : LIM_MIME_PARTS;
		root = mime_parse(c->msg, strlen(c->msg), &lim);
		sbuf_init(&out, 1 << 16);
		render(root, &out);
		CHECK(root && strcmp(out.data ? out.data : "", c->want) == 0,
			c->name);
		if (root == NULL || strcmp(out.data, c->want) != 0)
			fprintf(stderr, "got:\n%swant:\n%s",
				out.data ? out.data : "", c->want);
		sbuf_free(&out);
		mime_free(&root);
		CHECK(root == NULL, "mime_free clears");
	}
}

static void test_disposition_lines(void)
{
	static const char msg[] =
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		"Content-Disposition: attachment;\r\n filename*0=\"a \";"
		" filename*1=b.txt\r\n\r\none\r\ntwo\r\n--b\r\n\r\nx--b--";
	struct mime_part *root = mime_parse(msg, sizeof(msg) - 1, NULL);
	struct mime_ctype d;

	CHECK(root && root->child && root->child->next, "two parts");
	if (root == NULL || root->child == NULL || root->child->next == NULL)
		return;
	mime_part_disposition(root->child, &d);
	CHECK(d.type && strcmp(d.type, "attachment") == 0 && d.nparams == 1 &&
			strcmp(d.params[1], "a b.txt") == 0,
		"disposition, RFC 2231 continuations merged");
	mime_ctype_free(&d);
	mime_part_disposition(root->child->next, &d);
	CHECK(d.type == NULL, "no disposition");
	CHECK(mime_body_lines(root->child) == 1, "the last CRLF is the "
						 "delimiter's: one line");
	CHECK(mime_body_lines(root->child->next) == 0, "no LF, no line");
	mime_free(&root);
}

int main(void)
{
	test_trees();
	test_disposition_lines();
	return test_done();
}
