/*
 * NAME
 *	queue_int - private parts of the durable queue
 * DESCRIPTION
 *	Shared by queue.c (journal, recovery, sync) and queue_sched.c
 *	(scheduling, operator commands).
 */
#ifndef SLUICE_QUEUE_INT_H
#define SLUICE_QUEUE_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "queue.h"

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
};

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
	struct qent *buckets[QUEUE_BUCKETS];
	size_t count;
	uint64_t seq;
	uint32_t id_counter;
	struct qent **heap;	/* idle, not held messages by next_try */
	size_t nheap, capheap;
	struct sbuf scratch;
};

/* Record types. */
enum { QREC_NEW = 1, QREC_UPDATE = 2, QREC_DONE = 3 };

struct qent *queue_lookup(struct queue *q, const char *id);
int queue_write_update(struct queue *q, struct qent *e);
int queue_write_done(struct queue *q, struct qent *e);
void queue_forget(struct queue *q, struct qent *e);

void qheap_push(struct queue *q, struct qent *e);
void qheap_remove(struct queue *q, struct qent *e);

#endif
