/*
 * NAME
 *	smtp_server - the one SMTP/LMTP server engine
 * DESCRIPTION
 *	Speaks RFC 5321 SMTP (or RFC 2033 LMTP) on accepted sockets, with
 *	PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, SMTPUTF8, STARTTLS,
 *	DSN and AUTH (RFC 4954, through sasl.h, only under TLS; in
 *	smtp_server_auth.c). Peers listed in trusted_peers may pass the
 *	inter-stage claims of DESIGN.md as MAIL parameters (EHLO keyword
 *	XTRUST: AUTH=, XADDR=, XHELO=, XENTERED=); from anyone else those
 *	claims are refused (AUTH= is ignored, RFC 4954 5). Stages plug in hooks; the engine owns the protocol state,
 *	limits, timeouts, dot-unstuffing and the CRLF.CRLF rule (bare CR or LF
 *	anywhere in DATA makes the message refused). Faces the network.
 *
 *	The message is collected in memory (unstuffed, CRLF line ends) up to
 *	max_size. When it is complete the engine calls on_data and stops
 *	reading from that client until the stage answers: with
 *	smtp_session_reply() for SMTP, or with one smtp_session_reply()
 *	per accepted recipient, in order, for LMTP. The stage may answer
 *	later (after a group commit), from any callback of the same loop.
 *	Mail layer.
 */
#ifndef SLUICE_SMTP_SERVER_H
#define SLUICE_SMTP_SERVER_H

#include <stddef.h>

#include "daemon.h"
#include "envelope.h"
#include "sbuf.h"

struct evloop;
struct addr;
struct tls_ctx;
struct smtp_server;

struct smtp_reply {
	int code;	/* 250, 452, 550 ... */
	char ecode[12];	/* "2.0.0" (RFC 3463), "" to use a default */
	char text[400];
};

/* Fill r; returns -1 so hooks can write "return smtp_reply_set(...)". */
int smtp_reply_set(struct smtp_reply *r, int code, const char *ecode,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct smtp_session {
	struct smtp_server *srv;
	void *ctx;		/* the stage's per-session data */
	char id[20];		/* session id for logs */
	char client_addr[64];	/* peer IP as text */
	int client_port;
	char *helo;		/* NULL until HELO/EHLO/LHLO */
	int esmtp;		/* EHLO/LHLO used */
	int lmtp;		/* the server speaks LMTP */
	int tls;		/* TLS active */
	char tls_info[128];	/* protocol and cipher, for Received */
	const struct addr *path; /* parsed path, during on_mail/on_rcpt */
	struct envelope env;	/* current transaction */
	struct sbuf msg;	/* the message, complete when on_data runs */
	size_t header_len;	/* bytes of the header section incl. blank line */
	int received_count;	/* Received: headers in the header section */
	char *auth_user;	/* identity that passed AUTH, or NULL */
	int trusted;		/* the peer is in cfg.trusted_peers */
	/* milliseconds the greeting waits (cfg.greet_pause_ms; on_connect
	 * may change it, e.g. 0 for a client known to be good) */
	long long greet_pause_ms;
	void *screen;		/* the stage's screening state (mx) */
	/* set by a refusing on_mail/on_rcpt: its reply waits this long */
	long long reply_delay_ms;
};

/* Protocol misbehaviour that screening stages may punish
 * (on_violation); the engine itself only reports it. */
enum smtp_violation {
	SMTP_V_PREGREET,	/* talked before the greeting was complete */
	SMTP_V_PIPELINING,	/* commands sent with HELO/EHLO, unasked */
	SMTP_V_NON_SMTP,	/* an HTTP verb or a header line as command */
	SMTP_V_BARE_NEWLINE,	/* a command line ending in a bare LF */
};

/* Hooks; all optional. A hook that refuses fills r and returns -1;
 * returning 0 accepts (with the engine's default reply). A refusal
 * with code 421 from on_helo, on_mail or on_rcpt ends the session.
 * on_mail and on_rcpt may also return SMTP_HOOK_LATER (an answer needs
 * a lookup): the engine holds that command, and whatever the client
 * pipelined after it, until the stage calls smtp_session_resume(); the
 * command then runs again from the start, hook included, and the hook
 * must answer 0 or -1 that time. */
#define SMTP_HOOK_LATER 1
struct smtp_hooks {
	/* before the greeting; returning 1 holds it until the stage calls
	 * smtp_session_greet() (e.g. after DNS lookups) */
	int (*on_connect)(struct smtp_session *s, struct smtp_reply *r);
	/* the client misbehaved (once per kind and session); refusing
	 * sends r and ends the session */
	int (*on_violation)(struct smtp_session *s, enum smtp_violation v,
			    struct smtp_reply *r);
	int (*on_helo)(struct smtp_session *s, const char *name,
		       struct smtp_reply *r);
	/* AUTH succeeded for user (s->auth_user is still NULL); refusing
	 * makes it a failed authentication */
	int (*on_auth)(struct smtp_session *s, const char *user,
		       struct smtp_reply *r);
	/* s->env.from and the MAIL parameters are set when this runs */
	int (*on_mail)(struct smtp_session *s, struct smtp_reply *r);
	/* addr is the mailbox without <>; the engine adds it on accept */
	int (*on_rcpt)(struct smtp_session *s, const char *addr,
		       struct smtp_reply *r);
	/* the message is in s->msg; answer with smtp_session_reply() */
	void (*on_data)(struct smtp_session *s);
	/* the session is going away: free s->ctx; any pending data reply
	 * is no longer wanted */
	void (*on_close)(struct smtp_session *s);
};

struct smtp_server_cfg {
	int lmtp;		/* speak LMTP (LHLO, per-recipient replies) */
	const char *hostname;	/* for the greeting and Received */
	long long max_size;	/* SIZE limit */
	long long max_header;	/* header section limit (0: none) */
	long long max_rcpts;
	long long max_sessions; /* concurrent sessions; more get 421 */
	/* seconds for a command line (RFC 5321 4.5.3.2): input that does
	 * not complete one does not count, except in DATA, where each
	 * byte buys 1/sess.min_data_rate seconds */
	long long timeout;
	/* per client address (more get 421 4.7.0), the session deadline
	 * (421 4.4.2 then; 0: LIM_SESSION_DEADLINE) and the DATA rate */
	struct session_limits sess;
	struct tls_ctx *tls;	/* STARTTLS offered when set */
	int implicit_tls;	/* TLS from the first byte */
	int dsn;		/* offer DSN */
	int no_chunking;	/* do not offer CHUNKING (BDAT, RFC 3030) */
	/* the greeting waits this long; with greet_trap a "220-" line goes
	 * first (a multi-line banner: talking after it is early too) */
	long long greet_pause_ms;
	int greet_trap;
	/* RCPT TO:<Postmaster> (RFC 5321 4.5.1) becomes postmaster@this
	 * domain; NULL keeps the bare form */
	const char *postmaster_domain;
	/* SMTP AUTH (RFC 4954) through sasl.h, offered only under TLS;
	 * sasl_setup() must have run */
	int auth;
	int auth_required;	/* MAIL before AUTH gets 530 5.7.0 */
	struct authlimit *authlimit; /* failed-login limits, or NULL */
	/* peers whose inter-stage claims are believed (NULL-terminated
	 * netmatch patterns), or NULL for nobody */
	char *const *trusted_peers;
};

/* Create a server; cfg strings must outlive it. */
struct smtp_server *smtp_server_new(struct evloop *loop,
				    const struct smtp_server_cfg *cfg,
				    const struct smtp_hooks *hooks, void *ctx);

/* Reload: the limits of cfg (sizes, recipients, sessions, timeouts,
 * session_limits) for new sessions and commands from now on; the rest of
 * cfg is ignored. */
void smtp_server_set_limits(struct smtp_server *srv,
			    const struct smtp_server_cfg *cfg);

/* Accept connections on a listening socket from daemon_listen(). */
int smtp_server_listen(struct smtp_server *srv, int fd);

/* Close every session (on_close runs for each) and free the server. */
void smtp_server_free(struct smtp_server *srv);

/* The ctx given to smtp_server_new(). */
void *smtp_server_ctx(struct smtp_server *srv);

/* Release a greeting held by on_connect returning 1: with r NULL the
 * 220 goes (once the greet pause is over too), else r and the session
 * ends. */
void smtp_session_greet(struct smtp_session *s, const struct smtp_reply *r);

/* Answer end-of-data (SMTP: once; LMTP: once per accepted recipient, in
 * order). Ignored for a session that was closed meanwhile: stages keep a
 * session pointer only until on_close. */
void smtp_session_reply(struct smtp_session *s, const struct smtp_reply *r);

/* The same data reply for every reply still owed (LMTP: each accepted
 * recipient; SMTP: the one). */
void smtp_session_reply_all(struct smtp_session *s,
			    const struct smtp_reply *r);

/* Run the command held by a hook that returned SMTP_HOOK_LATER (and
 * what was pipelined after it). Call from a loop callback, never from
 * inside the hook, and never after on_close. */
void smtp_session_resume(struct smtp_session *s);

/* Number of accepted recipients still owed a reply (LMTP) or 1/0 (SMTP). */
size_t smtp_session_replies_owed(const struct smtp_session *s);

#endif
