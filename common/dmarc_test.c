/*
 * NAME
 *	dmarc_test - table tests of DMARC records, organisational domains
 *	(with Debian's Public Suffix List) and policies
 */
#include <stdio.h>
#include <string.h>

#include "dmarc.h"
#include "test.h"

static void test_records(void)
{
	static const struct {
		const char *in;
		int ok;
		enum dmarc_policy p, sp;
		int pct, adkim_s;
	} t[] = {
		{"v=DMARC1; p=reject", 1, DMARC_P_REJECT, DMARC_P_REJECT, 100, 0},
		{"v=DMARC1;p=quarantine;sp=none;pct=20;adkim=s", 1,
		 DMARC_P_QUARANTINE, DMARC_P_NONE, 20, 1},
		{"v=DMARC1; p=bogus; rua=mailto:a@b.test", 1, DMARC_P_NONE,
		 DMARC_P_NONE, 100, 0},
		{"v=DMARC1; p=bogus", 0, 0, 0, 0, 0},
		{"v=DMARC1", 0, 0, 0, 0, 0},
		{"p=reject; v=DMARC1", 0, 0, 0, 0, 0},
		{"v=DMARC10; p=reject", 0, 0, 0, 0, 0},
		{"v=DMARC1; p=none; pct=101", 1, DMARC_P_NONE, DMARC_P_NONE,
		 100, 0},
		{"v=DMARC1; p=reject; p=none", 0, 0, 0, 0, 0},
	};
	struct dmarc_record r;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = dmarc_record_parse(t[i].in, strlen(t[i].in), &r);

		CHECK((rc == 0) == t[i].ok, t[i].in);
		if (rc == 0 && t[i].ok)
			CHECK(r.p == t[i].p && r.sp == t[i].sp &&
			      r.pct == t[i].pct && r.adkim_strict ==
			      t[i].adkim_s, t[i].in);
	}
	dmarc_record_parse("v=DMARC1; p=reject; pct=50", 26, &r);
	CHECK(dmarc_policy(&r, 0, 10) == DMARC_P_REJECT, "inside pct");
	CHECK(dmarc_policy(&r, 0, 60) == DMARC_P_QUARANTINE, "outside pct");
	dmarc_record_parse("v=DMARC1; p=reject; sp=quarantine", 33, &r);
	CHECK(dmarc_policy(&r, 1, 0) == DMARC_P_QUARANTINE, "sp=");
}

static void test_org(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"mail.example.com", "example.com"},
		{"example.com", "example.com"},
		{"a.b.example.co.uk", "example.co.uk"},
		{"Example.CO.UK.", "example.co.uk"},
		{"co.uk", "co.uk"},
		{"x.y.www.ck", "www.ck"},	/* !www.ck */
		{"x.y.z.ck", "y.z.ck"},	/* *.ck */
		{"foo.unknowntld", "foo.unknowntld"},
		{"a.foo.unknowntld", "foo.unknowntld"},
		{"com", "com"},
		/* empty labels: no org domain above them (was ".com") */
		{"a..com", "a..com"},
		{"X..co.uk.", "x..co.uk"},
		{".com", ".com"},
	};
	char err[256], out[256];
	struct psl *p = psl_load("/usr/share/publicsuffix/public_suffix_list"
				 ".dat", err, sizeof(err));
	size_t i;

	CHECK(p != NULL, "PSL loads");
	for (i = 0; p && i < sizeof(t) / sizeof(t[0]); i++) {
		dmarc_org_domain(p, t[i].in, out, sizeof(out));
		CHECK(strcmp(out, t[i].want) == 0, t[i].in);
	}
	CHECK(dmarc_aligned(p, "mail.example.co.uk", "example.co.uk", 0),
	      "relaxed");
	CHECK(!dmarc_aligned(p, "mail.example.co.uk", "example.co.uk", 1),
	      "strict");
	CHECK(!dmarc_aligned(p, "other.co.uk", "example.co.uk", 0),
	      "public suffix is not an org");
	dmarc_org_domain(NULL, "a.b.example.co.uk", out, sizeof(out));
	CHECK(strcmp(out, "co.uk") == 0, "no PSL: two labels");
	dmarc_org_domain(NULL, "b.a..com", out, sizeof(out));
	CHECK(strcmp(out, "b.a..com") == 0, "no PSL: empty label");
	CHECK(!dmarc_aligned(p, "x..com", "y..com", 0),
	      "empty labels do not align");
	CHECK(psl_load("/nonexistent", err, sizeof(err)) == NULL, "missing");
	psl_free(p);
}

int main(void)
{
	test_records();
	test_org();
	return test_done();
}
