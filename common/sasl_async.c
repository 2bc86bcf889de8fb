/*
 * NAME
 *	sasl_async - SASL exchanges on worker threads
 * DESCRIPTION
 *	See sasl_async.h. One pool for the process (a daemon has one loop).
 *	A job carries copies of its arguments and the context; the worker
 *	runs the call of sasl.h (which serialises Cyrus itself and lets
 *	scrypt checks run side by side), the loop then hands the outcome to
 *	the owner, or frees the context when the owner abandoned the job.
 *	Mail layer.
 */
#include "sasl_async.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "limits_rfc.h"
#include "sbuf.h"
#include "workq.h"

enum job_kind { JOB_START, JOB_STEP, JOB_PLAIN };

struct sasl_async {
	enum job_kind kind;
	struct sasl_srv *srv;
	char *a, *b;		/* mech and initial; response; user and pass */
	enum sasl_res res;
	struct sbuf chal;
	sasl_async_done done;
	void *owner;		/* NULL: abandoned */
};

static struct workq *pool;

int sasl_async_setup(struct evloop *loop, int threads, char *err,
		     size_t errlen)
{
	if (pool != NULL) {
		snprintf(err, errlen, "SASL workers started twice");
		return -1;
	}
	pool = workq_new(loop, threads, err, errlen);
	return pool ? 0 : -1;
}

void sasl_async_teardown(void)
{
	workq_free(&pool);
}

static void wipe_free(char *p)
{
	if (p) {
		explicit_bzero(p, strlen(p));
		free(p);
	}
}

/* The workers yield to the loop: on Linux the nice value is per
 * thread, and at this one the loop thread, waking for a command of
 * another session, takes the core from a password check at once. */
#define SASL_ASYNC_NICE 10

static void work(void *arg)
{
	static _Thread_local int niced;
	struct sasl_async *j = arg;

	if (!niced) {
		niced = 1;
		/* best effort: without it, checks only compete evenly */
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(),
				  SASL_ASYNC_NICE);
	}

	switch (j->kind) {
	case JOB_START:
		j->res = sasl_srv_start(j->srv, j->a, j->b, &j->chal);
		break;
	case JOB_STEP:
		j->res = sasl_srv_step(j->srv, j->a, &j->chal);
		break;
	case JOB_PLAIN:
		j->res = sasl_srv_check_plain(j->srv, j->a, j->b);
		break;
	}
	wipe_free(j->a);
	wipe_free(j->b);
	j->a = j->b = NULL;
}

static void finished(void *arg)
{
	struct sasl_async *j = arg;
	struct sbuf chal = j->chal;
	sasl_async_done done = j->done;
	void *owner = j->owner;
	enum sasl_res res = j->res;

	if (owner == NULL)
		sasl_srv_free(&j->srv);
	free(j);
	if (owner != NULL)
		done(owner, res, &chal);
	sbuf_free(&chal);
}

static struct sasl_async *submit(enum job_kind kind, struct sasl_srv *s,
				 const char *a, const char *b,
				 sasl_async_done done, void *owner)
{
	struct sasl_async *j;

	if (pool == NULL || s == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->kind = kind;
	j->srv = s;
	j->done = done;
	j->owner = owner;
	sbuf_init(&j->chal, LIM_AUTH_LINE);
	j->a = strdup(a);
	j->b = b ? strdup(b) : NULL;
	if (j->a == NULL || (b && j->b == NULL) ||
	    workq_submit(pool, work, finished, j) < 0) {
		wipe_free(j->a);
		wipe_free(j->b);
		free(j);
		return NULL;
	}
	return j;
}

struct sasl_async *sasl_async_start(struct sasl_srv *s, const char *mech,
				    const char *initial,
				    sasl_async_done done, void *owner)
{
	return submit(JOB_START, s, mech, initial, done, owner);
}

struct sasl_async *sasl_async_step(struct sasl_srv *s, const char *response,
				   sasl_async_done done, void *owner)
{
	return submit(JOB_STEP, s, response, NULL, done, owner);
}

struct sasl_async *sasl_async_plain(struct sasl_srv *s, const char *user,
				    const char *pass, sasl_async_done done,
				    void *owner)
{
	return submit(JOB_PLAIN, s, user, pass, done, owner);
}

void sasl_async_abandon(struct sasl_async **jp, struct sasl_srv **sp)
{
	if (*jp == NULL)
		return;
	(*jp)->owner = NULL;
	*jp = NULL;
	*sp = NULL;
}
