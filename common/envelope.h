/*
 * NAME
 *	envelope - the SMTP envelope of one message, and its record format
 * DESCRIPTION
 *	What a stage knows about a message besides its bytes: sender,
 *	recipients with DSN parameters and delivery state, and the trust
 *	information later stages need. envelope_encode() writes a record of
 *	length-prefixed fields (never a grammar attacker bytes can bend);
 *	envelope_decode() validates everything it reads back.
 *	Mail layer.
 */
#ifndef SLUICE_ENVELOPE_H
#define SLUICE_ENVELOPE_H

#include <stddef.h>
#include <time.h>

#include "sbuf.h"

/* RFC 3461 NOTIFY bits; 0 means "not given" (default: FAILURE,DELAY). */
#define DSN_NOTIFY_NEVER 1
#define DSN_NOTIFY_SUCCESS 2
#define DSN_NOTIFY_FAILURE 4
#define DSN_NOTIFY_DELAY 8

/* RFC 3461 RET. */
enum dsn_ret { DSN_RET_UNSET = 0, DSN_RET_FULL, DSN_RET_HDRS };

/* BODY= (RFC 6152 / RFC 3030). */
enum body_type { BODY_UNSET = 0, BODY_7BIT, BODY_8BITMIME };

enum rcpt_state {
	RCPT_PENDING = 0, /* not yet delivered */
	RCPT_DONE,	  /* next hop accepted it */
	RCPT_FAILED,	  /* failed permanently, DSN sent (or not wanted) */
};

struct rcpt {
	char *addr;	   /* mailbox without <>, never NULL */
	char *orcpt;	   /* RFC 3461 ORCPT "type;xtext" or NULL */
	unsigned notify;   /* DSN_NOTIFY_* bits */
	enum rcpt_state state;
	char *last_reply;  /* last reply text from a next hop, or NULL */
};

struct envelope {
	char *from;	   /* reverse-path without <>; "" for null sender */
	char *envid;	   /* RFC 3461 ENVID (xtext as received) or NULL */
	enum dsn_ret ret;
	enum body_type body;
	int smtputf8;	   /* SMTPUTF8 given on MAIL */
	long long size;	   /* SIZE= declared, or 0 */
	struct rcpt *rcpts;
	size_t nrcpt;
	/* Trust information (DESIGN.md "Trust between stages"). */
	char *client_addr; /* peer IP as text, or NULL */
	char *client_name; /* peer host name, or NULL */
	char *helo;	   /* HELO/EHLO argument, or NULL */
	char *auth_user;   /* authenticated user, or NULL */
	char *entered_by;  /* stage that accepted the mail ("mx", ...) */
	time_t arrival;	   /* when first accepted by this system */
	int delay_notified; /* a delay DSN went out for this message */
};

/* Add a recipient (strings are copied). Returns its index, or -1. */
int envelope_add_rcpt(struct envelope *e, const char *addr, const char *orcpt,
		      unsigned notify);

/* Keep the recipients i with keep[i] set, in order; the others are
 * freed. */
void envelope_keep(struct envelope *e, const unsigned char *keep);

/* Free every string and the recipient array; the struct is zeroed. */
void envelope_free(struct envelope *e);

/* Deep copy src into dst (dst is overwritten). Returns 0 or -1. */
int envelope_copy(struct envelope *dst, const struct envelope *src);

/* Append the record form of e to out. Returns 0 or -1 (out too small). */
int envelope_encode(const struct envelope *e, struct sbuf *out);

/* Parse a record made by envelope_encode(). e must be zeroed. Returns 0,
 * or -1 on any malformed or out-of-limit field (e is then freed). */
int envelope_decode(struct envelope *e, const char *p, size_t n);

#endif
