/*
 * NAME
 *	forward_int - private parts of the forwarder
 * DESCRIPTION
 *	Shared by forward.c (queue runner, connections, results),
 *	forward_hop.c (down hops: probes, waking what waited, job queues)
 *	and forward_dns.c (MX resolution, TLS policy per domain).
 */
#ifndef SLUICE_FORWARD_INT_H
#define SLUICE_FORWARD_INT_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "dns.h"
#include "forward.h"
#include "log.h"
#include "route.h"
#include "sbuf.h"

#define FWD_MAX_HOPS 64
#define FWD_MAX_SELF 64		/* our own addresses kept for loop checks */

struct fmsg;

/* A TLS policy: the default, or one entry of tls_policy_map. */
struct fwd_policy {
	char domain[256];	/* "" for the default */
	int policy;		/* enum tls_policy */
	char name[256];		/* verify:NAME, or "" */
};

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
	int looped;		/* an MX host is ourselves */
	char unusable[400];	/* an MX address we refused, and why */
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
	size_t resolving;	/* lookups asked for and not answered yet */
	int stopped;		/* forward_free() ran: f waits for them */
	int self_loaded;	/* self[] filled */
	size_t nself;
	unsigned char self[FWD_MAX_SELF][16]; /* our addresses (IPv4 as
					       * ::ffff:a.b.c.d) */
	struct fwd_policy *policy; /* tls_policy_map */
	size_t npolicy;
	struct route_table next_routes; /* forward_set_routes(), waiting */
	int routes_pending;	/* for the messages in delivery to end */
};

/* Send a job to the best hop it has not tried yet. */
void fwd_dispatch(struct job *j);
/* Every recipient of the job gets the same reply; the job is freed. */
void fwd_job_fail(struct job *j, int code, const char *ecode,
		  const char *why);
/* Every recipient of the job gets the same temporary failure. */
void fwd_job_defer(struct job *j, const char *why);
/* Shutdown: forget a job without recording anything; its message stays
 * in the queue as it was. */
void fwd_job_drop(struct job *j);
/* Record one recipient's result; notice: a success DSN is ours to send. */
void fwd_rcpt_result(struct job *j, size_t k, const struct smtp_reply *r,
		     const char *relay, int notice);
/* A job is over; the message finishes with its last job. */
void fwd_job_free(struct job *j);
time_t fwd_now(void);

/* The forwarder's data of hop h, made on first use. */
static inline struct hopdata *hd_of(struct hop *h)
{
	if (h->priv == NULL) {
		h->priv = calloc(1, sizeof(struct hopdata));
		if (h->priv == NULL)
			log_fatal("out of memory");
	}
	return h->priv;
}

/* Open a connection to h (probe: to see whether a down hop is back).
 * 0, or -1 with a reason in err. */
int fwd_open_conn(struct forwarder *f, struct hop *h, int probe,
		  char *err, size_t errlen);

/* ---- forward_hop.c ---- */

/* Make the messages that only waited for down hops (attempts 0) due now
 * when they have a pending recipient on route r (NULL: any). Returns
 * how many. */
size_t fwd_wake_route(struct forwarder *f, struct route *r);
/* Arm the next probe of a down hop, the interval doubling. */
void fwd_probe_schedule(struct hopdata *hd);
/* Hop h refused, dropped or failed a connection: skip it. A configured
 * hop is skipped until a probe is greeted; an MX host for
 * hop_down_time. */
void fwd_hop_failed(struct forwarder *f, struct hop *h);
/* A connection to a down hop was greeted: the hop is up, and what
 * waited for it goes now. */
void fwd_hop_up(struct forwarder *f, struct hop *h);
/* Queue j on h, last; take the first job of h's queue (NULL: none). */
void fwd_hop_enqueue(struct hop *h, struct job *j);
struct job *fwd_hop_dequeue(struct hop *h);

/* forward_dns.c: look up the MX hosts of j->domain, fill j->cand, then
 * fwd_dispatch() (or fail/defer the job). */
void fwd_resolve(struct job *j);
/* Parse cfg.tls_policy_map into f->policy and give the static hops their
 * policy and name; exits through log_fatal() on errors. */
void fwd_policy_init(struct forwarder *f);
/* The same for a route table swapped in by a reload, the map parsed
 * again; on an error (logged) the table's hops stay down. */
void fwd_policy_apply(struct forwarder *f);

#endif
