/*
 * NAME
 *	forward_dns - next hops from DNS: MX records, per-domain TLS policy
 * DESCRIPTION
 *	For routes written "mx": the recipient domain's MX records, by
 *	preference and in random order among equal preferences (RFC 5321
 *	5.1), each host's addresses in turn; no MX means the domain itself
 *	(implicit MX); a null MX (RFC 7505) and a domain that does not exist
 *	fail at once; a temporary DNS failure defers, never bounces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "forward_int.h"
#include "log.h"

/* The hop for a resolved address (DNS routes): kept for the forwarder's
 * lifetime so connections are reused and down-marks remembered. */
static struct hop *hop_get(struct forwarder *f, const char *addr,
			   int policy, const char *name)
{
	struct dyn_hop *d;
	char hp[80];

	if (policy != TLS_POLICY_VERIFY)
		name = "";
	snprintf(hp, sizeof(hp), strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld",
		 addr, f->cfg.smtp_port);
	for (d = f->dyn; d; d = d->next)
		if (strcmp(d->hop.hostport, hp) == 0 &&
		    d->hop.tls_policy == policy &&
		    strcmp(d->hop.name, name) == 0)
			return &d->hop;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		log_fatal("out of memory");
	snprintf(d->hop.hostport, sizeof(d->hop.hostport), "%s", hp);
	snprintf(d->hop.name, sizeof(d->hop.name), "%s", name);
	d->hop.tls_policy = policy;
	d->next = f->dyn;
	f->dyn = d;
	return &d->hop;
}

/* The TLS policy for a recipient domain: the map's, or the default. */
static int policy_for(struct forwarder *f, const char *domain)
{
	size_t i;

	for (i = 0; i < f->npolicy; i++)
		if (strcasecmp(f->policy[i].domain, domain) == 0)
			return f->policy[i].policy;
	return f->cfg.tls_policy;
}

static void fail_job(struct job *j, int code, const char *ecode,
		     const char *why)
{
	struct smtp_reply r;
	size_t k;

	smtp_reply_set(&r, code, ecode, "%s", why);
	for (k = 0; k < j->n; k++)
		fwd_rcpt_result(j, k, &r, "none", 0);
	fwd_job_free(j);
}

static void resolve_next(struct job *j);

static void addr_cb(void *arg, const struct dns_addr_result *res)
{
	struct job *j = arg;
	struct forwarder *f = j->fm->f;
	size_t i, k;
	struct hop *h;

	for (i = 0; i < res->n && j->ncand < FWD_MAX_HOPS; i++) {
		h = hop_get(f, res->addr[i], policy_for(f, j->domain),
			    j->mx->mx[j->mx_i].host);
		for (k = 0; k < j->ncand && j->cand[k] != h; k++)
			;
		if (k == j->ncand)
			j->cand[j->ncand++] = h;
	}
	if (res->status == DNS_TEMPFAIL)
		snprintf(j->last_error, sizeof(j->last_error), "temporary "
			 "failure looking up %s", j->mx->mx[j->mx_i].host);
	j->mx_i++;
	resolve_next(j);
}

/* Look up the addresses of the MX hosts one after the other. */
static void resolve_next(struct job *j)
{
	struct forwarder *f = j->fm->f;

	if (j->mx_i < j->mx->n) {
		dns_addr(f->dns, j->mx->mx[j->mx_i].host, addr_cb, j);
		return;
	}
	free(j->mx);
	j->mx = NULL;
	if (j->ncand == 0) {
		fwd_job_defer(j, j->last_error[0] ? j->last_error :
			  "no address for any mail exchanger");
		return;
	}
	fwd_dispatch(j);
}

static void mx_cb(void *arg, const struct dns_mx_result *res)
{
	struct job *j = arg;
	size_t i, k, n;
	char why[400];

	switch (res->status) {
	case DNS_NXDOMAIN:
		snprintf(why, sizeof(why), "Host or domain name not found: "
			 "%s", j->domain);
		fail_job(j, 550, "5.1.2", why);
		return;
	case DNS_TEMPFAIL:
		snprintf(why, sizeof(why), "DNS lookup of the MX of %s failed "
			 "temporarily", j->domain);
		fwd_job_defer(j, why);
		return;
	default:
		break;
	}
	j->mx = calloc(1, sizeof(*j->mx));
	if (j->mx == NULL)
		log_fatal("out of memory");
	if (res->status == DNS_NODATA) {
		/* RFC 5321 5.1: the domain itself is the implicit MX */
		j->mx->n = 1;
		snprintf(j->mx->mx[0].host, sizeof(j->mx->mx[0].host), "%s",
			 j->domain);
	} else {
		*j->mx = *res;
		for (i = 0; i < j->mx->n; i++)
			if (j->mx->mx[i].host[0] == '\0' ||
			    strcmp(j->mx->mx[i].host, ".") == 0) {
				free(j->mx);
				j->mx = NULL;
				snprintf(why, sizeof(why), "Domain %s does not "
					 "accept mail (null MX)", j->domain);
				fail_job(j, 556, "5.1.10", why);
				return;
			}
		/* random order among equal preferences (RFC 5321 5.1) */
		for (i = 0; i < j->mx->n; i = k) {
			for (k = i; k < j->mx->n &&
			     j->mx->mx[k].pref == j->mx->mx[i].pref; k++)
				;
			for (n = k - i; n > 1; n--) {
				size_t r = (size_t)random() % n;
				struct dns_mx t = j->mx->mx[i + n - 1];

				j->mx->mx[i + n - 1] = j->mx->mx[i + r];
				j->mx->mx[i + r] = t;
			}
		}
	}
	j->mx_i = 0;
	resolve_next(j);
}

void fwd_resolve(struct job *j)
{
	dns_mx(j->fm->f->dns, j->domain, mx_cb, j);
}

/* tls_policy_map = "domain = policy, domain = policy"; checked at
 * start-up, so a typo stops the daemon. */
void fwd_parse_policy_map(struct forwarder *f)
{
	char **items, *eq;
	size_t n = 0, i;
	enum tls_policy p;

	if (f->cfg.tls_policy_map == NULL || !*f->cfg.tls_policy_map)
		return;
	items = config_list(f->cfg.tls_policy_map);
	if (items == NULL)
		log_fatal("out of memory");
	/* config_list splits on spaces too: glue "a", "=", "b" back */
	for (i = 0; items[i]; i++)
		n++;
	f->policy = calloc(n + 1, sizeof(*f->policy));
	if (f->policy == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++) {
		const char *dom = items[i], *pol;

		eq = strchr(items[i], '=');
		if (eq && eq[1]) {
			*eq = '\0';
			pol = eq + 1;
		} else if (eq) {
			*eq = '\0';
			pol = i + 1 < n ? items[++i] : "";
		} else if (i + 2 < n && strcmp(items[i + 1], "=") == 0) {
			pol = items[i + 2];
			i += 2;
		} else if (i + 1 < n && items[i + 1][0] == '=') {
			pol = items[++i] + 1;
		} else {
			pol = "";
		}
		if (tls_policy_parse(pol, &p) < 0 || !*dom ||
		    strlen(dom) >= sizeof(f->policy[0].domain))
			log_fatal("tls_policy_map: '%s': want domain = none, "
				  "may, encrypt or verify", dom);
		snprintf(f->policy[f->npolicy].domain,
			 sizeof(f->policy[0].domain), "%s", dom);
		f->policy[f->npolicy++].policy = (int)p;
	}
	config_list_free(items);
}

