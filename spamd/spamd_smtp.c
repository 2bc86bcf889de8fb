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
	/* the users' lists (sender_lists): the recipients and the
	 * envelope sender copied for the worker, its verdict per
	 * recipient (SPAMD_LIST_*); rcpt NULL when there are no lists */
	char **rcpt;
	char *from;
	size_t nrcpt, hlen;
	unsigned char *list;
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
	while (j->rcpt && j->nrcpt > 0)
		free(j->rcpt[--j->nrcpt]);
	free(j->rcpt);
	free(j->from);
	free(j->list);
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

/* Does some recipient's list say what? */
static int has_list(const struct spamd_job *j, int what)
{
	size_t i;

	for (i = 0; j->list && i < j->nrcpt; i++)
		if (j->list[i] == what)
			return 1;
	return 0;
}

/* The trace header and v's X-Spam fields for the recipients whose
 * lists say what (SPAMD_LIST_*): USER_ALLOW (-100) or USER_BLOCK
 * (+100) added, as SpamAssassin's lists do. 0 or -1. */
static int list_headers(struct spamd *sd, struct smtp_session *s,
			const struct spamd_verdict *v, int what,
			struct sbuf *pre)
{
	struct spamd_verdict lv = *v;

	if (what == SPAMD_LIST_ALLOW)
		spamd_verdict_add(&lv, "USER_ALLOW", -100.0);
	else if (what == SPAMD_LIST_BLOCK)
		spamd_verdict_add(&lv, "USER_BLOCK", 100.0);
	sbuf_reset(pre);
	if (spool_received(s, sd->cfg->hostname, pre) < 0 ||
	    spamd_headers(&sd->core, &lv, pre) < 0)
		return -1;
	return 0;
}

/* Keep the recipients of e (the session's, in order) whose lists say
 * what. 0 or -1. */
static int keep_only(struct envelope *e, const struct spamd_job *j, int what)
{
	unsigned char *keep = calloc(j->nrcpt + 1, 1);
	size_t i;

	if (keep == NULL || e->nrcpt != j->nrcpt) {
		free(keep);
		return -1;
	}
	for (i = 0; i < j->nrcpt; i++)
		keep[i] = j->list[i] == what;
	envelope_keep(e, keep);
	free(keep);
	return 0;
}

/* Queue the recipients whose lists say what as a message of their
 * own, with their verdict (the session's recipients are answered after
 * the group commit that makes this durable too). 0 or -1. */
static int queue_part(struct spamd *sd, struct smtp_session *s,
		      struct spamd_job *j, int what, struct sbuf *pre)
{
	struct envelope ne;
	struct qmsg *m;
	int rc = -1;

	memset(&ne, 0, sizeof(ne));
	spool_claims(&sd->spool, s);
	if (envelope_copy(&ne, &s->env) < 0 || keep_only(&ne, j, what) < 0) {
		envelope_free(&ne);
		return -1;
	}
	if (list_headers(sd, s, &j->v, what, pre) == 0 &&
	    sbuf_append(pre, s->msg.data ? s->msg.data : "", s->msg.len)
	    == 0 && (m = queue_add(sd->spool.q, &ne, pre->data, pre->len))
	    != NULL) {
		log_info("%s: %s: user list=%s, nrcpt=%zu (queue active)",
			 m->id, s->id, what == SPAMD_LIST_ALLOW ? "allow" :
			 what == SPAMD_LIST_BLOCK ? "block" : "none",
			 ne.nrcpt);
		spool_added(&sd->spool);
		rc = 0;
	}
	envelope_free(&ne);
	return rc;
}

/* Queue the message: the recipients whose lists allow or block the
 * sender each as a message of its own (their verdict differs), the
 * rest (those of the first recipient's kind) through the session. */
static void deliver(struct spamd *sd, struct smtp_session *s,
		    struct spamd_job *j, struct sbuf *pre)
{
	const char *qid;
	int first = j->list ? j->list[0] : SPAMD_LIST_NONE, what, parts = 0;

	for (what = SPAMD_LIST_NONE; j->list && what <= SPAMD_LIST_BLOCK;
	     what++) {
		if (what == first || !has_list(j, what))
			continue;
		parts++;
		if (queue_part(sd, s, j, what, pre) < 0) {
			reply_all(s, 451, "4.3.0", "Error: out of memory");
			return;
		}
	}
	/* the session's entry: the first recipient's kind only */
	if (parts > 0 && keep_only(&s->env, j, first) < 0) {
		reply_all(s, 451, "4.3.0", "Error: out of memory");
		return;
	}
	if (list_headers(sd, s, &j->v, first, pre) < 0) {
		reply_all(s, 451, "4.3.0", "Error: out of memory");
		return;
	}
	spool_accept(&sd->spool, s, pre->data, pre->len);
	qid = spool_qid(s);
	log_verdict(sd, qid ? qid : s->id, &j->v, first == SPAMD_LIST_ALLOW ?
		    "allow" : first == SPAMD_LIST_BLOCK ? "block" :
		    j->v.score >= sd->core.required ? "flag" : "pass");
}

/* Back on the loop: the policy, then queue (or not). */
static void score_done(void *arg)
{
	struct spamd_job *j = arg;
	struct spamd *sd = j->sd;
	struct smtp_session *s = j->s;
	struct sbuf pre;
	int user, allowed;

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
	/* a recipient who allows the sender gets it, so the message is
	 * neither refused nor held for the score: the others find it in
	 * Junk */
	allowed = has_list(j, SPAMD_LIST_ALLOW);
	if (!user && !allowed && sd->reject > 0 && j->v.score >= sd->reject) {
		log_verdict(sd, s->id, &j->v, "reject");
		reply_all(s, 550, "5.7.1", "Message rejected as spam");
		job_free(j);
		return;
	}
	sbuf_init(&pre, 65536);
	if (spamd_headers(&sd->core, &j->v, &pre) < 0) {
		reply_all(s, 451, "4.3.0", "Error: out of memory");
	} else if (user || (!allowed && sd->quarantine > 0 &&
			    j->v.score >= sd->quarantine)) {
		quarantine(sd, s, j, &pre, user);
	} else {
		deliver(sd, s, j, &pre);
	}
	sbuf_free(&pre);
	job_free(j);
}

/* On the worker: what each recipient's lists say of the senders. */
static void lists_work(struct spamd *sd, struct spamd_job *j)
{
	char senders[8][LIM_PATH + 1];
	struct senders *t = spamd_lists_get(&sd->lists);
	size_t n, i;

	n = spamd_senders(j->from, j->msg.data ? j->msg.data : "",
			  j->hlen < j->msg.len ? j->hlen : j->msg.len,
			  senders, 8);
	for (i = 0; i < j->nrcpt; i++)
		j->list[i] = (unsigned char)spamd_list_verdict(t, j->rcpt[i],
							       senders, n);
	senders_unref(&t);
}

/* Copy what lists_work() needs from the session (the worker must not
 * read it). 0 or -1. */
static int lists_copy(struct spamd_job *j, const struct smtp_session *s)
{
	size_t i;

	j->rcpt = calloc(s->env.nrcpt + 1, sizeof(*j->rcpt));
	j->list = calloc(s->env.nrcpt + 1, 1);
	j->from = strdup(s->env.from ? s->env.from : "");
	if (j->rcpt == NULL || j->list == NULL || j->from == NULL)
		return -1;
	for (i = 0; i < s->env.nrcpt; i++) {
		if ((j->rcpt[i] = strdup(s->env.rcpts[i].addr)) == NULL)
			return -1;
		j->nrcpt++;
	}
	j->hlen = s->header_len;
	return 0;
}

/* On a worker thread: only the job and the read-only tables. */
static void score_work(void *arg)
{
	struct spamd_job *j = arg;
	struct spamd *sd = j->sd;
	struct bayes_table *t;

	if (!sd->learning)	/* else the learner's thread does it */
		j->reload = bayes_slot_refresh(&sd->bayes, j->err,
					       sizeof(j->err));
	if (j->rcpt != NULL)
		lists_work(sd, j);
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
	if (spamd_lists_on(&sd->lists) && lists_copy(j, s) < 0) {
		job_free(j);
		reply_all(s, 451, "4.3.0", "Error: out of memory");
		return;
	}
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
	    spamd_dnsbl_lookup(sd->dnsbl, sd->dns, sd->sh, addr, &now,
			       dnsbl_done, j))
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
