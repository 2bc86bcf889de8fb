/*
 * NAME
 *	smtp_server - the one SMTP/LMTP server engine
 * DESCRIPTION
 *	See smtp_server.h. Faces the network: every byte from the peer is
 *	hostile. Commands are read one line at a time from the connection's
 *	input buffer (so pipelined commands are answered in order, and the
 *	replies of one batch leave in one write); a line longer than
 *	LIM_CMD_LINE is skipped to its end and answered 500. DATA is parsed
 *	in smtp_server_data.c. Session state changes only in set_state().
 */
#include "smtp_server.h"

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
#include "metrics.h"
#include "netmatch.h"
#include "peerlimit.h"
#include "playdead.h"
#include "smtp_server_int.h"
#include "tls.h"

int smtp_reply_set(struct smtp_reply *r, int code, const char *ecode,
		   const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	snprintf(r->ecode, sizeof(r->ecode), "%s", ecode ? ecode : "");
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* Only DATA lets bytes alone keep the session (at min_data_rate); in
 * every other state a command line must be complete within timeout. */
static void set_state(struct srv_session *ss, enum srv_state st)
{
	int data = st == ST_DATA || st == ST_BDAT;

	if (data != (ss->state == ST_DATA || ss->state == ST_BDAT))
		conn_set_min_rate(ss->c, data ?
				  ss->pub.srv->cfg.sess.min_data_rate : 0);
	ss->state = st;
}

void srv_reply(struct srv_session *ss, int code, const char *ecode,
	       const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (code >= 400)
		ss->nerrors++;
	if (ecode && *ecode)
		conn_printf(ss->c, "%d %s %s\r\n", code, ecode, text);
	else
		conn_printf(ss->c, "%d %s\r\n", code, text);
}

static void reply_struct(struct srv_session *ss, const struct smtp_reply *r)
{
	char safe[sizeof(r->text)];

	log_safe(safe, sizeof(safe), r->text);
	srv_reply(ss, r->code, r->ecode, "%s", safe);
}

/* Forget the current transaction (RFC 5321 4.1.1.5). */
void srv_reset_txn(struct srv_session *ss)
{
	envelope_free(&ss->pub.env);
	sbuf_reset(&ss->pub.msg);
	ss->pub.header_len = 0;
	ss->pub.received_count = 0;
	ss->have_mail = 0;
	srv_bdat_reset(ss);
	if (ss->state > ST_READY)
		set_state(ss, ST_READY);
}

/* The session no longer counts against its client's limit. */
static void uncount(struct srv_session *ss)
{
	if (ss->counted)
		peerlimit_leave(ss->pub.srv->peers, ss->pub.client_addr);
	ss->counted = 0;
}

void srv_session_free(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;

	if (srv->hooks.on_close)
		srv->hooks.on_close(&ss->pub);
	if (ss->prev)
		ss->prev->next = ss->next;
	else
		srv->sessions = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
	srv->nsessions--;
	uncount(ss);
	srv_auth_reset(ss);
	srv_dead_free(ss);
	srv_greet_free(ss);
	conn_free(ss->c);
	envelope_free(&ss->pub.env);
	sbuf_free(&ss->pub.msg);
	srv_bdat_reset(ss);
	free(ss->pub.helo);
	free(ss);
}

static void on_close(void *arg, enum conn_event ev)
{
	struct srv_session *ss = arg;

	if (ev == CONN_ERROR)
		log_info("%s: disconnect from [%s]: %s", ss->pub.id,
			 ss->pub.client_addr, conn_error_text(ss->c));
	else if (ev == CONN_EOF && ss->state != ST_QUIT)
		log_info("%s: lost connection from [%s]", ss->pub.id,
			 ss->pub.client_addr);
	else
		log_info("%s: disconnect from [%s]", ss->pub.id,
			 ss->pub.client_addr);
	srv_session_free(ss);
}

/* Answer 421 for the idle timeout or the session deadline and close. */
static void time_up(struct srv_session *ss, int deadline)
{
	if (deadline)
		METRICS_COUNT(METRIC_SESSION_LIMIT("deadline"));
	else
		METRICS_COUNT(METRIC_SESSION_LIMIT("timeout"));
	log_info("%s: %s from [%s]%s", ss->pub.id, deadline ?
		 "session deadline" : "timeout", ss->pub.client_addr,
		 ss->state == ST_DATA ? " in DATA" : "");
	srv_reply(ss, 421, "4.4.2", "%s Error: %s exceeded",
		  ss->pub.srv->cfg.hostname, deadline ? "session time limit"
		  : "timeout");
	srv_hangup(ss);
}

/* A message already complete (the stage is committing it) is answered
 * before the deadline ends the session: see smtp_session_reply(). */
static void on_timeout(void *arg, enum conn_event ev)
{
	struct srv_session *ss = arg;

	if (ev == CONN_DEADLINE && ss->state == ST_WAIT) {
		ss->expired = 1;
		conn_set_timeout(ss->c, (unsigned)ss->pub.srv->cfg.timeout);
		return;
	}
	time_up(ss, ev == CONN_DEADLINE);
}

void srv_hangup(struct srv_session *ss)
{
	set_state(ss, ST_QUIT);
	uncount(ss);
	sbuf_reset(&ss->c->in);
	conn_close_after_flush(ss->c);
}

static void on_tls(void *arg)
{
	struct srv_session *ss = arg;

	ss->pub.tls = 1;
	tls_describe(ss->c->tls, ss->pub.tls_info, sizeof(ss->pub.tls_info));
	log_info("%s: TLS established from [%s]: %s", ss->pub.id,
		 ss->pub.client_addr, ss->pub.tls_info);
	if (ss->pub.srv->cfg.implicit_tls) {
		srv_greet(ss);
		conn_flush(ss->c);
	}
}

static void too_long(struct srv_session *ss)
{
	if (ss->auth_wait)
		srv_auth_response(ss, NULL);
	else
		srv_reply(ss, 500, "5.5.2", "Error: line too long");
}

/* Handle complete command lines (or AUTH responses) in the input buffer.
 * Returns when the buffer has no complete line, or the session stopped
 * taking commands. */
static void read_commands(struct srv_session *ss)
{
	struct sbuf *in = &ss->c->in;
	char *lf;
	size_t len, lim;

	while (ss->state != ST_DATA && ss->state != ST_BDAT &&
	       ss->state != ST_WAIT && ss->delay_timer == NULL &&
	       ss->state != ST_QUIT && ss->auth_delay == NULL &&
	       ss->auth_job == NULL && !ss->hook_wait && in->len > 0) {
		/* RFC 4954 4: responses may be longer than commands */
		lim = ss->auth_wait ? LIM_AUTH_LINE + 2 : LIM_CMD_LINE;
		lf = memchr(in->data, '\n', in->len);
		if (ss->skipping) {
			if (lf == NULL) {
				sbuf_reset(in);
				return;
			}
			sbuf_consume(in, (size_t)(lf - in->data) + 1);
			ss->skipping = 0;
			conn_progress(ss->c);
			too_long(ss);
			continue;
		}
		if (lf == NULL) {
			if (in->len > lim) {
				ss->skipping = 1;
				sbuf_reset(in);
			}
			return;
		}
		len = (size_t)(lf - in->data) + 1;
		conn_progress(ss->c); /* a complete line, good or bad */
		if (len > lim) {
			sbuf_consume(in, len);
			too_long(ss);
		} else if (len < 2 || lf[-1] != '\r' ||
			   memchr(in->data, '\r', len - 2) != NULL ||
			   memchr(in->data, '\0', len) != NULL) {
			int bare_lf = len < 2 || lf[-1] != '\r';

			sbuf_consume(in, len);
			ss->auth_wait = 0;
			if (bare_lf &&
			    srv_violation(ss, SMTP_V_BARE_NEWLINE) < 0)
				break;
			srv_reply(ss, 500, "5.5.2", "Error: bare <CR> or <LF> "
				  "or NUL in command");
		} else {
			lf[-1] = '\0';
			ss->more_input = in->len > len;
			if (ss->auth_wait)
				srv_auth_response(ss, in->data);
			else
				srv_command(ss, in->data);
			if (ss->hook_wait) {
				/* held: the line runs again on resume */
				lf[-1] = '\r';
				return;
			}
			/* STARTTLS and QUIT empty the buffer themselves */
			if (in->len >= len)
				sbuf_consume(in, len);
		}
		if (ss->nerrors >= LIM_SESSION_ERRORS &&
		    ss->state != ST_QUIT) {
			METRICS_COUNT(METRIC_SESSION_LIMIT("errors"));
			srv_reply(ss, 421, "4.7.0", "%s Error: too many errors",
				  ss->pub.srv->cfg.hostname);
			srv_hangup(ss);
		}
	}
}

static void on_read(void *arg)
{
	struct srv_session *ss = arg;

	if (srv_dead_read(ss))
		return;
	srv_read(ss);
}

void srv_read(struct srv_session *ss)
{
	if (srv_greet_pending(ss)) {
		conn_flush(ss->c);
		return;
	}
	for (;;) {
		if (ss->state == ST_DATA || ss->state == ST_BDAT) {
			if ((ss->state == ST_DATA ? srv_data_read(ss) :
			     srv_bdat_read(ss)) == 0)
				break;
			conn_progress(ss->c);
			continue; /* message complete: commands may follow */
		}
		read_commands(ss);
		/* a client that sent the message with DATA (not waiting for
		 * 354, RFC 2920 3.1) has it in the buffer already */
		if ((ss->state == ST_DATA || ss->state == ST_BDAT) &&
		    ss->c->in.len > 0)
			continue;
		break;
	}
	conn_flush(ss->c);
}

void smtp_session_resume(struct smtp_session *s)
{
	struct srv_session *ss = (struct srv_session *)s;

	if (!ss->hook_wait)
		return;
	ss->hook_wait = 0;
	srv_read(ss);
}

static const struct conn_ops srv_conn_ops = {
	.on_read = on_read,
	.on_close = on_close,
	.on_tls = on_tls,
	.on_timeout = on_timeout,
};

static void peer_name(int fd, struct smtp_session *s)
{
	snprintf(s->client_addr, sizeof(s->client_addr), "unknown");
	conn_sock_addr(fd, 0, s->client_addr, sizeof(s->client_addr),
		       &s->client_port);
}

static void accept_one(struct smtp_server *srv, int fd)
{
	struct srv_session *ss = calloc(1, sizeof(*ss));

	if (ss == NULL) {
		close(fd);
		return;
	}
	ss->pub.srv = srv;
	ss->pub.lmtp = srv->cfg.lmtp;
	snprintf(ss->pub.id, sizeof(ss->pub.id), "%08llX",
		 (unsigned long long)++srv->counter);
	sbuf_init(&ss->pub.msg, (size_t)srv->cfg.max_size + 2);
	peer_name(fd, &ss->pub);
	ss->c = conn_new(srv->loop, fd, LIM_CMD_LINE * 4 + 65536,
			 &srv_conn_ops, ss);
	if (ss->c == NULL) {
		close(fd);
		free(ss);
		return;
	}
	ss->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = ss;
	srv->sessions = ss;
	srv->nsessions++;
	conn_set_timeout(ss->c, (unsigned)srv->cfg.timeout);
	conn_set_min_rate(ss->c, 0);
	conn_set_deadline(ss->c, (unsigned)srv->cfg.sess.session_deadline);
	log_info("%s: connect from [%s]:%d", ss->pub.id, ss->pub.client_addr,
		 ss->pub.client_port);
	ss->pub.trusted = netmatch_list(srv->cfg.trusted_peers,
					ss->pub.client_addr);
	ss->counted = peerlimit_enter(srv->peers, ss->pub.client_addr) == 0;
	if (!ss->counted) {
		METRICS_COUNT(METRIC_SESSION_LIMIT("per_client"));
		log_warn("%s: too many sessions from [%s], refusing",
			 ss->pub.id, ss->pub.client_addr);
		srv_reply(ss, 421, "4.7.0", "%s Error: too many connections "
			  "from your address", srv->cfg.hostname);
		srv_hangup(ss);
		return;
	}
	if (srv->nsessions > (size_t)srv->cfg.max_sessions) {
		METRICS_COUNT(METRIC_SESSION_LIMIT("busy"));
		log_warn("%s: too many sessions (%zu), refusing [%s]",
			 ss->pub.id, srv->nsessions, ss->pub.client_addr);
		srv_reply(ss, 421, "4.3.2", "%s Service busy, try again later",
			  srv->cfg.hostname);
		srv_hangup(ss);
		return;
	}
	if (srv_dead_accept(ss))
		return;
	if (srv->cfg.implicit_tls) {
		if (conn_starttls(ss->c, srv->cfg.tls, 1, NULL) < 0)
			srv_hangup(ss);
		return;
	}
	srv_greet(ss);
	conn_flush(ss->c);
}

static void on_accept(void *arg, uint32_t events)
{
	struct smtp_server *srv = arg;
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(srv->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		accept_one(srv, fd);
	}
}

/* Defaults for limits left at 0, caps for those over them. */
static void normalise(struct smtp_server_cfg *c)
{
	if (c->max_rcpts <= 0)
		c->max_rcpts = LIM_RCPT_DEFAULT;
	if (c->max_size <= 0 || c->max_size > LIM_MSG_SIZE_MAX)
		c->max_size = LIM_MSG_SIZE_DEFAULT;
	if (c->max_sessions <= 0)
		c->max_sessions = 100;
	if (c->timeout <= 0)
		c->timeout = LIM_TIMEOUT_CMD;
	if (c->sess.session_deadline <= 0 ||
	    c->sess.session_deadline > LIM_SESSION_DEADLINE_MAX)
		c->sess.session_deadline = LIM_SESSION_DEADLINE;
}

struct smtp_server *smtp_server_new(struct evloop *loop,
				    const struct smtp_server_cfg *cfg,
				    const struct smtp_hooks *hooks, void *ctx)
{
	struct smtp_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		log_fatal("out of memory");
	srv->loop = loop;
	srv->cfg = *cfg;
	srv->hooks = *hooks;
	srv->ctx = ctx;
	srv->listen_fd = -1;
	normalise(&srv->cfg);
	srv->peers = peerlimit_new(srv->cfg.sess.max_client_sessions);
	if (srv->peers == NULL)
		log_fatal("out of memory");
	srv_dead_init(srv);
	return srv;
}

void smtp_server_set_limits(struct smtp_server *srv,
			    const struct smtp_server_cfg *cfg)
{
	struct smtp_server_cfg c = srv->cfg;

	c.max_size = cfg->max_size;
	c.max_header = cfg->max_header;
	c.max_rcpts = cfg->max_rcpts;
	c.max_sessions = cfg->max_sessions;
	c.timeout = cfg->timeout;
	c.sess = cfg->sess;
	srv->cfg = c;
	normalise(&srv->cfg);
	peerlimit_set_max(srv->peers, srv->cfg.sess.max_client_sessions);
}

int smtp_server_listen(struct smtp_server *srv, int fd)
{
	srv->listen_fd = fd;
	playdead_listener(srv->loop, fd, on_accept, srv);
	return evloop_add(srv->loop, fd, EPOLLIN, on_accept, srv);
}

void smtp_server_free(struct smtp_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->sessions)
		srv_session_free(srv->sessions);
	if (srv->listen_fd >= 0) {
		evloop_del(srv->loop, srv->listen_fd);
		close(srv->listen_fd);
	}
	peerlimit_free(&srv->peers);
	free(srv);
}

void *smtp_server_ctx(struct smtp_server *srv)
{
	return srv->ctx;
}

void smtp_session_reply(struct smtp_session *s, const struct smtp_reply *r)
{
	struct srv_session *ss = (struct srv_session *)s;

	if (ss->state != ST_WAIT || ss->owed == 0)
		log_panic("%s: data reply while none is owed", s->id);
	reply_struct(ss, r);
	/* the stage's verdict on a whole message (a virus, spam) is no
	 * protocol error of the client's: an LMTP hop refusing one message
	 * for many recipients must not reach LIM_SESSION_ERRORS */
	if (r->code >= 400 && ss->nerrors > 0)
		ss->nerrors--;
	if (--ss->owed > 0)
		return;
	srv_reset_txn(ss);
	set_state(ss, ST_READY);
	if (ss->expired) {
		/* the deadline passed while the message was committed */
		time_up(ss, 1);
		conn_flush(ss->c);
		return;
	}
	conn_flush(ss->c);
	conn_resume(ss->c);
}

void smtp_session_reply_all(struct smtp_session *s,
			    const struct smtp_reply *r)
{
	size_t n = smtp_session_replies_owed(s);

	while (n-- > 0)
		smtp_session_reply(s, r);
}

size_t smtp_session_replies_owed(const struct smtp_session *s)
{
	return ((const struct srv_session *)s)->owed;
}

void srv_set_state(struct srv_session *ss, enum srv_state st)
{
	set_state(ss, st);
}
