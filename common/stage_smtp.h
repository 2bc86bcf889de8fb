/*
 * NAME
 *	stage_smtp - the configuration the SMTP stages (mx, msa) share
 * DESCRIPTION
 *	The keys mx and msa both have (listeners, next hops, TLS keys,
 *	limits, the directory snapshot, DNS, shared state, the queue and
 *	the defences of smtp_guard.h) are declared once here, into one
 *	struct. A stage words a shared key its own way where its default
 *	or help differs (struct stage_smtp_text) and adds its own keys;
 *	stage_smtp_table() makes the one table that daemon_start() reads.
 *	Their servers and what a reload changes in them are set up from
 *	that struct here too. Mail layer; trusts its caller (the tables are the program's).
 */
#ifndef SLUICE_STAGE_SMTP_H
#define SLUICE_STAGE_SMTP_H

#include "config.h"
#include "daemon.h"
#include "smtp_guard.h"
#include "stage.h"
#include "stage_reload.h"

struct stage_smtp_config {
	char *listen;
	char *smtps_listen;
	char *hostname;
	char *next_hop;
	char *next_hop_mode;
	char *domain_routes;
	char *next_hop_tls;
	char *user;
	int syslog;
	char *tls_cert;
	char *tls_key;
	long long max_message_size;
	long long max_header_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	char *directory_file;
	char *dns_servers;
	long long dns_timeout;
	long long dns_cache_size;
	char *redis_server;
	struct smtp_guard_config guard;
	struct stage_queue queue;
};

/* A stage's default and help of a shared key (NULL: the shared one). The
 * shared keys whose default or help differ between the stages have none
 * of their own: every stage words them. */
struct stage_smtp_text {
	const char *key;
	const char *def;
	const char *help;
};

/* The configuration table of an SMTP stage, for daemon_start(): the
 * shared keys into c, worded by text (ends with a NULL key), then own
 * (the stage's keys, ends with a NULL name). Static storage: call once.
 * Aborts when text names a key that is not shared, or leaves a shared
 * key without a default or help (bugs of the program). */
const struct cfg_param *stage_smtp_table(struct stage_smtp_config *c,
	const struct stage_smtp_text *text, const struct cfg_param *own);

/* The keys a reload changes in an SMTP stage (stage_reload.h): the
 * start of its list of live keys. */
#define STAGE_SMTP_LIVE_KEYS                                                   \
	DAEMON_LIVE_KEYS, STAGE_LIVE_ROUTES, "max_header_size", "directory_file"

/* Start sc for the servers of c: STAGE_SERVER_CFG(), the header limit,
 * tls (NULL: no STARTTLS) and the greet pause. */
void stage_smtp_server_cfg(struct smtp_server_cfg *sc,
	const struct stage_smtp_config *c, struct tls_ctx *tls);

/* Fill sl with what a reload changes in an SMTP stage of c (the keys of
 * STAGE_SMTP_LIVE_KEYS): the limits of the listeners srv[0] and srv[1]
 * (NULL: none), the certificate of tls (NULL: none), the next hops of
 * fwd as routes() makes them, and the directory snapshot *dir. */
void stage_smtp_live(struct stage_live *sl, struct stage_smtp_config *c,
	struct smtp_server *const srv[2], struct tls_ctx *tls,
	struct forwarder *fwd,
	int (*routes)(struct route_table *t, char *err, size_t errlen),
	struct directory **dir);

#endif
