/*
 * NAME
 *	smtp_reply - parse SMTP/LMTP replies (RFC 5321 4.2)
 * DESCRIPTION
 *	Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *	             Reply-code [ SP textstring ] CRLF
 *	Enhanced status codes per RFC 3463 (class.subject.detail). We accept
 *	a bare LF as the line end from servers (robustness principle; this
 *	is our input from a next hop, not a message boundary).
 */
#include "smtp_reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "limits_rfc.h"
#include "log.h"

#define REPLY_LINE_MAX (LIM_REPLY_LINE * 4)
#define REPLY_LINES_MAX 100

/* Length of an RFC 3463 code at p ("2.1.5"), or 0. */
static size_t ecode_len(const char *p, size_t n)
{
	size_t i = 0, part, digits;

	if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') ||
	    p[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		digits = 0;
		while (i < n && isdigit((unsigned char)p[i]) && digits < 3) {
			i++;
			digits++;
		}
		if (digits == 0)
			return 0;
		if (part == 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && p[i] != ' ')
		return 0;
	return i;
}

int smtp_reply_parse(const char *p, size_t n, struct smtp_reply *r,
		     struct sbuf *lines, size_t *used)
{
	size_t off = 0, len, tlen, el, nlines = 0;
	const char *line, *lf, *text;
	int code = -1, c;

	memset(r, 0, sizeof(*r));
	if (lines)
		sbuf_reset(lines);
	for (;;) {
		if (off >= n)
			return 0;
		line = p + off;
		lf = memchr(line, '\n', n - off);
		if (lf == NULL)
			return n - off > REPLY_LINE_MAX ? -1 : 0;
		len = (size_t)(lf - line);
		if (len > REPLY_LINE_MAX || ++nlines > REPLY_LINES_MAX)
			return -1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len < 3 || !isdigit((unsigned char)line[0]) ||
		    !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) || line[0] < '2' ||
		    line[0] > '5' || (len > 3 && line[3] != ' ' &&
				      line[3] != '-'))
			return -1;
		c = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (code >= 0 && c != code)
			return -1;
		code = c;
		text = len > 4 ? line + 4 : line + len;
		tlen = len > 4 ? len - 4 : 0;
		if (nlines == 1) {
			r->code = c;
			el = ecode_len(text, tlen);
			if (el > 0 && el < sizeof(r->ecode) && text[0] ==
			    line[0]) {
				memcpy(r->ecode, text, el);
				text += el;
				tlen -= el;
				while (tlen > 0 && *text == ' ') {
					text++;
					tlen--;
				}
			}
			if (tlen >= sizeof(r->text))
				tlen = sizeof(r->text) - 1;
			memcpy(r->text, text, tlen);
			r->text[tlen] = '\0';
			/* no control bytes from the peer in our logs */
			log_safe(r->text, sizeof(r->text), r->text);
		}
		if (lines && (sbuf_append(lines, text, tlen) < 0 ||
			      sbuf_append(lines, "\n", 1) < 0))
			return -1;
		off = (size_t)(lf - p) + 1;
		if (len <= 3 || line[3] == ' ') {
			*used = off;
			return 1;
		}
	}
}

void smtp_reply_format(const struct smtp_reply *r, char *out, size_t outlen)
{
	if (r->ecode[0])
		snprintf(out, outlen, "%d %s %s", r->code, r->ecode, r->text);
	else
		snprintf(out, outlen, "%d %s", r->code, r->text);
}
