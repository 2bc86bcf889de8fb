/*
 * NAME
 *	queue - the durable spool queue: journal, group commit, open/close
 * DESCRIPTION
 *	See queue.h for the contract, queue_rec.h for the record format and
 *	queue_recover.c for recovery. A NEW for an ID already known is a
 *	copy made by compaction and supersedes the older one. Everything
 *	read back is checked (CRC, lengths, envelope_decode()) before it is
 *	believed.
 */
#include "queue_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

#define QSEG_DEFAULT (64u * 1024 * 1024)

static unsigned hash_id(const char *id)
{
	uint32_t h = 2166136261u;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h % QUEUE_BUCKETS;
}

struct qent *queue_lookup(struct queue *q, const char *id)
{
	struct qent *e;

	for (e = q->buckets[hash_id(id)]; e; e = e->hnext)
		if (strcmp(e->pub.id, id) == 0)
			return e;
	return NULL;
}

void queue_insert(struct queue *q, struct qent *e)
{
	unsigned h = hash_id(e->pub.id);

	e->hnext = q->buckets[h];
	q->buckets[h] = e;
	q->count++;
}

struct qseg *queue_seg_of(struct queue *q, uint32_t num)
{
	size_t i;

	for (i = q->nsegs; i-- > 0;)
		if (q->segs[i].num == num)
			return &q->segs[i];
	return NULL;
}

void queue_forget(struct queue *q, struct qent *e)
{
	struct qent **pp = &q->buckets[hash_id(e->pub.id)];
	struct qseg *s;

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	q->count--;
	if (e->heap_idx != SIZE_MAX)
		qheap_remove(q, e);
	s = queue_seg_of(q, e->seg);
	if (s && s->live > 0)
		s->live--;
	envelope_free(&e->pub.env);
	free(e->pub.last_error);
	free(e);
}

/* ---- writing ---- */

static struct qseg *active(struct queue *q)
{
	return &q->segs[q->nsegs - 1];
}

static int seg_create(struct queue *q)
{
	char name[QSEG_NAME];
	struct qseg *s;
	uint32_t num;
	int fd;

	/* numbers only grow; at the top, start again from the bottom */
	if (q->nsegs && active(q)->num == UINT32_MAX && queue_renumber(q) < 0)
		return -1;
	num = q->nsegs ? active(q)->num + 1 : 1;
	queue_seg_name(name, num);
	fd = openat(q->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_APPEND |
				    O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("queue %s: create %s: %s", q->dir, name,
			  strerror(errno));
		return -1;
	}
	s = realloc(q->segs, (q->nsegs + 1) * sizeof(*s));
	if (s == NULL) {
		close(fd);
		return -1;
	}
	q->segs = s;
	s = &q->segs[q->nsegs++];
	memset(s, 0, sizeof(*s));
	s->num = num;
	s->fd = fd;
	q->dir_dirty = 1;
	return 0;
}

static void compact(struct queue *q);

/* Append one record made of up to three pieces. On success returns 0 and
 * the offset of piece 2 (the message bytes of a NEW) in *body_off. */
static int append(struct queue *q, int type, const void *p1, size_t n1,
		  const void *p2, size_t n2, const void *p3, size_t n3,
		  off_t *body_off)
{
	unsigned char hdr[QREC_HDR];
	struct iovec iov[4];
	struct qseg *s = active(q);
	size_t total = n1 + n2 + n3;
	ssize_t w;
	uint32_t crc;

	if (total > QREC_MAX || q->readonly)
		return -1;
	if (s->size > 0 && (size_t)s->size + QREC_HDR + total > q->seg_max) {
		/* rotate: the old segment is made durable now, once */
		if (fdatasync(s->fd) < 0 || seg_create(q) < 0)
			return -1;
		if (!q->compacting) {
			q->compacting = 1;
			compact(q);
			q->compacting = 0;
		}
		s = active(q);
	}
	crc = qrec_begin(hdr, type, (uint32_t)total);
	crc = qrec_crc(crc, p1, n1);
	crc = qrec_crc(crc, p2, n2);
	crc = qrec_crc(crc, p3, n3);
	qrec_seal(hdr, crc);
	iov[0].iov_base = hdr;
	iov[0].iov_len = QREC_HDR;
	iov[1].iov_base = (void *)p1;
	iov[1].iov_len = n1;
	iov[2].iov_base = (void *)p2;
	iov[2].iov_len = n2;
	iov[3].iov_base = (void *)p3;
	iov[3].iov_len = n3;
	w = writev(s->fd, iov, 4);
	if (w != (ssize_t)(QREC_HDR + total)) {
		/* a short write is a full disk; callers map errno to a reply */
		int e = w < 0 ? errno : ENOSPC;

		log_error("queue %s: write: %s", q->dir, strerror(e));
		/* take the partial record back so the journal stays whole */
		if (ftruncate(s->fd, s->size) < 0)
			log_error("queue %s: truncate: %s", q->dir,
				  strerror(errno));
		errno = e;
		return -1;
	}
	if (body_off)
		*body_off = s->size + QREC_HDR + (off_t)n1;
	s->size += (off_t)(QREC_HDR + total);
	q->dirty = 1;
	return 0;
}

int queue_write_update(struct queue *q, struct qent *e)
{
	if (qrec_state_encode(&e->pub, &q->scratch) < 0)
		return -1;
	return append(q, QREC_UPDATE, q->scratch.data, q->scratch.len, NULL,
		      0, NULL, 0, NULL);
}

int queue_write_done(struct queue *q, struct qent *e)
{
	char id[QREC_ID];

	memset(id, 0, sizeof(id));
	memcpy(id, e->pub.id, strlen(e->pub.id));
	return append(q, QREC_DONE, id, QREC_ID, NULL, 0, NULL, 0, NULL);
}

/* Write e (state and message bytes) as a NEW record in the active
 * segment and point e at it. */
static int write_new(struct queue *q, struct qent *e, const char *body,
		     size_t len)
{
	struct qseg *old;
	off_t off;

	if (qrec_state_encode(&e->pub, &q->scratch) < 0)
		return -1;
	if (append(q, QREC_NEW, q->scratch.data, q->scratch.len, body, len,
		   NULL, 0, &off) < 0)
		return -1;
	/* append() may have rotated: the record is in the active segment */
	if (e->seg != active(q)->num) {
		old = e->seg ? queue_seg_of(q, e->seg) : NULL;
		if (old && old->live > 0)
			old->live--;
		active(q)->live++;
		e->seg = active(q)->num;
	}
	e->body_off = off;
	return 0;
}

static void make_id(struct queue *q, char *id)
{
	do {
		snprintf(id, QUEUE_ID_LEN + 1, "%08lX%04X",
			 (unsigned long)time(NULL) & 0xffffffffUL,
			 (unsigned)(q->id_counter++ & 0xffff));
	} while (queue_lookup(q, id) != NULL);
}

struct qmsg *queue_add(struct queue *q, const struct envelope *env,
		       const char *body, size_t len)
{
	struct qent *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	if (envelope_copy(&e->pub.env, env) < 0) {
		free(e);
		return NULL;
	}
	if (e->pub.env.arrival == 0)
		e->pub.env.arrival = time(NULL);
	make_id(q, e->pub.id);
	e->pub.next_try = time(NULL);
	e->pub.size = len;
	e->heap_idx = SIZE_MAX;
	e->seq = q->seq++;
	e->seg = 0;
	if (write_new(q, e, body, len) < 0) {
		envelope_free(&e->pub.env);
		free(e);
		return NULL;
	}
	queue_insert(q, e);
	qheap_push(q, e);
	return &e->pub;
}

/* Copy the live messages of the oldest segment forward (at rotation), so
 * that it can be unlinked at the next sync. */
static void compact(struct queue *q)
{
	struct sbuf body;
	struct qent *e;
	uint32_t oldest;
	size_t b;

	if (q->nsegs < 3 || q->segs[0].live == 0)
		return;
	oldest = q->segs[0].num;
	sbuf_init(&body, QREC_MAX);
	for (b = 0; b < QUEUE_BUCKETS; b++)
		for (e = q->buckets[b]; e; e = e->hnext) {
			if (e->seg != oldest)
				continue;
			sbuf_reset(&body);
			if (queue_body(q, &e->pub, &body) < 0 ||
			    write_new(q, e, body.data, body.len) < 0)
				log_warn("queue %s: cannot compact %s",
					 q->dir, e->pub.id);
		}
	sbuf_free(&body);
}

int queue_sync_prepare(struct queue *q, struct queue_syncjob *j)
{
	size_t i;

	j->fd = j->dirfd = -1;
	j->rc = 0;
	j->drop_below = 0;
	j->gen = q->seg_gen;
	if (q->readonly)
		return 0;
	/* segments dead now may go once this sync made their death durable;
	 * a segment that dies later waits for a later sync (its live
	 * messages may be copied forward by records this one misses) */
	for (i = 0; i + 1 < q->nsegs && q->segs[i].live == 0 &&
		    !q->segs[i].pinned; i++)
		;
	j->drop_below = q->segs[i].num;
	if (q->dirty && (j->fd = dup(active(q)->fd)) < 0)
		goto fail;
	if (q->dir_dirty && (j->dirfd = dup(q->dirfd)) < 0)
		goto fail;
	q->dirty = q->dir_dirty = 0;
	return 0;
fail:
	log_error("queue %s: dup: %s", q->dir, strerror(errno));
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	return -1;
}

void queue_sync_run(struct queue_syncjob *j)
{
	if (j->fd >= 0) {
		if (fdatasync(j->fd) < 0)
			j->rc = errno;
		close(j->fd);
		j->fd = -1;
	}
	if (j->dirfd >= 0) {
		if (j->rc == 0 && fsync(j->dirfd) < 0)
			j->rc = errno;
		close(j->dirfd);
		j->dirfd = -1;
	}
}

int queue_sync_finish(struct queue *q, struct queue_syncjob *j)
{
	char name[QSEG_NAME];
	size_t drop = 0, i;

	if (j->rc != 0) {
		log_error("queue %s: sync: %s", q->dir, strerror(j->rc));
		/* whatever that sync covered goes into the next one */
		q->dirty = q->dir_dirty = 1;
		return -1;
	}
	/* unlink the dead prefix (never the active segment): records in
	 * later segments only ever refer to messages in later segments */
	while (drop + 1 < q->nsegs && q->segs[drop].live == 0 &&
	       !q->segs[drop].pinned && j->gen == q->seg_gen &&
	       q->segs[drop].num < j->drop_below) {
		queue_seg_name(name, q->segs[drop].num);
		close(q->segs[drop].fd);
		if (unlinkat(q->dirfd, name, 0) < 0)
			log_warn("queue %s: unlink %s: %s", q->dir, name,
				 strerror(errno));
		drop++;
		q->dir_dirty = 1;	/* made durable by the next sync */
	}
	if (drop) {
		for (i = drop; i < q->nsegs; i++)
			q->segs[i - drop] = q->segs[i];
		q->nsegs -= drop;
	}
	return 0;
}

int queue_sync(struct queue *q)
{
	struct queue_syncjob j;

	if (queue_sync_prepare(q, &j) < 0)
		return -1;
	queue_sync_run(&j);
	if (queue_sync_finish(q, &j) < 0)
		return -1;
	/* the unlinks just made: durable before returning, as callers
	 * (shutdown, the control socket) expect of one call */
	if (q->dir_dirty) {
		if (fsync(q->dirfd) < 0) {
			log_error("queue %s: fsync dir: %s", q->dir,
				  strerror(errno));
			return -1;
		}
		q->dir_dirty = 0;
	}
	return 0;
}

int queue_dirty(const struct queue *q)
{
	return q->dirty || q->dir_dirty;
}

int queue_body(struct queue *q, const struct qmsg *m, struct sbuf *out)
{
	const struct qent *e = (const struct qent *)m;
	struct qseg *s = queue_seg_of(q, e->seg);
	size_t done = 0;
	ssize_t n;

	if (s == NULL || sbuf_reserve(out, m->size) < 0)
		return -1;
	while (done < m->size) {
		n = pread(s->fd, out->data + out->len + done, m->size - done,
			  e->body_off + (off_t)done);
		if (n <= 0) {
			log_error("queue %s: read %s: %s", q->dir, m->id,
				  n < 0 ? strerror(errno) : "short file");
			return -1;
		}
		done += (size_t)n;
	}
	out->len += m->size;
	out->data[out->len] = '\0';
	return 0;
}

struct queue *queue_open(const char *dir, char *err, size_t errlen)
{
	return queue_open_mode(dir, 0, err, errlen);
}

/* The lock file: exclusive to change the queue, shared to read it (and
 * then only if it is there: reading creates nothing). 0 or -1. */
static int lock(struct queue *q, char *err, size_t errlen)
{
	q->lockfd = openat(q->dirfd, "lock", q->readonly ? O_RDONLY | O_CLOEXEC
				: O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->lockfd < 0) {
		if (q->readonly && errno == ENOENT)
			return 0;
		queue_open_error(q, "lock", errno, err, errlen);
		return -1;
	}
	if (flock(q->lockfd, (q->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: queue is in use by another process",
			 q->dir);
		return -1;
	}
	return 0;
}

struct queue *queue_open_mode(const char *dir, int flags, char *err,
			      size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (errlen)
		err[0] = '\0';
	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->lockfd = q->dirfd = q->corruptfd = -1;
	q->readonly = (flags & QUEUE_RDONLY) != 0;
	q->now = time(NULL);
	q->seg_max = QSEG_DEFAULT;
	q->id_counter = (uint32_t)getpid() * 2654435761u;
	sbuf_init(&q->scratch, QREC_MAX);
	q->dir = strdup(dir);
	if (q->dir == NULL || (!q->readonly && mkdir(dir, 0700) < 0 &&
			       errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (lock(q, err, errlen) < 0 || queue_recover(q, err, errlen) < 0)
		goto fail;
	if (q->readonly)
		return q;
	if (seg_create(q) < 0 || queue_sync(q) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot start a segment",
				 dir);
		goto fail;
	}
	return q;
fail:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	struct qent *e, *next;
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < QUEUE_BUCKETS; i++)
		for (e = q->buckets[i]; e; e = next) {
			next = e->hnext;
			envelope_free(&e->pub.env);
			free(e->pub.last_error);
			free(e);
		}
	for (i = 0; i < q->nsegs; i++)
		if (q->segs[i].fd >= 0)
			close(q->segs[i].fd);
	if (q->corruptfd >= 0)
		close(q->corruptfd);
	free(q->segs);
	free(q->heap);
	sbuf_free(&q->scratch);
	if (q->dirfd >= 0)
		close(q->dirfd);
	if (q->lockfd >= 0)
		close(q->lockfd);
	free(q->dir);
	free(q);
}

void queue_set_segment_size(struct queue *q, size_t bytes)
{
	q->seg_max = bytes;
}

uint64_t queue_damaged(const struct queue *q)
{
	return q->damaged;
}

size_t queue_unreadable(const struct queue *q)
{
	return q->unreadable;
}
