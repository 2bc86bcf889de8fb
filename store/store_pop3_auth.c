/*
 * NAME
 *	store_pop3_auth - POP3 logins: USER/PASS and AUTH (RFC 1939, 5034)
 * DESCRIPTION
 *	Both go through common/sasl.h (Cyrus SASL against the credentials
 *	snapshot). Each failed login counts against the client address and
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

static void ipkey(const struct pop3_sess *s, char *out, size_t n)
{
	snprintf(out, n, "ip:%s", s->client);
}

/* Refuse at once when the client or the user is locked out. */
static int locked_out(struct pop3_sess *s, const char *user)
{
	struct authlimit *al = s->srv->st->authlimit;
	uint64_t now = evloop_now(s->srv->loop);
	char key[LIM_PATH + 16];

	ipkey(s, key, sizeof(key));
	if (!authlimit_blocked(al, key, now)) {
		snprintf(key, sizeof(key), "user:%s", user ? user : "");
		if (user == NULL || !authlimit_blocked(al, key, now))
			return 0;
	}
	log_info("%s: pop3 login refused: client=[%s], user=%s, reason=too "
		 "many failures", s->id, s->client, user ? user : "-");
	pop3_reply(s, "-ERR [SYS/TEMP] Too many failed logins, try again "
		   "later");
	return 1;
}

static void delayed_fail(void *arg)
{
	struct pop3_sess *s = arg;

	s->delay = NULL;
	pop3_reply(s, "-ERR [AUTH] Authentication failed");
	conn_resume(s->c);
	conn_flush(s->c);
}

/* A failed login: count it, answer after the delay it earned. */
static void login_failed(struct pop3_sess *s, const char *user,
			 const char *method)
{
	struct authlimit *al = s->srv->st->authlimit;
	uint64_t now = evloop_now(s->srv->loop), d, du;
	char key[LIM_PATH + 16], safe[LIM_PATH + 1];

	ipkey(s, key, sizeof(key));
	METRICS_COUNT(METRIC_AUTH_FAIL);
	d = authlimit_fail(al, key, now);
	if (user) {
		snprintf(key, sizeof(key), "user:%s", user);
		du = authlimit_fail(al, key, now);
		d = du > d ? du : d;
	}
	log_info("%s: pop3 login failed: client=[%s], user=%s, method=%s, "
		 "delay=%llums", s->id, s->client,
		 user ? log_safe(safe, sizeof(safe), user) : "-", method,
		 (unsigned long long)d);
	pop3_set_state(s, P_AUTH);
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
	snprintf(key, sizeof(key), "user:%s", user);
	authlimit_ok(s->srv->st->authlimit, key);
	pop3_enter_transaction(s, user, method);
}

/* The answer of the SASL layer to AUTH or to a response line. */
static void sasl_result(struct pop3_sess *s, enum sasl_res r,
			const struct sbuf *chal)
{
	switch (r) {
	case SASL_RES_CONTINUE:
		pop3_set_state(s, P_SASL);
		/* RFC 5034 section 4: "+" SP base64, "+ " when empty */
		pop3_reply(s, "+ %s", chal->data ? chal->data : "");
		return;
	case SASL_RES_OK:
		pop3_set_state(s, P_AUTH);
		/* the user is known only now: a locked-out one stays out */
		if (!locked_out(s, sasl_srv_user(s->sasl)))
			login_ok(s, sasl_srv_user(s->sasl), s->mech);
		return;
	case SASL_RES_FAIL:
		login_failed(s, sasl_srv_tried_user(s->sasl), s->mech);
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

void pop3_auth(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	struct sasl_srv *sasl = pop3_sasl(s);
	struct sbuf chal;
	const char *m;

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
	m = cmd->arg[0];
	snprintf(s->mech, sizeof(s->mech), "%.20s", m);
	sbuf_init(&chal, LIM_AUTH_LINE);
	sasl_result(s, sasl_srv_start(sasl, m, cmd->nargs > 1 ? cmd->arg[1]
							      : NULL,
				      &chal),
		    &chal);
	sbuf_free(&chal);
}

void pop3_sasl_line(struct pop3_sess *s, const char *line)
{
	struct sbuf chal;

	sbuf_init(&chal, LIM_AUTH_LINE);
	sasl_result(s, sasl_srv_step(s->sasl, line, &chal), &chal);
	sbuf_free(&chal);
}

void pop3_pass(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	struct sasl_srv *sasl;
	char user[POP3_ARG_MAX + 1];
	enum sasl_res r;

	if (s->user_arg[0] == '\0') {
		pop3_reply(s, "-ERR USER first");
		return;
	}
	snprintf(user, sizeof(user), "%s", s->user_arg);
	s->user_arg[0] = '\0';
	if (locked_out(s, user))
		return;
	sasl = pop3_sasl(s);
	r = sasl ? sasl_srv_check_plain(sasl, user, cmd->arg[0])
		 : SASL_RES_TEMP;
	if (r == SASL_RES_OK)
		login_ok(s, sasl_srv_user(sasl), "USER");
	else if (r == SASL_RES_TEMP)
		pop3_reply(s, "-ERR [SYS/TEMP] Authentication unavailable");
	else
		login_failed(s, user, "USER");
}
