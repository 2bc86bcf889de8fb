/*
 * NAME
 *	spamd_stage - stage D's daemon: configuration, LMTP hooks, milter
 * DESCRIPTION
 *	Private header of sluice-spamd: what main.c, spamd_smtp.c and
 *	spamd_milter.c share. The scoring itself is spamd.h's.
 */
#ifndef SLUICE_SPAMD_STAGE_H
#define SLUICE_SPAMD_STAGE_H

#include "smtp_server.h"
#include "spamd.h"
#include "spamd_dnsbl.h"
#include "spool.h"
#include "stage.h"

struct dns;
struct workq;

struct spamd_config {
	char *listen;
	char *milter_listen;
	char *hostname;
	char *trusted_peers;
	char *next_hop;
	char *domain_routes;
	char *next_hop_mode;
	char *user;
	int syslog;
	char *bayes_db;
	long long bayes_check_interval;
	long long bayes_min_count;
	char *rules_file;
	long long body_rules_size;
	long long scan_size;
	long long scan_threads;
	char *dnsbl_zones;
	char *redis_server;
	char *dns_servers;
	long long dns_timeout;
	long long dns_cache_size;
	char *required_score;
	char *quarantine_score;
	char *reject_score;
	char *quarantine_dir;
	int user_spam_quarantine;
	char *admin_notify;
	char *sender_lists;
	char *learn_listen;
	char *learn_peers;
	long long learn_publish_interval;
	long long learn_publish_count;
	long long max_message_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	struct stage_queue queue;
};

struct spamd_job;
struct spamd_learn;
struct evloop;

struct spamd {
	struct spamd_config *cfg;
	char **peers;			/* trusted_peers, split */
	struct spamd_core core;
	struct bayes_slot bayes;
	struct spamd_dnsbl *dnsbl;
	struct spamd_lists lists;	/* sender_lists */
	double quarantine;		/* quarantine_score, 0: off */
	double reject;			/* reject_score, 0: off */
	char *admin;			/* admin_notify, resolved */
	/* LMTP mode only */
	struct spool spool;
	struct dns *dns;
	struct shstate *sh;		/* redis_server, NULL: none */
	struct workq *wq;
	struct spamd_job *jobs;		/* in flight */
	int learning;			/* the learner reloads bayes_db */
};

extern const struct smtp_hooks spamd_hooks;

/* The X-Spam- entry of TRACEHDR_PREFIXES, as a prefix list. */
extern const char *const *spamd_strip_prefixes(void);

/* Did e enter by msa with an authenticated user (spamd_notify.c)? */
int spamd_is_user_mail(const struct envelope *e);

/* admin_notify: configured, else postmaster@ the first domain of
 * domain_routes; malloc'd, NULL when there is none. */
char *spamd_admin_default(const char *configured, const char *routes);

/* Queue the notice about s's user spam (quarantined as file) to
 * sd->admin with the null sender; failures are logged. */
void spamd_notify_admin(struct spamd *sd, const struct smtp_session *s,
			const char *file, const char *tests, double score);

/* The learn listener (spamd_learn.c) on the listening socket fd, with
 * its one writer thread; exits through log_fatal() when it cannot start.
 * Stop it after the loop ended (sets *l to NULL). */
struct spamd_learn *spamd_learn_start(struct spamd *sd, struct evloop *loop,
				      int fd);
void spamd_learn_stop(struct spamd_learn **l);

/* Milter mode (spamd_milter.c): serve libmilter on milter_listen with
 * the same scoring core until stopped; started runs once listening and
 * as cfg->user (load the Bayes tables). Returns the exit code. */
int spamd_milter_run(struct spamd *sd, void (*started)(void));

#endif
