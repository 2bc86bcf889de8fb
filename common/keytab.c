/*
 * NAME
 *	keytab - a chained hash of entries keyed by a short string
 * DESCRIPTION
 *	See keytab.h. Keys are whatever the caller bounded them to; the
 *	hash is not keyed, so callers keep the buckets' chains short by
 *	limiting the entries (ratemap) or by their count being the
 *	sessions open (peerlimit).
 */
#include "keytab.h"

#include <stdlib.h>

int keytab_init(struct keytab *t, size_t nbuckets, size_t key_off)
{
	t->bucket = calloc(nbuckets, sizeof(*t->bucket));
	t->nbuckets = nbuckets;
	t->key_off = key_off;
	t->n = 0;
	return t->bucket ? 0 : -1;
}

void keytab_fini(struct keytab *t)
{
	struct keytab_entry *e, *next;
	size_t i;

	for (i = 0; t->bucket && i < t->nbuckets; i++)
		for (e = t->bucket[i]; e; e = next) {
			next = e->next;
			free(e);
		}
	free(t->bucket);
	t->bucket = NULL;
	t->n = 0;
}

void keytab_link(
	struct keytab *t, struct keytab_entry **slot, struct keytab_entry *e)
{
	e->next = NULL;
	*slot = e;
	t->n++;
}

void keytab_drop(struct keytab *t, struct keytab_entry **slot)
{
	struct keytab_entry *e = *slot;

	*slot = e->next;
	free(e);
	t->n--;
}

void keytab_sweep(struct keytab *t,
	int (*gone)(const struct keytab_entry *e, void *arg), void *arg)
{
	struct keytab_entry **pp;
	size_t i;

	for (i = 0; i < t->nbuckets; i++)
		for (pp = &t->bucket[i]; *pp != NULL;)
			if (gone(*pp, arg))
				keytab_drop(t, pp);
			else
				pp = &(*pp)->next;
}

const struct keytab_entry *keytab_next(
	const struct keytab *t, size_t *bucket, const struct keytab_entry *e)
{
	if (e != NULL && e->next != NULL)
		return e->next;
	if (e != NULL)
		(*bucket)++;
	for (; *bucket < t->nbuckets; (*bucket)++)
		if (t->bucket[*bucket] != NULL)
			return t->bucket[*bucket];
	return NULL;
}
