/*
 * NAME
 *	mx_auth - sender authentication at stage A: SPF, DKIM, DMARC, and
 *	our own domains forged from outside
 * DESCRIPTION
 *	SPF (spf.h) starts at MAIL FROM and runs while the client sends its
 *	RCPTs; the first RCPT that needs the result waits for it
 *	(SMTP_HOOK_LATER) and a fail is refused there with 550 5.7.23 (RFC
 *	7208 8.4). At end of data the DKIM signatures are checked
 *	(dkim_verify.h; their keys looked up together), then the From:
 *	domain's DMARC record (RFC 7489 6.6.3: the domain, then its
 *	organisational domain) decides: reject is 550 5.7.1, quarantine
 *	marks the message X-Sluice-Junk so that the store files it into
 *	Junk. Mail claiming one of our domains (envelope or From:) that
 *	passes neither SPF nor DKIM for it is refused (550 5.7.1): our
 *	users send through msa, never through mx. Results go into one
 *	Authentication-Results field (RFC 8601) under our authserv-id; such
 *	fields with our id that came from outside are removed.
 *	Every lookup is non-blocking (dns.h). The state of a session
 *	outlives it until its last DNS answer came. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "arc_verify.h"
#include "authres.h"
#include "dkim.h"
#include "dkim_verify.h"
#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "mx.h"
#include "mx_screen.h"
#include "spf.h"
#include "tls.h"
#include "tracehdr.h"

struct mx_auth;

struct key_query {
	struct mx_auth *a;
	size_t i;		/* signature index */
	int arc;		/* in arc.sigs, else in sigs */
};

struct mx_auth {
	struct mx *mx;
	struct smtp_session *s;	/* NULL once the session closed */
	struct mx_auth *prev, *next;
	/* SPF of the current transaction */
	struct spf_check *spf;
	int spf_res;		/* enum spf_result, -1: none yet */
	int rcpt_waits;		/* a RCPT is held for the result */
	struct mx_sender *sender; /* the MAIL FROM domain check, or NULL */
	/* end of data */
	size_t pending;		/* DNS answers still due */
	struct dkim_sig sigs[DKIM_MAX_SIGS];
	struct key_query kq[DKIM_MAX_SIGS];
	size_t nsig;
	struct arc_chain arc;
	struct key_query *akq;	/* one per arc.sigs */
	enum arc_result arc_res;
	char from_domain[256];
	const char *from_unclean; /* a local domain named in a From: that
				   * is not one clean mailbox, or NULL */
	char org[256];
	int dmarc_step;		/* 0: _dmarc.<From:>, 1: its org domain */
	int dmarc_found;	/* 1 record, -1 temporary failure */
	struct dmarc_record rec;
};

static void query(void *dctx, const char *name, enum dns_type type,
		  void (*cb)(void *arg, const struct dns_rr_result *r),
		  void *arg)
{
	struct mx *mx = dctx;

	dns_query(mx->dns, name, type, cb, arg);
}

static struct mx_auth *auth_of(struct mx *mx, struct smtp_session *s,
			       int create)
{
	struct mx_auth *a;

	for (a = mx->auths; a; a = a->next)
		if (a->s == s)
			return a;
	if (!create)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->mx = mx;
	a->s = s;
	a->spf_res = -1;
	a->next = mx->auths;
	if (mx->auths)
		mx->auths->prev = a;
	mx->auths = a;
	return a;
}

/* ---- SPF: MAIL starts it, RCPT waits for it ---- */

static void spf_result(struct mx_auth *a)
{
	const char *why;
	struct smtp_session *s = a->s;

	a->spf_res = spf_check_result(a->spf, &why);
	a->mx->counters.spf[a->spf_res]++;
	/* the answer may come after RSET (no MAIL FROM any more): the
	 * domain checked names it then */
	log_info("%s: spf=%s smtp.mailfrom=<%s> ip=%s (%s)", s->id,
		 spf_result_name((enum spf_result)a->spf_res), s->env.from ?
		 s->env.from : spf_check_domain(a->spf), s->client_addr, why);
}

/* A held RCPT goes on once SPF and the sender domain check are done. */
static void wake(struct mx_auth *a)
{
	if (a->rcpt_waits && (a->spf == NULL || a->spf_res >= 0) &&
	    mx_sender_result(a->sender) >= 0) {
		a->rcpt_waits = 0;
		smtp_session_resume(a->s);
	}
}

static void spf_done(void *arg, struct spf_check *c)
{
	struct mx_auth *a = arg;

	spf_result(a);
	wake(a);
}

static void sender_done(void *arg)
{
	wake(arg);
}

int mx_auth_mail(struct mx *mx, struct smtp_session *s)
{
	struct spf_dns dns = {query, mx};
	const struct mx_screen_sess *ss = s->screen;
	struct mx_auth *a;

	if ((!mx->cfg->spf && !mx->cfg->sender_domain_check) || s->trusted)
		return 0;
	a = auth_of(mx, s, 1);
	if (a == NULL)
		return 0;	/* out of memory: no checks for this one */
	spf_check_free(a->spf);
	a->spf = NULL;
	a->spf_res = -1;
	a->rcpt_waits = 0;
	mx_sender_free(a->sender);
	a->sender = NULL;
	/* RFC 2505 2.9; our own networks and the null sender skip it */
	if (mx->cfg->sender_domain_check && s->env.from[0] &&
	    !(ss && ss->allowed))
		a->sender = mx_sender_start(mx, s->env.from, sender_done, a);
	if (!mx->cfg->spf)
		return 0;
	a->spf = spf_check_start(&dns, s->client_addr, s->env.from,
				 s->helo ? s->helo : "", spf_done, a);
	if (a->spf && spf_check_result(a->spf, NULL) >= 0)
		spf_result(a);
	return 0;
}

int mx_auth_rcpt(struct mx *mx, struct smtp_session *s, const char *rcpt,
		 struct smtp_reply *r)
{
	struct mx_auth *a = auth_of(mx, s, 0);
	int perm = mx->cfg->sender_domain_code == 1;

	if (a == NULL)
		return 0;
	if ((a->spf && a->spf_res < 0) || mx_sender_result(a->sender) < 0) {
		a->rcpt_waits = 1;
		return SMTP_HOOK_LATER;
	}
	if (mx_sender_result(a->sender) == 2) {
		/* RFC 7505 4.2: its domain takes no mail, not even replies */
		mx->counters.sender_null_mx_rejected++;
		return mx_reject(s, "RCPT", rcpt, r, 550, "5.7.27", "<%s>: "
				 "Sender address rejected: Domain %s does not "
				 "accept mail (null MX)", s->env.from,
				 strrchr(s->env.from, '@') + 1);
	}
	if (mx_sender_result(a->sender) == 1) {
		mx->counters.sender_domain_rejected++;
		return mx_reject(s, "RCPT", rcpt, r, perm ? 550 : 450,
				 perm ? "5.1.8" : "4.1.8", "<%s>: Sender "
				 "address rejected: Domain not found",
				 s->env.from);
	}
	if (a->spf == NULL || a->spf_res != SPF_FAIL || !mx->cfg->spf_reject)
		return 0;
	mx->counters.spf_rejected++;
	log_info("%s: reject: RCPT from [%s]: 550 5.7.23 SPF fail; from=<%s>",
		 s->id, s->client_addr, s->env.from);
	return smtp_reply_set(r, 550, "5.7.23", "SPF: [%s] is not allowed to "
			      "send mail from %s", s->client_addr,
			      spf_check_domain(a->spf));
}

/* ---- Authentication-Results (RFC 8601) ---- */

/* A property value: kept when it is a plain token, else quoted. */
static void put_value(struct sbuf *h, const char *v)
{
	const char *p;
	int plain = *v != '\0';

	for (p = v; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr(".-_+@=", *p))
			plain = 0;
	if (plain) {
		sbuf_puts(h, v);
		return;
	}
	sbuf_puts(h, "\"");
	for (p = v; *p; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f) {
			if (*p == '"' || *p == '\\')
				sbuf_puts(h, "\\");
			sbuf_append(h, p, 1);
		}
	sbuf_puts(h, "\"");
}

static const char *authserv_id(const struct mx *mx)
{
	return mx->cfg->authserv_id[0] ? mx->cfg->authserv_id :
	       mx->cfg->smtp.hostname;
}

/* ---- end of data ---- */

/* The header section with its empty line (the engine's header_len
 * stops before it). */
static size_t header_section(const struct smtp_session *s)
{
	size_t h = s->header_len;

	if (h + 2 <= s->msg.len && memcmp(s->msg.data + h, "\r\n", 2) == 0)
		return h + 2;
	return h;
}

/* A From: field the strict parser refused (hidden mailboxes such as
 * `"ceo@ours" <>` or `ceo@ours <>`, two From: fields ...) still shows
 * its text in mail readers: the first of our domains named anywhere in
 * a From: field's value, or NULL. */
static const char *from_names_local(struct mx *mx, const char *h, size_t len)
{
	const char *p = h, *end = h + len, *eol, *v;
	char **d;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol ? eol + 1 : end;
		/* the field with its folded continuation lines */
		while (eol < end && (*eol == ' ' || *eol == '\t')) {
			const char *n = memchr(eol, '\n', (size_t)(end - eol));
			eol = n ? n + 1 : end;
		}
		if (eol - p > 5 && strncasecmp(p, "from:", 5) == 0)
			for (d = mx->domains; *d; d++)
				for (v = p + 5; v + strlen(*d) <= eol; v++)
					if (strncasecmp(v, *d, strlen(*d)) == 0)
						return *d;
		p = eol;
	}
	return NULL;
}

static int domain_passes(struct mx_auth *a, const char *dom)
{
	const struct psl *psl = a->mx->psl;
	size_t i;

	if (a->spf_res == SPF_PASS &&
	    dmarc_aligned(psl, spf_check_domain(a->spf), dom, 0))
		return 1;
	for (i = 0; i < a->nsig; i++)
		if (a->sigs[i].result == DKIM_PASS &&
		    dmarc_aligned(psl, a->sigs[i].d, dom, 0))
			return 1;
	return 0;
}

static int aligned_pass(struct mx_auth *a)
{
	const struct psl *psl = a->mx->psl;
	size_t i;

	if (a->spf_res == SPF_PASS &&
	    dmarc_aligned(psl, spf_check_domain(a->spf), a->from_domain,
			  a->rec.aspf_strict))
		return 1;
	for (i = 0; i < a->nsig; i++)
		if (a->sigs[i].result == DKIM_PASS &&
		    dmarc_aligned(psl, a->sigs[i].d, a->from_domain,
				  a->rec.adkim_strict))
			return 1;
	return 0;
}

static void finish(struct mx_auth *a)
{
	struct mx *mx = a->mx;
	struct smtp_session *s = a->s;
	struct mx_auth_counters *k = &mx->counters;
	const char *dres = "none", *at, *forged = NULL;
	enum dmarc_policy pol = DMARC_P_NONE;
	struct smtp_reply r;
	struct sbuf h;
	unsigned char roll = 0;
	size_t i;

	sbuf_init(&h, 16384);
	sbuf_printf(&h, "Authentication-Results: %s", authserv_id(mx));
	if (a->spf && a->spf_res >= 0) {
		sbuf_printf(&h, ";\r\n\tspf=%s smtp.mailfrom=",
			    spf_result_name((enum spf_result)a->spf_res));
		put_value(&h, s->env.from[0] ? s->env.from :
			  spf_check_domain(a->spf));
	}
	if (mx->cfg->dkim && a->nsig == 0)
		sbuf_puts(&h, ";\r\n\tdkim=none");
	for (i = 0; i < a->nsig; i++) {
		const struct dkim_sig *g = &a->sigs[i];

		k->dkim[g->result]++;
		sbuf_printf(&h, ";\r\n\tdkim=%s", dkim_result_name(g->result));
		if (g->d[0]) {
			sbuf_puts(&h, " header.d=");
			put_value(&h, g->d);
			sbuf_puts(&h, " header.s=");
			put_value(&h, g->s);
		}
		log_info("%s: dkim=%s header.d=%s header.s=%s%s%s%s", s->id,
			 dkim_result_name(g->result), g->d, g->s,
			 g->why[0] ? " (" : "", g->why, g->why[0] ? ")" : "");
	}
	if (mx->cfg->dkim && a->nsig == 0)
		k->dkim[DKIM_NONE]++;
	if (mx->cfg->arc) {
		a->arc_res = arc_verify_result(&a->arc);
		k->arc[a->arc_res]++;
		sbuf_printf(&h, ";\r\n\tarc=%s smtp.remote-ip=",
			    arc_result_name(a->arc_res));
		put_value(&h, s->client_addr);
		/* RFC 8617 7.2: how far back the messages signed still hold */
		if (a->arc_res == ARC_PASS)
			sbuf_printf(&h, " header.oldest-pass=%d",
				    a->arc.oldest_pass);
		if (a->arc.n != 0 && a->arc_res == ARC_PASS)
			log_info("%s: arc=pass sets=%d oldest-pass=%d", s->id,
				 a->arc.n, a->arc.oldest_pass);
		else if (a->arc.n != 0)
			log_info("%s: arc=%s sets=%d%s%s%s", s->id,
				 arc_result_name(a->arc_res), a->arc.n,
				 a->arc.why[0] ? " (" : "", a->arc.why,
				 a->arc.why[0] ? ")" : "");
	}
	if (mx->cfg->dmarc && a->from_domain[0]) {
		if (a->dmarc_found < 0) {
			dres = "temperror";
			k->dmarc_temperror++;
		} else if (a->dmarc_found == 0) {
			k->dmarc_none++;
		} else if (aligned_pass(a)) {
			dres = "pass";
			k->dmarc_pass++;
		} else {
			dres = "fail";
			k->dmarc_fail++;
			tls_random(&roll, 1);
			pol = dmarc_policy(&a->rec, a->dmarc_step == 1,
					   roll % 100);
		}
		sbuf_printf(&h, ";\r\n\tdmarc=%s", dres);
		if (a->dmarc_found > 0)
			sbuf_printf(&h, " (p=%s)", dmarc_policy_name(a->rec.p));
		sbuf_puts(&h, " header.from=");
		put_value(&h, a->from_domain);
		log_info("%s: dmarc=%s header.from=%s policy=%s", s->id, dres,
			 a->from_domain, dres[0] == 'f' ?
			 dmarc_policy_name(pol) : "-");
	}
	sbuf_puts(&h, "\r\n");
	/* our own domains from outside: SPF or DKIM must pass for them */
	at = strrchr(s->env.from, '@');
	if (mx->cfg->local_forgery) {
		if (at && mx_is_local_domain(mx, at + 1) &&
		    !domain_passes(a, at + 1))
			forged = at + 1;
		else if (a->from_domain[0] &&
			 mx_is_local_domain(mx, a->from_domain) &&
			 !domain_passes(a, a->from_domain))
			forged = a->from_domain;
		else if (a->from_unclean && !domain_passes(a, a->from_unclean))
			forged = a->from_unclean;
	}
	if (forged) {
		k->forged_local_rejected++;
		log_info("%s: reject: END-OF-MESSAGE from [%s]: 550 5.7.1 %s is "
			 "ours but passed neither SPF nor DKIM; from=<%s>",
			 s->id, s->client_addr, forged, s->env.from);
		smtp_reply_set(&r, 550, "5.7.1", "%s is our domain: mail from "
			       "outside must pass SPF or DKIM for it", forged);
		smtp_session_reply(s, &r);
	} else if (pol == DMARC_P_REJECT && mx->cfg->dmarc_policy) {
		k->dmarc_rejected++;
		log_info("%s: reject: END-OF-MESSAGE from [%s]: 550 5.7.1 DMARC "
			 "policy of %s; from=<%s>", s->id, s->client_addr,
			 a->from_domain, s->env.from);
		smtp_reply_set(&r, 550, "5.7.1", "Rejected by the DMARC policy "
			       "of %s", a->from_domain);
		smtp_session_reply(s, &r);
	} else {
		if (pol == DMARC_P_QUARANTINE && mx->cfg->dmarc_policy) {
			k->dmarc_quarantined++;
			sbuf_printf(&h, "%s: dmarc=quarantine header.from=%s\r\n",
				    TRACEHDR_JUNK, a->from_domain);
		}
		mx_deliver(mx, s, h.data, h.len);
	}
	sbuf_free(&h);
}

static void auth_free(struct mx_auth *a)
{
	arc_chain_free(&a->arc);
	free(a->akq);
	free(a);
}

static void release(struct mx_auth *a)
{
	if (--a->pending > 0)
		return;
	if (a->s == NULL) {	/* the session went away meanwhile */
		auth_free(a);
		return;
	}
	finish(a);
}

static void dmarc_lookup(struct mx_auth *a, const char *domain);

static void dmarc_cb(void *arg, const struct dns_rr_result *r)
{
	struct mx_auth *a = arg;
	size_t i, n = 0, which = 0;

	if (a->s == NULL) {
		release(a);
		return;
	}
	if (r->status == DNS_TEMPFAIL) {
		a->dmarc_found = -1;
		release(a);
		return;
	}
	for (i = 0; i < r->n; i++)
		if (dmarc_is_record(r->rr[i], r->len[i])) {
			n++;
			which = i;
		}
	/* 6.6.3: exactly one record counts */
	if (n == 1 && dmarc_record_parse(r->rr[which], r->len[which],
					 &a->rec) == 0) {
		a->dmarc_found = 1;
	} else if (n == 0 && a->dmarc_step == 0 &&
		   strcmp(a->org, a->from_domain) != 0) {
		a->dmarc_step = 1;
		dmarc_lookup(a, a->org);
	}
	release(a);
}

static void dmarc_lookup(struct mx_auth *a, const char *domain)
{
	char name[300];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	a->pending++;
	dns_query(a->mx->dns, name, DNS_T_TXT, dmarc_cb, a);
}

static void key_cb(void *arg, const struct dns_rr_result *r)
{
	struct key_query *q = arg;
	struct mx_auth *a = q->a;
	struct dkim_sig *g = q->arc ? &a->arc.sigs[q->i] : &a->sigs[q->i];
	const char *msg;
	size_t i, hl;

	if (a->s == NULL) {
		release(a);
		return;
	}
	msg = a->s->msg.data;
	hl = header_section(a->s);
	if (r->status == DNS_TEMPFAIL) {
		g->result = DKIM_TEMPERROR;
		g->need_key = 0;
		snprintf(g->why, sizeof(g->why), "key lookup failed");
	} else {
		for (i = 0; i < r->n && !strstr(r->rr[i], "p="); i++)
			;
		if (q->arc)
			arc_verify_key(&a->arc, q->i, msg, hl,
				       i < r->n ? r->rr[i] : NULL,
				       i < r->n ? r->len[i] : 0);
		else
			dkim_verify_key(g, msg, hl, i < r->n ? r->rr[i] : NULL,
					i < r->n ? r->len[i] : 0);
	}
	/* with every key in, DMARC (in the same pending count) */
	if (a->pending == 1 && a->mx->cfg->dmarc && a->from_domain[0] &&
	    a->dmarc_step == 0 && a->dmarc_found == 0)
		dmarc_lookup(a, a->from_domain);
	release(a);
}

/* Prepare the ARC chain and look its keys up with DKIM's (RFC 8617
 * 5.2: the same key records, s._domainkey.d). */
static void arc_start(struct mx_auth *a)
{
	struct smtp_session *s = a->s;
	char name[400];
	size_t i;

	arc_chain_free(&a->arc);
	free(a->akq);
	a->akq = NULL;
	arc_verify_prepare(&a->arc, s->msg.data, header_section(s),
			   s->msg.len, time(NULL));
	if (a->arc.nsig == 0)
		return;
	a->akq = calloc(a->arc.nsig, sizeof(*a->akq));
	for (i = 0; a->akq && i < a->arc.nsig; i++) {
		if (!a->arc.sigs[i].need_key ||
		    dkim_key_name(&a->arc.sigs[i], name, sizeof(name)) < 0)
			continue;
		a->akq[i].a = a;
		a->akq[i].i = i;
		a->akq[i].arc = 1;
		a->pending++;
		dns_query(a->mx->dns, name, DNS_T_TXT, key_cb, &a->akq[i]);
	}
}

void mx_auth_data(struct mx *mx, struct smtp_session *s)
{
	struct mx_auth *a;
	char name[400];
	const char *why;
	size_t i, n;

	n = authres_strip(&s->msg, &s->header_len, authserv_id(mx));
	if (n)
		log_info("%s: removed %zu Authentication-Results field(s) "
			 "with our authserv-id from [%s]", s->id, n,
			 s->client_addr);
	if (s->trusted || (!mx->cfg->dkim && !mx->cfg->dmarc &&
			   !mx->cfg->local_forgery && !mx->cfg->spf &&
			   !mx->cfg->arc)) {
		mx_deliver(mx, s, "", 0);
		return;
	}
	a = auth_of(mx, s, 1);
	if (a == NULL) {
		mx_deliver(mx, s, "", 0);
		return;
	}
	a->nsig = 0;
	a->dmarc_step = a->dmarc_found = 0;
	/* the strict RFC 5322 reading msa and the DKIM signer use; a From:
	 * that is not exactly one mailbox has no DMARC domain (logged) */
	a->from_unclean = NULL;
	if (dkim_from_domain(s->msg.data, s->header_len, a->from_domain,
			     sizeof(a->from_domain), &why) < 0) {
		log_info("%s: dmarc: no From: domain: %s", s->id, why);
		a->from_unclean = from_names_local(mx, s->msg.data,
						   s->header_len);
	}
	dmarc_org_domain(mx->psl, a->from_domain, a->org, sizeof(a->org));
	a->pending = 1;	/* ours, let go at the end of this function */
	if (mx->cfg->dkim)
		a->nsig = dkim_verify_prepare(s->msg.data, header_section(s),
					      s->msg.len, time(NULL), a->sigs,
					      DKIM_MAX_SIGS);
	for (i = 0; i < a->nsig; i++) {
		if (!a->sigs[i].need_key ||
		    dkim_key_name(&a->sigs[i], name, sizeof(name)) < 0)
			continue;
		a->kq[i].a = a;
		a->kq[i].i = i;
		a->kq[i].arc = 0;
		a->pending++;
		dns_query(mx->dns, name, DNS_T_TXT, key_cb, &a->kq[i]);
	}
	if (mx->cfg->arc)
		arc_start(a);
	if (a->pending == 1 && mx->cfg->dmarc && a->from_domain[0])
		dmarc_lookup(a, a->from_domain);
	release(a);
}

void mx_auth_close(struct mx *mx, struct smtp_session *s)
{
	struct mx_auth *a = auth_of(mx, s, 0);

	if (a == NULL)
		return;
	if (a->prev)
		a->prev->next = a->next;
	else
		mx->auths = a->next;
	if (a->next)
		a->next->prev = a->prev;
	spf_check_free(a->spf);	/* one waiting frees itself later */
	a->spf = NULL;
	mx_sender_free(a->sender);
	a->sender = NULL;
	a->s = NULL;
	if (a->pending == 0)
		auth_free(a);
}

int mx_auth_spf_pass(struct mx *mx, struct smtp_session *s)
{
	struct mx_auth *a = auth_of(mx, s, 0);

	return a != NULL && a->spf_res == SPF_PASS;
}
