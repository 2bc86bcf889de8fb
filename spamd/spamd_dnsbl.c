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
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "dns.h"
#include "dnsbl.h"
#include "log.h"
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

static void zone_done(void *arg, const struct dns_addr_result *res)
{
	struct zone_req *zr = arg;
	struct lookup *lk = zr->lk;
	struct spamd_dnsbl *bl = lk->bl;
	struct cache_ent *c;
	struct dnsbl_result r;
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
		       const char *addr, struct dnsbl_result *now,
		       dnsbl_cb cb, void *arg)
{
	struct cache_ent *c;
	struct lookup *lk;
	struct zone_req *zr;
	char rev[80], name[400];
	size_t i;

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
	snprintf(lk->addr, sizeof(lk->addr), "%s", addr);
	lk->cb = cb;
	lk->arg = arg;
	lk->pending = bl->nzones;
	for (i = 0; i < bl->nzones; i++) {
		zr = calloc(1, sizeof(*zr));
		if (zr == NULL)
			log_fatal("out of memory");
		zr->lk = lk;
		zr->zone = i;
		/* the final dot: no search domains */
		snprintf(name, sizeof(name), "%s.%s.", rev, bl->zones[i].name);
		dns_addr(dns, name, zone_done, zr);
	}
	return 1;
}
