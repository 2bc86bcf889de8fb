/*
 * NAME
 *	gcommit - the pipelined group commit
 * DESCRIPTION
 *	See gcommit.h. The invariant: done() of a batch runs only after
 *	sync() of that batch returned, and prepare() runs again only after
 *	done(); so no answer leaves before the sync that covers it.
 */
#include "gcommit.h"

#include <stddef.h>

#include "log.h"
#include "workq.h"

static void gcommit_work(void *arg)
{
	struct gcommit *g = arg;

	g->ops->sync(g->arg);
}

static void gcommit_done(void *arg)
{
	struct gcommit *g = arg;

	g->busy = 0;
	g->ops->done(g->arg);
	gcommit_kick(g);
}

void gcommit_kick(struct gcommit *g)
{
	if (g->busy || g->worker == NULL || !g->ops->want(g->arg))
		return;
	if (g->ops->prepare(g->arg) < 0) {
		if (g->ops->failed)
			g->ops->failed(g->arg);
		return;
	}
	g->busy = 1;
	if (workq_submit(g->worker, gcommit_work, gcommit_done, g) < 0) {
		/* out of memory: sync on the loop, the old way */
		gcommit_work(g);
		gcommit_done(g);
	}
}

void gcommit_start(struct gcommit *g, struct evloop *loop,
	const struct gcommit_ops *ops, void *arg, const char *what)
{
	char err[256];

	g->ops = ops;
	g->arg = arg;
	g->busy = 0;
	g->worker = workq_new(loop, 1, err, sizeof(err));
	if (g->worker == NULL)
		log_fatal("%s thread: %s", what, err);
}

void gcommit_stop(struct gcommit *g)
{
	/* the done() of a running sync runs in workq_free(); with worker
	 * NULL its kick starts nothing */
	struct workq *w = g->worker;

	g->worker = NULL;
	workq_free(&w);
}
