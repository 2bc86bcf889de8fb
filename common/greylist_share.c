/*
 * NAME
 *	greylist_share - greylisting triplets in Redis, one store for the
 *	servers of an mx pair, the local SQLite store as the fallback
 * DESCRIPTION
 *	A triplet is one Redis hash (first, last, passed) under a key made
 *	of its three parts separated by NUL bytes (no part can hold one),
 *	and one Lua script decides and updates it atomically, on Redis's
 *	clock, so both servers of a pair apply one delay and one window
 *	whichever the retry reaches; the key expires with the retry
 *	window, and once passed with the lifetime after its last use. The
 *	script is greylist.c's rules, in the same order. Redis down, or no
 *	answer within a second (shstate's limit): the local store
 *	(greylist.c) answers, with one log line when that starts, one when
 *	Redis answers again, and the counter
 *	sluice_greylist_verdicts_total{store="local"} (store="redis" for
 *	the others); mail is never refused for it.
 *	A reply is checked (verdict, wait within the delay) before use.
 *	Mail layer; Redis through shstate.h only.
 */
#include "greylist_share.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "shstate.h"

#define KEY_PREFIX "sluice:grey:"
/* a passed triplet's last use is written at most this often (as
 * greylist.c: a minute, or 1% of the lifetime) */
#define TOUCH_MAX_MS 60000
#define METRIC_GREY(store) "sluice_greylist_verdicts_total",                \
	"store=\"" store "\"", "greylisting verdicts by the store that "   \
	"gave them: redis (shared), local (Redis down or silent)"

/* KEYS[1] the triplet; ARGV delay, retry window, lifetime, touch (ms).
 * Returns {verdict, wait}: 0 pass, 1 passed now, 2 defer. */
static const char script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 +\n"
	"  math.floor(tonumber(t[2]) / 1000)\n"
	"local delay, win = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local life, touch = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local v = redis.call('HMGET', KEYS[1], 'f', 'l', 'p')\n"
	"local f, l = tonumber(v[1]), tonumber(v[2])\n"
	"if f and l and f >= 0 and l >= f and l <= now then\n"
	"  if v[3] == '1' and now - l <= life then\n"
	"    if now - l >= touch then\n"
	"      redis.call('HSET', KEYS[1], 'l', now)\n"
	"      redis.call('PEXPIRE', KEYS[1], life)\n"
	"    end\n"
	"    return {0, 0}\n"
	"  end\n"
	"  if v[3] == '0' and now - f <= win then\n"
	"    if now - f < delay then return {2, delay - (now - f)} end\n"
	"    redis.call('HSET', KEYS[1], 'l', now, 'p', '1')\n"
	"    redis.call('PEXPIRE', KEYS[1], life)\n"
	"    return {1, 0}\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'f', now, 'l', now, 'p', '0')\n"
	"redis.call('PEXPIRE', KEYS[1], win)\n"
	"return {2, delay}\n";

struct greylist_share {
	struct shstate *sh;
	struct greylist *local;
	struct greylist_cfg cfg;
	int on_local;		/* the last verdict came from the local store */
	struct metric *m_shared, *m_local;
	unsigned long long n_local;	/* verdicts of the local store */
};

/* One question on its way; the triplet kept for a local answer. */
struct ask {
	struct greylist_share *g;
	greylist_done_fn done;
	void *arg;
	uint64_t now;
	char *net, *sender, *rcpt;
	char buf[];
};

/* The local store's answer, and the log line when it starts. */
static enum grey_verdict local_check(struct greylist_share *g,
				     const char *net, const char *sender,
				     const char *rcpt, uint64_t now,
				     uint64_t *wait)
{
	g->n_local++;
	metrics_add(g->m_local, 1);
	if (!g->on_local)
		log_warn("greylist: redis unavailable: local triplets until "
			 "it answers (greylist_local_total=%llu)", g->n_local);
	g->on_local = 1;
	return greylist_check(g->local, net, sender, rcpt, now, wait);
}

static void answered(void *arg, const long long *v, size_t n)
{
	struct ask *a = arg;
	struct greylist_share *g = a->g;
	enum grey_verdict verdict = GREY_ERROR;
	uint64_t wait = 0;

	if (v != NULL && n == 2 && v[0] >= 0 && v[0] <= 2 && v[1] >= 0 &&
	    (uint64_t)v[1] <= g->cfg.delay_ms) {
		verdict = v[0] == 0 ? GREY_PASS : v[0] == 1 ? GREY_PASS_NOW
							    : GREY_DEFER;
		wait = (uint64_t)v[1];
		metrics_add(g->m_shared, 1);
		if (g->on_local)
			log_info("greylist: redis answers again: shared "
				 "triplets");
		g->on_local = 0;
	} else {
		verdict = local_check(g, a->net, a->sender, a->rcpt, a->now,
				      &wait);
	}
	a->done(a->arg, verdict, wait);
	free(a);
}

struct greylist_share *greylist_share_new(struct shstate *sh,
					  const struct greylist_cfg *cfg,
					  struct greylist *local)
{
	struct greylist_share *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->sh = sh;
	g->cfg = *cfg;
	g->local = local;
	g->m_shared = metrics_counter(METRIC_GREY("redis"));
	g->m_local = metrics_counter(METRIC_GREY("local"));
	return g;
}

void greylist_share_free(struct greylist_share **gp)
{
	struct greylist_share *g = *gp;

	if (g == NULL)
		return;
	free(g);
	*gp = NULL;
}

int greylist_share_check(struct greylist_share *g, const char *net,
			 const char *sender, const char *rcpt,
			 uint64_t now_ms, enum grey_verdict *v,
			 uint64_t *wait_ms, greylist_done_fn done, void *arg)
{
	size_t ln = strlen(net), ls = strlen(sender), lr = strlen(rcpt);
	size_t pl = sizeof(KEY_PREFIX) - 1, klen = pl + ln + 1 + ls + 1 + lr;
	char num[4][24];
	const char *argv[5];
	size_t len[5], i;
	uint64_t touch = g->cfg.lifetime_ms / 100;
	struct ask *a;
	char *key;

	*wait_ms = 0;
	a = ln < 80 && ls <= LIM_PATH && lr <= LIM_PATH
		    ? malloc(sizeof(*a) + klen + ln + ls + lr + 3)
		    : NULL;
	if (a == NULL) {
		*v = local_check(g, net, sender, rcpt, now_ms, wait_ms);
		return 0;
	}
	a->g = g;
	a->done = done;
	a->arg = arg;
	a->now = now_ms;
	/* the key: prefix, net NUL sender NUL rcpt (binary, length given) */
	key = a->buf;
	memcpy(key, KEY_PREFIX, pl);
	memcpy(key + pl, net, ln + 1);
	memcpy(key + pl + ln + 1, sender, ls + 1);
	memcpy(key + pl + ln + 1 + ls + 1, rcpt, lr);
	/* and the parts again, NUL-terminated, for a local answer */
	a->net = key + klen;
	memcpy(a->net, net, ln + 1);
	a->sender = a->net + ln + 1;
	memcpy(a->sender, sender, ls + 1);
	a->rcpt = a->sender + ls + 1;
	memcpy(a->rcpt, rcpt, lr + 1);
	snprintf(num[0], sizeof(num[0]), "%llu",
		 (unsigned long long)g->cfg.delay_ms);
	snprintf(num[1], sizeof(num[1]), "%llu",
		 (unsigned long long)g->cfg.retry_window_ms);
	snprintf(num[2], sizeof(num[2]), "%llu",
		 (unsigned long long)g->cfg.lifetime_ms);
	snprintf(num[3], sizeof(num[3]), "%llu",
		 (unsigned long long)(touch < TOUCH_MAX_MS ? touch
							   : TOUCH_MAX_MS));
	argv[0] = key;
	len[0] = klen;
	for (i = 0; i < 4; i++) {
		argv[i + 1] = num[i];
		len[i + 1] = strlen(num[i]);
	}
	if (shstate_eval(g->sh, script, 1, 5, argv, len, answered, a) < 0) {
		free(a);
		*v = local_check(g, net, sender, rcpt, now_ms, wait_ms);
		return 0;
	}
	return 1;
}
