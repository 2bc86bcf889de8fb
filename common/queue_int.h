/*
 * NAME
 *	queue_int - private parts of the durable queue
 * DESCRIPTION
 *	Shared by queue.c (journal, sync), queue_recover.c (recovery) and
 *	queue_sched.c (scheduling, operator commands).
 */
#ifndef SLUICE_QUEUE_INT_H
#define SLUICE_QUEUE_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "queue.h"
#include "queue_rec.h"

struct qent {
	struct qmsg pub;	/* first: callers get &pub */
	struct qent *hnext;	/* hash chain */
	uint32_t seg;		/* segment holding the message bytes */
	off_t body_off;		/* offset of the bytes in that segment */
	uint64_t seq;		/* arrival order, for fairness */
	size_t heap_idx;	/* position in the due heap, or SIZE_MAX */
	int deleted;		/* delete requested while busy */
};

struct qseg {
	uint32_t num;
	int fd;
	off_t size;
	size_t live;		/* messages whose bytes are here */
	int pinned;		/* never unlink (nor anything after it):
				 * unreadable, or the only copy of damage */
};

#define QSEG_NAME 32
#define QUEUE_CORRUPT_DIR "corrupt"

#define QUEUE_BUCKETS 65536

struct queue {
	char *dir;
	int lockfd;
	int dirfd;
	struct qseg *segs;	/* oldest first; the last one is active */
	size_t nsegs;
	size_t seg_max;
	int dirty;
	int dir_dirty;
	int compacting;
	int readonly;		/* queue_open_mode(QUEUE_RDONLY) */
	int corruptfd;		/* dir/corrupt, once opened, or -1 */
	time_t now;		/* when recovery ran */
	uint64_t damaged;	/* damaged records found by recovery */
	size_t unreadable;	/* segments recovery could not open */
	uint32_t seg_gen;	/* bumped when segments are renumbered */
	struct qent *buckets[QUEUE_BUCKETS];
	size_t count;
	uint64_t seq;
	uint32_t id_counter;
	struct qent **heap;	/* idle, not held messages by next_try */
	size_t nheap, capheap;
	struct sbuf scratch;
};

struct qent *queue_lookup(struct queue *q, const char *id);
void queue_insert(struct queue *q, struct qent *e);
struct qseg *queue_seg_of(struct queue *q, uint32_t num);
int queue_write_update(struct queue *q, struct qent *e);
int queue_write_done(struct queue *q, struct qent *e);
void queue_forget(struct queue *q, struct qent *e);

/* Segment file names: "seg-" and at least 8 digits, one spelling per
 * number in 1..UINT32_MAX. parse: 0 or -1. */
void queue_seg_name(char name[QSEG_NAME], uint32_t num);
int queue_seg_parse(const char *name, uint32_t *num);
/* Why name in the queue cannot be opened (errno e), with the fix. */
void queue_open_error(const struct queue *q, const char *name, int e,
		      char *err, size_t errlen);
/* Replay every segment into q (queue_recover.c). 0, or -1 with err. */
int queue_recover(struct queue *q, char *err, size_t errlen);
/* Rename the segments to 1..n, keeping their order. 0 or -1. */
int queue_renumber(struct queue *q);

void qheap_push(struct queue *q, struct qent *e);
void qheap_remove(struct queue *q, struct qent *e);

#endif
