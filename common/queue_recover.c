/*
 * NAME
 *	queue_recover - rebuild the queue from its segments at open
 * DESCRIPTION
 *	Replays every segment in order (qrec_scan() tells records from
 *	damage). A damaged record costs only itself: its bytes are set
 *	aside in dir/corrupt/seg-NNNNNNNN.OFFSET, it is logged with segment
 *	and offset and counted, and every good record after it is kept.
 *	Only a torn tail (the last record cut short by a crash) is cut off.
 *	A segment that cannot be opened is named with the fix and left
 *	alone; it and every later segment are never unlinked, so nothing in
 *	it is lost or resurrected once it is readable again. Opened read-
 *	only, recovery changes nothing on disk. Segment names are parsed
 *	strictly: "seg-" and the number as seg_create() writes it.
 */
#include "queue_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"

int queue_seg_parse(const char *name, uint32_t *num)
{
	char canon[QSEG_NAME];
	unsigned long long v = 0;
	const char *p;

	if (strncmp(name, "seg-", 4) != 0)
		return -1;
	for (p = name + 4; *p; p++) {
		if (*p < '0' || *p > '9' || p - name >= 4 + 10)
			return -1;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (p == name + 4 || v == 0 || v > UINT32_MAX)
		return -1;
	/* one spelling per number: no "seg-1" beside "seg-00000001" */
	queue_seg_name(canon, (uint32_t)v);
	if (strcmp(canon, name) != 0)
		return -1;
	*num = (uint32_t)v;
	return 0;
}

void queue_seg_name(char name[QSEG_NAME], uint32_t num)
{
	snprintf(name, QSEG_NAME, "seg-%08u", num);
}

void queue_open_error(const struct queue *q, const char *name, int e,
		      char *err, size_t errlen)
{
	struct passwd *pw = getpwuid(geteuid());

	if (e == EACCES || e == EPERM)
		snprintf(err, errlen, "%s/%s: %s (fix: chown %s %s/%s, or "
			 "run as the user owning %s)", q->dir, name,
			 strerror(e), pw ? pw->pw_name : "<user>", q->dir,
			 name, q->dir);
	else
		snprintf(err, errlen, "%s/%s: %s", q->dir, name, strerror(e));
}

struct replay {
	struct queue *q;
	struct qseg *s;
	const unsigned char *map;
	size_t torn;		/* offset of a torn tail, or SIZE_MAX */
};

static void bad_record(struct replay *r, size_t off, const char *why)
{
	log_error("queue %s: seg-%08u: %s at byte %zu skipped", r->q->dir,
		  r->s->num, why, off);
	r->q->damaged++;
}

static void apply(struct replay *r, const struct qscan_item *it)
{
	struct queue *q = r->q;
	struct qseg *s = r->s;
	const unsigned char *p = it->payload;
	struct qmsg tmp;
	struct qent *e;
	size_t used, n = it->plen;
	char id[QREC_ID + 1];

	if (it->type == QREC_DONE) {
		if (n != QREC_ID || qrec_id(p, n, id) < 0) {
			bad_record(r, it->off, "bad DONE record");
			return;
		}
		if ((e = queue_lookup(q, id)) != NULL)
			queue_forget(q, e);
		return;
	}
	if (qrec_state_parse(p, n, q->now, &tmp, &used) < 0) {
		bad_record(r, it->off, "bad record");
		return;
	}
	if (it->type == QREC_UPDATE && used != n) {
		envelope_free(&tmp.env);
		free(tmp.last_error);
		bad_record(r, it->off, "bad UPDATE record");
		return;
	}
	e = queue_lookup(q, tmp.id);
	if (e == NULL && it->type == QREC_UPDATE) {
		envelope_free(&tmp.env);
		free(tmp.last_error);
		return; /* its message is gone already */
	}
	if (e == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			log_fatal("out of memory");
		memcpy(e->pub.id, tmp.id, sizeof(e->pub.id));
		e->heap_idx = SIZE_MAX;
		e->seq = q->seq++;
		queue_insert(q, e);
	} else {
		envelope_free(&e->pub.env);
		free(e->pub.last_error);
	}
	e->pub.env = tmp.env;
	e->pub.last_error = tmp.last_error;
	e->pub.next_try = tmp.next_try;
	e->pub.attempts = tmp.attempts;
	e->pub.held = tmp.held;
	if (it->type == QREC_NEW) {
		struct qseg *old = e->seg ? queue_seg_of(q, e->seg) : NULL;

		if (old && old->live > 0)
			old->live--;
		e->seg = s->num;
		s->live++;
		e->body_off = (off_t)(it->off + QREC_HDR + used);
		e->pub.size = n - used;
	}
}

/* Copy damaged bytes to corrupt/seg-NNNNNNNN.OFFSET (kept if it is
 * there from an earlier start). 0 or -1. */
static int quarantine(struct queue *q, uint32_t seg, size_t off,
		      const unsigned char *p, size_t n)
{
	char name[64];
	int fd, rc = 0;

	if (q->corruptfd < 0) {
		if (mkdirat(q->dirfd, QUEUE_CORRUPT_DIR, 0700) < 0 &&
		    errno != EEXIST)
			return -1;
		q->corruptfd = openat(q->dirfd, QUEUE_CORRUPT_DIR,
				      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->corruptfd < 0)
			return -1;
		q->dir_dirty = 1;
	}
	snprintf(name, sizeof(name), "seg-%08u.%zu", seg, off);
	fd = openat(q->corruptfd, name, O_WRONLY | O_CREAT | O_EXCL |
					O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	if (durable_write_all(fd, p, n) < 0)
		rc = -1;
	if (rc == 0 && fsync(fd) < 0)
		rc = -1;
	close(fd);
	if (rc == 0 && fsync(q->corruptfd) < 0)
		rc = -1;
	if (rc < 0)
		unlinkat(q->corruptfd, name, 0);
	return rc;
}

static void damaged(struct replay *r, const struct qscan_item *it)
{
	struct queue *q = r->q;
	char id[QREC_ID + 1], what[64] = "";

	q->damaged++;
	if (it->len >= QREC_HDR + QREC_ID &&
	    qrec_id(it->payload + QREC_HDR, it->len - QREC_HDR, id) == 0)
		snprintf(what, sizeof(what), " (message %s?)", id);
	if (q->readonly) {
		log_error("queue %s: seg-%08u: damaged record%s at byte %zu, "
			  "%zu bytes: skipped (read-only: the daemon sets it "
			  "aside in %s/)", q->dir, r->s->num, what, it->off,
			  it->len, QUEUE_CORRUPT_DIR);
		return;
	}
	if (quarantine(q, r->s->num, it->off, it->payload, it->len) < 0) {
		/* keep the segment itself as the only copy */
		r->s->pinned = 1;
		log_error("queue %s: seg-%08u: damaged record%s at byte %zu, "
			  "%zu bytes: skipped; cannot copy it to %s/ (%s), so "
			  "the segment is kept", q->dir, r->s->num, what,
			  it->off, it->len, QUEUE_CORRUPT_DIR,
			  strerror(errno));
		return;
	}
	log_error("queue %s: seg-%08u: damaged record%s at byte %zu, %zu "
		  "bytes: set aside in %s/seg-%08u.%zu; the records after it "
		  "(if any) are kept", q->dir, r->s->num, what, it->off, it->len,
		  QUEUE_CORRUPT_DIR, r->s->num, it->off);
}

static void on_item(void *arg, const struct qscan_item *it)
{
	struct replay *r = arg;

	if (it->kind == QSCAN_RECORD)
		apply(r, it);
	else if (it->kind == QSCAN_DAMAGED)
		damaged(r, it);
	else
		r->torn = it->off;
}

static int replay(struct queue *q, struct qseg *s)
{
	struct replay r;
	struct stat st;
	unsigned char *map;
	size_t size;

	if (fstat(s->fd, &st) < 0)
		return -1;
	size = (size_t)st.st_size;
	s->size = st.st_size;
	if (size == 0)
		return 0;
	map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, s->fd, 0);
	if (map == MAP_FAILED)
		return -1;
	r.q = q;
	r.s = s;
	r.map = map;
	r.torn = SIZE_MAX;
	qrec_scan(map, size, on_item, &r);
	munmap(map, size);
	if (r.torn == SIZE_MAX)
		return 0;
	if (q->readonly) {
		log_warn("queue %s: seg-%08u: torn tail at byte %zu of %zu "
			 "(left as it is: read-only)", q->dir, s->num, r.torn,
			 size);
		return 0;
	}
	log_warn("queue %s: seg-%08u: torn tail at byte %zu of %zu cut off",
		 q->dir, s->num, r.torn, size);
	if (ftruncate(s->fd, (off_t)r.torn) < 0 || fsync(s->fd) < 0)
		return -1;
	s->size = (off_t)r.torn;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The numbers of the segment files in dir, sorted; *n of them. */
static uint32_t *seg_list(struct queue *q, size_t *n, char *err,
			  size_t errlen)
{
	DIR *d = opendir(q->dir);
	struct dirent *de;
	uint32_t *nums = NULL, *nn, num;

	*n = 0;
	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", q->dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (queue_seg_parse(de->d_name, &num) < 0) {
			if (strncmp(de->d_name, "seg-", 4) == 0)
				log_warn("queue %s: %s is no segment name; "
					 "ignored", q->dir, de->d_name);
			continue;
		}
		nn = realloc(nums, (*n + 1) * sizeof(*nums));
		if (nn == NULL) {
			snprintf(err, errlen, "out of memory");
			free(nums);
			closedir(d);
			*n = 0;
			return NULL;
		}
		nums = nn;
		nums[(*n)++] = num;
	}
	closedir(d);
	if (*n > 0)
		qsort(nums, *n, sizeof(*nums), cmp_u32);
	else
		nums = malloc(sizeof(*nums));
	if (nums == NULL)
		snprintf(err, errlen, "out of memory");
	return nums;
}

int queue_recover(struct queue *q, char *err, size_t errlen)
{
	uint32_t *nums;
	size_t n, i;
	char name[QSEG_NAME], why[1024];
	struct qseg *s;
	struct qent *e;

	nums = seg_list(q, &n, err, errlen);
	if (nums == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		s = realloc(q->segs, (q->nsegs + 1) * sizeof(*s));
		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			free(nums);
			return -1;
		}
		q->segs = s;
		s = &q->segs[q->nsegs++];
		memset(s, 0, sizeof(*s));
		s->num = nums[i];
		queue_seg_name(name, s->num);
		s->fd = openat(q->dirfd, name, (q->readonly ? O_RDONLY :
						O_RDWR | O_APPEND) | O_CLOEXEC);
		if (s->fd < 0) {
			/* the rest of the queue keeps working; this one and
			 * every later one stay on disk until it is fixed */
			queue_open_error(q, name, errno, why, sizeof(why));
			log_error("queue %s: cannot open a segment, its messages "
				  "wait: %s", q->dir, why);
			s->pinned = 1;
			q->unreadable++;
			continue;
		}
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

int queue_renumber(struct queue *q)
{
	char from[QSEG_NAME], to[QSEG_NAME];
	struct qent *e;
	size_t i, b;
	uint32_t num;

	/* ascending, each to its rank: a target is never above its old
	 * number nor at another file's name, so the order on disk stays
	 * right after a crash at any step */
	for (i = 0; i < q->nsegs; i++) {
		num = (uint32_t)(i + 1);
		if (q->segs[i].num == num)
			continue;
		queue_seg_name(from, q->segs[i].num);
		queue_seg_name(to, num);
		if (renameat(q->dirfd, from, q->dirfd, to) < 0) {
			log_error("queue %s: rename %s to %s: %s", q->dir,
				  from, to, strerror(errno));
			return -1;
		}
		for (b = 0; b < QUEUE_BUCKETS; b++)
			for (e = q->buckets[b]; e; e = e->hnext)
				if (e->seg == q->segs[i].num)
					e->seg = num;
		q->segs[i].num = num;
		q->seg_gen++;
		q->dir_dirty = 1;
	}
	log_info("queue %s: segment numbers wrapped; renumbered from 1",
		 q->dir);
	return 0;
}
