/*
 * NAME
 *	gcommit_test - the pipelined group commit's contract
 * DESCRIPTION
 *	No batch is answered before its sync returned; what comes while a
 *	sync runs makes the next batch, started by the done of the one
 *	before; a prepare that fails answers what waits at once; stopping
 *	waits for the running sync and starts no other.
 */
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "gcommit.h"
#include "test.h"

struct state {
	struct evloop *loop;
	int pending;         /* written, not in a batch */
	int batch;           /* in the running sync */
	volatile int synced; /* the worker's: the batch it synced */
	int answered, failed, fail_prepare, early;
	int sizes[8], nsizes;
	int stop_at;
};

static int want(void *arg)
{
	struct state *st = arg;

	return st->pending > 0;
}

static int prepare(void *arg)
{
	struct state *st = arg;

	if (st->fail_prepare)
		return -1;
	st->batch = st->pending;
	st->pending = 0;
	st->synced = 0;
	return 0;
}

static void sync_batch(void *arg)
{
	struct state *st = arg;

	usleep(20000);
	st->synced = st->batch;
}

static void done(void *arg)
{
	struct state *st = arg;

	if (st->synced != st->batch)
		st->early++;
	st->answered += st->batch;
	if (st->nsizes < 8)
		st->sizes[st->nsizes++] = st->batch;
	st->batch = 0;
	if (st->answered >= st->stop_at)
		evloop_stop(st->loop);
}

static void failed(void *arg)
{
	struct state *st = arg;

	st->failed += st->pending;
	st->pending = 0;
}

static const struct gcommit_ops ops = {
	.want = want,
	.prepare = prepare,
	.sync = sync_batch,
	.done = done,
	.failed = failed,
};

int main(void)
{
	struct state st;
	struct gcommit g;

	memset(&st, 0, sizeof(st));
	memset(&g, 0, sizeof(g));
	st.loop = evloop_new();
	gcommit_kick(&g); /* not started: nothing, no crash */
	gcommit_start(&g, st.loop, &ops, &st, "test");
	gcommit_kick(&g);
	CHECK(!g.busy, "nothing written, no sync");

	/* one message, then three while its sync runs */
	st.pending = 1;
	gcommit_kick(&g);
	CHECK(g.busy && st.batch == 1, "first batch");
	st.pending = 3;
	gcommit_kick(&g);
	CHECK(st.batch == 1 && st.pending == 3, "one sync at a time");
	CHECK(st.answered == 0, "no answer before the sync");
	st.stop_at = 4;
	evloop_run(st.loop);
	CHECK(st.answered == 4 && st.nsizes == 2 && st.sizes[0] == 1 &&
			st.sizes[1] == 3,
		"the next batch holds what came meanwhile");
	CHECK(st.early == 0, "answered only after the sync");
	CHECK(!g.busy, "idle again");

	/* a prepare that fails: what waits is answered at once */
	st.fail_prepare = 1;
	st.pending = 2;
	gcommit_kick(&g);
	CHECK(st.failed == 2 && st.pending == 0 && !g.busy, "prepare fails");
	st.fail_prepare = 0;

	/* stopping waits for the running sync, then starts nothing */
	st.pending = 1;
	gcommit_kick(&g);
	st.pending = 5;
	st.stop_at = 1000;
	gcommit_stop(&g);
	CHECK(st.answered == 5 && st.early == 0, "stop waits for the sync");
	CHECK(st.pending == 5 && !g.busy, "nothing started after stop");
	gcommit_kick(&g);
	CHECK(st.pending == 5, "kick after stop does nothing");
	evloop_free(st.loop);
	return test_done();
}
