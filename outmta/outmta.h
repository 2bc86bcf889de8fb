/*
 * NAME
 *	outmta - stage F: the only stage that sends mail to the Internet
 * DESCRIPTION
 *	Private header: configuration and the SMTP hooks (trusted peers
 *	only, Received header, queue through the spool).
 */
#ifndef SLUICE_OUTMTA_H
#define SLUICE_OUTMTA_H

#include "dkim.h"
#include "smtp_server.h"
#include "spool.h"
#include "spool_arc.h"
#include "stage.h"

struct outmta_config {
	char *listen;
	char *hostname;
	char *trusted_peers;
	char *next_hop;
	char *domain_routes;
	char *next_hop_mode;
	char *user;
	int syslog;
	char *dns_servers;
	long long dns_timeout;
	long long dns_cache_size;
	long long smtp_port;
	int allow_loopback_mx;
	char *tls_policy;
	char *tls_policy_map;
	char *tls_ca_file;
	long long max_message_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	char *dkim_keys;
	int arc_seal;
	char *arc_key_domain;
	char *authserv_id;
	struct stage_queue queue;
};

struct outmta {
	struct outmta_config *cfg;
	char **peers;		/* trusted_peers, split */
	struct dkim_signer **dkim; /* dkim_keys, loaded */
	struct spool spool;
	struct spool_arc arc;	/* arc_seal */
};

extern const struct smtp_hooks outmta_hooks;

#endif
