/*
 * NAME
 *	peerlimit - concurrent sessions per client address
 * DESCRIPTION
 *	See peerlimit.h. A chained hash of (key, count); an entry goes when
 *	its count drops to zero, so the table holds at most one entry per
 *	counted session. Keys come from getpeername(), not from the peer's
 *	words, but are still bounded (longer text is cut).
 */
#include "peerlimit.h"
#include "netmatch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PL_BUCKETS 1024
#define PL_KEY 64

struct pl_entry {
	struct pl_entry *next;
	size_t count;
	char key[PL_KEY];
};

struct peerlimit {
	size_t max;
	struct pl_entry *bucket[PL_BUCKETS];
};

void peerlimit_set_max(struct peerlimit *pl, long long max)
{
	pl->max = max > 0 ? (size_t)max : 0;
}

struct peerlimit *peerlimit_new(long long max)
{
	struct peerlimit *pl = calloc(1, sizeof(*pl));

	if (pl != NULL)
		pl->max = max > 0 ? (size_t)max : 0;
	return pl;
}

void peerlimit_free(struct peerlimit **plp)
{
	struct peerlimit *pl = *plp;
	struct pl_entry *e, *next;
	size_t i;

	if (pl == NULL)
		return;
	for (i = 0; i < PL_BUCKETS; i++)
		for (e = pl->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(pl);
	*plp = NULL;
}

/* The counting key of addr: an IPv6 address (not IPv4-mapped) as its
 * /64 prefix, anything else as it is. */
static void make_key(const char *addr, char key[PL_KEY])
{
	netmatch_prefix(addr, 32, 64, key, PL_KEY);
}

static struct pl_entry **find(const struct peerlimit *pl, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;
	struct pl_entry *const *pp;

	for (p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	pp = &pl->bucket[h % PL_BUCKETS];
	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return (struct pl_entry **)pp;
}

int peerlimit_enter(struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct pl_entry **pp, *e;

	if (pl->max == 0)
		return 0;
	make_key(addr, key);
	pp = find(pl, key);
	if (*pp == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return -1;
		memcpy(e->key, key, sizeof(e->key));
		*pp = e;
	}
	if ((*pp)->count >= pl->max)
		return -1;
	(*pp)->count++;
	return 0;
}

void peerlimit_leave(struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct pl_entry **pp, *e;

	if (pl->max == 0)
		return;
	make_key(addr, key);
	pp = find(pl, key);
	if ((e = *pp) == NULL)
		return;
	if (e->count > 0)
		e->count--;
	if (e->count == 0) {
		*pp = e->next;
		free(e);
	}
}

size_t peerlimit_count(const struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct pl_entry **pp;

	if (pl->max == 0)
		return 0;
	make_key(addr, key);
	pp = find(pl, key);
	return *pp ? (*pp)->count : 0;
}
