/*
 * NAME
 *	smtp_server_auth - SMTP AUTH (RFC 4954) in the server engine
 * DESCRIPTION
 *	AUTH mechanism [initial-response], then 334 challenges and client
 *	response lines (up to LIM_AUTH_LINE octets, "*" cancels) until 235,
 *	535 or an error. The SASL work is sasl.h's; this file keeps the
 *	protocol in step and applies the failed-login limits of authlimit.h.
 *	Each SASL call runs on a worker thread (sasl_async.h), the session
 *	paused until its outcome is back, so a password check never holds
 *	up the other sessions. The limits apply
 *	per client address and per user name tried (a failure's 535 is
 *	held back by the delay authlimit asks for, the session paused
 *	meanwhile; a locked-out user is refused even with the right
 *	password). Only under TLS: clear-text passwords never cross the
 *	wire in clear, and before TLS AUTH gets 538 5.7.11. Faces the
 *	network; secrets are wiped and never logged.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authlimit.h"
#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "sasl.h"
#include "sasl_async.h"
#include "smtp_parse.h"
#include "smtp_server_int.h"

/* A mechanism takes a handful of round trips; more is a broken peer. */
#define AUTH_MAX_STEPS 8

static int ensure_sasl(struct srv_session *ss)
{
	char remote[96];

	if (ss->sasl != NULL)
		return 0;
	snprintf(remote, sizeof(remote), "%s;%d", ss->pub.client_addr,
		 ss->pub.client_port);
	ss->sasl = sasl_srv_new("smtp", NULL, remote, ss->pub.tls);
	return ss->sasl ? 0 : -1;
}

const char *srv_auth_mechs(struct srv_session *ss)
{
	if (!ss->pub.srv->cfg.auth || !ss->pub.tls || ss->pub.auth_user)
		return NULL;
	if (ensure_sasl(ss) < 0)
		return NULL;
	return sasl_srv_mechs(ss->sasl);
}

static void end_exchange(struct srv_session *ss)
{
	ss->auth_wait = 0;
	ss->auth_steps = 0;
	ss->auth_mech[0] = '\0';
}

void srv_auth_reset(struct srv_session *ss)
{
	if (ss->auth_delay) {
		evloop_timer_cancel(ss->pub.srv->loop, ss->auth_delay);
		ss->auth_delay = NULL;
	}
	/* a login being checked: the job frees the context, later */
	sasl_async_abandon(&ss->auth_job, &ss->sasl);
	sasl_srv_free(&ss->sasl);
	free(ss->pub.auth_user);
	ss->pub.auth_user = NULL;
	end_exchange(ss);
}

/* Is the client address (user NULL) or user locked out? */
static int locked(struct srv_session *ss, const char *user)
{
	struct smtp_server *srv = ss->pub.srv;

	return authlimit_login_blocked(srv->cfg.authlimit,
				       user ? NULL : ss->pub.client_addr, user,
				       evloop_now(srv->loop));
}

static void delayed_fail(void *arg)
{
	struct srv_session *ss = arg;

	ss->auth_delay = NULL;
	srv_reply(ss, 535, "5.7.8", "Error: authentication failed");
	conn_flush(ss->c);
	conn_resume(ss->c);
}

/* Count a failed login (for the user tried too when SASL got that far
 * in this exchange); answer 535 now or after the delay. */
static void failed(struct srv_session *ss, int asked_sasl, const char *why)
{
	struct smtp_server *srv = ss->pub.srv;
	uint64_t d;
	char user[LIM_PATH + 1];
	const char *tried = asked_sasl && ss->sasl ?
			    sasl_srv_tried_user(ss->sasl) : NULL;

	log_safe(user, sizeof(user), tried ? tried : "-");
	METRICS_COUNT(METRIC_AUTH_FAIL);
	log_warn("%s: [%s]: AUTH %s failed: user=%s, %s", ss->pub.id,
		 ss->pub.client_addr, ss->auth_mech, user, why);
	d = authlimit_login_failed(srv->cfg.authlimit, ss->pub.client_addr,
				   tried, evloop_now(srv->loop));
	end_exchange(ss);
	if (d == 0) {
		srv_reply(ss, 535, "5.7.8", "Error: authentication failed");
		return;
	}
	conn_pause(ss->c);
	ss->auth_delay = evloop_timer(srv->loop, d, delayed_fail, ss);
}

static void succeeded(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;
	const char *user = sasl_srv_user(ss->sasl);
	char key[LIM_PATH + 16], safe[LIM_PATH + 1];
	struct smtp_reply r;

	if (user == NULL || user[0] == '\0' || strlen(user) > LIM_PATH) {
		failed(ss, 1, "no user name from SASL");
		return;
	}
	/* the right password does not open a locked-out account */
	if (locked(ss, user)) {
		failed(ss, 1, "locked out after too many failures");
		return;
	}
	if (srv->hooks.on_auth && srv->hooks.on_auth(&ss->pub, user, &r) < 0) {
		log_safe(safe, sizeof(safe), r.text);
		failed(ss, 1, safe);
		return;
	}
	/* the user's own count only: one good account must not clear the
	 * client address of its failures with others */
	if (srv->cfg.authlimit) {
		authlimit_user_key(user, key, sizeof(key));
		authlimit_ok(srv->cfg.authlimit, key);
	}
	ss->pub.auth_user = strdup(user);
	if (ss->pub.auth_user == NULL) {
		end_exchange(ss);
		srv_reply(ss, 454, "4.7.0", "Temporary authentication failure");
		return;
	}
	log_safe(safe, sizeof(safe), user);
	log_info("%s: [%s]: AUTH %s ok: user=%s", ss->pub.id,
		 ss->pub.client_addr, ss->auth_mech, safe);
	end_exchange(ss);
	srv_reply(ss, 235, "2.7.0", "Authentication successful");
}

/* Act on what the SASL library said. */
static void outcome(struct srv_session *ss, enum sasl_res res,
		    struct sbuf *chal)
{
	switch (res) {
	case SASL_RES_CONTINUE:
		if (++ss->auth_steps > AUTH_MAX_STEPS) {
			end_exchange(ss);
			srv_reply(ss, 501, "5.5.2", "Error: too many "
				  "authentication steps");
			return;
		}
		ss->auth_wait = 1;
		conn_printf(ss->c, "334 %s\r\n", chal->data ? chal->data : "");
		return;
	case SASL_RES_OK:
		succeeded(ss);
		return;
	case SASL_RES_FAIL:
		failed(ss, 1, "bad credentials");
		return;
	case SASL_RES_BADPROT:
		end_exchange(ss);
		srv_reply(ss, 501, "5.5.2", "Error: malformed authentication "
			  "response");
		return;
	case SASL_RES_TEMP:
		break;
	}
	log_warn("%s: [%s]: AUTH %s: temporary failure", ss->pub.id,
		 ss->pub.client_addr, ss->auth_mech);
	end_exchange(ss);
	srv_reply(ss, 454, "4.7.0", "Temporary authentication failure");
}

/* The outcome of a SASL call, back on the loop: the session reads
 * again unless a failure's answer is delayed. */
static void sasl_done(void *arg, enum sasl_res res, struct sbuf *chal)
{
	struct srv_session *ss = arg;

	ss->auth_job = NULL;
	if (ss->state == ST_QUIT)
		return;
	outcome(ss, res, chal);
	if (ss->auth_delay == NULL)
		conn_resume(ss->c);
	conn_flush(ss->c);
}

/* A SASL call handed to a worker (j, NULL when it could not be): the
 * session reads nothing until sasl_done(). */
static void sasl_wait(struct srv_session *ss, struct sasl_async *j)
{
	if (j == NULL) {
		outcome(ss, SASL_RES_TEMP, NULL);
		return;
	}
	ss->auth_job = j;
	conn_pause(ss->c);
}

/* Is mech (uppercase) one of the space-separated mechanisms? */
static int offered(const char *mechs, const char *mech)
{
	size_t n = strlen(mech);
	const char *p;

	for (p = mechs; p && *p; p += strcspn(p, " ")) {
		while (*p == ' ')
			p++;
		if (strncasecmp(p, mech, n) == 0 && (p[n] == ' ' || !p[n]))
			return 1;
	}
	return 0;
}

/* Refuse AUTH when it cannot start now; returns -1 after replying. */
static int auth_refused(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;

	if (!srv->cfg.auth)
		srv_reply(ss, 502, "5.5.1", "Error: command not implemented");
	else if (ss->state < ST_READY || !ss->pub.esmtp)
		srv_reply(ss, 503, "5.5.1", "Error: send EHLO first");
	else if (!ss->pub.tls)
		/* RFC 4954 6 */
		srv_reply(ss, 538, "5.7.11", "Encryption required for "
			  "requested authentication mechanism");
	else if (ss->pub.auth_user)
		srv_reply(ss, 503, "5.5.1", "Error: already authenticated");
	else if (ss->have_mail)
		srv_reply(ss, 503, "5.5.1", "Error: MAIL transaction in "
			  "progress");
	else
		return 0;
	return -1;
}

void srv_auth_cmd(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	const char *arg = cmd->arg, *initial = NULL;
	size_t n = strcspn(arg, " "), i;

	if (auth_refused(ss) < 0)
		return;
	end_exchange(ss);
	if (n == 0 || n >= sizeof(ss->auth_mech)) {
		srv_reply(ss, 501, "5.5.4", "Syntax: AUTH mechanism");
		return;
	}
	for (i = 0; i < n; i++)
		ss->auth_mech[i] = (char)toupper((unsigned char)arg[i]);
	ss->auth_mech[n] = '\0';
	arg += n;
	while (*arg == ' ')
		arg++;
	if (*arg) {
		initial = arg;
		if (strchr(initial, ' ')) {
			end_exchange(ss);
			srv_reply(ss, 501, "5.5.4", "Syntax: AUTH mechanism "
				  "[initial-response]");
			return;
		}
	}
	if (ensure_sasl(ss) < 0) {
		outcome(ss, SASL_RES_TEMP, NULL);
		return;
	}
	if (!offered(sasl_srv_mechs(ss->sasl), ss->auth_mech)) {
		end_exchange(ss);
		srv_reply(ss, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	if (locked(ss, NULL)) {
		failed(ss, 0, "locked out after too many failures");
		return;
	}
	sasl_wait(ss, sasl_async_start(ss->sasl, ss->auth_mech, initial,
				       sasl_done, ss));
	if (initial) /* it is in the input buffer, which we may modify */
		explicit_bzero((char *)initial, strlen(initial));
}

void srv_auth_response(struct srv_session *ss, char *line)
{
	ss->auth_wait = 0;
	if (line == NULL) {
		end_exchange(ss);
		srv_reply(ss, 500, "5.5.6", "Authentication Exchange line is "
			  "too long");
		return;
	}
	if (strcmp(line, "*") == 0) {
		end_exchange(ss);
		srv_reply(ss, 501, "5.0.0", "Authentication cancelled");
		return;
	}
	sasl_wait(ss, sasl_async_step(ss->sasl, line, sasl_done, ss));
	explicit_bzero(line, strlen(line));
}
