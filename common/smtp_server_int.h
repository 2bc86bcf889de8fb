/*
 * NAME
 *	smtp_server_int - private parts of the SMTP/LMTP server engine
 * DESCRIPTION
 *	Shared by smtp_server.c (commands) and smtp_server_data.c (DATA).
 */
#ifndef SLUICE_SMTP_SERVER_INT_H
#define SLUICE_SMTP_SERVER_INT_H

#include <stdint.h>

#include "smtp_data.h"
#include "smtp_server.h"

struct conn;
struct ev_timer;
struct peerlimit;
struct sasl_srv;
struct sasl_async;
struct smtp_cmd;

enum srv_state {
	ST_INIT,  /* greeted, no HELO yet */
	ST_READY, /* HELO/EHLO/LHLO done, no transaction */
	ST_MAIL,  /* MAIL accepted */
	ST_RCPT,  /* at least one RCPT accepted */
	ST_DATA,  /* receiving the message */
	ST_BDAT,  /* receiving a BDAT chunk (smtp_server_bdat.c) */
	ST_WAIT,  /* message complete, waiting for the stage's reply */
	ST_QUIT,  /* closing */
};

struct srv_session {
	struct smtp_session pub; /* first: hooks get &pub */
	struct srv_session *prev, *next;
	struct conn *c;
	enum srv_state state;
	int nerrors;
	int have_mail;
	int skipping;	     /* discarding an over-long command line */
	size_t owed;	     /* data replies the stage still owes */
	int counted;	     /* in srv->peers (peerlimit) */
	int expired;	     /* session deadline passed while in ST_WAIT */
	int hook_wait;	     /* a hook said SMTP_HOOK_LATER: hold commands */
	struct smtp_data d;  /* DATA parser state */
	/* greeting, delayed replies (smtp_server_screen.c) */
	struct ev_timer *delay_timer; /* a hook's reply held back */
	struct smtp_reply delayed;
	struct ev_timer *greet_timer; /* greet pause running */
	int greet_hold;	     /* the stage holds the greeting */
	int greeted;	     /* the 220 went out */
	unsigned violations; /* 1 << enum smtp_violation reported */
	int more_input;	     /* bytes after the command being handled */
	/* BDAT (smtp_server_bdat.c) */
	int bdat_txn;	     /* this transaction's message came by BDAT */
	int bdat_last;	     /* the chunk being read is the last */
	int bdat_skip;	     /* the chunk is refused: drop it, then bdat_err */
	long long bdat_left; /* octets of the chunk still to come */
	enum srv_state bdat_back; /* state after the chunk */
	struct smtp_reply bdat_err;
	struct sbuf bdat_pend; /* chunk octets the parser kept back */
	/* AUTH exchange (smtp_server_auth.c) */
	struct sasl_srv *sasl; /* created under TLS, on first use */
	struct sasl_async *auth_job; /* a SASL call on a worker */
	int auth_wait;	     /* 334 sent: the next line is a response */
	struct ev_timer *auth_delay; /* failed login: reply held back */
	char auth_mech[24];
	int auth_steps;
	/* play-dead (smtp_server_dead.c) */
	struct ev_timer *slow_timer; /* slow: input handled when it fires */
	int slow_ok;	     /* slow: the delay is over for this input */
	int dead_paused;     /* hang or slow paused reading */
};

struct smtp_server {
	struct evloop *loop;
	struct smtp_server_cfg cfg;
	struct smtp_hooks hooks;
	void *ctx;
	int listen_fd;
	struct srv_session *sessions;
	size_t nsessions;
	struct peerlimit *peers; /* sessions per client address */
	uint64_t counter;
};

void srv_reply(struct srv_session *ss, int code, const char *ecode,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void srv_reset_txn(struct srv_session *ss);
void srv_set_state(struct srv_session *ss, enum srv_state st);
void srv_hangup(struct srv_session *ss);
/* smtp_server_cmd.c: carry out one complete command line (NUL-terminated,
 * line end removed). */
void srv_command(struct srv_session *ss, char *line);

/* AUTH command (RFC 4954). */
void srv_auth_cmd(struct srv_session *ss, const struct smtp_cmd *cmd);
/* A response line during an AUTH exchange (NUL-terminated, no CRLF). */
void srv_auth_response(struct srv_session *ss, char *line);
/* "AUTH mechs" for EHLO, or NULL when AUTH is not offered now. */
const char *srv_auth_mechs(struct srv_session *ss);
/* Forget authentication state (STARTTLS, session end). */
void srv_auth_reset(struct srv_session *ss);

/* Play-dead (playdead.h): watch mode changes for srv. */
void srv_dead_init(struct smtp_server *srv);
/* A new session: 1 when play-dead took it over (421, or a late
 * greeting), 0 to greet it now. */
int srv_dead_accept(struct srv_session *ss);
/* Input arrived: 1 when play-dead holds it back (or hung up), 0 to
 * handle it now. */
int srv_dead_read(struct srv_session *ss);
/* The session goes away. */
void srv_dead_free(struct srv_session *ss);

/* Free a session (on_close runs). */
void srv_session_free(struct srv_session *ss);

/* Start the greeting (after accept, or after TLS for implicit TLS). */
void srv_greet(struct srv_session *ss);
/* Input arrived before the greeting: report, maybe hang up. Returns 1
 * while the greeting is not complete (commands must wait). */
int srv_greet_pending(struct srv_session *ss);
/* Report a violation once; returns -1 when the stage ended the
 * session for it. */
int srv_violation(struct srv_session *ss, enum smtp_violation v);
/* A hook's refusal: sent now, or after s->reply_delay_ms (commands
 * wait); 421 ends the session. */
void srv_hook_reply(struct srv_session *ss, const struct smtp_reply *r);
/* Cancel the greeting's and a delayed reply's timers (session end). */
void srv_greet_free(struct srv_session *ss);
/* Handle the input buffer (commands, DATA, BDAT) and flush. */
void srv_read(struct srv_session *ss);

/* BDAT command (RFC 3030). */
void srv_bdat_cmd(struct srv_session *ss, const struct smtp_cmd *cmd);
/* Consume chunk octets from the input buffer. Returns 1 when the chunk
 * ended (and was answered or the message handed to on_data), 0 when
 * more input is needed. */
int srv_bdat_read(struct srv_session *ss);
/* Forget the BDAT transaction (RSET, MAIL, end of message, session). */
void srv_bdat_reset(struct srv_session *ss);

/* Prepare for a message. */
void srv_data_begin(struct srv_session *ss);
/* Consume message bytes from the input buffer. Returns 1 when the message
 * ended (and was answered or handed to on_data), 0 when more input is
 * needed. */
int srv_data_read(struct srv_session *ss);
/* The message is complete (DATA or BDAT LAST): refuse it over a limit
 * or with a bare CR/LF, else hand it to the stage. */
void srv_data_end(struct srv_session *ss);

#endif
