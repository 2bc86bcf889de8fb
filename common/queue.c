/*
 * NAME
 *	queue - the durable spool queue: journal, recovery, group commit
 * DESCRIPTION
 *	See queue.h for the contract. Record layout (little-endian):
 *	  header:  u32 magic "SLQ1", u8 type, 3 zero bytes, u32 payload
 *	           length, u32 CRC-32 (IEEE) of the payload
 *	  state:   char id[16], u64 next_try, u32 attempts, u32 held,
 *	           u32 errlen, err, u32 envlen, envelope record
 *	  NEW    = state + message bytes;  UPDATE = state;  DONE = id
 *	A NEW for an ID already known is a copy made by compaction and
 *	supersedes the older one. Everything read back is checked (CRC,
 *	lengths, envelope_decode()) before it is believed.
 */
#include "queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

#define QMAGIC 0x31514c53u /* "SLQ1" */
#define QHDR 16
#define QID 16
#define QSEG_DEFAULT (64u * 1024 * 1024)
#define QREC_MAX ((size_t)1 << 31)

/* CRC-32 (IEEE 802.3), slicing-by-8: eight tables, eight bytes a step.
 * It guards every journal record, so it runs over every message byte. */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	uint32_t c, n, k;

	if (crc_table[0][1])
		return;
	for (n = 0; n < 256; n++) {
		c = n;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][n] = c;
	}
	for (n = 0; n < 256; n++)
		for (k = 1; k < 8; k++)
			crc_table[k][n] = (crc_table[k - 1][n] >> 8) ^
					  crc_table[0][crc_table[k - 1][n] &
						       0xff];
}

static uint32_t crc_update(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t lo, hi;

	crc = ~crc;
	while (n >= 8) {
		lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 |
			    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
		hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 |
		     (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		b += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

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

static void hash_insert(struct queue *q, struct qent *e)
{
	unsigned h = hash_id(e->pub.id);

	e->hnext = q->buckets[h];
	q->buckets[h] = e;
	q->count++;
}

static struct qseg *seg_of(struct queue *q, uint32_t num)
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
	s = seg_of(q, e->seg);
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
	char name[32];
	struct qseg *s;
	uint32_t num = q->nsegs ? active(q)->num + 1 : 1;
	int fd;

	snprintf(name, sizeof(name), "seg-%08u", num);
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
	unsigned char hdr[QHDR];
	struct iovec iov[4];
	struct qseg *s = active(q);
	size_t total = n1 + n2 + n3;
	ssize_t w;
	uint32_t crc;

	if (total > QREC_MAX)
		return -1;
	if (s->size > 0 && (size_t)s->size + QHDR + total > q->seg_max) {
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
	crc = crc_update(0, p1, n1);
	crc = crc_update(crc, p2, n2);
	crc = crc_update(crc, p3, n3);
	put32(hdr, QMAGIC);
	hdr[4] = (unsigned char)type;
	hdr[5] = hdr[6] = hdr[7] = 0;
	put32(hdr + 8, (uint32_t)total);
	put32(hdr + 12, crc);
	iov[0].iov_base = hdr;
	iov[0].iov_len = QHDR;
	iov[1].iov_base = (void *)p1;
	iov[1].iov_len = n1;
	iov[2].iov_base = (void *)p2;
	iov[2].iov_len = n2;
	iov[3].iov_base = (void *)p3;
	iov[3].iov_len = n3;
	w = writev(s->fd, iov, 4);
	if (w != (ssize_t)(QHDR + total)) {
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
		*body_off = s->size + QHDR + (off_t)n1;
	s->size += (off_t)(QHDR + total);
	q->dirty = 1;
	return 0;
}

/* The state block of e (without the message bytes) into q->scratch. */
static int state_block(struct queue *q, struct qent *e)
{
	struct sbuf *b = &q->scratch;
	unsigned char num[20];
	const char *err = e->pub.last_error ? e->pub.last_error : "";
	size_t envstart;
	uint64_t nt = (uint64_t)e->pub.next_try;
	char id[QID];

	sbuf_reset(b);
	memset(id, 0, sizeof(id));
	memcpy(id, e->pub.id, strlen(e->pub.id));
	put32(num, (uint32_t)nt);
	put32(num + 4, (uint32_t)(nt >> 32));
	put32(num + 8, (uint32_t)e->pub.attempts);
	put32(num + 12, (uint32_t)e->pub.held);
	put32(num + 16, (uint32_t)strlen(err));
	if (sbuf_append(b, id, QID) < 0 || sbuf_append(b, num, 20) < 0 ||
	    sbuf_append(b, err, strlen(err)) < 0 ||
	    sbuf_append(b, num, 4) < 0)
		return -1;
	envstart = b->len;
	if (envelope_encode(&e->pub.env, b) < 0)
		return -1;
	put32((unsigned char *)b->data + envstart - 4,
	      (uint32_t)(b->len - envstart));
	return 0;
}

int queue_write_update(struct queue *q, struct qent *e)
{
	if (state_block(q, e) < 0)
		return -1;
	return append(q, QREC_UPDATE, q->scratch.data, q->scratch.len, NULL,
		      0, NULL, 0, NULL);
}

int queue_write_done(struct queue *q, struct qent *e)
{
	char id[QID];

	memset(id, 0, sizeof(id));
	memcpy(id, e->pub.id, strlen(e->pub.id));
	return append(q, QREC_DONE, id, QID, NULL, 0, NULL, 0, NULL);
}

/* Write e (state and message bytes) as a NEW record in the active
 * segment and point e at it. */
static int write_new(struct queue *q, struct qent *e, const char *body,
		     size_t len)
{
	struct qseg *old;
	off_t off;

	if (state_block(q, e) < 0)
		return -1;
	if (append(q, QREC_NEW, q->scratch.data, q->scratch.len, body, len,
		   NULL, 0, &off) < 0)
		return -1;
	/* append() may have rotated: the record is in the active segment */
	if (e->seg != active(q)->num) {
		old = e->seg ? seg_of(q, e->seg) : NULL;
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
	hash_insert(q, e);
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
	/* segments dead now may go once this sync made their death durable;
	 * a segment that dies later waits for a later sync (its live
	 * messages may be copied forward by records this one misses) */
	for (i = 0; i + 1 < q->nsegs && q->segs[i].live == 0; i++)
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
	char name[32];
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
	       q->segs[drop].num < j->drop_below) {
		snprintf(name, sizeof(name), "seg-%08u", q->segs[drop].num);
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
	struct qseg *s = seg_of(q, e->seg);
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

/* ---- recovery ---- */

/* Parse a state block at p[0..n). Fills e (id, state, envelope) and
 * *used. Returns 0 or -1. */
static int parse_state(const unsigned char *p, size_t n, struct qent *e,
		       size_t *used)
{
	uint32_t errlen, envlen;
	size_t off = QID + 20;

	if (n < off || memchr(p, '\0', QID) == p)
		return -1;
	memcpy(e->pub.id, p, QID);
	e->pub.id[QID] = '\0';
	e->pub.next_try = (time_t)get64(p + QID);
	e->pub.attempts = (int)get32(p + QID + 8);
	e->pub.held = get32(p + QID + 12) != 0;
	errlen = get32(p + QID + 16);
	if (errlen > 4096 || n - off < (size_t)errlen + 4)
		return -1;
	e->pub.last_error = errlen ? strndup((const char *)p + off, errlen)
				   : NULL;
	off += errlen;
	envlen = get32(p + off);
	off += 4;
	if (envlen > n - off ||
	    envelope_decode(&e->pub.env, (const char *)p + off, envlen) < 0) {
		free(e->pub.last_error);
		e->pub.last_error = NULL;
		return -1;
	}
	*used = off + envlen;
	return 0;
}

static void apply(struct queue *q, struct qseg *s, int type,
		  const unsigned char *p, size_t n, off_t payload_off)
{
	struct qent tmp, *e;
	size_t used;
	char id[QID + 1];

	if (type == QREC_DONE) {
		if (n != QID)
			return;
		memcpy(id, p, QID);
		id[QID] = '\0';
		if ((e = queue_lookup(q, id)) != NULL)
			queue_forget(q, e);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (parse_state(p, n, &tmp, &used) < 0) {
		log_warn("queue %s: seg-%08u: bad record skipped", q->dir,
			 s->num);
		return;
	}
	e = queue_lookup(q, tmp.pub.id);
	if (e == NULL && type == QREC_UPDATE) {
		envelope_free(&tmp.pub.env);
		free(tmp.pub.last_error);
		return; /* its message is gone already */
	}
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			log_fatal("out of memory");
		memcpy(e->pub.id, tmp.pub.id, sizeof(e->pub.id));
		e->heap_idx = SIZE_MAX;
		e->seq = q->seq++;
		hash_insert(q, e);
	} else {
		envelope_free(&e->pub.env);
		free(e->pub.last_error);
	}
	e->pub.env = tmp.pub.env;
	e->pub.last_error = tmp.pub.last_error;
	e->pub.next_try = tmp.pub.next_try;
	e->pub.attempts = tmp.pub.attempts;
	e->pub.held = tmp.pub.held;
	if (type == QREC_NEW) {
		struct qseg *old = e->seg ? seg_of(q, e->seg) : NULL;

		if (old && old->live > 0)
			old->live--;
		e->seg = s->num;
		s->live++;
		e->body_off = payload_off + (off_t)used;
		e->pub.size = n - used;
	}
}

static int replay(struct queue *q, struct qseg *s)
{
	struct stat st;
	unsigned char *map;
	size_t off = 0, len, size;
	uint32_t crc;

	if (fstat(s->fd, &st) < 0)
		return -1;
	size = (size_t)st.st_size;
	if (size == 0)
		return 0;
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (map == MAP_FAILED)
		return -1;
	while (off + QHDR <= size) {
		len = get32(map + off + 8);
		if (get32(map + off) != QMAGIC || map[off + 4] < QREC_NEW ||
		    map[off + 4] > QREC_DONE || len > size - off - QHDR)
			break;
		crc = crc_update(0, map + off + QHDR, len);
		if (crc != get32(map + off + 12))
			break;
		apply(q, s, map[off + 4], map + off + QHDR, len,
		      (off_t)(off + QHDR));
		off += QHDR + len;
	}
	munmap(map, size);
	if (off < size) {
		log_warn("queue %s: seg-%08u: torn or corrupt tail at byte "
			 "%zu of %zu cut off", q->dir, s->num, off, size);
		if (ftruncate(s->fd, (off_t)off) < 0 || fsync(s->fd) < 0)
			return -1;
	}
	s->size = (off_t)off;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int recover(struct queue *q, char *err, size_t errlen)
{
	DIR *d = opendir(q->dir);
	struct dirent *de;
	uint32_t *nums = NULL, *nn, num;
	size_t n = 0, i;
	char name[32], extra;
	struct qent *e;
	int fd;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", q->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "seg-%8u%c", &num, &extra) != 1)
			continue;
		nn = realloc(nums, (n + 1) * sizeof(*nums));
		if (nn == NULL)
			break;
		nums = nn;
		nums[n++] = num;
	}
	closedir(d);
	if (n > 0)
		qsort(nums, n, sizeof(*nums), cmp_u32);
	for (i = 0; i < n; i++) {
		struct qseg *s;

		snprintf(name, sizeof(name), "seg-%08u", nums[i]);
		fd = openat(q->dirfd, name, O_RDWR | O_APPEND | O_CLOEXEC);
		s = fd < 0 ? NULL : realloc(q->segs, (q->nsegs + 1) *
						     sizeof(*s));
		if (s == NULL) {
			snprintf(err, errlen, "%s/%s: %s", q->dir, name,
				 strerror(errno));
			free(nums);
			return -1;
		}
		q->segs = s;
		s = &q->segs[q->nsegs++];
		memset(s, 0, sizeof(*s));
		s->num = nums[i];
		s->fd = fd;
		if (replay(q, s) < 0) {
			snprintf(err, errlen, "%s/%s: cannot replay: %s",
				 q->dir, name, strerror(errno));
			free(nums);
			return -1;
		}
	}
	free(nums);
	for (i = 0; i < QUEUE_BUCKETS; i++)
		for (e = q->buckets[i]; e; e = e->hnext)
			if (!e->pub.held)
				qheap_push(q, e);
	return 0;
}

struct queue *queue_open(const char *dir, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	char path[4096];

	if (errlen)
		err[0] = '\0';
	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	crc_init();
	q->lockfd = q->dirfd = -1;
	q->seg_max = QSEG_DEFAULT;
	q->id_counter = (uint32_t)getpid() * 2654435761u;
	sbuf_init(&q->scratch, QREC_MAX);
	q->dir = strdup(dir);
	if (q->dir == NULL || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/lock", dir);
	q->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->dirfd < 0 || q->lockfd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(q->lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: queue is in use by another process",
			 dir);
		goto fail;
	}
	if (recover(q, err, errlen) < 0 || seg_create(q) < 0 ||
	    queue_sync(q) < 0) {
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
		close(q->segs[i].fd);
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
