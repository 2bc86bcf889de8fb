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
static const char *const live_keys[] = {STAGE_SMTP_LIVE_KEYS, NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	return route_table_init(t, cfg.smtp.next_hop, cfg.smtp.domain_routes,
				cfg.smtp.next_hop_mode, err, errlen);
}

/* How msa words the keys it shares with mx (stage_smtp.h). */
static const struct stage_smtp_text text[] = {
	{"listen", "127.0.0.1:5870", "submission with STARTTLS (RFC 6409)"},
	{"smtps_listen", "127.0.0.1:4650", "submission over implicit TLS "
	 "(RFC 8314; empty: none)"},
	{"next_hop", NULL, "where submitted mail goes: avscan (which passes "
	 "it through spamd to outmta or the store)"},
	{"domain_routes", NULL, "per-domain hops, e.g. local domains straight "
	 "to the store (example.test = lmtp:127.0.0.1:2424) where nothing "
	 "scans"},
	{"tls_cert", NULL, "PEM certificate chain (required: no submission "
	 "without TLS)"},
	{"tls_key", NULL, "PEM private key"},
	{"max_sessions", "200", NULL},
	{"queue_dir", "var/msa/queue", NULL},
	{"directory_file", "var/store/users", "directory snapshot: which "
	 "aliases reach which user"},
	{"dns_servers", NULL, "resolvers for the keys of the ARC chains we "
	 "check before sealing, host[:port] comma separated (empty: "
	 "/etc/resolv.conf)"},
	{"dns_timeout", "5s", "time allowed for one DNS try (two tries per "
	 "lookup)"},
	{"greet_pause_ms", NULL, "the greeting waits this long; a client "
	 "talking before it is refused (554 5.5.1; 0: no pause, as mail "
	 "clients wait for the 220 and every send would pay it)"},
	{"helo_fqdn", "no", "HELO/EHLO must name a fully-qualified host or an "
	 "address literal (504 5.5.2; off: mail clients often send a bare "
	 "machine name)"},
	{"bad_rcpt_delay_after", NULL, "after this many refused recipients in "
	 "a session each refused RCPT is answered bad_rcpt_delay_ms late (0: "
	 "never)"},
	{"bad_rcpt_disconnect", NULL, "the refused recipient that makes this "
	 "many ends the session (421 4.7.0; 0: never)"},
	{NULL, NULL, NULL},
};

/* The keys of msa alone. */
static const struct cfg_param own[] = {
	{"credentials_file", CFG_STR, "var/store/users.auth",
	 &cfg.credentials_file, 0, 0,
	 "credentials snapshot that sluicectl writes (mode 0600)"},
	{"sender_exceptions", CFG_STR, "", &cfg.sender_exceptions, 0, 0,
	 "more sender addresses per user: user = addr @domain *; user = ..."},
	{"rate_window", CFG_TIME, "1h", &cfg.rate_window, 1, 7 * 86400,
	 "sliding window of the per-user rate limits"},
	{"rate_messages", CFG_INT, "200", &cfg.rate_messages, 0, 10000000,
	 "messages per user and window (0: no limit)"},
	{"rate_recipients", CFG_INT, "1000", &cfg.rate_recipients, 0,
	 100000000, "recipients per user and window (0: no limit)"},
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
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

/* The submission servers share everything but implicit TLS. */
static void load_directory(void)
{
	char err[512];

	if (cfg.smtp.directory_file[0] &&
	    access(cfg.smtp.directory_file, R_OK) == 0) {
		msa.dir = directory_load(cfg.smtp.directory_file, err,
					 sizeof(err));
		if (msa.dir == NULL)
			log_fatal("directory_file: %s", err);
	} else if (cfg.smtp.directory_file[0]) {
		log_warn("no directory at %s yet: only own addresses until it "
			 "appears", cfg.smtp.directory_file);
	}
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv[2];
	struct tls_ctx *tls, *ctls;
	struct authlimit *al;
	struct shstate *sh;
	char err[512], **peers;
	int fd, fd_tls = -1;

	/* the key's former name, accepted until the next release */
	config_old_name("users_file", "directory_file");
	daemon_start(argc, argv, "sluice-msa",
		     stage_smtp_table(&cfg.smtp, text, own), &opts);
	log_open("msa", cfg.smtp.syslog);
	daemon_default_hostname(&cfg.smtp.hostname);
	msa.cfg = &cfg;
	msa.exc = msa_exceptions_parse(cfg.sender_exceptions, err,
				       sizeof(err));
	peers = config_list(cfg.trusted_peers);
	if (msa.exc == NULL || peers == NULL)
		log_fatal("%s", msa.exc ? "out of memory" : err);
	stage_routes_init(&routes, cfg.smtp.next_hop, cfg.smtp.domain_routes,
			  cfg.smtp.next_hop_mode, opts.config);
	fd = daemon_listen(cfg.smtp.listen);
	if (cfg.smtp.smtps_listen[0])
		fd_tls = daemon_listen(cfg.smtp.smtps_listen);
	tls = tls_server_ctx(cfg.smtp.tls_cert, cfg.smtp.tls_key, err,
			     sizeof(err));
	if (tls == NULL)
		log_fatal("TLS (required for submission): %s", err);
	/* the credentials snapshot is mode 0600: read it before the drop
	 * (later changes are read as cfg.smtp.user, who should own it) */
	if (sasl_setup("sluice", cfg.credentials_file, err, sizeof(err)) < 0)
		log_fatal("credentials_file: %s", err);
	msa.arc.authserv_id = cfg.authserv_id[0] ? cfg.authserv_id :
			      cfg.smtp.hostname;
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
	daemon_state_dir(cfg.smtp.queue.queue_dir, cfg.smtp.user);
	daemon_drop_privileges(cfg.smtp.user);
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
	sh = authlimit_share_start(msa.loop, cfg.smtp.redis_server, (uint64_t)
				   (cfg.rate_window > cfg.auth_fail_window ?
				    cfg.rate_window : cfg.auth_fail_window) *
				   1000, al);
	if (sh && msa_rate_share(msa.rate, sh) < 0)
		log_fatal("shared state: no room");
	if (cfg.arc_seal) {
		msa.arc.dns = dns_new(msa.loop, cfg.smtp.dns_servers,
				      (unsigned)cfg.smtp.dns_timeout * 1000,
				      err, sizeof(err));
		if (msa.arc.dns == NULL)
			log_fatal("%s", err);
		dns_set_cache(msa.arc.dns, (size_t)cfg.smtp.dns_cache_size);
	}
	stage_forward_cfg(&fc, "next_hop_tls", cfg.smtp.next_hop_tls,
			  cfg.smtp.hostname, cfg.smtp.timeout);
	ctls = stage_forward_tls(&fc, 0);
	fc.claims = 1; /* our hops are inner stages */
	stage_spool_start(msa.loop, &cfg.smtp.queue, &routes, &fc, &msa.spool,
			  "msa");
	stage_smtp_server_cfg(&sc, &cfg.smtp, tls);
	sc.auth = 1;
	sc.auth_required = 1;
	sc.authlimit = al;
	sc.trusted_peers = peers;
	srv[0] = stage_serve(msa.loop, &sc, &msa_hooks, &msa, fd);
	srv[1] = stage_serve_tls(msa.loop, &sc, &msa_hooks, &msa, fd_tls);
	stage_smtp_live(&live, &cfg.smtp, srv, tls, msa.spool.fwd,
			reload_routes, &msa.dir);
	stage_reload_start(msa.loop, live_keys, &live);
	log_info("listening on %s (STARTTLS) and %s (TLS), %zu message(s) in "
		 "the queue, next hop %s", cfg.smtp.listen,
		 cfg.smtp.smtps_listen[0] ? cfg.smtp.smtps_listen : "-",
		 queue_count(msa.spool.q), cfg.smtp.next_hop);
	evloop_run(msa.loop);
	smtp_server_free(srv[0]);
	smtp_server_free(srv[1]);
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
