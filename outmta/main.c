/*
 * NAME
 *	sluice-outmta - stage F, delivery to the Internet
 * SYNOPSIS
 *	sluice-outmta [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Options and configuration, then start-up: bind, drop privileges,
 *	open the queue, start the resolver and the forwarder, serve the
 *	trusted inner stages. See sluice-outmta.8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "dns.h"
#include "evloop.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "outmta.h"
#include "queue.h"
#include "stage.h"
#include "stage_reload.h"
#include "route.h"
#include "tls.h"

static struct outmta_config cfg;
static struct outmta om;
static struct route_table routes;
static struct stage_live live;

/* What a reload may change (stage_reload.h). */
static const char *const live_keys[] = {
	DAEMON_LIVE_KEYS, "next_hop", "next_hop_mode", "domain_routes", NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	return route_table_init(t, cfg.next_hop, cfg.domain_routes,
				cfg.next_hop_mode, err, errlen);
}

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:10026", &cfg.listen, 0, 0,
	 "address and port for SMTP from the inner stages"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in EHLO and Received (empty: the host name)"},
	{"trusted_peers", CFG_STR, "127.0.0.1", &cfg.trusted_peers, 0, 0,
	 "who may send through us: addresses or a.b.c.d/len, comma separated"},
	{"next_hop", CFG_STR, "mx", &cfg.next_hop, 0, 0,
	 "mx (the recipient domain's MX records) or a smarthost, "
	 "smtp:host:port"},
	{"domain_routes", CFG_STR, "", &cfg.domain_routes, 0, 0,
	 "per-domain hops, e.g. local domains to the store: "
	 "example.test = lmtp:127.0.0.1:2424"},
	{"next_hop_mode", CFG_STR, "ordered", &cfg.next_hop_mode, 0, 0,
	 "ordered (active-backup) or spread (load-balanced), for next_hop "
	 "and every list of domain_routes"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	{"dns_servers", CFG_STR, "", &cfg.dns_servers, 0, 0,
	 "resolvers, host[:port] comma separated (empty: /etc/resolv.conf)"},
	{"dns_timeout", CFG_TIME, "5s", &cfg.dns_timeout, 1, 60,
	 "time allowed for one DNS try (two tries per lookup)"},
	{"dns_cache_size", CFG_INT, "10000", &cfg.dns_cache_size, 0, 1000000,
	 "DNS answers kept for their TTL (at most an hour; failures never), "
	 "least recently used dropped first (0: no cache)"},
	{"smtp_port", CFG_INT, "25", &cfg.smtp_port, 1, 65535,
	 "port of the mail exchangers found through DNS"},
	{"allow_loopback_mx", CFG_BOOL, "no", &cfg.allow_loopback_mx, 0, 0,
	 "deliver to exchangers on loopback, unspecified, link-local or "
	 "multicast addresses or our own (tests on one host only)"},
	{"tls_policy", CFG_STR, "may", &cfg.tls_policy, 0, 0,
	 "STARTTLS to next hops: none, may (when offered), encrypt, or "
	 "verify (encrypt, and the certificate must match the MX name), "
	 "verify:NAME (must match NAME; required for smtp:address hops)"},
	{"tls_policy_map", CFG_STR, "", &cfg.tls_policy_map, 0, 0,
	 "per recipient domain (and domain route): domain = policy, "
	 "domain = policy"},
	{"tls_ca_file", CFG_STR, "", &cfg.tls_ca_file, 0, 0,
	 "CA certificates for the verify policy (empty: the system's)"},
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "200", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS_INNER)),
	STAGE_QUEUE_PARAMS(cfg.queue, "var/outmta/queue", "5m"),
	{"dkim_keys", CFG_STR, "", &cfg.dkim_keys, 0, 0,
	 "DKIM signing keys, domain:selector:/path/key.pem, comma separated"},
	{"arc_seal", CFG_BOOL, "no", &cfg.arc_seal, 0, 0,
	 "add an ARC set (RFC 8617) to every message, sealed with a key of "
	 "dkim_keys"},
	{"arc_key_domain", CFG_STR, "", &cfg.arc_key_domain, 0, 0,
	 "the domain of the dkim_keys entry that seals (empty: the first "
	 "rsa-sha256 key)"},
	{"authserv_id", CFG_STR, "", &cfg.authserv_id, 0, 0,
	 "our authserv-id in ARC-Authentication-Results; the results of "
	 "Authentication-Results fields with this id (our mx's) are copied "
	 "into it (empty: hostname)"},
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

/* -t and start-up: every verify hop must have a name to check. */
static int check(const char *config, char *err, size_t errlen)
{
	struct route_table rt;
	struct forward_cfg fc;
	const char *key = "next_hop";
	char why[400];
	int rc, line;

	rc = route_table_init(&rt, cfg.next_hop, cfg.domain_routes,
			      cfg.next_hop_mode, why, sizeof(why));
	if (rc == 0) {
		stage_forward_cfg(&fc, "tls_policy", cfg.tls_policy, "", 0);
		fc.tls_policy_map = cfg.tls_policy_map;
		rc = forward_tls_check(&rt, &fc, &key, why, sizeof(why));
	}
	route_table_free(&rt);
	if (rc == 0)
		return 0;
	line = config_key_line(config, key);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s: %s", config, line, key, why);
	else
		snprintf(err, errlen, "%s: %s: %s", config ? config
			 : "(embedded defaults)", key, why);
	return -1;
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv;
	struct evloop *loop;
	struct tls_ctx *ctls, *vtls = NULL;
	struct dns *dns;
	char err[512];
	int fd;

	daemon_start_check(argc, argv, "sluice-outmta", table, check, &opts);
	log_open("outmta", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	om.cfg = &cfg;
	om.peers = config_list(cfg.trusted_peers);
	if (om.peers == NULL)
		log_fatal("out of memory");
	stage_routes_init(&routes, cfg.next_hop, cfg.domain_routes,
			  cfg.next_hop_mode, opts.config);
	stage_forward_cfg(&fc, "tls_policy", cfg.tls_policy, cfg.hostname,
			  cfg.timeout);
	fd = daemon_listen(cfg.listen);
	if (cfg.dkim_keys[0]) {
		om.dkim = dkim_signers_load(cfg.dkim_keys, err, sizeof(err));
		if (om.dkim == NULL)
			log_fatal("%s", err);
	}
	if (cfg.arc_seal) {
		om.arc.key = arc_seal_key(om.dkim, cfg.arc_key_domain);
		om.arc.authserv_id = cfg.authserv_id[0] ? cfg.authserv_id :
				     cfg.hostname;
		if (om.arc.key == NULL)
			log_fatal("arc_seal = yes: no rsa-sha256 key%s%s in "
				  "dkim_keys", cfg.arc_key_domain[0] ?
				  " for " : "", cfg.arc_key_domain);
	}
	daemon_state_dir(cfg.queue.queue_dir, cfg.user);
	daemon_drop_privileges(cfg.user);
	loop = evloop_new();
	dns = dns_new(loop, cfg.dns_servers, (unsigned)cfg.dns_timeout * 1000,
		      err, sizeof(err));
	if (dns == NULL)
		log_fatal("%s", err);
	dns_set_cache(dns, (size_t)cfg.dns_cache_size);
	ctls = stage_forward_tls(&fc, cfg.tls_policy_map[0] != '\0');
	if (fc.tls_policy == TLS_POLICY_VERIFY ||
	    strstr(cfg.tls_policy_map, "verify") != NULL) {
		vtls = tls_client_ctx(1, cfg.tls_ca_file[0] ? cfg.tls_ca_file
				      : NULL, err, sizeof(err));
		if (vtls == NULL)
			log_fatal("TLS verify client: %s", err);
	}
	fc.tls_verify = vtls;
	fc.tls_policy_map = cfg.tls_policy_map;
	fc.dns = dns;
	om.arc.dns = dns;
	fc.smtp_port = cfg.smtp_port;
	fc.listen = cfg.listen;
	fc.allow_loopback_mx = cfg.allow_loopback_mx;
	stage_spool_start(loop, &cfg.queue, &routes, &fc, &om.spool, "outmta");
	STAGE_SERVER_CFG(sc, cfg);
	sc.trusted_peers = om.peers;
	srv = stage_serve(loop, &sc, &outmta_hooks, &om, fd);
	live.srv[0] = srv;
	STAGE_LIVE_LIMITS(live, cfg);
	live.fwd = om.spool.fwd;
	live.routes = reload_routes;
	stage_reload_start(loop, live_keys, &live);
	log_info("listening on %s, %zu message(s) in the queue, next hop %s",
		 cfg.listen, queue_count(om.spool.q), cfg.next_hop);
	evloop_run(loop);
	/* the resolver's users first (sessions with their ARC checks, the
	 * forwarder with its MX lookups), then the resolver: what is still
	 * asked is answered to owners that only let go */
	smtp_server_free(srv);
	stage_spool_stop(&om.spool);
	dns_free(dns);
	evloop_free(loop);
	route_table_free(&routes);
	config_list_free(om.peers);
	dkim_signers_free(om.dkim);
	tls_ctx_free(ctls);
	tls_ctx_free(vtls);
	log_info("stopped");
	return 0;
}
