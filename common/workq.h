/*
 * NAME
 *	workq - a small pool of worker threads feeding an event loop
 * DESCRIPTION
 *	For work too slow for the event loop (a virus scan, a password
 *	hash): a job's work function runs on one of the pool's threads, then
 *	its done function runs on the loop's thread, woken through an
 *	eventfd. Jobs never share state with the loop while they run: the
 *	caller hands the job everything it needs and takes it back in done.
 *	A caller whose session went away meanwhile marks its job and lets
 *	done free it. Two lanes: jobs submitted as heavy (a scan of a huge
 *	message) run on at most a set number of threads at once, so the
 *	other threads stay free for the light ones; both lanes are served
 *	in the order of submission otherwise. Worker threads block every
 *	signal. Base layer.
 */
#ifndef SLUICE_WORKQ_H
#define SLUICE_WORKQ_H

#include <stddef.h>

struct evloop;
struct workq;

/* Runs on a worker thread: must not touch the loop or its objects. */
typedef void (*workq_fn)(void *arg);
/* Runs on the loop's thread after the work function returned. */
typedef void (*workq_done)(void *arg);

/* Start threads workers (1 to 64) for loop. Returns NULL with a reason
 * in err on failure. */
struct workq *workq_new(struct evloop *loop, int threads, char *err,
			size_t errlen);

/* Queue a job; fn(arg) on a worker, then done(arg) on the loop. Never
 * runs done before returning. 0, or -1 when out of memory. */
int workq_submit(struct workq *q, workq_fn fn, workq_done done, void *arg);

/* The same in the heavy lane: runs when fewer than the heavy limit of
 * heavy jobs are running (light jobs submitted later may pass it). */
int workq_submit_heavy(struct workq *q, workq_fn fn, workq_done done,
		       void *arg);

/* At most n (1 to the pool's size) heavy jobs at once; the default is
 * the pool's size (no reserve for light jobs). */
void workq_limit_heavy(struct workq *q, int n);

/* Jobs queued or running whose done has not run yet. */
size_t workq_pending(const struct workq *q);

/* Wait for every queued job, run the done functions still owed, stop
 * the threads and free *qp; sets *qp to NULL. */
void workq_free(struct workq **qp);

#endif
