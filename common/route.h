/*
 * NAME
 *	route - next-hop lists: ordered (active-backup) or spread
 *	(load-balanced), with down-marking and routes by recipient domain
 * DESCRIPTION
 *	A hop list is "lmtp:10.0.0.5:2424, lmtp:10.0.0.6:2424" (smtp: or
 *	lmtp:, numeric host, port), or "mx": deliver to the mail exchangers
 *	of the recipient's domain (looked up by the forwarder). A route table maps recipient domains to
 *	hop lists, with a default list for every other domain:
 *	  domain_routes = example.test = lmtp:127.0.0.1:2424;
 *	                  .example.org = smtp:10.0.0.9:25
 *	(a leading dot matches subdomains). A hop that fails is marked down
 *	and skipped until down_until (the forwarder probes hops of a list
 *	and marks them up when one answers). Mail layer.
 */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stddef.h>
#include <time.h>

struct hop {
	int lmtp;		/* LMTP (else SMTP) */
	char hostport[80];	/* numeric host:port */
	time_t down_until;	/* skipped until then */
	unsigned active;	/* open connections (the forwarder's count) */
	int tls_policy;		/* enum tls_policy for connections to it */
	char name[256];		/* name to verify (TLS verify), or "" */
	int mx;			/* found through DNS: may be ourselves */
	void *priv;		/* the forwarder's per-hop data */
};

struct route {
	char *domain;		/* NULL for the default route */
	struct hop *hops;
	size_t nhops;
	int spread;		/* load-balance instead of active-backup */
	int dns;		/* "mx": hops come from the recipient
				 * domain's MX records */
	size_t next;		/* spread: where the next pick starts */
};

struct route_table {
	struct route *routes;	/* the default route is routes[0] */
	size_t n;
};

/* Parse the default hop list, the optional domain routes and the mode
 * ("ordered" or "spread"). Returns 0, or -1 with a reason in err. */
int route_table_init(struct route_table *t, const char *next_hop,
		     const char *domain_routes, const char *mode, char *err,
		     size_t errlen);
void route_table_free(struct route_table *t);

/* The route for a recipient address (its domain after the last '@'). */
struct route *route_for(struct route_table *t, const char *rcpt);

/* Fill order[] with the indexes of the hops to try now, best first:
 * hops that are up, in list order (ordered) or rotated (spread); hops
 * that are down are left out. Returns how many (0: every hop is down). */
size_t route_pick(struct route *r, time_t now, size_t *order, size_t max);

/* Mark a hop down until now + seconds. */
void route_hop_down(struct hop *h, time_t now, long long seconds);

#endif
