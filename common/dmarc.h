/*
 * NAME
 *	dmarc - DMARC (RFC 7489): records, alignment, policy
 * DESCRIPTION
 *	Pure functions: the record parser (6.3, 6.4), the organisational
 *	domain from the Public Suffix List (3.2; Debian's publicsuffix
 *	file read directly), identifier alignment (3.1) and the policy to
 *	apply (6.6.4, pct= included). The lookups of _dmarc records are the
 *	caller's (non-blocking, through dns.h). Records are hostile input.
 *	Mail layer.
 */
#ifndef SLUICE_DMARC_H
#define SLUICE_DMARC_H

#include <stddef.h>

enum dmarc_policy { DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };

struct dmarc_record {
	enum dmarc_policy p, sp;
	int pct;		/* 0..100 */
	int adkim_strict, aspf_strict;
};

/* 1 if a TXT record is a DMARC record ("v=DMARC1" first). */
int dmarc_is_record(const char *txt, size_t len);

/* Parse a DMARC record (RFC 7489 6.3). A bad or missing p= with rua=
 * present reads as p=none (6.6.3). 0, or -1 (no usable policy). */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r);

struct psl;

/* Load a Public Suffix List file (publicsuffix.org format). NULL with a
 * reason in err. */
struct psl *psl_load(const char *path, char *err, size_t errlen);
void psl_free(struct psl *p);

/* The organisational domain of domain (RFC 7489 3.2: its public suffix
 * and one more label) into out, lowercased. With psl NULL, the last two
 * labels. */
void dmarc_org_domain(const struct psl *psl, const char *domain, char *out,
		      size_t outlen);

/* 1 if domain a is aligned with the From: domain (strict: equal;
 * relaxed: same organisational domain). */
int dmarc_aligned(const struct psl *psl, const char *a, const char *from,
		  int strict);

/* The policy to apply to a failing message from from_domain (sp= for a
 * subdomain of the record's org domain), with pct= applied through
 * roll (0..99): outside the percentage reject becomes quarantine and
 * quarantine none (6.6.4). */
enum dmarc_policy dmarc_policy(const struct dmarc_record *r,
			       int is_subdomain, int roll);

const char *dmarc_policy_name(enum dmarc_policy p);

#endif
