/*
 * NAME
 *	queue_sched - which queued message goes next; operator commands
 * DESCRIPTION
 *	Idle messages that are not held sit in a min-heap ordered by
 *	(next_try, arrival order), so queue_take() is O(log n) and never
 *	scans the queue. The operator commands of queue_control() are here
 *	too; they change state through UPDATE/DONE records like everything
 *	else, so they are durable after the caller's queue_sync().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue_int.h"

static int before(const struct qent *a, const struct qent *b)
{
	return a->pub.next_try < b->pub.next_try ||
	       (a->pub.next_try == b->pub.next_try && a->seq < b->seq);
}

static void hset(struct queue *q, size_t i, struct qent *e)
{
	q->heap[i] = e;
	e->heap_idx = i;
}

static void hup(struct queue *q, size_t i)
{
	struct qent *e = q->heap[i];

	while (i > 0 && before(e, q->heap[(i - 1) / 2])) {
		hset(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	hset(q, i, e);
}

static void hdown(struct queue *q, size_t i)
{
	struct qent *e = q->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= q->nheap)
			break;
		if (c + 1 < q->nheap && before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!before(q->heap[c], e))
			break;
		hset(q, i, q->heap[c]);
		i = c;
	}
	hset(q, i, e);
}

void qheap_push(struct queue *q, struct qent *e)
{
	struct qent **h;
	size_t n;

	if (e->heap_idx != SIZE_MAX)
		return;
	if (q->nheap == q->capheap) {
		n = q->capheap ? q->capheap * 2 : 1024;
		h = realloc(q->heap, n * sizeof(*h));
		if (h == NULL)
			log_fatal("out of memory");
		q->heap = h;
		q->capheap = n;
	}
	q->heap[q->nheap++] = e;
	hup(q, q->nheap - 1);
}

void qheap_remove(struct queue *q, struct qent *e)
{
	size_t i = e->heap_idx;
	struct qent *last;

	if (i == SIZE_MAX)
		return;
	e->heap_idx = SIZE_MAX;
	last = q->heap[--q->nheap];
	if (last == e)
		return;
	hset(q, i, last);
	hdown(q, i);
	hup(q, last->heap_idx);
}

struct qmsg *queue_take(struct queue *q, time_t now)
{
	struct qent *e;

	if (q->nheap == 0 || q->heap[0]->pub.next_try > now)
		return NULL;
	e = q->heap[0];
	qheap_remove(q, e);
	e->pub.busy = 1;
	return &e->pub;
}

time_t queue_next_time(const struct queue *q)
{
	return q->nheap ? q->heap[0]->pub.next_try : 0;
}

static int pending(const struct qmsg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpts[i].state == RCPT_PENDING)
			return 1;
	return 0;
}

int queue_done(struct queue *q, struct qmsg *m)
{
	struct qent *e = (struct qent *)m;
	int rc;

	e->pub.busy = 0;
	if (e->deleted || !pending(m)) {
		rc = queue_write_done(q, e);
		queue_forget(q, e);
		return rc;
	}
	rc = queue_write_update(q, e);
	if (!e->pub.held)
		qheap_push(q, e);
	return rc;
}

struct qmsg *queue_find(struct queue *q, const char *id)
{
	struct qent *e = queue_lookup(q, id);

	return e ? &e->pub : NULL;
}

int queue_hold(struct queue *q, const char *id, int hold)
{
	struct qent *e = queue_lookup(q, id);

	if (e == NULL)
		return -1;
	e->pub.held = hold != 0;
	if (!e->pub.busy) {
		if (hold)
			qheap_remove(q, e);
		else
			qheap_push(q, e);
	}
	return queue_write_update(q, e);
}

int queue_delete(struct queue *q, const char *id)
{
	struct qent *e = queue_lookup(q, id);
	int rc;

	if (e == NULL)
		return -1;
	if (e->pub.busy) {
		e->deleted = 1;
		return 0;
	}
	rc = queue_write_done(q, e);
	queue_forget(q, e);
	return rc;
}

void queue_flush(struct queue *q)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < q->nheap; i++)
		if (q->heap[i]->pub.next_try > now)
			q->heap[i]->pub.next_try = now;
	/* every key went down to the same value: rebuild the heap order */
	for (i = q->nheap / 2 + 1; i-- > 0;)
		if (i < q->nheap)
			hdown(q, i);
}

void queue_due(struct queue *q, struct qmsg *m, time_t when)
{
	struct qent *e = (struct qent *)m;

	if (e->heap_idx == SIZE_MAX || m->next_try <= when)
		return;
	qheap_remove(q, e);
	m->next_try = when;
	qheap_push(q, e);
}

size_t queue_count(const struct queue *q)
{
	return q->count;
}

void queue_foreach(struct queue *q, void (*cb)(struct qmsg *m, void *arg),
		   void *arg)
{
	struct qent *e, *next;
	size_t i;

	for (i = 0; i < QUEUE_BUCKETS; i++)
		for (e = q->buckets[i]; e; e = next) {
			next = e->hnext;
			cb(&e->pub, arg);
		}
}

static const char *state_name(enum rcpt_state s)
{
	return s == RCPT_DONE ? "done" : s == RCPT_FAILED ? "failed"
							  : "pending";
}

static void list_one(struct qmsg *m, void *arg)
{
	struct sbuf *out = arg;
	time_t now = time(NULL);
	size_t i;

	sbuf_printf(out, "%-16s %8zu %6lds %s%s <%s>\n", m->id, m->size,
		    (long)(now - m->env.arrival), m->held ? "HELD " : "",
		    m->busy ? "ACTIVE" : "", m->env.from);
	if (m->last_error)
		sbuf_printf(out, "    (%s)\n", m->last_error);
	for (i = 0; i < m->env.nrcpt; i++)
		sbuf_printf(out, "    %-7s <%s>\n",
			    state_name(m->env.rcpts[i].state),
			    m->env.rcpts[i].addr);
}

static void show(struct queue *q, struct qmsg *m, struct sbuf *out)
{
	size_t i;

	sbuf_printf(out, "id: %s\nsender: <%s>\narrival: %ld\nattempts: %d\n"
		    "next_try: %ld\nheld: %s\nentered_by: %s\nclient: %s\n"
		    "helo: %s\nauth: %s\n",
		    m->id, m->env.from, (long)m->env.arrival, m->attempts,
		    (long)m->next_try, m->held ? "yes" : "no",
		    m->env.entered_by ? m->env.entered_by : "-",
		    m->env.client_addr ? m->env.client_addr : "-",
		    m->env.helo ? m->env.helo : "-",
		    m->env.auth_user ? m->env.auth_user : "-");
	for (i = 0; i < m->env.nrcpt; i++)
		sbuf_printf(out, "recipient: <%s> %s%s%s\n",
			    m->env.rcpts[i].addr,
			    state_name(m->env.rcpts[i].state),
			    m->env.rcpts[i].last_reply ? " " : "",
			    m->env.rcpts[i].last_reply ?
			    m->env.rcpts[i].last_reply : "");
	sbuf_puts(out, "\n");
	if (queue_body(q, m, out) < 0)
		sbuf_puts(out, "error: cannot read the message\n");
}

int queue_control(struct queue *q, const char *cmd, struct sbuf *out)
{
	char verb[16], id[64];
	struct qmsg *m;
	int n = sscanf(cmd, "%15s %63s", verb, id);

	if (n >= 1 && strcmp(verb, "list") == 0) {
		queue_foreach(q, list_one, out);
		sbuf_printf(out, "-- %zu message(s)\n", q->count);
		if (q->damaged || q->unreadable)
			sbuf_printf(out, "-- at open: %llu damaged record(s) "
				    "skipped, %zu segment(s) unreadable (see "
				    "the log)\n",
				    (unsigned long long)q->damaged,
				    q->unreadable);
		return 0;
	}
	if (n >= 1 && strcmp(verb, "flush") == 0) {
		queue_flush(q);
		sbuf_puts(out, "flushed\n");
		return 0;
	}
	if (n != 2) {
		sbuf_puts(out, "error: usage: list | flush | show ID | hold ID "
			  "| release ID | delete ID\n");
		return -1;
	}
	m = queue_find(q, id);
	if (m == NULL) {
		sbuf_printf(out, "error: no message %.63s\n", id);
		return -1;
	}
	if (strcmp(verb, "show") == 0) {
		show(q, m, out);
	} else if (strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0) {
		if (queue_hold(q, id, verb[0] == 'h') < 0) {
			sbuf_puts(out, "error: cannot write the queue\n");
			return -1;
		}
		sbuf_printf(out, "%s: %s\n", id, verb[0] == 'h' ? "held"
								: "released");
	} else if (strcmp(verb, "delete") == 0) {
		if (queue_delete(q, id) < 0) {
			sbuf_puts(out, "error: cannot write the queue\n");
			return -1;
		}
		log_info("%s: removed by the operator", id);
		sbuf_printf(out, "%s: deleted\n", id);
	} else {
		sbuf_printf(out, "error: unknown command %.15s\n", verb);
		return -1;
	}
	return 0;
}
