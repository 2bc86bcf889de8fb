/*
 * NAME
 *	store_imap - IMAP sessions, command dispatch, replies, updates
 * DESCRIPTION
 *	A session per client of imap_listen (STARTTLS) or imaps_listen
 *	(implicit TLS; store_imap_server.c) reads commands through the pure
 *	parser
 *	(store_imap_parse.c), checks that each is allowed in the session's
 *	state, and calls its handler from the command table that
 *	store_imap_server.c gives (the core never calls a command file
 *	directly). A synchronizing literal gets its "+"
 *	once; bad input gets a BAD (tagged when the tag could be read) and
 *	the session stays in step; too many errors end it. Untagged
 *	EXPUNGE/EXISTS/RECENT/FETCH updates from mbox_sync go out before a
 *	command's tagged reply, except after FETCH, STORE and SEARCH (RFC
 *	3501 7.4.1). The state changes only in imap_set_state(). Faces
 *	the network.
 */
#include "store_imap_core.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "sasl.h"
#include "sasl_async.h"
#include "store.h"
#include "store_mbox.h"
#include "tls.h"

/* ---- replies ---- */

void imap_untagged(struct imap_sess *s, const char *fmt, ...)
{
	va_list ap;
	struct sbuf b;

	sbuf_init(&b, 4 * LIM_IMAP_LINE);
	sbuf_puts(&b, "* ");
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	sbuf_puts(&b, "\r\n");
	conn_write(s->c, b.data, b.len);
	sbuf_free(&b);
}

void imap_tagged(struct imap_sess *s, const char *tag, const char *status,
		 const char *fmt, ...)
{
	va_list ap;
	struct sbuf text;

	/* unbounded: [COPYUID ...] and [MODIFIED ...] carry sets */
	sbuf_init(&text, (size_t)-1 / 4);
	va_start(ap, fmt);
	sbuf_vprintf(&text, fmt, ap);
	va_end(ap);
	if (strcmp(status, "BAD") == 0)
		s->nerrors++;
	else if (!s->no_expunge)
		imap_sync(s);
	imap_vanished_flush(s);
	imap_notify_flush(s);
	conn_printf(s->c, "%s %s ", tag && *tag ? tag : "*", status);
	conn_write(s->c, text.data ? text.data : "", text.len);
	conn_printf(s->c, "\r\n");
	sbuf_free(&text);
}

void imap_write_string(struct imap_sess *s, const char *str, size_t n)
{
	size_t i;

	for (i = 0; i < n && n < 200; i++)
		if (str[i] == '"' || str[i] == '\\' ||
		    (unsigned char)str[i] < 0x20 ||
		    (unsigned char)str[i] > 0x7e)
			break;
	if (i == n && n < 200) {
		conn_printf(s->c, "\"%.*s\"", (int)n, str);
		return;
	}
	conn_printf(s->c, "{%zu}\r\n", n);
	conn_write(s->c, str, n);
}

/* ---- state and updates ---- */

struct store *imap_store(struct imap_sess *s)
{
	return s->srv->st;
}

uint64_t imap_now(struct imap_sess *s)
{
	return evloop_now(s->srv->loop);
}

/* The input a session may buffer: a whole command within the parser's
 * limits of its state (so an unauthenticated client gets a small
 * buffer, and only a logged-in one room for APPEND's literal). */
static size_t input_max(const struct imap_server *srv, enum imap_state st)
{
	const struct imap_parse_limits *l = st == IMAP_NOTAUTH
		? &srv->lim_preauth : &srv->lim;

	return l->append_max + l->line_max + 4096;
}

void imap_set_state(struct imap_sess *s, enum imap_state st)
{
	if (s->state == IMAP_SELECTED && st != IMAP_SELECTED) {
		s->srv->cmds->fetch_free(s);
		if (s->mbox)
			mbox_watch(s->mbox, NULL, NULL);
		mbox_close(&s->mbox);
		free(s->mbox_name);
		s->mbox_name = NULL;
		s->nvanished = 0;
		free(s->saved);
		s->saved = NULL;
		s->nsaved = 0;
	}
	if (s->state == IMAP_NOTAUTH && st != IMAP_NOTAUTH) {
		/* logged in: APPEND literals keep it alive at min_data_rate */
		store_login_done(imap_store(s), s->c, s->client_addr,
				 &s->login_counted);
		conn_set_min_rate(s->c, imap_store(s)->cfg->sess.min_data_rate);
		conn_set_timeout(s->c, LIM_IMAP_TIMEOUT_AUTH);
		s->c->in.max = input_max(s->srv, st);
	}
	s->state = st;
}

static void ev_expunged(void *arg, uint32_t seq, uint32_t uid)
{
	imap_expunged(arg, seq, uid);
}

/* RFC 7162 3.2.4 and 3.2.10: with CONDSTORE a flag change carries its
 * MODSEQ, with QRESYNC its UID too (VANISHED goes before, as the
 * sequence numbers here already count without the expunged). */
static void ev_flags(void *arg, uint32_t seq)
{
	struct imap_sess *s = arg;
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	char uid[24] = "", ms[40] = "";
	struct sbuf b;

	imap_vanished_flush(s);
	imap_keywords_announce(s);
	if (s->qresync && m)
		snprintf(uid, sizeof(uid), "UID %u ", m->uid);
	if (s->condstore && m)
		snprintf(ms, sizeof(ms), " MODSEQ (%llu)",
			 (unsigned long long)m->modseq);
	sbuf_init(&b, 65536);
	imap_flags_out(s, seq, &b);
	imap_untagged(s, "%u FETCH (%sFLAGS %s%s)", seq, uid,
		      b.data ? b.data : "()", ms);
	sbuf_free(&b);
}

static void ev_exists(void *arg, uint32_t count)
{
	imap_vanished_flush(arg);
	imap_untagged(arg, "%u EXISTS", count);
}

/* The messages this session's view took as \Recent (mbox_sync gives
 * each new message to exactly one writable view). */
static void ev_recent(void *arg, uint32_t count)
{
	struct imap_sess *s = arg;

	if (!s->rev2)	/* RFC 9051: no RECENT response */
		imap_untagged(s, "%u RECENT", count);
}

void imap_sync(struct imap_sess *s)
{
	static const struct mbox_events ev = {
		.expunged = ev_expunged,
		.flags = ev_flags,
		.exists = ev_exists,
		.recent = ev_recent,
	};

	const struct mbox_msg *m;
	uint32_t top;

	if (s->state != IMAP_SELECTED || s->mbox == NULL)
		return;
	m = mbox_get(s->mbox, mbox_count(s->mbox));
	top = m ? m->uid : 0;
	if (mbox_sync(s->mbox, &ev, s) < 0)
		log_warn("%s: sync of %s failed", s->id, s->mbox_name);
	imap_vanished_flush(s);
	imap_notify_new(s, top);
}

/* ---- session life ---- */

void imap_sess_free(struct imap_sess *s)
{
	struct imap_server *srv = s->srv;

	imap_set_state(s, IMAP_LOGOUT);
	if (s->delay)
		evloop_timer_cancel(srv->loop, s->delay);
	/* a login being checked: the job frees the context, later */
	sasl_async_abandon(&s->auth_job, &s->sasl);
	sasl_srv_free(&s->sasl);
	imap_notify_free(s);
	imap_commit_forget(s);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	conn_free(s->c);
	free(s->vanished);
	free(s->saved);
	free(s->user);
	free(s);
}

static void on_close(void *arg, enum conn_event ev)
{
	struct imap_sess *s = arg;

	if (ev == CONN_ERROR)
		log_info("%s: disconnect from [%s]: %s", s->id, s->client_addr,
			 conn_error_text(s->c));
	else
		log_info("%s: disconnect from [%s]", s->id, s->client_addr);
	imap_sess_free(s);
}

void imap_hangup(struct imap_sess *s)
{
	imap_set_state(s, IMAP_LOGOUT);
	s->mode = IMAP_MODE_WAIT;
	sbuf_reset(&s->c->in);
	conn_close_after_flush(s->c);
}

static void on_timeout(void *arg, enum conn_event ev)
{
	struct imap_sess *s = arg;

	log_info("%s: %s from [%s]", s->id, ev == CONN_DEADLINE ?
		 "login timeout" : "timeout", s->client_addr);
	imap_untagged(s, "BYE %s", ev == CONN_DEADLINE ? "Login timeout" :
		      "Autologout; idle for too long");
	imap_hangup(s);
}

void imap_wait(struct imap_sess *s)
{
	s->mode = IMAP_MODE_WAIT;
	conn_pause(s->c);
}

void imap_resume(struct imap_sess *s)
{
	if (s->state == IMAP_LOGOUT)
		return;
	s->mode = IMAP_MODE_CMD;
	conn_resume(s->c);
}

static void delay_fired(void *arg)
{
	struct imap_sess *s = arg;

	s->delay = NULL;
	if (s->delay_cb)
		s->delay_cb(s);
	conn_flush(s->c);
}

void imap_delay(struct imap_sess *s, uint64_t ms, void (*cb)(void *))
{
	if (s->delay)
		evloop_timer_cancel(s->srv->loop, s->delay);
	s->delay_cb = cb;
	s->delay = evloop_timer(s->srv->loop, ms, delay_fired, s);
}

/* ---- reading commands ---- */

static const struct imap_cmd_def *find_cmd(const struct imap_commands *t,
					   const char *name)
{
	size_t i;

	for (i = 0; i < t->ndefs; i++)
		if (strcmp(t->defs[i].name, name) == 0)
			return &t->defs[i];
	return NULL;
}

static void dispatch(struct imap_sess *s, struct imap_cmd *cmd)
{
	const struct imap_cmd_def *d = find_cmd(s->srv->cmds, cmd->name);
	struct imap_names_conv conv;
	struct imap_commit_mark mark;

	snprintf(s->tag, sizeof(s->tag), "%s", cmd->tag);
	if (d == NULL || (cmd->uid && !d->uid_ok)) {
		imap_bad(s, cmd->tag, "Unknown command");
		return;
	}
	if (!(d->states & (1u << s->state))) {
		imap_bad(s, cmd->tag, "%s not allowed %s", d->name,
			 s->state == IMAP_NOTAUTH ? "before authentication"
			 : s->state == IMAP_SELECTED ||
			   !(d->states & IMAP_ST_S) ? "in this state"
			 : "without a selected mailbox");
		return;
	}
	/* RFC 3501 7.4.1: no EXPUNGE while a sequence-number command runs */
	s->no_expunge = !cmd->uid && d->seq_nums;
	if (imap_mailbox_args(s, cmd, &conv) < 0)
		return;
	imap_commit_begin(s, &mark);
	d->fn(s, cmd);
	imap_commit_end(s, &mark);
	imap_mailbox_args_free(&conv);
	if (s->mode != IMAP_MODE_WAIT || s->fetch == NULL)
		s->no_expunge = 0;
}

/* A line for SASL or IDLE: 1 handled, 0 need more. */
static int read_line(struct imap_sess *s)
{
	struct sbuf *in = &s->c->in;
	char *lf = in->len ? memchr(in->data, '\n', in->len) : NULL;
	size_t n;

	if (lf == NULL) {
		if (in->len > LIM_AUTH_LINE) {
			imap_bad(s, s->tag, "Line too long");
			imap_hangup(s);
		}
		return 0;
	}
	n = (size_t)(lf - in->data);
	if (n > 0 && in->data[n - 1] == '\r')
		n--;
	in->data[n] = '\0';
	n = (size_t)(lf - in->data) + 1;
	if (s->mode == IMAP_MODE_SASL)
		s->srv->cmds->sasl_line(s, in->data);
	else
		s->srv->cmds->idle_line(s, in->data);
	if (s->state != IMAP_LOGOUT)
		sbuf_consume(in, n);
	return 1;
}

static int skip_input(struct imap_sess *s)
{
	struct sbuf *in = &s->c->in;
	char *lf = in->len ? memchr(in->data, '\n', in->len) : NULL;

	if (lf == NULL) {
		sbuf_reset(in);
		return 0;
	}
	sbuf_consume(in, (size_t)(lf - in->data) + 1);
	s->skip_line = 0;
	return 1;
}

/* An APPEND whose synchronizing literal would not fit the quota. The
 * parser leaves the tag and name it read in cmd on IMAP_P_MORE. */
static int over_quota(struct imap_sess *s, const struct imap_cmd *cmd,
		      size_t len)
{
	if (s->state != IMAP_AUTH && s->state != IMAP_SELECTED)
		return 0;
	if (strcmp(cmd->name, "APPEND") != 0 || cmd->tag[0] == '\0')
		return 0;
	if (store_quota_check(imap_store(s), s->user, (long long)len) <= 0)
		return 0;
	log_info("%s: append refused: user=%s over quota", s->id, s->user);
	return 1;
}

/* One command from the input: 1 handled (more may follow), 0 not. */
static int read_command(struct imap_sess *s)
{
	struct sbuf *in = &s->c->in;
	struct imap_cmd cmd;
	struct imap_parse_out out;

	switch (imap_parse(in->data, in->len, s->state == IMAP_NOTAUTH ?
			   &s->srv->lim_preauth : &s->srv->lim, &cmd, &out)) {
	case IMAP_P_MORE:
		if (out.lit_len > 0 && out.lit_off != s->lit_acked &&
		    over_quota(s, &cmd, out.lit_len)) {
			/* RFC 3501 7.5: a NO instead of "+"; the client
			 * does not send the literal */
			imap_no(s, cmd.tag, "[OVERQUOTA] Quota exceeded");
			sbuf_consume(in, out.lit_off);
			s->lit_acked = 0;
			return 1;
		}
		if (out.lit_off > 0 && out.lit_off != s->lit_acked) {
			conn_printf(s->c, "+ Ready for literal data\r\n");
			s->lit_acked = out.lit_off;
			s->quickack = 1;
		}
		return 0;
	case IMAP_P_FATAL:
		log_info("%s: %s from [%s]", s->id, out.err, s->client_addr);
		imap_untagged(s, "BYE %s", out.err);
		imap_hangup(s);
		return 0;
	case IMAP_P_BAD:
		imap_bad(s, out.has_tag ? cmd.tag : "*", "%s", out.err);
		sbuf_consume(in, out.used);
		s->lit_acked = 0;
		s->skip_line = out.skip_line;
		return 1;
	case IMAP_P_OK:
		break;
	}
	sbuf_consume(in, out.used);
	s->lit_acked = 0;
	dispatch(s, &cmd);
	imap_cmd_free(&cmd);
	return 1;
}

static void on_read(void *arg)
{
	struct imap_sess *s = arg;

	while (s->state != IMAP_LOGOUT && s->c->in.len > 0) {
		if (s->nerrors >= LIM_IMAP_ERRORS) {
			log_info("%s: too many errors from [%s]", s->id,
				 s->client_addr);
			imap_untagged(s, "BYE Too many errors");
			imap_hangup(s);
			break;
		}
		if (s->mode == IMAP_MODE_WAIT)
			break;
		if (s->skip_line) {
			if (!skip_input(s))
				break;
		} else if (s->mode == IMAP_MODE_SASL ||
			   s->mode == IMAP_MODE_IDLE) {
			if (!read_line(s))
				break;
		} else if (!read_command(s)) {
			break;
		}
		/* only complete lines and commands keep the session */
		conn_progress(s->c);
	}
	conn_flush(s->c);
	if (s->quickack) {
		/* Clients write a literal and its closing CRLF separately;
		 * with Nagle on their side the CRLF waits for our ACK of
		 * the data, which Linux delays (40 ms per APPEND) after we
		 * have just answered "+". Ask for prompt ACKs again. */
		int one = 1;

		s->quickack = 0;
		setsockopt(s->c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
			   sizeof(one));
	}
}

static void on_drain(void *arg)
{
	struct imap_sess *s = arg;

	struct imap_commit_mark mark;

	if (s->fetch) {
		imap_commit_begin(s, &mark);
		s->srv->cmds->fetch_resume(s);
		imap_commit_end(s, &mark);
		conn_flush(s->c);
	}
}

static void greet(struct imap_sess *s)
{
	conn_printf(s->c, "* OK [CAPABILITY ");
	s->srv->cmds->capabilities(s);
	conn_printf(s->c, "] Sluice IMAP ready\r\n");
	conn_flush(s->c);
}

static void on_tls(void *arg)
{
	struct imap_sess *s = arg;
	char info[128];

	s->tls = 1;
	tls_describe(s->c->tls, info, sizeof(info));
	log_info("%s: TLS established from [%s]: %s", s->id, s->client_addr,
		 info);
	if (s->implicit)
		greet(s);
	sasl_srv_free(&s->sasl);
}

static const struct conn_ops imap_conn_ops = {
	.on_read = on_read,
	.on_close = on_close,
	.on_tls = on_tls,
	.on_drain = on_drain,
	.on_timeout = on_timeout,
};

static void peer_names(int fd, struct imap_sess *s)
{
	char ip[64];
	int port;

	snprintf(s->client_addr, sizeof(s->client_addr), "unknown");
	if (conn_sock_addr(fd, 0, s->client_addr, sizeof(s->client_addr),
			   &s->client_port) == 0)
		snprintf(s->remote, sizeof(s->remote), "%s;%d",
			 s->client_addr, s->client_port);
	if (conn_sock_addr(fd, 1, ip, sizeof(ip), &port) == 0)
		snprintf(s->local, sizeof(s->local), "%s;%d", ip, port);
}

void imap_sess_start(struct imap_server *srv, int fd, int implicit)
{
	struct imap_sess *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		close(fd);
		return;
	}
	s->srv = srv;
	s->implicit = implicit;
	/* a held reply is at most what the output buffer could take */
	sbuf_init(&s->held, (size_t)64 * 1024 * 1024);
	snprintf(s->id, sizeof(s->id), "IMAP%06llX", ++srv->counter);
	peer_names(fd, s);
	s->c = conn_new(srv->loop, fd, input_max(srv, IMAP_NOTAUTH),
			&imap_conn_ops, s);
	if (s->c == NULL) {
		close(fd);
		free(s);
		return;
	}
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	conn_set_timeout(s->c, LIM_IMAP_TIMEOUT_PREAUTH);
	log_info("%s: connect from [%s]:%d%s", s->id, s->client_addr,
		 s->client_port, implicit ? " (imaps)" : "");
	if (store_login_start(srv->st, s->c, s->id, s->client_addr,
			      &s->login_counted) < 0) {
		imap_untagged(s, "BYE Too many connections from your "
			      "address");
		imap_hangup(s);
		return;
	}
	if (srv->nsessions > (size_t)srv->st->cfg->max_sessions) {
		log_warn("%s: too many sessions (%zu), refusing [%s]", s->id,
			 srv->nsessions, s->client_addr);
		imap_untagged(s, "BYE Too many sessions, try again later");
		imap_hangup(s);
		return;
	}
	if (implicit) {
		if (srv->tls == NULL ||
		    conn_starttls(s->c, srv->tls, 1, NULL) < 0)
			imap_hangup(s);
		return;
	}
	greet(s);
}
