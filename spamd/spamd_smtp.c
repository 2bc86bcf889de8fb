/*
 * NAME
 *	spamd_smtp - the LMTP hooks of stage D
 * DESCRIPTION
 *	Only the trusted inner stages may hand mail to spamd (554 5.7.1 at
 *	connect otherwise); their claims (client address, AUTH=) come with
 *	the mail. At end of data: earlier X-Spam-* fields are removed, the
 *	client address is looked up in the DNSBLs (in the loop, skipped for
 *	authenticated senders), the message moves to a worker thread for
 *	the rules and Bayes (PIPELINE.md: no copy; the session gets it back
 *	in done), then policy: reject at reject_score (550 5.7.1 for every
 *	recipient), quarantine at quarantine_score (a synced file, 250
 *	"quarantined", not forwarded; spam of our own users always, see
 *	spamd_notify.c), else X-Spam-* in front and queued
 *	(250 after the group commit). A session that closes meanwhile
 *	leaves its job to be freed where it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "quarantine.h"
#include "spamd_stage.h"
#include "tracehdr.h"
#include "workq.h"

struct spamd_job {
	struct spamd *sd;
	struct smtp_session *s;	/* NULL once the session closed */
	struct spamd_job *next;
	struct sbuf msg;	/* the session's, while the job has it */
	struct spamd_verdict v;
	int failed;		/* scoring ran out of memory */
	int reload;		/* bayes_slot_refresh(): 1 or -1 */
	char err[256];
};

static struct spamd *sd_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

const char *const *spamd_strip_prefixes(void)
{
	static const char *list[2];
	size_t i;

	for (i = 0; list[0] == NULL && TRACEHDR_PREFIXES[i]; i++)
		if (strncasecmp(TRACEHDR_PREFIXES[i], "X-Spam-", 7) == 0)
			list[0] = TRACEHDR_PREFIXES[i];
	if (list[0] == NULL)
		log_panic("tracehdr.h has no X-Spam- prefix");
	return list;
}

static int sd_connect(struct smtp_session *s, struct smtp_reply *r)
{
	struct spamd *sd = sd_of(s);

	if (s->trusted)
		return 0;
	log_warn("%s: reject: connect from [%s]: not a trusted peer", s->id,
		 s->client_addr);
	return smtp_reply_set(r, 554, "5.7.1", "%s: not a trusted peer",
			      sd->cfg->hostname);
}

static void job_free(struct spamd_job *j)
{
	struct spamd_job **pp;

	for (pp = &j->sd->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	sbuf_free(&j->msg);
	free(j);
}

static void reply_all(struct smtp_session *s, int code, const char *ecode,
		      const char *text)
{
	struct smtp_reply r;
	size_t n = smtp_session_replies_owed(s);

	smtp_reply_set(&r, code, ecode, "%s", text);
	while (n-- > 0)
		smtp_session_reply(s, &r);
}

static void log_verdict(struct spamd *sd, const char *id,
			const struct spamd_verdict *v, const char *action)
{
	char tests[700], bayes[16] = "none";

	spamd_tests(v, tests, sizeof(tests));
	if (v->bayes >= 0)
		snprintf(bayes, sizeof(bayes), "%.4f", v->bayes);
	log_info("%s: spam score=%.1f required=%.1f tests=%s bayes=%s "
		 "action=%s", id, v->score, sd->core.required, tests, bayes,
		 action);
}

/* Into quarantine_dir with the envelope in front (quarantine.h); for
 * user spam, the admin is told. */
static void quarantine(struct spamd *sd, struct smtp_session *s,
		       struct spamd_job *j, struct sbuf *pre, int user)
{
	char name[256], text[300], reason[400], err[512], safe[300];
	char tests[700];
	struct sbuf sum;
	int rc;

	log_safe(safe, sizeof(safe), user ? s->env.auth_user : "");
	snprintf(reason, sizeof(reason), "spam score=%.1f%s%s", j->v.score,
		 user ? " user=" : "", user ? safe : "");
	snprintf(err, sizeof(err), "out of memory");
	sbuf_init(&sum, 1 << 20);
	rc = quarantine_summary(s, &sum) < 0 || sbuf_append(&sum, pre->data,
							    pre->len) < 0;
	if (rc == 0 && quarantine_write(sd->cfg->quarantine_dir, reason, &sum,
			s->msg.data ? s->msg.data : "", s->msg.len, name,
			sizeof(name), err, sizeof(err)) < 0)
		rc = 1;
	sbuf_free(&sum);
	if (rc) {
		log_error("%s: cannot write to quarantine_dir %s: %s", s->id,
			  sd->cfg->quarantine_dir, err);
		reply_all(s, 451, "4.3.0", "Error: quarantine write error");
		return;
	}
	log_verdict(sd, s->id, &j->v, "quarantine");
	if (user) {
		spamd_tests(&j->v, tests, sizeof(tests));
		log_warn("%s: user spam: user=%s, from=<%s>, nrcpt=%zu, "
			 "score=%.1f, quarantine=%s", s->id, safe, s->env.from,
			 s->env.nrcpt, j->v.score, name);
		spamd_notify_admin(sd, s, name, tests, j->v.score);
	}
	snprintf(text, sizeof(text), "Ok: quarantined as %s", name);
	reply_all(s, 250, "2.0.0", text);
}

/* Back on the loop: the policy, then queue (or not). */
static void score_done(void *arg)
{
	struct spamd_job *j = arg;
	struct spamd *sd = j->sd;
	struct smtp_session *s = j->s;
	struct sbuf pre;
	const char *qid;
	int user;

	if (j->reload > 0)
		log_info("bayes_db %s reloaded", sd->cfg->bayes_db);
	else if (j->reload < 0)
		log_error("bayes_db: %s (the old counts stay)", j->err);
	if (s == NULL) {	/* the session went away meanwhile */
		job_free(j);
		return;
	}
	sbuf_free(&s->msg);
	s->msg = j->msg;
	sbuf_init(&j->msg, 0);
	if (j->failed) {
		log_error("%s: scoring failed: out of memory", s->id);
		reply_all(s, 451, "4.3.0", "Error: out of memory");
		job_free(j);
		return;
	}
	if (j->v.score >= sd->core.required)
		METRICS_COUNT(METRIC_SPAM);
	/* our own user's spam never goes on, whatever the policy for
	 * mail from outside */
	user = sd->cfg->user_spam_quarantine &&
	       spamd_is_user_mail(&s->env) && j->v.score >= sd->core.required;
	if (!user && sd->reject > 0 && j->v.score >= sd->reject) {
		log_verdict(sd, s->id, &j->v, "reject");
		reply_all(s, 550, "5.7.1", "Message rejected as spam");
		job_free(j);
		return;
	}
	sbuf_init(&pre, 65536);
	if (spamd_headers(&sd->core, &j->v, &pre) < 0) {
		reply_all(s, 451, "4.3.0", "Error: out of memory");
	} else if (user ||
		   (sd->quarantine > 0 && j->v.score >= sd->quarantine)) {
		quarantine(sd, s, j, &pre, user);
	} else {
		sbuf_reset(&pre);
		if (spool_received(s, sd->cfg->hostname, &pre) < 0 ||
		    spamd_headers(&sd->core, &j->v, &pre) < 0) {
			reply_all(s, 451, "4.3.0", "Error: out of memory");
		} else {
			spool_accept(&sd->spool, s, pre.data, pre.len);
			qid = spool_qid(s);
			log_verdict(sd, qid ? qid : s->id, &j->v,
				    j->v.score >= sd->core.required ? "flag"
				    : "pass");
		}
	}
	sbuf_free(&pre);
	job_free(j);
}

/* On a worker thread: only the job and the read-only tables. */
static void score_work(void *arg)
{
	struct spamd_job *j = arg;
	struct spamd *sd = j->sd;
	struct bayes_table *t;

	j->reload = bayes_slot_refresh(&sd->bayes, j->err, sizeof(j->err));
	t = bayes_slot_get(&sd->bayes);
	if (spamd_score(&sd->core, t, j->msg.data ? j->msg.data : "",
			j->msg.len, &j->v) < 0)
		j->failed = 1;
	bayes_unref(t);
}

static void score(struct spamd_job *j)
{
	if (workq_submit(j->sd->wq, score_work, score_done, j) == 0)
		return;
	j->failed = 1;
	score_done(j);
}

static void add_dnsbl(struct spamd_job *j, const struct dnsbl_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		spamd_verdict_add(&j->v, r->hit[i].name, r->hit[i].score);
}

static void dnsbl_done(void *arg, const struct dnsbl_result *r)
{
	struct spamd_job *j = arg;

	if (j->s == NULL) {
		job_free(j);
		return;
	}
	add_dnsbl(j, r);
	score(j);
}

static void sd_data(struct smtp_session *s)
{
	struct spamd *sd = sd_of(s);
	struct spamd_job *j = calloc(1, sizeof(*j));
	struct dnsbl_result now;
	const char *addr;

	if (j == NULL) {
		reply_all(s, 451, "4.3.0", "Error: out of memory");
		return;
	}
	/* nobody upstream may decide our verdict */
	tracehdr_strip(&s->msg, &s->header_len, spamd_strip_prefixes());
	j->sd = sd;
	j->s = s;
	spamd_verdict_init(&j->v);
	j->msg = s->msg;	/* moved, not copied */
	sbuf_init(&s->msg, j->msg.max);
	j->next = sd->jobs;
	sd->jobs = j;
	/* the address mx saw; an authenticated sender is not looked up
	 * (and then has no hits: now must not be left undefined) */
	memset(&now, 0, sizeof(now));
	addr = s->env.client_addr ? s->env.client_addr : s->client_addr;
	/* an authenticated sender skips the lookup: no hits, not whatever
	 * the stack held */
	memset(&now, 0, sizeof(now));
	if (s->env.auth_user == NULL &&
	    spamd_dnsbl_lookup(sd->dnsbl, sd->dns, addr, &now, dnsbl_done, j))
		return;
	add_dnsbl(j, &now);
	score(j);
}

static void sd_close(struct smtp_session *s)
{
	struct spamd *sd = sd_of(s);
	struct spamd_job *j;

	for (j = sd->jobs; j; j = j->next)
		if (j->s == s)
			j->s = NULL;
	spool_closed(&sd->spool, s);
}

const struct smtp_hooks spamd_hooks = {
	.on_connect = sd_connect,
	.on_data = sd_data,
	.on_close = sd_close,
};
