/*
 * NAME
 *	mx_share - the screening maps of an mx pair, counted together
 * DESCRIPTION
 *	With redis_server set, the servers of a pair enforce one limit on
 *	connections per client network, messages per sender, spam-trap
 *	holds and the greet pause's pass list. Each server keeps its own
 *	maps (ratemap.h) and decides from them alone, at once; every hit
 *	or hold it makes goes out as an event (shstate.h), and the other
 *	servers' events are applied to its maps at the time they were
 *	made. Redis down: each server counts alone (shstate logs it once
 *	and counts it). Holds travel as their length in seconds, applied
 *	from the event's time. Faces Redis through shstate.h only.
 */
#include <stdint.h>

#include "mx.h"
#include "ratemap.h"
#include "shstate.h"
#include "smtp_guard.h"

#define KIND_CONN "mxconn"
#define KIND_SENDER "mxsender"
#define KIND_TRAP "mxtrap"
#define KIND_PASS "mxpass"

static void on_conn(void *arg, const char *key, long long n, uint64_t at)
{
	struct mx *mx = arg;
	const struct smtp_guard_config *g = &mx->cfg->smtp.guard;

	(void)n;
	(void)smtp_guard_conn_rate(mx->screen.conn_rate, key, at,
		g->connection_rate_limit, g->connection_rate_window);
}

static void on_sender(void *arg, const char *key, long long n, uint64_t at)
{
	struct mx *mx = arg;
	const struct mx_screen_config *c = &mx->cfg->screen;

	(void)n;
	if (c->sender_rate_limit > 0)
		(void)ratemap_hit(mx->screen.senders, key, at,
			(uint64_t)c->sender_rate_window * 1000);
}

static void on_trap(void *arg, const char *key, long long n, uint64_t at)
{
	struct mx *mx = arg;

	if (n > 0)
		ratemap_hold(mx->screen.trapped, key, at + (uint64_t)n * 1000);
}

static void on_pass(void *arg, const char *key, long long n, uint64_t at)
{
	struct mx *mx = arg;

	if (n > 0 && !ratemap_held(mx->screen.trapped, key, at))
		ratemap_hold(mx->screen.passed, key, at + (uint64_t)n * 1000);
}

static uint64_t longest(uint64_t a, long long b)
{
	return b > 0 && (uint64_t)b > a ? (uint64_t)b : a;
}

uint64_t mx_share_window(const struct mx *mx)
{
	const struct mx_screen_config *c = &mx->cfg->screen;
	uint64_t w = 0;

	w = longest(w, mx->cfg->smtp.guard.connection_rate_window);
	w = longest(w, c->sender_rate_window);
	w = longest(w, c->spam_trap_block_time);
	w = longest(w, c->screen_pass_time);
	return w * 1000;
}

int mx_share_start(struct mx *mx)
{
	struct shstate *sh = mx->screen.sh;

	if (shstate_on(sh, KIND_CONN, on_conn, mx) < 0 ||
		shstate_on(sh, KIND_SENDER, on_sender, mx) < 0 ||
		shstate_on(sh, KIND_TRAP, on_trap, mx) < 0 ||
		shstate_on(sh, KIND_PASS, on_pass, mx) < 0)
		return -1;
	return 0;
}

static void publish(
	struct mx *mx, const char *kind, const char *key, long long n)
{
	if (mx->screen.sh != NULL)
		shstate_publish(mx->screen.sh, kind, key, n);
}

void mx_share_conn(struct mx *mx, const char *client_addr)
{
	publish(mx, KIND_CONN, client_addr, 1);
}

void mx_share_sender(struct mx *mx, const char *sender_key)
{
	publish(mx, KIND_SENDER, sender_key, 1);
}

void mx_share_trap(struct mx *mx, const char *client_addr, long long secs)
{
	publish(mx, KIND_TRAP, client_addr, secs);
}

void mx_share_pass(struct mx *mx, const char *client_addr, long long secs)
{
	publish(mx, KIND_PASS, client_addr, secs);
}
