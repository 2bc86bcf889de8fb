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
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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
	d->hop.mx = 1;
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

/* a numeric address as 16 bytes, IPv4 mapped (::ffff:a.b.c.d) */
static int addr_bytes(const char *a, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0,
						 0, 0xff, 0xff};

	if (inet_pton(AF_INET6, a, out) == 1)
		return 0;
	memcpy(out, mapped, 12);
	return inet_pton(AF_INET, a, out + 12) == 1 ? 0 : -1;
}

/* Why an exchanger's address cannot be a destination on the Internet
 * (as Postfix refuses them), or NULL: anybody can publish an MX that
 * points at the relay host's own services. */
static const char *addr_unusable(const unsigned char b[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0,
						 0, 0xff, 0xff};
	static const unsigned char zero[16];
	const unsigned char *v4 = b + 12;

	if (memcmp(b, mapped, 12) == 0) {
		if (v4[0] == 0)
			return "unspecified";
		if (v4[0] == 127)
			return "loopback";
		if (v4[0] == 169 && v4[1] == 254)
			return "link-local";
		if (v4[0] >= 224)
			return "multicast or reserved";
		return NULL;
	}
	if (memcmp(b, zero, 16) == 0)
		return "unspecified";
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return "loopback";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";
	if (b[0] == 0xff)
		return "multicast";
	return NULL;
}

static void self_add(struct forwarder *f, const char *a)
{
	if (f->nself < FWD_MAX_SELF && addr_bytes(a, f->self[f->nself]) == 0)
		f->nself++;
}

/* Our own addresses: those of the listen address, and unless loopback
 * exchangers are allowed (one test host for everything, where only the
 * exact listen address and port is us) every interface's. */
static void self_load(struct forwarder *f)
{
	struct ifaddrs *ifs, *i;
	char a[INET6_ADDRSTRLEN];
	const char *end;

	f->self_loaded = 1;
	if (f->cfg.listen && (end = strrchr(f->cfg.listen, ':')) != NULL &&
	    (size_t)(end - f->cfg.listen) < sizeof(a)) {
		const char *h = f->cfg.listen;
		size_t n = (size_t)(end - h);

		if (*h == '[' && n >= 2 && h[n - 1] == ']') {
			h++;
			n -= 2;
		}
		memcpy(a, h, n);
		a[n] = '\0';
		self_add(f, a);
	}
	if (f->cfg.allow_loopback_mx || getifaddrs(&ifs) < 0)
		return;
	for (i = ifs; i; i = i->ifa_next) {
		if (i->ifa_addr == NULL ||
		    (i->ifa_addr->sa_family != AF_INET &&
		     i->ifa_addr->sa_family != AF_INET6))
			continue;
		if (inet_ntop(i->ifa_addr->sa_family,
			      i->ifa_addr->sa_family == AF_INET ?
			      (void *)&((struct sockaddr_in *)i->ifa_addr)
			      ->sin_addr : (void *)&((struct sockaddr_in6 *)
						     i->ifa_addr)->sin6_addr,
			      a, sizeof(a)))
			self_add(f, a);
	}
	freeifaddrs(ifs);
}

/* Is b one of our addresses? With loopback exchangers allowed, only our
 * own listening address and port is (the listen address 0.0.0.0 or ::
 * stands for every address). */
static int addr_self(struct forwarder *f, const unsigned char b[16])
{
	static const unsigned char zero[16];
	static const unsigned char any4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					       0xff, 0xff};
	size_t i;

	if (!f->self_loaded)
		self_load(f);
	for (i = 0; i < f->nself; i++) {
		int all = memcmp(f->self[i], zero, 16) == 0 ||
			  memcmp(f->self[i], any4, 16) == 0;

		if (!all && memcmp(f->self[i], b, 16) != 0)
			continue;
		if (!f->cfg.allow_loopback_mx)
			return 1;
		/* only the listen address is loaded: us on its port only */
		if (atoll(strrchr(f->cfg.listen, ':') + 1) ==
		    f->cfg.smtp_port)
			return 1;
	}
	return 0;
}

static void resolve_next(struct job *j);

/* An answer came for j: 1 when the forwarder stopped meanwhile (the job
 * is dropped, its message stays queued as it was, and the last answer
 * frees the forwarder), so no shutdown is recorded as a DNS failure. */
static int answered_stopped(struct job *j)
{
	struct forwarder *f = j->fm->f;

	f->resolving--;
	if (!f->stopped)
		return 0;
	fwd_job_drop(j);
	if (f->resolving == 0)
		free(f);
	return 1;
}

static void addr_cb(void *arg, const struct dns_addr_result *res)
{
	struct job *j = arg;
	struct forwarder *f = j->fm->f;
	size_t i, k;
	struct hop *h;
	struct fwd_policy def = {"", (int)f->cfg.tls_policy, ""};
	const struct fwd_policy *p;

	if (answered_stopped(j))
		return;
	memcpy(def.name, f->cfg.tls_name, sizeof(def.name));
	p = policy_lookup(f->policy, f->npolicy, &def, j->domain);
	for (i = 0; i < res->n && j->ncand < FWD_MAX_HOPS; i++) {
		unsigned char b[16];
		const char *bad;

		if (addr_bytes(res->addr[i], b) < 0)
			continue;
		if (addr_self(f, b)) {
			/* RFC 5321 5.1: we are this exchanger; it and every
			 * less preferred one are out */
			j->looped = 1;
			j->mx->n = j->mx_i + 1;
			break;
		}
		if (!f->cfg.allow_loopback_mx &&
		    (bad = addr_unusable(b)) != NULL) {
			snprintf(j->unusable, sizeof(j->unusable), "MX host "
				 "%s has a %s address, %s",
				 j->mx->mx[j->mx_i].host, bad, res->addr[i]);
			continue;
		}
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
		f->resolving++;
		dns_addr(f->dns, j->mx->mx[j->mx_i].host, addr_cb, j);
		return;
	}
	free(j->mx);
	j->mx = NULL;
	if (j->ncand == 0 && j->looped) {
		snprintf(j->last_error, sizeof(j->last_error), "mail for %s "
			 "loops back to myself", j->domain);
		fwd_job_fail(j, 554, "5.4.6", j->last_error);
		return;
	}
	if (j->ncand == 0 && !j->last_error[0] && j->unusable[0]) {
		fwd_job_fail(j, 554, "5.4.4", j->unusable);
		return;
	}
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

	if (answered_stopped(j))
		return;
	switch (res->status) {
	case DNS_NXDOMAIN:
		snprintf(why, sizeof(why), "Host or domain name not found: "
			 "%s", j->domain);
		fwd_job_fail(j, 550, "5.1.2", why);
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
				fwd_job_fail(j, 556, "5.1.10", why);
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
	j->fm->f->resolving++;
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

void fwd_policy_apply(struct forwarder *f)
{
	const char *key;
	char err[512];
	struct fwd_policy *map;
	size_t n, i, h;

	if (policy_setup(f->routes, &f->cfg, &map, &n, 1, &key, err,
			 sizeof(err)) == 0) {
		free(f->policy);
		f->policy = map;
		f->npolicy = n;
		return;
	}
	free(map);
	/* e.g. verify without a name for a new address hop: such a hop
	 * must not get mail whose certificate nobody checks */
	log_error("%s: %s: the new next hops get no mail", key, err);
	for (i = 0; i < f->routes->n; i++)
		for (h = 0; h < f->routes->routes[i].nhops; h++)
			f->routes->routes[i].hops[h].down_until =
				(time_t)1 << 40;
}
