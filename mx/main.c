/*
 * NAME
 *	sluice-mx - stage A, inbound SMTP from the Internet
 * SYNOPSIS
 *	sluice-mx [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Options and configuration, then start-up: bind, load keys, drop
 *	privileges, open the queue, serve. See sluice-mx.8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "directory.h"
#include "dmarc.h"
#include "dns.h"
#include "evloop.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "mx.h"
#include "mx_metrics.h"
#include "queue.h"
#include "stage.h"
#include "stage_reload.h"
#include "route.h"
#include "shstate.h"
#include "tls.h"

static struct mx_config cfg;
static struct mx mx;
static struct route_table routes;
static struct stage_live live;

/* What a reload may change (stage_reload.h). */
static const char *const live_keys[] = {STAGE_SMTP_LIVE_KEYS,
					"alias_relay", NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	return mx_routes_init(&mx, t, err, errlen);
}

/* How mx words the keys it shares with msa (stage_smtp.h). */
static const struct stage_smtp_text text[] = {
	{"listen", "127.0.0.1:2525", "address and port for SMTP"},
	{"smtps_listen", "", "address and port for SMTP over implicit TLS "
	 "(empty: none)"},
	{"next_hop", NULL, "where accepted mail goes (lmtp:host:port or "
	 "smtp:host:port, ...)"},
	{"domain_routes", NULL, "per-domain hops: domain = hop, hop; "
	 "other.domain = hop"},
	{"tls_cert", NULL, "PEM certificate chain for STARTTLS (empty: no "
	 "STARTTLS)"},
	{"tls_key", NULL, "PEM private key for STARTTLS"},
	{"max_sessions", "500", NULL},
	{"queue_dir", "var/mx/queue", NULL},
	{"directory_file", "", "directory snapshot from the store: unknown "
	 "recipients get 550 5.1.1 at RCPT (empty: accept every local-domain "
	 "recipient)"},
	{"dns_servers", NULL, "resolvers for SPF, DKIM and DMARC, host[:port] "
	 "comma separated (empty: the system's)"},
	{"dns_timeout", "2s", "time for one DNS try (two tries; then "
	 "temperror)"},
	{"greet_pause_ms", NULL, "the greeting waits this long; a client "
	 "talking before it is refused (554 5.5.1; production: 6000; 0: no "
	 "pause)"},
	{"helo_fqdn", "yes", "HELO/EHLO must name a fully-qualified host or "
	 "an address literal (504 5.5.2)"},
	{"bad_rcpt_delay_after", NULL, "after this many unknown recipients in "
	 "a session each refused RCPT is answered bad_rcpt_delay_ms late (0: "
	 "never)"},
	{"bad_rcpt_disconnect", NULL, "the unknown recipient that makes this "
	 "many ends the session (421 4.7.0; 0: never)"},
	{NULL, NULL, NULL},
};

/* The keys of mx alone. */
static const struct cfg_param own[] = {
	{"local_domains", CFG_STR, "example.test", &cfg.local_domains, 0, 0,
	 "domains we accept mail for (comma separated)"},
	{"alias_relay", CFG_STR, "", &cfg.alias_relay, 0, 0,
	 "hops for the remote targets of aliases, e.g. the outmta "
	 "(empty: remote targets are not expanded)"},
	{"spf", CFG_BOOL, "yes", &cfg.spf, 0, 0,
	 "check the sender's SPF record (RFC 7208) from MAIL FROM on"},
	{"spf_reject", CFG_BOOL, "yes", &cfg.spf_reject, 0, 0,
	 "refuse an SPF fail at RCPT (550 5.7.23); no: only record it"},
	{"sender_domain_check", CFG_BOOL, "yes", &cfg.sender_domain_check, 0,
	 0, "refuse a MAIL FROM domain without MX, A or AAAA record at "
	 "RCPT (RFC 2505 2.9; not for client_allow, nor the null sender)"},
	{"sender_domain_code", CFG_CHOICE, "450|550", &cfg.sender_domain_code,
	 0, 0, "reply code for an unknown sender domain: 450 (4.1.8) or 550 "
	 "(5.1.8)"},
	{"dkim", CFG_BOOL, "yes", &cfg.dkim, 0, 0,
	 "verify DKIM signatures (RFC 6376) at end of data"},
	{"arc", CFG_BOOL, "yes", &cfg.arc, 0, 0,
	 "validate ARC chains (RFC 8617) at end of data, for the record"},
	{"dmarc", CFG_BOOL, "yes", &cfg.dmarc, 0, 0,
	 "evaluate the From: domain's DMARC record (RFC 7489)"},
	{"dmarc_policy", CFG_BOOL, "yes", &cfg.dmarc_policy, 0, 0,
	 "apply DMARC policies: reject is 550 5.7.1, quarantine files "
	 "into Junk; no: only record the result"},
	{"local_forgery", CFG_BOOL, "yes", &cfg.local_forgery, 0, 0,
	 "refuse mail claiming a local domain (envelope or From:) that "
	 "passes neither SPF nor DKIM for it (550 5.7.1)"},
	{"authserv_id", CFG_STR, "", &cfg.authserv_id, 0, 0,
	 "our name in Authentication-Results (empty: hostname)"},
	{"psl_file", CFG_STR, "/usr/share/publicsuffix/public_suffix_list.dat",
	 &cfg.psl_file, 0, 0,
	 "Public Suffix List for DMARC's organisational domains (empty: "
	 "the last two labels)"},
	{"chunking", CFG_BOOL, "yes", &cfg.chunking, 0, 0,
	 "offer CHUNKING (BDAT, RFC 3030); BINARYMIME is never offered"},
	MX_SCREEN_PARAMS(cfg.screen),
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv[2];
	struct tls_ctx *tls = NULL, *ctls;
	char err[512];
	int fd, fd_tls = -1;

	/* the key's former name, accepted until the next release */
	config_old_name("recipients", "directory_file");
	daemon_start(argc, argv, "sluice-mx",
		     stage_smtp_table(&cfg.smtp, text, own), &opts);
	log_open("mx", cfg.smtp.syslog);
	daemon_default_hostname(&cfg.smtp.hostname);
	mx.cfg = &cfg;
	mx.domains = config_list(cfg.local_domains);
	if (mx.domains == NULL || mx.domains[0] == NULL)
		log_fatal("local_domains is empty");
	if (mx_routes_init(&mx, &routes, err, sizeof(err)) < 0)
		log_fatal("%s: %s", opts.config ? opts.config : "defaults",
			  err);
	fd = daemon_listen(cfg.smtp.listen);
	if (cfg.smtp.smtps_listen[0])
		fd_tls = daemon_listen(cfg.smtp.smtps_listen);
	if (cfg.smtp.tls_cert[0] && cfg.smtp.tls_key[0] &&
	    access(cfg.smtp.tls_cert, R_OK) == 0) {
		tls = tls_server_ctx(cfg.smtp.tls_cert, cfg.smtp.tls_key, err,
				     sizeof(err));
		if (tls == NULL)
			log_fatal("TLS: %s", err);
	} else if (cfg.smtp.tls_cert[0]) {
		log_warn("no certificate at %s: STARTTLS not offered",
			 cfg.smtp.tls_cert);
	}
	daemon_state_dir(cfg.smtp.queue.queue_dir, cfg.smtp.user);
	mx_screen_init(&mx);
	daemon_drop_privileges(cfg.smtp.user);
	if (cfg.smtp.directory_file[0]) {
		mx.dir = directory_load(cfg.smtp.directory_file, err,
					sizeof(err));
		if (mx.dir == NULL)
			log_fatal("directory_file: %s", err);
	}
	if (cfg.psl_file[0] && (cfg.dmarc || cfg.local_forgery)) {
		mx.psl = psl_load(cfg.psl_file, err, sizeof(err));
		if (mx.psl == NULL)
			log_fatal("psl_file: %s", err);
	}
	mx.loop = evloop_new();
	if (cfg.spf || cfg.dkim || cfg.dmarc || cfg.arc ||
	    cfg.sender_domain_check) {
		mx.dns = dns_new(mx.loop, cfg.smtp.dns_servers,
				 (unsigned)cfg.smtp.dns_timeout * 1000, err,
				 sizeof(err));
		if (mx.dns == NULL)
			log_fatal("%s", err);
	}
	mx_screen_open(&mx);	/* may make mx.dns for the DNS lists */
	if (mx.dns)
		dns_set_cache(mx.dns, (size_t)cfg.smtp.dns_cache_size);
	mx_metrics_register(&mx);
	stage_forward_cfg(&fc, "next_hop_tls", cfg.smtp.next_hop_tls,
			  cfg.smtp.hostname, cfg.smtp.timeout);
	ctls = stage_forward_tls(&fc, 0);
	/* the inner stages (avscan, spamd) want the client's address and
	 * HELO; sent only to hops offering XTRUST to us */
	fc.claims = 1;
	stage_spool_start(mx.loop, &cfg.smtp.queue, &routes, &fc, &mx.spool,
			  "mx");
	stage_smtp_server_cfg(&sc, &cfg.smtp, tls);
	sc.no_chunking = !cfg.chunking;
	sc.greet_trap = cfg.screen.greet_trap;
	sc.postmaster_domain = mx.domains[0];
	srv[0] = stage_serve(mx.loop, &sc, &mx_hooks, &mx, fd);
	srv[1] = stage_serve_tls(mx.loop, &sc, &mx_hooks, &mx, fd_tls);
	stage_smtp_live(&live, &cfg.smtp, srv, tls, mx.spool.fwd,
			reload_routes, &mx.dir);
	stage_reload_start(mx.loop, live_keys, &live);
	log_info("listening on %s, %zu message(s) in the queue, next hop %s",
		 cfg.smtp.listen, queue_count(mx.spool.q), cfg.smtp.next_hop);
	evloop_run(mx.loop);
	smtp_server_free(srv[0]);
	smtp_server_free(srv[1]);
	mx_screen_free(&mx);
	stage_spool_stop(&mx.spool);
	dns_free(mx.dns);
	psl_free(mx.psl);
	evloop_free(mx.loop);
	route_table_free(&routes);
	config_list_free(mx.domains);
	directory_free(mx.dir);
	tls_ctx_free(tls);
	tls_ctx_free(ctls);
	log_info("stopped");
	return 0;
}
