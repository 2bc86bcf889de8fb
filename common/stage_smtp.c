/*
 * NAME
 *	stage_smtp - the configuration the SMTP stages (mx, msa) share
 * DESCRIPTION
 *	See stage_smtp.h. A NULL default or help in the shared rows below
 *	means that the stages differ there: each one words it.
 */
#include "stage_smtp.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shstate.h"

/* Room for the shared rows (39) and a stage's own (mx: 38). */
#define STAGE_SMTP_ROWS 160

static struct cfg_param rows[STAGE_SMTP_ROWS];

static struct cfg_param *row_named(
	struct cfg_param *t, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(t[i].name, key) == 0)
			return &t[i];
	return NULL;
}

const struct cfg_param *stage_smtp_table(struct stage_smtp_config *c,
	const struct stage_smtp_text *text, const struct cfg_param *own)
{
	struct smtp_guard_config *g = &c->guard;
	const struct cfg_param shared[] = {
		{"listen", CFG_STR, NULL, &c->listen, 0, 0, NULL},
		{"smtps_listen", CFG_STR, NULL, &c->smtps_listen, 0, 0, NULL},
		{"hostname", CFG_STR, "", &c->hostname, 0, 0,
			"our name in the greeting and Received (empty: the "
			"host name)"},
		{"next_hop", CFG_STR, "lmtp:127.0.0.1:10024", &c->next_hop, 0,
			0, NULL},
		{"next_hop_mode", CFG_STR, "ordered", &c->next_hop_mode, 0, 0,
			"ordered (active-backup) or spread (load-balanced)"},
		{"domain_routes", CFG_STR, "", &c->domain_routes, 0, 0, NULL},
		{"next_hop_tls", CFG_STR, "may", &c->next_hop_tls, 0, 0,
			"STARTTLS to next hops: none, may (when offered) or "
			"encrypt"},
		DAEMON_PARAMS(c->user, c->syslog),
		TLS_KEY_PARAMS(c->tls_cert, c->tls_key, NULL, NULL),
		SMTP_LIMIT_PARAMS(c->max_message_size, c->max_recipients,
			c->max_sessions, NULL, c->timeout, c->sess,
			LIM_STR(LIM_CLIENT_SESSIONS)),
		HEADER_LIMIT_PARAM(c->max_header_size),
		STAGE_QUEUE_PARAMS(c->queue, NULL, "60s"),
		{"directory_file", CFG_STR, NULL, &c->directory_file, 0, 0,
			NULL},
		{"dns_servers", CFG_STR, "", &c->dns_servers, 0, 0, NULL},
		{"dns_timeout", CFG_TIME, NULL, &c->dns_timeout, 1, 60, NULL},
		{"dns_cache_size", CFG_INT, "10000", &c->dns_cache_size, 0,
			1000000,
			"DNS answers kept for their TTL (at most an "
			"hour; failures never), least recently used dropped "
			"first (0: no cache)"},
		SHSTATE_PARAM(c->redis_server),
		{"greet_pause_ms", CFG_INT, "0", &g->greet_pause_ms, 0, 60000,
			NULL},
		{"connection_rate_limit", CFG_INT, "60",
			&g->connection_rate_limit, 0, 1000000,
			"connections per client address (IPv6: /64) per "
			"connection_rate_window; more get 421 4.7.0 (0: no "
			"limit)"},
		{"connection_rate_window", CFG_TIME, "60s",
			&g->connection_rate_window, 1, 86400,
			"the window of connection_rate_limit"},
		{"helo_fqdn", CFG_BOOL, NULL, &g->helo_fqdn, 0, 0, NULL},
		{"bad_rcpt_delay_after", CFG_INT, "3", &g->bad_rcpt_delay_after,
			0, 100000, NULL},
		{"bad_rcpt_delay_ms", CFG_INT, "1000", &g->bad_rcpt_delay_ms, 0,
			60000, "the delay of bad_rcpt_delay_after"},
		{"bad_rcpt_disconnect", CFG_INT, "10", &g->bad_rcpt_disconnect,
			0, 100000, NULL},
	};
	size_t n = sizeof(shared) / sizeof(shared[0]), shared_n, i;
	struct cfg_param *r;

	memcpy(rows, shared, sizeof(shared));
	for (; text->key; text++) {
		r = row_named(rows, n, text->key);
		if (r == NULL)
			log_panic("stage_smtp: '%s' is not a shared key",
				text->key);
		if (text->def)
			r->def = text->def;
		if (text->help)
			r->help = text->help;
	}
	for (i = 0; i < n; i++)
		if (rows[i].def == NULL || rows[i].help == NULL)
			log_panic("stage_smtp: the stage words no '%s'",
				rows[i].name);
	for (shared_n = n; own->name; own++) {
		if (row_named(rows, shared_n, own->name))
			log_panic("stage_smtp: '%s' is shared", own->name);
		if (n + 1 >= STAGE_SMTP_ROWS)
			log_panic("stage_smtp: STAGE_SMTP_ROWS is too small");
		rows[n++] = *own;
	}
	memset(&rows[n], 0, sizeof(rows[n]));
	return rows;
}

void stage_smtp_server_cfg(struct smtp_server_cfg *sc,
	const struct stage_smtp_config *c, struct tls_ctx *tls)
{
	STAGE_SERVER_CFG(*sc, *c);
	sc->max_header = c->max_header_size;
	sc->tls = tls;
	sc->greet_pause_ms = c->guard.greet_pause_ms;
}

void stage_smtp_live(struct stage_live *sl, struct stage_smtp_config *c,
	struct smtp_server *const srv[2], struct tls_ctx *tls,
	struct forwarder *fwd,
	int (*routes)(struct route_table *t, char *err, size_t errlen),
	struct directory **dir)
{
	memset(sl, 0, sizeof(*sl));
	sl->srv[0] = srv[0];
	sl->srv[1] = srv[1];
	STAGE_LIVE_LIMITS(*sl, *c);
	sl->max_header = &c->max_header_size;
	sl->tls = tls;
	sl->tls_cert = &c->tls_cert;
	sl->tls_key = &c->tls_key;
	sl->fwd = fwd;
	sl->routes = routes;
	sl->dir = dir;
	sl->dir_path = &c->directory_file;
}
