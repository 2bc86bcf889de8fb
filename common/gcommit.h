/*
 * NAME
 *	gcommit - the pipelined group commit
 * SUMMARY
 *	gcommit_start(), gcommit_kick(), gcommit_stop()
 * DESCRIPTION
 *	The durability contract of DESIGN.md in one place: a stage writes
 *	what it accepts (not synced yet) and answers nothing; at the end of
 *	a loop turn gcommit_kick() takes everything written so far as one
 *	batch (prepare, on the loop), syncs it on a thread of its own
 *	(sync), and only when that returns answers the batch (done, on the
 *	loop) and starts the next one with whatever came meanwhile. One
 *	sync runs at a time, so batches grow with the load and the loop
 *	never waits for the disk. The queueing stages (spool.c), the
 *	store's Maildir delivery and its IMAP changes (store_imap_commit.c)
 *	use it. Base layer: knows nothing about
 *	mail.
 */
#ifndef SLUICE_GCOMMIT_H
#define SLUICE_GCOMMIT_H

struct evloop;
struct workq;

struct gcommit_ops {
	/* loop: non-zero when something is written and not durable */
	int (*want)(void *arg);
	/* loop: take all of it into the batch to sync; 0, or -1 when no
	 * sync can start (then failed() answers what is waiting) */
	int (*prepare)(void *arg);
	/* worker thread: make the batch durable; must not touch the loop
	 * or anything the loop changes meanwhile */
	void (*sync)(void *arg);
	/* loop: the sync returned; answer the batch */
	void (*done)(void *arg);
	/* loop: prepare() failed; answer what is waiting (may be NULL
	 * when prepare() never fails) */
	void (*failed)(void *arg);
};

struct gcommit {
	const struct gcommit_ops *ops;
	void *arg;
	struct workq *worker; /* NULL: stopped or stopping */
	int busy;             /* a sync is running */
};

/* Start the sync thread of g for loop; ops and arg stay the caller's.
 * Exits through log_fatal() naming what when it cannot. */
void gcommit_start(struct gcommit *g, struct evloop *loop,
	const struct gcommit_ops *ops, void *arg, const char *what);

/* Start a sync of what is written, unless one is running, nothing is
 * waiting or g is stopping (a turn-end hook's work). When the thread
 * cannot take the job (out of memory), the sync runs here. */
void gcommit_kick(struct gcommit *g);

/* Wait for a running sync (its batch is answered), stop the thread; what
 * was written since stays unanswered and unsynced. */
void gcommit_stop(struct gcommit *g);

#endif
