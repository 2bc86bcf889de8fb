/*
 * NAME
 *	authlimit_share - failed logins shared by the servers of a pair
 * DESCRIPTION
 *	See authlimit_share.c. Base layer.
 */
#ifndef SLUICE_AUTHLIMIT_SHARE_H
#define SLUICE_AUTHLIMIT_SHARE_H

#include <stdint.h>

struct authlimit;
struct evloop;
struct shstate;

/* Publish al's failures and successes on sh and apply the other
 * servers'. 0, or -1 (sh has no room for more kinds). */
int authlimit_share(struct authlimit *al, struct shstate *sh);
/* Share al through the Redis at addr ("host:port"; shstate.h), events
 * of the last window_ms replayed on connecting. NULL when addr is empty
 * (local state only); a bad addr stops the daemon. */
struct shstate *authlimit_share_start(struct evloop *l, const char *addr,
				      uint64_t window_ms,
				      struct authlimit *al);

#endif
