/*
 * NAME
 *	spamd_dnsbl - DNS blocklist lookups of the client address
 * DESCRIPTION
 *	The address mx saw (the envelope's client_addr claim) is reversed,
 *	octet by octet for IPv4 (RFC 5782 2.1), nibble by nibble for IPv6
 *	(2.4), and looked up as an A record under every zone at once,
 *	through dns.h in the caller's event loop. What an answer means is
 *	common/dnsbl.h's (shared with mx): 127.0.0.0/8 listed, except the
 *	lists' error codes in 127.255.255.0/24, logged. Anything
 *	else, timeouts and errors included, means not listed (a blocklist
 *	that is down must not stop mail). Results are
 *	kept in a small direct-mapped cache for a few minutes. The cache has
 *	a lock: the milter's threads share it. Answers come from the
 *	network and are only compared with 127.0.0.0/8.
 *	With redis_server (shstate.h), the servers of a pair share their
 *	verdicts: one not in the local cache is asked of Redis first (the
 *	mask of the zones that listed the address, under a key naming the
 *	zones and the address), and one that DNS gave is written there for
 *	the local cache's lifetime. Redis down or slow (shstate answers
 *	within a second, or at once when not connected): DNS, as alone.
 *	Redis's answer is range-checked before it is used.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dns.h"
#include "dnsbl.h"
#include "log.h"
#include "shstate.h"
#include "spamd.h"
#include "spamd_dnsbl.h"

#define CACHE_SLOTS 1024
#define CACHE_TTL 300		/* seconds */

struct zone {
	char name[256];
	char test[48];		/* RCVD_IN_ZONE */
	double score;
};

struct cache_ent {
	char addr[64];
	time_t expires;
	unsigned listed;	/* bit i: zone i */
};

struct spamd_dnsbl {
	struct zone zones[DNSBL_MAX_ZONES];
	size_t nzones;
	pthread_mutex_t mu;
	struct cache_ent cache[CACHE_SLOTS];
};

struct lookup {
	struct spamd_dnsbl *bl;
	struct dns *dns;
	struct shstate *sh;
	char key[128];		/* in Redis, "" when not shared */
	char rev[80];
	char addr[64];
	size_t pending;
	unsigned listed;
	dnsbl_cb cb;
	void *arg;
};

struct zone_req {
	struct lookup *lk;
	size_t zone;
};

struct spamd_dnsbl *spamd_dnsbl_new(const char *zones, char *err,
				    size_t errlen)
{
	struct spamd_dnsbl *bl = calloc(1, sizeof(*bl));
	char **list = config_list(zones), *colon, *end;
	struct zone *z;
	size_t i, j;

	if (bl == NULL || list == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; list[i]; i++) {
		if (bl->nzones >= DNSBL_MAX_ZONES) {
			snprintf(err, errlen, "dnsbl_zones: more than %d zones",
				 DNSBL_MAX_ZONES);
			goto fail;
		}
		z = &bl->zones[bl->nzones++];
		z->score = DNSBL_DEFAULT_SCORE;
		if ((colon = strchr(list[i], ':')) != NULL) {
			*colon = '\0';
			z->score = strtod(colon + 1, &end);
			if (end == colon + 1 || *end != '\0' || z->score < -100
			    || z->score > 100) {
				snprintf(err, errlen, "dnsbl_zones: bad score "
					 "'%s'", colon + 1);
				goto fail;
			}
		}
		if (*list[i] == '\0' || strlen(list[i]) > 200 ||
		    strspn(list[i], "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
		    strlen(list[i])) {
			snprintf(err, errlen, "dnsbl_zones: bad zone '%s'",
				 list[i]);
			goto fail;
		}
		snprintf(z->name, sizeof(z->name), "%s", list[i]);
		/* RCVD_IN_ZONE, cut to fit: a test name */
		snprintf(z->test, sizeof(z->test), "RCVD_IN_%.39s", list[i]);
		for (j = 8; z->test[j]; j++)
			z->test[j] = isalnum((unsigned char)z->test[j]) ?
				     (char)toupper((unsigned char)z->test[j]) :
				     '_';
	}
	config_list_free(list);
	pthread_mutex_init(&bl->mu, NULL);
	return bl;
fail:
	config_list_free(list);
	free(bl);
	return NULL;
}

void spamd_dnsbl_free(struct spamd_dnsbl *bl)
{
	if (bl == NULL)
		return;
	pthread_mutex_destroy(&bl->mu);
	free(bl);
}

size_t spamd_dnsbl_count(const struct spamd_dnsbl *bl)
{
	return bl ? bl->nzones : 0;
}

static size_t slot_of(const char *addr)
{
	return (size_t)(spamd_token_hash(addr, strlen(addr)) % CACHE_SLOTS);
}

static void result(const struct spamd_dnsbl *bl, unsigned listed,
		   struct dnsbl_result *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < bl->nzones; i++)
		if (listed & (1u << i)) {
			snprintf(r->hit[r->n].name, sizeof(r->hit[0].name),
				 "%s", bl->zones[i].test);
			r->hit[r->n++].score = bl->zones[i].score;
		}
}

static void finish(struct lookup *lk);

static void zone_done(void *arg, const struct dns_addr_result *res)
{
	struct zone_req *zr = arg;
	struct lookup *lk = zr->lk;
	struct spamd_dnsbl *bl = lk->bl;
	size_t i;

	if (res->status == DNS_OK)
		for (i = 0; i < res->n; i++) {
			int a = dnsbl_answer(res->addr[i]);

			if (a > 0)
				lk->listed |= 1u << zr->zone;
			else if (a < 0)
				log_warn("dnsbl: %s answered %s (an error "
					 "code, not a listing) for %s",
					 bl->zones[zr->zone].name,
					 res->addr[i], lk->addr);
		}
	free(zr);
	if (--lk->pending > 0)
		return;
	if (lk->sh != NULL && lk->key[0] != '\0') {
		long long v = (long long)lk->listed;

		shstate_put(lk->sh, lk->key, &v, 1, CACHE_TTL * 1000);
	}
	finish(lk);
}

/* Ask every zone for lk's address. */
static void ask_dns(struct lookup *lk)
{
	struct spamd_dnsbl *bl = lk->bl;
	struct zone_req *zr;
	char name[400];
	size_t i;

	lk->pending = bl->nzones;
	for (i = 0; i < bl->nzones; i++) {
		zr = calloc(1, sizeof(*zr));
		if (zr == NULL)
			log_fatal("out of memory");
		zr->lk = lk;
		zr->zone = i;
		/* the final dot: no search domains */
		snprintf(name, sizeof(name), "%s.%s.", lk->rev,
			 bl->zones[i].name);
		dns_addr(lk->dns, name, zone_done, zr);
	}
}

/* Redis's answer: another server's verdict, or DNS. */
static void shared_answer(void *arg, const long long *v, size_t n)
{
	struct lookup *lk = arg;

	if (v != NULL && n == 1 && v[0] >= 0 &&
	    v[0] < (1LL << lk->bl->nzones)) {
		lk->listed = (unsigned)v[0];
		finish(lk);
		return;
	}
	ask_dns(lk);
}

/* The Redis key of addr's verdict: the zones hashed in, in order (bit i
 * of the value is zone i), so only servers with the same dnsbl_zones
 * share. Not mx's keys: mx keeps a weighted score, we keep the mask. */
static void shared_key(const struct spamd_dnsbl *bl, const char *addr,
		       char *key, size_t n)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 */
	const char *p;
	size_t i;

	for (i = 0; i < bl->nzones; i++) {
		for (p = bl->zones[i].name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ (unsigned char)',') * 1099511628211ULL;
	}
	snprintf(key, n, "sluice:spamd-dnsbl:%016llx:%s",
		 (unsigned long long)h, addr);
}

/* The verdict is known: into the local cache, to the caller. */
static void finish(struct lookup *lk)
{
	struct spamd_dnsbl *bl = lk->bl;
	struct cache_ent *c;
	struct dnsbl_result r;

	pthread_mutex_lock(&bl->mu);
	c = &bl->cache[slot_of(lk->addr)];
	snprintf(c->addr, sizeof(c->addr), "%s", lk->addr);
	c->listed = lk->listed;
	c->expires = time(NULL) + CACHE_TTL;
	pthread_mutex_unlock(&bl->mu);
	result(bl, lk->listed, &r);
	lk->cb(lk->arg, &r);
	free(lk);
}

int spamd_dnsbl_lookup(struct spamd_dnsbl *bl, struct dns *dns,
		       struct shstate *sh, const char *addr,
		       struct dnsbl_result *now, dnsbl_cb cb, void *arg)
{
	struct cache_ent *c;
	struct lookup *lk;
	char rev[80];

	memset(now, 0, sizeof(*now));
	if (bl == NULL || bl->nzones == 0 || dnsbl_skip(addr) ||
	    dnsbl_reverse(addr, rev, sizeof(rev)) < 0)
		return 0;
	pthread_mutex_lock(&bl->mu);
	c = &bl->cache[slot_of(addr)];
	if (strcmp(c->addr, addr) == 0 && c->expires > time(NULL)) {
		result(bl, c->listed, now);
		pthread_mutex_unlock(&bl->mu);
		return 0;
	}
	pthread_mutex_unlock(&bl->mu);
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return 0;	/* not listed, as for any failure */
	lk->bl = bl;
	lk->dns = dns;
	lk->sh = sh;
	snprintf(lk->addr, sizeof(lk->addr), "%s", addr);
	snprintf(lk->rev, sizeof(lk->rev), "%s", rev);
	lk->cb = cb;
	lk->arg = arg;
	if (sh != NULL) {
		shared_key(bl, addr, lk->key, sizeof(lk->key));
		if (shstate_get(sh, lk->key, shared_answer, lk) == 0)
			return 1;
	}
	ask_dns(lk);
	return 1;
}
