/*
 * NAME
 *	smtp_reply - parse SMTP/LMTP replies (RFC 5321 4.2)
 * DESCRIPTION
 *	Pure parser: bytes in, one complete reply (possibly multi-line) out.
 *	Faces the network: the next hop's replies are bounded (line length,
 *	number of lines) and malformed ones are errors, never crashes.
 *	Mail layer.
 */
#ifndef SLUICE_SMTP_REPLY_H
#define SLUICE_SMTP_REPLY_H

#include <stddef.h>

#include "sbuf.h"
#include "smtp_server.h"

/* Look for one complete reply at p[0..n). Returns 1 and fills r (code,
 * enhanced code if the first line has one, text of the first line) and
 * *used; 0 when more bytes are needed; -1 when the input is malformed
 * (bad code, mixed codes, a line over LIM_REPLY_LINE*4, more than 100
 * lines). When lines is not NULL, the text of every line is appended to
 * it, one per line ending in '\n' (used for EHLO keywords). */
int smtp_reply_parse(const char *p, size_t n, struct smtp_reply *r,
		     struct sbuf *lines, size_t *used);

/* "250 2.0.0 text" for logs (ecode omitted when empty). */
void smtp_reply_format(const struct smtp_reply *r, char *out, size_t outlen);

#endif
