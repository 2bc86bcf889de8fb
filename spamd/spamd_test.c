/*
 * NAME
 *	spamd_test - table-driven tests of stage D's pure parts
 * DESCRIPTION
 *	Text extraction (MIME walking, transfer encodings, RFC 2047, HTML),
 *	tokens, rules (built-in, parse errors), the DNSBL query names and
 *	the Bayes combining on a database trained here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spamd.h"
#include "spamd_dnsbl.h"
#include "spamd_stage.h"
#include "test.h"

struct xcase {
	const char *name, *msg;
	const char *body_has, *body_not, *hdr_has;
};

static const struct xcase xcases[] = {
	{"plain, LF line ends", "Subject: hi\n\nhello world\n", "hello world",
	 NULL, "subject: hi\n"},
	{"mbox From line is not a field",
	 "From a@b  Thu Aug 22 12:36:23 2002\nSubject: s\n\nx\n", "x",
	 NULL, "subject: s\n"},
	{"folded, RFC 2047 B and Q, adjacent words joined",
	 "Subject: =?utf-8?B?aGVsbG8=?=\r\n =?iso-8859-1?Q?_w=6Frld?=\r\n"
	 "\r\nb\r\n", "b", NULL, "subject: hello world\n"},
	{"base64 body",
	 "Content-Transfer-Encoding: base64\r\n\r\naGlkZGVuIHRleHQ=\r\n",
	 "hidden text", NULL, NULL},
	{"quoted-printable, soft breaks",
	 "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	 "soft=\r\nbreak =3D ok\r\n", "softbreak = ok", NULL, NULL},
	{"html: tags, comments, style, entities, links",
	 "Content-Type: text/html\r\n\r\n<html><style>p{x:y}</style>"
	 "<p>V<!-- x -->ia<b>gra</b> &amp; <a href=\"http://evil.test/x\">"
	 "here</a></p>", "Viagra &", "x:y", NULL},
	{"html: link host kept", "Content-Type: text/html\r\n\r\n"
	 "<a href='https://evil.test/path?q=1'>x</a>", "https://evil.test/",
	 "path", NULL},
	{"multipart: text parts only, nested",
	 "Content-Type: multipart/mixed; boundary=\"out\"\r\n\r\npre\r\n"
	 "--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
	 "--in\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--in--\r\n"
	 "epilogue in\r\n--out\r\nContent-Type: image/gif\r\n"
	 "Content-Transfer-Encoding: base64\r\n\r\nR0lGODlh\r\n--out\r\n"
	 "Content-Type: text/plain\r\n\r\nsecond part\r\n--out--\r\n",
	 "second part", "GIF", "part-content-type:image/gif\n"},
	{"attached message",
	 "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\n"
	 "inner text\r\n", "inner text", NULL, NULL},
	{"boundary prefix is not a delimiter",
	 "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n\r\n"
	 "one\r\n--abc\r\ntwo\r\n--ab--\r\n", "two", NULL, NULL},
	{"boundary after \"= \" (CFWS), read as mail readers and the "
	 "store read it",
	 "Content-Type: multipart/mixed;boundary= \"b\"\r\n\r\n--b\r\n"
	 "Content-Type: text/plain\r\n\r\nhidden offer\r\n--b--\r\n",
	 "hidden offer", "--b", "part-content-type:text/plain\n"},
	{"white space before the colon is not in the name (RFC 5322 4.5.3)",
	 "Subject : cheap\r\n\r\nb\r\n", "b", NULL, "subject: cheap\n"},
	{"an unusable Content-Type is text/plain (RFC 2045 5.2)",
	 "Content-Type: text\r\n\r\nhidden words\r\n", "hidden words",
	 NULL, NULL},
	{"NUL bytes become spaces",
	 "Subject: a\r\n\r\nx\0y\r\n", "x y", NULL, NULL},
};

static void test_extract(void)
{
	struct spamd_text t;
	size_t i, n;

	for (i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		const struct xcase *c = &xcases[i];

		n = strlen(c->msg);
		if (strcmp(c->name, "NUL bytes become spaces") == 0)
			n = 20;
		CHECK(spamd_text_extract(c->msg, n, 65536, &t) == 0, c->name);
		if (c->body_has)
			CHECK(strstr(t.body.data, c->body_has) != NULL,
			      c->name);
		if (c->body_not)
			CHECK(strstr(t.body.data, c->body_not) == NULL,
			      c->name);
		if (c->hdr_has)
			CHECK(strstr(t.hdr.data, c->hdr_has) != NULL, c->name);
		spamd_text_free(&t);
	}
}

static void test_limits(void)
{
	struct spamd_text t;
	struct sbuf m;
	int i;

	/* deep nesting: walked, bounded, no recursion */
	sbuf_init(&m, 1 << 20);
	for (i = 0; i < 200; i++)
		sbuf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d"
			    "\r\n\r\n--b%d\r\n", i, i);
	sbuf_puts(&m, "\r\ndeep text\r\n");
	CHECK(spamd_text_extract(m.data, m.len, 1 << 20, &t) == 0, "deep");
	spamd_text_free(&t);
	/* a Content-Type longer than the SPAMD_MAX_FIELD bytes kept of a
	 * field still types its part: HTML is read as HTML */
	sbuf_reset(&m);
	sbuf_puts(&m, "Subject: s\r\nContent-Type: text/html");
	for (i = 0; i < 1200; i++)
		sbuf_puts(&m, " ;");
	sbuf_puts(&m, "\r\n\r\n<p>cheap <b>pills</b></p>\r\n");
	CHECK(spamd_text_extract(m.data, m.len, 1 << 20, &t) == 0, "long ct");
	CHECK(t.html == 1, "long ct: html");
	CHECK(strstr(t.body.data, "<b>") == NULL, "long ct: tags stripped");
	spamd_text_free(&t);
	/* scan limit: nothing past it is read */
	sbuf_reset(&m);
	sbuf_puts(&m, "Subject: s\r\n\r\n");
	for (i = 0; i < 1000; i++)
		sbuf_puts(&m, "word ");
	sbuf_puts(&m, "lateword");
	CHECK(spamd_text_extract(m.data, m.len, 4096, &t) == 0, "scan");
	CHECK(strstr(t.body.data, "lateword") == NULL, "scan limit");
	CHECK(t.body.len <= 4096, "body within scan");
	spamd_text_free(&t);
	sbuf_free(&m);
}

struct collect {
	char all[4096];
};

static void collect(void *arg, const char *tok, size_t n)
{
	struct collect *c = arg;
	size_t l = strlen(c->all);

	if (l + n + 2 < sizeof(c->all)) {
		memcpy(c->all + l, tok, n);
		c->all[l + n] = '|';
		c->all[l + n + 1] = '\0';
	}
}

/* The tokens of msg into c, "|"-separated, with a leading "|". */
static void tokens_of(const char *msg, struct collect *c)
{
	struct spamd_text t;

	memset(c, 0, sizeof(*c));
	c->all[0] = '|';
	spamd_text_extract(msg, strlen(msg), 65536, &t);
	spamd_tokenize(&t, 1000, collect, c);
	spamd_text_free(&t);
}

static void test_tokens(void)
{
	static const char *const more[] = {"|hello world|", "|world see|",
		"|bias:|", "|url-tld:test|", "|url-depth:1|",
		"|shape:links:1|", "|shape:parts:1|", NULL};
	struct collect c;
	size_t i;
	const char *msg = "Subject: Free MONEY!\r\nX-Foo: bar\r\n\r\n"
			  "Hello, (World) a bb see http://www.evil.test/x "
			  "me@spam.test "
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			  "aaaaaaaaaaa\r\n";

	tokens_of(msg, &c);
	CHECK(strstr(c.all, "|subject:free|") != NULL,
	      "subject word, lower case");
	CHECK(strstr(c.all, "|subject:money|") != NULL, "punctuation trimmed");
	CHECK(strstr(c.all, "|hdr-order:subject>x-foo|") != NULL,
	      "other field in the order");
	CHECK(strstr(c.all, "|header:x-foo|") == NULL, "no token per name");
	CHECK(strstr(c.all, "|hello|") != NULL, "body word");
	CHECK(strstr(c.all, "|world|") != NULL, "separators");
	CHECK(strstr(c.all, "|bb|") == NULL, "short word dropped");
	CHECK(strstr(c.all, "|see|") != NULL, "three bytes kept");
	CHECK(strstr(c.all, "|url:www.evil.test|") != NULL, "url host");
	CHECK(strstr(c.all, "|url:evil.test|") != NULL, "url domain");
	CHECK(strstr(c.all, "|email:spam.test|") != NULL, "email domain");
	CHECK(strstr(c.all, "|skip:a 50|") != NULL, "long word skipped");
	/* word pairs (over dropped short words), the intercept, shapes */
	for (i = 0; more[i]; i++)
		CHECK(strstr(c.all, more[i]) != NULL, more[i]);
	CHECK(spamd_token_hash("a", 1) != spamd_token_hash("b", 1), "hash");
}

/* The header's structure: field order (delivery fields left out), the
 * hop nearest the sender, the Message-ID, Date and boundary shapes;
 * time zones of Received fields and field names are no tokens. */
static void test_header_shapes(void)
{
	static const char *const want[] = {"|hdr-order:>received|",
		"|hdr-order:received>received|", "|hdr-order:received>from|",
		"|rcvd-hops:2|", "|rcvd-origin:with:smtp|",
		"|rcvd-origin:dynamic|", "|rcvd-origin:by:(Aa_9.9)|",
		"|msgid-shape:A9a-9a-9|", "|msgid:from-domain|",
		"|date-shape:Aa,_9_Aa_9_9:9:9_+9|",
		"|boundary-shape:----=_AaAa_9_9_9A9A.9A9A|", "|received:esmtp|",
		NULL};
	static const char *const not[] = {"|received:edt|",
		"|hdr-order:received>delivered-to|", "|header:list-id|",
		"|msgid:none|", "|date:none|", "|rcvd-origin:nordns|", NULL};
	struct collect c;
	size_t i;
	const char *msg =
		"Return-Path: <a@b.test>\r\n"
		"Received: from mx.example.test (mx.example.test [192.0.2.1])"
		" by in.example.test with ESMTP id x1; Sat, 21 Sep 2002 "
		"21:15:46 -0400 (EDT)\r\n"
		"Delivered-To: me@example.test\r\n"
		"Received: from helo.test (dialpool-210-214-173-49.test "
		"[210.214.173.49]) by mx.example.test (Exim 4.05) with smtp "
		"id 17sqea; Sat, 21 Sep 2002 21:15:01 +0100\r\n"
		"From: \"V\" <v@mail.indiatimes.test>\r\n"
		"List-Id: <ilug.linux.test>\r\n"
		"Message-Id: <E17sqea-00048d-00@indiatimes.test>\r\n"
		"Date: Sun, 22 Sep 2002 01:54:09 +0530\r\n"
		"Content-Type: multipart/alternative; boundary=\""
		"----=_NextPart_000_0003_01C2624E.5A8B0D40\"\r\n\r\n"
		"------=_NextPart_000_0003_01C2624E.5A8B0D40\r\n"
		"Content-Type: text/plain\r\n\r\nhello there\r\n"
		"------=_NextPart_000_0003_01C2624E.5A8B0D40--\r\n";

	tokens_of(msg, &c);
	for (i = 0; want[i]; i++)
		CHECK(strstr(c.all, want[i]) != NULL, want[i]);
	for (i = 0; not[i]; i++)
		CHECK(strstr(c.all, not[i]) == NULL, not[i]);
	tokens_of("Received: from [10.1.2.3] (unknown [10.1.2.3]) by x\r\n"
		  "Subject: hi\r\n\r\nbody\r\n", &c);
	CHECK(strstr(c.all, "|msgid:none|") != NULL, "no Message-ID");
	CHECK(strstr(c.all, "|date:none|") != NULL, "no Date");
	CHECK(strstr(c.all, "|rcvd-origin:nordns|") != NULL, "unknown");
	CHECK(strstr(c.all, "|rcvd-origin:helo-ip|") != NULL, "helo ip");
	CHECK(strstr(c.all, "|hdr-order:received>subject|") != NULL,
	      "order");
}

/* Word pairs stop at long words; link and text shapes. */
static void test_shape_tokens(void)
{
	static const char *const has[] = {"|get rich|", "|url-shape:ip|",
		"|url-shape:port|", "|url-shape:query|", "|url-depth:3|",
		"|url-shape:at|", "|shape:links:2|", "|shape:caps:", NULL};
	struct collect c;
	size_t i;

	tokens_of("Subject: s\r\n\r\nGET RICH "
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx now "
		  "http://192.0.2.1:8080/a/b/c?x=%41 "
		  "http://user@host.example.test/\r\n", &c);
	for (i = 0; has[i]; i++)
		CHECK(strstr(c.all, has[i]) != NULL, has[i]);
	CHECK(strstr(c.all, "|rich now|") == NULL, "long word breaks pairs");
	tokens_of("Subject: s\r\n\r\nAAAA BBBB\r\n", &c);
	CHECK(strstr(c.all, "|shape:caps:10|") != NULL, "all capitals");
	CHECK(strstr(c.all, "|shape:links:0|") != NULL, "no links");
}

/* Rule hits are features too; the clues named are header-safe. */
static void test_features(void)
{
	struct spamd_core core;
	struct spamd_text t;
	struct spamd_tokset set;
	struct spamd_verdict v;
	char err[256];
	const char *m = "Subject: LOUD\r\n\r\nbody\r\n";
	size_t i;
	int rule = 0;

	memset(&core, 0, sizeof(core));
	core.rules = spamd_rules_load(NULL, err, sizeof(err));
	core.body_size = 1024;
	spamd_text_extract(m, strlen(m), 65536, &t);
	spamd_verdict_init(&v);
	CHECK(spamd_features(&core, &t, &set, &v) == 0, "features");
	for (i = 0; i < set.cap; i++)
		rule += strcmp(spamd_tokset_text(&set, i),
			       "rule:SUBJ_ALL_CAPS") == 0;
	CHECK(rule == 1, "rule hit as a token");
	CHECK(v.nhits == 3, "hits in the verdict");
	spamd_tokset_free(&set);
	spamd_text_free(&t);
	spamd_rules_free((struct spamd_rules *)core.rules);
}

/* Header tokens: Received hosts and IP prefixes without dates and ids,
 * the Message-ID's domain only, the domains of addresses. */
static void test_header_tokens(void)
{
	struct collect c;
	const char *msg = "Received: from mx.relay.test ([192.0.2.77]) by "
			  "in.example.test with ESMTP id g8ABC123 for "
			  "<bob@example.test>; Tue, 8 Oct 2002 10:11:12 +0100\r\n"
			  "Message-ID: <unique1234@mailer.test>\r\n"
			  "From: Carol <carol@free.test>\r\n\r\nbody\r\n";

	tokens_of(msg, &c);
	CHECK(strstr(c.all, "|received:mx.relay.test|") != NULL, "host");
	CHECK(strstr(c.all, "|received:relay.test|") != NULL, "domain");
	CHECK(strstr(c.all, "|received:ip:192|") != NULL, "ip /8");
	CHECK(strstr(c.all, "|received:ip:192.0.2|") != NULL, "ip /24");
	CHECK(strstr(c.all, "192.0.2.77") == NULL, "no full ip");
	CHECK(strstr(c.all, "|received:esmtp|") != NULL, "word kept");
	CHECK(strstr(c.all, "|received:oct|") == NULL, "no month");
	CHECK(strstr(c.all, "|received:tue|") == NULL, "no day");
	CHECK(strstr(c.all, "g8abc123") == NULL, "no queue id");
	CHECK(strstr(c.all, "10:11:12") == NULL, "no time");
	CHECK(strstr(c.all, "|message-id:@mailer.test|") != NULL, "msgid");
	CHECK(strstr(c.all, "unique1234") == NULL, "msgid local part");
	CHECK(strstr(c.all, "|from:carol@free.test|") != NULL, "address");
	CHECK(strstr(c.all, "|from:@free.test|") != NULL, "address domain");
}

struct rcase {
	const char *name, *rules, *err;
};

static const struct rcase rcases[] = {
	{"good", "# c\n\nheader A_B Subject =~ /x y/i 1.5\nbody C /z/ -2\n"
	 "describe C text\n", NULL},
	{"bad regex", "body BAD /(x/ 1\n", ":1: bad regular expression"},
	{"no score", "\nbody NOSCORE /x/\n", ":2: missing or bad score"},
	{"bad name", "body lower /x/ 1\n", ":1: expected"},
	{"bad op", "header X Subject == /x/ 1\n", ":1: expected: header"},
	{"unknown keyword", "meta X A && B\n", ":1: unknown keyword"},
	{"unknown flag", "body X /x/g 1\n", ":1: unknown flag"},
};

static void test_rules(void)
{
	char path[] = "/tmp/spamd_test_rulesXXXXXX", err[512];
	struct spamd_rules *r;
	size_t i;
	FILE *f;
	int fd;

	r = spamd_rules_load(NULL, err, sizeof(err));
	CHECK(r != NULL && spamd_rules_count(r) >= 5, "built-in rules");
	spamd_rules_free(r);
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		fd = mkstemp(path);
		f = fdopen(fd, "w");
		fputs(rcases[i].rules, f);
		fclose(f);
		r = spamd_rules_load(path, err, sizeof(err));
		if (rcases[i].err == NULL)
			CHECK(r != NULL, rcases[i].name);
		else
			CHECK(r == NULL && strstr(err, path) &&
			      strstr(err, rcases[i].err), rcases[i].name);
		spamd_rules_free(r);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
}

static void test_score(void)
{
	struct spamd_core core;
	struct spamd_verdict v;
	char err[256], status[800];
	const char *m = "Subject: LOUD\r\n\r\nbody\r\n";

	memset(&core, 0, sizeof(core));
	core.rules = spamd_rules_load(NULL, err, sizeof(err));
	core.required = 2.0;
	core.scan_size = 65536;
	core.body_size = 1024;
	spamd_verdict_init(&v);
	spamd_verdict_add(&v, "RCVD_IN_X", 0.5);
	CHECK(spamd_score(&core, NULL, m, strlen(m), &v) == 0, "score");
	/* 0.5 + MISSING_DATE 1.0 + MISSING_MID 0.5 + SUBJ_ALL_CAPS 0.8 */
	CHECK(v.score > 2.79 && v.score < 2.81, "sum of hits");
	spamd_status_value(&core, &v, status, sizeof(status));
	CHECK(strcmp(status, "Yes, score=2.8 required=2.0 tests=RCVD_IN_X,"
		     "MISSING_DATE,MISSING_MID,SUBJ_ALL_CAPS") == 0, status);
	spamd_rules_free((struct spamd_rules *)core.rules);
}

static void test_dnsbl(void)
{
	char out[80], err[128];
	struct spamd_dnsbl *bl;

	CHECK(dnsbl_reverse("192.0.2.1", out, sizeof(out)) == 0 &&
	      strcmp(out, "1.2.0.192") == 0, "IPv4");
	CHECK(dnsbl_reverse("2001:db8::1", out, sizeof(out)) == 0 &&
	      strcmp(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		     "8.b.d.0.1.0.0.2") == 0, "IPv6 nibbles");
	CHECK(dnsbl_reverse("::ffff:10.1.2.3", out, sizeof(out)) == 0 &&
	      strcmp(out, "3.2.1.10") == 0, "mapped IPv4");
	CHECK(dnsbl_reverse("nope", out, sizeof(out)) < 0, "bad");
	CHECK(dnsbl_skip("127.0.0.1") && dnsbl_skip("::1") &&
	      dnsbl_skip("") && !dnsbl_skip("192.0.2.1"),
	      "loopback skipped");
	{
		static const struct {
			const char *a;
			int want;
		} answers[] = {
			{"127.0.0.2", 1},	{"127.0.0.10", 1},
			{"127.1.2.3", 1},	{"127.255.255.254", -1},
			{"127.255.255.255", -1}, {"127.255.255.252", -1},
			{"127.255.254.1", 1},	{"10.0.0.1", 0},
			{"128.0.0.1", 0},	{"::ffff:127.0.0.2", 0},
			{"::1", 0},		{"garbage", 0},
		};
		size_t k;

		for (k = 0; k < sizeof(answers) / sizeof(answers[0]); k++)
			CHECK(dnsbl_answer(answers[k].a) ==
			      answers[k].want, answers[k].a);
	}
	bl = spamd_dnsbl_new("zen.test:2.5, b.test", err, sizeof(err));
	CHECK(bl && spamd_dnsbl_count(bl) == 2, "zones");
	spamd_dnsbl_free(bl);
	CHECK(spamd_dnsbl_new("x.test:abc", err, sizeof(err)) == NULL,
	      "bad score");
	CHECK(spamd_dnsbl_new("x;y", err, sizeof(err)) == NULL, "bad zone");
}

static void train_text(struct bayes_writer *w, const char *text, int spam)
{
	struct spamd_text t;
	struct spamd_tokset set;
	char err[128];

	spamd_text_extract(text, strlen(text), 65536, &t);
	spamd_tokset_build(&t, &set);
	bayes_train(w, &set, spam, err, sizeof(err));
	spamd_tokset_free(&set);
	spamd_text_free(&t);
}

static double prob(struct bayes_table *tb, const char *text)
{
	struct spamd_text t;
	struct spamd_tokset set;
	double p;

	spamd_text_extract(text, strlen(text), 65536, &t);
	spamd_tokset_build(&t, &set);
	p = bayes_prob(tb, &set, 5);
	spamd_tokset_free(&set);
	spamd_text_free(&t);
	return p;
}

/* The clues bayes_classify names for text, comma separated. */
static void clues_of(struct bayes_table *tb, const char *text, char *out,
		     size_t outlen)
{
	struct spamd_text t;
	struct spamd_tokset set;
	struct bayes_result r;
	size_t i, n = 0;

	out[0] = '\0';
	spamd_text_extract(text, strlen(text), 65536, &t);
	spamd_tokset_build(&t, &set);
	if (bayes_classify(tb, &set, 5, &r) == 0)
		for (i = 0; i < r.nclues; i++)
			n += (size_t)snprintf(out + n, outlen - n, "%s,",
					      spamd_tokset_text(&set,
								r.slot[i]));
	spamd_tokset_free(&set);
	spamd_text_free(&t);
}

static void test_bayes(void)
{
	char dir[] = "/tmp/spamd_test_bayesXXXXXX", path[256], err[256];
	char clue[256], status[800];
	const char *quoted = "Subject: x\r\n\r\n\"casino winner\"\r\n";
	struct spamd_core core;
	struct spamd_verdict v;
	struct bayes_writer *w;
	struct bayes_table *tb;
	long long ns, nh;
	double p;
	int i;

	CHECK(mkdtemp(dir) != NULL, "tmp dir");
	snprintf(path, sizeof(path), "%s/b.db", dir);
	tb = bayes_load(path, err, sizeof(err));
	CHECK(tb && prob(tb, "\r\ncheap pills") < 0, "untrained: no Bayes");
	bayes_unref(tb);
	w = bayes_train_begin(path, err, sizeof(err));
	for (i = 0; i < 10; i++) {
		train_text(w, "\r\ncheap pills online casino winner", 1);
		train_text(w, "\r\nmeeting agenda minutes project review", 0);
	}
	CHECK(bayes_train_end(w, NULL, err, sizeof(err)) == 0, err);
	tb = bayes_load(path, err, sizeof(err));
	CHECK(tb != NULL, err);
	bayes_counts(tb, &ns, &nh);
	CHECK(ns == 10 && nh == 10, "counts");
	/* ten of each: sure, not certain */
	CHECK(prob(tb, "\r\ncheap casino pills") > 0.95, "spammy");
	CHECK(prob(tb, "\r\nproject meeting minutes") < 0.05, "hammy");
	/* no known word: only what every message has (the intercept),
	 * learnt from as many spam as ham, in the middle */
	p = prob(tb, "\r\nunknown words only");
	CHECK(p > 0.2 && p < 0.8, "no clues");
	CHECK(bayes_prob(tb, &(struct spamd_tokset){0}, 11) < 0,
	      "min count");
	/* the tokens named are those that weighed toward the verdict */
	clues_of(tb, "\r\ncheap casino meeting", clue, sizeof(clue));
	CHECK(strstr(clue, "cheap") && strstr(clue, "casino") &&
	      !strstr(clue, "meeting"), clue);
	clues_of(tb, "\r\nproject meeting pills", clue, sizeof(clue));
	CHECK(strstr(clue, "project") && !strstr(clue, "pills"), clue);
	/* ... and in X-Spam-Status, header-safe */
	memset(&core, 0, sizeof(core));
	core.required = 5.0;
	core.scan_size = 65536;
	core.body_size = 1024;
	core.bayes_min = 5;
	spamd_verdict_init(&v);
	CHECK(spamd_score(&core, tb, quoted, strlen(quoted), &v) == 0,
	      "score");
	spamd_status_value(&core, &v, status, sizeof(status));
	CHECK(strstr(status, "BAYES_9") && strstr(status, " tokens=") &&
	      strchr(strstr(status, " tokens=") + 1, ' ') == NULL &&
	      strchr(status, '"') == NULL, status);
	CHECK(strstr(status, "casino_winner") != NULL, status);
	/* a second batch goes on from the weights in the file */
	w = bayes_train_begin(path, err, sizeof(err));
	for (i = 0; i < 10; i++)
		train_text(w, "\r\nbrand new lottery", 1);
	CHECK(bayes_train_end(w, NULL, err, sizeof(err)) == 0, err);
	bayes_unref(tb);
	tb = bayes_load(path, err, sizeof(err));
	bayes_counts(tb, &ns, &nh);
	CHECK(ns == 20 && nh == 10, "counts added");
	CHECK(prob(tb, "\r\nlottery") > 0.9, "new batch learnt");
	/* spam only, the intercept moved toward spam; still ham */
	CHECK(prob(tb, "\r\nproject meeting minutes") < 0.5, "old kept");
	bayes_unref(tb);
	unlink(path);
	rmdir(dir);
}

struct lcase {
	const char *re;
	size_t n;		/* strings; 0: none, the rule always runs */
	const char *has;	/* one of them */
};

static const struct lcase lcases[] = {
	{"(act now|Order Now)", 2, "order now"},
	{"remove[sd]? me", 3, "removed me"},
	{"[0-9,.]+ ?(million|billion) (us )?(dollars|usd)", 16,
	 "billion us dollars"},
	{"(to be removed from|removed? from (our|this|the) (mailing |e-?mail"
	 " )?list)", 7, "remove from this "},
	{"x*free+ gift", 1, " gift"},
	{"you (are|were)\\.? here", 4, "you were. here"},
	{"^subject$", 1, "subject"},
	{"a{0,3}bcd", 1, "bcd"},
	{"ab{2,}c", 0, NULL},
	{".*", 0, NULL},
	{"a|bb", 0, NULL},
	{"[a-z]{5}", 0, NULL},
	{"(x|[a-z]+)yz", 0, NULL},
	{"(spam|\\w+) offer", 1, " offer"},
	{"free) offer", 0, NULL},
};

/* The literals of body rules: a necessary condition, in one pass. */
static void test_literals(void)
{
	char lits[SPAMD_LIT_N][SPAMD_LIT_LEN + 1];
	char path[] = "/tmp/spamd_test_litXXXXXX", err[256];
	struct spamd_rules *r;
	struct spamd_text t;
	struct spamd_verdict v;
	size_t i, j, n;
	int found, fd;
	FILE *f;

	for (i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
		n = spamd_literals(lcases[i].re, lits);
		CHECK(n == lcases[i].n, lcases[i].re);
		for (j = 0, found = 0; j < n; j++)
			found |= strcmp(lits[j], lcases[i].has) == 0;
		CHECK(n == 0 || found, lcases[i].has);
	}
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("body ICASE /Act NOW/i 1\nbody CASE /Act now/ 1\n"
	      "body ANY /[0-9]{3}/ 1\nbody NONE /never here/i 1\n", f);
	fclose(f);
	r = spamd_rules_load(path, err, sizeof(err));
	CHECK(r != NULL, err);
	spamd_text_extract("\r\nplease ACT now 123\r\n", 22, 65536, &t);
	spamd_verdict_init(&v);
	spamd_rules_run(r, &t, 1024, &v);
	for (i = 0, found = 0; i < v.nhits; i++)
		found |= (strcmp(v.hits[i].name, "ICASE") == 0) |
			 (strcmp(v.hits[i].name, "ANY") == 0) << 1 |
			 (strcmp(v.hits[i].name, "CASE") == 0) << 2 |
			 (strcmp(v.hits[i].name, "NONE") == 0) << 3;
	CHECK(found == 3, "prefiltered rules hit as their expressions do");
	spamd_text_free(&t);
	spamd_rules_free(r);
	unlink(path);
}

/* admin_notify's default and who counts as our own user. */
static void test_user_spam(void)
{
	static const struct {
		const char *conf, *routes, *want;
	} c[] = {
		{"sec@example.test", "", "sec@example.test"},
		{"", "example.test = lmtp:127.0.0.1:2424",
		 "postmaster@example.test"},
		{"", " a.test=lmtp:h:1, b.test = lmtp:h:2", "postmaster@a.test"},
		{"", "", NULL},
		{NULL, "=lmtp:h:1", NULL},
	};
	struct envelope e;
	char *got;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		got = spamd_admin_default(c[i].conf, c[i].routes);
		CHECK(c[i].want ? got && strcmp(got, c[i].want) == 0
				: got == NULL, c[i].routes);
		free(got);
	}
	memset(&e, 0, sizeof(e));
	CHECK(!spamd_is_user_mail(&e), "no claims");
	e.entered_by = "msa";
	CHECK(!spamd_is_user_mail(&e), "msa without AUTH");
	e.auth_user = "alice@example.test";
	CHECK(spamd_is_user_mail(&e), "msa with AUTH");
	e.entered_by = "mx";
	CHECK(!spamd_is_user_mail(&e), "mx with AUTH (a relay client)");
}

int main(void)
{
	test_user_spam();
	test_extract();
	test_limits();
	test_tokens();
	test_rules();
	test_score();
	test_dnsbl();
	test_header_tokens();
	test_shape_tokens();
	test_header_shapes();
	test_features();
	test_literals();
	test_bayes();
	return test_done();
}
