/*
 * NAME
 *	keytab - a chained hash of entries keyed by a short string
 * DESCRIPTION
 *	The table under the per-client counters (peerlimit: sessions per
 *	address, ratemap: events and holds per key). An entry is the
 *	caller's struct, which starts with a struct keytab_entry and holds
 *	its NUL-terminated key at the offset given to keytab_init(); the
 *	table links, finds, unlinks and frees (free()) entries and knows
 *	nothing else of them. Keys are FNV-1a hashed into a fixed number of
 *	buckets. Base layer. Not thread-safe.
 */
#ifndef SLUICE_KEYTAB_H
#define SLUICE_KEYTAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct keytab_entry {
	struct keytab_entry *next;
};

struct keytab {
	struct keytab_entry **bucket;
	size_t nbuckets;
	size_t key_off; /* where an entry holds its key */
	size_t n;       /* entries */
};

/* An empty table of nbuckets buckets whose entries hold their key at
 * key_off. 0, or -1 out of memory. */
int keytab_init(struct keytab *t, size_t nbuckets, size_t key_off);
/* Free every entry and the buckets. */
void keytab_fini(struct keytab *t);
/* Where key's entry is linked: *slot is the entry, or NULL where a new
 * one would go (valid until the table changes). Inline: it is on the
 * connection path, and a call costs the counters 1-3 %. */
static inline struct keytab_entry **keytab_slot(
	const struct keytab *t, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;
	struct keytab_entry **pp;

	for (p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	pp = &t->bucket[h % t->nbuckets];
	while (*pp && strcmp((const char *)*pp + t->key_off, key) != 0)
		pp = &(*pp)->next;
	return pp;
}
/* Link e (its key already set) at a NULL slot from keytab_slot(). */
void keytab_link(
	struct keytab *t, struct keytab_entry **slot, struct keytab_entry *e);
/* Unlink and free the entry at slot. */
void keytab_drop(struct keytab *t, struct keytab_entry **slot);
/* Free the entries for which gone(e, arg) is true. */
void keytab_sweep(struct keytab *t,
	int (*gone)(const struct keytab_entry *e, void *arg), void *arg);
/* Walk the entries: pass *bucket = 0 and e = NULL for the first, then
 * the one returned; NULL after the last. */
const struct keytab_entry *keytab_next(
	const struct keytab *t, size_t *bucket, const struct keytab_entry *e);

#endif
