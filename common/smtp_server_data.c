/*
 * NAME
 *	smtp_server_data - the DATA phase of the SMTP/LMTP server engine
 * DESCRIPTION
 *	Turns the dot-stuffed wire form into the message (RFC 5321 4.5.2),
 *	counting the header section and its Received: lines as it goes.
 *	End of data is only <CRLF>.<CRLF>; a bare CR or LF anywhere makes
 *	the message refused after its end (RFC 5321 2.3.8; the SMTP
 *	smuggling defence). Bytes past max_size are counted, not kept.
 *	Faces the network.
 */
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "log.h"
#include "smtp_server_int.h"

void srv_data_begin(struct srv_session *ss)
{
	sbuf_reset(&ss->pub.msg);
	ss->d_bad = ss->d_toobig = ss->d_hdrbig = 0;
	ss->d_in_header = 1;
	ss->d_bol = 1;
	ss->d_total = 0;
	ss->pub.header_len = 0;
	ss->pub.received_count = 0;
}

static void keep(struct srv_session *ss, const char *p, size_t n)
{
	struct smtp_server *srv = ss->pub.srv;

	ss->d_total += n;
	if (ss->d_toobig)
		return;
	if (ss->d_total > (size_t)srv->cfg.max_size ||
	    sbuf_append(&ss->pub.msg, p, n) < 0) {
		ss->d_toobig = 1;
		sbuf_reset(&ss->pub.msg);
	}
}

/* One complete line (with its LF) of message text, already unstuffed. */
static void header_line(struct srv_session *ss, const char *p, size_t n)
{
	struct smtp_server *srv = ss->pub.srv;

	if (!ss->d_in_header)
		return;
	if (n == 2 && p[0] == '\r') {
		ss->d_in_header = 0;
		ss->pub.header_len = ss->d_total;
		return;
	}
	if (n >= 9 && strncasecmp(p, "Received:", 9) == 0)
		ss->pub.received_count++;
	if (srv->cfg.max_header > 0 &&
	    ss->d_total > (size_t)srv->cfg.max_header)
		ss->d_hdrbig = 1;
}

static void fail_all(struct srv_session *ss, int code, const char *ecode,
		     const char *text)
{
	size_t i, n = ss->pub.srv->cfg.lmtp ? ss->pub.env.nrcpt : 1;

	log_info("%s: reject: DATA from [%s]: %d %s %s", ss->pub.id,
		 ss->pub.client_addr, code, ecode, text);
	for (i = 0; i < n; i++)
		srv_reply(ss, code, ecode, "%s", text);
	srv_reset_txn(ss);
}

static void end_of_data(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;

	if (ss->d_in_header)
		ss->pub.header_len = ss->d_total;
	if (ss->d_bad) {
		fail_all(ss, 550, "5.6.0", "Error: bare <CR> or <LF> in "
			 "message text (RFC 5321 2.3.8)");
		return;
	}
	if (ss->d_toobig) {
		fail_all(ss, 552, "5.3.4", "Error: message size exceeds "
			 "fixed limit");
		return;
	}
	if (ss->d_hdrbig) {
		fail_all(ss, 552, "5.3.4", "Error: message header section "
			 "exceeds fixed limit");
		return;
	}
	srv_set_state(ss, ST_WAIT);
	ss->owed = srv->cfg.lmtp ? ss->pub.env.nrcpt : 1;
	conn_pause(ss->c);
	if (srv->hooks.on_data == NULL)
		log_panic("smtp_server: no on_data hook");
	srv->hooks.on_data(&ss->pub);
}

/* A line of at least one byte ending in LF, or a partial line. Only a
 * line that ended in CRLF leaves us at the beginning of a line: after a
 * bare LF, "." is text, so "\n.\r\n" can never end the data here while a
 * sloppier peer thinks it did (SMTP smuggling). */
static void data_line(struct srv_session *ss, const char *p, size_t n,
		      int complete)
{
	int crlf = complete && n >= 2 && p[n - 2] == '\r';

	if (complete && !crlf)
		ss->d_bad = 1;
	if (memchr(p, '\r', crlf ? n - 2 : n) != NULL)
		ss->d_bad = 1;
	if (ss->d_bol && p[0] == '.') {
		p++;
		n--;
	}
	if (complete)
		header_line(ss, p, n);
	keep(ss, p, n);
	ss->d_bol = crlf;
}

int srv_data_read(struct srv_session *ss)
{
	struct sbuf *in = &ss->c->in;
	const char *p = in->data, *end = in->data + in->len, *lf;
	size_t used = 0, n;

	while (p < end) {
		lf = memchr(p, '\n', (size_t)(end - p));
		if (lf == NULL) {
			/* keep a short tail: it may be the start of
			 * ".\r\n" or a CR whose LF has not arrived */
			n = (size_t)(end - p);
			if (n < 4096)
				break;
			if (p[n - 1] == '\r')
				n--;
			data_line(ss, p, n, 0);
			p += n;
			continue;
		}
		n = (size_t)(lf - p) + 1;
		if (ss->d_bol && n == 3 && p[0] == '.' && p[1] == '\r') {
			p += n;
			used = (size_t)(p - in->data);
			sbuf_consume(in, used);
			end_of_data(ss);
			return 1;
		}
		data_line(ss, p, n, 1);
		p += n;
	}
	sbuf_consume(in, (size_t)(p - in->data));
	return 0;
}
