/*
 * NAME
 *	mx_dnsbl - DNS block and allow lists at connect, with weights
 * DESCRIPTION
 *	dnsbl_sites is "zone*weight, ..." (weight 1 when left out; a
 *	negative weight makes an allowlist such as a DNSWL). At connect the
 *	client address is looked up in every zone at once (common/dnsbl.h
 *	names the query, dns.h asks) while the greeting is held (the greet
 *	pause, if any, runs meanwhile). Each zone that lists the client
 *	adds its weight once. A sum of at least dnsbl_threshold refuses the
 *	session (554 5.7.1); a sum of at most dnsbl_allow_threshold makes
 *	the client allowed (no greylisting, no HELO rule, no protocol
 *	tests). Verdicts are cached per address for MX_DNSBL_TTL seconds
 *	(a direct-mapped table), so a client that comes back at once waits
 *	for no DNS. With redis_server the verdicts are also kept in Redis
 *	for the same time (key: the address and a hash of dnsbl_sites, so
 *	servers configured alike share them; value: the score and the
 *	listing zones as a bit mask), and a verdict not cached here is
 *	asked of Redis before DNS: the other server of the pair asked DNS
 *	already. Redis down or silent: DNS, as without it. A verdict read
 *	back is checked (the mask names configured zones only). An answer
 *	in 127.255.255.0/24 (a list's error code) or
 *	outside 127.0.0.0/8, and a failed lookup, are lookup errors:
 *	logged, counted, no weight (a list that is down must not stop
 *	mail). A session that ends first lets go of its lookups. Faces the
 *	network: the answers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns.h"
#include "dnsbl.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "mx.h"
#include "shstate.h"

#define MX_DNSBL_SLOTS 1024
#define MX_DNSBL_TTL 300
#define MX_DNSBL_SHARED_ZONES 62	/* zones a shared mask can name */
#define METRIC_DNSBL_SHARED "sluice_dnsbl_shared_total", NULL,             \
	"DNS list verdicts taken from Redis (the other server's lookup)"

struct mx_dnsbl_cached {
	char addr[64];
	uint64_t expires;	/* evloop ms */
	long long score;
	char listed[300];	/* as in struct mx_dnsbl */
};

struct mx_zone {
	char name[256];
	long long weight;
};

struct mx_dnsbl {
	struct smtp_session *s;	/* NULL once the session went */
	struct mx *mx;
	size_t pending;
	long long score;
	uint64_t mask;		/* the zones that listed, as bits */
	char addr[64];
	char listed[300];	/* the zones that listed, for the log */
	char key[128];		/* in Redis, "" when not shared */
};

struct zone_req {
	struct mx_dnsbl *lk;
	size_t zone;
};

void mx_dnsbl_init(struct mx *mx)
{
	const struct mx_screen_config *c = &mx->cfg->screen;
	struct mx_screen *x = &mx->screen;
	char **list = config_list(c->dnsbl_sites), *star, *end;
	struct mx_zone *z;
	size_t i;

	if (list == NULL)
		log_fatal("out of memory");
	for (i = 0; list[i]; i++)
		;
	x->zones = calloc(i ? i : 1, sizeof(*x->zones));
	x->dnsbl_cache = i ? calloc(MX_DNSBL_SLOTS, sizeof(*x->dnsbl_cache))
			   : NULL;
	if (x->zones == NULL || (i && x->dnsbl_cache == NULL))
		log_fatal("out of memory");
	for (i = 0; list[i]; i++) {
		z = &x->zones[x->nzones++];
		z->weight = 1;
		if ((star = strchr(list[i], '*')) != NULL) {
			*star = '\0';
			z->weight = strtoll(star + 1, &end, 10);
			if (end == star + 1 || *end != '\0' ||
			    z->weight < -1000 || z->weight > 1000)
				log_fatal("dnsbl_sites: bad weight '%s'",
					  star + 1);
		}
		if (*list[i] == '\0' || strlen(list[i]) > 200 ||
		    strspn(list[i], "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
		    strlen(list[i]))
			log_fatal("dnsbl_sites: bad zone '%s'", list[i]);
		snprintf(z->name, sizeof(z->name), "%s", list[i]);
	}
	config_list_free(list);
}

/* The Redis key of addr's verdict: the zones and weights hashed in, so
 * only servers with the same dnsbl_sites share. */
static void shared_key(const struct mx_screen *x, const char *addr,
		       char *key, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
	char w[32];
	const char *p;
	size_t i;

	for (i = 0; i < x->nzones; i++) {
		snprintf(w, sizeof(w), "*%lld,", x->zones[i].weight);
		for (p = x->zones[i].name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		for (p = w; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	}
	snprintf(key, n, "sluice:dnsbl:%016llx:%s", (unsigned long long)h,
		 addr);
}

void mx_dnsbl_open(struct mx *mx)
{
	char err[512];

	if (mx->screen.nzones == 0)
		return;
	/* one resolver for the DNS lists and sender authentication (main.c
	 * makes it when SPF, DKIM or DMARC is on, and frees it) */
	if (mx->dns == NULL)
		mx->dns = dns_new(mx->loop, mx->cfg->smtp.dns_servers,
				  (unsigned)mx->cfg->smtp.dns_timeout * 1000,
				  err, sizeof(err));
	if (mx->dns == NULL)
		log_fatal("%s", err);
	mx->screen.dns = mx->dns;
}

void mx_dnsbl_free(struct mx *mx)
{
	mx->screen.dns = NULL;	/* mx->dns: main.c frees it */
	free(mx->screen.zones);
	mx->screen.zones = NULL;
	free(mx->screen.dnsbl_cache);
	mx->screen.dnsbl_cache = NULL;
	mx->screen.nzones = 0;
}

static struct mx_dnsbl_cached *cache_slot(struct mx_screen *x,
					  const char *addr)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const unsigned char *p;

	for (p = (const unsigned char *)addr; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &x->dnsbl_cache[h % MX_DNSBL_SLOTS];
}

/* The verdict of score for s: -1 with r filled to refuse, else 0 (and
 * the client may have become allowed). */
static int judge(struct smtp_session *s, long long score, const char *listed,
		 struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;

	ss->dnsbl_score = score;
	if (score >= mx->cfg->screen.dnsbl_threshold) {
		mx_counters.dnsbl_rejected++;
		return mx_reject(s, "CONNECT", NULL, r, 554, "5.7.1", "Service "
				 "unavailable; client [%s] blocked using %s",
				 s->client_addr, listed);
	}
	if (score <= mx->cfg->screen.dnsbl_allow_threshold) {
		mx_counters.dnswl_allowed++;
		log_info("%s: [%s] allowed by DNS lists (score %lld: %s)",
			 s->id, s->client_addr, score, listed);
		ss->allowed = 1;
		s->greet_pause_ms = 0; /* at connect, from the cache */
	}
	return 0;
}

/* Every zone answered: remember, then judge. */
static void verdict(struct mx_dnsbl *lk)
{
	struct smtp_session *s = lk->s;
	struct mx *mx;
	struct mx_dnsbl_cached *c;
	struct smtp_reply r;

	if (lk->key[0] && lk->mx->screen.sh) {
		long long v[2] = {lk->score, (long long)lk->mask};

		shstate_put(lk->mx->screen.sh, lk->key, v, 2,
			    MX_DNSBL_TTL * 1000);
	}
	if (s == NULL)
		return;
	mx = mx_screen_mx(s);
	((struct mx_screen_sess *)s->screen)->dnsbl = NULL;
	c = cache_slot(&mx->screen, lk->addr);
	snprintf(c->addr, sizeof(c->addr), "%s", lk->addr);
	snprintf(c->listed, sizeof(c->listed), "%s", lk->listed);
	c->score = lk->score;
	c->expires = evloop_now(mx->loop) + MX_DNSBL_TTL * 1000;
	smtp_session_greet(s, judge(s, lk->score, lk->listed, &r) < 0 ? &r
			   : NULL);
}

static void zone_done(void *arg, const struct dns_addr_result *res)
{
	struct zone_req *zr = arg;
	struct mx_dnsbl *lk = zr->lk;
	const struct mx_zone *z = NULL;
	int listed = 0, a;
	size_t i, n;

	if (lk->s != NULL)
		z = &mx_screen_mx(lk->s)->screen.zones[zr->zone];
	for (i = 0; z && res->status == DNS_OK && i < res->n; i++) {
		a = dnsbl_answer(res->addr[i]);
		if (a > 0) {
			listed = 1;
			continue;
		}
		mx_counters.dnsbl_errors++;
		log_warn("dnsbl: %s answered %s for [%s]: %s, taken as a "
			 "lookup error", z->name, res->addr[i], lk->addr,
			 a < 0 ? "the list's error code" :
			 "not in 127.0.0.0/8");
	}
	if (z && res->status == DNS_TEMPFAIL) {
		mx_counters.dnsbl_errors++;
		log_warn("dnsbl: lookup of [%s] in %s failed", lk->addr,
			 z->name);
	}
	if (z && listed) {
		lk->score += z->weight;
		if (zr->zone < 64)
			lk->mask |= 1ULL << zr->zone;
		n = strlen(lk->listed);
		snprintf(lk->listed + n, sizeof(lk->listed) - n, "%s%s",
			 n ? ", " : "", z->name);
	}
	free(zr);
	if (--lk->pending > 0)
		return;
	verdict(lk);
	free(lk);
}

/* Ask every zone for lk's address (reversed: rev). */
static void ask_dns(struct mx_dnsbl *lk, const char *rev)
{
	struct mx_screen *x = &lk->mx->screen;
	struct zone_req *zr;
	char name[400];
	size_t i;

	lk->pending = x->nzones;
	for (i = 0; i < x->nzones; i++) {
		if ((zr = calloc(1, sizeof(*zr))) == NULL)
			log_fatal("out of memory");
		zr->lk = lk;
		zr->zone = i;
		/* the final dot: no search domains */
		snprintf(name, sizeof(name), "%s.%s.", rev, x->zones[i].name);
		dns_addr(x->dns, name, zone_done, zr);
	}
}

/* Redis's answer: the other server's verdict, or DNS. */
static void shared_answer(void *arg, const long long *v, size_t n)
{
	struct mx_dnsbl *lk = arg;
	struct mx_screen *x = &lk->mx->screen;
	char rev[80];
	size_t i, len;

	if (lk->s == NULL) {
		free(lk);	/* the session went first */
		return;
	}
	if (v != NULL && n == 2 && v[1] >= 0 &&
	    (uint64_t)v[1] < (1ULL << x->nzones) && v[0] >= -1000000 &&
	    v[0] <= 1000000) {
		METRICS_COUNT(METRIC_DNSBL_SHARED);
		lk->score = v[0];
		lk->mask = (uint64_t)v[1];
		for (i = 0; i < x->nzones; i++) {
			if (!(lk->mask & (1ULL << i)))
				continue;
			len = strlen(lk->listed);
			snprintf(lk->listed + len, sizeof(lk->listed) - len,
				 "%s%s", len ? ", " : "", x->zones[i].name);
		}
		lk->key[0] = '\0';	/* in Redis already */
		verdict(lk);
		free(lk);
		return;
	}
	if (dnsbl_reverse(lk->addr, rev, sizeof(rev)) < 0) {
		verdict(lk);
		free(lk);
		return;
	}
	ask_dns(lk, rev);
}

int mx_dnsbl_start(struct smtp_session *s, struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen *x = &mx->screen;
	struct mx_screen_sess *ss = s->screen;
	struct mx_dnsbl_cached *c;
	struct mx_dnsbl *lk;
	char rev[80];

	if (x->nzones == 0 || x->dns == NULL ||
	    (dnsbl_skip(s->client_addr) && !mx->cfg->screen.dnsbl_loopback) ||
	    dnsbl_reverse(s->client_addr, rev, sizeof(rev)) < 0)
		return 0;
	c = cache_slot(x, s->client_addr);
	if (strcmp(c->addr, s->client_addr) == 0 &&
	    c->expires > evloop_now(mx->loop))
		return judge(s, c->score, c->listed, r);
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		return 0;
	lk->s = s;
	lk->mx = mx;
	snprintf(lk->addr, sizeof(lk->addr), "%s", s->client_addr);
	ss->dnsbl = lk;
	if (x->sh && x->nzones <= MX_DNSBL_SHARED_ZONES) {
		shared_key(x, lk->addr, lk->key, sizeof(lk->key));
		if (shstate_get(x->sh, lk->key, shared_answer, lk) == 0)
			return 1;
	}
	ask_dns(lk, rev);
	return 1;
}

void mx_dnsbl_detach(struct smtp_session *s)
{
	struct mx_screen_sess *ss = s->screen;

	if (ss->dnsbl != NULL)
		ss->dnsbl->s = NULL;
	ss->dnsbl = NULL;
}
