/*
 * NAME
 *	smtp_parse - SMTP command lines and ESMTP parameters
 * DESCRIPTION
 *	Pure parsers (no I/O) for the server engine: the verb of a command
 *	line (RFC 5321 4.1.1), and the MAIL/RCPT parameters of the
 *	extensions we offer: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8
 *	(RFC 6531), DSN RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH (RFC 4954
 *	section 5), and the inter-stage claims of trusted peers (XTRUST:
 *	XADDR, XHELO, XENTERED; DESIGN.md "Trust between stages"), which
 *	are refused from everyone else. Faces the network. Mail layer.
 */
#ifndef SLUICE_SMTP_PARSE_H
#define SLUICE_SMTP_PARSE_H

#include <stddef.h>

#include "envelope.h"
#include "limits_rfc.h"

enum smtp_verb {
	SMTP_UNKNOWN,
	SMTP_HELO,
	SMTP_EHLO,
	SMTP_LHLO,
	SMTP_MAIL,
	SMTP_RCPT,
	SMTP_DATA,
	SMTP_RSET,
	SMTP_NOOP,
	SMTP_QUIT,
	SMTP_VRFY,
	SMTP_EXPN,
	SMTP_HELP,
	SMTP_STARTTLS,
	SMTP_AUTH,
	SMTP_BDAT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	/* rest of the line after the verb and its spaces ("" if none); for
	 * MAIL and RCPT just after "FROM:"/"TO:" and optional spaces */
	const char *arg;
};

/* Parse a command line (NUL-terminated, without CRLF). Returns 0; -1 for
 * MAIL without "FROM:" or RCPT without "TO:". */
int smtp_parse_cmd(const char *line, struct smtp_cmd *c);

/* Extensions the server advertised; parameters of others are refused. */
#define SMTP_EXT_SIZE 0x01
#define SMTP_EXT_8BITMIME 0x02
#define SMTP_EXT_SMTPUTF8 0x04
#define SMTP_EXT_DSN 0x08
/* the peer is trusted: its XADDR, XHELO and XENTERED claims are taken */
#define SMTP_EXT_XTRUST 0x10

struct parse_err {
	int code;
	const char *ecode;
	const char *text;
};

struct mail_params {
	long long size;
	enum body_type body;
	int smtputf8;
	enum dsn_ret ret;
	char envid[LIM_ENVID + 1]; /* "" if none */
	int auth_given;		   /* AUTH= present */
	char auth[LIM_PATH + 1];   /* its mailbox decoded; "" for AUTH=<> */
	/* claims of a trusted peer (SMTP_EXT_XTRUST), decoded, "" if none */
	char xaddr[64];		   /* the original client's IP */
	char xhelo[LIM_DOMAIN + 1]; /* its HELO name */
	char xentered[32];	   /* the stage the mail entered by */
};

struct rcpt_params {
	unsigned notify;	   /* DSN_NOTIFY_* */
	char orcpt[LIM_ORCPT + 1]; /* "type;xtext" or "" */
};

/* Parse the parameters after MAIL FROM:<path>. Returns 0, or -1 with
 * e filled (555 5.5.4 unknown, 501 5.5.4 malformed or repeated, 550
 * 5.7.1 a trusted-peer claim without SMTP_EXT_XTRUST). */
int smtp_parse_mail_params(const char *rest, unsigned allowed,
			   struct mail_params *p, struct parse_err *e);
int smtp_parse_rcpt_params(const char *rest, unsigned allowed,
			   struct rcpt_params *p, struct parse_err *e);

/* RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ],
 * chunk-size = 1*DIGIT, end-marker = "LAST" (any case). arg is what
 * follows the verb. Returns 0 with *size and *last set, or -1 for a
 * malformed argument or a size of more than 18 digits. */
int smtp_parse_bdat(const char *arg, long long *size, int *last);

/* RFC 3461 4: xtext = *( xchar / hexchar ); non-zero if s is valid. */
int xtext_valid(const char *s);

/* Non-zero if s is valid xtext that decodes to printable US-ASCII
 * only (32..126): RFC 3461 4.2 (ORCPT)
 * and 4.4 (ENVID), so no CR, LF or NUL goes on to the next hop. */
int xtext_printable(const char *s);

/* Encode s as xtext into out (NUL-terminated). Returns 0, or -1 when it
 * does not fit. */
int xtext_encode(const char *s, char *out, size_t outlen);

/* Decode xtext s into out (at most outlen-1 bytes, NUL-terminated).
 * Returns 0, or -1 if s is not valid xtext or does not fit. */
int xtext_decode(const char *s, char *out, size_t outlen);

#endif
