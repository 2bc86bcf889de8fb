/*
 * NAME
 *	sluice-spamd - stage D, antispam: Bayes, rules, DNSBL
 * SYNOPSIS
 *	sluice-spamd [-m] [-c config] [-f] [-t] [-p]
 * DESCRIPTION
 *	Options and configuration, then start-up: the rules, the Bayes
 *	table, the DNSBL zones; then either the LMTP stage (bind, drop
 *	privileges, open the queue, start the resolver, the worker threads
 *	and the forwarder, serve the trusted stages) or, with -m, the milter
 *	(spamd_milter.c). See sluice-spamd.8.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "dns.h"
#include "evloop.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "quarantine.h"
#include "queue.h"
#include "route.h"
#include "shstate.h"
#include "spamd_stage.h"
#include "stage.h"
#include "stage_reload.h"
#include "tls.h"
#include "workq.h"

static struct spamd_config cfg;
static struct spamd sd;
static struct route_table routes;
static struct stage_live live;
static struct spamd_learn *learn;

/* What a reload may change (stage_reload.h). */
static const char *const live_keys[] = {
	DAEMON_LIVE_KEYS, "next_hop", "next_hop_mode", "domain_routes", NULL};

static int reload_routes(struct route_table *t, char *err, size_t errlen)
{
	if (route_table_init(t, cfg.next_hop, cfg.domain_routes,
			     cfg.next_hop_mode, err, errlen) < 0)
		return -1;
	quarantine_note_hops(cfg.quarantine_dir, cfg.next_hop,
			     cfg.domain_routes);
	return 0;
}

static const struct cfg_param table[] = {
	{"listen", CFG_STR, "127.0.0.1:10025", &cfg.listen, 0, 0,
	 "address and port for LMTP from the trusted stages"},
	{"milter_listen", CFG_STR, "127.0.0.1:8892", &cfg.milter_listen, 0, 0,
	 "address and port of the milter (sluice-spamd -m)"},
	{"hostname", CFG_STR, "", &cfg.hostname, 0, 0,
	 "our name in LHLO and Received (empty: the host name)"},
	{"trusted_peers", CFG_STR, "127.0.0.1", &cfg.trusted_peers, 0, 0,
	 "who may send through us: addresses or a.b.c.d/len, comma separated"},
	{"next_hop", CFG_STR, "smtp:127.0.0.1:10026", &cfg.next_hop, 0, 0,
	 "where scanned mail for other domains goes (outmta): "
	 "lmtp:host:port or smtp:host:port, comma separated (tried in "
	 "order)"},
	{"domain_routes", CFG_STR, "example.test = lmtp:127.0.0.1:2424",
	 &cfg.domain_routes, 0, 0,
	 "per-domain hops: the local domains to the store"},
	{"next_hop_mode", CFG_STR, "ordered", &cfg.next_hop_mode, 0, 0,
	 "ordered (active-backup) or spread (load-balanced), for next_hop "
	 "and every list of domain_routes"},
	DAEMON_PARAMS(cfg.user, cfg.syslog),
	{"bayes_db", CFG_STR, "var/spamd/bayes.db", &cfg.bayes_db, 0, 0,
	 "SQLite token counts from sluice-spamtrain (missing: no Bayes)"},
	{"bayes_check_interval", CFG_TIME, "10s", &cfg.bayes_check_interval,
	 1, 86400, "how often bayes_db is looked at for a newer version"},
	{"bayes_min_count", CFG_INT, "50", &cfg.bayes_min_count, 1, 1000000,
	 "messages of each class trained before Bayes counts"},
	{"rules_file", CFG_STR, "", &cfg.rules_file, 0, 0,
	 "more rules (header/body/describe lines; empty: built-in only)"},
	{"body_rules_size", CFG_SIZE, "32k", &cfg.body_rules_size, 1024,
	 1 << 20, "bytes of decoded text the body rules see"},
	{"scan_size", CFG_SIZE, "256k", &cfg.scan_size, 4096, 16 << 20,
	 "bytes of a message the rules and Bayes read"},
	{"scan_threads", CFG_INT, "2", &cfg.scan_threads, 1, 64,
	 "worker threads that score messages"},
	{"dnsbl_zones", CFG_STR, "", &cfg.dnsbl_zones, 0, 0,
	 "DNS blocklists, zone[:score] comma separated (default score 3.0)"},
	{"redis_server", CFG_STR, "", &cfg.redis_server, 0, 0,
	 "host:port of the Redis that the servers of a pair share their "
	 "DNS blocklist verdicts through (empty: local cache only)"},
	{"dns_servers", CFG_STR, "", &cfg.dns_servers, 0, 0,
	 "resolvers, host[:port] comma separated (empty: /etc/resolv.conf)"},
	{"dns_timeout", CFG_TIME, "5s", &cfg.dns_timeout, 1, 60,
	 "time allowed for one DNS try (two tries per lookup)"},
	{"dns_cache_size", CFG_INT, "10000", &cfg.dns_cache_size, 0, 1000000,
	 "DNS answers kept for their TTL (at most an hour; failures never), "
	 "least recently used dropped first (0: no cache)"},
	{"required_score", CFG_STR, "5.0", &cfg.required_score, 0, 0,
	 "score from which mail is spam (X-Spam-Flag: YES)"},
	{"quarantine_score", CFG_STR, "0", &cfg.quarantine_score, 0, 0,
	 "score from which mail goes to quarantine_dir instead (0: off)"},
	{"reject_score", CFG_STR, "0", &cfg.reject_score, 0, 0,
	 "score from which mail is refused, 550 5.7.1 (0: off)"},
	{"quarantine_dir", CFG_STR, "var/spamd/quarantine", &cfg.quarantine_dir,
	 0, 0, "where quarantined messages are written, one file each"},
	{"user_spam_quarantine", CFG_BOOL, "yes", &cfg.user_spam_quarantine,
	 0, 0, "spam of our own users (entered by msa, authenticated) is "
	 "quarantined whatever the scores above say, and admin_notify told"},
	{"admin_notify", CFG_STR, "", &cfg.admin_notify, 0, 0,
	 "who hears of user spam (empty: postmaster@ the first domain of "
	 "domain_routes; none there: nobody, the log line only)"},
	{"sender_lists", CFG_STR, "var/store/users.senders", &cfg.sender_lists,
	 0, 0, "the sender lists snapshot (users' allow and block lists of "
	 "senders) that sluicectl exports; reloaded when it changes "
	 "(missing: nobody has lists; empty: off)"},
	{"learn_listen", CFG_STR, "", &cfg.learn_listen, 0, 0,
	 "address and port of the learn listener: LMTP from the store with "
	 "the messages users move into or out of Junk (empty: off; LMTP "
	 "mode only)"},
	{"learn_peers", CFG_STR, "127.0.0.1", &cfg.learn_peers, 0, 0,
	 "who may teach us (the stores): addresses or a.b.c.d/len, comma "
	 "separated"},
	{"learn_publish_interval", CFG_TIME, "2s",
	 &cfg.learn_publish_interval, 1, 3600,
	 "learnt counts reach the scorers at most this long after they "
	 "were written (a new table is loaded from bayes_db)"},
	{"learn_publish_count", CFG_INT, "100", &cfg.learn_publish_count, 1,
	 1000000, "or as soon as this many messages were learnt"},
	SMTP_LIMIT_PARAMS(cfg.max_message_size, cfg.max_recipients,
			  cfg.max_sessions, "200", cfg.timeout,
			  cfg.sess, LIM_STR(LIM_CLIENT_SESSIONS_INNER)),
	STAGE_QUEUE_PARAMS(cfg.queue, "var/spamd/queue", "1m"),
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

/* Remove flag (-m, -t) from argv: daemon_start() knows the common
 * options only, and its -t would not check the rules and scores. */
static int take_flag(int *argc, char **argv, const char *flag)
{
	int i, j, found = 0;

	for (i = j = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], flag) == 0)
			found = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return found;
}

/* What both modes need: scores, rules, Bayes, DNSBL zones. */
static void core_start(void)
{
	char err[512];

	sd.cfg = &cfg;
	sd.core.required = spamd_parse_score("required_score",
					     cfg.required_score);
	sd.quarantine = spamd_parse_score("quarantine_score",
					  cfg.quarantine_score);
	sd.reject = spamd_parse_score("reject_score", cfg.reject_score);
	sd.core.scan_size = (size_t)cfg.scan_size;
	sd.core.body_size = (size_t)cfg.body_rules_size;
	sd.core.bayes_min = cfg.bayes_min_count;
	sd.core.rules = spamd_rules_load(cfg.rules_file, err, sizeof(err));
	if (sd.core.rules == NULL)
		log_fatal("rules_file: %s", err);
	sd.dnsbl = spamd_dnsbl_new(cfg.dnsbl_zones, err, sizeof(err));
	if (sd.dnsbl == NULL)
		log_fatal("%s", err);
	if (spamd_lists_init(&sd.lists, cfg.sender_lists, err,
			     sizeof(err)) < 0)
		log_fatal("sender_lists: %s", err);
}

static void bayes_start(void)
{
	long long nspam, nham;
	char err[512];

	if (bayes_slot_init(&sd.bayes, cfg.bayes_db, cfg.bayes_check_interval,
			    err, sizeof(err)) < 0)
		log_fatal("bayes_db: %s", err);
	bayes_counts(sd.bayes.cur, &nspam, &nham);
	log_info("%zu rules, bayes_db %s: %lld spam, %lld ham trained, "
		 "%zu DNSBL zone(s)", spamd_rules_count(sd.core.rules),
		 cfg.bayes_db, nspam, nham, spamd_dnsbl_count(sd.dnsbl));
}

/* The learner writes bayes_db: its folder (for SQLite's journal) and
 * the file become the daemon user's, as the queue's folder does. */
static void learn_db_owner(void)
{
	char dir[4096];
	struct stat sb;
	char *slash;

	snprintf(dir, sizeof(dir), "%s", cfg.bayes_db);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return;		/* the working folder: the operator's */
	slash[slash == dir] = '\0';
	daemon_state_dir(dir, cfg.user);
	if (geteuid() == 0 && stat(dir, &sb) == 0 &&
	    access(cfg.bayes_db, F_OK) == 0 &&
	    chown(cfg.bayes_db, sb.st_uid, sb.st_gid) < 0)
		log_fatal("chown %s: %s", cfg.bayes_db, strerror(errno));
}

static void core_stop_rules(void)
{
	spamd_rules_free((struct spamd_rules *)sd.core.rules);
	spamd_dnsbl_free(sd.dnsbl);
	spamd_lists_free(&sd.lists);
}

static void core_stop(void)
{
	bayes_slot_free(&sd.bayes);
	core_stop_rules();
}

int main(int argc, char **argv)
{
	struct daemon_opts opts;
	struct smtp_server_cfg sc;
	struct forward_cfg fc;
	struct smtp_server *srv;
	struct evloop *loop;
	struct tls_ctx *ctls;
	char err[512];
	int fd, lfd = -1, milter, check, rc;

	milter = take_flag(&argc, argv, "-m");
	check = take_flag(&argc, argv, "-t");
	daemon_start(argc, argv, "sluice-spamd", table, &opts);
	log_open("spamd", cfg.syslog);
	daemon_default_hostname(&cfg.hostname);
	core_start();
	if (check) {
		printf("sluice-spamd: configuration %s OK\n",
		       opts.config ? opts.config : "(defaults)");
		core_stop_rules();
		return 0;
	}
	if (milter) {
		rc = spamd_milter_run(&sd, bayes_start);
		core_stop();
		return rc;
	}
	sd.admin = spamd_admin_default(cfg.admin_notify, cfg.domain_routes);
	if (cfg.user_spam_quarantine && sd.admin == NULL)
		log_warn("admin_notify: not set and no domain in "
			 "domain_routes: user spam is held, nobody told");
	sd.peers = config_list(cfg.trusted_peers);
	if (sd.peers == NULL)
		log_fatal("out of memory");
	stage_routes_init(&routes, cfg.next_hop, cfg.domain_routes,
			  cfg.next_hop_mode, opts.config);
	stage_forward_cfg(&fc, "tls_policy", "none", cfg.hostname,
			  cfg.timeout);
	fc.claims = 1;	/* the next stages want the trust information */
	fd = daemon_listen(cfg.listen);
	if (*cfg.learn_listen) {
		if (*cfg.bayes_db == '\0')
			log_fatal("learn_listen needs bayes_db, where the "
				  "learnt counts go");
		lfd = daemon_listen(cfg.learn_listen);
		learn_db_owner();
	}
	daemon_state_dir(cfg.queue.queue_dir, cfg.user);
	daemon_state_dir(cfg.quarantine_dir, cfg.user);
	daemon_drop_privileges(cfg.user);
	quarantine_note_hops(cfg.quarantine_dir, cfg.next_hop,
			     cfg.domain_routes);
	loop = evloop_new();
	sd.dns = dns_new(loop, cfg.dns_servers,
			 (unsigned)cfg.dns_timeout * 1000, err, sizeof(err));
	if (sd.dns == NULL)
		log_fatal("%s", err);
	dns_set_cache(sd.dns, (size_t)cfg.dns_cache_size);
	if (*cfg.redis_server != '\0' &&
	    (sd.sh = shstate_new(loop, cfg.redis_server, 0, err,
				 sizeof(err))) == NULL)
		log_fatal("redis_server: %s", err);
	sd.wq = workq_new(loop, (int)cfg.scan_threads, err, sizeof(err));
	if (sd.wq == NULL)
		log_fatal("scan_threads: %s", err);
	ctls = stage_forward_tls(&fc, 0);
	stage_spool_start(loop, &cfg.queue, &routes, &fc, &sd.spool, "spamd");
	/* the queue is ours (and answers sluice-queue) before the slow
	 * part: a sluice-queue run as root in between would open it
	 * offline and leave files the daemon cannot use */
	bayes_start();
	STAGE_SERVER_CFG(sc, cfg);
	sc.lmtp = 1;
	sc.trusted_peers = sd.peers;
	srv = stage_serve(loop, &sc, &spamd_hooks, &sd, fd);
	if (lfd >= 0)
		learn = spamd_learn_start(&sd, loop, lfd);
	live.srv[0] = srv;
	STAGE_LIVE_LIMITS(live, cfg);
	live.fwd = sd.spool.fwd;
	live.routes = reload_routes;
	stage_reload_start(loop, live_keys, &live);
	log_info("listening on %s, %zu message(s) in the queue, next hop %s",
		 cfg.listen, queue_count(sd.spool.q), cfg.next_hop);
	evloop_run(loop);
	/* sessions first (their jobs let go of them), then the lookups and
	 * the jobs still running, which only free themselves now */
	smtp_server_free(srv);
	spamd_learn_stop(&learn);
	shstate_free(&sd.sh);	/* its lookups go on to DNS... */
	dns_free(sd.dns);	/* ...which ends them */
	workq_free(&sd.wq);
	stage_spool_stop(&sd.spool);
	evloop_free(loop);
	route_table_free(&routes);
	config_list_free(sd.peers);
	free(sd.admin);
	tls_ctx_free(ctls);
	core_stop();
	log_info("stopped");
	return 0;
}
