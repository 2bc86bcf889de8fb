/*
 * NAME
 *	stage - what every queueing stage shares at start-up
 * DESCRIPTION
 *	See stage.h.
 */
#include "stage.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "evloop.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "qcontrol.h"
#include "queue.h"
#include "route.h"
#include "tls.h"

static void on_stop(void *arg, int signo)
{
	log_info("stopping on signal %d", signo);
	evloop_stop(arg);
}

static double queue_size(void *arg)
{
	return (double)queue_count(arg);
}

static void oldest_one(struct qmsg *m, void *arg)
{
	time_t *oldest = arg;

	if (*oldest == 0 || m->env.arrival < *oldest)
		*oldest = m->env.arrival;
}

static double queue_oldest(void *arg)
{
	time_t oldest = 0, now = time(NULL);

	queue_foreach(arg, oldest_one, &oldest);
	return oldest && oldest < now ? (double)(now - oldest) : 0;
}

void stage_metrics_start(struct evloop *loop, struct queue *q)
{
	METRICS_DECLARE(METRIC_MESSAGES_IN);
	METRICS_DECLARE(METRIC_DISK_FULL);
	METRICS_DECLARE(METRIC_QUEUE_CORRUPT);
	METRICS_DECLARE(METRIC_SESSION_LIMIT("per_client"));
	METRICS_DECLARE(METRIC_SESSION_LIMIT("busy"));
	METRICS_DECLARE(METRIC_SESSION_LIMIT("deadline"));
	METRICS_DECLARE(METRIC_SESSION_LIMIT("timeout"));
	if (q) {
		/* records the recovery at open set aside (queue_recover.c) */
		metrics_add(metrics_counter(METRIC_QUEUE_CORRUPT),
			    queue_damaged(q));
		metrics_gauge("sluice_queue_messages", "messages in the queue",
			      queue_size, q);
		metrics_gauge("sluice_queue_oldest_seconds", "age of the "
			      "oldest message in the queue", queue_oldest, q);
	}
	daemon_metrics_start(loop);
}

static void on_queue_change(void *arg)
{
	forward_kick(arg);
}

void stage_spool_start(struct evloop *loop, const struct stage_queue *q,
		       struct route_table *routes, struct forward_cfg *fc,
		       struct spool *sp, const char *stage)
{
	char err[512], ctl[4096];

	sp->q = queue_open(q->queue_dir, err, sizeof(err));
	if (sp->q == NULL)
		log_fatal("queue: %s", err);
	fc->hop_down_time = q->hop_down_time;
	fc->hop_probe_max = q->hop_probe_max_ms;
	fc->retry_min = q->retry_min;
	fc->retry_max = q->retry_max;
	fc->max_lifetime = q->max_queue_lifetime;
	fc->delay_warning = q->delay_warning_time;
	fc->concurrency = q->delivery_concurrency;
	sp->fwd = forward_new(loop, sp->q, routes, fc);
	sp->stage = stage;
	spool_syncer_start(sp, loop);
	if ((size_t)snprintf(ctl, sizeof(ctl), "%s/%s", q->queue_dir,
			     QUEUE_CONTROL_SOCK) >= sizeof(ctl))
		log_fatal("queue_dir too long");
	qcontrol_listen(loop, sp->q, ctl, on_queue_change, sp->fwd);
	stage_metrics_start(loop, sp->q);
	if (evloop_on_turn_end(loop, spool_commit, sp) < 0)
		log_fatal("cannot set up the event loop");
	stage_stop_signals(loop);
}

void stage_stop_signals(struct evloop *loop)
{
	if (evloop_signal(loop, SIGTERM, on_stop, loop) < 0 ||
	    evloop_signal(loop, SIGINT, on_stop, loop) < 0)
		log_fatal("cannot set up the event loop");
	signal(SIGPIPE, SIG_IGN);
}

void stage_routes_init(struct route_table *rt, const char *next_hop,
		       const char *domain_routes, const char *mode,
		       const char *config)
{
	char err[512];

	if (route_table_init(rt, next_hop, domain_routes, mode, err,
			     sizeof(err)) < 0)
		log_fatal("%s: %s", config ? config : "defaults", err);
}

struct smtp_server *stage_serve(struct evloop *loop,
				const struct smtp_server_cfg *sc,
				const struct smtp_hooks *hooks, void *ctx,
				int fd)
{
	struct smtp_server *srv = smtp_server_new(loop, sc, hooks, ctx);

	if (smtp_server_listen(srv, fd) < 0)
		log_fatal("cannot watch the listening socket");
	return srv;
}

struct smtp_server *stage_serve_tls(struct evloop *loop,
				    const struct smtp_server_cfg *sc,
				    const struct smtp_hooks *hooks, void *ctx,
				    int fd)
{
	struct smtp_server_cfg tc = *sc;	/* smtp_server_new() copies */

	if (fd < 0)
		return NULL;
	if (sc->tls == NULL)
		log_fatal("smtps_listen needs tls_cert and tls_key");
	tc.implicit_tls = 1;
	return stage_serve(loop, &tc, hooks, ctx, fd);
}

void stage_forward_cfg(struct forward_cfg *fc, const char *key,
		       const char *policy, const char *hostname,
		       long long timeout)
{
	memset(fc, 0, sizeof(*fc));
	if (tls_policy_parse(policy, &fc->tls_policy, fc->tls_name,
			     sizeof(fc->tls_name)) < 0)
		log_fatal("%s '%s': want none, may, encrypt, verify or "
			  "verify:NAME", key, policy);
	fc->tls_policy_key = key;
	fc->hostname = hostname;
	fc->timeout = timeout;
}

struct tls_ctx *stage_forward_tls(struct forward_cfg *fc, int more)
{
	char err[512];

	fc->tls = NULL;
	if (fc->tls_policy == TLS_POLICY_NONE && !more)
		return NULL;
	fc->tls = tls_client_ctx(0, NULL, err, sizeof(err));
	if (fc->tls == NULL)
		log_fatal("TLS client: %s", err);
	return fc->tls;
}

void stage_spool_stop(struct spool *sp)
{
	forward_free(sp->fwd);
	sp->fwd = NULL;
	spool_syncer_stop(sp);
	if (queue_sync(sp->q) < 0)
		log_error("queue sync at shutdown failed");
	queue_close(sp->q);
	sp->q = NULL;
}
