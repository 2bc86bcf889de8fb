/*
 * NAME
 *	ratemap - counters and holds per key, in memory
 * DESCRIPTION
 *	What screening needs to remember about clients and senders for a
 *	while: how many events a key had in its current window
 *	(connections per client network, messages per sender), and until
 *	when a key is held (a client on a spam trap's block list, a client
 *	that passed the greet pause). A chained hash with a bounded number
 *	of entries: when full, expired entries go first, then the table
 *	refuses new keys (ratemap_hit then counts nothing: the limit fails
 *	open rather than eat memory). Times are the caller's milliseconds
 *	(evloop_now). In memory; a dump of the live entries (times made
 *	relative to the moment of the dump) can be written out and loaded
 *	after a restart. Base layer.
 */
#ifndef SLUICE_RATEMAP_H
#define SLUICE_RATEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct ratemap;

/* A map of at most max_entries keys (keys are cut at 320 bytes). NULL
 * on ENOMEM. */
struct ratemap *ratemap_new(size_t max_entries);
void ratemap_free(struct ratemap **m);

/* Count one event for key at now; the window (window_ms long) starts at
 * the key's first event and a new one after it ends. Returns the count
 * in the current window including this one (0 when the map is full). */
long long ratemap_hit(struct ratemap *m, const char *key, uint64_t now,
		      uint64_t window_ms);

/* Hold key until the time until (a later hold extends, never shortens). */
void ratemap_hold(struct ratemap *m, const char *key, uint64_t until);

/* Non-zero while key is held at now. */
int ratemap_held(struct ratemap *m, const char *key, uint64_t now);

/* Append the entries of m still alive at now (window or hold not over)
 * to out, one record each: the key's length (2 bytes) and bytes, the
 * count, then the window's start and end and the hold as milliseconds
 * relative to now (8 bytes each, two's complement); big-endian. 0, or
 * -1 when out is full (out then holds whole records only). */
int ratemap_dump(const struct ratemap *m, uint64_t now, struct sbuf *out);
/* Add the records of a dump made elapsed ms before now (entries over by
 * now are left out; a key already in m is kept as it is; elapsed below
 * 2^40, about 35 years). The dump is
 * untrusted input: returns the number of entries added, or -1 at the
 * first malformed record (the ones before it stay). */
long ratemap_load(struct ratemap *m, const void *p, size_t len, uint64_t now,
		  uint64_t elapsed);

/* Keys in the map (expired ones included until they are swept). */
size_t ratemap_size(const struct ratemap *m);

#endif
