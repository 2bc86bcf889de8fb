/*
 * NAME
 *	spamd_milter - sluice-spamd -m: the scoring core as a milter
 * DESCRIPTION
 *	For sites whose MTA is Postfix or Sendmail (smtpd_milters =
 *	inet:127.0.0.1:8892). libmilter owns the threads and the loop
 *	(STYLE.md), so this mode is separate from the LMTP stage and calls
 *	the same core: the header and the first scan_size bytes of the body
 *	are collected per message, the client address comes from the
 *	connect callback, and at end of message the DNSBL lookups run in a
 *	small event loop of this thread (skipped when the MTA says the
 *	sender authenticated, macro {auth_authen}), then the rules and
 *	Bayes. Result: forged X-Spam-* fields are deleted and ours added;
 *	at reject_score the message is refused with 550 5.7.1, at
 *	quarantine_score put on hold by the MTA; any error is a temporary
 *	failure. common/milter.c talks to libmilter and collects the
 *	message; this file maps the score to its verdict. Faces the MTA,
 *	which faces the network.
 *
 *	Users' sender lists (spamd_lists.c): the MTA passes one copy of
 *	the message for all its recipients and takes one set of header
 *	fields, so the LMTP mode's split (each kind of recipient its own
 *	copy) cannot be done here. Chosen: the lists decide the fields only
 *	when every recipient's lists agree (all allow: USER_ALLOW, -100;
 *	all block: USER_BLOCK, +100); one recipient's block must not mark
 *	another's mail as spam, nor one allow take the filter off mail to
 *	a hundred others. But when any recipient allows the sender, the
 *	message is neither refused nor held for its score (that recipient
 *	asked for it; the others see the score in the fields), as in LMTP
 *	mode. A recipient not kept (more than max_recipients) counts as
 *	one with no lists.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "spamd_stage.h"
#include "tracehdr.h"

static struct spamd *msd;
static void (*m_start)(void);
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;

static int m_is_forged(const char *name)
{
	const char *pre = spamd_strip_prefixes()[0];

	return strncasecmp(name, pre, strlen(pre)) == 0;
}

struct wait {
	struct evloop *loop;
	struct dnsbl_result r;
};

static void dnsbl_done(void *arg, const struct dnsbl_result *r)
{
	struct wait *w = arg;

	w->r = *r;
	evloop_stop(w->loop);
}

/* The DNSBL lookups, in a loop of this thread's own. */
static void dnsbl(struct milter_msg *m, struct spamd_verdict *v)
{
	struct wait w;
	struct dns *dns;
	char err[256];
	size_t i;

	memset(&w, 0, sizeof(w));
	if (m->auth || spamd_dnsbl_count(msd->dnsbl) == 0 ||
	    dnsbl_skip(m->client))
		return;
	if ((w.loop = evloop_new()) == NULL)
		return;
	/* c-ares' library init and cleanup count users without a lock */
	pthread_mutex_lock(&dns_mu);
	dns = dns_new(w.loop, msd->cfg->dns_servers,
		      (unsigned)msd->cfg->dns_timeout * 1000, err,
		      sizeof(err));
	pthread_mutex_unlock(&dns_mu);
	if (dns == NULL) {
		log_error("dns: %s", err);
	} else {
		if (spamd_dnsbl_lookup(msd->dnsbl, dns, NULL, m->client, &w.r,
				       dnsbl_done, &w))
			evloop_run(w.loop);
		pthread_mutex_lock(&dns_mu);
		dns_free(dns);
		pthread_mutex_unlock(&dns_mu);
	}
	evloop_free(w.loop);
	for (i = 0; i < w.r.n; i++)
		spamd_verdict_add(v, w.r.hit[i].name, w.r.hit[i].score);
}

/* What the recipients' lists say of m (see the top of the file):
 * SPAMD_LIST_ALLOW or _BLOCK when all agree, else SPAMD_LIST_NONE;
 * *some_allow set when at least one allows the sender. */
static int m_lists(const struct milter_msg *m, int *some_allow)
{
	char senders[8][LIM_PATH + 1];
	const char *msg = m->data.data ? m->data.data : "", *eoh;
	struct senders *t;
	size_t n, i, hlen;
	int v, all = -1;

	*some_allow = 0;
	if (!spamd_lists_on(&msd->lists) || m->nrcpt == 0)
		return SPAMD_LIST_NONE;
	eoh = memmem(msg, m->data.len, "\r\n\r\n", 4);
	hlen = eoh ? (size_t)(eoh - msg) + 4 : m->data.len;
	n = spamd_senders(m->sender, msg, hlen, senders, 8);
	t = spamd_lists_get(&msd->lists);
	for (i = 0; i < m->nrcpt; i++) {
		v = spamd_list_verdict(t, m->rcpt[i], senders, n);
		if (v == SPAMD_LIST_ALLOW)
			*some_allow = 1;
		all = all == -1 || all == v ? v : SPAMD_LIST_NONE;
	}
	senders_unref(&t);
	return m->rcpt_lost > 0 || all < 0 ? SPAMD_LIST_NONE : all;
}

static void m_eom(void *arg, struct milter_msg *m, struct milter_verdict *mv)
{
	struct spamd_verdict v;
	struct bayes_table *t;
	char err[256], tests[700];
	const char *action;
	int rc, list, allowed;
	double own;

	spamd_verdict_init(&v);
	dnsbl(m, &v);
	if (bayes_slot_refresh(&msd->bayes, err, sizeof(err)) < 0)
		log_error("bayes_db: %s (the old counts stay)", err);
	t = bayes_slot_get(&msd->bayes);
	rc = spamd_score(&msd->core, t, m->data.data ? m->data.data : "",
			 m->data.len, &v);
	bayes_unref(t);
	if (rc < 0) {
		log_error("%s: scoring failed: out of memory", m->qid);
		mv->action = MILTER_TEMPFAIL;
		return;
	}
	if (v.score >= msd->core.required)
		METRICS_COUNT(METRIC_SPAM);
	list = m_lists(m, &allowed);
	spamd_tests(&v, tests, sizeof(tests));
	if (!allowed && msd->reject > 0 && v.score >= msd->reject) {
		log_info("%s: spam score=%.1f required=%.1f tests=%s "
			 "action=reject", m->qid, v.score, msd->core.required,
			 tests);
		mv->action = MILTER_REJECT;
		mv->code = "550";
		mv->ext = "5.7.1";
		snprintf(mv->text, sizeof(mv->text), "Message rejected as spam");
		return;
	}
	/* the policy above saw the message's own score; the fields carry
	 * what the lists add (as in LMTP mode) */
	own = v.score;
	if (list == SPAMD_LIST_ALLOW)
		spamd_verdict_add(&v, "USER_ALLOW", -100.0);
	else if (list == SPAMD_LIST_BLOCK)
		spamd_verdict_add(&v, "USER_BLOCK", 100.0);
	mv->add[0].name = TRACEHDR_SPAM_SCORE;
	spamd_score_value(&v, mv->add[0].value, sizeof(mv->add[0].value));
	mv->add[1].name = TRACEHDR_SPAM_STATUS;
	spamd_status_value(&msd->core, &v, mv->add[1].value,
			   sizeof(mv->add[1].value));
	mv->nadd = 2;
	if (v.score >= msd->core.required) {
		mv->add[2].name = TRACEHDR_SPAM_FLAG;
		snprintf(mv->add[2].value, sizeof(mv->add[2].value), "YES");
		mv->nadd = 3;
	}
	action = list == SPAMD_LIST_ALLOW ? "allow" :
		 list == SPAMD_LIST_BLOCK ? "block" :
		 v.score >= msd->core.required ? "flag" : "pass";
	if (!allowed && msd->quarantine > 0 && own >= msd->quarantine) {
		snprintf(mv->hold, sizeof(mv->hold), "spam");
		action = "quarantine";
	}
	spamd_tests(&v, tests, sizeof(tests));
	log_info("%s: spam score=%.1f required=%.1f tests=%s action=%s",
		 m->qid, v.score, msd->core.required, tests, action);
}

static void m_started(void *arg)
{
	m_start();
}

int spamd_milter_run(struct spamd *sd, void (*started)(void))
{
	struct milter_ops ops = {
		.name = "sluice-spamd",
		.listen = sd->cfg->milter_listen,
		.user = sd->cfg->user,
		.max_sessions = sd->cfg->max_sessions,
		.mem_max = sd->core.scan_size,
		.max_rcpts = spamd_lists_on(&sd->lists) ?
			     (size_t)sd->cfg->max_recipients : 0,
		.is_forged = m_is_forged,
		.scan_forged = 0,
		.started = m_started,
		.eom = m_eom,
	};
	int rc;

	msd = sd;
	m_start = started;
	rc = milter_run(&ops);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
