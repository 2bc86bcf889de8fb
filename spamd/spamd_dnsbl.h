/*
 * NAME
 *	spamd_dnsbl - DNS blocklist lookups of the client address
 * DESCRIPTION
 *	Private header of stage D (see spamd_dnsbl.c). Needs an event loop
 *	with a dns.h resolver; the milter runs a small loop of its own.
 */
#ifndef SLUICE_SPAMD_DNSBL_H
#define SLUICE_SPAMD_DNSBL_H

#include <stddef.h>

#include "dnsbl.h"
#include "spamd.h"

struct dns;
struct shstate;
struct spamd_dnsbl;

#define DNSBL_MAX_ZONES 8
#define DNSBL_DEFAULT_SCORE 3.0

/* The zones that listed an address, as tests with their scores. */
struct dnsbl_result {
	size_t n;
	struct spamd_hit hit[DNSBL_MAX_ZONES];
};

typedef void (*dnsbl_cb)(void *arg, const struct dnsbl_result *r);

/* Parse dnsbl_zones ("zone[:score], ..."); NULL with a reason in err. */
struct spamd_dnsbl *spamd_dnsbl_new(const char *zones, char *err,
				    size_t errlen);
void spamd_dnsbl_free(struct spamd_dnsbl *bl);

/* Number of zones. */
size_t spamd_dnsbl_count(const struct spamd_dnsbl *bl);

/* Start the lookups of addr in every zone. Returns 0 when the answer is
 * known at once (no zones, an address not looked up, loopback, the
 * cache): it is in *now and cb will not run. Returns 1 when lookups
 * run: cb(arg, result) runs once from the loop when all answered (at
 * the latest from dns_free(), after shstate_free()). sh (NULL: none)
 * shares the verdicts with the other servers of a pair, on dns's loop. */
int spamd_dnsbl_lookup(struct spamd_dnsbl *bl, struct dns *dns,
		       struct shstate *sh, const char *addr,
		       struct dnsbl_result *now, dnsbl_cb cb, void *arg);

#endif
