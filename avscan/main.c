/*
 * NAME
 *	sluice-avscan - stage C, antivirus with libclamav
 * SYNOPSIS
 *	sluice-avscan [-c config] [-f] [-t] [-p] [-m]
 * DESCRIPTION
 *	Options and configuration, loading the signatures (before -t
 *	answers, so a check proves they load), then start-up: the LMTP
 *	stage (bind, drop privileges, open the queue, start the scan
 *	threads and the forwarder, serve the trusted stages before us) or,
 *	with -m, the milter mode. See sluice-avscan.8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avscan.h"
#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "forward.h"
#include "log.h"
#include "quarantine.h"
#include "queue.h"
#include "route.h"
#include "stage.h"
#include "stage_reload.h"
#include "tls.h"
#include "workq.h"

static struct avscan_config cfg;
static struct avscan av;
static struct route_table routes;
static struct avscan_engine *engine;
static struct daemon_opts opts;

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:10024", &cfg.listen, 0, 0,
	 "address and port for LMTP from the stages before us"},
	{"milter_listen", CFG_STR, "127.0.0.1:8891", &cfg.milter_listen, 0,
	 0, "address and port of the milter mode (-m)"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in LHLO and Received (empty: the host name)"},
	{"trusted_peers", CFG_STR, "127.0.0.1", &cfg.trusted_peers, 0, 0,
	 "who may send through us: addresses or a.b.c.d/len, comma separated"},
	{"next_hop", CFG_STR, "lmtp:127.0.0.1:10025", &cfg.next_hop, 0, 0,
	 "where clean mail goes (lmtp:host:port or smtp:host:port, ...)"},
	{"next_hop_mode", CFG_STR, "ordered", &cfg.next_hop_mode, 0, 0,
	 "ordered (active-backup) or spread (load-balanced)"},
	{"next_hop_tls", CFG_STR, "may", &cfg.next_hop_tls, 0, 0,
	 "STARTTLS to next hops: none, may (when offered) or encrypt"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	{"clamav_database", CFG_STR, "/var/lib/clamav", &cfg.clamav_database,
	 0, 0, "ClamAV signatures: a directory (freshclam's) or one "
	 ".cvd/.hdb/.ndb file"},
	{"scan_threads", CFG_INT, "2", &cfg.scan_threads, 1, 64,
	 "messages scanned at once (worker threads)"},
	{"large_message_size", CFG_SIZE, "1m", &cfg.large_message_size, 1024,
	 4LL << 30, "messages this large or larger are scanned on at most "
	 "large_scan_threads threads at once"},
	{"large_scan_threads", CFG_INT, "1", &cfg.large_scan_threads, 1, 64,
	 "threads that may scan large messages at once (at most "
	 "scan_threads - 1: the rest stay free for small mail)"},
	{"infected_action", CFG_CHOICE, "quarantine|discard|reject",
	 &cfg.infected_action, 0, 0,
	 "infected mail: kept in quarantine_dir, dropped, or refused (550)"},
	{"quarantine_dir", CFG_STR, "var/avscan/quarantine",
	 &cfg.quarantine_dir, 0, 0, "where quarantined messages are kept"},
	{"scan_tmp_dir", CFG_STR, "var/avscan/tmp", &cfg.scan_tmp_dir, 0, 0,
	 "where libclamav unpacks MIME parts and archives while scanning "
	 "(private; a tmpfs makes scans faster)"},
	{"scan_error_action", CFG_CHOICE, "tempfail|accept",
	 &cfg.scan_error_action, 0, 0,
	 "when a scan fails: 451 (the sender retries) or pass the mail on "
	 "marked unchecked"},
	{"max_scan_size", CFG_SIZE, "100m", &cfg.max_scan_size, 1024,
	 4LL << 30, "ClamAV: most data scanned per message, unpacked "
	 "content included"},
	{"max_file_size", CFG_SIZE, "25m", &cfg.max_file_size, 1024,
	 4LL << 30, "ClamAV: larger parts (attachments, archive members) "
	 "are not scanned"},
	/* clamd's 17, plus the levels of the mail's own MIME part and
	 * transfer encoding: clamav-testfiles' clam_cache_emax.tgz needs 18
	 * as an attachment */
	{"max_recursion", CFG_INT, "20", &cfg.max_recursion, 1, 100,
	 "ClamAV: nesting depth of archives and MIME parts"},
	{"max_files", CFG_INT, "10000", &cfg.max_files, 1, 1000000,
	 "ClamAV: files unpacked from one message"},
	{"max_scan_time", CFG_TIME, "120s", &cfg.max_scan_time, 1, 3600,
	 "ClamAV: longest scan of one message"},
	/* quarantine by default: a limit hit is deterministic, so a 451
	 * has the stage before us retry (rescanning the bomb) for days and
	 * then bounce it, and a reject bounces it (backscatter) or loses
	 * a large legitimate archive; the quarantine keeps it for the
	 * operator, once */
	{"limits_exceeded_action", CFG_CHOICE,
	 "quarantine|tempfail|reject|accept", &cfg.limits_exceeded_action, 0,
	 0, "mail libclamav could not scan whole (past max_recursion, "
	 "max_files, a size or max_scan_time): kept in quarantine_dir (milter: "
	 "held by the MTA), 451, 550, or passed on marked unchecked"},
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "200", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS_INNER)),
	STAGE_QUEUE_PARAMS(cfg.queue, "var/avscan/queue", "1m"),
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

static struct stage_live live;

/* What a reload may change (stage_reload.h): the signatures and the
 * engine limits take a new engine. */
static const char *const live_keys[] = {
	DAEMON_LIVE_KEYS, STAGE_LIVE_ROUTES, "clamav_database",
	"infected_action", "scan_error_action", "limits_exceeded_action",
	"max_scan_size", "max_file_size", "max_recursion", "max_files",
	"max_scan_time", NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	if (route_table_init(t, cfg.next_hop, "", cfg.next_hop_mode, err,
			     errlen) < 0)
		return -1;
	quarantine_note_hops(cfg.quarantine_dir, cfg.next_hop, "");
	return 0;
}

static struct avscan_reload *reloader;

/* A new engine, compiled on the reload thread: scans from now on. */
static void install_engine(struct avscan_engine *e)
{
	if (avscan_engine_swap(&av, e, engine) < 0) {
		log_error("reload: older signatures still scanning: try again "
			  "later");
		avscan_clam_free(&e);
		return;
	}
	engine = e;
	log_info("reload: %u signature(s) from %s",
		 avscan_clam_signatures(e), cfg.clamav_database);
}

/* SIGHUP: the signatures again (libclamav has no incremental load). */
static void reload_signatures(void *arg)
{
	(void)arg;
	avscan_reload_request(reloader);
}

static void free_engine(void)
{
	avscan_clam_free(&engine);
}

/* Load the signatures at check time: a bad database fails -t too. */
static int check(const char *config, char *err, size_t errlen)
{
	struct avscan_limits lim = {cfg.max_scan_size, cfg.max_file_size,
				    cfg.max_recursion, cfg.max_files,
				    cfg.max_scan_time, cfg.scan_tmp_dir};
	char why[400];
	int line = config_key_line(config, "clamav_database");

	engine = avscan_clam_load(cfg.clamav_database, &lim, why,
				  sizeof(why));
	if (engine != NULL) {
		/* -t and -p exit in daemon_start_check() */
		atexit(free_engine);
		return 0;
	}
	if (line > 0)
		snprintf(err, errlen, "%s:%d: clamav_database: %s", config,
			 line, why);
	else
		snprintf(err, errlen, "%s: clamav_database (default %s): %s",
			 config ? config : "(embedded defaults)",
			 cfg.clamav_database, why);
	return -1;
}

/* -m is ours alone; daemon_start() parses the rest. */
static int take_milter_flag(int *argc, char **argv)
{
	int i, found = 0;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-m") != 0)
			continue;
		memmove(&argv[i], &argv[i + 1],
			(size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		i--;
		found = 1;
	}
	return found;
}

static void run_lmtp(void)
{
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv;
	struct evloop *loop;
	struct tls_ctx *ctls;
	char err[512];
	int fd;

	stage_routes_init(&routes, cfg.next_hop, "", cfg.next_hop_mode,
			  opts.config);
	fd = daemon_listen(cfg.listen);
	daemon_state_dir(cfg.queue.queue_dir, cfg.user);
	daemon_state_dir(cfg.quarantine_dir, cfg.user);
	daemon_state_dir(cfg.scan_tmp_dir, cfg.user);
	daemon_drop_privileges(cfg.user);
	quarantine_note_hops(cfg.quarantine_dir, cfg.next_hop, "");
	loop = evloop_new();
	stage_forward_cfg(&fc, "next_hop_tls", cfg.next_hop_tls,
			  cfg.hostname, cfg.timeout);
	ctls = stage_forward_tls(&fc, 0);
	fc.claims = 1; /* our hops are inner stages */
	stage_spool_start(loop, &cfg.queue, &routes, &fc, &av.spool,
			  "avscan");
	av.wq = workq_new(loop, (int)cfg.scan_threads, err, sizeof(err));
	if (av.wq == NULL)
		log_fatal("scan threads: %s", err);
	/* a huge message never holds every scanner: small mail keeps one */
	workq_limit_heavy(av.wq, (int)(cfg.large_scan_threads <
				       cfg.scan_threads ?
				       cfg.large_scan_threads :
				       cfg.scan_threads - 1));
	STAGE_SERVER_CFG(sc, cfg);
	sc.lmtp = 1;
	sc.trusted_peers = av.peers;
	srv = stage_serve(loop, &sc, &avscan_hooks, &av, fd);
	live.srv[0] = srv;
	STAGE_LIVE_LIMITS(live, cfg);
	live.fwd = av.spool.fwd;
	live.routes = reload_routes;
	reloader = avscan_reload_new(loop, &cfg, install_engine);
	live.more = reload_signatures;
	stage_reload_start(loop, live_keys, &live);
	log_info("listening on %s, ClamAV %s, %u signature(s), %lld scan "
		 "thread(s), %zu message(s) in the queue, next hop %s",
		 cfg.listen, avscan_clam_version(),
		 avscan_clam_signatures(engine), cfg.scan_threads,
		 queue_count(av.spool.q), cfg.next_hop);
	evloop_run(loop);
	avscan_reload_free(&reloader);
	smtp_server_free(srv);	/* orphans the scans under way */
	workq_free(&av.wq);	/* their done functions free them */
	stage_spool_stop(&av.spool);
	evloop_free(loop);
	tls_ctx_free(ctls);
	route_table_free(&routes);
}

int main(int argc, char **argv)
{
	int milter = take_milter_flag(&argc, argv), rc = 0;

	daemon_start_check(argc, argv, "sluice-avscan", table, check, &opts);
	log_open("avscan", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	av.cfg = &cfg;
	av.engine = engine;
	av.peers = config_list(cfg.trusted_peers);
	if (av.peers == NULL)
		log_fatal("out of memory");
	if (milter) {
		daemon_state_dir(cfg.scan_tmp_dir, cfg.user);
		rc = avscan_milter_run(&cfg, engine);
	} else {
		run_lmtp();
	}
	config_list_free(av.peers);
	avscan_clam_free(&engine);
	log_info("stopped");
	return rc;
}
