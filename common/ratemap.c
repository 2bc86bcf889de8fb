/*
 * NAME
 *	ratemap - counters and holds per key, in memory
 * DESCRIPTION
 *	See ratemap.h. An entry lives until the later of its window's end
 *	and its hold; a sweep (when the table is full) frees the entries
 *	whose time is over.
 */
#include "ratemap.h"

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "keytab.h"

#define RM_BUCKETS 4096
#define RM_KEY 320

struct rm_entry {
	struct keytab_entry link;	/* first */
	uint64_t start, end;	/* the current window */
	uint64_t until;		/* held until */
	long long count;
	char key[RM_KEY];
};

struct ratemap {
	size_t max;
	struct keytab t;
};

struct ratemap *ratemap_new(size_t max_entries)
{
	struct ratemap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->max = max_entries;
	if (keytab_init(&m->t, RM_BUCKETS, offsetof(struct rm_entry, key)) <
	    0) {
		free(m);
		return NULL;
	}
	return m;
}

void ratemap_free(struct ratemap **mp)
{
	struct ratemap *m = *mp;

	if (m == NULL)
		return;
	keytab_fini(&m->t);
	free(m);
	*mp = NULL;
}

static int over(const struct keytab_entry *le, void *arg)
{
	const struct rm_entry *e = (const struct rm_entry *)le;
	uint64_t now = *(const uint64_t *)arg;

	return e->end <= now && e->until <= now;
}

/* key's entry, created when missing; NULL when the map is full. */
static struct rm_entry *entry(struct ratemap *m, const char *key,
			      uint64_t now)
{
	char k[RM_KEY];
	struct keytab_entry **pp;
	struct rm_entry *e;

	snprintf(k, sizeof(k), "%s", key);
	pp = keytab_slot(&m->t, k);
	if (*pp)
		return (struct rm_entry *)*pp;
	if (m->t.n >= m->max) {
		keytab_sweep(&m->t, over, &now);
		if (m->t.n >= m->max)
			return NULL;
		pp = keytab_slot(&m->t, k);
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	memcpy(e->key, k, sizeof(k));
	keytab_link(&m->t, pp, &e->link);
	return e;
}

long long ratemap_hit(struct ratemap *m, const char *key, uint64_t now,
		      uint64_t window_ms)
{
	struct rm_entry *e = entry(m, key, now);

	if (e == NULL)
		return 0;
	if (e->count == 0 || now >= e->end) {
		e->start = now;
		e->end = now + window_ms;
		e->count = 0;
	}
	return ++e->count;
}

void ratemap_hold(struct ratemap *m, const char *key, uint64_t until)
{
	struct rm_entry *e = entry(m, key, 0);

	if (e != NULL && until > e->until)
		e->until = until;
}

int ratemap_held(struct ratemap *m, const char *key, uint64_t now)
{
	char k[RM_KEY];
	struct keytab_entry **pp;

	snprintf(k, sizeof(k), "%s", key);
	pp = keytab_slot(&m->t, k);
	return *pp != NULL && ((struct rm_entry *)*pp)->until > now;
}

/* ---- dump and load ---- */

static int put_u64(struct sbuf *out, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (unsigned char)(v & 0xff);
	return sbuf_append(out, b, sizeof(b));
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int ratemap_dump(const struct ratemap *m, uint64_t now, struct sbuf *out)
{
	const struct keytab_entry *le = NULL;
	const struct rm_entry *e;
	unsigned char kl[2];
	size_t i = 0, n, mark;

	while ((le = keytab_next(&m->t, &i, le)) != NULL) {
		e = (const struct rm_entry *)le;
		if (e->end <= now && e->until <= now)
			continue;
		n = strlen(e->key);
		kl[0] = (unsigned char)(n >> 8);
		kl[1] = (unsigned char)(n & 0xff);
		mark = out->len;
		if (sbuf_append(out, kl, 2) < 0 ||
		    sbuf_append(out, e->key, n) < 0 ||
		    put_u64(out, (uint64_t)e->count) < 0 ||
		    put_u64(out, e->start - now) < 0 ||
		    put_u64(out, e->end - now) < 0 ||
		    put_u64(out, e->until - now) < 0) {
			out->len = mark;
			return -1;
		}
	}
	return 0;
}

/* A time of the dump (relative, signed) made absolute again; times
 * before the clock's start are 0. With |rel| < 2^63 and elapsed and now
 * far below 2^62 (the caller bounds elapsed) nothing wraps. */
static uint64_t rebase(uint64_t rel, uint64_t now, uint64_t elapsed)
{
	int64_t r = (int64_t)rel;
	uint64_t mag;

	if (r >= 0) {
		mag = (uint64_t)r;
		return mag >= elapsed ? now + (mag - elapsed) :
		       (elapsed - mag > now ? 0 : now - (elapsed - mag));
	}
	mag = (uint64_t)(-(r + 1)) + 1 + elapsed;
	return mag > now ? 0 : now - mag;
}

long ratemap_load(struct ratemap *m, const void *data, size_t len,
		  uint64_t now, uint64_t elapsed)
{
	const unsigned char *p = data, *end;
	struct rm_entry *e;
	char key[RM_KEY];
	uint64_t count, start, wend, until;
	size_t kl;
	long added = 0;

	if (len == 0)	/* an empty dump (data may be NULL) */
		return 0;
	end = p + len;
	while (p < end) {
		if (end - p < 2)
			return -1;
		kl = (size_t)p[0] << 8 | p[1];
		p += 2;
		if (kl == 0 || kl >= RM_KEY || (size_t)(end - p) < kl + 32 ||
		    memchr(p, '\0', kl) != NULL)
			return -1;
		memcpy(key, p, kl);
		key[kl] = '\0';
		p += kl;
		count = get_u64(p);
		start = rebase(get_u64(p + 8), now, elapsed);
		wend = rebase(get_u64(p + 16), now, elapsed);
		until = rebase(get_u64(p + 24), now, elapsed);
		p += 32;
		if (count > INT64_MAX || start > wend)
			return -1;
		if (wend <= now && until <= now)
			continue;
		if (*keytab_slot(&m->t, key) != NULL)
			continue;
		e = entry(m, key, now);
		if (e == NULL)
			break;	/* full: the rest is forgotten */
		e->count = (long long)count;
		e->start = start;
		e->end = wend;
		e->until = until;
		added++;
	}
	return added;
}

size_t ratemap_size(const struct ratemap *m)
{
	return m->t.n;
}
