/*
 * NAME
 *	peerlimit - concurrent sessions per client address
 * DESCRIPTION
 *	See peerlimit.h. A table of (key, count) (keytab.c); an entry goes when
 *	its count drops to zero, so the table holds at most one entry per
 *	counted session. Keys come from getpeername(), not from the peer's
 *	words, but are still bounded (longer text is cut).
 */
#include "peerlimit.h"
#include "keytab.h"
#include "netmatch.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PL_BUCKETS 1024
#define PL_KEY 64

struct pl_entry {
	struct keytab_entry link; /* first */
	size_t count;
	char key[PL_KEY];
};

struct peerlimit {
	size_t max;
	struct keytab t;
};

void peerlimit_set_max(struct peerlimit *pl, long long max)
{
	pl->max = max > 0 ? (size_t)max : 0;
}

struct peerlimit *peerlimit_new(long long max)
{
	struct peerlimit *pl = calloc(1, sizeof(*pl));

	if (pl == NULL)
		return NULL;
	pl->max = max > 0 ? (size_t)max : 0;
	if (keytab_init(&pl->t, PL_BUCKETS, offsetof(struct pl_entry, key)) <
		0) {
		free(pl);
		return NULL;
	}
	return pl;
}

void peerlimit_free(struct peerlimit **plp)
{
	struct peerlimit *pl = *plp;

	if (pl == NULL)
		return;
	keytab_fini(&pl->t);
	free(pl);
	*plp = NULL;
}

/* The counting key of addr: an IPv6 address (not IPv4-mapped) as its
 * /64 prefix, anything else as it is. */
static void make_key(const char *addr, char key[PL_KEY])
{
	netmatch_prefix(addr, 32, 64, key, PL_KEY);
}

int peerlimit_enter(struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct keytab_entry **pp;
	struct pl_entry *e;

	if (pl->max == 0)
		return 0;
	make_key(addr, key);
	pp = keytab_slot(&pl->t, key);
	if (*pp == NULL) {
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return -1;
		memcpy(e->key, key, sizeof(e->key));
		keytab_link(&pl->t, pp, &e->link);
	}
	e = (struct pl_entry *)*pp;
	if (e->count >= pl->max)
		return -1;
	e->count++;
	return 0;
}

void peerlimit_leave(struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct keytab_entry **pp;
	struct pl_entry *e;

	if (pl->max == 0)
		return;
	make_key(addr, key);
	pp = keytab_slot(&pl->t, key);
	if ((e = (struct pl_entry *)*pp) == NULL)
		return;
	if (e->count > 0)
		e->count--;
	if (e->count == 0)
		keytab_drop(&pl->t, pp);
}

size_t peerlimit_count(const struct peerlimit *pl, const char *addr)
{
	char key[PL_KEY];
	struct keytab_entry *e;

	if (pl->max == 0)
		return 0;
	make_key(addr, key);
	e = *keytab_slot(&pl->t, key);
	return e ? ((struct pl_entry *)e)->count : 0;
}
