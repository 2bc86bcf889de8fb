/*
 * NAME
 *	msa_screen - the connection and session defences stage B shares
 *	with mx
 * DESCRIPTION
 *	The mechanisms of Table I that submission has as well as mx,
 *	decided by smtp_guard.h as mx decides them: the connection rate
 *	per client network (11; 421 4.7.0 at connect), the greet pause
 *	with early-talker refusal (32; 554 5.5.1; the engine holds the
 *	220), the HELO name rule (19; 504 5.5.2 with helo_fqdn) and the
 *	bad-recipient throttle (36): recipients refused by the per-user
 *	recipient rate count as bad; past bad_rcpt_delay_after each such
 *	reply waits bad_rcpt_delay_ms, and the one that makes
 *	bad_rcpt_disconnect ends the session (421 4.7.0). Each counts on
 *	the metrics page under mx's names. Faces the network.
 */
#include <stdlib.h>

#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "msa.h"
#include "ratemap.h"
#include "smtp_guard.h"

/* Client networks remembered at once for the connection rate. */
#define MSA_RATE_CLIENTS 100000

struct msa_sess {
	long long bad_rcpts;	/* recipients refused so far */
};

int msa_screen_init(struct msa *m)
{
	METRICS_DECLARE(METRIC_CONN_RATE);
	METRICS_DECLARE(METRIC_HELO_REJECTED);
	METRICS_DECLARE(METRIC_BAD_RCPT_DELAYED);
	METRICS_DECLARE(METRIC_BAD_RCPT_DISCONNECT);
	METRICS_DECLARE(METRIC_GREET_PAUSED);
	METRICS_DECLARE(METRIC_PREGREET);
	m->conn_rate = ratemap_new(MSA_RATE_CLIENTS);
	return m->conn_rate ? 0 : -1;
}

void msa_screen_free(struct msa *m)
{
	ratemap_free(&m->conn_rate);
}

int msa_screen_connect(struct smtp_session *s, struct smtp_reply *r)
{
	struct msa *m = smtp_server_ctx(s->srv);
	const struct stage_smtp_config *c = &m->cfg->smtp;

	if ((s->screen = calloc(1, sizeof(struct msa_sess))) == NULL)
		return smtp_reply_set(r, 421, "4.3.0", "%s Error: out of "
				      "memory", c->hostname);
	if (smtp_guard_conn_rate(m->conn_rate, s->client_addr,
				 evloop_now(m->loop),
				 c->guard.connection_rate_limit,
				 c->guard.connection_rate_window)) {
		METRICS_COUNT(METRIC_CONN_RATE);
		log_info("%s: reject: CONNECT from [%s]: 421 4.7.0 too many "
			 "connections", s->id, s->client_addr);
		return smtp_reply_set(r, 421, "4.7.0", "%s Error: too many "
				      "connections from [%s]", c->hostname,
				      s->client_addr);
	}
	if (s->greet_pause_ms > 0)
		METRICS_COUNT(METRIC_GREET_PAUSED);
	return 0;
}

int msa_screen_violation(struct smtp_session *s, enum smtp_violation v,
			 struct smtp_reply *r)
{
	if (v != SMTP_V_PREGREET)
		return 0;	/* mail clients are not judged on the rest */
	METRICS_COUNT(METRIC_PREGREET);
	log_info("%s: reject: CONNECT from [%s]: 554 5.5.1 talked before "
		 "the greeting", s->id, s->client_addr);
	return smtp_reply_set(r, 554, "5.5.1", "Error: protocol violation: "
			      "talked before the greeting");
}

int msa_screen_helo(struct smtp_session *s, const char *name,
		    struct smtp_reply *r)
{
	struct msa *m = smtp_server_ctx(s->srv);
	char safe[300];

	if (!m->cfg->smtp.guard.helo_fqdn || smtp_guard_helo_ok(name))
		return 0;
	METRICS_COUNT(METRIC_HELO_REJECTED);
	log_safe(safe, sizeof(safe), name);
	log_info("%s: reject: HELO from [%s]: 504 5.5.2 <%s> not a "
		 "fully-qualified hostname", s->id, s->client_addr, safe);
	return smtp_reply_set(r, 504, "5.5.2", "<%s>: Helo command rejected: "
			      "need fully-qualified hostname", safe);
}

void msa_screen_bad_rcpt(struct smtp_session *s, struct smtp_reply *r)
{
	struct msa *m = smtp_server_ctx(s->srv);
	const struct stage_smtp_config *c = &m->cfg->smtp;
	struct msa_sess *ss = s->screen;

	if (ss == NULL)
		return;
	switch (smtp_guard_bad_rcpt(&ss->bad_rcpts,
				    c->guard.bad_rcpt_delay_after,
				    c->guard.bad_rcpt_disconnect)) {
	case SMTP_GUARD_DISCONNECT:
		METRICS_COUNT(METRIC_BAD_RCPT_DISCONNECT);
		log_info("%s: reject: RCPT from [%s]: 421 4.7.0 too many "
			 "refused recipients", s->id, s->client_addr);
		smtp_reply_set(r, 421, "4.7.0", "%s Error: too many refused "
			       "recipients", c->hostname);
		break;
	case SMTP_GUARD_DELAY:
		METRICS_COUNT(METRIC_BAD_RCPT_DELAYED);
		s->reply_delay_ms = c->guard.bad_rcpt_delay_ms;
		break;
	}
}

void msa_screen_close(struct smtp_session *s)
{
	free(s->screen);
	s->screen = NULL;
}
