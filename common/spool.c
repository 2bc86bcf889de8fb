/*
 * NAME
 *	spool - accept messages into the queue, 250 after the group commit
 * DESCRIPTION
 *	See spool.h. The durability contract of DESIGN.md is gcommit.c's:
 *	no 250 leaves before the sync that covers its message returned. A
 *	message joins "pending" when it is written; a sync takes the whole
 *	pending list as "syncing" together with queue_sync_prepare() (so
 *	it covers exactly those writes), and its done function answers them.
 */
#include "spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forward.h"
#include "log.h"
#include "metrics.h"
#include "traffic.h"
#include "queue.h"
#include "tracehdr.h"

struct spool_sess {
	struct smtp_session *s;
	struct spool_sess *next;
	char qid[QUEUE_ID_LEN + 1];
	size_t size;		/* of the message as the client sent it */
};

static void unlink_from(struct spool_sess **pp, struct spool_sess *ss)
{
	for (; *pp; pp = &(*pp)->next)
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
}

static void unlink_sess(struct spool *sp, struct spool_sess *ss)
{
	unlink_from(&sp->pending, ss);
	unlink_from(&sp->syncing, ss);
}

/* The reply when writing or syncing the queue failed with errno e: a
 * full disk is 452 4.3.1 (RFC 3463: mail system full; RFC 5321 452
 * "insufficient system storage"), anything else 451 4.3.0. */
static void write_error(struct smtp_reply *r, int e)
{
	if (e == ENOSPC || e == EDQUOT) {
		METRICS_COUNT(METRIC_DISK_FULL);
		smtp_reply_set(r, 452, "4.3.1", "Error: insufficient system "
			       "storage, try again later");
	} else {
		smtp_reply_set(r, 451, "4.3.0", "Error: queue file write "
			       "error");
	}
}

static double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void spool_claims(struct spool *sp, struct smtp_session *s)
{
	/* a trusted peer's claims (smtp_server.h) stand; else this hop */
	if (s->env.client_addr == NULL)
		s->env.client_addr = strdup(s->client_addr);
	if (s->env.helo == NULL && s->helo)
		s->env.helo = strdup(s->helo);
	if (s->env.entered_by == NULL)
		s->env.entered_by = strdup(sp->stage);
	s->env.arrival = time(NULL);
}

void spool_accept(struct spool *sp, struct smtp_session *s,
		  const char *prefix, size_t plen)
{
	struct spool_sess *ss;
	struct smtp_reply r;
	struct sbuf body;
	struct qmsg *m;

	ss = s->ctx;
	if (ss)
		ss->qid[0] = '\0';
	spool_claims(sp, s);
	sbuf_init(&body, s->msg.len + plen + 1);
	if (sbuf_append(&body, prefix, plen) < 0 ||
	    sbuf_append(&body, s->msg.data ? s->msg.data : "",
			s->msg.len) < 0) {
		sbuf_free(&body);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply_all(s, &r);
		return;
	}
	m = queue_add(sp->q, &s->env, body.data, body.len);
	if (m == NULL) {
		int e = errno;

		log_error("%s: cannot queue message from [%s]: %s", s->id,
			  s->client_addr, strerror(e));
		sbuf_free(&body);
		write_error(&r, e);
		smtp_session_reply_all(s, &r);
		return;
	}
	log_info("%s: %s: client=[%s], from=<%s>, size=%zu, nrcpt=%zu "
		 "(queue active)", m->id, s->id, s->client_addr, s->env.from,
		 body.len, s->env.nrcpt);
	sbuf_free(&body);
	if (ss == NULL) {
		ss = calloc(1, sizeof(*ss));
		if (ss == NULL)
			log_fatal("out of memory");
		ss->s = s;
		s->ctx = ss;
	}
	snprintf(ss->qid, sizeof(ss->qid), "%s", m->id);
	ss->size = s->msg.len;
	ss->next = sp->pending;
	sp->pending = ss;
}

void spool_closed(struct spool *sp, struct smtp_session *s)
{
	struct spool_sess *ss = s->ctx;

	if (ss == NULL)
		return;
	unlink_sess(sp, ss);
	free(ss);
	s->ctx = NULL;
}

void spool_metrics(size_t n, double seconds)
{
	static const double sizes[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
	static struct metric *in, *batch, *sync;

	if (in == NULL) {
		in = metrics_counter(METRIC_MESSAGES_IN);
		batch = metrics_histogram("sluice_commit_batch_messages", NULL,
					  "messages per group commit", sizes,
					  sizeof(sizes) / sizeof(sizes[0]));
		sync = metrics_histogram("sluice_commit_sync_seconds", NULL,
					 "time of one group commit (sync)",
					 metrics_seconds, metrics_seconds_n);
	}
	metrics_add(in, n);
	metrics_observe(batch, (double)n);
	metrics_observe(sync, seconds);
}

static int sync_want(void *arg)
{
	struct spool *sp = arg;

	return queue_dirty(sp->q) || sp->pending != NULL;
}

/* The batch: every message written so far, and the queue's writes. */
static int sync_prepare(void *arg)
{
	struct spool *sp = arg;

	if (queue_sync_prepare(sp->q, &sp->job) < 0)
		return -1;
	sp->sync_started = mono_seconds();
	sp->syncing = sp->pending;
	sp->pending = NULL;
	sp->added_syncing = sp->added;
	sp->added = 0;
	return 0;
}

static void sync_work(void *arg)
{
	struct spool *sp = arg;

	queue_sync_run(&sp->job);
}

/* Answer the batch the sync covered (gcommit starts the next one). */
static void sync_done(void *arg)
{
	struct spool *sp = arg;
	struct spool_sess *ss, *next;
	struct smtp_reply r;
	int rc, any = sp->syncing != NULL || sp->added_syncing;
	int e = sp->job.rc;
	size_t n = 0;

	sp->added_syncing = 0;
	rc = queue_sync_finish(sp->q, &sp->job);
	if (rc < 0)
		log_error("queue sync failed: mail not acknowledged");
	for (ss = sp->syncing, sp->syncing = NULL; ss; ss = next) {
		next = ss->next;
		if (rc < 0) {
			write_error(&r, e);
		} else {
			smtp_reply_set(&r, 250, "2.0.0", "Ok: queued as %s",
				       ss->qid);
			/* a user who logged in here (msa) sent it: the
			 * statistics count it for the user's domain */
			if (ss->s->auth_user)
				traffic_count(ss->s->auth_user, ss->size, 0);
		}
		smtp_session_reply_all(ss->s, &r);
		n++;
	}
	spool_metrics(rc < 0 ? 0 : n, mono_seconds() - sp->sync_started);
	if (any && sp->fwd)
		forward_kick(sp->fwd);
}

static void sync_failed(void *arg)
{
	struct spool *sp = arg;
	struct spool_sess *ss, *next;
	struct smtp_reply r;

	log_error("cannot start a queue sync: mail not acknowledged");
	for (ss = sp->pending, sp->pending = NULL; ss; ss = next) {
		next = ss->next;
		smtp_reply_set(&r, 451, "4.3.0", "Error: queue file "
			       "write error");
		smtp_session_reply_all(ss->s, &r);
	}
}

static const struct gcommit_ops spool_gcommit = {
	.want = sync_want,
	.prepare = sync_prepare,
	.sync = sync_work,
	.done = sync_done,
	.failed = sync_failed,
};

void spool_commit(void *arg)
{
	struct spool *sp = arg;

	/* stopping: stage_spool_stop() syncs what is left */
	gcommit_kick(&sp->gc);
}

void spool_added(struct spool *sp)
{
	sp->added = 1;
}

const char *spool_notice(struct spool *sp, const char *rcpt,
			 const struct sbuf *body, const char *sid,
			 const char *what)
{
	struct envelope ne;
	struct qmsg *m = NULL;
	char safe[300];

	log_safe(safe, sizeof(safe), rcpt);
	memset(&ne, 0, sizeof(ne));
	ne.from = strdup("");
	ne.entered_by = strdup(sp->stage);
	if (ne.from == NULL || ne.entered_by == NULL || body->data == NULL ||
	    envelope_add_rcpt(&ne, rcpt, NULL, 0) < 0)
		log_error("%s: cannot build the %s", sid, what);
	else if ((m = queue_add(sp->q, &ne, body->data, body->len)) == NULL)
		log_error("%s: cannot queue the %s: %m", sid, what);
	envelope_free(&ne);
	if (m == NULL)
		return NULL;
	log_info("%s: %s to <%s>: %s", sid, what, safe, m->id);
	log_info("%s: from=<>, size=%zu, nrcpt=1 (queue active)", m->id,
		 body->len);
	/* durable with the next group commit, which wakes the forwarder */
	spool_added(sp);
	return m->id;
}

void spool_syncer_start(struct spool *sp, struct evloop *loop)
{
	gcommit_start(&sp->gc, loop, &spool_gcommit, sp, "queue sync");
}

void spool_syncer_stop(struct spool *sp)
{
	gcommit_stop(&sp->gc);
}

const char *spool_qid(const struct smtp_session *s)
{
	const struct spool_sess *ss = s->ctx;

	return ss && ss->qid[0] ? ss->qid : NULL;
}

int spool_received(struct smtp_session *s, const char *hostname,
		   struct sbuf *out)
{
	return spool_received_ex(s, hostname, 0, out);
}

int spool_received_ex(struct smtp_session *s, const char *hostname,
		      unsigned flags, struct sbuf *out)
{
	char date[64], helo[300], user[300];
	const char *proto;
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	log_safe(helo, sizeof(helo), s->helo ? s->helo : "unknown");
	/* RFC 3848 with-protocol names; RFC 6531 for SMTPUTF8 */
	if (s->env.smtputf8)
		proto = s->tls ? (s->auth_user ? "UTF8SMTPSA" : "UTF8SMTPS")
			       : (s->auth_user ? "UTF8SMTPA" : "UTF8SMTP");
	else if (s->lmtp)
		proto = s->tls ? (s->auth_user ? "LMTPSA" : "LMTPS")
			       : (s->auth_user ? "LMTPA" : "LMTP");
	else if (s->esmtp)
		proto = s->tls ? (s->auth_user ? "ESMTPSA" : "ESMTPS")
			       : (s->auth_user ? "ESMTPA" : "ESMTP");
	else
		proto = "SMTP";
	if (!(flags & SPOOL_RCVD_NO_CLIENT) &&
	    sbuf_printf(out, "Received: from %s ([%s])\r\n\tby", helo,
			s->client_addr) < 0)
		return -1;
	if ((flags & SPOOL_RCVD_NO_CLIENT) && sbuf_puts(out, "Received:") < 0)
		return -1;
	if (sbuf_printf(out, " %s (Sluice) with %s id %s\r\n", hostname,
			proto, s->id) < 0)
		return -1;
	if (s->tls && sbuf_printf(out, "\t(using %s)\r\n", s->tls_info) < 0)
		return -1;
	/* never the password: only who authenticated, when policy allows */
	if ((flags & SPOOL_RCVD_AUTH) && s->auth_user) {
		log_safe(user, sizeof(user), s->auth_user);
		if (sbuf_printf(out, "\t(authenticated sender: %s)\r\n",
				user) < 0)
			return -1;
	}
	if (s->env.nrcpt == 1 &&
	    sbuf_printf(out, "\tfor <%s>", s->env.rcpts[0].addr) < 0)
		return -1;
	return sbuf_printf(out, "%s; %s\r\n", s->env.nrcpt == 1 ? "" : "\t",
			   date);
}

void spool_strip_trace(struct smtp_session *s)
{
	size_t n = tracehdr_strip(&s->msg, &s->header_len, TRACEHDR_PREFIXES);

	if (n)
		log_info("%s: removed %zu internal trace header(s) from "
			 "[%s]", s->id, n, s->client_addr);
}
