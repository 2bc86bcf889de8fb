/*
 * NAME
 *	smtp_server_data - the DATA phase of the SMTP/LMTP server engine
 * DESCRIPTION
 *	Feeds what the client sends to the DATA parser (smtp_data.h) and,
 *	at <CRLF>.<CRLF>, refuses a message with a bare CR or LF (RFC 5321
 *	2.3.8; the SMTP smuggling defence) or over a limit, else hands it
 *	to the stage. Faces the network.
 */
#include "conn.h"
#include "log.h"
#include "smtp_server_int.h"

void srv_data_begin(struct srv_session *ss)
{
	const struct smtp_server_cfg *cfg = &ss->pub.srv->cfg;

	smtp_data_begin(&ss->d, &ss->pub.msg,
			cfg->max_size > 0 ? (size_t)cfg->max_size : 0,
			cfg->max_header > 0 ? (size_t)cfg->max_header : 0);
	ss->pub.header_len = 0;
	ss->pub.received_count = 0;
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

void srv_data_end(struct srv_session *ss)
{
	struct smtp_server *srv = ss->pub.srv;

	ss->pub.header_len = ss->d.header_len;
	ss->pub.received_count = ss->d.received_count;
	if (ss->d.bad) {
		fail_all(ss, 550, "5.6.0", "Error: bare <CR> or <LF> in "
			 "message text (RFC 5321 2.3.8)");
		return;
	}
	if (ss->d.toobig) {
		fail_all(ss, 552, "5.3.4", "Error: message size exceeds "
			 "fixed limit");
		return;
	}
	if (ss->d.hdrbig) {
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

int srv_data_read(struct srv_session *ss)
{
	struct sbuf *in = &ss->c->in;
	int done;

	sbuf_consume(in, smtp_data_feed(&ss->d, in->data, in->len, &done));
	if (!done)
		return 0;
	srv_data_end(ss);
	return 1;
}
