/*
 * NAME
 *	store_pop3 - POP3 for the store's users (RFC 1939, 2449, 2595, 5034)
 * DESCRIPTION
 *	Listeners (STLS on pop3_listen, implicit TLS on pop3s_listen),
 *	sessions, the line reader and the AUTHORIZATION state: CAPA, STLS,
 *	USER/PASS and AUTH (those two in store_pop3_auth.c). No password
 *	crosses the wire in clear: before TLS, USER, PASS and AUTH are
 *	refused and CAPA lists neither USER nor SASL, unless plaintext_auth
 *	is set (allowed on loopback listeners only, see main.c). Command
 *	lines are at most 255 octets (RFC 2449 section 4), AUTH responses
 *	12288; longer lines are skipped and answered -ERR, twenty errors
 *	end the session. Idle sessions end after pop3_timeout. Faces the
 *	network.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "evloop.h"
#include "limits_rfc.h"
#include "log.h"
#include "sasl.h"
#include "sasl_async.h"
#include "sbuf.h"
#include "tls.h"

#include "store_pop3_int.h"

static unsigned long long counter;
static struct pop3_sess *all; /* every session of every listener */

void pop3_set_state(struct pop3_sess *s, enum pop3_state st)
{
	if ((s->state == P_AUTH || s->state == P_SASL) &&
	    (st == P_TRANS || st == P_QUIT))
		store_login_done(s->srv->st, s->c, s->client,
				 &s->login_counted);
	s->state = st;
}

void pop3_reply(struct pop3_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	{
		char line[600];
		int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);

		if (n < 0)
			n = 0;
		if ((size_t)n > sizeof(line) - 3)
			n = (int)sizeof(line) - 3;
		line[n] = '\r';
		line[n + 1] = '\n';
		conn_write(s->c, line, (size_t)n + 2);
	}
	va_end(ap);
}

void pop3_hangup(struct pop3_sess *s)
{
	pop3_set_state(s, P_QUIT);
	sbuf_reset(&s->c->in);
	conn_close_after_flush(s->c);
}

static void session_free(struct pop3_sess *s)
{
	pop3_set_state(s, P_QUIT); /* no longer counted before login */
	if (s->delay)
		evloop_timer_cancel(s->srv->loop, s->delay);
	pop3_close_maildrop(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->srv->nsessions--;
	/* a login being checked: the job frees the context, later */
	sasl_async_abandon(&s->auth_job, &s->sasl);
	sasl_srv_free(&s->sasl);
	conn_free(s->c);
	free(s->user);
	explicit_bzero(s->user_arg, sizeof(s->user_arg));
	free(s);
}

int pop3_maildrop_locked(const struct pop3_sess *self, const char *user)
{
	const struct pop3_sess *o;

	for (o = all; o; o = o->next)
		if (o != self && o->mbox && o->user &&
		    strcmp(o->user, user) == 0)
			return 1;
	return 0;
}

static void do_capa(struct pop3_sess *s)
{
	struct sasl_srv *sasl;

	pop3_reply(s, "+OK Capability list follows");
	pop3_reply(s, "TOP");
	pop3_reply(s, "UIDL");
	pop3_reply(s, "RESP-CODES");
	pop3_reply(s, "AUTH-RESP-CODE");
	pop3_reply(s, "PIPELINING");
	if (s->state == P_AUTH) {
		if (!s->tls && s->srv->st->tls)
			pop3_reply(s, "STLS");
		if (pop3_auth_allowed(s)) {
			pop3_reply(s, "USER");
			sasl = pop3_sasl(s);
			if (sasl && sasl_srv_mechs(sasl)[0])
				pop3_reply(s, "SASL %s", sasl_srv_mechs(sasl));
		}
	}
	pop3_reply(s, "IMPLEMENTATION Sluice");
	pop3_reply(s, ".");
}

static void do_stls(struct pop3_sess *s)
{
	if (s->tls) {
		pop3_reply(s, "-ERR TLS already active");
		return;
	}
	if (s->srv->st->tls == NULL) {
		pop3_reply(s, "-ERR TLS not available");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	/* RFC 2595 section 4: forget what was said before; conn_starttls
	 * also discards anything the client pipelined after STLS */
	s->user_arg[0] = '\0';
	sasl_srv_free(&s->sasl);
	if (conn_starttls(s->c, s->srv->st->tls, 1, NULL) < 0) {
		log_warn("%s: pop3 cannot start TLS", s->id);
		pop3_hangup(s);
	}
}

static void authorization(struct pop3_sess *s, const struct pop3_cmd *cmd)
{
	switch (cmd->verb) {
	case POP3_CAPA:
		do_capa(s);
		return;
	case POP3_QUIT:
		pop3_reply(s, "+OK Bye");
		log_info("%s: pop3 quit before login", s->id);
		pop3_hangup(s);
		return;
	case POP3_STLS:
		do_stls(s);
		return;
	case POP3_USER:
	case POP3_PASS:
	case POP3_AUTH:
		if (!pop3_auth_allowed(s)) {
			pop3_reply(s, "-ERR [AUTH] Plain text authentication "
				   "disallowed without TLS: use STLS");
			s->nerrors++;
		} else if (cmd->verb == POP3_USER) {
			snprintf(s->user_arg, sizeof(s->user_arg), "%s",
				 cmd->arg[0]);
			pop3_reply(s, "+OK Send PASS");
		} else if (cmd->verb == POP3_PASS) {
			pop3_pass(s, cmd);
		} else {
			pop3_auth(s, cmd);
		}
		return;
	case POP3_APOP:
		pop3_reply(s, "-ERR APOP not supported (use STLS and AUTH)");
		return;
	default:
		s->nerrors++;
		pop3_reply(s, "-ERR Not logged in");
		return;
	}
}

/* ---- reading ---- */

static void command(struct pop3_sess *s, const char *line, size_t len)
{
	struct pop3_cmd cmd;
	const char *why;
	int rc = pop3_parse(line, len, &cmd, &why);

	if (rc < 0) {
		s->nerrors++;
		pop3_reply(s, "-ERR %s", why);
	} else if (s->state == P_AUTH) {
		authorization(s, &cmd);
	} else if (cmd.verb == POP3_USER || cmd.verb == POP3_PASS ||
		   cmd.verb == POP3_AUTH || cmd.verb == POP3_STLS ||
		   cmd.verb == POP3_APOP) {
		s->nerrors++;
		pop3_reply(s, "-ERR Already logged in");
	} else if (cmd.verb == POP3_CAPA) {
		do_capa(s);
	} else {
		pop3_transaction(s, &cmd);
	}
	explicit_bzero(&cmd, sizeof(cmd));
}

static void on_read(void *arg)
{
	struct pop3_sess *s = arg;
	struct sbuf *in = &s->c->in;
	char line[LIM_AUTH_LINE + 3];
	enum pop3_line r;
	size_t len, used;

	while (s->state != P_QUIT && s->delay == NULL &&
	       s->auth_job == NULL && !s->c->handshaking && in->len > 0) {
		r = pop3_read_line(&s->rd, in->data, in->len,
				   s->state == P_SASL ? LIM_AUTH_LINE + 2
						      : POP3_CMD_LINE,
				   &len, &used);
		if (r == POP3_LINE_OK)
			memcpy(line, in->data, len);
		/* passwords pass through here: leave no copy behind */
		explicit_bzero(in->data, used);
		sbuf_consume(in, used);
		if (r == POP3_LINE_NEED)
			break;
		conn_progress(s->c); /* only complete lines count */
		if (r != POP3_LINE_OK) {
			s->nerrors++;
			if (s->state == P_SASL) {
				pop3_sasl_line(s, "*"); /* cancel */
			} else {
				pop3_reply(s, "-ERR %s", r == POP3_LINE_LONG ?
					   "Line too long" :
					   "Bare CR or LF, or NUL, in command");
			}
		} else if (s->state == P_SASL) {
			line[len] = '\0';
			pop3_sasl_line(s, line);
		} else {
			command(s, line, len);
		}
		explicit_bzero(line, len);
		if (s->nerrors >= LIM_SESSION_ERRORS && s->state != P_QUIT) {
			pop3_reply(s, "-ERR Too many errors, closing");
			log_info("%s: pop3 too many errors from [%s]", s->id,
				 s->client);
			pop3_close_maildrop(s);
			pop3_hangup(s);
		}
	}
	conn_flush(s->c);
}

/* ---- sessions ---- */

static void on_close(void *arg, enum conn_event ev)
{
	struct pop3_sess *s = arg;

	if (ev == CONN_ERROR)
		log_info("%s: pop3 disconnect from [%s]: %s", s->id, s->client,
			 conn_error_text(s->c));
	else
		log_info("%s: pop3 disconnect from [%s]", s->id, s->client);
	session_free(s);
}

static void on_timeout(void *arg, enum conn_event ev)
{
	struct pop3_sess *s = arg;

	/* RFC 1939 section 3: a timeout never enters the UPDATE state */
	log_info("%s: pop3 %s from [%s]%s%s", s->id, ev == CONN_DEADLINE ?
		 "login timeout" : "timeout", s->client,
		 s->user ? ", user=" : "", s->user ? s->user : "");
	pop3_close_maildrop(s);
	pop3_reply(s, "-ERR %s timeout, closing", ev == CONN_DEADLINE ?
		   "Login" : "Idle");
	pop3_hangup(s);
}

static void greet(struct pop3_sess *s)
{
	pop3_reply(s, "+OK %s Sluice POP3 ready", s->srv->st->cfg->hostname);
}

static void on_tls(void *arg)
{
	struct pop3_sess *s = arg;
	char info[160];

	s->tls = 1;
	tls_describe(s->c->tls, info, sizeof(info));
	log_info("%s: pop3 TLS established from [%s]: %s", s->id, s->client,
		 info);
	if (s->srv->implicit)
		greet(s);
	conn_flush(s->c);
}

static const struct conn_ops pop3_conn_ops = {
	.on_read = on_read,
	.on_close = on_close,
	.on_tls = on_tls,
	.on_timeout = on_timeout,
};

static void peer(int fd, struct pop3_sess *s)
{
	snprintf(s->client, sizeof(s->client), "unknown");
	conn_sock_addr(fd, 0, s->client, sizeof(s->client), &s->port);
}

static void accept_one(struct pop3_server *srv, int fd)
{
	struct pop3_sess *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		close(fd);
		return;
	}
	s->srv = srv;
	snprintf(s->id, sizeof(s->id), "P%07llX", ++counter);
	peer(fd, s);
	s->c = conn_new(srv->loop, fd, LIM_AUTH_LINE + 4096, &pop3_conn_ops,
			s);
	if (s->c == NULL) {
		close(fd);
		free(s);
		return;
	}
	s->next = all;
	if (all)
		all->prev = s;
	all = s;
	srv->nsessions++;
	conn_set_timeout(s->c, (unsigned)srv->st->cfg->pop3_timeout);
	log_info("%s: pop3%s connect from [%s]:%d", s->id,
		 srv->implicit ? "s" : "", s->client, s->port);
	if (store_login_start(srv->st, s->c, s->id, s->client,
			      &s->login_counted) < 0) {
		pop3_reply(s, "-ERR [SYS/TEMP] Too many connections from your "
			   "address");
		pop3_hangup(s);
		return;
	}
	if (srv->nsessions > (size_t)srv->st->cfg->max_sessions) {
		log_warn("%s: pop3 too many sessions (%zu), refusing [%s]",
			 s->id, srv->nsessions, s->client);
		pop3_reply(s, "-ERR [SYS/TEMP] Too many sessions, try later");
		pop3_hangup(s);
		return;
	}
	if (srv->implicit) {
		if (conn_starttls(s->c, srv->st->tls, 1, NULL) < 0)
			pop3_hangup(s);
		return;
	}
	greet(s);
	conn_flush(s->c);
}

static void on_accept(void *arg, uint32_t events)
{
	struct pop3_server *srv = arg;
	int fd, i;

	(void)events;
	for (i = 0; i < 64; i++) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("pop3 accept: %s", strerror(errno));
			return;
		}
		accept_one(srv, fd);
	}
}

struct pop3_server *pop3_server_new(struct store *st, struct evloop *loop,
				    int fd, int implicit)
{
	struct pop3_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->st = st;
	srv->loop = loop;
	srv->fd = fd;
	srv->implicit = implicit;
	if (evloop_add(loop, fd, EPOLLIN, on_accept, srv) < 0) {
		free(srv);
		return NULL;
	}
	return srv;
}

void pop3_server_free(struct pop3_server **p)
{
	struct pop3_server *srv = *p;
	struct pop3_sess *s, *next;

	if (srv == NULL)
		return;
	for (s = all; s; s = next) {
		next = s->next;
		if (s->srv == srv)
			session_free(s);
	}
	evloop_del(srv->loop, srv->fd);
	close(srv->fd);
	free(srv);
	*p = NULL;
}
