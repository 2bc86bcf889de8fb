/*
 * NAME
 *	shstate - short-lived state shared through a Redis stream
 * DESCRIPTION
 *	See shstate.h. The one adapter of hiredis: its asynchronous API
 *	runs on our event loop (the read/write hooks below), so no Redis
 *	call ever blocks a session. Two connections: one appends events
 *	(XADD, capped with MAXLEN ~), one reads them (XREAD BLOCK, one
 *	second at a time, from the last id seen). hiredis 0.14 has no
 *	timeouts of its own: a periodic tick drops a connection that has
 *	not connected, or not answered, within its limit, and reconnects
 *	a dropped one every second. Events from Redis are untrusted input:
 *	types, lengths and numbers are checked before a handler sees them.
 *	Why not a worker thread: the state is only mirrored here, nothing
 *	waits for a reply, so there is nothing for a thread to wait on.
 */
#include "shstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "evloop.h"
#include "log.h"
#include "metrics.h"

#define STREAM "sluice:events"
#define STREAM_MAX "100000"	/* events kept (about; MAXLEN ~) */
#define TICK_MS 250
#define RETRY_MS 1000		/* reconnect this often */
#define CONNECT_MS 1000		/* a connect that takes longer is dropped */
#define REPLY_MS 1000		/* an XADD reply that takes longer: drop */
#define BLOCK_MS "1000"		/* XREAD BLOCK */
#define READ_MS 2500		/* an XREAD that takes longer: drop */
#define INFLIGHT_MAX 10000	/* XADDs waiting for replies */
#define FIELD_MAX 400		/* longest event field we accept */
#define N_MAX 1000000000LL
#define METRIC_REDIS_DOWN "sluice_redis_down_total", NULL,                 \
	"times the shared state's Redis went away (local state meanwhile)"
#define METRIC_EVENTS(what) "sluice_shared_events_total",                \
	"what=\"" what "\"", "shared-state events: published (sent to "    \
	"Redis), applied (another server's, applied here), dropped (Redis "  \
	"down: not sent)"

struct shconn {
	struct shstate *s;
	redisAsyncContext *ac;
	int fd, registered, connected, sub;
	uint32_t mask;
	unsigned inflight;
	uint64_t since;		/* connect started, or last progress */
	uint64_t last_try;
};

struct shon {
	char kind[16];
	shstate_fn fn;
	void *arg;
};

struct shstate {
	struct evloop *loop;
	char host[256];
	int port;
	uint64_t window;
	char node[24];
	char last_id[64];
	struct shconn pub, sub;
	struct shon on[SHSTATE_KINDS];
	int non;
	struct ev_timer *tick;
	int up;			/* -1 not yet known, 0 down, 1 up */
	int freeing;
	char why[128];
	struct shstate_stats st;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One log line per change of state, and the counter. */
static void set_up(struct shstate *s, int up)
{
	if (s->freeing || s->up == up)
		return;
	s->up = up;
	if (up) {
		log_info("shared state: redis %s:%d up, limits shared with "
			 "the other servers", s->host, s->port);
		return;
	}
	s->st.down_total++;
	METRICS_COUNT(METRIC_REDIS_DOWN);
	log_warn("shared state: redis %s:%d down (%s): local limits only, "
		 "retrying every second (redis_down_total=%llu)", s->host,
		 s->port, s->why[0] ? s->why : "unreachable",
		 s->st.down_total);
}

static void conn_gone(struct shconn *c, const char *why)
{
	/* the fd's registration goes in ev_cleanup, which hiredis calls
	 * whenever it frees the context */
	c->ac = NULL;
	c->connected = 0;
	c->inflight = 0;
	snprintf(c->s->why, sizeof(c->s->why), "%s", why);
	set_up(c->s, 0);
}

/* ---- hiredis on our event loop ---- */

static void io_cb(void *arg, uint32_t ev)
{
	struct shconn *c = arg;

	if (c->ac && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		redisAsyncHandleRead(c->ac);
	if (c->ac && (ev & EPOLLOUT))
		redisAsyncHandleWrite(c->ac);
}

static void set_mask(struct shconn *c, uint32_t m)
{
	if (c->registered && m == c->mask)
		return;
	c->mask = m;
	if (!c->registered) {
		if (evloop_add(c->s->loop, c->fd, m, io_cb, c) == 0)
			c->registered = 1;
	} else {
		evloop_mod(c->s->loop, c->fd, m);
	}
}

static void ev_add_read(void *p)
{
	struct shconn *c = p;

	set_mask(c, c->mask | EPOLLIN);
}

static void ev_del_read(void *p)
{
	struct shconn *c = p;

	set_mask(c, c->mask & ~(uint32_t)EPOLLIN);
}

static void ev_add_write(void *p)
{
	struct shconn *c = p;

	set_mask(c, c->mask | EPOLLOUT);
}

static void ev_del_write(void *p)
{
	struct shconn *c = p;

	set_mask(c, c->mask & ~(uint32_t)EPOLLOUT);
}

static void ev_cleanup(void *p)
{
	struct shconn *c = p;

	if (c->registered)
		evloop_del(c->s->loop, c->fd);
	c->registered = 0;
	c->mask = 0;
}

/* ---- reading the other servers' events ---- */

static const redisReply *str_el(const redisReply *r, size_t i)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || i >= r->elements ||
	    r->element[i] == NULL ||
	    (r->element[i]->type != REDIS_REPLY_STRING &&
	     r->element[i]->type != REDIS_REPLY_STATUS) ||
	    r->element[i]->len > FIELD_MAX ||
	    strlen(r->element[i]->str) != r->element[i]->len)
		return NULL;
	return r->element[i];
}

/* One stream entry [id, [field, value, ...]]. */
static void apply_entry(struct shstate *s, const redisReply *e)
{
	const char *node = NULL, *kind = NULL, *key = NULL, *num = NULL;
	const redisReply *id = str_el(e, 0), *f, *k, *v;
	unsigned long long ms;
	long long n;
	uint64_t now = wall_ms(), age, at;
	char *end;
	size_t i;
	int j;

	if (id == NULL || id->len >= sizeof(s->last_id) || e->elements != 2)
		return;
	memcpy(s->last_id, id->str, id->len + 1);
	f = e->element[1];
	if (f == NULL || f->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i + 1 < f->elements; i += 2) {
		k = str_el(f, i);
		v = str_el(f, i + 1);
		if (k == NULL || v == NULL)
			return;
		if (!strcmp(k->str, "node"))
			node = v->str;
		else if (!strcmp(k->str, "kind"))
			kind = v->str;
		else if (!strcmp(k->str, "key"))
			key = v->str;
		else if (!strcmp(k->str, "n"))
			num = v->str;
	}
	if (!node || !kind || !key || !num || !strcmp(node, s->node))
		return;
	n = strtoll(num, &end, 10);
	ms = strtoull(id->str, NULL, 10);
	if (*end != '\0' || end == num || n < 0 || n > N_MAX)
		return;
	age = now > ms ? now - ms : 0;
	at = evloop_now(s->loop);
	if (age > s->window || age > at)
		return;
	for (j = 0; j < s->non; j++)
		if (!strcmp(s->on[j].kind, kind)) {
			s->on[j].fn(s->on[j].arg, key, n, at - age);
			s->st.applied++;
			METRICS_COUNT(METRIC_EVENTS("applied"));
		}
}

static void sub_read(struct shstate *s);

/* XREAD's reply: nil after BLOCK_MS, or [[stream, [entry...]]] */
static void on_events(redisAsyncContext *ac, void *reply, void *priv)
{
	struct shconn *c = priv;
	const redisReply *r = reply, *st;
	size_t i;

	c->inflight = 0;
	if (r == NULL || c->ac == NULL || c->s->freeing)
		return;
	c->since = evloop_now(c->s->loop);
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("shared state: redis: %.200s", r->str);
		return;	/* the tick asks again a second later */
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    (st = r->element[0]) != NULL && st->type == REDIS_REPLY_ARRAY &&
	    st->elements == 2 && st->element[1] != NULL &&
	    st->element[1]->type == REDIS_REPLY_ARRAY)
		for (i = 0; i < st->element[1]->elements; i++)
			apply_entry(c->s, st->element[1]->element[i]);
	sub_read(c->s);
}

static void sub_read(struct shstate *s)
{
	struct shconn *c = &s->sub;
	char from[64];
	const char *argv[] = {"XREAD", "COUNT", "1000", "BLOCK", BLOCK_MS,
			      "STREAMS", STREAM, from};

	if (c->ac == NULL || !c->connected || c->inflight)
		return;
	if (s->last_id[0])
		snprintf(from, sizeof(from), "%s", s->last_id);
	else	/* first connection: replay the window */
		snprintf(from, sizeof(from), "%llu-0",
			 (unsigned long long)(wall_ms() - s->window));
	if (redisAsyncCommandArgv(c->ac, on_events, c, 8, argv, NULL) !=
	    REDIS_OK)
		return;
	c->inflight = 1;
	c->since = evloop_now(s->loop);
}

/* ---- connections ---- */

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct shconn *c = ac->data;

	if (status != REDIS_OK) {
		conn_gone(c, ac->errstr);	/* hiredis frees ac */
		return;
	}
	c->connected = 1;
	c->since = evloop_now(c->s->loop);
	if (c->s->pub.connected && c->s->sub.connected)
		set_up(c->s, 1);
	if (c->sub)
		sub_read(c->s);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct shconn *c = ac->data;

	conn_gone(c, status == REDIS_OK ? "closed" : ac->errstr);
}

static void conn_start(struct shconn *c)
{
	struct shstate *s = c->s;
	redisAsyncContext *ac;

	c->last_try = evloop_now(s->loop);
	ac = redisAsyncConnect(s->host, s->port);
	if (ac == NULL || ac->err) {
		snprintf(s->why, sizeof(s->why), "%s",
			 ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		set_up(s, 0);
		return;
	}
	c->ac = ac;
	c->fd = ac->c.fd;
	c->registered = 0;
	c->mask = 0;
	c->connected = 0;
	c->inflight = 0;
	c->since = c->last_try;
	ac->data = c;
	ac->ev.data = c;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

/* Drop a connection that went quiet; its pending callbacks see NULL. */
static void conn_drop(struct shconn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	if (ac == NULL)
		return;
	redisAsyncFree(ac);
	conn_gone(c, why);
}

static void conn_check(struct shconn *c, uint64_t now)
{
	if (c->ac == NULL) {
		if (now - c->last_try >= RETRY_MS)
			conn_start(c);
	} else if (!c->connected) {
		if (now - c->since > CONNECT_MS)
			conn_drop(c, "connect timed out");
	} else if (c->inflight &&
		   now - c->since > (c->sub ? READ_MS : REPLY_MS)) {
		conn_drop(c, "no reply within a second");
	} else if (c->sub && !c->inflight && now - c->since >= RETRY_MS) {
		sub_read(c->s);
	}
}

static void tick(void *arg)
{
	struct shstate *s = arg;
	uint64_t now = evloop_now(s->loop);

	conn_check(&s->pub, now);
	conn_check(&s->sub, now);
	s->tick = evloop_timer(s->loop, TICK_MS, tick, s);
}

struct shstate *shstate_new(struct evloop *l, const char *addr,
			    uint64_t window_ms, char *err, size_t errlen)
{
	const char *colon = strrchr(addr, ':');
	struct shstate *s;
	unsigned char rnd[8] = {0};
	size_t hl;
	char *end;
	long port;

	port = colon ? strtol(colon + 1, &end, 10) : 0;
	hl = colon ? (size_t)(colon - addr) : 0;
	if (colon && hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (colon == NULL || *end != '\0' || port < 1 || port > 65535 ||
	    hl == 0 || hl >= sizeof(s->host)) {
		snprintf(err, errlen, "redis_server: '%s' is not host:port",
			 addr);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(s->host, addr, hl);
	s->port = (int)port;
	s->loop = l;
	s->window = window_ms;
	s->up = -1;
	METRICS_DECLARE(METRIC_REDIS_DOWN);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memcpy(rnd, &(uint64_t){wall_ms() ^ (uint64_t)getpid()}, 8);
	snprintf(s->node, sizeof(s->node), "%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);
	s->pub.s = s->sub.s = s;
	s->sub.sub = 1;
	conn_start(&s->pub);
	conn_start(&s->sub);
	s->tick = evloop_timer(l, TICK_MS, tick, s);
	return s;
}

void shstate_free(struct shstate **sp)
{
	struct shstate *s = *sp;

	if (s == NULL)
		return;
	s->freeing = 1;
	if (s->tick)
		evloop_timer_cancel(s->loop, s->tick);
	conn_drop(&s->pub, "stopping");
	conn_drop(&s->sub, "stopping");
	free(s);
	*sp = NULL;
}

int shstate_on(struct shstate *s, const char *kind, shstate_fn fn,
	       void *arg)
{
	if (s->non == SHSTATE_KINDS || strlen(kind) >= sizeof(s->on[0].kind))
		return -1;
	snprintf(s->on[s->non].kind, sizeof(s->on[0].kind), "%s", kind);
	s->on[s->non].fn = fn;
	s->on[s->non].arg = arg;
	s->non++;
	return 0;
}

static void on_published(redisAsyncContext *ac, void *reply, void *priv)
{
	struct shconn *c = priv;
	const redisReply *r = reply;

	if (c->inflight)
		c->inflight--;
	if (r == NULL || c->s->freeing)
		return;
	c->since = evloop_now(c->s->loop);
	if (r->type == REDIS_REPLY_ERROR)
		log_warn("shared state: redis: %.200s", r->str);
}

void shstate_publish(struct shstate *s, const char *kind, const char *key,
		     long long n)
{
	struct shconn *c = &s->pub;
	char num[24];
	const char *argv[] = {"XADD", STREAM, "MAXLEN", "~", STREAM_MAX, "*",
			      "node", s->node, "kind", kind, "key", key, "n",
			      num};

	snprintf(num, sizeof(num), "%lld", n);
	if (c->ac == NULL || !c->connected || c->inflight >= INFLIGHT_MAX ||
	    strlen(key) > FIELD_MAX ||
	    redisAsyncCommandArgv(c->ac, on_published, c, 14, argv, NULL) !=
		    REDIS_OK) {
		s->st.dropped++;
		METRICS_COUNT(METRIC_EVENTS("dropped"));
		return;
	}
	if (c->inflight++ == 0)
		c->since = evloop_now(s->loop);
	s->st.published++;
	METRICS_COUNT(METRIC_EVENTS("published"));
}

struct eval_req {
	struct shconn *c;
	shstate_reply_fn fn;
	void *arg;
};

static void on_eval(redisAsyncContext *ac, void *reply, void *priv)
{
	struct eval_req *q = priv;
	struct shconn *c = q->c;
	const redisReply *r = reply;
	long long v[SHSTATE_INTS];
	size_t i, n = 0;
	int ok = 0;

	(void)ac;
	if (c->inflight)
		c->inflight--;
	if (r != NULL && !c->s->freeing)
		c->since = evloop_now(c->s->loop);
	if (r != NULL && r->type == REDIS_REPLY_ERROR)
		log_warn("shared state: redis: %.200s", r->str);
	if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
	    r->elements <= SHSTATE_INTS) {
		ok = 1;
		for (i = 0; i < r->elements; i++) {
			if (r->element[i] == NULL ||
			    r->element[i]->type != REDIS_REPLY_INTEGER) {
				ok = 0;
				break;
			}
			v[n++] = r->element[i]->integer;
		}
	}
	q->fn(q->arg, ok ? v : NULL, ok ? n : 0);
	free(q);
}

#define EVAL_ARGS 8

int shstate_eval(struct shstate *s, const char *script, size_t nkeys,
		 size_t argc, const char *const *argv, const size_t *len,
		 shstate_reply_fn fn, void *arg)
{
	struct shconn *c = &s->pub;
	const char *a[EVAL_ARGS + 3];
	size_t l[EVAL_ARGS + 3], i;
	struct eval_req *q;
	char nk[24];

	if (c->ac == NULL || !c->connected || c->inflight >= INFLIGHT_MAX ||
	    argc > EVAL_ARGS || nkeys > argc)
		return -1;
	q = malloc(sizeof(*q));
	if (q == NULL)
		return -1;
	q->c = c;
	q->fn = fn;
	q->arg = arg;
	snprintf(nk, sizeof(nk), "%zu", nkeys);
	a[0] = "EVAL";
	a[1] = script;
	a[2] = nk;
	for (i = 0; i < 3; i++)
		l[i] = strlen(a[i]);
	for (i = 0; i < argc; i++) {
		a[i + 3] = argv[i];
		l[i + 3] = len[i];
	}
	if (redisAsyncCommandArgv(c->ac, on_eval, q, (int)argc + 3, a, l) !=
	    REDIS_OK) {
		free(q);
		return -1;
	}
	if (c->inflight++ == 0)
		c->since = evloop_now(s->loop);
	return 0;
}

/* a record: decimal integers joined by ',' (checked again by on_eval) */
static const char get_script[] =
	"local v = redis.call('GET', KEYS[1])\n"
	"local r = {}\n"
	"if not v then return r end\n"
	"for x in string.gmatch(v, '[^,]+') do r[#r + 1] = tonumber(x) end\n"
	"return r\n";
static const char put_script[] =
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"return {}\n";

static void put_done(void *arg, const long long *v, size_t n)
{
	(void)arg;
	(void)v;
	(void)n;
}

void shstate_put(struct shstate *s, const char *key, const long long *v,
		 size_t n, uint64_t ttl_ms)
{
	char val[SHSTATE_INTS * 24], ttl[24];
	const char *argv[3] = {key, val, ttl};
	size_t len[3], i, o = 0;

	val[0] = '\0';
	for (i = 0; i < n && i < SHSTATE_INTS; i++)
		o += (size_t)snprintf(val + o, sizeof(val) - o, "%s%lld",
				      i ? "," : "", v[i]);
	snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)ttl_ms);
	for (i = 0; i < 3; i++)
		len[i] = strlen(argv[i]);
	/* a cache entry that could not be stored is only a later miss */
	(void)shstate_eval(s, put_script, 1, 3, argv, len, put_done, NULL);
}

int shstate_get(struct shstate *s, const char *key, shstate_reply_fn fn,
		void *arg)
{
	size_t len = strlen(key);

	return shstate_eval(s, get_script, 1, 1, &key, &len, fn, arg);
}

void shstate_stats(const struct shstate *s, struct shstate_stats *out)
{
	*out = s->st;
	out->up = s->up == 1;
}
