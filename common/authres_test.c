/*
 * NAME
 *	authres_test - table-driven tests of Authentication-Results reading
 * DESCRIPTION
 *	The authserv-id as a reader finds it (CFWS, quoted strings,
 *	versions, unreadable fields), and the results copied for an ARC
 *	set.
 */
#include <string.h>

#include "authres.h"
#include "test.h"

struct idcase {
	const char *field;
	int rc;
	const char *id;
};

static const struct idcase ids[] = {
	{"Authentication-Results: mx.example.test; spf=pass", 1,
		"mx.example.test"},
	{"authentication-results :mx.example.test;spf=pass", 1,
		"mx.example.test"},
	{"Authentication-Results: (trusted) mx.example.test; none", 1,
		"mx.example.test"},
	{"Authentication-Results: (a (b \\) c) d)\r\n mx.example.test 1; x", 1,
		"mx.example.test"},
	{"Authentication-Results: \"mx.exa\\mple.test\"; x", 1,
		"mx.example.test"},
	{"Authentication-Results: (unclosed mx.example.test; x", -1, NULL},
	{"Authentication-Results: \"unclosed; x", -1, NULL},
	{"Authentication-Results: \"\"; x", -1, NULL},
	{"Authentication-Results: ; spf=pass", -1, NULL},
	{"Authentication-Results:", -1, NULL},
	{"Authentication-Results-X: mx.example.test; x", 0, NULL},
	{"Subject: Authentication-Results: mx.example.test", 0, NULL},
	{"Authentication-Results mx.example.test; x", 0, NULL},
};

static void test_ids(void)
{
	char id[AUTHRES_ID_MAX + 1], deep[200];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		const char *f = ids[i].field;

		rc = authres_field_id(f, f + strlen(f), id, sizeof(id), NULL);
		CHECK(rc == ids[i].rc, "return code");
		if (rc == 1)
			CHECK(strcmp(id, ids[i].id) == 0, "id");
	}
	/* an id longer than the caller's room is unreadable, not cut */
	rc = authres_field_id(
		ids[0].field, ids[0].field + strlen(ids[0].field), id, 5, NULL);
	CHECK(rc == -1, "long id refused");
	/* comments nested past the bound are unreadable */
	memcpy(deep, "Authentication-Results: ", 24);
	memset(deep + 24, '(', 40);
	memset(deep + 64, ')', 40);
	memcpy(deep + 104, " mx.example.test; x", 20);
	CHECK(authres_field_id(
		      deep, deep + strlen(deep), id, sizeof(id), NULL) == -1,
		"deep comments");
	CHECK(authres_claims(deep, deep + strlen(deep), "other.test") == 1,
		"deep claims");
	CHECK(authres_claims(ids[2].field, ids[2].field + strlen(ids[2].field),
		      "MX.EXAMPLE.TEST") == 1,
		"claims, case");
	CHECK(authres_claims(ids[2].field, ids[2].field + strlen(ids[2].field),
		      "example.test") == 0,
		"other id");
}

static void test_results(void)
{
	static const char *const skip[] = {"arc", NULL};
	static const char hdr[] =
		"Received: from a\r\n"
		"Authentication-Results: other.test; spf=pass\r\n"
		"Authentication-Results: mx.example.test;\r\n"
		"\tspf=pass smtp.mailfrom=a@b.test;\r\n"
		"\tdkim=pass (good; signature) header.d=b.test;\r\n"
		"\tarc=none;\r\n"
		"\tdmarc=pass header.from=\"b;test\"\r\n"
		"Authentication-Results: mx.example.test; none\r\n"
		"Subject: x\r\n";
	struct sbuf out;

	sbuf_init(&out, 4096);
	CHECK(authres_results(
		      hdr, sizeof(hdr) - 1, "mx.example.test", skip, &out) == 0,
		"results ok");
	CHECK(out.len == strlen(";\r\n\tspf=pass smtp.mailfrom=a@b.test"
				";\r\n\tdkim=pass (good; signature) "
				"header.d=b.test"
				";\r\n\tdmarc=pass header.from=\"b;test\""),
		"length");
	CHECK(memcmp(out.data,
		      ";\r\n\tspf=pass smtp.mailfrom=a@b.test;\r\n"
		      "\tdkim=pass (good; signature) header.d=b.test;\r\n"
		      "\tdmarc=pass header.from=\"b;test\"",
		      out.len) == 0,
		"bytes");
	sbuf_reset(&out);
	CHECK(authres_results(
		      hdr, sizeof(hdr) - 1, "nobody.test", NULL, &out) == 0,
		"no field ok");
	CHECK(out.len == 0, "nothing");
	sbuf_free(&out);
}

int main(void)
{
	test_ids();
	test_results();
	return test_done();
}
