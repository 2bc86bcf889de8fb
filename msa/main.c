/*
 * NAME
 *	sluice-msa - stage B, authenticated submission (RFC 6409, RFC 8314)
 * SYNOPSIS
 *	sluice-msa [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Options and configuration, then start-up: bind both listeners, load
 *	the TLS keys, drop privileges, open the credentials and the
 *	directory snapshots, open the queue, serve. See sluice-msa.8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authlimit.h"
#include "authlimit_share.h"
#include "config.h"
#include "daemon.h"
#include "directory.h"
#include "dns.h"
#include "evloop.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "msa.h"
#include "queue.h"
#include "route.h"
#include "sasl.h"
#include "sasl_async.h"
#include "shstate.h"
#include "stage.h"
#include "stage_reload.h"
#include "tls.h"

static struct msa_config cfg;
static struct msa msa;
static struct route_table routes;
static struct stage_live live;

/* What a reload may change (stage_reload.h). */
static const char *const live_keys[] = {
	DAEMON_LIVE_KEYS, STAGE_LIVE_ROUTES, "directory_file", NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	return route_table_init(t, cfg.next_hop, cfg.domain_routes,
				cfg.next_hop_mode, err, errlen);
}

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:5870", &cfg.listen, 0, 0,
	 "submission with STARTTLS (RFC 6409)"},
	{"smtps_listen", CFG_STR, "127.0.0.1:4650", &cfg.smtps_listen, 0, 0,
	 "submission over implicit TLS (RFC 8314; empty: none)"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in the greeting and Received (empty: the host name)"},
	{"next_hop", CFG_STR, "lmtp:127.0.0.1:10024", &cfg.next_hop, 0, 0,
	 "where submitted mail goes: avscan (which passes it through spamd "
	 "to outmta or the store)"},
	{"next_hop_mode", CFG_STR, "ordered", &cfg.next_hop_mode, 0, 0,
	 "ordered (active-backup) or spread (load-balanced)"},
	{"domain_routes", CFG_STR, "", &cfg.domain_routes, 0, 0,
	 "per-domain hops, e.g. local domains straight to the store "
	 "(example.test = lmtp:127.0.0.1:2424) where nothing scans"},
	{"next_hop_tls", CFG_STR, "may", &cfg.next_hop_tls, 0, 0,
	 "STARTTLS to next hops: none, may (when offered) or encrypt"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	TLS_KEY_PARAMS(cfg.tls_cert, cfg.tls_key,
		       "PEM certificate chain (required: no submission "
		       "without TLS)", "PEM private key"),
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "200", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS)),
	HEADER_LIMIT_PARAM(cfg.max_header_size),
	STAGE_QUEUE_PARAMS(cfg.queue, "var/msa/queue", "60s"),
	{"credentials_file", CFG_STR, "var/store/users.auth",
	 &cfg.credentials_file, 0, 0,
	 "credentials snapshot that sluicectl writes (mode 0600)"},
	{"directory_file", CFG_STR, "var/store/users", &cfg.directory_file, 0,
	 0, "directory snapshot: which aliases reach which user"},
	{"sender_exceptions", CFG_STR, "", &cfg.sender_exceptions, 0, 0,
	 "more sender addresses per user: user = addr @domain *; user = ..."},
	{"rate_window", CFG_TIME, "1h", &cfg.rate_window, 1, 7 * 86400,
	 "sliding window of the per-user rate limits"},
	{"rate_messages", CFG_INT, "200", &cfg.rate_messages, 0, 10000000,
	 "messages per user and window (0: no limit)"},
	{"rate_recipients", CFG_INT, "1000", &cfg.rate_recipients, 0,
	 100000000, "recipients per user and window (0: no limit)"},
	SHSTATE_PARAM(cfg.redis_server),
	AUTH_FAIL_PARAMS(cfg.auth_fail_max, cfg.auth_fail_window,
			 "failed logins per client address or user that "
			 "lock it out",
			 "window of those failures and length of the "
			 "lockout"),
	{"auth_fail_delay", CFG_TIME, "1s", &cfg.auth_fail_delay, 0, 60,
	 "delay before a 535, doubled per failure (at most 8s)"},
	{"received_client", CFG_BOOL, "yes", &cfg.received_client, 0, 0,
	 "Received: shows the client's HELO and address"},
	{"received_user", CFG_BOOL, "yes", &cfg.received_user, 0, 0,
	 "Received: names the authenticated user"},
	{"trusted_peers", CFG_STR, "", &cfg.trusted_peers, 0, 0,
	 "peers whose inter-stage claims are believed (normally none)"},
	{"arc_seal", CFG_BOOL, "no", &cfg.arc_seal, 0, 0,
	 "add an ARC set (RFC 8617) to every message, sealed with the first "
	 "rsa-sha256 key of arc_keys"},
	{"arc_keys", CFG_STR, "", &cfg.arc_keys, 0, 0,
	 "ARC sealing keys, domain:selector:/path/key.pem (the format of "
	 "outmta's dkim_keys; the same key may serve both)"},
	{"authserv_id", CFG_STR, "", &cfg.authserv_id, 0, 0,
	 "our authserv-id (RFC 8601; give mx, msa and outmta the same): "
	 "Authentication-Results fields claiming it are removed from "
	 "submitted mail, and ARC sets name it (empty: hostname)"},
	{"dns_servers", CFG_STR, "", &cfg.dns_servers, 0, 0,
	 "resolvers for the keys of the ARC chains we check before sealing, "
	 "host[:port] comma separated (empty: /etc/resolv.conf)"},
	{"dns_timeout", CFG_TIME, "5s", &cfg.dns_timeout, 1, 60,
	 "time allowed for one DNS try (two tries per lookup)"},
	{"greet_pause_ms", CFG_INT, "0", &cfg.greet_pause_ms, 0, 60000,
	 "the greeting waits this long; a client talking before it is "
	 "refused (554 5.5.1; 0: no pause, as mail clients wait for the "
	 "220 and every send would pay it)"},
	{"connection_rate_limit", CFG_INT, "60", &cfg.connection_rate_limit,
	 0, 1000000, "connections per client address (IPv6: /64) per "
	 "connection_rate_window; more get 421 4.7.0 (0: no limit)"},
	{"connection_rate_window", CFG_TIME, "60s",
	 &cfg.connection_rate_window, 1, 86400,
	 "the window of connection_rate_limit"},
	{"helo_fqdn", CFG_BOOL, "no", &cfg.helo_fqdn, 0, 0,
	 "HELO/EHLO must name a fully-qualified host or an address literal "
	 "(504 5.5.2; off: mail clients often send a bare machine name)"},
	{"bad_rcpt_delay_after", CFG_INT, "3", &cfg.bad_rcpt_delay_after, 0,
	 100000, "after this many refused recipients in a session each "
	 "refused RCPT is answered bad_rcpt_delay_ms late (0: never)"},
	{"bad_rcpt_delay_ms", CFG_INT, "1000", &cfg.bad_rcpt_delay_ms, 0,
	 60000, "the delay of bad_rcpt_delay_after"},
	{"bad_rcpt_disconnect", CFG_INT, "10", &cfg.bad_rcpt_disconnect, 0,
	 100000, "the refused recipient that makes this many ends the "
	 "session (421 4.7.0; 0: never)"},
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

/* The submission servers share everything but implicit TLS. */
static void load_directory(void)
{
	char err[512];

	if (cfg.directory_file[0] && access(cfg.directory_file, R_OK) == 0) {
		msa.dir = directory_load(cfg.directory_file, err, sizeof(err));
		if (msa.dir == NULL)
			log_fatal("directory_file: %s", err);
	} else if (cfg.directory_file[0]) {
		log_warn("no directory at %s yet: only own addresses until it "
			 "appears", cfg.directory_file);
	}
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv, *srv_tls;
	struct tls_ctx *tls, *ctls;
	struct authlimit *al;
	struct shstate *sh;
	char err[512], **peers;
	int fd, fd_tls = -1;

	/* the key's former name, accepted until the next release */
	config_old_name("users_file", "directory_file");
	daemon_start(argc, argv, "sluice-msa", table, &opts);
	log_open("msa", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	msa.cfg = &cfg;
	msa.exc = msa_exceptions_parse(cfg.sender_exceptions, err,
				       sizeof(err));
	peers = config_list(cfg.trusted_peers);
	if (msa.exc == NULL || peers == NULL)
		log_fatal("%s", msa.exc ? "out of memory" : err);
	stage_routes_init(&routes, cfg.next_hop, cfg.domain_routes,
			  cfg.next_hop_mode, opts.config);
	fd = daemon_listen(cfg.listen);
	if (cfg.smtps_listen[0])
		fd_tls = daemon_listen(cfg.smtps_listen);
	tls = tls_server_ctx(cfg.tls_cert, cfg.tls_key, err, sizeof(err));
	if (tls == NULL)
		log_fatal("TLS (required for submission): %s", err);
	/* the credentials snapshot is mode 0600: read it before the drop
	 * (later changes are read as cfg.user, who should own it) */
	if (sasl_setup("sluice", cfg.credentials_file, err, sizeof(err)) < 0)
		log_fatal("credentials_file: %s", err);
	msa.arc.authserv_id = cfg.authserv_id[0] ? cfg.authserv_id :
			      cfg.hostname;
	if (cfg.arc_seal) {
		msa.arc_keys = dkim_signers_load(cfg.arc_keys, err,
						 sizeof(err));
		if (msa.arc_keys == NULL)
			log_fatal("arc_keys: %s", err);
		msa.arc.key = arc_seal_key(msa.arc_keys, NULL);
		if (msa.arc.key == NULL)
			log_fatal("arc_seal = yes: no rsa-sha256 key in "
				  "arc_keys");
	}
	daemon_state_dir(cfg.queue.queue_dir, cfg.user);
	daemon_drop_privileges(cfg.user);
	load_directory();
	msa.rate = msa_rate_new((uint64_t)cfg.rate_window * 1000,
				cfg.rate_messages, cfg.rate_recipients);
	al = authlimit_new((unsigned)cfg.auth_fail_max,
			   (uint64_t)cfg.auth_fail_window * 1000,
			   (uint64_t)cfg.auth_fail_delay * 1000);
	if (msa.rate == NULL || al == NULL || msa_screen_init(&msa) < 0)
		log_fatal("out of memory");
	msa.loop = evloop_new();
	if (sasl_async_setup(msa.loop, SASL_ASYNC_THREADS, err,
			     sizeof(err)) < 0)
		log_fatal("SASL workers: %s", err);
	sh = authlimit_share_start(msa.loop, cfg.redis_server, (uint64_t)
				   (cfg.rate_window > cfg.auth_fail_window ?
				    cfg.rate_window : cfg.auth_fail_window) *
				   1000, al);
	if (sh && msa_rate_share(msa.rate, sh) < 0)
		log_fatal("shared state: no room");
	if (cfg.arc_seal) {
		msa.arc.dns = dns_new(msa.loop, cfg.dns_servers,
				      (unsigned)cfg.dns_timeout * 1000, err,
				      sizeof(err));
		if (msa.arc.dns == NULL)
			log_fatal("%s", err);
	}
	stage_forward_cfg(&fc, "next_hop_tls", cfg.next_hop_tls,
			  cfg.hostname, cfg.timeout);
	ctls = stage_forward_tls(&fc, 0);
	fc.claims = 1; /* our hops are inner stages */
	stage_spool_start(msa.loop, &cfg.queue, &routes, &fc, &msa.spool,
			  "msa");
	STAGE_SERVER_CFG(sc, cfg);
	sc.max_header = cfg.max_header_size;
	sc.tls = tls;
	sc.auth = 1;
	sc.auth_required = 1;
	sc.authlimit = al;
	sc.trusted_peers = peers;
	sc.greet_pause_ms = cfg.greet_pause_ms;
	srv = stage_serve(msa.loop, &sc, &msa_hooks, &msa, fd);
	srv_tls = stage_serve_tls(msa.loop, &sc, &msa_hooks, &msa, fd_tls);
	live.srv[0] = srv;
	live.srv[1] = srv_tls;
	STAGE_LIVE_LIMITS(live, cfg);
	live.tls = tls;
	live.tls_cert = &cfg.tls_cert;
	live.tls_key = &cfg.tls_key;
	live.fwd = msa.spool.fwd;
	live.routes = reload_routes;
	live.dir = &msa.dir;
	live.dir_path = &cfg.directory_file;
	stage_reload_start(msa.loop, live_keys, &live);
	log_info("listening on %s (STARTTLS) and %s (TLS), %zu message(s) in "
		 "the queue, next hop %s", cfg.listen,
		 cfg.smtps_listen[0] ? cfg.smtps_listen : "-",
		 queue_count(msa.spool.q), cfg.next_hop);
	evloop_run(msa.loop);
	smtp_server_free(srv);
	smtp_server_free(srv_tls);
	if (msa.arc.dns)
		dns_free(msa.arc.dns);
	stage_spool_stop(&msa.spool);
	sasl_async_teardown();
	shstate_free(&sh);
	evloop_free(msa.loop);
	route_table_free(&routes);
	directory_free(msa.dir);
	msa_exceptions_free(msa.exc);
	msa_rate_free(msa.rate);
	msa_screen_free(&msa);
	dkim_signers_free(msa.arc_keys);
	authlimit_free(&al);
	config_list_free(peers);
	sasl_teardown();
	tls_ctx_free(tls);
	tls_ctx_free(ctls);
	log_info("stopped");
	return 0;
}
