/*
 * NAME
 *	shstate - short-lived state shared by the servers of a pair (Redis)
 * DESCRIPTION
 *	Rate limits and failed-login counters must count what every server
 *	of a pair saw. Each server keeps its own tables (authlimit, msa_rate)
 *	and decides from them alone, at once, never waiting for the network;
 *	this module mirrors them: every event (a failed login, a message
 *	sent) is appended to one Redis stream, and every server reads that
 *	stream and applies the other servers' events to its tables. A server
 *	that (re)connects first replays the events of the last window. Redis
 *	calls use hiredis's asynchronous API on our event loop, with our
 *	own timeouts (a connection that does not answer within a second is
 *	dropped); while Redis is down each server goes on with its local
 *	tables alone, logs it once, counts it (sluice_redis_down_total), and
 *	tries again every second.
 *	Event fields are length-checked and typed before they are applied.
 *	State that must be decided in one place (greylisting triplets) is
 *	asked of Redis directly instead: shstate_eval() runs a script
 *	there, the caller waiting for its answer (a second at most).
 *	Base layer; the only file that includes hiredis is shstate.c.
 */
#ifndef SLUICE_SHSTATE_H
#define SLUICE_SHSTATE_H

#include <stddef.h>
#include <stdint.h>

struct evloop;
struct shstate;

/* The config key, the same in every stage that shares state. */
#define SHSTATE_PARAM(var)                                                \
	{"redis_server", CFG_STR, "", &(var), 0, 0,                        \
	 "host:port of the Redis that the servers of a pair share rate "    \
	 "limits, failed logins and greylisting through (empty: local "    \
	 "state only)"}

/* An event of another server: key, a count, and when it was made, on
 * the event loop's clock (evloop_now(); replayed events are older). */
typedef void (*shstate_fn)(void *arg, const char *key, long long n,
			   uint64_t at_ms);

/* Share through Redis at addr ("host:port"); replay events of the last
 * window_ms on connecting. Connects in the background: never fails for
 * an unreachable server. NULL with err for a bad addr. */
struct shstate *shstate_new(struct evloop *l, const char *addr,
			    uint64_t window_ms, char *err, size_t errlen);
void shstate_free(struct shstate **s);

/* Call fn for the other servers' events of kind (a short word). At most
 * SHSTATE_KINDS kinds. 0, or -1. */
#define SHSTATE_KINDS 4
int shstate_on(struct shstate *s, const char *kind, shstate_fn fn,
	       void *arg);
/* Tell the other servers: event kind on key, count n. Never blocks;
 * dropped (and counted) while Redis is down. */
void shstate_publish(struct shstate *s, const char *kind, const char *key,
		     long long n);

/* A script's reply: its integers v[0..n-1] (at most SHSTATE_INTS), or
 * v NULL when Redis gave none (down, no answer within a second, an
 * error, a reply not of integers). */
#define SHSTATE_INTS 4
typedef void (*shstate_reply_fn)(void *arg, const long long *v, size_t n);
/* Run the Lua script on Redis (EVAL) with argv[0..nkeys-1] as its keys
 * and the rest of argv[0..argc-1] as its arguments (binary-safe: len
 * gives each length; at most 8). 0: fn is called once, later, from the
 * event loop (also when s is freed first, with v NULL); -1: Redis is
 * not connected now, fn is not called. */
int shstate_eval(struct shstate *s, const char *script, size_t nkeys,
		 size_t argc, const char *const *argv, const size_t *len,
		 shstate_reply_fn fn, void *arg);

/* A cache shared by the servers: the integers v[0..n-1] (n at most
 * SHSTATE_INTS) under key for ttl_ms. Never blocks, nothing answers; a
 * no-op while Redis is down. */
void shstate_put(struct shstate *s, const char *key, const long long *v,
		 size_t n, uint64_t ttl_ms);
/* What shstate_put() left under key: fn gets its integers (n 0 when
 * there are none), or v NULL when Redis gave no answer. 0: fn is called
 * later; -1: Redis is not connected now, fn is not called. */
int shstate_get(struct shstate *s, const char *key, shstate_reply_fn fn,
		void *arg);

struct shstate_stats {
	unsigned long long published, applied, dropped, down_total;
	int up;
};
void shstate_stats(const struct shstate *s, struct shstate_stats *out);

#endif
