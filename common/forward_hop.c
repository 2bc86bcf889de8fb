/*
 * NAME
 *	forward_hop - next hops that are down: probing them, waking what
 *	waited for them, and each hop's queue of jobs
 * DESCRIPTION
 *	A configured hop that fails is marked down and probed, the interval
 *	doubling up to hop_probe_max; the first probe that is greeted
 *	brings it up and makes every message that only waited for it due
 *	at once. An MX host is skipped for hop_down_time instead. Part of
 *	the forwarder (forward.c); trusts the queue and the route table.
 */
#include "forward_int.h"

#include <stdint.h>

#include "evloop.h"
#include "log.h"
#include "queue.h"
#include "route.h"

#define FWD_PROBE_FIRST_MS 250	/* first probe of a down hop */
#define FWD_HOP_DOWN_LONG (10 * 365 * 86400) /* "until a probe answers" */

struct wake {
	struct forwarder *f;
	struct route *route;	/* NULL: any route */
	time_t now;
	size_t n;
};

/* A message that only ever waited for down hops (attempts 0) and has a
 * pending recipient on w->route is due now. */
static void wake_one(struct qmsg *m, void *arg)
{
	struct wake *w = arg;
	size_t i;

	if (m->busy || m->held || m->attempts != 0 || m->next_try <= w->now)
		return;
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING &&
		    (w->route == NULL ||
		     route_for(w->f->routes, m->env.rcpts[i].addr) ==
		     w->route))
			break;
	if (i == m->env.nrcpt)
		return;
	queue_due(w->f->q, m, w->now);
	w->n++;
}

size_t fwd_wake_route(struct forwarder *f, struct route *r)
{
	struct wake w = {f, r, fwd_now(), 0};

	queue_foreach(f->q, wake_one, &w);
	return w.n;
}

static void probe_fire(void *arg);

/* Arm the next probe of a down hop, the interval doubling. */
void fwd_probe_schedule(struct hopdata *hd)
{
	uint64_t max = (uint64_t)hd->f->cfg.hop_probe_max;

	if (!hd->down || hd->probe || hd->probing)
		return;
	hd->probe = evloop_timer(hd->f->loop, hd->probe_ms, probe_fire, hd);
	hd->probe_ms = hd->probe_ms * 2 < max ? hd->probe_ms * 2 : max;
}

static void probe_fire(void *arg)
{
	struct hopdata *hd = arg;
	char err[200];

	hd->probe = NULL;
	if (!hd->down)
		return;
	if (fwd_open_conn(hd->f, hd->hop, 1, err, sizeof(err)) == 0)
		hd->probing = 1;
	else
		fwd_probe_schedule(hd);
}

/* Hop h refused, dropped or failed a connection: skip it. A configured
 * hop is skipped until a probe is greeted; an MX host for
 * hop_down_time. */
void fwd_hop_failed(struct forwarder *f, struct hop *h)
{
	struct hopdata *hd = hd_of(h);
	time_t now = fwd_now();

	if (!hd->probed) {
		route_hop_down(h, now, f->cfg.hop_down_time);
		return;
	}
	route_hop_down(h, now, FWD_HOP_DOWN_LONG);
	if (!hd->down) {
		hd->down = 1;
		hd->down_since = now;
		hd->probe_ms = FWD_PROBE_FIRST_MS;
		if (hd->probe_ms > (uint64_t)f->cfg.hop_probe_max)
			hd->probe_ms = (uint64_t)f->cfg.hop_probe_max;
		log_warn("next hop %s: down, probing it", h->hostport);
	}
	fwd_probe_schedule(hd);
}

/* A connection to a down hop was greeted: the hop is up, and what waited
 * for it goes now. */
void fwd_hop_up(struct forwarder *f, struct hop *h)
{
	struct hopdata *hd = hd_of(h);

	hd->down = 0;
	h->down_until = 0;
	if (hd->probe) {
		evloop_timer_cancel(f->loop, hd->probe);
		hd->probe = NULL;
	}
	log_info("next hop %s: up again after %lds, %zu waiting message(s) "
		 "due now", h->hostport, (long)(fwd_now() - hd->down_since),
		 fwd_wake_route(f, hd->route));
	forward_kick(f);
}

void fwd_hop_enqueue(struct hop *h, struct job *j)
{
	struct hopdata *hd = hd_of(h);

	j->hop = h;
	j->next = NULL;
	if (hd->tail)
		hd->tail->next = j;
	else
		hd->head = j;
	hd->tail = j;
}

struct job *fwd_hop_dequeue(struct hop *h)
{
	struct hopdata *hd = hd_of(h);
	struct job *j = hd->head;

	if (j) {
		hd->head = j->next;
		if (hd->head == NULL)
			hd->tail = NULL;
		j->next = NULL;
	}
	return j;
}
