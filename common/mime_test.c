/*
 * NAME
 *	mime_test - the shared MIME decoders, table-driven
 * DESCRIPTION
 *	base64 and quoted-printable (RFC 2045 6.7, 6.8) bodies, RFC 2047
 *	encoded words in header fields, with and without ISO-8859-1 turned
 *	into UTF-8; the malformed forms mail readers accept stay as they
 *	came; output that does not fit the buffer is cut, never overrun.
 */
#include <string.h>

#include "mime.h"
#include "sbuf.h"
#include "test.h"

enum kind {
	B64,
	QP,
	Q,
	W2047
};

struct dcase {
	const char *name;
	enum kind kind;
	int l1;
	const char *in;
	const char *want;
	size_t want_len; /* 0: strlen(want) */
};

static const struct dcase cases[] = {
	{"b64 plain", B64, 0, "aGVsbG8=", "hello", 0},
	{"b64 lines and junk skipped", B64, 0, "aGVs\r\nbG8*!", "hello", 0},
	{"b64 binary", B64, 0, "AAEC/w==", "\0\1\2\377", 4},
	{"b64 stops at =", B64, 0, "aGk=aGVsbG8=", "hi", 0},
	{"b64 latin1 to utf8", B64, 1, "Y2Fm6Q==", "caf\xc3\xa9", 0},
	{"b64 empty", B64, 0, "", "", 0},
	{"qp octets", QP, 0, "caf=C3=A9", "caf\xc3\xa9", 0},
	{"qp lower-case hex", QP, 0, "=c3=a9", "\xc3\xa9", 0},
	{"qp soft break crlf", QP, 0, "long=\r\nline", "longline", 0},
	{"qp soft break lf, trailing ws", QP, 0, "a= \t\nb", "ab", 0},
	{"qp = at end dropped", QP, 0, "abc=", "abc", 0},
	{"qp stray = stays", QP, 0, "a=xy", "a=xy", 0},
	{"qp stray = before text", QP, 0, "a= x", "a= x", 0},
	{"qp underscore stays", QP, 0, "a_b", "a_b", 0},
	{"qp latin1", QP, 1, "caf=E9", "caf\xc3\xa9", 0},
	{"Q underscore is space", Q, 0, "a_b=20c", "a b c", 0},
	{"2047 plain text", W2047, 0, "just text", "just text", 0},
	{"2047 B", W2047, 0, "=?utf-8?B?aGVsbG8=?=", "hello", 0},
	{"2047 Q", W2047, 0, "=?UTF-8?q?caf=C3=A9_menu?=", "caf\xc3\xa9 menu",
		0},
	{"2047 adjacent words join", W2047, 0,
		"=?utf-8?B?SGVs?= \t =?utf-8?B?bG8=?=", "Hello", 0},
	{"2047 text keeps its space", W2047, 0, "a =?utf-8?Q?b?= c", "a b c",
		0},
	{"2047 latin1 to utf8", W2047, 1,
		"=?ISO-8859-1?Q?caf=E9?=", "caf\xc3\xa9", 0},
	{"2047 latin1 bytes kept", W2047, 0,
		"=?ISO-8859-1?Q?caf=E9?=", "caf\xe9", 0},
	{"2047 language tag", W2047, 1, "=?iso-8859-1*fr?Q?=E9?=", "\xc3\xa9",
		0},
	{"2047 unknown encoding stays", W2047, 0,
		"=?utf-8?X?abc?=", "=?utf-8?X?abc?=", 0},
	{"2047 unterminated stays", W2047, 0, "=?utf-8?B?abc", "=?utf-8?B?abc",
		0},
	{"2047 space inside stays", W2047, 0,
		"=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=", 0},
	{"2047 empty charset stays", W2047, 0, "=??Q?a?=", "=??Q?a?=", 0},
	{"2047 trailing space kept", W2047, 0, "=?utf-8?Q?a?=  ", "a  ", 0},
};

static void decode(const struct dcase *c, struct sbuf *out)
{
	size_t n = strlen(c->in);

	switch (c->kind) {
	case B64:
		mime_base64_decode(c->in, n, out, c->l1);
		break;
	case QP:
		mime_qp_decode(c->in, n, out, 0, c->l1);
		break;
	case Q:
		mime_qp_decode(c->in, n, out, 1, c->l1);
		break;
	case W2047:
		mime_decode_2047(c->in, n, out, c->l1);
		break;
	}
}

static void test_table(void)
{
	struct sbuf out;
	size_t i, wl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];

		wl = c->want_len ? c->want_len : strlen(c->want);
		sbuf_init(&out, 4096);
		decode(c, &out);
		CHECK(out.len == wl &&
				(wl == 0 || memcmp(out.data, c->want, wl) == 0),
			c->name);
		sbuf_free(&out);
	}
}

/* A full buffer cuts the output and is never overrun. */
static void test_bounded(void)
{
	struct sbuf out;

	sbuf_init(&out, 3);
	mime_base64_decode("aGVsbG8=", 8, &out, 0);
	CHECK(out.len == 3 && memcmp(out.data, "hel", 3) == 0, "b64 cut");
	sbuf_free(&out);
	sbuf_init(&out, 4);
	mime_decode_2047("=?utf-8?Q?abcdef?=", 18, &out, 0);
	CHECK(out.len <= 4, "2047 cut");
	sbuf_free(&out);
}

static void test_helpers(void)
{
	struct sbuf out;

	CHECK(mime_ieq("Base64", 6, "base64"), "ieq case");
	CHECK(!mime_ieq("base6", 5, "base64"), "ieq prefix");
	CHECK(!mime_ieq("base64x", 7, "base64"), "ieq longer");
	CHECK(mime_charset_latin1("Windows-1252", 12), "latin1 cp1252");
	CHECK(!mime_charset_latin1("utf-8", 5), "latin1 utf8");
	sbuf_init(&out, 16);
	mime_latin1_append("\xe9t\xe9", 3, &out);
	CHECK(out.len == 5 && memcmp(out.data, "\xc3\xa9t\xc3\xa9", 5) == 0,
		"latin1 append");
	sbuf_free(&out);
}

int main(void)
{
	test_table();
	test_bounded();
	test_helpers();
	return test_done();
}
