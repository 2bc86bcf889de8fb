/*
 * NAME
 *	stage - what every queueing stage shares at start-up
 * DESCRIPTION
 *	The configuration keys of the queue and the forwarder (one macro, so
 *	every stage documents them the same way), the start of the spool
 *	(queue, forwarder, control socket, group commit at every turn end),
 *	the routes, the SMTP/LMTP server on its listening socket, stop
 *	signals, and the orderly shutdown. Mail layer.
 */
#ifndef SLUICE_STAGE_H
#define SLUICE_STAGE_H

#include <string.h>

#include "config.h"
#include "forward.h"
#include "smtp_server.h"
#include "spool.h"

struct evloop;
struct queue;
struct route_table;

struct stage_queue {
	char *queue_dir;
	long long hop_down_time;
	long long hop_probe_max_ms;
	long long retry_min;
	long long retry_max;
	long long max_queue_lifetime;
	long long delay_warning_time;
	long long delivery_concurrency;
};

/* Table rows for struct stage_queue q; dir and retry are the defaults of
 * queue_dir and retry_min. */
#define STAGE_QUEUE_PARAMS(q, dir, retry)                                    \
	{"queue_dir", CFG_STR, dir, &(q).queue_dir, 0, 0,                    \
	 "the durable queue"},                                               \
	{"hop_down_time", CFG_TIME, "60s", &(q).hop_down_time, 1, 86400,     \
	 "how long a failed mail exchanger (next_hop = mx) is skipped"},     \
	{"hop_probe_max_ms", CFG_INT, "500", &(q).hop_probe_max_ms, 10,      \
	 3600000, "a failed hop of a next_hop list is probed after 250 "    \
	 "ms, the interval doubling up to this many milliseconds; when it "  \
	 "answers, the mail that waited for it goes at once"},               \
	{"retry_min", CFG_TIME, retry, &(q).retry_min, 1, 86400,             \
	 "first retry of deferred mail after this long"},                    \
	{"retry_max", CFG_TIME, "1h", &(q).retry_max, 1, 86400,              \
	 "retry interval doubles up to this"},                               \
	{"max_queue_lifetime", CFG_TIME, "5d", &(q).max_queue_lifetime, 1,   \
	 100 * 86400, "then undeliverable mail is returned to the sender"},  \
	{"delay_warning_time", CFG_TIME, "4h", &(q).delay_warning_time, 0,   \
	 100 * 86400, "tell the sender when mail is still queued after "    \
	 "this long (0: never)"},                                            \
	{"delivery_concurrency", CFG_INT, "10", &(q).delivery_concurrency,   \
	 1, 1000, "connections per next hop"}

/* Open the queue (after the privilege drop), start the forwarder with fc
 * (its queue fields are filled from q), listen on the control socket,
 * commit at every turn end, stop on SIGTERM/SIGINT. Fills sp. Exits
 * through log_fatal() on failure. */
void stage_spool_start(struct evloop *loop, const struct stage_queue *q,
		       struct route_table *routes, struct forward_cfg *fc,
		       struct spool *sp, const char *stage);

/* Start fc for a stage's forwarder: zeroed, then the STARTTLS policy
 * from policy, the value of config key key (exits through log_fatal()
 * when it is not a policy), the HELO name and the reply timeout. */
void stage_forward_cfg(struct forward_cfg *fc, const char *key,
		       const char *policy, const char *hostname,
		       long long timeout);

/* When fc's policy is not none, or more is set (other policies may
 * apply), make the forwarder's client TLS context (without verification)
 * into fc->tls and return it for tls_ctx_free(); NULL otherwise. Exits
 * through log_fatal() when it cannot be made. */
struct tls_ctx *stage_forward_tls(struct forward_cfg *fc, int more);

/* Serve metrics (daemon_metrics_start()) with the counters every stage
 * shows from the start, and the queue's size and oldest age when q is
 * set. stage_spool_start() calls it. */
void stage_metrics_start(struct evloop *loop, struct queue *q);

/* Stop the loop on SIGTERM and SIGINT, ignore SIGPIPE (a peer gone is
 * a write error). stage_spool_start() calls it. Exits through
 * log_fatal() on failure. */
void stage_stop_signals(struct evloop *loop);

/* The routes of next_hop, domain_routes and mode (route_table_init())
 * into rt; exits through log_fatal() naming config (the -c file; NULL:
 * the defaults) when they do not parse. */
void stage_routes_init(struct route_table *rt, const char *next_hop,
		       const char *domain_routes, const char *mode,
		       const char *config);

/* Start sc for a stage's SMTP or LMTP server: zeroed, then the host
 * name, the limits every stage configures (the DAEMON_* keys of cfg,
 * as STAGE_LIVE_LIMITS() reloads them) and DSN. */
#define STAGE_SERVER_CFG(sc, cfg)                                          \
	do {                                                               \
		memset(&(sc), 0, sizeof(sc));                              \
		(sc).hostname = (cfg).hostname;                            \
		(sc).max_size = (cfg).max_message_size;                    \
		(sc).max_rcpts = (cfg).max_recipients;                     \
		(sc).max_sessions = (cfg).max_sessions;                    \
		(sc).timeout = (cfg).timeout;                              \
		(sc).sess = (cfg).sess;                                    \
		(sc).dsn = 1;                                              \
	} while (0)

/* A server of sc with hooks and ctx (smtp_server_new()) watching the
 * listening socket fd; exits through log_fatal() when it cannot. */
struct smtp_server *stage_serve(struct evloop *loop,
				const struct smtp_server_cfg *sc,
				const struct smtp_hooks *hooks, void *ctx,
				int fd);

/* The implicit-TLS twin of that server (smtps_listen): a server of sc
 * with implicit TLS on fd; NULL when fd < 0. Exits through log_fatal()
 * when sc has no TLS context or the socket cannot be watched. */
struct smtp_server *stage_serve_tls(struct evloop *loop,
				    const struct smtp_server_cfg *sc,
				    const struct smtp_hooks *hooks, void *ctx,
				    int fd);

/* After the loop ended: stop the forwarder, sync and close the queue. */
void stage_spool_stop(struct spool *sp);

#endif
