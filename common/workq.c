/*
 * NAME
 *	workq - a small pool of worker threads feeding an event loop
 * DESCRIPTION
 *	Three lists under one mutex: jobs waiting for a thread, light and
 *	heavy (each FIFO; a free thread takes the older of the two heads,
 *	skipping the heavy one while heavy_max heavy jobs run), and jobs
 *	finished, waiting for their done function. A finishing worker bumps
 *	an eventfd the loop watches; the loop takes the whole finished list
 *	at once and runs the done functions in completion order. Base layer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "evloop.h"
#include "workq.h"

struct job {
	workq_fn fn;
	workq_done done;
	void *arg;
	int heavy;
	unsigned long long seq;	/* submission order */
	struct job *next;
};

struct jlist {
	struct job *head, *tail;
};

struct workq {
	struct evloop *loop;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jlist queued, heavy, finished;
	unsigned long long seq;
	int heavy_running, heavy_max;
	size_t pending;		/* submitted, done not yet run */
	int stopping;
	int nthreads;
	pthread_t *threads;
};

static void jlist_push(struct jlist *l, struct job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct job *jlist_pop(struct jlist *l)
{
	struct job *j = l->head;

	if (j) {
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
	}
	return j;
}

/* The next job a free thread may run, or NULL. Under q->mu. */
static struct job *take(struct workq *q)
{
	struct job *l = q->queued.head, *h = q->heavy.head;

	if (h != NULL && q->heavy_running >= q->heavy_max)
		h = NULL;
	if (h != NULL && (l == NULL || h->seq < l->seq)) {
		q->heavy_running++;
		return jlist_pop(&q->heavy);
	}
	return l ? jlist_pop(&q->queued) : NULL;
}

static void *worker(void *arg)
{
	struct workq *q = arg;
	struct job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while ((j = take(q)) == NULL) {
			if (q->stopping && q->queued.head == NULL &&
			    q->heavy.head == NULL)
				break;
			pthread_cond_wait(&q->cv, &q->mu);
		}
		if (j == NULL)
			break;	/* stopping and nothing left */
		pthread_mutex_unlock(&q->mu);
		j->fn(j->arg);
		pthread_mutex_lock(&q->mu);
		if (j->heavy) {
			q->heavy_running--;
			/* a heavy job may wait for this slot */
			if (q->heavy.head != NULL)
				pthread_cond_broadcast(&q->cv);
		}
		jlist_push(&q->finished, j);
		/* the counter cannot overflow: the loop reads it to zero */
		if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* Run the done functions of every finished job. */
static void reap(struct workq *q)
{
	struct job *j, *next;

	pthread_mutex_lock(&q->mu);
	j = q->finished.head;
	q->finished.head = q->finished.tail = NULL;
	pthread_mutex_unlock(&q->mu);
	for (; j; j = next) {
		next = j->next;
		q->pending--;
		j->done(j->arg);
		free(j);
	}
}

static void on_event(void *arg, uint32_t events)
{
	struct workq *q = arg;
	uint64_t n;

	(void)events;
	if (read(q->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	reap(q);
}

struct workq *workq_new(struct evloop *loop, int threads, char *err,
			size_t errlen)
{
	struct workq *q;
	sigset_t all, old;
	int i, rc = 0;

	if (threads < 1 || threads > 64) {
		snprintf(err, errlen, "worker threads must be 1 to 64");
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->threads = calloc((size_t)threads,
					      sizeof(pthread_t))) == NULL) {
		free(q);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->loop = loop;
	q->heavy_max = threads;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0 || evloop_add(loop, q->efd, EPOLLIN, on_event, q) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		if (q->efd >= 0)
			close(q->efd);
		free(q->threads);
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	/* the threads inherit a mask that blocks everything: signals belong
	 * to the loop's signalfd */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < threads; i++) {
		rc = pthread_create(&q->threads[i], NULL, worker, q);
		if (rc != 0)
			break;
		q->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (q->nthreads < threads) {
		snprintf(err, errlen, "cannot start worker threads: %s",
			 strerror(rc));
		workq_free(&q);
		return NULL;
	}
	return q;
}

static int submit(struct workq *q, workq_fn fn, workq_done done, void *arg,
		  int heavy)
{
	struct job *j = malloc(sizeof(*j));

	if (j == NULL)
		return -1;
	j->fn = fn;
	j->done = done;
	j->arg = arg;
	j->heavy = heavy;
	pthread_mutex_lock(&q->mu);
	j->seq = q->seq++;
	jlist_push(heavy ? &q->heavy : &q->queued, j);
	q->pending++;
	/* every thread: the one woken might find the heavy lane full */
	if (heavy)
		pthread_cond_broadcast(&q->cv);
	else
		pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

int workq_submit(struct workq *q, workq_fn fn, workq_done done, void *arg)
{
	return submit(q, fn, done, arg, 0);
}

int workq_submit_heavy(struct workq *q, workq_fn fn, workq_done done,
		       void *arg)
{
	return submit(q, fn, done, arg, 1);
}

void workq_limit_heavy(struct workq *q, int n)
{
	pthread_mutex_lock(&q->mu);
	q->heavy_max = n < 1 ? 1 : n > q->nthreads ? q->nthreads : n;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

size_t workq_pending(const struct workq *q)
{
	return q->pending;
}

void workq_free(struct workq **qp)
{
	struct workq *q = *qp;
	int i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	reap(q);
	evloop_del(q->loop, q->efd);
	close(q->efd);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q->threads);
	free(q);
	*qp = NULL;
}
