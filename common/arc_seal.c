/*
 * NAME
 *	arc_seal - add an ARC set (RFC 8617 5.1) to mail a stage forwards
 * DESCRIPTION
 *	See arc_seal.h. 5.1.1: the new AMS signs the message as DKIM does
 *	(never the seals), the new AS signs every set up to its own in
 *	increasing instance order; 5.1.2: cv= is "none" for the first set,
 *	else the result of checking the chain we received, and a seal with
 *	cv=fail signs its own set only. The crypto and
 *	canonicalization are dkim.c's, the chain parsing arc_verify.c's.
 */
#include "arc_seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "tls.h"

const struct dkim_signer *arc_seal_key(struct dkim_signer **keys,
				       const char *domain)
{
	struct dkim_signer **k;

	for (k = keys; k && *k; k++)
		if (tls_key_type((*k)->key) != TLS_KEY_ED25519 &&
		    (domain == NULL || domain[0] == '\0' ||
		     strcasecmp((*k)->domain, domain) == 0))
			return *k;
	return NULL;
}

size_t arc_header_len(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;

	while (p < end) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p + 2 - msg);
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	return len;
}

int arc_seal(const struct dkim_signer *key, const char *authserv_id,
	     const char *resinfo, const struct arc_chain *chain,
	     enum arc_result cv, const char *msg, size_t hlen, size_t len,
	     time_t now, struct sbuf *out)
{
	struct sbuf aar, ams, data;
	int i = chain->n + 1, rc = -1, prior;
	const char *cvs;

	/* 5.1.2: a broken structure or a chain already marked failed gets
	 * no more sets, nor does one at the instance limit */
	if (chain->n < 0 || chain->n >= LIM_ARC_INSTANCE_MAX ||
	    (chain->n > 0 && (chain->sigs == NULL ||
			      strcmp(chain->sigs[chain->n - 1].cv, "fail") ==
			      0)))
		return 0;
	cvs = arc_result_name(i == 1 ? ARC_NONE : cv == ARC_PASS ? ARC_PASS :
			      ARC_FAIL);
	/* 5.1.2: a seal that marks the chain failed covers its own set
	 * only, as if it were the first */
	prior = strcmp(cvs, "fail") == 0 ? 0 : chain->n;
	sbuf_init(&aar, 65536);
	sbuf_init(&ams, 65536);
	sbuf_init(&data, hlen + 65536);
	if (sbuf_printf(&aar, "ARC-Authentication-Results: i=%d; %s;\r\n"
			"\tarc=%s%s\r\n", i, authserv_id, cvs, resinfo) < 0 ||
	    dkim_sign_ams(key, i, msg, len, now, &ams) < 0 ||
	    arc_sets_canon(&chain->sets, prior, &data) < 0 ||
	    dkim_canon_header_relaxed(aar.data, aar.len, &data) < 0 ||
	    dkim_canon_header_relaxed(ams.data, ams.len, &data) < 0 ||
	    sbuf_append(&aar, ams.data, ams.len) < 0 ||
	    dkim_sign_seal(key, i, cvs, data.data, data.len, now, &aar) < 0 ||
	    sbuf_append(out, aar.data, aar.len) < 0)
		goto out;
	rc = 1;
out:
	sbuf_free(&aar);
	sbuf_free(&ams);
	sbuf_free(&data);
	return rc;
}

/* ---- the chain we received, checked without blocking ---- */

struct arc_key_query {
	struct arc_check *c;
	size_t i;
};

struct arc_check {
	struct arc_chain chain;
	struct arc_key_query *kq;
	const char *msg;	/* NULL once cancelled */
	size_t hlen;
	size_t pending;
	void (*done)(void *arg, const struct arc_chain *chain);
	void *arg;
};

static void check_free(struct arc_check *c)
{
	if (c == NULL)
		return;
	arc_chain_free(&c->chain);
	free(c->kq);
	free(c);
}

static void release(struct arc_check *c)
{
	if (--c->pending > 0)
		return;
	if (c->msg != NULL) {
		arc_verify_result(&c->chain);
		c->done(c->arg, &c->chain);
	}
	check_free(c);
}

static void key_cb(void *arg, const struct dns_rr_result *r)
{
	struct arc_key_query *q = arg;
	struct arc_check *c = q->c;
	struct dkim_sig *g = &c->chain.sigs[q->i];
	size_t i;

	if (c->msg != NULL && r->status == DNS_TEMPFAIL) {
		g->result = DKIM_TEMPERROR;
		g->need_key = 0;
		snprintf(g->why, sizeof(g->why), "key lookup failed");
	} else if (c->msg != NULL) {
		for (i = 0; i < r->n && !strstr(r->rr[i], "p="); i++)
			;
		arc_verify_key(&c->chain, q->i, c->msg, c->hlen,
			       i < r->n ? r->rr[i] : NULL,
			       i < r->n ? r->len[i] : 0);
	}
	release(c);
}

int arc_check_start(struct dns *dns, const char *msg, size_t hlen,
		    size_t len,
		    void (*done)(void *arg, const struct arc_chain *chain),
		    void *arg, struct arc_check **check_r)
{
	struct arc_check *c = calloc(1, sizeof(*c));
	char name[400];
	size_t i;

	*check_r = NULL;
	if (c == NULL)
		return -1;
	c->msg = msg;
	c->hlen = hlen;
	c->done = done;
	c->arg = arg;
	c->pending = 1;	/* ours, let go at the end */
	arc_verify_prepare(&c->chain, msg, hlen, len, time(NULL));
	if (c->chain.nsig > 0)
		c->kq = calloc(c->chain.nsig, sizeof(*c->kq));
	if (c->chain.nsig > 0 && c->kq == NULL) {
		check_free(c);
		return -1;
	}
	for (i = 0; i < c->chain.nsig; i++) {
		if (!c->chain.sigs[i].need_key ||
		    dkim_key_name(&c->chain.sigs[i], name, sizeof(name)) < 0)
			continue;
		c->kq[i].c = c;
		c->kq[i].i = i;
		c->pending++;
		dns_query(dns, name, DNS_T_TXT, key_cb, &c->kq[i]);
	}
	/* with no answer due, done runs inside the release below */
	*check_r = c->pending > 1 ? c : NULL;
	release(c);
	return 0;
}

void arc_check_cancel(struct arc_check *c)
{
	if (c == NULL)
		return;
	c->msg = NULL;
}
