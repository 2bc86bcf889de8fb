/*
 * NAME
 *	greylist - the greylisting triplets (defence 22), behind one small
 *	interface
 * DESCRIPTION
 *	A triplet (client network, sender, recipient) seen for the first
 *	time is deferred; a retry after delay and within retry_window passes
 *	and is remembered for lifetime after its last use. The state is a
 *	local SQLite file (WAL, one row per triplet; the caller's ms
 *	wall-clock times, so a restart keeps it). greylist_share.h keeps
 *	them in Redis instead, for both servers of an mx pair, with this
 *	store as its fallback. Errors fail open: greylisting never loses
 *	mail. Mail layer.
 */
#ifndef SLUICE_GREYLIST_H
#define SLUICE_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

struct greylist;

enum grey_verdict {
	GREY_PASS,	/* known triplet, past its delay */
	GREY_PASS_NOW,	/* this retry passed the delay for the first time */
	GREY_DEFER,	/* new, or retried too early: 451 4.7.1 */
	GREY_ERROR,	/* the store failed: accept (logged) */
};

struct greylist_cfg {
	uint64_t delay_ms;	  /* a retry must wait this long */
	uint64_t retry_window_ms; /* and come within this long */
	uint64_t lifetime_ms;	  /* a passed triplet is kept this long */
};

/* Open (create) the store at path. NULL with a reason in err. */
struct greylist *greylist_open(const char *path,
			       const struct greylist_cfg *cfg, char *err,
			       size_t errlen);
void greylist_close(struct greylist **g);

/* The verdict for a triplet at now_ms (wall clock); *wait_ms gets the
 * time still to wait for GREY_DEFER. Strings are NUL-terminated, bound
 * as SQL parameters. */
enum grey_verdict greylist_check(struct greylist *g, const char *net,
				 const char *sender, const char *rcpt,
				 uint64_t now_ms, uint64_t *wait_ms);

#endif
