/*
 * NAME
 *	forward - deliver queued mail to next hops
 * DESCRIPTION
 *	See forward.h. Objects: a message being delivered (fmsg) owns its
 *	body and one job per route its pending recipients use; a job waits
 *	in its hop's queue until a connection (fconn) of that hop is idle.
 *	Results come back per recipient and are logged Postfix-style:
 *	"QUEUEID: to=<rcpt>, relay=host:port, delay=1.2, status=sent (...)".
 */
#include "forward_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dsn.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "route.h"
#include "smtp_reply.h"

#define FWD_MAX_ACTIVE 256	/* messages in delivery at once */
#define FWD_IDLE_MS 5000	/* idle connection kept this long */
#define FWD_WAKE_MAX 3600	/* seconds: the longest sleep of the scheduler */

static void conn_next(struct fconn *fc);

time_t fwd_now(void)
{
	return time(NULL);
}

/* ---- finishing ---- */

/* Count a recipient's result per next hop and status. */
static void count_result(const char *relay, const char *status)
{
	char hop[200], st[40], labels[260];

	metrics_label(hop, sizeof(hop), "hop", relay);
	metrics_label(st, sizeof(st), "status", status);
	snprintf(labels, sizeof(labels), "%s,%s", hop, st);
	metrics_add(metrics_counter("sluice_recipients_total", labels,
				    "recipients handed on, per next hop and "
				    "status (sent, deferred, bounced)"), 1);
}

/* Count a message leaving the delivery attempt: out (every recipient
 * done), deferred (some still pending), bounced (a failure DSN). */
static void count_message(const struct qmsg *m, size_t pending,
			  size_t failed, time_t now)
{
	static struct metric *out, *deferred, *bounced, *age;

	if (out == NULL) {
		out = metrics_counter("sluice_messages_out_total", NULL,
				      "messages every recipient of which "
				      "was handed on or failed");
		deferred = metrics_counter("sluice_messages_deferred_total",
					   NULL, "delivery attempts that left "
					   "recipients queued");
		bounced = metrics_counter("sluice_messages_bounced_total",
					  NULL, "messages with recipients "
					  "that failed (returned to the "
					  "sender)");
		age = metrics_histogram("sluice_queue_residence_seconds",
					NULL, "arrival to leaving the queue",
					metrics_seconds, metrics_seconds_n);
	}
	if (failed > 0)
		metrics_add(bounced, 1);
	if (pending > 0) {
		metrics_add(deferred, 1);
		return;
	}
	metrics_add(out, 1);
	metrics_observe(age, (double)(now - m->env.arrival));
}

static long long backoff(const struct forwarder *f, int attempts)
{
	long long d = f->cfg.retry_min;
	int i;

	for (i = 1; i < attempts && d < f->cfg.retry_max; i++)
		d *= 2;
	return d < f->cfg.retry_max ? d : f->cfg.retry_max;
}

static int wants_dsn(const struct rcpt *r, unsigned bit)
{
	if (r->notify & DSN_NOTIFY_NEVER)
		return 0;
	if (r->notify == 0) /* RFC 3461 4.1: FAILURE (and DELAY) implied */
		return bit != DSN_NOTIFY_SUCCESS;
	return (r->notify & bit) != 0;
}

/* Queue a DSN about recipients which[0..n) for the sender. */
static void notify(struct fmsg *fm, size_t *which, size_t n,
		   enum dsn_action action, unsigned bit)
{
	struct forwarder *f = fm->f;
	struct qmsg *m = fm->m;
	struct envelope denv;
	struct sbuf dbody;
	struct qmsg *dm;
	size_t i, k = 0;

	if (n == 0)
		return;
	if (m->env.from[0] == '\0') {
		if (action == DSN_FAILED)
			log_info("%s: no bounce: null sender", m->id);
		return;
	}
	for (i = 0; i < n; i++)
		if (wants_dsn(&m->env.rcpts[which[i]], bit))
			which[k++] = which[i];
	if (k == 0)
		return;
	memset(&denv, 0, sizeof(denv));
	sbuf_init(&dbody, (size_t)1 << 30);
	if (dsn_build(&m->env, which, k, action, f->cfg.hostname, m->id,
		      fm->body.data, fm->body.len, &denv, &dbody) < 0) {
		log_error("%s: cannot build a delivery status notification",
			  m->id);
	} else if ((dm = queue_add(f->q, &denv, dbody.data, dbody.len)) ==
		   NULL) {
		log_error("%s: cannot queue a delivery status notification",
			  m->id);
	} else {
		log_info("%s: sender %s notification: %s", m->id,
			 action == DSN_FAILED ? "non-delivery" :
			 action == DSN_DELAYED ? "delay" : "delivery", dm->id);
		log_info("%s: from=<>, size=%zu, nrcpt=1 (queue active)",
			 dm->id, dbody.len);
	}
	envelope_free(&denv);
	sbuf_free(&dbody);
}

static void msg_finish(struct fmsg *fm)
{
	struct forwarder *f = fm->f;
	struct qmsg *m = fm->m;
	time_t now = fwd_now();
	size_t i, pending = 0;
	char id[QUEUE_ID_LEN + 1];

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING)
			pending++;
	if (pending > 0) {
		/* a down hop is no fault of the message: its own retry
		 * schedule stays where it was, and fwd_hop_up() wakes it */
		int hop_only = fm->hop_wait && !fm->other_defer;

		if (!hop_only)
			m->attempts++;
		if (now - m->env.arrival >= f->cfg.max_lifetime) {
			for (i = 0; i < m->env.nrcpt; i++) {
				struct rcpt *r = &m->env.rcpts[i];

				if (r->state != RCPT_PENDING)
					continue;
				r->state = RCPT_FAILED;
				fm->failed[fm->nfailed++] = i;
				log_info("%s: to=<%s>, delay=%ld, "
					 "status=expired, returned to sender",
					 m->id, r->addr,
					 (long)(now - m->env.arrival));
			}
		} else if (hop_only && m->attempts == 0) {
			/* only a fallback (a probe, or forward_new() after a
			 * restart, makes these due): waiting as long again as it
			 * waited so far, within retry_min..retry_max */
			long long age = now - m->env.arrival;

			m->next_try = now + (time_t)(age < f->cfg.retry_min ?
				f->cfg.retry_min : age > f->cfg.retry_max ?
				f->cfg.retry_max : age);
		} else {
			m->next_try = now + (time_t)backoff(f, m->attempts);
		}
	}
	notify(fm, fm->failed, fm->nfailed, DSN_FAILED, DSN_NOTIFY_FAILURE);
	notify(fm, fm->relayed, fm->nrelayed, fm->delivered ? DSN_DELIVERED
	       : DSN_RELAYED, DSN_NOTIFY_SUCCESS);
	if (pending > 0 && f->cfg.delay_warning > 0 &&
	    !m->env.delay_notified &&
	    now - m->env.arrival >= f->cfg.delay_warning) {
		size_t *late = calloc(m->env.nrcpt, sizeof(size_t)), nl = 0;

		for (i = 0; late && i < m->env.nrcpt; i++)
			if (m->env.rcpts[i].state == RCPT_PENDING)
				late[nl++] = i;
		m->env.delay_notified = 1;
		if (late)
			notify(fm, late, nl, DSN_DELAYED, DSN_NOTIFY_DELAY);
		free(late);
	}
	snprintf(id, sizeof(id), "%s", m->id);
	for (i = 0, pending = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING)
			pending++;
	count_message(m, pending, fm->nfailed, now);
	if (queue_done(f->q, m) < 0)
		log_error("%s: cannot record delivery state", id);
	else if (pending == 0)
		log_info("%s: removed", id);
	sbuf_free(&fm->body);
	free(fm->failed);
	free(fm->relayed);
	free(fm);
	f->active--;
	forward_kick(f);
}

void fwd_job_free(struct job *j)
{
	struct fmsg *fm = j->fm;

	free(j->idx);
	free(j->mx);
	free(j);
	if (--fm->jobs == 0)
		msg_finish(fm);
}

/* Record one recipient's result. */
void fwd_rcpt_result(struct job *j, size_t k, const struct smtp_reply *r,
			const char *relay, int notice)
{
	struct fmsg *fm = j->fm;
	struct qmsg *m = fm->m;
	struct rcpt *rc = &m->env.rcpts[j->idx[k]];
	char text[600], safe[600];
	const char *status;

	smtp_reply_format(r, text, sizeof(text));
	log_safe(safe, sizeof(safe), text);
	free(rc->last_reply);
	rc->last_reply = strdup(safe);
	if (r->code / 100 == 2) {
		rc->state = RCPT_DONE;
		status = "sent";
		/* RFC 3461 4.1: we report success ourselves only when the
		 * next hop cannot carry the request on */
		if (notice && (rc->notify & DSN_NOTIFY_SUCCESS))
			fm->relayed[fm->nrelayed++] = j->idx[k];
	} else if (r->code / 100 == 5) {
		rc->state = RCPT_FAILED;
		fm->failed[fm->nfailed++] = j->idx[k];
		status = "bounced";
	} else {
		status = "deferred";
		if (j->hop_wait)
			fm->hop_wait = 1;
		else
			fm->other_defer = 1;
		free(m->last_error);
		m->last_error = strdup(safe);
	}
	log_info("%s: to=<%s>, relay=%s, delay=%ld, status=%s (%s)", m->id,
		 rc->addr, relay, (long)(fwd_now() - m->env.arrival), status,
		 safe);
	count_result(relay, status);
}

/* Every recipient of the job gets the same result. */
void fwd_job_fail(struct job *j, int code, const char *ecode,
		  const char *why)
{
	struct smtp_reply r;
	size_t k;

	smtp_reply_set(&r, code, ecode, "%s", why);
	for (k = 0; k < j->n; k++)
		fwd_rcpt_result(j, k, &r, "none", 0);
	fwd_job_free(j);
}

/* Every recipient of the job gets the same temporary failure. */
void fwd_job_defer(struct job *j, const char *why)
{
	fwd_job_fail(j, 451, "4.4.1", why);
}

/* ---- hops and connections ---- */

static void fconn_drop(struct fconn *fc)
{
	struct hopdata *hd = hd_of(fc->hop);
	struct fconn **pp;

	for (pp = &hd->idle; *pp; pp = &(*pp)->next_idle)
		if (*pp == fc) {
			*pp = fc->next_idle;
			break;
		}
	if (fc->idle)
		evloop_timer_cancel(fc->f->loop, fc->idle);
	if (fc->probe)
		hd->probing = 0;
	if (fc->prev_all)
		fc->prev_all->next_all = fc->next_all;
	else
		hd->all = fc->next_all;
	if (fc->next_all)
		fc->next_all->prev_all = fc->prev_all;
	hd->nconns--;
	fc->hop->active = (unsigned)hd->nconns;
	free(fc);
}

static void idle_expired(void *arg)
{
	struct fconn *fc = arg;
	struct smtp_client *cl = fc->cl;

	fc->idle = NULL;
	fconn_drop(fc);
	smtp_client_quit(cl);
}

static void on_ready(struct smtp_client *cl, void *arg)
{
	struct fconn *fc = arg;
	struct hopdata *hd = hd_of(fc->hop);

	fc->ready = 1;
	if (fc->probe) {
		fc->probe = 0;
		hd->probing = 0;
	}
	if (hd->down)
		fwd_hop_up(fc->f, fc->hop);
	conn_next(fc);
}

static void on_done(struct smtp_client *cl, void *arg,
		    const struct smtp_reply *res, size_t n)
{
	struct fconn *fc = arg;
	struct job *j = fc->job;
	size_t k;

	fc->job = NULL;
	if (fc->hop->lmtp)
		j->fm->delivered = 1;
	for (k = 0; k < n && k < j->n; k++)
		fwd_rcpt_result(j, k, &res[k], fc->hop->hostport,
			    fc->hop->lmtp || !smtp_client_dsn(cl));
	fwd_job_free(j);
	conn_next(fc);
}

/* Move every job waiting for hop h elsewhere (h is down). */
static void hop_drain(struct hop *h)
{
	struct job *j;

	while ((j = fwd_hop_dequeue(h)) != NULL)
		fwd_dispatch(j);
}

static void on_fail(struct smtp_client *cl, void *arg, int code,
		    const char *why)
{
	struct fconn *fc = arg;
	struct forwarder *f = fc->f;
	struct hop *h = fc->hop;
	struct job *j = fc->job;
	int was_idle = fc->ready && j == NULL, probe = fc->probe;

	fconn_drop(fc);
	if (smtp_client_looped(cl)) {
		/* the exchanger is ourselves: no other hop of this job is
		 * better, so its mail bounces (RFC 5321 5.1) */
		log_warn("next hop %s: %s", h->hostport, why);
		if (j)
			fwd_job_fail(j, 554, "5.4.6", why);
		while ((j = fwd_hop_dequeue(h)) != NULL)
			fwd_job_fail(j, 554, "5.4.6", why);
		return;
	}
	if (was_idle)
		return; /* the server closed an idle connection: normal */
	if (probe) {
		/* still down: no log line per probe */
		fwd_probe_schedule(hd_of(h));
		if (hd_of(h)->nconns == 0)
			hop_drain(h);
		return;
	}
	log_warn("next hop %s: %s%s", h->hostport, why,
		 j ? "" : " (before any transaction)");
	fwd_hop_failed(f, h);
	if (j) {
		snprintf(j->last_error, sizeof(j->last_error), "%s: %s",
			 h->hostport, why);
		fwd_dispatch(j);
	}
	if (hd_of(h)->nconns == 0)
		hop_drain(h);
}

static const struct smtp_client_ops fwd_client_ops = {
	.on_ready = on_ready,
	.on_done = on_done,
	.on_fail = on_fail,
};

/* Give an idle connection its next job, or park it. */
static void conn_next(struct fconn *fc)
{
	struct hopdata *hd = hd_of(fc->hop);
	struct job *j;
	int rc;

	while ((j = fwd_hop_dequeue(fc->hop)) != NULL) {
		struct qmsg *m = j->fm->m;

		rc = smtp_client_send(fc->cl, &m->env, j->idx, j->n,
				      j->fm->body.data, j->fm->body.len);
		if (rc == 0) {
			fc->job = j;
			return;
		}
		if (rc == -2) {
			struct smtp_reply r;
			size_t k;

			smtp_reply_set(&r, 553, "5.6.7", "SMTPUTF8 required "
				       "but not offered by the next hop");
			for (k = 0; k < j->n; k++)
				fwd_rcpt_result(j, k, &r, fc->hop->hostport,
					    0);
			fwd_job_free(j);
			continue;
		}
		fwd_job_defer(j, "cannot start transaction");
	}
	fc->next_idle = hd->idle;
	hd->idle = fc;
	fc->idle = evloop_timer(fc->f->loop, FWD_IDLE_MS, idle_expired, fc);
}

int fwd_open_conn(struct forwarder *f, struct hop *h, int probe,
		  char *err, size_t errlen)
{
	struct hopdata *hd = hd_of(h);
	struct smtp_client_cfg cc;
	struct fconn *fc = calloc(1, sizeof(*fc));

	if (fc == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&cc, 0, sizeof(cc));
	cc.lmtp = h->lmtp;
	cc.helo = f->cfg.hostname;
	cc.tls_policy = (enum tls_policy)h->tls_policy;
	cc.tls = cc.tls_policy == TLS_POLICY_VERIFY ? f->cfg.tls_verify
						    : f->cfg.tls;
	cc.sni = h->name[0] ? h->name : NULL;
	cc.self_name = h->mx ? f->cfg.hostname : NULL;
	if (cc.tls == NULL && cc.tls_policy != TLS_POLICY_NONE) {
		if (cc.tls_policy >= TLS_POLICY_ENCRYPT) {
			snprintf(err, errlen, "TLS required but no TLS client "
				 "configured");
			free(fc);
			return -1;
		}
		cc.tls_policy = TLS_POLICY_NONE;
	}
	cc.timeout = (unsigned)f->cfg.timeout;
	cc.claims = f->cfg.claims;
	fc->f = f;
	fc->hop = h;
	fc->probe = probe;
	fc->cl = smtp_client_new(f->loop, h->hostport, &cc, &fwd_client_ops,
				 fc, err, errlen);
	if (fc->cl == NULL) {
		free(fc);
		return -1;
	}
	fc->next_all = hd->all;
	if (hd->all)
		hd->all->prev_all = fc;
	hd->all = fc;
	hd->nconns++;
	h->active = (unsigned)hd->nconns;
	return 0;
}

/* Send a job to the best hop it has not tried yet. */
void fwd_dispatch(struct job *j)
{
	struct forwarder *f = j->fm->f;
	struct route *r = j->route;
	size_t order[FWD_MAX_HOPS], n, i;
	struct hop *h = NULL;
	struct hopdata *hd;
	struct fconn *fc;
	char err[200];
	time_t now = fwd_now();

	if (!j->resolved) {
		j->resolved = 1;
		if (r->dns) {
			fwd_resolve(j);
			return;
		}
		n = route_pick(r, now, order, FWD_MAX_HOPS);
		for (i = 0; i < n; i++)
			j->cand[j->ncand++] = &r->hops[order[i]];
	}
	while (j->ci < j->ncand) {
		h = j->cand[j->ci++];
		if (h->down_until <= now)
			break;
		h = NULL;
	}
	if (h == NULL) {
		/* every hop of a configured list is down: their probes
		 * wake the message (MX hosts have no probe) */
		j->hop_wait = !r->dns;
		fwd_job_defer(j, j->last_error[0] ? j->last_error
			  : "all next hops are down");
		return;
	}
	hd = hd_of(h);
	fwd_hop_enqueue(h, j);
	if (hd->idle) {
		fc = hd->idle;
		hd->idle = fc->next_idle;
		evloop_timer_cancel(f->loop, fc->idle);
		fc->idle = NULL;
		conn_next(fc);
		return;
	}
	if (hd->nconns < (size_t)f->cfg.concurrency &&
	    fwd_open_conn(f, h, 0, err, sizeof(err)) < 0) {
		log_warn("next hop %s: %s", h->hostport, err);
		fwd_hop_failed(f, h);
		hop_drain(h);
	}
}

/* ---- taking messages ---- */

static void start_msg(struct forwarder *f, struct qmsg *m)
{
	struct fmsg *fm = calloc(1, sizeof(*fm));
	struct job **jobs;
	struct route *r;
	size_t i, k, nj = 0;

	if (fm == NULL)
		log_fatal("out of memory");
	fm->f = f;
	fm->m = m;
	f->active++;
	sbuf_init(&fm->body, (size_t)1 << 31);
	fm->failed = calloc(m->env.nrcpt ? m->env.nrcpt : 1, sizeof(size_t));
	fm->relayed = calloc(m->env.nrcpt ? m->env.nrcpt : 1, sizeof(size_t));
	if (fm->relayed == NULL)
		log_fatal("out of memory");
	jobs = calloc(m->env.nrcpt ? m->env.nrcpt : 1, sizeof(*jobs));
	if (fm->failed == NULL || jobs == NULL)
		log_fatal("out of memory");
	if (queue_body(f->q, m, &fm->body) < 0) {
		log_error("%s: cannot read the message from the queue",
			  m->id);
		free(jobs);
		fm->jobs = 1; /* finish through the common path */
		msg_finish(fm);
		return;
	}
	/* one job per route; DNS routes: one per recipient domain */
	for (i = 0; i < m->env.nrcpt; i++) {
		const char *at;

		if (m->env.rcpts[i].state != RCPT_PENDING)
			continue;
		r = route_for(f->routes, m->env.rcpts[i].addr);
		at = strrchr(m->env.rcpts[i].addr, '@');
		at = at ? at + 1 : "";
		for (k = 0; k < nj; k++)
			if (jobs[k]->route == r &&
			    (!r->dns || strcasecmp(jobs[k]->domain, at) == 0))
				break;
		if (k == nj) {
			jobs[k] = calloc(1, sizeof(struct job));
			if (jobs[k] == NULL)
				log_fatal("out of memory");
			jobs[k]->idx = calloc(m->env.nrcpt, sizeof(size_t));
			if (jobs[k]->idx == NULL)
				log_fatal("out of memory");
			jobs[k]->fm = fm;
			jobs[k]->route = r;
			snprintf(jobs[k]->domain, sizeof(jobs[k]->domain),
				 "%s", at);
			nj++;
		}
		jobs[k]->idx[jobs[k]->n++] = i;
	}
	fm->jobs = nj + 1; /* +1 until every job is dispatched */
	for (k = 0; k < nj; k++)
		fwd_dispatch(jobs[k]);
	free(jobs);
	if (--fm->jobs == 0)
		msg_finish(fm);
}

static void wake(void *arg)
{
	struct forwarder *f = arg;

	f->wake_timer = NULL;
	forward_kick(f);
}

static void swap_routes(struct forwarder *f);

static void run(void *arg)
{
	struct forwarder *f = arg;
	struct qmsg *m;
	time_t now = fwd_now(), next, wait;

	f->run_timer = NULL;
	if (f->routes_pending) {
		swap_routes(f);
		if (f->routes_pending)
			return;	/* msg_finish() kicks when the last is done */
	}
	while (f->active < FWD_MAX_ACTIVE &&
	       (m = queue_take(f->q, now)) != NULL)
		start_msg(f, m);
	if (f->wake_timer) {
		evloop_timer_cancel(f->loop, f->wake_timer);
		f->wake_timer = NULL;
	}
	next = queue_next_time(f->q);
	/* wake at least hourly: next may come from disk, and seconds times
	 * 1000 must not wrap to a timer that fires at once, forever */
	wait = next > now ? next - now : 1;
	if (wait > FWD_WAKE_MAX)
		wait = FWD_WAKE_MAX;
	if (next > 0 && f->active < FWD_MAX_ACTIVE)
		f->wake_timer = evloop_timer(f->loop, (uint64_t)wait * 1000,
					     wake, f);
}

void forward_kick(struct forwarder *f)
{
	if (f->run_timer == NULL)
		f->run_timer = evloop_timer(f->loop, 0, run, f);
}

/* Give every hop of the route table its per-hop data. */
static void attach_hops(struct forwarder *f)
{
	struct route_table *routes = f->routes;
	size_t r, h;

	for (r = 0; r < routes->n; r++)
		for (h = 0; h < routes->routes[r].nhops; h++) {
			struct hop *hop = &routes->routes[r].hops[h];
			struct hopdata *hd = hd_of(hop);

			hd->probed = 1;
			hd->f = f;
			hd->hop = hop;
			hd->route = &routes->routes[r];
		}
}

struct forwarder *forward_new(struct evloop *loop, struct queue *q,
			      struct route_table *routes,
			      const struct forward_cfg *cfg)
{
	struct forwarder *f = calloc(1, sizeof(*f));
	size_t n;

	if (f == NULL)
		log_fatal("out of memory");
	f->loop = loop;
	f->q = q;
	f->routes = routes;
	f->cfg = *cfg;
	f->dns = cfg->dns;
	fwd_policy_init(f);
	attach_hops(f);
	if (f->cfg.smtp_port <= 0)
		f->cfg.smtp_port = 25;
	if (f->cfg.concurrency < 1)
		f->cfg.concurrency = 1;
	if (f->cfg.retry_min < 1)
		f->cfg.retry_min = 1;
	if (f->cfg.retry_max < f->cfg.retry_min)
		f->cfg.retry_max = f->cfg.retry_min;
	if (f->cfg.hop_probe_max < 1)
		f->cfg.hop_probe_max = 1;
	/* what waited for a down hop before a restart goes now (the hops
	 * of this process are up until they fail) */
	n = fwd_wake_route(f, NULL);
	if (n > 0)
		log_info("%zu message(s) that waited for a down next hop due "
			 "now", n);
	forward_kick(f);
	return f;
}

void fwd_job_drop(struct job *j)
{
	struct fmsg *fm = j->fm;

	free(j->idx);
	free(j->mx);
	free(j);
	if (--fm->jobs > 0)
		return;
	sbuf_free(&fm->body);
	free(fm->failed);
	free(fm->relayed);
	free(fm);
}

static void hop_close_all(struct hop *hop)
{
	struct hopdata *hd = hop->priv;
	struct fconn *fc;
	struct job *j;

	if (hd == NULL)
		return;
	if (hd->probe)
		evloop_timer_cancel(hd->f->loop, hd->probe);
	while ((j = fwd_hop_dequeue(hop)) != NULL)
		fwd_job_drop(j);
	while ((fc = hd->all) != NULL) {
		struct smtp_client *cl = fc->cl;

		if (fc->job)
			fwd_job_drop(fc->job);
		fconn_drop(fc);
		smtp_client_quit(cl);
	}
	free(hd);
	hop->priv = NULL;
}

/* The hops of the stage's table, closed. */
static void close_hops(struct forwarder *f)
{
	size_t r, h;

	for (r = 0; r < f->routes->n; r++)
		for (h = 0; h < f->routes->routes[r].nhops; h++)
			hop_close_all(&f->routes->routes[r].hops[h]);
}

/* The new routes of forward_set_routes(), once nothing is in delivery. */
static void swap_routes(struct forwarder *f)
{
	size_t n;

	if (!f->routes_pending || f->active > 0)
		return;
	close_hops(f);
	route_table_free(f->routes);
	*f->routes = f->next_routes;
	memset(&f->next_routes, 0, sizeof(f->next_routes));
	f->routes_pending = 0;
	fwd_policy_apply(f);
	attach_hops(f);
	n = fwd_wake_route(f, NULL);
	log_info("next hops reloaded; %zu message(s) due now", n);
	forward_kick(f);
}

void forward_set_routes(struct forwarder *f, struct route_table *next)
{
	if (f->routes_pending)
		route_table_free(&f->next_routes);
	f->next_routes = *next;
	memset(next, 0, sizeof(*next));
	f->routes_pending = 1;
	forward_kick(f);
}

void forward_free(struct forwarder *f)
{
	struct dyn_hop *d;

	if (f == NULL)
		return;
	close_hops(f);
	if (f->routes_pending)
		route_table_free(&f->next_routes);
	while ((d = f->dyn) != NULL) {
		f->dyn = d->next;
		hop_close_all(&d->hop);
		free(d);
	}
	if (f->run_timer)
		evloop_timer_cancel(f->loop, f->run_timer);
	if (f->wake_timer)
		evloop_timer_cancel(f->loop, f->wake_timer);
	free(f->policy);
	f->policy = NULL;
	/* jobs waiting for DNS answers are dropped as their answers come
	 * (dns_free() gives them all): the last one frees f */
	f->stopped = 1;
	if (f->resolving == 0)
		free(f);
}
