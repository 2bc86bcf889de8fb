/*
 * NAME
 *	smtp_server_screen - the greeting, the greet pause, protocol tests
 *	and delayed replies
 * DESCRIPTION
 *	The 220 goes after cfg.greet_pause_ms (per session: on_connect may
 *	shorten it) and after the stage released a greeting it held. With
 *	greet_trap a "220-" line goes at once, so a client that speaks
 *	after the first line of a multi-line banner is caught too (as
 *	Postfix's postscreen does). Input before the 220 is reported as
 *	SMTP_V_PREGREET and kept for after the greeting; the other
 *	violations (smtp_server.h) are reported from the command reader.
 *	The stage decides (on_violation); the engine punishes nothing by
 *	itself. A hook that sets s->reply_delay_ms has its reply held back
 *	that long, reading no further commands meanwhile (a tarpit for
 *	clients that guess recipients); a reply of 421 from a hook ends the
 *	session after it is sent. Faces the network.
 */
#include <stdint.h>

#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "smtp_server_int.h"

static void send_220(struct srv_session *ss)
{
	const struct smtp_server_cfg *cfg = &ss->pub.srv->cfg;

	ss->greeted = 1;
	srv_reply(ss, 220, NULL, "%s %s Sluice", cfg->hostname,
		  cfg->lmtp ? "LMTP" : "ESMTP");
}

static void refuse(struct srv_session *ss, const struct smtp_reply *r)
{
	char safe[sizeof(r->text)];

	log_safe(safe, sizeof(safe), r->text);
	srv_reply(ss, r->code, r->ecode, "%s", safe);
	srv_hangup(ss);
}

/* The pause is over and nothing holds the greeting: greet, then handle
 * what the client sent meanwhile (if it may stay). */
static void greet_if_ready(struct srv_session *ss)
{
	if (ss->greeted || ss->greet_timer || ss->greet_hold ||
	    ss->state == ST_QUIT)
		return;
	send_220(ss);
	srv_read(ss);
}

static void on_pause_end(void *arg)
{
	struct srv_session *ss = arg;

	ss->greet_timer = NULL;
	greet_if_ready(ss);
}

void srv_greet(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;
	struct smtp_reply r;
	int rc = 0;

	ss->pub.greet_pause_ms = srv->cfg.greet_pause_ms;
	if (srv->hooks.on_connect)
		rc = srv->hooks.on_connect(&ss->pub, &r);
	if (rc < 0) {
		refuse(ss, &r);
		return;
	}
	ss->greet_hold = rc == 1;
	if (ss->pub.greet_pause_ms > 0) {
		if (srv->cfg.greet_trap)
			conn_printf(ss->c, "220-%s %s Sluice\r\n",
				    srv->cfg.hostname,
				    srv->cfg.lmtp ? "LMTP" : "ESMTP");
		ss->greet_timer = evloop_timer(srv->loop,
					       (uint64_t)ss->pub.greet_pause_ms,
					       on_pause_end, ss);
		if (ss->greet_timer == NULL)
			log_warn("%s: no timer for the greet pause",
				 ss->pub.id);
	}
	if (ss->greet_timer == NULL && !ss->greet_hold)
		send_220(ss);
}

void smtp_session_greet(struct smtp_session *s, const struct smtp_reply *r)
{
	struct srv_session *ss = (struct srv_session *)s;

	if (!ss->greet_hold || ss->state == ST_QUIT)
		return;
	ss->greet_hold = 0;
	if (r != NULL) {
		if (ss->greet_timer)
			evloop_timer_cancel(ss->pub.srv->loop,
					    ss->greet_timer);
		ss->greet_timer = NULL;
		refuse(ss, r);
		conn_flush(ss->c);
		return;
	}
	greet_if_ready(ss);
}

int srv_greet_pending(struct srv_session *ss)
{
	if (ss->greeted)
		return 0;
	if (ss->c->in.len > 0)
		srv_violation(ss, SMTP_V_PREGREET);
	return 1;
}

int srv_violation(struct srv_session *ss, enum smtp_violation v)
{
	struct smtp_server *srv = ss->pub.srv;
	struct smtp_reply r;

	if (ss->violations & (1u << v) || srv->hooks.on_violation == NULL ||
	    ss->state == ST_QUIT)
		return 0;
	ss->violations |= 1u << v;
	if (srv->hooks.on_violation(&ss->pub, v, &r) == 0)
		return 0;
	if (ss->greet_timer)
		evloop_timer_cancel(srv->loop, ss->greet_timer);
	ss->greet_timer = NULL;
	ss->greet_hold = 0;
	ss->greeted = 1;
	refuse(ss, &r);
	return -1;
}

void srv_greet_free(struct srv_session *ss)
{
	if (ss->greet_timer)
		evloop_timer_cancel(ss->pub.srv->loop, ss->greet_timer);
	ss->greet_timer = NULL;
	if (ss->delay_timer)
		evloop_timer_cancel(ss->pub.srv->loop, ss->delay_timer);
	ss->delay_timer = NULL;
}

static void on_delay_end(void *arg)
{
	struct srv_session *ss = arg;

	ss->delay_timer = NULL;
	srv_hook_reply(ss, &ss->delayed);
	conn_flush(ss->c);
	if (ss->state != ST_QUIT)
		conn_resume(ss->c);
}

void srv_hook_reply(struct srv_session *ss, const struct smtp_reply *r)
{
	struct smtp_server *srv = ss->pub.srv;
	uint64_t ms = (uint64_t)ss->pub.reply_delay_ms;
	char safe[sizeof(r->text)];

	ss->pub.reply_delay_ms = 0;
	if (ms > 0 && ss->delay_timer == NULL) {
		ss->delayed = *r;
		ss->delay_timer = evloop_timer(srv->loop, ms, on_delay_end, ss);
		if (ss->delay_timer != NULL) {
			conn_pause(ss->c);
			return;
		}
	}
	log_safe(safe, sizeof(safe), r->text);
	srv_reply(ss, r->code, r->ecode, "%s", safe);
	if (r->code == 421)
		srv_hangup(ss);
}
