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
 *	(evloop_now). Not persistent: a restart forgets. Base layer.
 */
#ifndef SLUICE_RATEMAP_H
#define SLUICE_RATEMAP_H

#include <stddef.h>
#include <stdint.h>

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

/* Keys in the map (expired ones included until they are swept). */
size_t ratemap_size(const struct ratemap *m);

#endif
