/*
 * NAME
 *	sluice-admin - delegated administration of Sluice over HTTPS
 * SYNOPSIS
 *	sluice-admin [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Binds its HTTPS port and reads its TLS key as root, drops to its
 *	user, then serves the pages of admin_pages.c from the HTTP
 *	library's thread while this thread waits for signals, wakes the
 *	delayed answers to failed logins and scrapes the statistics every
 *	stats_interval. It edits the same directory as sluicectl (SQLite, or
 *	PostgreSQL by a postgresql:// directory), through the same code
 *	(store/dir/store_dir*.c), from the HTTP thread only (one connection),
 *	and publishes the same snapshots. Faces the network through
 *	admin_http.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authlimit.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "sasl.h"

#include "../store/dir/store_dir.h"
#include "admin.h"

/* the first failed login's delay; doubled per failure (authlimit.h) */
#define ADMIN_FAIL_DELAY_MS 500

static struct admin_cfg cfg;

/* A snapshot's path into out (4096 bytes): key's value, or when empty
 * the directory snapshot's with suffix. */
static void snapshot_path(char *out, const char *key, const char *value,
			  const char *suffix)
{
	if ((size_t)snprintf(out, 4096, "%s%s", value[0] ? value :
			     cfg.snapshot, value[0] ? "" : suffix) >= 4096)
		log_fatal("%s: path too long", key);
}

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:8443", &cfg.listen, 0, 0,
	 "address and port of the HTTPS server (TLS only)"},
	TLS_KEY_PARAMS(cfg.tls_cert, cfg.tls_key,
		       "certificate (PEM) of the HTTPS server",
		       "private key (PEM) of the HTTPS server"),
	{"tls_client_ca", CFG_STR, "", &cfg.tls_client_ca, 0, 0,
	 "CA certificates (PEM) whose client certificates are asked for "
	 "and required (empty: no client certificates)"},
	{"allow_networks", CFG_STR, "127.0.0.0/8, ::1/128",
	 &cfg.allow_networks, 0, 0,
	 "client networks that may connect; others are closed at once"},
	{"directory", CFG_STR, "var/store/directory.db", &cfg.directory, 0, 0,
	 "the user directory sluicectl edits: an SQLite file, or a "
	 "postgresql:// URI shared by many hosts"},
	{"snapshot", CFG_STR, "var/store/users", &cfg.snapshot, 0, 0,
	 "the directory snapshot written on every change"},
	{"credentials", CFG_STR, "", &cfg.credentials, 0, 0,
	 "the credentials snapshot written on every change and read for "
	 "logins (empty: snapshot + \".auth\")"},
	{"sender_lists", CFG_STR, "", &cfg.sender_lists, 0, 0,
	 "the sender lists snapshot (users' allow and block lists, which "
	 "spamd reads) written on every change (empty: snapshot + "
	 "\".senders\")"},
	{"state_dir", CFG_STR, "var/admin", &cfg.state_dir, 0, 0,
	 "audit.log and stats.db live here"},
	{"queues", CFG_STR, "mx:var/mx/queue, outmta:var/outmta/queue, "
	 "msa:var/msa/queue, avscan:var/avscan/queue, spamd:var/spamd/queue",
	 &cfg.queues, 0, 0,
	 "NAME:QUEUE_DIR of every stage's queue (its control socket is "
	 "QUEUE_DIR/control)"},
	{"metrics", CFG_STR, "", &cfg.metrics, 0, 0,
	 "NAME=URL of every stage's metrics endpoint (Prometheus text, "
	 "http://127.0.0.1:PORT/metrics, loopback only)"},
	{"stats_interval", CFG_TIME, "60s", &cfg.stats_interval, 1, 86400,
	 "how often the metrics are collected"},
	{"mail_host", CFG_STR, "localhost", &cfg.mail_host, 0, 0,
	 "host name users' mail clients connect to (the welcome page)"},
	{"imaps_port", CFG_INT, "993", &cfg.imaps_port, 1, 65535,
	 "IMAP over TLS port shown to users"},
	{"pop3s_port", CFG_INT, "995", &cfg.pop3s_port, 1, 65535,
	 "POP3 over TLS port shown to users"},
	{"submission_port", CFG_INT, "587", &cfg.submission_port, 1, 65535,
	 "submission (STARTTLS) port shown to users"},
	{"session_timeout", CFG_TIME, "30m", &cfg.session_timeout, 60, 86400,
	 "an idle session ends after this long"},
	AUTH_FAIL_PARAMS(cfg.auth_fail_max, cfg.auth_fail_window,
			 "failed logins per client address or user within "
			 "auth_fail_window before it is locked out",
			 "how long failed logins count"),
	{"max_connections", CFG_INT, "64", &cfg.max_connections, 1, 10000,
	 "concurrent HTTPS connections"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	{NULL, 0, NULL, NULL, 0, 0, NULL},
};

static struct admin adm;

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct timespec ts = {0, 50 * 1000 * 1000};
	sigset_t set;
	char err[512], path[4096];
	time_t next_stats = 0;
	int fd, sig;

	daemon_start(argc, argv, "sluice-admin", table, &opts);
	log_open("admin", cfg.syslog);
	adm.cfg = &cfg;
	adm.allow = config_list(cfg.allow_networks);
	adm.queues = config_list(cfg.queues);
	adm.metrics = config_list(cfg.metrics);
	if (adm.allow == NULL || adm.queues == NULL || adm.metrics == NULL)
		log_fatal("out of memory");
	snapshot_path(adm.creds, "credentials", cfg.credentials, ".auth");
	snapshot_path(adm.senders, "sender_lists", cfg.sender_lists,
		      ".senders");
	fd = daemon_listen(cfg.listen);
	daemon_state_dir(cfg.state_dir, cfg.user);
	/* the key is read as root, before the drop */
	admin_http_keys(&adm);
	daemon_drop_privileges(cfg.user);
	adm.dir = store_dir_open(cfg.directory, err, sizeof(err));
	if (adm.dir == NULL)
		log_fatal("directory: %s", err);
	if (sasl_setup("sluice", adm.creds, err, sizeof(err)) < 0)
		log_fatal("credentials: %s", err);
	adm.authlimit = authlimit_new((unsigned)cfg.auth_fail_max,
				      (uint64_t)cfg.auth_fail_window * 1000,
				      ADMIN_FAIL_DELAY_MS);
	snprintf(path, sizeof(path), "%s/stats.db", cfg.state_dir);
	adm.stats = admin_stats_open(path, err, sizeof(err));
	if (adm.authlimit == NULL || adm.stats == NULL)
		log_fatal("stats: %s", err);
	admin_sess_open(&adm);
	signal(SIGPIPE, SIG_IGN);
	/* requests only once everything they use is there */
	admin_http_start(&adm, fd);
	log_info("listening on %s (HTTPS), directory %s", cfg.listen,
		 cfg.directory);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	for (;;) {
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			log_fatal("sigtimedwait: %s", strerror(errno));
		admin_http_tick();
		if (time(NULL) >= next_stats) {
			admin_stats_collect(&adm);
			next_stats = time(NULL) + (time_t)cfg.stats_interval;
		}
	}
	admin_http_stop();
	admin_stats_close(adm.stats);
	store_dir_close(adm.dir);
	authlimit_free(&adm.authlimit);
	sasl_teardown();
	config_list_free(adm.allow);
	config_list_free(adm.queues);
	config_list_free(adm.metrics);
	log_info("stopped");
	return 0;
}
