/*
 * NAME
 *	dkim_verify_test - table tests of DKIM verification
 * DESCRIPTION
 *	Tag lists (RFC 6376 3.2), then messages signed by dkim.c with fresh
 *	RSA and Ed25519 keys: they verify, and every kind of tampering (body,
 *	signed header, added From, wrong key, revoked key, expired) fails
 *	with its own result. The end-to-end test signs with an independent
 *	signer (tests/test_mx_auth.py, python3-dkim).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim.h"
#include "dkim_verify.h"
#include "sbuf.h"
#include "test.h"
#include "tls.h"

static void test_tags(void)
{
	static const struct {
		const char *in;
		int n;
	} t[] = {
		{"v=1; a=rsa-sha256", 2},
		{" v = 1 ;a=x;", 2},
		{"v=1; v=2", -1},
		{"=x", -1},
		{"v", -1},
		{"1a=b", -1},
		{"", 0},
		{"p=AB\r\n\tCD ;k=rsa", 2},
	};
	struct dkim_tag tags[DKIM_MAX_TAGS];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(dkim_tags_parse(t[i].in, strlen(t[i].in), tags,
				      DKIM_MAX_TAGS) == t[i].n, t[i].in);
	dkim_tags_parse(" v = 1 ;a=x y ;", 15, tags, DKIM_MAX_TAGS);
	CHECK(tags[1].vlen == 3 && memcmp(tags[1].v, "x y", 3) == 0,
	      "value trimmed");
}

static const char body_msg[] =
	"From: Joe <joe@football.example.com>\r\n"
	"To: Suzie <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

/* Sign body_msg with a new key of type; edit() may change the signed
 * message; verify with the key record (or bad_key); return the result. */
static int roundtrip(enum tls_key_type type, const char *find,
		     const char *repl, const char *key_override)
{
	char path[64], err[256];
	struct dkim_signer sg;
	struct sbuf pub, msg, txt;
	struct dkim_sig sigs[DKIM_MAX_SIGS];
	const char *hend;
	size_t n, hlen;
	int r;

	snprintf(path, sizeof(path), "/tmp/dkimv-test-%ld.pem",
		 (long)getpid());
	unlink(path);
	sbuf_init(&pub, 4096);
	sbuf_init(&msg, 65536);
	sbuf_init(&txt, 8192);
	if (tls_key_generate(type, path, &pub, err, sizeof(err)) < 0)
		return -100;
	sg.key = tls_key_load(path, err, sizeof(err));
	unlink(path);
	snprintf(sg.domain, sizeof(sg.domain), "football.example.com");
	snprintf(sg.selector, sizeof(sg.selector), "brisbane");
	dkim_sign(&sg, body_msg, sizeof(body_msg) - 1, time(NULL), &msg);
	sbuf_append(&msg, body_msg, sizeof(body_msg) - 1);
	tls_key_free(sg.key);
	if (find) {	/* tamper: replace the first find with repl */
		char *at = memmem(msg.data, msg.len, find, strlen(find));
		struct sbuf t2;

		sbuf_init(&t2, 65536);
		sbuf_append(&t2, msg.data, (size_t)(at - msg.data));
		sbuf_puts(&t2, repl);
		sbuf_append(&t2, at + strlen(find), msg.len - (size_t)(at -
						msg.data) - strlen(find));
		sbuf_free(&msg);
		msg = t2;
	}
	hend = memmem(msg.data, msg.len, "\r\n\r\n", 4);
	hlen = (size_t)(hend - msg.data) + 4;
	n = dkim_verify_prepare(msg.data, hlen, msg.len, time(NULL), sigs,
				DKIM_MAX_SIGS);
	if (n != 1) {
		r = -1;
	} else if (!sigs[0].need_key) {
		r = (int)sigs[0].result;
	} else {
		if (key_override)
			sbuf_puts(&txt, key_override);
		else
			sbuf_printf(&txt, "v=DKIM1; k=%s; p=%.*s", type ==
				    TLS_KEY_ED25519 ? "ed25519" : "rsa",
				    (int)pub.len, pub.data);
		dkim_verify_key(&sigs[0], msg.data, hlen, txt.data, txt.len);
		r = (int)sigs[0].result;
	}
	sbuf_free(&pub);
	sbuf_free(&msg);
	sbuf_free(&txt);
	return r;
}

static void test_roundtrip(void)
{
	enum tls_key_type k[2] = {TLS_KEY_RSA, TLS_KEY_ED25519};
	size_t i;

	for (i = 0; i < 2; i++) {
		CHECK(roundtrip(k[i], NULL, NULL, NULL) == DKIM_PASS,
		      "signed by dkim.c: pass");
		CHECK(roundtrip(k[i], "hungry", "angry!", NULL) == DKIM_FAIL,
		      "body changed");
		CHECK(roundtrip(k[i], "dinner", "lunch!", NULL) == DKIM_FAIL,
		      "subject changed");
		CHECK(roundtrip(k[i], "From: Joe", "From: Bob\r\nFrom: Joe",
				NULL) == DKIM_FAIL, "From added");
		CHECK(roundtrip(k[i], "Hi.\r\n", "Hi.   \r\n", NULL) ==
		      DKIM_PASS, "relaxed body: trailing spaces");
		CHECK(roundtrip(k[i], "Subject: Is", "subject:   Is", NULL) ==
		      DKIM_PASS, "relaxed header: case and spaces");
		CHECK(roundtrip(k[i], NULL, NULL, "v=DKIM1; p=") ==
		      DKIM_PERMERROR, "revoked key");
		CHECK(roundtrip(k[i], NULL, NULL, "v=DKIM1; k=rsa; p=MFkw") ==
		      DKIM_PERMERROR, "garbage key");
		CHECK(roundtrip(k[i], NULL, NULL, "v=DKIM2; p=AAAA") ==
		      DKIM_PERMERROR, "bad key version");
		CHECK(roundtrip(k[i], "v=1;", "v=1; x=1000;", NULL) ==
		      DKIM_PERMERROR, "expired");
		CHECK(roundtrip(k[i], "v=1;", "v=1; l=5;", NULL) ==
		      DKIM_FAIL, "l= not signed: hash differs");
		CHECK(roundtrip(k[i], "d=football", "i=@other.test; d=football",
				NULL) == DKIM_PERMERROR, "i= outside d=");
		CHECK(roundtrip(k[i], "a=", "a=rsa-sha1; z=", NULL) ==
		      DKIM_PERMERROR, "rsa-sha1 refused");
	}
	/* a key of the other type does not verify */
	CHECK(roundtrip(TLS_KEY_RSA, NULL, NULL, "v=DKIM1; k=ed25519; "
			"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=") ==
	      DKIM_PERMERROR, "k= differs from a=");
}

static void test_no_sig(void)
{
	struct dkim_sig sigs[DKIM_MAX_SIGS];
	const char *m = "DKIM-Signature: v=1; a=rsa-sha256\r\n"
			"From: a@b.test\r\n\r\nx\r\n";
	size_t hl = strstr(m, "\r\n\r\n") - m + 4;

	CHECK(dkim_verify_prepare(body_msg, 200, sizeof(body_msg) - 1, 0,
				  sigs, DKIM_MAX_SIGS) == 0, "unsigned");
	CHECK(dkim_verify_prepare(m, hl, strlen(m), 0, sigs, DKIM_MAX_SIGS)
	      == 1 && sigs[0].result == DKIM_PERMERROR && !sigs[0].need_key,
	      "missing tags");
}

int main(void)
{
	test_tags();
	test_roundtrip();
	test_no_sig();
	return test_done();
}
