/*
 * NAME
 *	store_imap_auth - CAPABILITY NOOP LOGOUT STARTTLS LOGIN AUTHENTICATE
 *	ID ENABLE NAMESPACE
 * DESCRIPTION
 *	No password crosses the wire in clear: before TLS, CAPABILITY says
 *	LOGINDISABLED and offers no AUTH=, and LOGIN/AUTHENTICATE get
 *	NO [PRIVACYREQUIRED] (unless the store's plaintext_auth allows it
 *	for a loopback test setup). Credentials go to the SASL adapter
 *	(sasl.h) on a worker thread (sasl_async.h): the session reads
 *	nothing until the outcome is back, and the loop serves the other
 *	sessions meanwhile; failed logins are counted per client address and per
 *	user (authlimit.h) and answered after a growing delay, and a
 *	locked-out key is refused at once with [UNAVAILABLE]. Passwords
 *	are wiped from the command after use and never logged.
 *	Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authlimit.h"
#include "log.h"
#include "metrics.h"
#include "sasl.h"
#include "sasl_async.h"
#include "store.h"
#include "store_imap_cmd.h"
#include "store_mbox.h"

#define CAPS_BASE "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE " \
		  "NAMESPACE UIDPLUS MOVE SPECIAL-USE QUOTA UNSELECT CHILDREN " \
		  "ESEARCH LIST-STATUS STATUS=SIZE CONDSTORE QRESYNC " \
		  "SEARCHRES MULTIAPPEND BINARY SORT THREAD=ORDEREDSUBJECT " \
		  "THREAD=REFERENCES LIST-EXTENDED COMPRESS=DEFLATE " \
		  "CATENATE NOTIFY"

static int auth_allowed(struct imap_sess *s)
{
	return s->tls || imap_store(s)->cfg->plaintext_auth;
}

static struct sasl_srv *sess_sasl(struct imap_sess *s)
{
	if (s->sasl == NULL)
		s->sasl = sasl_srv_new("imap", s->local[0] ? s->local : NULL,
				       s->remote[0] ? s->remote : NULL,
				       auth_allowed(s));
	return s->sasl;
}

void imap_capabilities(struct imap_sess *s)
{
	const char *mechs, *p, *sp;

	conn_printf(s->c, "%s", CAPS_BASE);
	if (s->state != IMAP_NOTAUTH)
		return;
	if (!s->tls && s->srv->tls)
		conn_printf(s->c, " STARTTLS");
	if (!auth_allowed(s)) {
		conn_printf(s->c, " LOGINDISABLED");
		return;
	}
	mechs = sess_sasl(s) ? sasl_srv_mechs(s->sasl) : "";
	for (p = mechs; p && *p; p = sp) {
		while (*p == ' ')
			p++;
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		if (sp > p)
			conn_printf(s->c, " AUTH=%.*s", (int)(sp - p), p);
	}
}

void imap_cmd_capability(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "CAPABILITY takes no arguments");
		return;
	}
	conn_printf(s->c, "* CAPABILITY ");
	imap_capabilities(s);
	conn_printf(s->c, "\r\n");
	imap_ok(s, cmd->tag, "CAPABILITY completed");
}

void imap_cmd_noop(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "%s takes no arguments", cmd->name);
		return;
	}
	imap_ok(s, cmd->tag, "%s completed", cmd->name);
}

void imap_cmd_check(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (s->rev2) {	/* RFC 9051 E.1: CHECK was removed */
		imap_bad(s, cmd->tag, "Unknown command");
		return;
	}
	imap_cmd_noop(s, cmd);
}

void imap_cmd_logout(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "LOGOUT takes no arguments");
		return;
	}
	imap_untagged(s, "BYE Logging out");
	if (s->user)
		log_info("%s: logout user=%s", s->id, s->user);
	imap_set_state(s, IMAP_LOGOUT);
	imap_ok(s, cmd->tag, "LOGOUT completed");
	imap_hangup(s);
}

void imap_cmd_starttls(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "STARTTLS takes no arguments");
		return;
	}
	if (s->srv->tls == NULL || s->tls) {
		imap_bad(s, cmd->tag, s->tls ? "TLS is already active"
			 : "TLS is not available");
		return;
	}
	imap_ok(s, cmd->tag, "Begin TLS negotiation now");
	/* RFC 3501 6.2.1: what the client pipelined is discarded */
	if (conn_starttls(s->c, s->srv->tls, 1, NULL) < 0) {
		log_warn("%s: cannot start TLS", s->id);
		imap_hangup(s);
	}
}

/* ---- login ---- */

/* Is user (NULL: none yet) locked out? */
static int user_locked(struct imap_sess *s, const char *user)
{
	struct authlimit *al = imap_store(s)->authlimit;
	char k[LIM_PATH + 16];

	if (al == NULL || user == NULL)
		return 0;
	authlimit_user_key(user, k, sizeof(k));
	return authlimit_blocked(al, k, imap_now(s));
}

/* Locked out (client address, or user when given)? */
static int locked(struct imap_sess *s, const char *user)
{
	struct authlimit *al = imap_store(s)->authlimit;
	char k[LIM_PATH + 16];

	if (al == NULL)
		return 0;
	authlimit_ip_key(s->client_addr, k, sizeof(k));
	return authlimit_blocked(al, k, imap_now(s)) || user_locked(s, user);
}

static void login_ok(struct imap_sess *s, const char *method)
{
	struct store *st = imap_store(s);
	const char *user = sasl_srv_user(s->sasl);
	char err[256], k[LIM_PATH + 16];

	s->mode = IMAP_MODE_CMD;
	if (user == NULL || (s->user = strdup(user)) == NULL) {
		imap_no(s, s->tag, "[UNAVAILABLE] Internal error");
		return;
	}
	/* the user's own count only: a good login to one account must not
	 * clear the client address of its failures with others */
	if (st->authlimit) {
		authlimit_user_key(user, k, sizeof(k));
		authlimit_ok(st->authlimit, k);
	}
	if (mbox_user_prepare(st->mbox, user, err, sizeof(err)) < 0)
		log_warn("%s: cannot prepare folders of %s: %s", s->id, user,
			 err);
	log_info("%s: login user=%s, method=%s, client=[%s]", s->id, user,
		 method, s->client_addr);
	imap_set_state(s, IMAP_AUTH);
	conn_printf(s->c, "%s OK [CAPABILITY ", s->tag);
	imap_capabilities(s);
	conn_printf(s->c, "] Logged in\r\n");
}

static void fail_answer(void *arg)
{
	struct imap_sess *s = arg;

	if (s->fail_locked)
		imap_no(s, s->tag, "[UNAVAILABLE] Too many failed logins, "
			"try again later");
	else
		imap_no(s, s->tag, "[AUTHENTICATIONFAILED] Authentication "
			"failed");
	imap_resume(s);
}

/* A failed login: count it, answer after the delay (that the user is
 * locked out when is_locked, right password or not). */
static void login_failed(struct imap_sess *s, const char *user,
			 const char *method, int is_locked)
{
	struct authlimit *al = imap_store(s)->authlimit;
	char k[LIM_PATH + 16], safe[300];
	uint64_t d = 1000, d2;

	log_safe(safe, sizeof(safe), user ? user : "");
	log_info("%s: login failed: user=%s, method=%s, client=[%s]%s", s->id,
		 user ? safe : "?", method, s->client_addr,
		 is_locked ? ", reason=too many failures" : "");
	s->nerrors++;
	METRICS_COUNT(METRIC_AUTH_FAIL);
	if (al) {
		authlimit_ip_key(s->client_addr, k, sizeof(k));
		d = authlimit_fail(al, k, imap_now(s));
		if (user) {
			authlimit_user_key(user, k, sizeof(k));
			d2 = authlimit_fail(al, k, imap_now(s));
			d = d2 > d ? d2 : d;
		}
	}
	s->fail_locked = is_locked;
	imap_wait(s);
	imap_delay(s, d, fail_answer);
}

/* The outcome of a SASL step, LOGIN included. Only now does an
 * AUTHENTICATE tell who the user is: a locked-out user is refused
 * whatever the password was. */
static void sasl_result(struct imap_sess *s, enum sasl_res r,
			struct sbuf *chal, const char *user,
			const char *method)
{
	switch (r) {
	case SASL_RES_OK:
		user = sasl_srv_user(s->sasl);
		if (user_locked(s, user))
			login_failed(s, user, method, 1);
		else
			login_ok(s, method);
		break;
	case SASL_RES_CONTINUE:
		s->mode = IMAP_MODE_SASL;
		conn_printf(s->c, "+ %s\r\n", chal && chal->data ? chal->data
			    : "");
		break;
	case SASL_RES_FAIL:
		if (user == NULL && s->sasl)
			user = sasl_srv_tried_user(s->sasl);
		login_failed(s, user, method, user_locked(s, user));
		break;
	case SASL_RES_BADPROT:
		s->mode = IMAP_MODE_CMD;
		imap_bad(s, s->tag, "Authentication exchange failed or "
			 "cancelled");
		break;
	case SASL_RES_TEMP:
		s->mode = IMAP_MODE_CMD;
		log_warn("%s: authentication unavailable (method=%s)", s->id,
			 method);
		imap_no(s, s->tag, "[UNAVAILABLE] Authentication is "
			"temporarily unavailable");
		break;
	}
}

/* Checks shared by LOGIN and AUTHENTICATE: 0 to go on. */
static int may_login(struct imap_sess *s, const char *tag, const char *user)
{
	if (!auth_allowed(s)) {
		imap_no(s, tag, "[PRIVACYREQUIRED] Use STARTTLS first");
		return -1;
	}
	if (locked(s, user)) {
		log_info("%s: login refused: too many failures, client=[%s]",
			 s->id, s->client_addr);
		imap_no(s, tag, "[UNAVAILABLE] Too many failed logins, try "
			"again later");
		return -1;
	}
	if (sess_sasl(s) == NULL) {
		imap_no(s, tag, "[UNAVAILABLE] Authentication is unavailable");
		return -1;
	}
	return 0;
}

/* The outcome of a SASL call, back on the loop: the session reads
 * again unless the answer is delayed. */
static void sasl_done(void *arg, enum sasl_res r, struct sbuf *chal)
{
	struct imap_sess *s = arg;

	s->auth_job = NULL;
	if (s->state == IMAP_LOGOUT)
		return;
	sasl_result(s, r, chal, NULL, s->method);
	if (s->mode != IMAP_MODE_WAIT)
		conn_resume(s->c);
	conn_flush(s->c);
}

/* A SASL call handed to a worker (j, NULL when it could not be): the
 * session waits for sasl_done(). */
static void sasl_wait(struct imap_sess *s, struct sasl_async *j)
{
	if (j == NULL) {
		sasl_result(s, SASL_RES_TEMP, NULL, NULL, s->method);
		return;
	}
	s->auth_job = j;
	imap_wait(s);
}

void imap_cmd_login(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *user = imap_arg_str(cmd, 0);
	const char *pass = imap_arg_str(cmd, 1);

	if (cmd->nargs != 2 || user == NULL || pass == NULL) {
		imap_bad(s, cmd->tag, "Syntax: LOGIN user password");
		goto wipe;
	}
	if (may_login(s, cmd->tag, user) < 0)
		goto wipe;
	snprintf(s->method, sizeof(s->method), "LOGIN");
	sasl_wait(s, sasl_async_plain(s->sasl, user, pass, sasl_done, s));
wipe:
	if (cmd->nargs >= 2 && cmd->args[1].type != IMAP_ARG_LIST)
		memset((char *)cmd->args[1].s, 0, cmd->args[1].len);
}

void imap_cmd_authenticate(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *mech = imap_arg_str(cmd, 0);
	const char *ir = imap_arg_str(cmd, 1);
	char m[40];

	if (mech == NULL || cmd->args[0].type != IMAP_ARG_ATOM ||
	    cmd->nargs > 2 || (cmd->nargs == 2 && ir == NULL)) {
		imap_bad(s, cmd->tag, "Syntax: AUTHENTICATE mechanism "
			 "[initial-response]");
		return;
	}
	if (may_login(s, cmd->tag, NULL) < 0)
		return;
	log_safe(m, sizeof(m), mech);
	snprintf(s->method, sizeof(s->method), "%s", m);
	sasl_wait(s, sasl_async_start(s->sasl, mech, ir, sasl_done, s));
	if (ir)
		memset((char *)ir, 0, strlen(ir));
}

void imap_sasl_line(struct imap_sess *s, const char *line)
{
	sasl_wait(s, sasl_async_step(s->sasl, line, sasl_done, s));
	memset((char *)line, 0, strlen(line));
}

/* ---- ID, ENABLE, NAMESPACE ---- */

/* RFC 2971 4: "(" string SP nstring *(SP string SP nstring) ")" / nil,
 * flat as the parser gives it, within the limits of 3.3. */
static int id_params_ok(const struct imap_cmd *cmd)
{
	size_t i, n;

	if (imap_arg_is(cmd, 0, "NIL"))
		return cmd->nargs == 1;
	if (cmd->nargs == 0 || cmd->args[0].type != IMAP_ARG_LIST ||
	    imap_arg_next(cmd, 0) != cmd->nargs)
		return 0;
	n = cmd->args[0].nsub;
	if (n == 0 || n % 2 != 0 || n / 2 > LIM_IMAP_ID_PAIRS)
		return 0;
	for (i = 1; i <= n; i++) {
		const struct imap_arg *a = &cmd->args[i];
		int field = i % 2 == 1;

		if (a->type == IMAP_ARG_ATOM && !field &&
		    imap_arg_is(cmd, i, "NIL"))
			continue;
		if ((a->type != IMAP_ARG_QUOTED &&
		     a->type != IMAP_ARG_LITERAL) ||
		    a->len > (field ? LIM_IMAP_ID_FIELD : LIM_IMAP_ID_VALUE))
			return 0;
	}
	return 1;
}

void imap_cmd_id(struct imap_sess *s, struct imap_cmd *cmd)
{
	/* RFC 2971: the client's list is only looked at, never logged in
	 * full (it is free text from the network) */
	if (!id_params_ok(cmd)) {
		imap_bad(s, cmd->tag, "Syntax: ID (params) or ID NIL");
		return;
	}
	imap_untagged(s, "ID (\"name\" \"Sluice\" \"vendor\" \"Sluice\")");
	imap_ok(s, cmd->tag, "ID completed");
}

void imap_cmd_enable(struct imap_sess *s, struct imap_cmd *cmd)
{
	char on[64] = "";
	size_t i, len = 0;

	/* RFC 5161: CONDSTORE, QRESYNC (RFC 7162 3.2.3: QRESYNC implies
	 * CONDSTORE) and IMAP4rev2 (RFC 9051); the ENABLED response names what this
	 * command turned on, unknown names are ignored */
	for (i = 0; i < cmd->nargs; i++)
		if (cmd->args[i].type != IMAP_ARG_ATOM) {
			imap_bad(s, cmd->tag, "Syntax: ENABLE capability...");
			return;
		}
	if (cmd->nargs == 0) {
		imap_bad(s, cmd->tag, "Syntax: ENABLE capability...");
		return;
	}
	for (i = 0; i < cmd->nargs; i++) {
		if (imap_arg_is(cmd, i, "CONDSTORE") &&
		    !strstr(on, " CONDSTORE")) {
			imap_condstore_on(s);
			len += (size_t)snprintf(on + len, sizeof(on) - len,
						" CONDSTORE");
		} else if (imap_arg_is(cmd, i, "IMAP4rev2") && !s->rev2) {
			/* RFC 9051 (Appendix E): from now on this session
			 * speaks IMAP4rev2 */
			s->rev2 = 1;
			len += (size_t)snprintf(on + len, sizeof(on) - len,
						" IMAP4rev2");
		} else if (imap_arg_is(cmd, i, "QRESYNC") && !s->qresync) {
			imap_condstore_on(s);
			s->qresync = 1;
			len += (size_t)snprintf(on + len, sizeof(on) - len,
						" QRESYNC");
		}
	}
	imap_untagged(s, "ENABLED%s", on);
	imap_ok(s, cmd->tag, "ENABLE completed");
}

void imap_cmd_namespace(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "NAMESPACE takes no arguments");
		return;
	}
	imap_untagged(s, "NAMESPACE ((\"\" \".\")) NIL NIL");
	imap_ok(s, cmd->tag, "NAMESPACE completed");
}
