/*
 * NAME
 *	queue - the durable spool queue, with group commit
 * DESCRIPTION
 *	An append-only journal in segment files (dir/seg-NNNNNNNN). Each
 *	record: a 16-byte header (magic, type, payload length, CRC-32 of
 *	the payload) and the payload. A NEW record holds the queue ID, the
 *	envelope and the message; UPDATE records hold the new state (the
 *	whole envelope with recipient states, attempts, next try, hold flag,
 *	last error); DONE forgets a message. Writing only appends; durability
 *	comes from queue_sync(), one fdatasync for everything appended since
 *	the last one, which the daemon calls once per event-loop turn before
 *	it answers 250 to every message of that turn (DESIGN.md "Durability").
 *	Recovery replays the segments in order; a torn tail (the last record
 *	cut short) is cut off, so a crash at any byte loses only what was
 *	never acknowledged. A damaged record in the middle costs only itself:
 *	it is copied to dir/corrupt/, logged and counted, and the records
 *	after it are kept; a segment that cannot be opened is reported with
 *	the fix and kept, and the rest of the queue works. Old segments are
 *	unlinked once nothing in them is live; live messages of old segments
 *	are copied forward so long-deferred mail does not pin old files. A
 *	lock file keeps a second process out. Mail layer.
 */
#ifndef SLUICE_QUEUE_H
#define SLUICE_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "envelope.h"
#include "sbuf.h"

#define QUEUE_ID_LEN 16
#define QUEUE_CONTROL_SOCK "control"

struct queue;

struct qmsg {
	char id[QUEUE_ID_LEN + 1];
	struct envelope env;	/* recipient states in env.rcpts[i] */
	time_t next_try;
	int attempts;
	int held;
	int busy;		/* taken by queue_take(), not yet done */
	char *last_error;	/* last temporary failure, or NULL */
	size_t size;		/* message bytes */
};

/* Open (creating dir if needed), lock and recover. NULL with a reason. */
struct queue *queue_open(const char *dir, char *err, size_t errlen);
/* queue_open() with flags. QUEUE_RDONLY: for looking only; creates,
 * truncates, moves and unlinks nothing (dir must exist; a shared lock
 * when the lock file is there), and every change fails. */
#define QUEUE_RDONLY 1
struct queue *queue_open_mode(const char *dir, int flags, char *err,
			      size_t errlen);
/* Damaged records recovery found (and, unless read-only, set aside in
 * dir/corrupt/); segments it could not open. For metrics and tools. */
uint64_t queue_damaged(const struct queue *q);
size_t queue_unreadable(const struct queue *q);
/* Close (does not sync: call queue_sync() first if it matters). */
void queue_close(struct queue *q);

/* Append a new message (envelope deep-copied; arrival set to now if 0).
 * Not durable until queue_sync(). Returns the entry (owned by the queue,
 * idle, next_try now) or NULL on write error, with errno (ENOSPC or
 * EDQUOT when the disk is full). */
struct qmsg *queue_add(struct queue *q, const struct envelope *e,
		       const char *body, size_t len);

/* One fdatasync for everything appended since the last call (plus the
 * directory when a segment was created), then housekeeping. 0 or -1. */
int queue_sync(struct queue *q);
/* queue_sync() in three steps, so the slow middle one can run on another
 * thread while the loop goes on appending (pipelined group commit):
 * prepare (loop thread) takes what is not yet durable and marks the
 * queue clean; run (any thread, once) syncs it; finish (loop thread)
 * does the housekeeping, or marks the queue dirty again when run failed.
 * Only what was appended before prepare is durable after a successful
 * run. One job at a time per queue. */
struct queue_syncjob {
	int fd;			/* a dup of the active segment, or -1 */
	int dirfd;		/* a dup of the directory, or -1 */
	int rc;			/* errno of run, 0 when it worked */
	uint32_t drop_below;	/* dead segments below this may go */
	uint32_t gen;		/* segment numbering drop_below is in */
};
/* 0, or -1 (nothing was taken; the queue stays dirty). */
int queue_sync_prepare(struct queue *q, struct queue_syncjob *j);
void queue_sync_run(struct queue_syncjob *j);
/* 0, or -1 when run failed (logged). */
int queue_sync_finish(struct queue *q, struct queue_syncjob *j);
/* Anything appended since the last sync? */
int queue_dirty(const struct queue *q);

/* Append the message bytes of m to out. 0 or -1. */
int queue_body(struct queue *q, const struct qmsg *m, struct sbuf *out);

/* A message that is idle, not held and due (next_try <= now), oldest
 * first; it is marked busy. NULL if none. */
struct qmsg *queue_take(struct queue *q, time_t now);
/* Earliest next_try of the idle, not held messages; 0 if none. */
time_t queue_next_time(const struct queue *q);
/* End a delivery attempt: the caller updated recipient states, attempts,
 * next_try and last_error. No recipient pending (or deleted meanwhile):
 * DONE, and m is freed. Else UPDATE and m is idle again. 0 or -1. */
int queue_done(struct queue *q, struct qmsg *m);

struct qmsg *queue_find(struct queue *q, const char *id);
/* Hold or release; 0, or -1 for an unknown id. */
int queue_hold(struct queue *q, const char *id, int hold);
/* Delete: DONE now, or when a busy message comes back. 0 or -1. */
int queue_delete(struct queue *q, const char *id);
/* Make every idle message due now. */
void queue_flush(struct queue *q);
/* Bring an idle, not held message's next try forward to when (never
 * later; not written: the caller's next update records it). */
void queue_due(struct queue *q, struct qmsg *m, time_t when);
size_t queue_count(const struct queue *q);
void queue_foreach(struct queue *q, void (*cb)(struct qmsg *m, void *arg),
		   void *arg);

/* Operator commands as one line: "list", "show ID", "hold ID",
 * "release ID", "delete ID", "flush". The answer (text) is appended to
 * out. Returns 0, or -1 for an unknown command or id (the answer then
 * starts with "error:"). The caller queue_sync()s afterwards. */
int queue_control(struct queue *q, const char *cmd, struct sbuf *out);

/* Tests: rotate segments at this many bytes (default 64 MB). */
void queue_set_segment_size(struct queue *q, size_t bytes);

#endif
