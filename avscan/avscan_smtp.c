/*
 * NAME
 *	avscan_smtp - the LMTP hooks of stage C
 * DESCRIPTION
 *	Only the configured stages before us (mx, msa) may hand mail to the
 *	scanner; their trust claims travel on with the mail (the spool keeps
 *	them in the envelope). At end of data the message moves out of the
 *	session into a job for the work queue (no copy), is scanned there
 *	(and, when infected and the policy says so, written to the
 *	quarantine on the worker as well, so the loop never waits for a
 *	disk), and comes back in the done function, on the loop: clean
 *	mail gets a Received and an X-Sluice-Virus header and is queued for
 *	the next hop; infected mail is quarantined, discarded or rejected
 *	with one reply per recipient (LMTP), mail libclamav could not scan
 *	whole (past a limit) is quarantined, deferred, rejected or passed
 *	on marked unchecked (limits_exceeded_action), never called clean.
 *	A session that closed during the scan leaves its job to be freed by
 *	done. Messages of large_message_size or more go to the work queue's
 *	heavy lane, which runs on fewer threads than there are: a huge
 *	message never holds every scanner, small mail always finds one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avscan.h"
#include "log.h"
#include "quarantine.h"
#include "tracehdr.h"
#include "workq.h"

struct avscan_job {
	struct avscan *av;
	const struct avscan_engine *engine; /* the one at submit time */
	struct smtp_session *s;		/* NULL once it closed */
	struct avscan_job *next;	/* av->jobs */
	char sid[20];			/* s->id, for the log */
	struct sbuf msg;		/* the message, moved from s->msg */
	size_t header_len;
	struct sbuf summary;		/* envelope, for the quarantine */
	enum avscan_verdict verdict;
	char name[256];			/* virus, or why it failed */
	char qfile[32];			/* quarantine file name */
	char qerr[512];			/* why the quarantine failed */
	int qfailed;
	double ms;			/* scan time */
};

static const char *const virus_hdr[] = {TRACEHDR_VIRUS, NULL};

static struct avscan *av_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

static int av_connect(struct smtp_session *s, struct smtp_reply *r)
{
	struct avscan *av = av_of(s);

	if (s->trusted)
		return 0;
	log_warn("%s: reject: connect from [%s]: not a trusted peer", s->id,
		 s->client_addr);
	return smtp_reply_set(r, 554, "5.7.1", "%s: not a trusted peer",
			      av->cfg->hostname);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Does the verdict of a scan send the message to the quarantine? */
static int to_quarantine(const struct avscan_config *cfg,
			 enum avscan_verdict v)
{
	return (v == AVSCAN_VIRUS && cfg->infected_action == AV_QUARANTINE) ||
	       (v == AVSCAN_LIMITS &&
		cfg->limits_exceeded_action == AV_LIM_QUARANTINE);
}

/* On a worker: scan; quarantine or strip the old trace header. */
static void scan_work(void *arg)
{
	struct avscan_job *j = arg;
	const struct avscan_config *cfg = j->av->cfg;
	double t0 = now_ms();
	char reason[300];

	j->verdict = avscan_clam_scan(j->engine, j->msg.data, j->msg.len,
				      j->name, sizeof(j->name));
	j->ms = now_ms() - t0;
	if (to_quarantine(cfg, j->verdict)) {
		snprintf(reason, sizeof(reason), "virus=%s", j->name);
		j->qfailed = quarantine_write(
			cfg->quarantine_dir, reason, &j->summary,
			j->msg.data ? j->msg.data : "", j->msg.len, j->qfile,
			sizeof(j->qfile), j->qerr, sizeof(j->qerr)) < 0;
	}
	if (j->verdict != AVSCAN_VIRUS)
		tracehdr_strip(&j->msg, &j->header_len, virus_hdr);
}

static void job_free(struct avscan_job *j)
{
	sbuf_free(&j->msg);
	sbuf_free(&j->summary);
	free(j);
}

/* Engines replaced by a reload go when no scan may use them. */
static void free_retired(struct avscan *av)
{
	if (av->jobs != NULL)
		return;
	while (av->nretired > 0)
		avscan_clam_free(&av->retired[--av->nretired]);
}

int avscan_engine_swap(struct avscan *av, struct avscan_engine *e,
		       struct avscan_engine *old)
{
	if (av->nretired == sizeof(av->retired) / sizeof(av->retired[0]))
		return -1;
	av->retired[av->nretired++] = old;
	av->engine = e;
	free_retired(av);
	return 0;
}

static void unlink_job(struct avscan *av, struct avscan_job *j)
{
	struct avscan_job **pp;

	for (pp = &av->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

/* Queue the message with Received and X-Sluice-Virus: status. */
static void pass_on(struct avscan *av, struct smtp_session *s,
		    const char *status)
{
	struct smtp_reply r;
	struct sbuf pre;

	sbuf_init(&pre, 65536);
	if (spool_received(s, av->cfg->hostname, &pre) < 0 ||
	    sbuf_printf(&pre, "%s: %s (ClamAV %s)\r\n", TRACEHDR_VIRUS,
			status, avscan_clam_version()) < 0) {
		sbuf_free(&pre);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply_all(s, &r);
		return;
	}
	spool_accept(&av->spool, s, pre.data, pre.len);
	sbuf_free(&pre);
}

/* One line per recipient; what: "virus" or "limits_exceeded". */
static void log_virus(struct smtp_session *s, const char *what,
		      const char *virus, const char *action)
{
	size_t i;

	for (i = 0; i < s->env.nrcpt; i++)
		log_info("%s: %s=%s, action=%s, from=<%s>, to=<%s>, "
			 "client=[%s]", s->id, what, virus, action, s->env.from,
			 s->env.rcpts[i].addr,
			 s->env.client_addr ? s->env.client_addr
					    : s->client_addr);
}

/* The quarantine file is written (on the worker): 250, or 451 when
 * the write failed. */
static void quarantined(struct avscan *av, struct smtp_session *s,
			struct avscan_job *j, const char *what,
			struct smtp_reply *r)
{
	if (j->qfailed) {
		log_error("%s: quarantine failed: %s", s->id, j->qerr);
		smtp_reply_set(r, 451, "4.3.0", "Error: quarantine write "
			       "error");
		return;
	}
	log_virus(s, what, j->name, "quarantined");
	log_info("%s: quarantine=%s/%s", s->id, av->cfg->quarantine_dir,
		 j->qfile);
	if (j->verdict == AVSCAN_VIRUS)
		smtp_reply_set(r, 250, "2.7.0", "Ok: message contains a virus "
			       "(%s): quarantined as %s", j->name, j->qfile);
	else
		smtp_reply_set(r, 250, "2.7.0", "Ok: message could not be "
			       "scanned whole (%s): quarantined as %s",
			       j->name, j->qfile);
}

static void infected(struct avscan *av, struct smtp_session *s,
		     struct avscan_job *j)
{
	struct smtp_reply r;

	switch (av->cfg->infected_action) {
	case AV_QUARANTINE:
		quarantined(av, s, j, "virus", &r);
		break;
	case AV_DISCARD:
		log_virus(s, "virus", j->name, "discarded");
		smtp_reply_set(&r, 250, "2.7.0", "Ok: message contains a "
			       "virus (%s): discarded", j->name);
		break;
	default:
		log_virus(s, "virus", j->name, "rejected");
		smtp_reply_set(&r, 550, "5.7.1", "message contains a virus: "
			       "%s", j->name);
		break;
	}
	smtp_session_reply_all(s, &r);
}

/* libclamav stopped at a limit: part of the message is unscanned. */
static void limits_exceeded(struct avscan *av, struct smtp_session *s,
			    struct avscan_job *j)
{
	static const char what[] = "limits_exceeded";
	struct smtp_reply r;

	switch (av->cfg->limits_exceeded_action) {
	case AV_LIM_QUARANTINE:
		quarantined(av, s, j, what, &r);
		break;
	case AV_LIM_TEMPFAIL:
		log_virus(s, what, j->name, "deferred");
		smtp_reply_set(&r, 451, "4.7.0", "message could not be "
			       "scanned whole (%s)", j->name);
		break;
	case AV_LIM_REJECT:
		log_virus(s, what, j->name, "rejected");
		smtp_reply_set(&r, 550, "5.7.0", "message could not be "
			       "scanned whole (%s)", j->name);
		break;
	default:
		log_warn("%s: scan limits exceeded: %s: passed on unchecked",
			 s->id, j->name);
		pass_on(av, s, "unchecked");
		return;
	}
	smtp_session_reply_all(s, &r);
}

/* On the loop: give the message back and act on the verdict. */
static void scan_done(void *arg)
{
	struct avscan_job *j = arg;
	struct avscan *av = j->av;
	struct smtp_session *s = j->s;
	struct smtp_reply r;

	unlink_job(av, j);
	free_retired(av);
	if (s == NULL) {
		log_info("%s: session gone during the scan: result dropped",
			 j->sid);
		job_free(j);
		return;
	}
	sbuf_free(&s->msg);
	s->msg = j->msg;
	s->header_len = j->header_len;
	sbuf_init(&j->msg, 0);
	if (j->verdict == AVSCAN_CLEAN) {
		log_info("%s: clean, size=%zu, scan=%.2fms", s->id,
			 s->msg.len, j->ms);
		pass_on(av, s, "clean");
	} else if (j->verdict == AVSCAN_VIRUS) {
		infected(av, s, j);
	} else if (j->verdict == AVSCAN_LIMITS) {
		limits_exceeded(av, s, j);
	} else if (av->cfg->scan_error_action == AV_ACCEPT) {
		log_warn("%s: scan error: %s: passed on unscanned", s->id,
			 j->name);
		pass_on(av, s, "unchecked");
	} else {
		log_warn("%s: scan error: %s: deferred", s->id, j->name);
		smtp_reply_set(&r, 451, "4.3.0", "Error: virus scan failed");
		smtp_session_reply_all(s, &r);
	}
	job_free(j);
}

static void av_data(struct smtp_session *s)
{
	struct avscan *av = av_of(s);
	struct avscan_job *j;
	struct smtp_reply r;

	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto fail;
	j->av = av;
	j->engine = av->engine;
	j->s = s;
	snprintf(j->sid, sizeof(j->sid), "%s", s->id);
	sbuf_init(&j->summary, 1 << 20);
	if ((av->cfg->infected_action == AV_QUARANTINE ||
	     av->cfg->limits_exceeded_action == AV_LIM_QUARANTINE) &&
	    quarantine_summary(s, &j->summary) < 0) {
		job_free(j);
		goto fail;
	}
	/* the message moves to the job: no copy */
	j->msg = s->msg;
	j->header_len = s->header_len;
	sbuf_init(&s->msg, j->msg.max);
	/* large messages in the heavy lane: they never take every thread */
	if ((j->msg.len >= (size_t)av->cfg->large_message_size ?
	     workq_submit_heavy : workq_submit)(av->wq, scan_work, scan_done,
						j) < 0) {
		s->msg = j->msg;
		sbuf_init(&j->msg, 0);
		job_free(j);
		goto fail;
	}
	j->next = av->jobs;
	av->jobs = j;
	return;
fail:
	smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
	smtp_session_reply_all(s, &r);
}

static void av_close(struct smtp_session *s)
{
	struct avscan *av = av_of(s);
	struct avscan_job *j;

	for (j = av->jobs; j; j = j->next)
		if (j->s == s)
			j->s = NULL;
	spool_closed(&av->spool, s);
}

const struct smtp_hooks avscan_hooks = {
	.on_connect = av_connect,
	.on_data = av_data,
	.on_close = av_close,
};
