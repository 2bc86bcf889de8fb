/*
 * NAME
 *	mx - stage A: the only entry point for mail from the Internet
 * DESCRIPTION
 *	Private header of the mx daemon: its configuration and the SMTP
 *	hooks that make it different from the common engine (local domains
 *	only, no relaying, Received header, loop detection).
 */
#ifndef SLUICE_MX_H
#define SLUICE_MX_H

#include "mx_screen.h"
#include "smtp_server.h"
#include "spool.h"
#include "stage.h"

struct evloop;
struct queue;
struct forwarder;

struct mx_config {
	char *listen;
	char *hostname;
	char *local_domains;
	char *next_hop;
	char *next_hop_mode;
	char *domain_routes;
	char *user;
	int syslog;
	char *tls_cert;
	char *tls_key;
	long long max_message_size;
	long long max_recipients;
	long long max_header_size;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	char *next_hop_tls;
	char *smtps_listen;
	char *recipients;
	char *alias_relay;
	int chunking;
	struct mx_screen_config screen;	/* mx_screen.h */
	struct stage_queue queue;
};

struct mx {
	struct mx_config *cfg;
	char **domains;		/* local_domains, split */
	struct directory *dir;	/* recipients snapshot, or NULL */
	struct evloop *loop;
	struct spool spool;	/* queue, forwarder, group commit */
	struct mx_screen screen; /* screening state (mx_screen.h) */
};

/* The recipient checks of mx_smtp.c: relaying, the directory. */
int mx_rcpt(struct smtp_session *s, const char *rcpt, struct smtp_reply *r);

/* The SMTP hooks of stage A; ctx of the server is the struct mx. */
extern const struct smtp_hooks mx_hooks;

struct route_table;
struct smtp_session;

/* The route table: next_hop and domain_routes, and with alias_relay
 * set, that as the default and the local domains on next_hop
 * (mx_alias.c). 0, or -1 with a reason in err. */
int mx_routes_init(struct mx *mx, struct route_table *t, char *err,
		   size_t errlen);

/* Add the remote targets of the envelope's aliases when alias_relay is
 * set (else warn once). 0, or -1 (out of memory, too many). */
int mx_alias_expand(struct mx *mx, struct smtp_session *s);

/* Non-zero for an alias whose targets are all remote while alias_relay
 * is not set: nothing could deliver its mail. */
int mx_alias_unroutable(struct mx *mx, const char *addr);

#endif
