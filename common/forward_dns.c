/*
 * NAME
 *	forward_dns - next hops from DNS: MX records, per-domain TLS policy
 * DESCRIPTION
 *	For routes written "mx": the recipient domain's MX records, by
 *	preference and in random order among equal preferences (RFC 5321
 *	5.1), each host's addresses in turn; no MX means the domain itself
 *	(implicit MX); a null MX (RFC 7505) and a domain that does not exist
 *	fail at once; a temporary DNS failure defers, never bounces.
 *	TLS policies: the default or the recipient domain's map entry; for
 *	verify, the certificate must name the policy's verify:NAME, else the
 *	MX host. Static hops (addresses) get theirs at start-up and cannot
 *	be verify without a NAME.
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

/* The TLS policy for a domain: the map's entry, or the default. */
static const struct fwd_policy *policy_lookup(const struct fwd_policy *map,
					      size_t n,
					      const struct fwd_policy *def,
					      const char *domain)
{
	size_t i;

	for (i = 0; domain && i < n; i++)
		if (strcasecmp(map[i].domain, domain) == 0)
			return &map[i];
	return def;
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
	struct fwd_policy def = {"", (int)f->cfg.tls_policy, ""};
	const struct fwd_policy *p;

	memcpy(def.name, f->cfg.tls_name, sizeof(def.name));
	p = policy_lookup(f->policy, f->npolicy, &def, j->domain);
	for (i = 0; i < res->n && j->ncand < FWD_MAX_HOPS; i++) {
		/* verify checks the policy's name, else the MX host's */
		h = hop_get(f, res->addr[i], p->policy, p->name[0] ? p->name
			    : j->mx->mx[j->mx_i].host);
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

/* tls_policy_map = "domain = policy, domain = policy" into *out
 * (malloc'ed, *np entries). 0, or -1 with a reason in err. */
static int parse_map(const char *map, struct fwd_policy **out, size_t *np,
		     char *err, size_t errlen)
{
	char **items, *eq;
	size_t n = 0, i;
	enum tls_policy p;
	struct fwd_policy *o;

	*out = NULL;
	*np = 0;
	if (map == NULL || !*map)
		return 0;
	items = config_list(map);
	if (items == NULL)
		log_fatal("out of memory");
	/* config_list splits on spaces too: glue "a", "=", "b" back */
	for (i = 0; items[i]; i++)
		n++;
	*out = o = calloc(n + 1, sizeof(*o));
	if (o == NULL)
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
		if (tls_policy_parse(pol, &p, o[*np].name,
				     sizeof(o[0].name)) < 0 || !*dom ||
		    strlen(dom) >= sizeof(o[0].domain)) {
			snprintf(err, errlen, "'%s': want domain = none, may, "
				 "encrypt, verify or verify:NAME", dom);
			config_list_free(items);
			free(o);
			*out = NULL;
			return -1;
		}
		snprintf(o[*np].domain, sizeof(o[0].domain), "%s", dom);
		o[(*np)++].policy = (int)p;
	}
	config_list_free(items);
	return 0;
}

/* Give every static hop its policy (set: else only check): a domain
 * route's is the map's entry for that domain, else the default. A static
 * hop is an address, so verify needs a name in the policy: without one
 * only the chain would be checked, and any certificate the CA signed for
 * any name would pass. */
static int apply_static(struct route_table *t, const struct fwd_policy *map,
			size_t n, const struct fwd_policy *def,
			const char *def_key, int set, const char **key_r,
			char *err, size_t errlen)
{
	const struct fwd_policy *p;
	struct route *r;
	size_t i, h;

	for (i = 0; i < t->n; i++) {
		r = &t->routes[i];
		p = policy_lookup(map, n, def, r->domain);
		for (h = 0; h < r->nhops; h++) {
			if (p->policy == TLS_POLICY_VERIFY && !p->name[0]) {
				*key_r = p == def ? def_key : "tls_policy_map";
				snprintf(err, errlen, "verify: next hop %s is "
					 "an address; say which name its "
					 "certificate must have, "
					 "verify:NAME%s%s", r->hops[h].hostport,
					 p == def ? "" : ", for ",
					 p == def ? "" : p->domain);
				return -1;
			}
			if (set) {
				r->hops[h].tls_policy = p->policy;
				memcpy(r->hops[h].name, p->name,
				       sizeof(r->hops[h].name));
			}
		}
	}
	return 0;
}

static int policy_setup(struct route_table *t, const struct forward_cfg *cfg,
			struct fwd_policy **map, size_t *n, int set,
			const char **key_r, char *err, size_t errlen)
{
	struct fwd_policy def = {"", (int)cfg->tls_policy, ""};
	const char *def_key = cfg->tls_policy_key ? cfg->tls_policy_key
			      : "tls_policy";

	memcpy(def.name, cfg->tls_name, sizeof(def.name));
	*key_r = "tls_policy_map";
	if (parse_map(cfg->tls_policy_map, map, n, err, errlen) < 0)
		return -1;
	return apply_static(t, *map, *n, &def, def_key, set, key_r, err,
			    errlen);
}

int forward_tls_check(struct route_table *routes,
		      const struct forward_cfg *cfg, const char **key_r,
		      char *err, size_t errlen)
{
	struct fwd_policy *map;
	size_t n;
	int rc = policy_setup(routes, cfg, &map, &n, 0, key_r, err, errlen);

	free(map);
	return rc;
}

void fwd_policy_init(struct forwarder *f)
{
	const char *key;
	char err[512];

	if (policy_setup(f->routes, &f->cfg, &f->policy, &f->npolicy, 1,
			 &key, err, sizeof(err)) < 0)
		log_fatal("%s: %s", key, err);
}
