/*
 * NAME
 *	stage_reload - what a reload (SIGHUP) changes in a running stage
 * DESCRIPTION
 *	A stage fills struct stage_live with where its live settings are
 *	and hands it to stage_reload_start(); on every reload whose file
 *	was good (daemon_on_reload()) the listeners get the new limits, the
 *	server certificate is read again, the next hops are rebuilt and the
 *	directory snapshot is read again, each logged; a part that fails
 *	keeps what it had. Open sessions are never dropped. Mail layer.
 */
#ifndef SLUICE_STAGE_RELOAD_H
#define SLUICE_STAGE_RELOAD_H

#include "daemon.h"

struct directory;
struct evloop;
struct forwarder;
struct route_table;
struct smtp_server;
struct tls_ctx;

/* The route keys a stage with a forwarder can change on a reload. */
#define STAGE_LIVE_ROUTES "next_hop", "next_hop_mode", "domain_routes"

struct stage_live {
	struct smtp_server *srv[2];	/* listeners (NULL: none) */
	/* the configuration variables of SMTP_LIMIT_PARAMS */
	long long *max_size, *max_rcpts, *max_sessions, *timeout;
	long long *max_header;		/* NULL: none */
	struct session_limits *sess;
	/* the server certificate (tls NULL: no TLS to reload) */
	struct tls_ctx *tls;
	char **tls_cert, **tls_key;
	/* the next hops: routes() builds the new table from the reloaded
	 * configuration (0, or -1 with err) */
	struct forwarder *fwd;
	int (*routes)(struct route_table *t, char *err, size_t errlen);
	/* a directory snapshot read again (dir NULL: none) */
	struct directory **dir;
	char **dir_path;
	/* the stage's own part (NULL: none) */
	void (*more)(void *arg);
	void *arg;
};

/* Point sl's limits at cfg's SMTP_LIMIT_PARAMS variables. */
#define STAGE_LIVE_LIMITS(sl, cfg)                                          \
	do {                                                                \
		(sl).max_size = &(cfg).max_message_size;                    \
		(sl).max_rcpts = &(cfg).max_recipients;                     \
		(sl).max_sessions = &(cfg).max_sessions;                    \
		(sl).timeout = &(cfg).timeout;                              \
		(sl).sess = &(cfg).sess;                                    \
	} while (0)

/* Reload on SIGHUP and the control socket's "reload" with live keys
 * (NULL-terminated, see config_reload()); sl must outlive the loop. */
void stage_reload_start(struct evloop *loop, const char *const *live,
			struct stage_live *sl);

#endif
