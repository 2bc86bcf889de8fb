/*
 * NAME
 *	store_pop3_auth - POP3 logins: USER/PASS and AUTH (RFC 1939, 5034)
 * DESCRIPTION
 *	Both go through common/sasl.h (Cyrus SASL against the credentials
 *	snapshot) on a worker thread (sasl_async.h), the session paused
 *	until the outcome is back. Each failed login counts against the client address and
 *	the user it named (authlimit) and is answered only after the delay
 *	it earned, the session paused meanwhile; a locked-out address or
 *	user is refused without a check, or, with SASL, as soon as the user
 *	is known. A good login takes the maildrop (store_pop3_trans.c)
 *	unless another session holds it ([IN-USE]). Passwords are never
 *	logged. Faces the network.
 */
#include <stdio.h>
#include <string.h>

#include "authlimit.h"
#include "conn.h"
#include "evloop.h"
#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "sasl.h"
#include "sasl_async.h"
#include "sbuf.h"

#include "store_pop3_int.h"

int pop3_auth_allowed(const struct pop3_sess *s)
{
	return s->tls || s->srv->st->cfg->plaintext_auth;
}

struct sasl_srv *pop3_sasl(struct pop3_sess *s)
{
	char remote[100];

	if (s->sasl == NULL) {
		snprintf(remote, sizeof(remote), "%s;%d", s->client, s->port);
		/* plaintext_auth (loopback tests only) counts as secure */
		s->sasl = sasl_srv_new("pop", NULL, remote, pop3_auth_allowed(s));
	}
	return s->sasl;
}

/* Is user (NULL: not known yet) locked out? */
static int user_locked(struct pop3_sess *s, const char *user)
{
	return authlimit_login_blocked(s->srv->st->authlimit, NULL, user,
				       evloop_now(s->srv->loop));
}

/* Refuse at once when the client or the user is locked out. */
static int locked_out(struct pop3_sess *s, const char *user)
{
	char safe[LIM_PATH + 1];

	if (!authlimit_login_blocked(s->srv->st->authlimit, s->client, user,
				     evloop_now(s->srv->loop)))
		return 0;
	log_info("%s: pop3 login refused: client=[%s], user=%s, reason=too "
		 "many failures", s->id, s->client,
		 user ? log_safe(safe, sizeof(safe), user) : "-");
	pop3_reply(s, "-ERR [SYS/TEMP] Too many failed logins, try again "
		   "later");
	return 1;
}

static void delayed_fail(void *arg)
{
	struct pop3_sess *s = arg;

	s->delay = NULL;
	if (s->fail_locked)
		pop3_reply(s, "-ERR [SYS/TEMP] Too many failed logins, try "
			   "again later");
	else
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
	conn_resume(s->c);
	conn_flush(s->c);
}

/* A failed login: count it, answer after the delay it earned (that the
 * user is locked out when is_locked, whatever the password was). */
static void login_failed(struct pop3_sess *s, const char *user,
			 const char *method, int is_locked)
{
	uint64_t d;
	char safe[LIM_PATH + 1];

	METRICS_COUNT(METRIC_AUTH_FAIL);
	d = authlimit_login_failed(s->srv->st->authlimit, s->client, user,
				   evloop_now(s->srv->loop));
	log_info("%s: pop3 login failed: client=[%s], user=%s, method=%s, "
		 "delay=%llums%s", s->id, s->client,
		 user ? log_safe(safe, sizeof(safe), user) : "-", method,
		 (unsigned long long)d,
		 is_locked ? ", reason=too many failures" : "");
	pop3_set_state(s, P_AUTH);
	s->fail_locked = is_locked;
	s->delay = evloop_timer(s->srv->loop, d, delayed_fail, s);
	if (s->delay == NULL)
		delayed_fail(s);
	else
		conn_pause(s->c);
}

static void login_ok(struct pop3_sess *s, const char *user,
		     const char *method)
{
	char key[LIM_PATH + 16];

	if (pop3_maildrop_locked(s, user)) {
		log_info("%s: pop3 login: user=%s, method=%s, maildrop in use",
			 s->id, user, method);
		pop3_set_state(s, P_AUTH);
		pop3_reply(s, "-ERR [IN-USE] Maildrop already locked by "
			   "another session");
		return;
	}
	/* only the user's count: one good account must not clear the
	 * client address of its failures with others */
	authlimit_user_key(user, key, sizeof(key));
	authlimit_ok(s->srv->st->authlimit, key);
	pop3_enter_transaction(s, user, method);
}

/* The answer of the SASL layer to AUTH or to a response line. */
static void sasl_result(struct pop3_sess *s, enum sasl_res r,
			const struct sbuf *chal)
{
	const char *user;

	switch (r) {
	case SASL_RES_CONTINUE:
		pop3_set_state(s, P_SASL);
		/* RFC 5034 section 4: "+" SP base64, "+ " when empty */
		pop3_reply(s, "+ %s", chal && chal->data ? chal->data : "");
		return;
	case SASL_RES_OK:
		pop3_set_state(s, P_AUTH);
		/* the user is known only now: a locked-out one stays out,
		 * answered as a wrong password would be */
		user = sasl_srv_user(s->sasl);
		if (user_locked(s, user))
			login_failed(s, user, s->mech, 1);
		else
			login_ok(s, user, s->mech);
		return;
	case SASL_RES_FAIL:
		user = sasl_srv_tried_user(s->sasl);
		login_failed(s, user, s->mech, user_locked(s, user));
		return;
	case SASL_RES_BADPROT:
		pop3_set_state(s, P_AUTH);
		s->nerrors++;
		pop3_reply(s, "-ERR Authentication cancelled or malformed");
		return;
	case SASL_RES_TEMP:
		pop3_set_state(s, P_AUTH);
		pop3_reply(s, "-ERR [SYS/TEMP] Authentication unavailable");
		return;
	}
}

/* The outcome of a SASL call, back on the loop: the session reads
 * again unless a failure's answer is delayed. */
static void sasl_done(void *arg, enum sasl_res r, struct sbuf *chal)
{
	struct pop3_sess *s = arg;

	s->auth_job = NULL;
	if (s->state == P_QUIT)
		return;
	sasl_result(s, r, chal);
	if (s->delay == NULL)
		conn_resume(s->c);
	conn_flush(s->c);
}

/* A SASL call handed to a worker (j, NULL when it could not be): the
 * session reads nothing until sasl_done(). */
static void sasl_wait(struct pop3_sess *s, struct sasl_async *j)
{
	if (j == NULL) {
		sasl_result(s, SASL_RES_TEMP, NULL);
		return;
	}
	s->auth_job = j;
	conn_pause(s->c);
}

void pop3_auth(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	struct sasl_srv *sasl = pop3_sasl(s);

	if (sasl == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] Authentication unavailable");
		return;
	}
	if (cmd->nargs == 0) {
		/* the RFC 1734 listing some clients still ask for */
		const char *p = sasl_srv_mechs(sasl);
		size_t n;

		pop3_reply(s, "+OK Mechanisms follow");
		for (; *p; p += n + (p[n] == ' ')) {
			n = strcspn(p, " ");
			pop3_reply(s, "%.*s", (int)n, p);
		}
		pop3_reply(s, ".");
		return;
	}
	if (locked_out(s, NULL))
		return;
	snprintf(s->mech, sizeof(s->mech), "%.20s", cmd->arg[0]);
	sasl_wait(s, sasl_async_start(sasl, cmd->arg[0], cmd->nargs > 1 ?
				      cmd->arg[1] : NULL, sasl_done, s));
}

void pop3_sasl_line(struct pop3_sess *s, const char *line)
{
	sasl_wait(s, sasl_async_step(s->sasl, line, sasl_done, s));
}

void pop3_pass(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	struct sasl_srv *sasl;
	char user[POP3_ARG_MAX + 1];

	if (s->user_arg[0] == '\0') {
		pop3_reply(s, "-ERR USER first");
		return;
	}
	snprintf(user, sizeof(user), "%s", s->user_arg);
	s->user_arg[0] = '\0';
	if (locked_out(s, user))
		return;
	sasl = pop3_sasl(s);
	snprintf(s->mech, sizeof(s->mech), "USER");
	sasl_wait(s, sasl ? sasl_async_plain(sasl, user, cmd->arg[0],
					     sasl_done, s) : NULL);
}
