/*
 * NAME
 *	dsn - RFC 3464 delivery status notifications
 * DESCRIPTION
 *	multipart/report; report-type=delivery-status (RFC 6522) with three
 *	parts: a human explanation, message/delivery-status (RFC 3464 2.2,
 *	2.3) and the original headers (text/rfc822-headers) or message
 *	(message/rfc822, RET=FULL). Text that came from a remote server is
 *	made printable and cut to fit a line, so it cannot break the
 *	report's structure.
 */
#include "dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp_parse.h"
#include "tls.h"

static const char *action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_DELAYED:
		return "delayed";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	default:
		return "failed";
	}
}

/* Status x.y.z from a reply text "550 5.1.1 ..." or its code. */
static void status_of(const char *reply, enum dsn_action a, char *out,
		      size_t len)
{
	int c1, c2, c3, code;

	if (reply && sscanf(reply, "%d %d.%d.%d", &code, &c1, &c2, &c3) == 4 &&
	    c1 >= 2 && c1 <= 5 && c2 >= 0 && c2 < 1000 && c3 >= 0 &&
	    c3 < 1000) {
		snprintf(out, len, "%d.%d.%d", c1, c2, c3);
		return;
	}
	if (reply && sscanf(reply, "%d", &code) == 1 && code >= 200 &&
	    code < 600) {
		snprintf(out, len, "%d.0.0", code / 100);
		return;
	}
	snprintf(out, len, "%s", a == DSN_FAILED ? "5.0.0" :
		 a == DSN_DELAYED ? "4.0.0" : "2.0.0");
}

/* Printable ASCII only, at most max bytes. */
static void clean(const char *s, char *out, size_t max)
{
	size_t i = 0;

	for (; s && *s && i + 1 < max; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : ' ';
	out[i] = '\0';
}

/* Is line[0..n) a header field's first line: a field name (printable
 * ASCII but ':') and a colon (RFC 5322 2.2, 3.6.8 ftext)? */
static int field_line(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n && line[i] != ':'; i++)
		if (line[i] < 33 || line[i] > 126)
			return 0;
	return i > 0 && i < n;
}

/* Length of the header section (RFC 5322 2.1): its lines up to the blank
 * line, or, in a message without one, up to the first line that is not
 * part of a header field. RET=HDRS (RFC 3461 4.3) returns only that, so
 * the body never comes back in a report that promised headers. */
static size_t header_len(const char *body, size_t len)
{
	size_t at = 0, n;
	const char *nl;

	while (at < len) {
		nl = memmem(body + at, len - at, "\r\n", 2);
		n = nl ? (size_t)(nl - body) - at : len - at;
		if (n == 0)
			break;
		/* a folded line continues the field before it (2.2.3) */
		if (!field_line(body + at, n) &&
		    !(at > 0 && (body[at] == ' ' || body[at] == '\t')))
			break;
		if (nl == NULL)
			return len;
		at += n + 2;
	}
	return at;
}

int dsn_build(const struct envelope *e, const size_t *which, size_t n,
	      enum dsn_action action, const char *mta, const char *queue_id,
	      const char *body, size_t len, struct envelope *out_env,
	      struct sbuf *o)
{
	char date[64], boundary[80], status[16], text[900], orcpt[600];
	unsigned char rnd[16];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, hl;
	int bad = 0;

	if (e->from == NULL || e->from[0] == '\0')
		return -1;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* a guessable boundary would let the returned message's own text
	 * end our parts and add forged ones (RFC 2046 5.1.1) */
	if (tls_random(rnd, sizeof(rnd)) < 0)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(boundary + 2 * i, sizeof(boundary) - 2 * i, "%02x",
			 rnd[i]);
	snprintf(boundary + 2 * sizeof(rnd), sizeof(boundary) -
		 2 * sizeof(rnd), "=_report");
	bad |= sbuf_printf(o, "From: Mail Delivery System <MAILER-DAEMON@%s>"
			   "\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
			   "Message-ID: <%s.%ld.dsn@%s>\r\n"
			   "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0"
			   "\r\nContent-Type: multipart/report; "
			   "report-type=delivery-status;\r\n\tboundary=\"%s\""
			   "\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n",
			   mta, e->from, action == DSN_FAILED ?
			   "Undelivered Mail Returned to Sender" :
			   action == DSN_DELAYED ? "Delayed Mail (still being "
			   "retried)" : "Successful Mail Delivery Report",
			   date, queue_id, (long)now, mta, boundary);
	bad |= sbuf_printf(o, "--%s\r\nContent-Description: Notification\r\n"
			   "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
			   "This is the mail system at host %s.\r\n\r\n", boundary,
			   mta);
	bad |= sbuf_puts(o, action == DSN_FAILED ?
			 "I'm sorry to have to inform you that your message "
			 "could not\r\nbe delivered to one or more recipients."
			 "\r\n\r\n" : action == DSN_DELAYED ?
			 "Your message could not be delivered yet; the mail "
			 "system\r\nwill keep trying.\r\n\r\n" :
			 "Your message was delivered as requested.\r\n\r\n");
	for (i = 0; i < n; i++) {
		const struct rcpt *r = &e->rcpts[which[i]];

		clean(r->last_reply, text, 400);
		bad |= sbuf_printf(o, "<%s>: %s\r\n", r->addr,
				   text[0] ? text : action_name(action));
	}
	bad |= sbuf_printf(o, "\r\n--%s\r\nContent-Description: Delivery "
			   "report\r\nContent-Type: message/delivery-status\r\n"
			   "\r\nReporting-MTA: dns; %s\r\nX-Sluice-Queue-ID: %s\r\n",
			   boundary, mta, queue_id);
	if (e->envid) {
		clean(e->envid, text, 200);
		bad |= sbuf_printf(o, "Original-Envelope-Id: %s\r\n", text);
	}
	localtime_r(&e->arrival, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	bad |= sbuf_printf(o, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < n; i++) {
		const struct rcpt *r = &e->rcpts[which[i]];

		bad |= sbuf_printf(o, "\r\nFinal-Recipient: rfc822; %s\r\n",
				   r->addr);
		if (r->orcpt && strchr(r->orcpt, ';')) {
			size_t tl = (size_t)(strchr(r->orcpt, ';') - r->orcpt);

			if (xtext_decode(r->orcpt + tl + 1, orcpt,
					 sizeof(orcpt)) == 0) {
				clean(orcpt, text, 500);
				bad |= sbuf_printf(o, "Original-Recipient: "
						   "%.*s; %s\r\n", (int)tl,
						   r->orcpt, text);
			}
		}
		status_of(r->last_reply, action, status, sizeof(status));
		bad |= sbuf_printf(o, "Action: %s\r\nStatus: %s\r\n",
				   action_name(action), status);
		if (r->last_reply) {
			clean(r->last_reply, text, 900);
			bad |= sbuf_printf(o, "Diagnostic-Code: smtp; %s\r\n",
					   text);
		}
	}
	hl = header_len(body, len);
	if (e->ret == DSN_RET_FULL) {
		bad |= sbuf_printf(o, "\r\n--%s\r\nContent-Description: "
				   "Undelivered Message\r\nContent-Type: "
				   "message/rfc822\r\n\r\n", boundary);
		bad |= sbuf_append(o, body, len);
		if (len >= 2 && memcmp(body + len - 2, "\r\n", 2) != 0)
			bad |= sbuf_puts(o, "\r\n");
	} else {
		bad |= sbuf_printf(o, "\r\n--%s\r\nContent-Description: "
				   "Undelivered Message Headers\r\nContent-Type: "
				   "text/rfc822-headers\r\n\r\n", boundary);
		bad |= sbuf_append(o, body, hl);
	}
	bad |= sbuf_printf(o, "\r\n--%s--\r\n", boundary);
	memset(out_env, 0, sizeof(*out_env));
	out_env->from = strdup("");
	out_env->entered_by = e->entered_by ? strdup(e->entered_by) : NULL;
	if (bad || out_env->from == NULL ||
	    envelope_add_rcpt(out_env, e->from, NULL, DSN_NOTIFY_NEVER) < 0) {
		envelope_free(out_env);
		return -1;
	}
	return 0;
}
