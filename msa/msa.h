/*
 * NAME
 *	msa - stage B: authenticated submission for the organisation's users
 * DESCRIPTION
 *	Private header of the msa daemon: its configuration, the SMTP hooks
 *	(anti-forging, rate limits, RFC 6409 section 8 fixes), the sender
 *	ownership rules, the per-user sliding-window rate limits and the
 *	header scanner. The engine does TLS, AUTH and the trusted claims.
 */
#ifndef SLUICE_MSA_H
#define SLUICE_MSA_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_server.h"
#include "spool.h"
#include "spool_arc.h"
#include "stage.h"
#include "stage_smtp.h"

struct evloop;
struct directory;
struct msa_rate;
struct msa_exceptions;
struct ratemap;

struct msa_config {
	struct stage_smtp_config smtp;	/* the keys mx has too */
	char *credentials_file;
	char *sender_exceptions;
	long long rate_window;
	long long rate_messages;
	long long rate_recipients;
	long long auth_fail_max;
	long long auth_fail_window;
	long long auth_fail_delay;
	int received_client;
	int received_user;
	char *trusted_peers;
	int arc_seal;
	char *arc_keys;
	char *authserv_id;
};

struct msa {
	struct msa_config *cfg;
	struct directory *dir;		/* directory_file, or NULL */
	struct msa_exceptions *exc;	/* sender_exceptions */
	struct msa_rate *rate;		/* per-user limits */
	struct evloop *loop;
	struct spool spool;
	struct dkim_signer **arc_keys;	/* arc_keys, loaded */
	struct spool_arc arc;		/* arc_seal */
	struct ratemap *conn_rate;	/* connections per client network */
};

/* The SMTP hooks of stage B; ctx of the server is the struct msa. */
extern const struct smtp_hooks msa_hooks;

/* ---- the defences shared with mx (msa_screen.c) ---- */

/* Make the connection-rate map and show the counters. 0 or -1. */
int msa_screen_init(struct msa *m);
void msa_screen_free(struct msa *m);
/* Hooks (msa_smtp.c's table). */
int msa_screen_connect(struct smtp_session *s, struct smtp_reply *r);
int msa_screen_violation(struct smtp_session *s, enum smtp_violation v,
			 struct smtp_reply *r);
int msa_screen_helo(struct smtp_session *s, const char *name,
		    struct smtp_reply *r);
void msa_screen_close(struct smtp_session *s);
/* A recipient was refused with r: the bad-recipient throttle may delay
 * that reply or turn it into 421 4.7.0. */
void msa_screen_bad_rcpt(struct smtp_session *s, struct smtp_reply *r);

/* ---- who may use which sender address (msa_sender.c) ---- */

/* Parse sender_exceptions: "user = addr addr ...; user = *" where an
 * address may be "*" (any) or "@domain" (any of that domain). NULL with
 * a reason in err. */
struct msa_exceptions *msa_exceptions_parse(const char *spec, char *err,
					    size_t errlen);
void msa_exceptions_free(struct msa_exceptions *x);

/* Non-zero when user may send as addr: addr is user's own address, an
 * alias of the directory that reaches user, or an exception of user's. */
int msa_owns(struct msa *m, const char *user, const char *addr);

/* ---- per-user rate limits over a sliding window (msa_rate.c) ---- */

/* max_msgs messages and max_rcpts recipients per user within window_ms
 * (0: no limit of that kind). */
struct msa_rate *msa_rate_new(uint64_t window_ms, long long max_msgs,
			      long long max_rcpts);
void msa_rate_free(struct msa_rate *r);
/* Non-zero when user may start one more message at now_ms. */
int msa_rate_msg_ok(struct msa_rate *r, const char *user, uint64_t now_ms);
/* Non-zero when user may add recipient number n (1-based) to the
 * current message at now_ms. */
int msa_rate_rcpt_ok(struct msa_rate *r, const char *user, size_t n,
		     uint64_t now_ms);
/* Count a message with nrcpt recipients for user at now_ms. 0 or -1. */
int msa_rate_add(struct msa_rate *r, const char *user, size_t nrcpt,
		 uint64_t now_ms);
struct shstate;
/* Count together with the other servers of a pair through sh. 0 or -1. */
int msa_rate_share(struct msa_rate *r, struct shstate *sh);

/* ---- the header section (msa_header.c) ---- */

struct msa_hdr {
	int date;	/* Date: fields */
	int message_id; /* Message-ID: fields */
	int from;	/* From: fields */
	int sender;	/* Sender: fields */
};

/* Count the fields of a header section (CRLF lines, up to the blank
 * line or len). */
void msa_header_scan(const char *h, size_t len, struct msa_hdr *out);

/* The next field named name (ASCII case-insensitive) at or after *off
 * in the header section: 1 with its body in [*val, *val + *vlen) (folds
 * and final CRLF included) and *off moved past it, or 0 at the end. */
int msa_header_field(const char *h, size_t len, const char *name,
		     size_t *off, const char **val, size_t *vlen);

#endif
