/*
 * NAME
 *	greylist_share - greylisting triplets in Redis, one store for the
 *	servers of an mx pair, the local SQLite store as the fallback
 * DESCRIPTION
 *	See greylist_share.c. Mail layer.
 */
#ifndef SLUICE_GREYLIST_SHARE_H
#define SLUICE_GREYLIST_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "greylist.h"

struct greylist_share;
struct shstate;

/* A verdict as greylist_check() gives it. */
typedef void (*greylist_done_fn)(void *arg, enum grey_verdict v,
				 uint64_t wait_ms);

/* Keep triplets in the Redis of sh, with cfg's times; local answers
 * while Redis is down (neither is owned). NULL when out of memory. */
struct greylist_share *greylist_share_new(struct shstate *sh,
					  const struct greylist_cfg *cfg,
					  struct greylist *local);
/* Frees. Free sh first: an answer still on its way then comes to its
 * fn (from the local store). */
void greylist_share_free(struct greylist_share **g);

/* The verdict for a triplet. 1: it comes to done(arg, ...) later, from
 * the event loop (a second at most); 0: Redis is down, the local store
 * answered now in *v and *wait_ms (logged once per outage, counted). */
int greylist_share_check(struct greylist_share *g, const char *net,
			 const char *sender, const char *rcpt,
			 uint64_t now_ms, enum grey_verdict *v,
			 uint64_t *wait_ms, greylist_done_fn done, void *arg);

#endif
