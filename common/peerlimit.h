/*
 * NAME
 *	peerlimit - concurrent sessions per client address
 * DESCRIPTION
 *	The one count of sessions per client behind every listener's
 *	max_client_sessions (SMTP, LMTP) and the store's max_client_logins
 *	(IMAP and POP3 before login). A listener asks at accept and tells
 *	it when the session ends. Keys are client addresses as text; an
 *	IPv6 address counts as its /64 (one subscriber's prefix, which an
 *	attacker gets whole), any other text as itself. Memory is bounded
 *	by the sessions counted. Base layer.
 */
#ifndef SLUICE_PEERLIMIT_H
#define SLUICE_PEERLIMIT_H

#include <stddef.h>

struct peerlimit;

/* At most max sessions per client (0: no limit, nothing is counted).
 * NULL on ENOMEM. */
struct peerlimit *peerlimit_new(long long max);
void peerlimit_free(struct peerlimit **pl);
/* Reload: a new maximum for sessions that enter from now on. */
void peerlimit_set_max(struct peerlimit *pl, long long max);

/* A session from addr wants in: 0 (counted: call peerlimit_leave()
 * with the same addr when it ends), or -1 when addr already has max
 * sessions (or memory ran out; not counted). */
int peerlimit_enter(struct peerlimit *pl, const char *addr);
void peerlimit_leave(struct peerlimit *pl, const char *addr);

/* Sessions counted for addr now. */
size_t peerlimit_count(const struct peerlimit *pl, const char *addr);

#endif
