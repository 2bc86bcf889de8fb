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
 *	quarantine_score put on hold by the MTA (smfi_quarantine); any
 *	error is a temporary failure. The only file that includes
 *	libmilter/mfapi.h. Faces the MTA, which faces the network.
 */
#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "conn.h"
#include "daemon.h"
#include "dns.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "spamd_stage.h"
#include "tracehdr.h"

#define MAX_FORGED 32

static struct spamd *msd;
static pthread_mutex_t dns_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_long m_sessions;	/* connections with a context */

struct forged {
	char name[64];
	int idx;		/* occurrence of that name, from 1 */
};

struct mctx {
	char addr[64];
	int auth;
	struct sbuf msg;	/* header and the start of the body */
	struct forged forged[MAX_FORGED];
	size_t nforged;
};

static struct mctx *ctx_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void reset(struct mctx *m)
{
	sbuf_reset(&m->msg);
	m->nforged = 0;
	m->auth = 0;
}

static sfsistat m_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct mctx *m;
	char client[64];

	if (daemon_session_take(&m_sessions, msd->cfg->max_sessions) < 0) {
		conn_addr_text(sa, client, sizeof(client));
		log_warn("milter: connect for [%s]: max_sessions (%lld) "
			 "reached: tempfail", client, msd->cfg->max_sessions);
		return SMFIS_TEMPFAIL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		daemon_session_give(&m_sessions);
		return SMFIS_TEMPFAIL;
	}
	sbuf_init(&m->msg, msd->core.scan_size);
	conn_addr_text(sa, m->addr, sizeof(m->addr));
	smfi_setpriv(ctx, m);
	return SMFIS_CONTINUE;
}

static sfsistat m_envfrom(SMFICTX *ctx, char **argv)
{
	struct mctx *m = ctx_of(ctx);
	const char *a;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	reset(m);
	a = smfi_getsymval(ctx, "{auth_authen}");
	m->auth = a != NULL && *a != '\0';
	return SMFIS_CONTINUE;
}

/* Append what fits: the core reads scan_size bytes at most anyway. */
static void add(struct mctx *m, const char *p, size_t n)
{
	size_t room = m->msg.max - m->msg.len;

	sbuf_append(&m->msg, p, n < room ? n : room);
}

static sfsistat m_header(SMFICTX *ctx, char *name, char *value)
{
	struct mctx *m = ctx_of(ctx);
	const char *pre = spamd_strip_prefixes()[0];
	struct forged *f;
	size_t i;
	int idx = 1;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (strncasecmp(name, pre, strlen(pre)) == 0 &&
	    m->nforged < MAX_FORGED && strlen(name) < sizeof(f->name)) {
		for (i = 0; i < m->nforged; i++)
			if (strcasecmp(m->forged[i].name, name) == 0)
				idx++;
		f = &m->forged[m->nforged++];
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->idx = idx;
		return SMFIS_CONTINUE;	/* not ours to believe or score */
	}
	add(m, name, strlen(name));
	add(m, ": ", 2);
	add(m, value, strlen(value));
	add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat m_eoh(SMFICTX *ctx)
{
	struct mctx *m = ctx_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat m_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mctx *m = ctx_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	add(m, (const char *)p, n);
	return SMFIS_CONTINUE;
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
static void dnsbl(struct mctx *m, struct spamd_verdict *v)
{
	struct wait w;
	struct dns *dns;
	char err[256];
	size_t i;

	memset(&w, 0, sizeof(w));
	if (m->auth || spamd_dnsbl_count(msd->dnsbl) == 0 ||
	    dnsbl_skip(m->addr))
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
		if (spamd_dnsbl_lookup(msd->dnsbl, dns, m->addr, &w.r,
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

static sfsistat m_eom(SMFICTX *ctx)
{
	struct mctx *m = ctx_of(ctx);
	struct spamd_verdict v;
	struct bayes_table *t;
	char err[256], score[32], status[800], tests[700];
	const char *qid;
	size_t i;
	int rc;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	qid = smfi_getsymval(ctx, "i");
	qid = qid ? qid : "NOQUEUE";
	spamd_verdict_init(&v);
	dnsbl(m, &v);
	if (bayes_slot_refresh(&msd->bayes, err, sizeof(err)) < 0)
		log_error("bayes_db: %s (the old counts stay)", err);
	t = bayes_slot_get(&msd->bayes);
	rc = spamd_score(&msd->core, t, m->msg.data ? m->msg.data : "",
			 m->msg.len, &v);
	bayes_unref(t);
	if (rc < 0) {
		log_error("%s: scoring failed: out of memory", qid);
		return SMFIS_TEMPFAIL;
	}
	spamd_tests(&v, tests, sizeof(tests));
	if (v.score >= msd->core.required)
		METRICS_COUNT(METRIC_SPAM);
	if (msd->reject > 0 && v.score >= msd->reject) {
		log_info("%s: spam score=%.1f required=%.1f tests=%s "
			 "action=reject", qid, v.score, msd->core.required,
			 tests);
		smfi_setreply(ctx, "550", "5.7.1", "Message rejected as spam");
		return SMFIS_REJECT;
	}
	/* delete forged copies, last first: indexes count what is left */
	for (i = m->nforged; i-- > 0;)
		if (smfi_chgheader(ctx, m->forged[i].name, m->forged[i].idx,
				   NULL) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	spamd_score_value(&v, score, sizeof(score));
	spamd_status_value(&msd->core, &v, status, sizeof(status));
	if (smfi_addheader(ctx, TRACEHDR_SPAM_SCORE, score) != MI_SUCCESS ||
	    smfi_addheader(ctx, TRACEHDR_SPAM_STATUS, status) != MI_SUCCESS ||
	    (v.score >= msd->core.required &&
	     smfi_addheader(ctx, TRACEHDR_SPAM_FLAG, "YES") != MI_SUCCESS))
		return SMFIS_TEMPFAIL;
	if (msd->quarantine > 0 && v.score >= msd->quarantine &&
	    smfi_quarantine(ctx, "spam") != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	log_info("%s: spam score=%.1f required=%.1f tests=%s action=%s", qid,
		 v.score, msd->core.required, tests,
		 msd->quarantine > 0 && v.score >= msd->quarantine ?
		 "quarantine" : v.score >= msd->core.required ? "flag" :
		 "pass");
	reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat m_abort(SMFICTX *ctx)
{
	struct mctx *m = ctx_of(ctx);

	if (m)
		reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat m_close(SMFICTX *ctx)
{
	struct mctx *m = ctx_of(ctx);

	if (m) {
		sbuf_free(&m->msg);
		free(m);
		smfi_setpriv(ctx, NULL);
		daemon_session_give(&m_sessions);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "sluice-spamd",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = m_connect,
	.xxfi_envfrom = m_envfrom,
	.xxfi_header = m_header,
	.xxfi_eoh = m_eoh,
	.xxfi_body = m_body,
	.xxfi_eom = m_eom,
	.xxfi_abort = m_abort,
	.xxfi_close = m_close,
};

int spamd_milter_run(struct spamd *sd)
{
	char conn[300];

	msd = sd;
	if (daemon_milter_spec(sd->cfg->milter_listen, conn, sizeof(conn)) < 0)
		log_fatal("milter_listen: '%s' is not host:port",
			  sd->cfg->milter_listen);
	if (smfi_setconn(conn) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS)
		log_fatal("milter: cannot listen on %s", conn);
	log_info("milter listening on %s", sd->cfg->milter_listen);
	if (smfi_main() != MI_SUCCESS) {
		log_error("milter: stopped on an error");
		return 1;
	}
	log_info("stopped");
	return 0;
}
