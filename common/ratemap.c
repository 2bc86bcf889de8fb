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
#include <string.h>

#define RM_BUCKETS 4096
#define RM_KEY 320

struct rm_entry {
	struct rm_entry *next;
	uint64_t start, end;	/* the current window */
	uint64_t until;		/* held until */
	long long count;
	char key[RM_KEY];
};

struct ratemap {
	size_t max, n;
	struct rm_entry *bucket[RM_BUCKETS];
};

struct ratemap *ratemap_new(size_t max_entries)
{
	struct ratemap *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->max = max_entries;
	return m;
}

void ratemap_free(struct ratemap **mp)
{
	struct ratemap *m = *mp;
	struct rm_entry *e, *next;
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < RM_BUCKETS; i++)
		for (e = m->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m);
	*mp = NULL;
}

static struct rm_entry **slot(struct ratemap *m, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;
	struct rm_entry **pp;

	for (p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	pp = &m->bucket[h % RM_BUCKETS];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void sweep(struct ratemap *m, uint64_t now)
{
	struct rm_entry **pp, *e;
	size_t i;

	for (i = 0; i < RM_BUCKETS; i++)
		for (pp = &m->bucket[i]; (e = *pp) != NULL;)
			if (e->end <= now && e->until <= now) {
				*pp = e->next;
				free(e);
				m->n--;
			} else {
				pp = &e->next;
			}
}

/* key's entry, created when missing; NULL when the map is full. */
static struct rm_entry *entry(struct ratemap *m, const char *key,
			      uint64_t now)
{
	char k[RM_KEY];
	struct rm_entry **pp, *e;

	snprintf(k, sizeof(k), "%s", key);
	pp = slot(m, k);
	if (*pp)
		return *pp;
	if (m->n >= m->max) {
		sweep(m, now);
		if (m->n >= m->max)
			return NULL;
		pp = slot(m, k);
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	memcpy(e->key, k, sizeof(k));
	*pp = e;
	m->n++;
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
	struct rm_entry **pp;

	snprintf(k, sizeof(k), "%s", key);
	pp = slot(m, k);
	return *pp != NULL && (*pp)->until > now;
}

size_t ratemap_size(const struct ratemap *m)
{
	return m->n;
}
