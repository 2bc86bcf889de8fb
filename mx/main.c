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
#include "evloop.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "mx.h"
#include "queue.h"
#include "stage.h"
#include "route.h"
#include "tls.h"

static struct mx_config cfg;
static struct mx mx;
static struct route_table routes;

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:2525", &cfg.listen, 0, 0,
	 "address and port for SMTP"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in the greeting and Received (empty: the host name)"},
	{"local_domains", CFG_STR, "example.test", &cfg.local_domains, 0, 0,
	 "domains we accept mail for (comma separated)"},
	{"next_hop", CFG_STR, "lmtp:127.0.0.1:10024", &cfg.next_hop, 0, 0,
	 "where accepted mail goes (lmtp:host:port or smtp:host:port, ...)"},
	{"next_hop_mode", CFG_STR, "ordered", &cfg.next_hop_mode, 0, 0,
	 "ordered (active-backup) or spread (load-balanced)"},
	{"domain_routes", CFG_STR, "", &cfg.domain_routes, 0, 0,
	 "per-domain hops: domain = hop, hop; other.domain = hop"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	TLS_KEY_PARAMS(cfg.tls_cert, cfg.tls_key,
		       "PEM certificate chain for STARTTLS (empty: no "
		       "STARTTLS)", "PEM private key for STARTTLS"),
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "500", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS)),
	{"max_header_size", CFG_SIZE, "1m", &cfg.max_header_size, 1024,
	 LIM_MSG_SIZE_MAX, "largest header section accepted"},
	STAGE_QUEUE_PARAMS(cfg.queue, "var/mx/queue", "60s"),
	{"next_hop_tls", CFG_STR, "may", &cfg.next_hop_tls, 0, 0,
	 "STARTTLS to next hops: none, may (when offered) or encrypt"},
	{"recipients", CFG_STR, "", &cfg.recipients, 0, 0,
	 "directory snapshot from the store: unknown recipients get 550 "
	 "5.1.1 at RCPT (empty: accept every local-domain recipient)"},
	{"alias_relay", CFG_STR, "", &cfg.alias_relay, 0, 0,
	 "hops for the remote targets of aliases, e.g. the outmta "
	 "(empty: remote targets are not expanded)"},
	{"smtps_listen", CFG_STR, "", &cfg.smtps_listen, 0, 0,
	 "address and port for SMTP over implicit TLS (empty: none)"},
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
	struct smtp_server *srv, *srv_tls = NULL;
	struct tls_ctx *tls = NULL, *ctls;
	char err[512];
	int fd, fd_tls = -1;

	daemon_start(argc, argv, "sluice-mx", table, &opts);
	log_open("mx", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	mx.cfg = &cfg;
	mx.domains = config_list(cfg.local_domains);
	if (mx.domains == NULL || mx.domains[0] == NULL)
		log_fatal("local_domains is empty");
	if (mx_routes_init(&mx, &routes, err, sizeof(err)) < 0)
		log_fatal("%s: %s", opts.config ? opts.config : "defaults",
			  err);
	fd = daemon_listen(cfg.listen);
	if (cfg.smtps_listen[0])
		fd_tls = daemon_listen(cfg.smtps_listen);
	if (cfg.tls_cert[0] && cfg.tls_key[0] &&
	    access(cfg.tls_cert, R_OK) == 0) {
		tls = tls_server_ctx(cfg.tls_cert, cfg.tls_key, err,
				     sizeof(err));
		if (tls == NULL)
			log_fatal("TLS: %s", err);
	} else if (cfg.tls_cert[0]) {
		log_warn("no certificate at %s: STARTTLS not offered",
			 cfg.tls_cert);
	}
	daemon_state_dir(cfg.queue.queue_dir, cfg.user);
	mx_screen_init(&mx);
	daemon_drop_privileges(cfg.user);
	if (cfg.recipients[0]) {
		mx.dir = directory_load(cfg.recipients, err, sizeof(err));
		if (mx.dir == NULL)
			log_fatal("recipients: %s", err);
	}
	mx.loop = evloop_new();
	mx_screen_open(&mx);
	stage_forward_cfg(&fc, "next_hop_tls", cfg.next_hop_tls,
			  cfg.hostname, cfg.timeout);
	ctls = stage_forward_tls(&fc, 0);
	/* the inner stages (avscan, spamd) want the client's address and
	 * HELO; sent only to hops offering XTRUST to us */
	fc.claims = 1;
	stage_spool_start(mx.loop, &cfg.queue, &routes, &fc, &mx.spool, "mx");
	memset(&sc, 0, sizeof(sc));
	sc.hostname = cfg.hostname;
	sc.max_size = cfg.max_message_size;
	sc.max_header = cfg.max_header_size;
	sc.max_rcpts = cfg.max_recipients;
	sc.max_sessions = cfg.max_sessions;
	sc.timeout = cfg.timeout;
	sc.sess = cfg.sess;
	sc.tls = tls;
	sc.dsn = 1;
	sc.no_chunking = !cfg.chunking;
	sc.greet_pause_ms = cfg.screen.greet_pause_ms;
	sc.greet_trap = cfg.screen.greet_trap;
	sc.postmaster_domain = mx.domains[0];
	srv = smtp_server_new(mx.loop, &sc, &mx_hooks, &mx);
	if (smtp_server_listen(srv, fd) < 0)
		log_fatal("cannot watch the listening socket");
	if (fd_tls >= 0) {
		if (tls == NULL)
			log_fatal("smtps_listen needs tls_cert and tls_key");
		sc.implicit_tls = 1;
		srv_tls = smtp_server_new(mx.loop, &sc, &mx_hooks, &mx);
		if (smtp_server_listen(srv_tls, fd_tls) < 0)
			log_fatal("cannot watch the listening socket");
	}
	log_info("listening on %s, %zu message(s) in the queue, next hop %s",
		 cfg.listen, queue_count(mx.spool.q), cfg.next_hop);
	evloop_run(mx.loop);
	smtp_server_free(srv);
	smtp_server_free(srv_tls);
	mx_screen_free(&mx);
	stage_spool_stop(&mx.spool);
	evloop_free(mx.loop);
	route_table_free(&routes);
	config_list_free(mx.domains);
	directory_free(mx.dir);
	tls_ctx_free(tls);
	tls_ctx_free(ctls);
	log_info("stopped");
	return 0;
}
