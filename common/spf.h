/*
 * NAME
 *	spf - Sender Policy Framework (RFC 7208) check_host()
 * DESCRIPTION
 *	Our own evaluator, driven by answers that come later (the DNS is
 *	c-ares inside the event loop: see dns.h), so a check never blocks
 *	the loop. Every mechanism (all, include, a, mx, ptr, ip4, ip6,
 *	exists), the redirect modifier, macros (section 7), the limit of
 *	10 DNS-querying terms (4.6.4), 2 void lookups, 10 MX or PTR names
 *	per term; temperror for DNS failures, permerror for broken records.
 *	exp= is parsed but not fetched (we give no explanations), and the
 *	"p" macro expands to "unknown" (allowed by 7.3, and 5.5 advises
 *	against ptr anyway). The record parser and the macro expander are
 *	pure functions (spf_test.c, spf_fuzz.c). Records are hostile input.
 *	Mail layer.
 */
#ifndef SLUICE_SPF_H
#define SLUICE_SPF_H

#include <stddef.h>

#include "dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
	SPF_NRESULTS
};

#define SPF_MAX_LOOKUPS 10	/* RFC 7208 4.6.4 */
#define SPF_MAX_VOID 2		/* RFC 7208 4.6.4 */
#define SPF_MAX_NAMES 10	/* MX or PTR names per term (4.6.4) */
#define SPF_MAX_TERMS 64	/* terms of one record we evaluate */

enum spf_mech {
	SPF_M_ALL, SPF_M_INCLUDE, SPF_M_A, SPF_M_MX, SPF_M_PTR, SPF_M_IP4,
	SPF_M_IP6, SPF_M_EXISTS, SPF_M_REDIRECT, SPF_M_EXP, SPF_M_UNKNOWN_MOD
};

struct spf_term {
	enum spf_mech mech;
	char qual;		/* '+', '-', '~' or '?' */
	const char *arg;	/* domain-spec or address (points into the
				 * record, not NUL-terminated), NULL: none */
	size_t arglen;
	int cidr4, cidr6;	/* prefix lengths, -1 when not given */
};

struct spf_record {
	size_t n;
	struct spf_term t[SPF_MAX_TERMS];
	int redirect;		/* index of redirect=, or -1 */
};

/* The name of a result as RFC 8601 writes it ("pass", "permerror"). */
const char *spf_result_name(enum spf_result r);

/* 1 if a TXT record is an SPF record ("v=spf1" alone or then SP). */
int spf_is_record(const char *txt, size_t len);

/* Parse an SPF record (RFC 7208 4.6, 12 ABNF) into r; r's terms point
 * into rec, which must outlive r. 0, or -1 (permerror) with a reason. */
int spf_record_parse(const char *rec, size_t len, struct spf_record *r,
		     char *err, size_t errlen);

/* What macros expand from (RFC 7208 7.3). */
struct spf_macro_vars {
	const char *sender;	/* local@domain */
	const char *domain;	/* the current <domain> */
	const char *ip;		/* numeric client address */
	const char *helo;
};

/* Expand the macro-string spec[0..len) into out (NUL-terminated). For a
 * domain-spec result longer than 253 octets, left labels are dropped
 * (7.3). 0, or -1 for a syntax error (permerror) or out too small. */
int spf_macro_expand(const struct spf_macro_vars *v, const char *spec,
		     size_t len, char *out, size_t outlen);

/* DNS as the evaluator sees it: query() must answer through cb later,
 * from the loop, never from inside the call. */
struct spf_dns {
	void (*query)(void *dctx, const char *name, enum dns_type type,
		      void (*cb)(void *arg, const struct dns_rr_result *r),
		      void *arg);
	void *dctx;
};

struct spf_check;

/* Start check_host(ip, domain of sender, sender) (RFC 7208 4); an empty
 * sender is postmaster@helo (2.4). If the result is known at once,
 * spf_check_result() says so and done is never called; else done runs
 * once, from a query's answer. NULL only for a bad ip. */
struct spf_check *spf_check_start(const struct spf_dns *dns, const char *ip,
				  const char *sender, const char *helo,
				  void (*done)(void *arg, struct spf_check *c),
				  void *arg);

/* The result, or -1 while the check is still running. why gets a short
 * reason for logs (the matching term, or the error). */
int spf_check_result(const struct spf_check *c, const char **why);
/* The domain checked (the sender's, or the HELO name). */
const char *spf_check_domain(const struct spf_check *c);

/* Free a check; one still waiting for an answer is freed when that
 * answer comes (done is then not called). */
void spf_check_free(struct spf_check *c);

#endif
