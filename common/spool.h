/*
 * NAME
 *	spool - accept messages into the queue, 250 after the group commit
 * DESCRIPTION
 *	What every queueing stage does at end of data: write the message
 *	(with the stage's trace header in front) to the queue, then sync
 *	the queue once for a whole batch and answer every message of the
 *	batch: "250 2.0.0 Ok: queued as ID", or 451 when the sync failed.
 *	The sync runs on a thread of its own (pipelined group commit): the
 *	loop goes on reading and queueing while it runs, and everything
 *	queued meanwhile makes the next batch, started as soon as the sync
 *	returns; so batches grow with the load instead of each stalling the
 *	loop. The session's ctx belongs to this module. Mail layer.
 */
#ifndef SLUICE_SPOOL_H
#define SLUICE_SPOOL_H

#include <stddef.h>

#include "gcommit.h"
#include "queue.h"
#include "smtp_server.h"

struct forwarder;

struct spool {
	struct queue *q;
	struct forwarder *fwd;
	const char *stage;		/* entered_by, e.g. "mx" */
	struct spool_sess *pending;	/* queued, not in a sync yet */
	struct spool_sess *syncing;	/* in the sync that is running */
	struct gcommit gc;		/* the syncs, one thread */
	struct queue_syncjob job;	/* the running sync */
	int added, added_syncing;	/* spool_added() since / in it */
	double sync_started;		/* when it started (metrics) */
};

/* Start the sync thread of sp (sp->q open). Exits through log_fatal()
 * when it cannot. */
void spool_syncer_start(struct spool *sp, struct evloop *loop);

/* Wait for a running sync (its messages are answered) and stop the
 * thread. */
void spool_syncer_stop(struct spool *sp);

/* Queue s's message with prefix (a trace header, may be empty) in front;
 * the reply comes from spool_commit(). Answers 451 itself on failure. */
void spool_accept(struct spool *sp, struct smtp_session *s,
		  const char *prefix, size_t plen);

/* What spool_accept() sets in s->env before queueing: the client
 * address, HELO and entering stage (unless a trusted peer claimed
 * them) and the arrival time. For a stage that queues a part of the
 * recipients itself (queue_add, then spool_added). */
void spool_claims(struct spool *sp, struct smtp_session *s);

/* A message of the stage's own (a notice) was queue_add()ed to sp->q:
 * the next group commit makes it durable and wakes the forwarder. */
void spool_added(struct spool *sp);

/* Queue a notice of the stage's own (body: header and text) to rcpt
 * with the null sender and entered_by the stage, and spool_added() it;
 * logged under sid as what ("user spam notice"). The queue ID (owned
 * by the queue), or NULL when it could not be built or queued
 * (logged). Loop thread. */
const char *spool_notice(struct spool *sp, const char *rcpt,
			 const struct sbuf *body, const char *sid,
			 const char *what);

/* An entry stage's part at end of data: remove the internal trace
 * headers (tracehdr.h) that came from outside, with a log line. */
void spool_strip_trace(struct smtp_session *s);

/* The queue ID spool_accept() just gave s's message, or NULL when it
 * was not queued. Points into s's spool data (valid until on_close). */
const char *spool_qid(const struct smtp_session *s);

/* Count a group commit of n accepted messages that took seconds (the
 * loop thread; also the store's). */
void spool_metrics(size_t n, double seconds);

/* The on_close hook's part: forget s. */
void spool_closed(struct spool *sp, struct smtp_session *s);

/* Turn-end hook (arg: the struct spool): start a sync of what is not
 * durable yet, unless one is running. */
void spool_commit(void *arg);

/* "Received: from helo ([addr]) by host (Sluice) with PROTO id SID
 * (using TLS...) for <rcpt>; date" for s, appended to out. PROTO names
 * TLS and AUTH as RFC 3848 does (ESMTPSA). 0 or -1. */
int spool_received(struct smtp_session *s, const char *hostname,
		   struct sbuf *out);

#define SPOOL_RCVD_NO_CLIENT 1	/* leave the from clause out (privacy) */
#define SPOOL_RCVD_AUTH 2	/* name the authenticated user */
/* spool_received() with SPOOL_RCVD_* flags. */
int spool_received_ex(struct smtp_session *s, const char *hostname,
		      unsigned flags, struct sbuf *out);

#endif
