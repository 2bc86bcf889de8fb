/*
 * NAME
 *	mx_screen - stage A's inbound defences other than sender
 *	authentication
 * DESCRIPTION
 *	Configuration, counters and entry points of the screening files:
 *	mx_screen.c (connection: allow and block lists, spam-trap holds,
 *	connection rate, greet pause and protocol tests, the temporary
 *	allowlist of clients that passed), mx_grey.c (RCPT: spam traps,
 *	bad-recipient throttle, greylisting; MAIL: sender lists and rate),
 *	mx_rules.c (HELO rules, header and body checks). Every mechanism
 *	has a switch in mx.conf, a counter below and a Postfix-style log
 *	line. Faces the network through the hooks.
 */
#ifndef SLUICE_MX_SCREEN_H
#define SLUICE_MX_SCREEN_H

#include <stdint.h>

#include "smtp_server.h"

struct mx;

struct mx_screen_config {
	int greet_trap;
	int protocol_tests;
	long long screen_pass_time;
	char *client_allow;
	char *client_block;
	char *sender_allow;
	char *sender_block;
	int greylist;
	long long greylist_delay;
	long long greylist_retry_window;
	long long greylist_lifetime;
	char *greylist_db;
	char *screen_state;
	long long screen_state_interval;
	long long sender_rate_limit;
	long long sender_rate_window;
	char *spam_traps;
	long long spam_trap_block_time;
	char *header_checks;
	char *body_checks;
	char *dnsbl_sites;
	long long dnsbl_threshold;
	long long dnsbl_allow_threshold;
	int dnsbl_loopback;
};

/* One counter per mechanism and outcome, as plain fields counted on the
 * loop: the metrics endpoint reads them (mx_metrics.c names them). */
struct mx_counters {
	unsigned long long allowlisted;		/* client_allow matched */
	unsigned long long client_blocked;	/* client_block, at connect */
	unsigned long long trap_blocked;	/* held by a spam trap */
	unsigned long long connection_rate;	/* over the connection rate */
	unsigned long long greet_paused;	/* greetings that waited */
	unsigned long long greet_skipped;	/* passed before: no pause */
	unsigned long long pregreet;		/* early talkers */
	unsigned long long pipelining;		/* unasked pipelining */
	unsigned long long non_smtp;		/* HTTP and header lines */
	unsigned long long bare_newline;	/* bare LF commands */
	unsigned long long screen_passed;	/* added to the pass list */
	unsigned long long helo_rejected;	/* not a FQDN */
	unsigned long long sender_blocked;	/* sender_block */
	unsigned long long sender_rate;		/* over sender_rate_limit */
	unsigned long long trap_hits;		/* mail to a spam trap */
	unsigned long long bad_rcpt_delayed;	/* replies held back */
	unsigned long long bad_rcpt_disconnect;	/* sessions ended */
	unsigned long long greylist_deferred;	/* 451 4.7.1 */
	unsigned long long greylist_passed;	/* retries that passed */
	unsigned long long greylist_skipped;	/* allowlisted: not asked */
	unsigned long long greylist_errors;	/* store failed: accepted */
	unsigned long long header_rejected;	/* header_checks */
	unsigned long long body_rejected;	/* body_checks */
	unsigned long long dnsbl_rejected;	/* over dnsbl_threshold */
	unsigned long long dnswl_allowed;	/* under dnsbl_allow_threshold */
	unsigned long long dnsbl_errors;	/* error codes, failures */
};

extern struct mx_counters mx_counters;

/* Rows of the mx configuration table for the keys above (the defences
 * mx shares with msa are in stage_smtp.h). */
#define MX_SCREEN_PARAMS(c) \
	{"greet_trap", CFG_BOOL, "yes", &(c).greet_trap, 0, 0, \
	 "with a greet pause, send a \"220-\" line first: talking after " \
	 "it is early too"}, \
	{"protocol_tests", CFG_BOOL, "yes", &(c).protocol_tests, 0, 0, \
	 "end sessions that talk early, pipeline before EHLO's reply, " \
	 "send HTTP or header lines as commands, or bare LF"}, \
	{"screen_pass_time", CFG_TIME, "1d", &(c).screen_pass_time, 0, \
	 365 * 86400, "a client that sat out the greet pause and broke no " \
	 "protocol test skips the pause this long (0: never)"}, \
	{"client_allow", CFG_STR, "127.0.0.0/8, ::1", &(c).client_allow, 0, \
	 0, "clients (addresses, IPv4 networks) that skip the greet pause, " \
	 "protocol tests, connection rate, DNS lists, HELO rules, sender " \
	 "rate and greylisting"}, \
	{"client_block", CFG_STR, "", &(c).client_block, 0, 0, \
	 "clients (addresses, IPv4 networks) refused at connect (554 5.7.1)"}, \
	{"sender_allow", CFG_STR, "", &(c).sender_allow, 0, 0, \
	 "senders (address, @domain or domain) that skip greylisting"}, \
	{"sender_block", CFG_STR, "", &(c).sender_block, 0, 0, \
	 "senders (address, @domain or domain) refused at MAIL (554 5.7.1)"}, \
	{"greylist", CFG_BOOL, "yes", &(c).greylist, 0, 0, \
	 "defer a new (client /24 or /64, sender, recipient) with 451 " \
	 "4.7.1"}, \
	{"greylist_delay", CFG_TIME, "300s", &(c).greylist_delay, 0, 86400, \
	 "a retry is accepted after this long"}, \
	{"greylist_retry_window", CFG_TIME, "2d", \
	 &(c).greylist_retry_window, 1, 30 * 86400, \
	 "and only within this long of the first try"}, \
	{"greylist_lifetime", CFG_TIME, "35d", &(c).greylist_lifetime, 1, \
	 365 * 86400, "a passed triplet is remembered this long after its " \
	 "last use"}, \
	{"greylist_db", CFG_STR, "var/mx/state/greylist.db", \
	 &(c).greylist_db, 0, 0, "the greylisting store (SQLite; with " \
	 "redis_server, used only while Redis is down)"}, \
	{"screen_state", CFG_STR, "var/mx/state/screen.state", \
	 &(c).screen_state, 0, 0, "where the clients that passed screening, " \
	 "the spam-trapped clients and the per-sender counters are kept " \
	 "across restarts (empty: in memory only)"}, \
	{"screen_state_interval", CFG_TIME, "60s", \
	 &(c).screen_state_interval, 1, 86400, "screen_state is written " \
	 "this often and when mx stops"}, \
	{"sender_rate_limit", CFG_INT, "100", &(c).sender_rate_limit, 0, \
	 1000000, "messages (MAIL commands) per sender address per " \
	 "sender_rate_window; more get 450 4.7.1 (0: no limit)"}, \
	{"sender_rate_window", CFG_TIME, "1h", &(c).sender_rate_window, 1, \
	 7 * 86400, "the window of sender_rate_limit"}, \
	{"spam_traps", CFG_STR, "", &(c).spam_traps, 0, 0, \
	 "addresses nobody mails in good faith: a client that does is " \
	 "refused for spam_trap_block_time"}, \
	{"spam_trap_block_time", CFG_TIME, "1d", &(c).spam_trap_block_time, \
	 1, 365 * 86400, "how long a spam trap blocks its client"}, \
	{"header_checks", CFG_STR, "", &(c).header_checks, 0, 0, \
	 "file of /regex/ REJECT text lines matched against each header " \
	 "field at end of data (550 5.7.1; empty: none)"}, \
	{"body_checks", CFG_STR, "", &(c).body_checks, 0, 0, \
	 "the same for each body line"}, \
	{"dnsbl_sites", CFG_STR, "", &(c).dnsbl_sites, 0, 0, \
	 "DNS lists asked at connect: zone*weight, ... (weight 1 if left " \
	 "out; negative for allowlists such as a DNSWL)"}, \
	{"dnsbl_threshold", CFG_INT, "1", &(c).dnsbl_threshold, -100000, \
	 100000, "a client whose weights add up to this is refused " \
	 "(554 5.7.1)"}, \
	{"dnsbl_allow_threshold", CFG_INT, "-1", &(c).dnsbl_allow_threshold, \
	 -100000, 100000, "a client whose weights add up to at most this is " \
	 "allowed as by client_allow"}, \
	{"dnsbl_loopback", CFG_BOOL, "no", &(c).dnsbl_loopback, 0, 0, \
	 "look up loopback clients too (for tests)"}

/* Parse the lists and regular expressions (before dropping privileges:
 * the state directory of greylist_db is made then). Exits on a bad
 * value. */
void mx_screen_init(struct mx *mx);
/* Open the greylisting store (and its Redis, with redis_server) and the
 * resolver (after dropping privileges, with mx->loop made). */
void mx_screen_open(struct mx *mx);
void mx_screen_free(struct mx *mx);

/* Hooks (mx_smtp.c's table). */
int mx_screen_connect(struct smtp_session *s, struct smtp_reply *r);
int mx_screen_violation(struct smtp_session *s, enum smtp_violation v,
			struct smtp_reply *r);
int mx_screen_helo(struct smtp_session *s, const char *name,
		   struct smtp_reply *r);
int mx_screen_mail(struct smtp_session *s, struct smtp_reply *r);
int mx_screen_rcpt(struct smtp_session *s, const char *rcpt,
		   struct smtp_reply *r);
/* End of data: header and body checks; -1 with r to refuse. */
int mx_screen_data(struct smtp_session *s, struct smtp_reply *r);
void mx_screen_close(struct smtp_session *s);

/* Internal to the screening files. */
struct greylist;
struct greylist_share;
struct shstate;
struct mx_grey_wait;
struct ratemap;
struct mx_checks;
struct mx_dnsbl;
struct mx_dnsbl_cached;
struct mx_zone;
struct dns;
struct ev_timer;

/* screen_state (mx_state.c): load the snapshot into the maps and write
 * it every screen_state_interval; stop writes it a last time. */
void mx_state_start(struct mx *mx);
void mx_state_stop(struct mx *mx);

/* redis_server (mx_share.c): the maps below counted by both servers of
 * a pair. start registers the events on screen.sh (0, or -1); window is
 * the replay window; the others tell the other servers of one hit or
 * hold (no-ops without redis_server). */
uint64_t mx_share_window(const struct mx *mx);
int mx_share_start(struct mx *mx);
void mx_share_conn(struct mx *mx, const char *client_addr);
void mx_share_sender(struct mx *mx, const char *sender_key);
void mx_share_trap(struct mx *mx, const char *client_addr, long long secs);
void mx_share_pass(struct mx *mx, const char *client_addr, long long secs);

struct mx_screen {
	char **client_allow, **client_block;
	char **sender_allow, **sender_block, **spam_traps;
	struct ratemap *conn_rate;	/* connections per client network */
	struct ratemap *passed;		/* clients that passed: no pause */
	struct ratemap *trapped;	/* clients a spam trap blocks */
	struct ratemap *senders;	/* messages per sender */
	struct greylist *grey;		/* NULL: greylisting off */
	struct shstate *sh;		/* redis_server, or NULL */
	struct greylist_share *grey_share; /* triplets in Redis, or NULL */
	struct ev_timer *state_timer;	/* screen_state writes */
	struct mx_checks *header_checks, *body_checks;
	struct dns *dns;		/* for the DNS lists */
	struct mx_zone *zones;		/* dnsbl_sites */
	struct mx_dnsbl_cached *dnsbl_cache; /* recent verdicts */
	size_t nzones;
};

struct mx_screen_sess {
	int allowed;		/* client_allow */
	int paused;		/* the greeting waited */
	int violated;		/* a protocol test failed */
	int helo_seen;		/* got as far as HELO/EHLO */
	struct mx_dnsbl *dnsbl;	/* DNS list lookups running */
	long long dnsbl_score;
	int sender_allowed;	/* sender_allow, for this transaction */
	long long bad_rcpts;	/* unknown recipients so far */
	struct mx_grey_wait *grey_wait;	/* a Redis answer on its way */
};

/* Log "ID: reject: WHAT from [addr]: code ecode text; from=<> to=<>
 * helo=<>" and fill r; returns -1. */
int mx_reject(struct smtp_session *s, const char *what, const char *rcpt,
	      struct smtp_reply *r, int code, const char *ecode,
	      const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* A session that ends lets go of its greylisting answer (mx_grey.c). */
void mx_grey_detach(struct smtp_session *s);
/* The stage of s. */
struct mx *mx_screen_mx(struct smtp_session *s);
/* Is addr (an address, @domain or domain pattern list) matched? */
int mx_addr_listed(char *const *list, const char *addr);
/* Header and body checks (mx_rules.c): load a file, NULL for an empty
 * path; exits on a bad file. */
struct mx_checks *mx_checks_load(const char *path);
void mx_checks_free(struct mx_checks **c);

/* DNS lists (mx_dnsbl.c): parse dnsbl_sites (exits on a bad one), make
 * the resolver (needs mx->loop), free both. */
void mx_dnsbl_init(struct mx *mx);
void mx_dnsbl_open(struct mx *mx);
void mx_dnsbl_free(struct mx *mx);
/* Start the lookups of a new session; 1 when they run (hold the
 * greeting: the verdict releases it), 0 when there is nothing to ask
 * (or a cached verdict lets the client in), -1 with r filled when a
 * cached verdict refuses it. */
int mx_dnsbl_start(struct smtp_session *s, struct smtp_reply *r);
/* The session goes: its lookups finish without it. */
void mx_dnsbl_detach(struct smtp_session *s);

/* Wall-clock milliseconds. */
uint64_t mx_wall_ms(void);

#endif
