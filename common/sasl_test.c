/*
 * NAME
 *	sasl_test - real SASL exchanges through Cyrus against a credentials
 *	snapshot written with the crypto helpers
 * DESCRIPTION
 *	PLAIN, LOGIN and SCRAM-SHA-256 (the client proof computed here with
 *	HMAC and PBKDF2, RFC 5802), good and bad passwords, disabled and
 *	expired users, malformed Base64, cancel, unknown mechanisms, the
 *	clear-password check, and a reload of the file. Also the parser of
 *	credentials lines, table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "sasl.h"
#include "sbuf.h"
#include "test.h"
#include "tls.h"

static char path[256];

struct user {
	const char *addr, *pw;
	long long expires; /* relative to now; 0 never */
	int enabled, scram;
};

static const struct user users[] = {
	{"alice@example.test", "alice-secret", 0, 1, 1},
	{"bob@example.test", "bob pass", 0, 1, 1},
	{"carol@example.test", "carol-secret", 0, 0, 1},	  /* disabled */
	{"old@example.test", "old-secret", -3600, 1, 1},	  /* expired */
	{"later@example.test", "later-secret", 86400, 1, 1}, /* not yet */
	{"legacy@example.test", "legacy-secret", 0, 1, 0},   /* no SCRAM */
};

static void write_creds(const char *alice_pw)
{
	char tmp[300];
	FILE *f;
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		abort();
	fprintf(f, "# test credentials\n");
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		const struct user *u = &users[i];
		const char *pw = i == 0 ? alice_pw : u->pw;
		struct sbuf h, s;

		sbuf_init(&h, 512);
		sbuf_init(&s, 512);
		if (tls_password_hash(pw, &h) < 0 ||
		    (u->scram && tls_scram_secret(pw, &s) < 0))
			abort();
		fprintf(f, "%s %s %s %lld %d\n", u->addr, h.data,
			u->scram ? s.data : "-",
			u->expires ? (long long)time(NULL) + u->expires : 0,
			u->enabled);
		sbuf_free(&h);
		sbuf_free(&s);
	}
	fclose(f);
	if (rename(tmp, path) < 0)
		abort();
}

static char *b64(const void *p, size_t n)
{
	struct sbuf b;

	sbuf_init(&b, 4096);
	tls_base64(p, n, &b);
	return sbuf_steal(&b);
}

static enum sasl_res plain(struct sasl_srv *s, const char *authz,
			   const char *user, const char *pw)
{
	char raw[600];
	int n = snprintf(raw, sizeof(raw), "%s%c%s%c%s", authz, 0, user, 0,
			 pw);
	char *in = b64(raw, (size_t)n);
	struct sbuf chal;
	enum sasl_res r;

	sbuf_init(&chal, 4096);
	r = sasl_srv_start(s, "PLAIN", in, &chal);
	free(in);
	sbuf_free(&chal);
	return r;
}

struct plain_case {
	const char *name, *authz, *user, *pw;
	enum sasl_res want;
	const char *who;
};

static const struct plain_case plain_cases[] = {
	{"good", "", "alice@example.test", "alice-secret", SASL_RES_OK,
	 "alice@example.test"},
	{"upper-case user", "", "Alice@Example.TEST", "alice-secret",
	 SASL_RES_OK, "alice@example.test"},
	{"space in password", "", "bob@example.test", "bob pass",
	 SASL_RES_OK, "bob@example.test"},
	{"authzid = authcid", "bob@example.test", "bob@example.test",
	 "bob pass", SASL_RES_OK, "bob@example.test"},
	{"wrong password", "", "alice@example.test", "alice-secreT",
	 SASL_RES_FAIL, NULL},
	{"unknown user", "", "nobody@example.test", "alice-secret",
	 SASL_RES_FAIL, NULL},
	{"disabled", "", "carol@example.test", "carol-secret",
	 SASL_RES_FAIL, NULL},
	{"expired", "", "old@example.test", "old-secret", SASL_RES_FAIL,
	 NULL},
	{"expires later", "", "later@example.test", "later-secret",
	 SASL_RES_OK, "later@example.test"},
	{"no SCRAM secret", "", "legacy@example.test", "legacy-secret",
	 SASL_RES_OK, "legacy@example.test"},
	{"other authzid", "alice@example.test", "bob@example.test",
	 "bob pass", SASL_RES_FAIL, NULL},
	{"empty password", "", "alice@example.test", "", SASL_RES_FAIL,
	 NULL},
};

static void test_plain(void)
{
	struct sasl_srv *s = sasl_srv_new("imap", "127.0.0.1;143",
					  "127.0.0.1;5555", 1);
	size_t i;

	CHECK(s != NULL, "sasl_srv_new");
	if (s == NULL)
		return;
	for (i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		const struct plain_case *c = &plain_cases[i];
		enum sasl_res r = plain(s, c->authz, c->user, c->pw);

		CHECK(r == c->want, c->name);
		CHECK(sasl_srv_tried_user(s) &&
		      !strcasecmp(sasl_srv_tried_user(s), c->user),
		      "the name tried is known");
		if (c->who)
			CHECK(sasl_srv_user(s) &&
			      !strcmp(sasl_srv_user(s), c->who), c->name);
		else
			CHECK(sasl_srv_user(s) == NULL, c->name);
	}
	sasl_srv_free(&s);
	CHECK(s == NULL, "free clears");
}

struct proto_case {
	const char *name, *mech, *initial;
	const char *steps[3]; /* responses; NULL ends */
	enum sasl_res want;
};

static const struct proto_case proto_cases[] = {
	{"bad base64 initial", "PLAIN", "AGFsaWNl!!", {NULL}, SASL_RES_BADPROT},
	{"base64 with space", "PLAIN", "AGFs aWNl", {NULL}, SASL_RES_BADPROT},
	{"base64 bad padding", "PLAIN", "AGFsa=Nl", {NULL}, SASL_RES_BADPROT},
	{"unknown mechanism", "FOO-BAR", NULL, {NULL}, SASL_RES_BADPROT},
	{"mechanism not offered", "CRAM-MD5", NULL, {NULL}, SASL_RES_BADPROT},
	{"mechanism garbage", "PL\nAIN", NULL, {NULL}, SASL_RES_BADPROT},
	{"empty mechanism", "", NULL, {NULL}, SASL_RES_BADPROT},
	{"cancel", "PLAIN", NULL, {"*"}, SASL_RES_BADPROT},
	{"login cancel", "LOGIN", NULL, {"YWxpY2VAZXhhbXBsZS50ZXN0", "*"},
	 SASL_RES_BADPROT},
	{"bad base64 step", "LOGIN", NULL, {"%%%%"}, SASL_RES_BADPROT},
	/* "\0alice@example.test\0alice-secret" without an initial response */
	{"plain in a step", "PLAIN", NULL,
	 {"AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1zZWNyZXQ="}, SASL_RES_OK},
	{"login good", "LOGIN", NULL,
	 {"YWxpY2VAZXhhbXBsZS50ZXN0", "YWxpY2Utc2VjcmV0"}, SASL_RES_OK},
	{"login bad", "LOGIN", NULL,
	 {"YWxpY2VAZXhhbXBsZS50ZXN0", "YWxpY2Utc2VjcmVU"}, SASL_RES_FAIL},
	{"login disabled", "LOGIN", NULL,
	 {"Y2Fyb2xAZXhhbXBsZS50ZXN0", "Y2Fyb2wtc2VjcmV0"}, SASL_RES_FAIL},
	{"scram garbage", "SCRAM-SHA-256", "eCx5LHo=", {NULL},
	 SASL_RES_BADPROT},
	{"plain empty initial", "PLAIN", "=", {NULL}, SASL_RES_BADPROT},
};

static void test_protocol(void)
{
	struct sasl_srv *s = sasl_srv_new("smtp", NULL, NULL, 1);
	struct sbuf chal;
	size_t i, k;

	CHECK(s != NULL, "sasl_srv_new");
	if (s == NULL)
		return;
	sbuf_init(&chal, 4096);
	for (i = 0; i < sizeof(proto_cases) / sizeof(proto_cases[0]); i++) {
		const struct proto_case *c = &proto_cases[i];
		enum sasl_res r;

		sbuf_reset(&chal);
		r = sasl_srv_start(s, c->mech, c->initial, &chal);
		for (k = 0; r == SASL_RES_CONTINUE && k < 3 && c->steps[k];
		     k++) {
			sbuf_reset(&chal);
			r = sasl_srv_step(s, c->steps[k], &chal);
		}
		CHECK(r == c->want, c->name);
	}
	/* a step with no exchange under way */
	CHECK(sasl_srv_step(s, "", &chal) == SASL_RES_BADPROT, "step alone");
	/* LOGIN asks for the user name first */
	sbuf_reset(&chal);
	CHECK(sasl_srv_start(s, "LOGIN", NULL, &chal) == SASL_RES_CONTINUE,
	      "login start");
	CHECK(!strcmp(chal.data ? chal.data : "", "VXNlcm5hbWU6"),
	      "login asks Username:");
	sbuf_free(&chal);
	sasl_srv_free(&s);
}

static void xor32(unsigned char *a, const unsigned char *b)
{
	int i;

	for (i = 0; i < 32; i++)
		a[i] ^= b[i];
}

/* A SCRAM-SHA-256 client (RFC 5802 section 3); tamper: send a wrong
 * proof. Returns the final result; *verified: server signature ok. */
static enum sasl_res scram(struct sasl_srv *s, const char *user,
			   const char *pw, int tamper, int *verified)
{
	char first[400], final[800], auth[2000], *in;
	const char *nonce = "fyko+d2lbbFgONRv9qkxdawL", *sn, *salt64, *it;
	unsigned char salted[32], ckey[32], stored[32], sig[32], skey[32];
	struct sbuf chal, dec, salt;
	enum sasl_res r;

	*verified = 0;
	sbuf_init(&chal, 4096);
	sbuf_init(&dec, 4096);
	sbuf_init(&salt, 256);
	snprintf(first, sizeof(first), "n,,n=%s,r=%s", user, nonce);
	in = b64(first, strlen(first));
	r = sasl_srv_start(s, "SCRAM-SHA-256", in, &chal);
	free(in);
	if (r != SASL_RES_CONTINUE)
		goto done;
	/* server-first-message: r=NONCE,s=SALT,i=ITER */
	if (tls_unbase64(chal.data, chal.len, &dec) < 0 ||
	    strncmp(dec.data, "r=", 2) != 0 ||
	    strncmp(dec.data + 2, nonce, strlen(nonce)) != 0) {
		r = SASL_RES_TEMP;
		goto done;
	}
	sn = dec.data + 2;
	salt64 = strstr(dec.data, ",s=");
	it = strstr(dec.data, ",i=");
	if (salt64 == NULL || it == NULL ||
	    tls_unbase64(salt64 + 3, (size_t)(it - salt64 - 3), &salt) < 0 ||
	    tls_pbkdf2_sha256(pw, strlen(pw), salt.data, salt.len,
			      (unsigned)atoi(it + 3), salted) < 0) {
		r = SASL_RES_TEMP;
		goto done;
	}
	snprintf(final, sizeof(final), "c=biws,r=%.*s",
		 (int)strcspn(sn, ","), sn);
	snprintf(auth, sizeof(auth), "%s,%s,%s", first + 3, dec.data, final);
	tls_hmac_sha256(salted, 32, "Client Key", 10, ckey);
	tls_sha256(ckey, 32, stored);
	tls_hmac_sha256(stored, 32, auth, strlen(auth), sig);
	xor32(ckey, sig); /* ClientProof */
	if (tamper)
		ckey[0] ^= 1;
	in = b64(ckey, 32);
	snprintf(final + strlen(final), sizeof(final) - strlen(final),
		 ",p=%s", in);
	free(in);
	in = b64(final, strlen(final));
	sbuf_reset(&chal);
	r = sasl_srv_step(s, in, &chal);
	free(in);
	if (r == SASL_RES_CONTINUE) {
		/* server-final-message v=SIG, then an empty response */
		char want[100];

		tls_hmac_sha256(salted, 32, "Server Key", 10, skey);
		tls_hmac_sha256(skey, 32, auth, strlen(auth), sig);
		in = b64(sig, 32);
		snprintf(want, sizeof(want), "v=%s", in);
		free(in);
		sbuf_reset(&dec);
		*verified = tls_unbase64(chal.data, chal.len, &dec) == 0 &&
			    !strcmp(dec.data, want);
		sbuf_reset(&chal);
		r = sasl_srv_step(s, "", &chal);
	}
done:
	sbuf_free(&chal);
	sbuf_free(&dec);
	sbuf_free(&salt);
	return r;
}

struct scram_case {
	const char *name, *user, *pw;
	int tamper;
	enum sasl_res want;
};

static const struct scram_case scram_cases[] = {
	{"scram good", "alice@example.test", "alice-secret", 0, SASL_RES_OK},
	{"scram good bob", "bob@example.test", "bob pass", 0, SASL_RES_OK},
	{"scram wrong password", "alice@example.test", "nope", 0,
	 SASL_RES_FAIL},
	{"scram tampered proof", "alice@example.test", "alice-secret", 1,
	 SASL_RES_FAIL},
	{"scram disabled", "carol@example.test", "carol-secret", 0,
	 SASL_RES_FAIL},
	{"scram expired", "old@example.test", "old-secret", 0, SASL_RES_FAIL},
	{"scram unknown", "nobody@example.test", "x", 0, SASL_RES_FAIL},
	{"scram without secret", "legacy@example.test", "legacy-secret", 0,
	 SASL_RES_FAIL},
};

/* Unknown users get a challenge too, with the same salt every time, so
 * SCRAM does not tell who exists. */
static void test_scram_no_enumeration(void)
{
	struct sasl_srv *s = sasl_srv_new("imap", NULL, NULL, 1);
	const char *first = "n,,n=nobody@example.test,r=abcdefghijklmnop";
	char *in = b64(first, strlen(first)), salt[2][200];
	struct sbuf chal, dec;
	int i;

	sbuf_init(&chal, 4096);
	sbuf_init(&dec, 4096);
	for (i = 0; i < 2 && s; i++) {
		sbuf_reset(&chal);
		sbuf_reset(&dec);
		CHECK(sasl_srv_start(s, "SCRAM-SHA-256", in, &chal) ==
			      SASL_RES_CONTINUE,
		      "unknown user gets a challenge");
		salt[i][0] = '\0';
		if (tls_unbase64(chal.data ? chal.data : "", chal.len, &dec) ==
			    0 &&
		    dec.data && strstr(dec.data, ",s="))
			snprintf(salt[i], sizeof(salt[i]), "%s",
				 strstr(dec.data, ",s="));
		CHECK(salt[i][0] != '\0', "a salt");
	}
	CHECK(s && !strcmp(salt[0], salt[1]), "stable salt");
	free(in);
	sbuf_free(&chal);
	sbuf_free(&dec);
	sasl_srv_free(&s);
}

static void test_scram(void)
{
	struct sasl_srv *s = sasl_srv_new("pop", NULL, NULL, 0);
	size_t i;
	int v;

	CHECK(s != NULL, "sasl_srv_new");
	if (s == NULL)
		return;
	for (i = 0; i < sizeof(scram_cases) / sizeof(scram_cases[0]); i++) {
		const struct scram_case *c = &scram_cases[i];
		enum sasl_res r = scram(s, c->user, c->pw, c->tamper, &v);

		CHECK(r == c->want, c->name);
		CHECK(sasl_srv_tried_user(s) &&
		      !strcmp(sasl_srv_tried_user(s), c->user),
		      "scram: the name tried is known");
		if (c->want == SASL_RES_OK) {
			CHECK(v, "server signature verifies");
			CHECK(sasl_srv_user(s) &&
			      !strcmp(sasl_srv_user(s), c->user), c->name);
		}
	}
	sasl_srv_free(&s);
}

static void test_mechs_and_plain_check(void)
{
	struct sasl_srv *clear = sasl_srv_new("imap", NULL, NULL, 0);
	struct sasl_srv *tls = sasl_srv_new("imap", NULL, NULL, 1);
	struct sbuf chal;

	CHECK(clear && tls, "two sessions");
	if (!clear || !tls)
		return;
	CHECK(!strcmp(sasl_srv_mechs(tls), "SCRAM-SHA-256 LOGIN PLAIN") ||
	      (strstr(sasl_srv_mechs(tls), "PLAIN") &&
	       strstr(sasl_srv_mechs(tls), "LOGIN") &&
	       strstr(sasl_srv_mechs(tls), "SCRAM-SHA-256")),
	      "TLS offers PLAIN LOGIN SCRAM-SHA-256");
	CHECK(strstr(sasl_srv_mechs(tls), "DIGEST") == NULL &&
	      strstr(sasl_srv_mechs(tls), "SCRAM-SHA-1") == NULL &&
	      strstr(sasl_srv_mechs(tls), "ANONYMOUS") == NULL,
	      "nothing else offered");
	CHECK(strstr(sasl_srv_mechs(clear), "PLAIN") == NULL &&
	      strstr(sasl_srv_mechs(clear), "LOGIN") == NULL &&
	      strstr(sasl_srv_mechs(clear), "SCRAM-SHA-256") != NULL,
	      "no clear-password mechanism without TLS");
	sbuf_init(&chal, 100);
	CHECK(sasl_srv_start(clear, "PLAIN", "AGEAYg==", &chal) ==
		      SASL_RES_BADPROT,
	      "PLAIN refused without TLS");
	sbuf_free(&chal);
	CHECK(sasl_srv_check_plain(tls, "alice@example.test",
				   "alice-secret") == SASL_RES_OK,
	      "check_plain good");
	CHECK(sasl_srv_user(tls) &&
	      !strcmp(sasl_srv_user(tls), "alice@example.test"),
	      "check_plain user");
	CHECK(sasl_srv_check_plain(tls, "alice@example.test", "x") ==
		      SASL_RES_FAIL,
	      "check_plain bad");
	CHECK(sasl_srv_user(tls) == NULL, "no user after failure");
	CHECK(sasl_srv_check_plain(tls, "carol@example.test",
				   "carol-secret") == SASL_RES_FAIL,
	      "check_plain disabled");
	CHECK(sasl_srv_check_plain(tls, "old@example.test", "old-secret") ==
		      SASL_RES_FAIL,
	      "check_plain expired");
	CHECK(sasl_srv_check_plain(tls, "a b@example.test", "x") ==
		      SASL_RES_FAIL,
	      "check_plain odd name");
	CHECK(sasl_srv_check_plain(tls, "", "") == SASL_RES_FAIL,
	      "check_plain empty");
	sasl_srv_free(&clear);
	sasl_srv_free(&tls);
}

static void test_reload(void)
{
	struct sasl_srv *s = sasl_srv_new("imap", NULL, NULL, 1);
	int v;

	if (s == NULL) {
		CHECK(0, "sasl_srv_new");
		return;
	}
	write_creds("new-secret");
	sleep(2);
	CHECK(plain(s, "", "alice@example.test", "alice-secret") ==
		      SASL_RES_FAIL,
	      "old password after reload");
	CHECK(plain(s, "", "alice@example.test", "new-secret") ==
		      SASL_RES_OK,
	      "new password after reload");
	CHECK(scram(s, "alice@example.test", "new-secret", 0, &v) ==
		      SASL_RES_OK && v,
	      "scram with the new password");
	sasl_srv_free(&s);
}

struct line_case {
	const char *name, *line;
	int ok;
};

#define H "$scrypt$15$8$1$c2FsdHNhbHRzYWx0c2FsdA==$" \
	  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define S "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$" \
	  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=:" \
	  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

static const struct line_case line_cases[] = {
	{"good", "a@example.test " H " " S " 0 1", 1},
	{"no scram", "a@example.test " H " - 1700000000 0", 1},
	{"four fields", "a@example.test " H " " S " 0", 0},
	{"six fields", "a@example.test " H " " S " 0 1 x", 0},
	{"two spaces", "a@example.test  " H " " S " 0 1", 0},
	{"bad address", "example.test " H " " S " 0 1", 0},
	{"clear password", "a@example.test secret " S " 0 1", 0},
	{"short hash", "a@example.test $scrypt$15$8$1$c2FsdA==$YWJj " S
	 " 0 1", 0},
	{"bad scram", "a@example.test " H " SCRAM-SHA-1$4096:x$y:z 0 1", 0},
	{"few iterations", "a@example.test " H " SCRAM-SHA-256$10:"
	 "c2FsdHNhbHRzYWx0c2FsdA==$"
	 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=:"
	 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY= 0 1", 0},
	{"bad expiry", "a@example.test " H " " S " -5 1", 0},
	{"bad enabled", "a@example.test " H " " S " 0 2", 0},
	{"trailing space", "a@example.test " H " " S " 0 1 ", 0},
	{"empty", "", 0},
};

static void test_lines(void)
{
	char buf[1024], err[100];
	struct cred e;
	size_t i;

	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", line_cases[i].line);
		CHECK((creds_parse_line(buf, &e, err, sizeof(err)) == 0) ==
			      line_cases[i].ok,
		      line_cases[i].name);
	}
}

int main(void)
{
	char err[300], dir[] = "/tmp/sasl_test.XXXXXX";

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/creds", dir);
	test_lines();
	write_creds("alice-secret");
	CHECK(sasl_setup("sluice", path, err, sizeof(err)) == 0, err);
	CHECK(sasl_setup("sluice", path, err, sizeof(err)) < 0, "only once");
	test_plain();
	test_protocol();
	test_scram();
	test_scram_no_enumeration();
	test_mechs_and_plain_check();
	test_reload();
	sasl_teardown();
	unlink(path);
	rmdir(dir);
	return test_done();
}
