/*
 * NAME
 *	store_mime_test_cases - the tables of store_mime_test.c
 * DESCRIPTION
 *	Golden ENVELOPE / BODYSTRUCTURE outputs, sections, SEARCH, dates
 *	and IMAP strings. Every ENVELOPE, BODY and BODYSTRUCTURE golden
 *	below is byte for byte what Dovecot 2.3.19.1 (Debian bookworm)
 *	answered for the same message, fetched from a private instance,
 *	except where a comment says otherwise; so is every section. One
 *	known difference is not in the tables: Dovecot takes a line that
 *	starts with the delimiter and goes on ("--bnd" + "more") as a
 *	delimiter; we follow RFC 2046 5.1.1 (only white space may follow),
 *	which keeps an inner boundary that extends an outer one apart.
 */
#ifndef SLUICE_STORE_MIME_TEST_CASES_H
#define SLUICE_STORE_MIME_TEST_CASES_H

#include <time.h>

struct golden {
	const char *name, *msg, *envelope, *bodystructure, *body;
};

struct section_case {
	const char *name, *msg, *section, *want;	/* want NULL: BAD */
};

struct search_case {
	const char *name, *msg, *field;	/* field NULL: BODY or TEXT */
	int text;
	const char *needle;
	int want;
};

struct date_case {
	const char *date;
	time_t want;
	int zone;
};

struct string_case {
	const char *in;
	size_t n;
	const char *want;
};

#define SIMPLE                                                             \
	"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"                        \
	"From: Alice Example <alice@example.test>\r\n"                     \
	"To: bob@example.test\r\n"                                         \
	"Subject: hello\r\n"                                               \
	"Message-ID: <1@example.test>\r\n"                                 \
	"\r\n"                                                             \
	"Hello Bob,\r\n"                                                   \
	"how are you?\r\n"

#define ALTERNATIVE                                                        \
	"From: alice@example.test\r\n"                                     \
	"Subject: =?UTF-8?Q?caf=C3=A9?= menu\r\n"                          \
	"MIME-Version: 1.0\r\n"                                            \
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n"         \
	"\r\n"                                                             \
	"preamble\r\n"                                                     \
	"--b1\r\n"                                                         \
	"Content-Type: text/plain; charset=utf-8\r\n"                      \
	"\r\n"                                                             \
	"plain\r\n"                                                        \
	"--b1\r\n"                                                         \
	"Content-Type: text/html; charset=utf-8\r\n"                       \
	"Content-Transfer-Encoding: quoted-printable\r\n"                  \
	"\r\n"                                                             \
	"<p>caf=C3=A9</p>\r\n"                                             \
	"--b1--\r\n"                                                       \
	"epilogue\r\n"

#define MIXED                                                              \
	"From: \"Doe, John\" <john@example.test>\r\n"                      \
	"To: alice@example.test, \"Bob\" <bob@example.test>\r\n"           \
	"Cc: <@relay.test,@hop.test:carol@example.test>\r\n"               \
	"Subject: report\r\n"                                              \
	"Content-Type: multipart/mixed;\r\n"                               \
	"  boundary=\"=_outer\"\r\n"                                       \
	"\r\n"                                                             \
	"--=_outer\r\n"                                                    \
	"\r\n"                                                             \
	"See attached.\r\n"                                                \
	"--=_outer\r\n"                                                    \
	"Content-Type: application/pdf; name=\"r.pdf\"\r\n"                \
	"Content-Transfer-Encoding: base64\r\n"                            \
	"Content-Disposition: attachment;\r\n"                             \
	" filename*0=\"report \"; filename*1=\"2026.pdf\"\r\n"             \
	"Content-ID: <pdf@example.test>\r\n"                               \
	"Content-Description: the report\r\n"                              \
	"Content-Language: en, de\r\n"                                     \
	"Content-Location: http://example.test/r.pdf\r\n"                  \
	"\r\n"                                                             \
	"JVBERi0xLjQK\r\n"                                                 \
	"--=_outer--\r\n"

#define NESTED                                                             \
	"From: alice@example.test\r\n"                                     \
	"Subject: fwd\r\n"                                                 \
	"Content-Type: multipart/mixed; boundary=o\r\n"                    \
	"\r\n"                                                             \
	"--o\r\n"                                                          \
	"Content-Type: text/plain\r\n"                                     \
	"\r\n"                                                             \
	"see below\r\n"                                                    \
	"--o\r\n"                                                          \
	"Content-Type: message/rfc822\r\n"                                 \
	"\r\n"                                                             \
	"From: Bob <bob@example.test>\r\n"                                 \
	"Subject: inner\r\n"                                               \
	"Date: Sun, 22 Nov 2026 08:00:00 -0500\r\n"                        \
	"Content-Type: multipart/alternative; boundary=i\r\n"              \
	"\r\n"                                                             \
	"--i\r\n"                                                          \
	"Content-Type: text/plain; charset=iso-8859-1\r\n"                 \
	"Content-Transfer-Encoding: base64\r\n"                            \
	"\r\n"                                                             \
	"Y2Fm6SBpbm5lcg==\r\n"                                             \
	"--i\r\n"                                                          \
	"Content-Type: text/html\r\n"                                      \
	"\r\n"                                                             \
	"<b>inner</b>\r\n"                                                 \
	"--i--\r\n"                                                        \
	"\r\n"                                                             \
	"--o--\r\n"

#define GROUPS                                                             \
	"From: alice@example.test\r\n"                                     \
	"To: Friends: bob@example.test, Carol <carol@example.test>;,\r\n"  \
	" dave@example.test, undisclosed-recipients:;\r\n"                 \
	"Cc: joe@example.test (Joe Q. Public), nobody\r\n"                 \
	"\r\n"                                                             \
	"x\r\n"

#define MISSING "X-Nothing: here\r\n\r\nbody without headers"

#define BROKEN                                                             \
	"Subject: broken\r\n"                                              \
	"Content-Type: multipart/mixed; boundary=\"never\"\r\n"            \
	"\r\n"                                                             \
	"--nevermore\r\n"                                                  \
	"no delimiter here\r\n"

#define UNCLOSED                                                           \
	"Content-Type: multipart/mixed; boundary=u\r\n"                    \
	"\r\n"                                                             \
	"--u\r\n"                                                          \
	"\r\n"                                                             \
	"one\r\n"                                                          \
	"--u\r\n"                                                          \
	"Content-Type: text/plain\r\n"                                     \
	"\r\n"                                                             \
	"two, never closed\r\n"

#define NOBOUNDARY                                                         \
	"Content-Type: multipart/mixed\r\n"                                \
	"\r\n"                                                             \
	"text\r\n"

#define DIGEST                                                             \
	"Subject: folded\r\n"                                              \
	"\tsubject\r\n"                                                    \
	"From: =?utf-8?q?J=C3=B6rg?= <j@example.test>\r\n"                \
	"To: \"Caf\xc3\xa9\" <c@example.test>\r\n"                          \
	"Content-Type: multipart/digest; boundary=d\r\n"                   \
	"\r\n"                                                             \
	"--d\r\n"                                                          \
	"\r\n"                                                             \
	"Subject: one\r\n"                                                 \
	"\r\n"                                                             \
	"1\r\n"                                                            \
	"--d\r\n"                                                          \
	"Content-Type: text/plain\r\n"                                     \
	"Content-Disposition: inline; filename*=utf-8''a%20b.txt\r\n"      \
	"\r\n"                                                             \
	"2\r\n"                                                            \
	"--d--\r\n"

static const struct golden golden[] = {
	{"simple text", SIMPLE,
	 "(\"Mon, 23 Nov 2026 10:00:00 +0100\" \"hello\" "
	 "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
	 "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
	 "((\"Alice Example\" NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"bob\" \"example.test\")) NIL NIL NIL "
	 "\"<1@example.test>\")",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 2 "
	 "NIL NIL NIL NIL)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 "
	 "2)"},
	/* A part's last line, whose CRLF belongs to the delimiter, is not
	 * counted: "plain" is 0 lines. */
	{"multipart/alternative", ALTERNATIVE,
	 "(NIL \"=?UTF-8?Q?caf=C3=A9?= menu\" "
	 "((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) NIL NIL NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0 "
	 "NIL NIL NIL NIL)"
	 "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
	 "\"quoted-printable\" 16 0 NIL NIL NIL NIL) \"alternative\" "
	 "(\"boundary\" \"b1\") NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 5 0)"
	 "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL "
	 "\"quoted-printable\" 16 0) \"alternative\")"},
	{"multipart/mixed with attachment", MIXED,
	 "(NIL \"report\" ((\"Doe, John\" NIL \"john\" \"example.test\")) "
	 "((\"Doe, John\" NIL \"john\" \"example.test\")) "
	 "((\"Doe, John\" NIL \"john\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")"
	 "(\"Bob\" NIL \"bob\" \"example.test\")) "
	 "((NIL \"@relay.test,@hop.test\" \"carol\" \"example.test\")) "
	 "NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0 "
	 "NIL NIL NIL NIL)"
	 "(\"application\" \"pdf\" (\"name\" \"r.pdf\") \"<pdf@example.test>\" "
	 "\"the report\" \"base64\" 12 NIL "
	 "(\"attachment\" (\"filename\" \"report 2026.pdf\")) (\"en\" \"de\") "
	 "\"http://example.test/r.pdf\") \"mixed\" "
	 "(\"boundary\" \"=_outer\") NIL NIL NIL)",
	 NULL},
	{"nested message/rfc822", NESTED,
	 "(NIL \"fwd\" ((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) NIL NIL NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 9 0 "
	 "NIL NIL NIL NIL)"
	 "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 295 "
	 "(\"Sun, 22 Nov 2026 08:00:00 -0500\" \"inner\" "
	 "((\"Bob\" NIL \"bob\" \"example.test\")) "
	 "((\"Bob\" NIL \"bob\" \"example.test\")) "
	 "((\"Bob\" NIL \"bob\" \"example.test\")) NIL NIL NIL NIL NIL) "
	 "((\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL "
	 "\"base64\" 16 0 NIL NIL NIL NIL)"
	 "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 "
	 "NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"i\") NIL NIL NIL) "
	 "15 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"o\") NIL NIL NIL)",
	 NULL},
	{"groups in To", GROUPS,
	 "(NIL NIL ((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"alice\" \"example.test\")) "
	 "((NIL NIL \"Friends\" NIL)(NIL NIL \"bob\" \"example.test\")"
	 "(\"Carol\" NIL \"carol\" \"example.test\")(NIL NIL NIL NIL)"
	 "(NIL NIL \"dave\" \"example.test\")"
	 "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	 "((\"Joe Q. Public\" NIL \"joe\" \"example.test\")"
	 "(NIL NIL \"nobody\" \"MISSING_DOMAIN\")) NIL NIL NIL)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 "
	 "NIL NIL NIL NIL)",
	 NULL},
	{"missing headers", MISSING,
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 0 "
	 "NIL NIL NIL NIL)",
	 NULL},
	/* One empty text/plain part for a multipart with none. */
	{"broken boundaries", BROKEN,
	 "(NIL \"broken\" NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	 "NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"never\") NIL NIL NIL)",
	 NULL},
	{"unclosed multipart", UNCLOSED,
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0 "
	 "NIL NIL NIL NIL)"
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 19 1 "
	 "NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"u\") NIL NIL NIL)",
	 NULL},
	/* Dovecot sends the subject, which holds a TAB, as a literal;
	 * a quoted string may hold one (RFC 3501 TEXT-CHAR). */
	{"digest, RFC 2231, folding, 8-bit", DIGEST,
	 "(NIL \"folded\tsubject\" "
	 "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.test\")) "
	 "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.test\")) "
	 "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.test\")) "
	 "(({5}\r\nCaf\xc3\xa9 NIL \"c\" \"example.test\")) NIL NIL NIL NIL)",
	 "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 17 "
	 "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 "
	 "NIL NIL NIL NIL) 2 NIL NIL NIL NIL)"
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0 "
	 "NIL (\"inline\" (\"filename*\" \"utf-8''a%20b.txt\")) NIL NIL) "
	 "\"digest\" (\"boundary\" \"d\") NIL NIL NIL)",
	 NULL},
	/* Dovecot writes ("" "" NIL NIL NIL "7bit" 0 ...) for these two
	 * invalid fields; RFC 2045 5.2 says: text/plain, us-ascii. */
	{"junk after the type", "Content-Type: text/html junk\r\n\r\nx\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 "
	 "NIL NIL NIL NIL)",
	 NULL},
	{"8-bit in the type", "Content-Type: te\xffxt/html\r\n\r\nx\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 "
	 "NIL NIL NIL NIL)",
	 NULL},
	{"message/rfc822 in any case",
	 "Content-Type: messAge/rfC822\r\n\r\nSubject: in\r\n\r\nb\r\n",
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 18 "
	 "(NIL \"in\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	 "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 "
	 "NIL NIL NIL NIL) 3 NIL NIL NIL NIL)",
	 NULL},
	{"multipart without boundary", NOBOUNDARY,
	 "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
	 "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	 "NIL NIL NIL NIL) \"mixed\" NIL NIL NIL NIL)",
	 NULL},
};

static const struct section_case sections[] = {
	{"whole", SIMPLE, "", SIMPLE},
	{"header", SIMPLE, "HEADER",
	 "Date: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
	 "From: Alice Example <alice@example.test>\r\n"
	 "To: bob@example.test\r\nSubject: hello\r\n"
	 "Message-ID: <1@example.test>\r\n\r\n"},
	{"text", SIMPLE, "text", "Hello Bob,\r\nhow are you?\r\n"},
	{"single part 1", SIMPLE, "1", "Hello Bob,\r\nhow are you?\r\n"},
	{"single part 2", SIMPLE, "2", ""},
	{"single part 1.1", SIMPLE, "1.1", ""},
	{"fields", SIMPLE, "HEADER.FIELDS (subject \"TO\")",
	 "To: bob@example.test\r\nSubject: hello\r\n\r\n"},
	{"fields none", SIMPLE, "HEADER.FIELDS (X-Foo)", "\r\n"},
	{"fields not", SIMPLE, "header.fields.not (Date From Message-ID)",
	 "To: bob@example.test\r\nSubject: hello\r\n\r\n"},
	{"folded field", MIXED, "HEADER.FIELDS (Content-Type)",
	 "Content-Type: multipart/mixed;\r\n  boundary=\"=_outer\"\r\n\r\n"},
	{"part 1", ALTERNATIVE, "1", "plain"},
	{"part 2", ALTERNATIVE, "2", "<p>caf=C3=A9</p>"},
	{"part 2 mime", ALTERNATIVE, "2.MIME",
	 "Content-Type: text/html; charset=utf-8\r\n"
	 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"},
	{"part 3 missing", ALTERNATIVE, "3", ""},
	{"leaf takes 1 once", ALTERNATIVE, "2.1", "<p>caf=C3=A9</p>"},
	{"leaf takes 1 only once", ALTERNATIVE, "2.1.1", ""},
	{"headerless part", MIXED, "1", "See attached."},
	{"headerless part mime", MIXED, "1.MIME", "\r\n"},
	{"nested header", NESTED, "2.HEADER",
	 "From: Bob <bob@example.test>\r\nSubject: inner\r\n"
	 "Date: Sun, 22 Nov 2026 08:00:00 -0500\r\n"
	 "Content-Type: multipart/alternative; boundary=i\r\n\r\n"},
	{"nested fields", NESTED, "2.HEADER.FIELDS (SUBJECT)",
	 "Subject: inner\r\n\r\n"},
	{"nested part", NESTED, "2.2", "<b>inner</b>"},
	{"nested part mime", NESTED, "2.1.MIME",
	 "Content-Type: text/plain; charset=iso-8859-1\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\n"},
	{"nested text", NESTED, "2.TEXT",
	 "--i\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\nY2Fm6SBpbm5lcg==\r\n"
	 "--i\r\nContent-Type: text/html\r\n\r\n<b>inner</b>\r\n--i--\r\n"},
	{"header of a non-message part", NESTED, "1.HEADER", ""},
	{"bad: zero", SIMPLE, "0", NULL},
	{"bad: leading zero", SIMPLE, "01", NULL},
	{"bad: trailing dot", SIMPLE, "1.", NULL},
	{"bad: mime at top", SIMPLE, "MIME", NULL},
	{"bad: unknown", SIMPLE, "BODY", NULL},
	{"bad: fields no list", SIMPLE, "HEADER.FIELDS", NULL},
	{"bad: fields empty list", SIMPLE, "HEADER.FIELDS ()", NULL},
	{"bad: fields unclosed", SIMPLE, "HEADER.FIELDS (To", NULL},
	{"bad: after list", SIMPLE, "HEADER.FIELDS (To) x", NULL},
	{"bad: huge number", SIMPLE, "99999999999", NULL},
	{"bad: text junk", SIMPLE, "TEXTX", NULL},
};

static const struct search_case searches[] = {
	{"subject plain", SIMPLE, "Subject", 0, "HELL", 1},
	{"from through comments", "From: <user-from (comment)@ (comment) "
	 "domain.org>\r\n\r\n", "From", 0, "user-from@domain.org", 1},
	{"to folded with comments", "To: a(x) .\r\n b @(y)c.example (N)"
	 "\r\n\r\n", "to", 0, "a.b@c.example", 1},
	{"quoted parens stay", "Cc: \"x (y) z\" <q@r>\r\n\r\n", "cc", 0,
	 "\"x (y) z\" <q@r>", 1},
	{"comments not in subject", "Subject: a (b) c\r\n\r\n", "subject",
	 0, "a c", 0},
	{"other address", "From: <u (c)@ d.org>\r\n\r\n", "from", 0,
	 "u@d.net", 0},
	{"subject absent", SIMPLE, "Subject", 0, "bye", 0},
	{"field absent", SIMPLE, "X-Foo", 0, "", 0},
	{"field present, empty needle", SIMPLE, "To", 0, "", 1},
	{"from display name", SIMPLE, "From", 0, "alice example", 1},
	{"2047 Q", ALTERNATIVE, "Subject", 0, "caf\xc3\xa9 menu", 1},
	{"2047 B adjacent words", "Subject: =?utf-8?B?SGVs?= =?utf-8?B?bG8=?="
	 "\r\n\r\n", "subject", 0, "hello", 1},
	{"2047 latin1", "Subject: =?ISO-8859-1?Q?caf=E9?=\r\n\r\n", "subject",
	 0, "CAF\xc3\xa9", 1},
	{"2047 broken stays raw", "Subject: =?utf-8?X?abc?=\r\n\r\n",
	 "subject", 0, "=?utf-8?x?abc?=", 1},
	{"body plain", SIMPLE, NULL, 0, "how ARE", 1},
	{"body not header", SIMPLE, NULL, 0, "Message-ID", 0},
	{"text has header", SIMPLE, NULL, 1, "message-id", 1},
	{"body qp", ALTERNATIVE, NULL, 0, "<p>caf\xc3\xa9</p>", 1},
	{"body base64 latin1", NESTED, NULL, 0, "caf\xc3\xa9 inner", 1},
	{"body embedded header", NESTED, NULL, 0, "Subject: inner", 1},
	{"body skips attachments", MIXED, NULL, 0, "JVBER", 0},
	{"body in preamble is not body", ALTERNATIVE, NULL, 0, "preamble", 0},
	{"qp soft break", "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	 "split=\r\nword\r\n", NULL, 0, "splitword", 1},
};

static const struct date_case dates[] = {
	{"Mon, 23 Nov 2026 10:00:00 +0100", 1795424400, 60},
	{"23 Nov 2026 09:00:00 GMT", 1795424400, 0},
	{"Mon, 23 Nov 2026 04:00:00 EST", 1795424400, -300},
	{"Mon (comment), 23 Nov 26 02:00 PDT", 1795424400, -420},
	{"23 nov 126 09:00:00 +0000", 1795424400, 0},
	{"1 Jan 1970 00:00:00 Z", 0, 0},
	{"Thu, 1 Jan 1970 00:00:00 A", 0, 0},
	{"23-Nov-2026 09:00:00 +0000", 1795424400, 0},
	{"garbage", -1, 0},
	{"32 Nov 2026 10:00:00 +0000", -1, 0},
	{"23 Foo 2026 10:00:00 +0000", -1, 0},
	{"23 Nov 2026 25:00:00 +0000", -1, 0},
	{"23 Nov 2026", -1, 0},
};

static const struct string_case strings[] = {
	{"abc", 3, "\"abc\""},
	{"", 0, "\"\""},
	{"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
	{"a\r\nb", 4, "{4}\r\na\r\nb"},
	{"caf\xc3\xa9", 5, "{5}\r\ncaf\xc3\xa9"},
	{NULL, 0, "NIL"},
	{"a\0b", 3, "{3}\r\na\0b"},
};

#endif
