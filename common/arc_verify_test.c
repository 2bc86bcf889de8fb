/*
 * NAME
 *	arc_verify_test - table tests of ARC set parsing (RFC 8617 5.2)
 * DESCRIPTION
 *	Header sections with ARC fields: sets are grouped by instance,
 *	i= must lie in 1..50, a duplicate instance of one kind, an
 *	incomplete set or a gap breaks the chain, and the cv= of each seal
 *	must fit its place. Signatures are checked end to end against an
 *	independent sealer in tests/test_mx_auth.py.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arc_verify.h"
#include "sbuf.h"
#include "test.h"

#define AAR(i) "ARC-Authentication-Results: i=" i "; mx.test; spf=pass\r\n"
#define AMS(i) "ARC-Message-Signature: i=" i "; a=rsa-sha256; d=x.test;\r\n" \
	"\ts=s; h=from; bh=AAAA; b=AAAA\r\n"
#define AS(i, cv) "ARC-Seal: i=" i "; a=rsa-sha256; cv=" cv "; d=x.test; " \
	"s=s; b=AAAA\r\n"
#define SET(i, cv) AAR(i) AMS(i) AS(i, cv)
#define END "From: <a@x.test>\r\n\r\nbody\r\n"

static void test_sets(void)
{
	static const struct {
		const char *msg;
		int n;
	} t[] = {
		{END, 0},
		{SET("1", "none") END, 1},
		{SET("2", "pass") SET("1", "none") END, 2},
		{" " END, 0},
		{"arc-seal: i=1; a=rsa-sha256; cv=none; d=x.test; s=s; b=AA\r\n"
		 AMS("1") AAR("1") END, 1},
		{SET("0", "none") END, -1},		/* below 1 */
		{SET("51", "pass") END, -1},		/* above 50 */
		{SET("1000", "pass") END, -1},
		{SET("50", "pass") END, -1},		/* 1..49 missing */
		{SET("1", "none") SET("3", "pass") END, -1},	/* a gap */
		{SET("1", "none") AMS("1") END, -1},	/* two AMS, i=1 */
		{SET("1", "none") AAR("1") END, -1},	/* two AAR, i=1 */
		{SET("1", "none") AS("1", "none") END, -1},
		{AAR("1") AMS("1") END, -1},		/* no seal */
		{"ARC-Authentication-Results: mx.test; i=1\r\n" AMS("1")
		 AS("1", "none") END, -1},		/* i= not first */
		{AAR("x") AMS("1") AS("1", "none") END, -1},
		{AAR("1") "ARC-Message-Signature: a=rsa-sha256; d=x.test\r\n"
		 AS("1", "none") END, -1},		/* AMS without i= */
		{AAR("1") AMS("1") AS("1;i=2", "none") END, -1},
	};
	struct arc_sets sets;
	const char *why;
	size_t i;
	int n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *hend = strstr(t[i].msg, "\r\n\r\n");
		size_t hlen = (size_t)(hend - t[i].msg) + 4;

		why = NULL;
		n = arc_sets_parse(t[i].msg, hlen, &sets, &why);
		if (n != t[i].n)
			fprintf(stderr, "case %zu: %d\n", i, n);
		CHECK(n == t[i].n, "arc_sets_parse");
		CHECK(n >= 0 || why != NULL, "why");
		if (n > 0)
			CHECK(sets.aar[n].p && sets.ams[n].p && sets.as[n].p,
			      "grouped");
	}
}

/* cv= (5.2 steps 2 and 3): the result is final before any key. */
static void test_cv(void)
{
	static const struct {
		const char *msg;
		enum arc_result r;
		const char *why;
	} t[] = {
		{END, ARC_NONE, ""},
		{SET("1", "pass") END, ARC_FAIL, "cv= does not fit"},
		{SET("2", "none") SET("1", "none") END, ARC_FAIL,
		 "cv= does not fit"},
		{SET("2", "fail") SET("1", "none") END, ARC_FAIL, "cv=fail"},
		{SET("1", "none") SET("1", "none") END, ARC_FAIL,
		 "two ARC fields"},
	};
	struct arc_chain c;
	size_t i, k;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *hend = strstr(t[i].msg, "\r\n\r\n");
		size_t hlen = (size_t)(hend - t[i].msg) + 4;

		arc_verify_prepare(&c, t[i].msg, hlen, strlen(t[i].msg),
				   time(NULL));
		for (k = 0; k < c.nsig; k++)
			CHECK(!c.sigs[k].need_key, "no key wanted");
		CHECK(arc_verify_result(&c) == t[i].r, "result");
		CHECK(strstr(c.why, t[i].why) != NULL, "why");
		arc_chain_free(&c);
	}
}

int main(void)
{
	test_sets();
	test_cv();
	return test_done();
}
