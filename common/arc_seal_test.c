/*
 * NAME
 *	arc_seal_test - sets sealed by arc_seal.c verify with arc_verify.c
 * DESCRIPTION
 *	One hop, two hops, a second hop that changed the message after
 *	checking it (header.oldest-pass 2), a chain marked failed and a full
 *	chain (not sealed again). The independent check (python3-dkim) is in
 *	tests/test_arc_seal.py.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arc_seal.h"
#include "sbuf.h"
#include "test.h"
#include "tls.h"

static const char base_msg[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n";

static struct dkim_signer key;
static struct sbuf rec;	/* the key record */

/* Check msg's chain with the one key; the result, oldest into *op. */
static enum arc_result check(const struct sbuf *msg, int *op, int *n)
{
	struct arc_chain c;
	size_t hl = arc_header_len(msg->data, msg->len), i;
	enum arc_result r;

	arc_verify_prepare(&c, msg->data, hl, msg->len, time(NULL));
	for (i = 0; i < c.nsig; i++)
		if (c.sigs[i].need_key)
			arc_verify_key(&c, i, msg->data, hl, rec.data, rec.len);
	r = arc_verify_result(&c);
	*op = c.oldest_pass;
	*n = c.n;
	arc_chain_free(&c);
	return r;
}

/* Seal msg in place (the new set on top); arc_seal's return. */
static int seal(struct sbuf *msg)
{
	struct arc_chain c;
	struct sbuf out;
	size_t hl = arc_header_len(msg->data, msg->len), i;
	int rc;

	arc_verify_prepare(&c, msg->data, hl, msg->len, time(NULL));
	for (i = 0; i < c.nsig; i++)
		if (c.sigs[i].need_key)
			arc_verify_key(&c, i, msg->data, hl, rec.data, rec.len);
	arc_verify_result(&c);
	sbuf_init(&out, 1 << 20);
	rc = arc_seal(&key, "hop.test", "", &c, c.result, msg->data, hl,
		      msg->len, time(NULL), &out);
	arc_chain_free(&c);
	if (rc > 0) {
		sbuf_append(&out, msg->data, msg->len);
		sbuf_free(msg);
		*msg = out;
	} else {
		sbuf_free(&out);
	}
	return rc;
}

static void replace(struct sbuf *m, const char *find, const char *repl)
{
	char *at = memmem(m->data, m->len, find, strlen(find));
	struct sbuf t;

	sbuf_init(&t, 1 << 20);
	sbuf_append(&t, m->data, (size_t)(at - m->data));
	sbuf_puts(&t, repl);
	sbuf_append(&t, at + strlen(find), m->len - (size_t)(at - m->data) -
		    strlen(find));
	sbuf_free(m);
	*m = t;
}

static void test_hops(void)
{
	struct sbuf m, m2;
	int op, n;

	sbuf_init(&m, 1 << 20);
	sbuf_append(&m, base_msg, sizeof(base_msg) - 1);
	CHECK(check(&m, &op, &n) == ARC_NONE, "no chain yet");
	CHECK(seal(&m) == 1, "first set");
	CHECK(strstr(m.data, "ARC-Seal: i=1; a=rsa-sha256; cv=none;") != NULL,
	      "i=1 cv=none");
	CHECK(check(&m, &op, &n) == ARC_PASS && n == 1 && op == 0,
	      "one hop passes, oldest-pass 0");
	sbuf_init(&m2, 1 << 20);
	sbuf_append(&m2, m.data, m.len);
	CHECK(seal(&m) == 1, "second set");
	CHECK(strstr(m.data, "ARC-Seal: i=2; a=rsa-sha256; cv=pass;") != NULL,
	      "i=2 cv=pass");
	CHECK(check(&m, &op, &n) == ARC_PASS && n == 2 && op == 0,
	      "two hops pass, oldest-pass 0");
	/* hop 2 checked the chain (pass), then tagged the Subject and
	 * sealed: only its own signature still holds */
	{
		struct arc_chain c;
		struct sbuf out;
		size_t hl, i;

		arc_verify_prepare(&c, m2.data, arc_header_len(m2.data,
							       m2.len),
				   m2.len, time(NULL));
		for (i = 0; i < c.nsig; i++)
			arc_verify_key(&c, i, m2.data, arc_header_len(
					       m2.data, m2.len), rec.data,
				       rec.len);
		CHECK(arc_verify_result(&c) == ARC_PASS, "hop 2 checks");
		replace(&m2, "Subject: Is", "Subject: [list] Is");
		arc_chain_free(&c);
		hl = arc_header_len(m2.data, m2.len);
		arc_verify_prepare(&c, m2.data, hl, m2.len, time(NULL));
		sbuf_init(&out, 1 << 20);
		CHECK(arc_seal(&key, "hop.test", "", &c, ARC_PASS, m2.data, hl,
			       m2.len, time(NULL), &out) == 1, "sealed");
		sbuf_append(&out, m2.data, m2.len);
		sbuf_free(&m2);
		m2 = out;
		arc_chain_free(&c);
	}
	CHECK(check(&m2, &op, &n) == ARC_PASS && n == 2 && op == 2,
	      "oldest-pass 2");
	/* the body changed after hop 1: hop 2 seals cv=fail, and a chain
	 * marked failed gets no more sets */
	replace(&m, "hungry", "angry!");
	CHECK(check(&m, &op, &n) == ARC_FAIL, "tampered chain fails");
	CHECK(seal(&m) == 1 &&
	      strstr(m.data, "ARC-Seal: i=3; a=rsa-sha256; cv=fail;") != NULL,
	      "sealed cv=fail");
	CHECK(seal(&m) == 0, "not sealed past a cv=fail");
	sbuf_free(&m);
	sbuf_free(&m2);
}

static void test_limit(void)
{
	struct sbuf m;
	int i, op, n;

	sbuf_init(&m, 1 << 22);
	sbuf_append(&m, base_msg, sizeof(base_msg) - 1);
	for (i = 0; i < LIM_ARC_INSTANCE_MAX; i++)
		if (seal(&m) != 1)
			break;
	CHECK(i == LIM_ARC_INSTANCE_MAX, "50 sets");
	CHECK(check(&m, &op, &n) == ARC_PASS && n == 50, "50 sets pass");
	CHECK(seal(&m) == 0, "no set 51");
	sbuf_free(&m);
}

int main(void)
{
	char path[64], err[256];

	snprintf(path, sizeof(path), "/tmp/arcseal-test-%ld.pem",
		 (long)getpid());
	unlink(path);
	sbuf_init(&rec, 8192);
	CHECK(tls_key_generate(TLS_KEY_RSA, path, &rec, err, sizeof(err)) ==
	      0, "key");
	key.key = tls_key_load(path, err, sizeof(err));
	unlink(path);
	CHECK(key.key != NULL, "key loaded");
	snprintf(key.domain, sizeof(key.domain), "hop.test");
	snprintf(key.selector, sizeof(key.selector), "s1");
	/* tls_key_generate gives the p= value: make it a record */
	{
		struct sbuf r;

		sbuf_init(&r, 8192);
		sbuf_printf(&r, "v=DKIM1; k=rsa; p=%.*s", (int)rec.len,
			    rec.data);
		sbuf_free(&rec);
		rec = r;
	}
	test_hops();
	test_limit();
	tls_key_free(key.key);
	sbuf_free(&rec);
	return test_done();
}
