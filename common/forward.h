/*
 * NAME
 *	forward - deliver queued mail to next hops
 * DESCRIPTION
 *	The queue runner every stage shares: takes ready messages from the
 *	queue, splits their pending recipients by route, sends each group to
 *	the first hop of its route that is up (over a pool of reused SMTP or
 *	LMTP connections, at most `concurrency` per hop), and records the
 *	outcome: 2xx done, 4xx retried with exponential backoff, 5xx failed
 *	with an RFC 3464 bounce queued for the sender (never for the null
 *	sender). A connection failure marks the hop down and moves its
 *	recipients to the next hop; when every hop is down the message waits.
 *	A down hop of a configured list is probed (a connection up to the
 *	greeting) 250 ms later, the interval doubling up to hop_probe_max
 *	ms; when a probe is greeted the hop is up and every message that
 *	waited only for a down hop (never a 4xx reply: their attempts
 *	stay 0) is due at once. A mail exchanger found through DNS is
 *	skipped for hop_down_time instead.
 *	Past max_lifetime pending recipients fail and bounce.
 *	The stage owns the queue and must queue_sync() it at every turn end:
 *	this module's queue writes ride on that group commit. Mail layer.
 */
#ifndef SLUICE_FORWARD_H
#define SLUICE_FORWARD_H

#include "smtp_client.h"

struct evloop;
struct queue;
struct route_table;
struct forwarder;
struct dns;

struct forward_cfg {
	const char *hostname;	/* HELO name and Reporting-MTA */
	long long hop_down_time; /* seconds a failed MX host is skipped */
	long long hop_probe_max; /* ms, longest wait between probes */
	long long retry_min;	/* first retry after this many seconds */
	long long retry_max;	/* backoff doubles up to this */
	long long max_lifetime; /* then pending recipients bounce */
	long long delay_warning; /* a delay DSN after this long (0: never) */
	long long concurrency;	/* connections per hop */
	long long timeout;	/* seconds per reply from a hop */
	struct tls_ctx *tls;	/* client TLS, or NULL */
	struct tls_ctx *tls_verify; /* client TLS that verifies, or NULL */
	enum tls_policy tls_policy; /* default */
	char tls_name[256];	/* verify:NAME: the name to check, or "" */
	const char *tls_policy_key; /* config key of the default policy */
	const char *tls_policy_map; /* "domain = policy, ..." or NULL */
	struct dns *dns;	/* resolver for "mx" routes, or NULL */
	long long smtp_port;	/* port of mail exchangers found by DNS */
	const char *listen;	/* our own host:port (loop check), or NULL */
	int allow_loopback_mx;	/* exchangers may be loopback, unspecified,
				 * link-local, multicast or our addresses
				 * (tests on one host only) */
	int claims;		/* hops are ours: pass trust information */
};

/* Create a forwarder; cfg strings, queue and routes must outlive it. */
struct forwarder *forward_new(struct evloop *loop, struct queue *q,
			      struct route_table *routes,
			      const struct forward_cfg *cfg);

/* Check the TLS policies of cfg against the routes: the map parses, and
 * every hop that is verify has a name to check (a static hop is only an
 * address, so its policy must say verify:NAME). Returns 0, or -1 with a
 * reason in err and the config key at fault in *key_r. forward_new()
 * exits through log_fatal() on the same errors. */
int forward_tls_check(struct route_table *routes,
		      const struct forward_cfg *cfg, const char **key_r,
		      char *err, size_t errlen);

/* Something may be ready (new mail was synced, an operator flushed). */
void forward_kick(struct forwarder *f);

/* Reload: deliver by the routes of *next from now on (taken over, *next
 * emptied). Messages in delivery finish on the old hops first; new ones
 * wait for that, then the old hops are closed, the stage's route table
 * given to forward_new() gets the new routes and every message that
 * waited for a down hop is due. */
void forward_set_routes(struct forwarder *f, struct route_table *next);

/* Close idle connections and stop taking new messages. */
void forward_free(struct forwarder *f);

#endif
