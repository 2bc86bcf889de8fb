/*
 * NAME
 *	spf_test - table tests of the SPF evaluator (RFC 7208)
 * DESCRIPTION
 *	The zone of RFC 7208 appendix A with the records of A.1 in turn, the
 *	macro examples of 7.4, the limits of 4.6.4 and the error results.
 *	DNS answers come from a table, later (from a pump, as the loop would
 *	deliver them), never from inside the query call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf.h"
#include "test.h"

struct zrec {
	const char *name;
	int type;
	enum dns_status status;
	const char *rr;		/* records separated by '|' */
};

/* RFC 7208 A: example.com's records; SPF for example.com set per case */
static const char *spf_example_com;
static const struct zrec zone[] = {
	{"example.com", DNS_T_MX, DNS_OK, "mail-a.example.com|"
	 "mail-b.example.com"},
	{"example.com", DNS_T_A, DNS_OK, "192.0.2.10|192.0.2.11"},
	{"amy.example.com", DNS_T_A, DNS_OK, "192.0.2.65"},
	{"bob.example.com", DNS_T_A, DNS_OK, "192.0.2.66"},
	{"mail-a.example.com", DNS_T_A, DNS_OK, "192.0.2.129"},
	{"mail-b.example.com", DNS_T_A, DNS_OK, "192.0.2.130"},
	{"mail.example.org", DNS_T_A, DNS_OK, "192.0.2.140"},
	{"example.org", DNS_T_MX, DNS_OK, "mail.example.org"},
	{"example.org", DNS_T_A, DNS_NODATA, ""},
	{"10.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "example.com"},
	{"11.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "example.com"},
	{"65.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "amy.example.com"},
	{"66.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "bob.example.com"},
	{"129.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "mail-a.example.com"},
	{"130.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "mail-b.example.com"},
	{"140.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK, "mail.example.org"},
	/* the error cases */
	{"two.test", DNS_T_TXT, DNS_OK, "v=spf1 -all|v=spf1 +all"},
	{"temp.test", DNS_T_TXT, DNS_TEMPFAIL, ""},
	{"other.test", DNS_T_TXT, DNS_OK, "hello|v=spf1spf"},
	{"bad.test", DNS_T_TXT, DNS_OK, "v=spf1 foo:bar -all"},
	{"badcidr.test", DNS_T_TXT, DNS_OK, "v=spf1 ip4:1.2.3.4/33 -all"},
	{"soft.test", DNS_T_TXT, DNS_OK, "v=spf1 ip4:192.0.2.1 ~all"},
	{"neutral.test", DNS_T_TXT, DNS_OK, "v=spf1 ip4:192.0.2.1"},
	{"incl.test", DNS_T_TXT, DNS_OK, "v=spf1 include:soft.test -all"},
	{"inclnone.test", DNS_T_TXT, DNS_OK, "v=spf1 include:none.test -all"},
	{"incltemp.test", DNS_T_TXT, DNS_OK, "v=spf1 include:temp.test -all"},
	{"none.test", DNS_T_TXT, DNS_NXDOMAIN, ""},
	{"redir.test", DNS_T_TXT, DNS_OK, "v=spf1 redirect=soft.test"},
	{"redirnone.test", DNS_T_TXT, DNS_OK, "v=spf1 redirect=none.test"},
	{"redirall.test", DNS_T_TXT, DNS_OK, "v=spf1 -all redirect=x.test"},
	{"loop.test", DNS_T_TXT, DNS_OK, "v=spf1 include:loop.test"},
	{"many.test", DNS_T_TXT, DNS_OK, "v=spf1 a:a1.test a:a2.test "
	 "a:a3.test a:a4.test a:a5.test a:a6.test a:a7.test a:a8.test "
	 "a:a9.test a:a10.test a:a11.test -all"},
	{"ten.test", DNS_T_TXT, DNS_OK, "v=spf1 a:a1.test a:a2.test "
	 "a:a3.test a:a4.test a:a5.test a:a6.test a:a7.test a:a8.test "
	 "a:a9.test a:a10.test -all"},
	{"voids.test", DNS_T_TXT, DNS_OK, "v=spf1 a:nx1.test a:nx2.test "
	 "a:nx3.test +all"},
	{"twovoids.test", DNS_T_TXT, DNS_OK, "v=spf1 a:nx1.test a:nx2.test "
	 "+all"},
	{"exists.test", DNS_T_TXT, DNS_OK, "v=spf1 "
	 "exists:%{ir}.%{l1r+}._spf.%{d} -all"},
	{"4.2.0.192.joe._spf.exists.test", DNS_T_A, DNS_OK, "127.0.0.2"},
	{"atemp.test", DNS_T_TXT, DNS_OK, "v=spf1 a:tmp.test -all"},
	{"tmp.test", DNS_T_A, DNS_TEMPFAIL, ""},
	{"v6.test", DNS_T_TXT, DNS_OK, "v=spf1 ip6:2001:db8::/32 a -all"},
	{"v6.test", DNS_T_AAAA, DNS_OK, "2001:db9::5"},
	{"mxmany.test", DNS_T_TXT, DNS_OK, "v=spf1 mx -all"},
	{"mxmany.test", DNS_T_MX, DNS_OK, "m1.t|m2.t|m3.t|m4.t|m5.t|m6.t|"
	 "m7.t|m8.t|m9.t|m10.t|m11.t"},
	{NULL, 0, DNS_OK, NULL},
};

/* a1.test .. a11.test: an address that matches nobody */
static int numbered(const char *name)
{
	return name[0] == 'a' && name[1] >= '1' && name[1] <= '9' &&
	       strstr(name, ".test") != NULL;
}

struct pending {
	void (*cb)(void *, const struct dns_rr_result *);
	void *arg;
	struct dns_rr_result r;
	struct pending *next;
};

static struct pending *queue_head;
static int nqueries;

static void fill(struct dns_rr_result *r, const char *rrs)
{
	const char *p = rrs, *e;

	while (*p && r->n < DNS_MAX_RR) {
		e = strchr(p, '|');
		if (e == NULL)
			e = p + strlen(p);
		r->rr[r->n] = strndup(p, (size_t)(e - p));
		r->len[r->n++] = (size_t)(e - p);
		p = *e ? e + 1 : e;
	}
}

static void fake_query(void *dctx, const char *name, enum dns_type type,
		       void (*cb)(void *, const struct dns_rr_result *),
		       void *arg)
{
	struct pending *q = calloc(1, sizeof(*q)), **t;
	const struct zrec *z;

	nqueries++;
	q->cb = cb;
	q->arg = arg;
	q->r.type = (int)type;
	q->r.status = DNS_NXDOMAIN;
	if (strcasecmp(name, "example.com") == 0 && type == DNS_T_TXT) {
		q->r.status = DNS_OK;
		fill(&q->r, spf_example_com);
	}
	for (z = zone; z->name; z++)
		if (strcasecmp(z->name, name) == 0 && z->type == (int)type) {
			q->r.status = z->status;
			fill(&q->r, z->rr);
			break;
		}
	if (z->name == NULL && type == DNS_T_A && numbered(name)) {
		q->r.status = DNS_OK;
		fill(&q->r, "10.9.9.9");
	}
	if (q->r.n == 0 && q->r.status == DNS_OK)
		q->r.status = DNS_NODATA;
	for (t = &queue_head; *t; t = &(*t)->next)
		;
	*t = q;
}

static void pump(void)
{
	struct pending *q;
	size_t i;

	while ((q = queue_head) != NULL) {
		queue_head = q->next;
		q->cb(q->arg, &q->r);
		for (i = 0; i < q->r.n; i++)
			free(q->r.rr[i]);
		free(q);
	}
}

static int check(const char *ip, const char *sender)
{
	struct spf_dns dns = {fake_query, NULL};
	struct spf_check *c = spf_check_start(&dns, ip, sender, "helo.test",
					      NULL, NULL);
	int r;

	pump();
	r = spf_check_result(c, NULL);
	spf_check_free(c);
	return r;
}

static void test_appendix_a(void)
{
	static const struct {
		const char *rec, *ip;
		enum spf_result want;
	} t[] = {
		{"v=spf1 +all", "192.0.2.99", SPF_PASS},
		{"v=spf1 a -all", "192.0.2.10", SPF_PASS},
		{"v=spf1 a -all", "192.0.2.11", SPF_PASS},
		{"v=spf1 a -all", "192.0.2.12", SPF_FAIL},
		{"v=spf1 a:example.org -all", "192.0.2.10", SPF_FAIL},
		{"v=spf1 mx -all", "192.0.2.129", SPF_PASS},
		{"v=spf1 mx -all", "192.0.2.130", SPF_PASS},
		{"v=spf1 mx -all", "192.0.2.140", SPF_FAIL},
		{"v=spf1 mx:example.org -all", "192.0.2.140", SPF_PASS},
		{"v=spf1 mx mx:example.org -all", "192.0.2.130", SPF_PASS},
		{"v=spf1 mx mx:example.org -all", "192.0.2.140", SPF_PASS},
		{"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131",
		 SPF_PASS},
		{"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143",
		 SPF_PASS},
		{"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.150",
		 SPF_FAIL},
		{"v=spf1 ptr -all", "192.0.2.65", SPF_PASS},
		{"v=spf1 ptr -all", "192.0.2.10", SPF_PASS},
		{"v=spf1 ptr -all", "192.0.2.140", SPF_FAIL},
		{"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.129", SPF_PASS},
		{"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65", SPF_FAIL},
		{"v=spf1 ip4:192.0.2.128/28 ?all", "192.0.2.65", SPF_NEUTRAL},
		{"V=SPF1 IP4:192.0.2.128/28 -ALL", "192.0.2.129", SPF_PASS},
		{"v=spf1 -ip4:192.0.2.0/24 +all", "192.0.2.1", SPF_FAIL},
		{"v=spf1 ip6:2001:db8::/32 -all", "192.0.2.1", SPF_FAIL},
		{"v=spf1 ip4:192.0.2.0/24", "2001:db8::1", SPF_NEUTRAL},
		{"v=spf1 ip4:192.0.2.0/24 -all", "::ffff:192.0.2.1", SPF_FAIL},
	};
	size_t i;
	char name[160];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		spf_example_com = t[i].rec;
		snprintf(name, sizeof(name), "%s from %s", t[i].rec, t[i].ip);
		CHECK(check(t[i].ip, "joe@example.com") == (int)t[i].want,
		      name);
	}
}

static void test_results(void)
{
	static const struct {
		const char *sender, *ip;
		enum spf_result want;
	} t[] = {
		{"a@two.test", "192.0.2.1", SPF_PERMERROR},
		{"a@temp.test", "192.0.2.1", SPF_TEMPERROR},
		{"a@other.test", "192.0.2.1", SPF_NONE},
		{"a@none.test", "192.0.2.1", SPF_NONE},
		{"a@bad.test", "192.0.2.1", SPF_PERMERROR},
		{"a@badcidr.test", "192.0.2.1", SPF_PERMERROR},
		{"a@soft.test", "192.0.2.2", SPF_SOFTFAIL},
		{"a@soft.test", "192.0.2.1", SPF_PASS},
		{"a@neutral.test", "192.0.2.2", SPF_NEUTRAL},
		{"a@incl.test", "192.0.2.1", SPF_PASS},
		{"a@incl.test", "192.0.2.2", SPF_FAIL},
		{"a@inclnone.test", "192.0.2.2", SPF_PERMERROR},
		{"a@incltemp.test", "192.0.2.2", SPF_TEMPERROR},
		{"a@redir.test", "192.0.2.2", SPF_SOFTFAIL},
		{"a@redir.test", "192.0.2.1", SPF_PASS},
		{"a@redirnone.test", "192.0.2.1", SPF_PERMERROR},
		{"a@redirall.test", "192.0.2.1", SPF_FAIL},
		{"a@loop.test", "192.0.2.1", SPF_PERMERROR},
		{"a@many.test", "192.0.2.1", SPF_PERMERROR},
		{"a@ten.test", "192.0.2.1", SPF_FAIL},
		{"a@voids.test", "192.0.2.1", SPF_PERMERROR},
		{"a@twovoids.test", "192.0.2.1", SPF_PASS},
		{"joe@exists.test", "192.0.2.4", SPF_PASS},
		{"bob@exists.test", "192.0.2.4", SPF_FAIL},
		{"joe+x@exists.test", "192.0.2.4", SPF_PASS},
		{"a@atemp.test", "192.0.2.1", SPF_TEMPERROR},
		{"a@v6.test", "2001:db8::1", SPF_PASS},
		{"a@v6.test", "2001:db9::5", SPF_PASS},
		{"a@v6.test", "2001:dba::5", SPF_FAIL},
		{"a@mxmany.test", "192.0.2.1", SPF_PERMERROR},
		{"a@nodot", "192.0.2.1", SPF_NONE},
		{"a@bad..test", "192.0.2.1", SPF_NONE},
		{"", "192.0.2.1", SPF_NONE},	/* postmaster@helo.test */
	};
	size_t i;
	char name[160];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(name, sizeof(name), "%s from %s", t[i].sender,
			 t[i].ip);
		CHECK(check(t[i].ip, t[i].sender) == (int)t[i].want, name);
	}
}

/* Freed while a query is in flight: the answer frees it, no callback. */
static int done_calls;
static void on_done(void *arg, struct spf_check *c)
{
	done_calls++;
}

static void test_free_pending(void)
{
	struct spf_dns dns = {fake_query, NULL};
	struct spf_check *c;

	spf_example_com = "v=spf1 a -all";
	c = spf_check_start(&dns, "192.0.2.10", "x@example.com", "h.test",
			    on_done, NULL);
	CHECK(spf_check_result(c, NULL) == -1, "running");
	spf_check_free(c);
	pump();
	CHECK(done_calls == 0, "no callback after free");
	c = spf_check_start(&dns, "192.0.2.10", "x@example.com", "h.test",
			    on_done, NULL);
	pump();
	CHECK(done_calls == 1 && spf_check_result(c, NULL) == SPF_PASS,
	      "callback once");
	spf_check_free(c);
	CHECK(spf_check_start(&dns, "not-an-ip", "x@y.test", "h", NULL,
			      NULL) == NULL, "bad ip");
}

static void test_macros(void)
{
	static const struct {
		const char *spec, *ip, *want;
	} t[] = {
		{"%{s}", "192.0.2.3", "strong-bad@email.example.com"},
		{"%{o}", "192.0.2.3", "email.example.com"},
		{"%{d}", "192.0.2.3", "email.example.com"},
		{"%{d4}", "192.0.2.3", "email.example.com"},
		{"%{d3}", "192.0.2.3", "email.example.com"},
		{"%{d2}", "192.0.2.3", "example.com"},
		{"%{d1}", "192.0.2.3", "com"},
		{"%{dr}", "192.0.2.3", "com.example.email"},
		{"%{d2r}", "192.0.2.3", "example.email"},
		{"%{l}", "192.0.2.3", "strong-bad"},
		{"%{l-}", "192.0.2.3", "strong.bad"},
		{"%{lr}", "192.0.2.3", "strong-bad"},
		{"%{lr-}", "192.0.2.3", "bad.strong"},
		{"%{l1r-}", "192.0.2.3", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "192.0.2.3",
		 "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "192.0.2.3",
		 "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "192.0.2.3",
		 "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "192.0.2.3",
		 "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "192.0.2.3",
		 "example.com.trusted-domains.example.net"},
		{"%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01",
		 "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0."
		 "0.2.ip6._spf.example.com"},
		{"%%%_%-", "192.0.2.3", "% %20"},
		{"%{S}", "192.0.2.3", "strong-bad%40email.example.com"},
		{"%{p}.x", "192.0.2.3", "unknown.x"},
		{"%{h}", "192.0.2.3", "mail.test"},
	};
	static const char *const bad[] = {
		"%{x}", "%{d0}", "%{d", "%", "%a", "%{c}", "%{t}", "a b",
		"%{d1234}",
	};
	struct spf_macro_vars v = {"strong-bad@email.example.com",
				   "email.example.com", NULL, "mail.test"};
	char out[700], big[600];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v.ip = t[i].ip;
		CHECK(spf_macro_expand(&v, t[i].spec, strlen(t[i].spec), out,
				       sizeof(out)) == 0 &&
		      strcmp(out, t[i].want) == 0, t[i].spec);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(spf_macro_expand(&v, bad[i], strlen(bad[i]), out,
				       sizeof(out)) < 0, bad[i]);
	/* 7.3: longer than 253 octets: left labels go */
	for (i = 0; i + 10 < sizeof(big); i += 10)
		memcpy(big + i, "abcdefghi.", 10);
	memcpy(big + i, "end", 4);
	CHECK(spf_macro_expand(&v, big, strlen(big), out, sizeof(out)) == 0 &&
	      strlen(out) <= 253 && strcmp(out + strlen(out) - 4, ".end") ==
	      0 && out[0] == 'a', "truncated from the left");
}

static void test_parse(void)
{
	static const struct {
		const char *rec;
		int ok;
		size_t n;
	} t[] = {
		{"v=spf1", 1, 0},
		{"v=spf1 ", 1, 0},
		{"v=spf1  a  mx ", 1, 2},
		{"v=spf1 a/24//64 mx:x.test/0 ptr:p.test", 1, 3},
		{"v=spf1 a:x.test//129", 0, 0},
		{"v=spf1 ip4:1.2.3.4/024", 0, 0},
		{"v=spf1 ip4:1.2.3", 0, 0},
		{"v=spf1 ip6:::1/128", 1, 1},
		{"v=spf1 include", 0, 0},
		{"v=spf1 all:x", 0, 0},
		{"v=spf1 redirect=a.test redirect=b.test", 0, 0},
		{"v=spf1 foo=bar -all", 1, 2},
		{"v=spf1 a:foo.123", 0, 0},
		{"v=spf1 a:%{d}", 1, 1},
		{"v=spf10 -all", 0, 0},
		{"v=spf1 -all\t", 0, 0},
		{"v=spf1 +redirect=x.test", 0, 0},
		{"v=spf1 exists:foo.test.", 1, 1},
	};
	struct spf_record r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = spf_record_parse(t[i].rec, strlen(t[i].rec), &r, err,
					  sizeof(err));

		CHECK((rc == 0) == t[i].ok && (!t[i].ok || r.n == t[i].n),
		      t[i].rec);
	}
	CHECK(spf_record_parse("v=spf1 a/24//64", 15, &r, err, sizeof(err))
	      == 0 && r.t[0].cidr4 == 24 && r.t[0].cidr6 == 64, "dual cidr");
	CHECK(spf_record_parse("v=spf1 mx//64", 13, &r, err, sizeof(err))
	      == 0 && r.t[0].cidr4 == -1 && r.t[0].cidr6 == 64, "cidr6 only");
}

int main(void)
{
	test_parse();
	test_macros();
	test_appendix_a();
	test_results();
	test_free_pending();
	return test_done();
}
