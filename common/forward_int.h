/*
 * NAME
 *	forward_int - private parts of the forwarder
 * DESCRIPTION
 *	Shared by forward.c (queue runner, connections, results) and
 *	forward_dns.c (MX resolution, TLS policy per domain).
 */
#ifndef SLUICE_FORWARD_INT_H
#define SLUICE_FORWARD_INT_H

#include <stdint.h>
#include <time.h>

#include "dns.h"
#include "forward.h"
#include "route.h"
#include "sbuf.h"

#define FWD_MAX_HOPS 64

struct fmsg;

struct dyn_hop {
	struct hop hop;
	struct dyn_hop *next;
};

struct job {
	struct fmsg *fm;
	struct route *route;
	size_t *idx;		/* recipient indexes in fm->m->env */
	size_t n;
	char domain[256];	/* recipient domain (DNS routes) */
	struct hop *cand[FWD_MAX_HOPS]; /* hops to try, best first */
	size_t ncand, ci;	
	int resolved;		/* cand is filled */
	struct dns_mx_result *mx; /* MX answer being resolved */
	size_t mx_i;
	char last_error[400];
	int hop_wait;		/* deferred only because every hop of its
				 * (configured) list was down */
	struct hop *hop;	/* where it is queued or sent */
	struct job *next;	/* in a hop's wait queue */
};

struct fmsg {
	struct forwarder *f;
	struct qmsg *m;
	struct sbuf body;
	size_t jobs;		/* jobs not finished */
	size_t *failed;		/* recipients that failed in this attempt */
	size_t nfailed;
	size_t *relayed;	/* NOTIFY=SUCCESS recipients to report */
	size_t nrelayed;
	int delivered;		/* ... as "delivered" (final LMTP hop) */
	int hop_wait;		/* a recipient waits for a down hop */
	int other_defer;	/* ... or was deferred for another reason
				 * (a 4xx reply, DNS): the normal backoff */
};

struct fconn {
	struct forwarder *f;
	struct hop *hop;
	struct smtp_client *cl;
	struct job *job;	/* transaction in progress, or NULL */
	int ready;		/* greeted at least once */
	int probe;		/* opened to see whether a down hop is back */
	struct ev_timer *idle;
	struct fconn *next_idle;
	struct fconn *prev_all, *next_all;
};

struct hopdata {
	struct job *head, *tail; /* jobs waiting for a connection */
	struct fconn *idle;	 /* idle connections */
	struct fconn *all;	 /* every connection */
	size_t nconns;
	/* configured hops (not MX hosts) are probed while down */
	struct forwarder *f;
	struct hop *hop;
	struct route *route;	/* the route whose list holds the hop */
	int probed;		/* a configured hop */
	int down;		/* failed, and no probe has answered yet */
	time_t down_since;
	struct ev_timer *probe; /* the next probe */
	int probing;		/* a probe connection is open */
	uint64_t probe_ms;	/* wait before the probe after that */
};

struct forwarder {
	struct evloop *loop;
	struct queue *q;
	struct route_table *routes;
	struct forward_cfg cfg;
	size_t active;		/* fmsgs in delivery */
	struct ev_timer *run_timer;
	struct ev_timer *wake_timer;
	struct dyn_hop *dyn;	/* hops found through DNS */
	struct dns *dns;
	struct {
		char domain[256];
		int policy;
	} *policy;		/* tls_policy_map */
	size_t npolicy;
	struct route_table next_routes; /* forward_set_routes(), waiting */
	int routes_pending;	/* for the messages in delivery to end */
};

/* Send a job to the best hop it has not tried yet. */
void fwd_dispatch(struct job *j);
/* Every recipient of the job gets the same temporary failure. */
void fwd_job_defer(struct job *j, const char *why);
/* Record one recipient's result; notice: a success DSN is ours to send. */
void fwd_rcpt_result(struct job *j, size_t k, const struct smtp_reply *r,
		     const char *relay, int notice);
/* A job is over; the message finishes with its last job. */
void fwd_job_free(struct job *j);
time_t fwd_now(void);

/* forward_dns.c: look up the MX hosts of j->domain, fill j->cand, then
 * fwd_dispatch() (or fail/defer the job). */
void fwd_resolve(struct job *j);
/* Parse cfg.tls_policy_map; exits through log_fatal() on errors. */
void fwd_parse_policy_map(struct forwarder *f);

#endif
