/*
 * NAME
 *	workq_test - the worker pool against a real event loop
 * DESCRIPTION
 *	Many jobs over several threads: every work function runs exactly
 *	once, on a thread other than the loop's, and every done function
 *	runs once on the loop's thread after its work; workq_free() runs the
 *	done functions still owed; bad thread counts are refused. The heavy
 *	lane: never more heavy jobs at once than its limit, and light jobs
 *	submitted behind a row of heavy ones pass them on the free threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "evloop.h"
#include "test.h"
#include "workq.h"

#define NJOBS 2000

struct tjob {
	pthread_t worked_on;
	int worked, done;
	long long square;
	long long n;
};

static struct tjob jobs[NJOBS];
static pthread_t loop_thread;
static int done_count, done_bad;
static struct evloop *loop;

static void work(void *arg)
{
	struct tjob *j = arg;

	j->worked_on = pthread_self();
	j->worked++;
	j->square = j->n * j->n;
}

static void done(void *arg)
{
	struct tjob *j = arg;

	if (!pthread_equal(pthread_self(), loop_thread) || j->worked != 1)
		done_bad++;
	j->done++;
	if (++done_count == NJOBS)
		evloop_stop(loop);
}

/* the heavy lane */
#define NHEAVY 6
#define NLIGHT 20
static pthread_mutex_t hmu = PTHREAD_MUTEX_INITIALIZER;
static int heavy_now, heavy_most;
static int finished;

/* A heavy job holds its thread until every light job has worked (or 5 s
 * have passed: counted as a failure), so the light ones can only have
 * finished by passing it on the free threads, however slow the machine. */
static pthread_cond_t hcv = PTHREAD_COND_INITIALIZER;
static int light_worked, heavy_timeouts;

static void heavy_work(void *arg)
{
	struct timespec until;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&hmu);
	if (++heavy_now > heavy_most)
		heavy_most = heavy_now;
	while (light_worked < NLIGHT)
		if (pthread_cond_timedwait(&hcv, &hmu, &until) != 0) {
			heavy_timeouts++;
			break;
		}
	heavy_now--;
	pthread_mutex_unlock(&hmu);
}

static void light_work(void *arg)
{
	work(arg);
	pthread_mutex_lock(&hmu);
	if (++light_worked == NLIGHT)
		pthread_cond_broadcast(&hcv);
	pthread_mutex_unlock(&hmu);
}

static void heavy_fin(void *arg)
{
	(void)arg;
	if (++finished == NHEAVY + NLIGHT)
		evloop_stop(loop);
}

static void light_fin(void *arg)
{
	(void)arg;
	if (++finished == NHEAVY + NLIGHT)
		evloop_stop(loop);
}

static void lanes(void)
{
	struct workq *q;
	char err[128];
	int i;

	q = workq_new(loop, 3, err, sizeof(err));
	CHECK(q != NULL, "3 threads");
	if (q == NULL)
		return;
	workq_limit_heavy(q, 1);
	for (i = 0; i < NHEAVY; i++)
		workq_submit_heavy(q, heavy_work, heavy_fin, NULL);
	for (i = 0; i < NLIGHT; i++)
		workq_submit(q, light_work, light_fin, &jobs[i]);
	evloop_run(loop);
	CHECK(heavy_most == 1, "one heavy job at a time");
	CHECK(heavy_timeouts == 0, "light jobs pass the heavy ones");
	/* free waits for the heavy jobs still queued */
	finished = 0;
	for (i = 0; i < 3; i++)
		workq_submit_heavy(q, heavy_work, heavy_fin, NULL);
	workq_free(&q);
	CHECK(finished == 3, "free runs the queued heavy jobs");
}

int main(void)
{
	struct workq *q;
	char err[128];
	int i, wrong = 0, off_loop = 1;

	loop_thread = pthread_self();
	loop = evloop_new();
	CHECK(workq_new(loop, 0, err, sizeof(err)) == NULL, "0 threads");
	CHECK(workq_new(loop, 65, err, sizeof(err)) == NULL, "65 threads");
	q = workq_new(loop, 4, err, sizeof(err));
	CHECK(q != NULL, "4 threads");
	if (q == NULL)
		return test_done();
	for (i = 0; i < NJOBS; i++) {
		jobs[i].n = i;
		CHECK(workq_submit(q, work, done, &jobs[i]) == 0, "submit");
	}
	CHECK(done_count == 0, "done never runs inside submit");
	CHECK(workq_pending(q) == NJOBS, "all pending");
	evloop_run(loop);
	for (i = 0; i < NJOBS; i++) {
		if (jobs[i].worked != 1 || jobs[i].done != 1 ||
		    jobs[i].square != (long long)i * i)
			wrong++;
		if (pthread_equal(jobs[i].worked_on, loop_thread))
			off_loop = 0;
	}
	CHECK(wrong == 0, "every job worked and done once");
	CHECK(off_loop, "work never ran on the loop's thread");
	CHECK(done_bad == 0, "done on the loop's thread, after work");
	CHECK(workq_pending(q) == 0, "nothing pending");
	/* jobs still owed at free time get their done */
	done_count = 0;
	for (i = 0; i < 100; i++) {
		jobs[i].worked = jobs[i].done = 0;
		workq_submit(q, work, done, &jobs[i]);
	}
	workq_free(&q);
	CHECK(q == NULL, "free clears the pointer");
	CHECK(done_count == 100, "free runs the owed done functions");
	lanes();
	evloop_free(loop);
	return test_done();
}
