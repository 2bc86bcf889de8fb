/*
 * NAME
 *	store_pop3_int - what the POP3 files share
 * DESCRIPTION
 *	A session and its states (RFC 1939 section 3): AUTHORIZATION
 *	(P_AUTH, and P_SASL inside an AUTH exchange), TRANSACTION (P_TRANS),
 *	and the end (P_QUIT). The state changes only in pop3_set_state().
 *	store_pop3.c: listeners, sessions, reading, CAPA and STLS;
 *	store_pop3_auth.c: USER/PASS and AUTH; store_pop3_trans.c: the
 *	maildrop commands and the UPDATE state.
 */
#ifndef SLUICE_STORE_POP3_INT_H
#define SLUICE_STORE_POP3_INT_H

#include <stdint.h>

#include "store.h"
#include "store_pop3_parse.h"

struct conn;
struct ev_timer;
struct mbox;
struct sasl_srv;
struct sasl_async;

enum pop3_state { P_AUTH, P_SASL, P_TRANS, P_QUIT };

struct pop3_server {
	struct store *st;
	struct evloop *loop;
	int fd;
	int implicit;
	struct pop3_sess *sessions;
	size_t nsessions;
};

struct pop3_sess {
	struct pop3_server *srv;
	struct pop3_sess *next, *prev;
	struct conn *c;
	char id[20];
	char client[64];
	int port;
	enum pop3_state state;
	int tls;
	struct pop3_reader rd;
	int nerrors;
	int login_counted;		 /* in st->logins (store_login.c) */
	char user_arg[POP3_ARG_MAX + 1]; /* USER, until PASS */
	struct sasl_srv *sasl;		 /* made on first use */
	struct sasl_async *auth_job;	 /* a SASL call on a worker */
	char mech[24];			 /* of the AUTH under way */
	char *user;			 /* after login */
	struct ev_timer *delay;		 /* a failed login's answer */
	int fail_locked;		 /* ... that the user is locked */
	/* TRANSACTION */
	struct mbox *mbox;
	uint32_t count;
	unsigned char *deleted; /* [count], marks of DELE */
	unsigned retrieved;
};

/* Change the state (the only place that does). */
void pop3_set_state(struct pop3_sess *s, enum pop3_state st);
/* Queue a reply line (CRLF added). */
void pop3_reply(struct pop3_sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Send what is queued, then close. */
void pop3_hangup(struct pop3_sess *s);

/* Non-zero when another session holds user's maildrop. */
int pop3_maildrop_locked(const struct pop3_sess *self, const char *user);

/* ---- store_pop3_auth.c ---- */

/* May this session send passwords (TLS, or plaintext_auth)? */
int pop3_auth_allowed(const struct pop3_sess *s);
/* The session's SASL context, made on first use; NULL on error. */
struct sasl_srv *pop3_sasl(struct pop3_sess *s);
/* PASS after USER; AUTH [mech [initial-response]]; a response line
 * inside an AUTH exchange ("*" cancels). Each replies. */
void pop3_pass(struct pop3_sess *s, const struct pop3_cmd *cmd);
void pop3_auth(struct pop3_sess *s, const struct pop3_cmd *cmd);
void pop3_sasl_line(struct pop3_sess *s, const char *line);

/* ---- store_pop3_trans.c ---- */

/* The user is in: lock and open the maildrop (store_pop3_trans.c);
 * replies either way. 0, or -1 when the login could not complete. */
int pop3_enter_transaction(struct pop3_sess *s, const char *user,
			   const char *method);
/* A command of the TRANSACTION state, or QUIT there (UPDATE). */
void pop3_transaction(struct pop3_sess *s, const struct pop3_cmd *cmd);
/* Forget the maildrop without applying deletions. */
void pop3_close_maildrop(struct pop3_sess *s);

#endif
