/*
 * NAME
 *	smtp_server_bdat - CHUNKING (RFC 3030) in the SMTP/LMTP server engine
 * DESCRIPTION
 *	BDAT chunk-size [LAST]: exactly chunk-size octets follow the command
 *	line. They go, as they are (no dot-stuffing), through the same
 *	DATA parser (smtp_data_feed_raw) into the same message, so header
 *	section, Received: count, size limits and the bare CR/LF rule are
 *	those of DATA; at LAST the message goes to the stage like one that
 *	ended with <CRLF>.<CRLF>. A refused BDAT still has its octets read
 *	and dropped, so the session stays in step (RFC 3030 2); a failed
 *	chunk ends the transaction. A message that does not end in CRLF gets
 *	one, as a DATA message always has. BINARYMIME is not offered.
 *	Faces the network: the chunk size is the peer's word, nothing is
 *	reserved for it.
 */
#include <string.h>

#include "conn.h"
#include "log.h"
#include "smtp_parse.h"
#include "smtp_server_int.h"

/* Chunk octets not yet parsed (a line's start kept back): at most one
 * input buffer plus the parser's tail. */
#define BDAT_PEND_MAX (2 * (LIM_CMD_LINE * 4 + 65536))

static void bdat_refuse(struct srv_session *ss, int code, const char *ecode,
			const char *text)
{
	smtp_reply_set(&ss->bdat_err, code, ecode, "%s", text);
	ss->bdat_skip = 1;
}

/* Octets of this message so far, parsed or kept back. */
static long long bdat_octets(const struct srv_session *ss)
{
	return (long long)(ss->d.total + ss->bdat_pend.len);
}

void srv_bdat_cmd(struct srv_session *ss, const struct smtp_cmd *cmd)
{
	const struct smtp_server_cfg *cfg = &ss->pub.srv->cfg;
	long long size;
	int last;

	if (cfg->no_chunking) {
		srv_reply(ss, 502, "5.5.1", "Error: command not implemented");
		return;
	}
	if (smtp_parse_bdat(cmd->arg, &size, &last) < 0) {
		/* without a size the octets that follow cannot be told from
		 * commands: nothing to do but hang up */
		log_info("%s: reject: BDAT from [%s]: 501 5.5.4 bad chunk "
			 "size", ss->pub.id, ss->pub.client_addr);
		srv_reply(ss, 501, "5.5.4", "Syntax: BDAT chunk-size [LAST]");
		srv_hangup(ss);
		return;
	}
	ss->bdat_skip = 0;
	if (ss->state < ST_READY || !ss->pub.esmtp)
		bdat_refuse(ss, 503, "5.5.1", "Error: send EHLO first");
	else if (!ss->have_mail)
		bdat_refuse(ss, 503, "5.5.1", "Error: need MAIL command");
	else if (ss->pub.env.nrcpt == 0)
		bdat_refuse(ss, 554, "5.5.1", "Error: no valid recipients");
	else if ((ss->bdat_txn ? bdat_octets(ss) : 0) + size > cfg->max_size)
		bdat_refuse(ss, 552, "5.3.4", "Error: message size exceeds "
			    "fixed limit");
	if (ss->bdat_skip) {
		log_info("%s: reject: BDAT from [%s]: %d %s %s", ss->pub.id,
			 ss->pub.client_addr, ss->bdat_err.code,
			 ss->bdat_err.ecode, ss->bdat_err.text);
		srv_reset_txn(ss);
	} else if (!ss->bdat_txn) {
		srv_data_begin(ss);
		sbuf_init(&ss->bdat_pend, BDAT_PEND_MAX);
		ss->bdat_txn = 1;
	}
	ss->bdat_back = ss->state;
	ss->bdat_left = size;
	ss->bdat_last = last;
	srv_set_state(ss, ST_BDAT);
	if (size == 0)
		srv_bdat_read(ss);
}

/* A chunk failed: one reply, and the transaction is over. */
static void chunk_failed(struct srv_session *ss, int code, const char *ecode,
			 const char *text)
{
	log_info("%s: reject: BDAT from [%s]: %d %s %s", ss->pub.id,
		 ss->pub.client_addr, code, ecode, text);
	srv_set_state(ss, ss->bdat_back);
	srv_reply(ss, code, ecode, "%s", text);
	srv_reset_txn(ss);
}

/* Every octet of the chunk is in. */
static void chunk_end(struct srv_session *ss)
{
	struct smtp_data *d = &ss->d;

	if (ss->bdat_skip) {
		ss->bdat_skip = 0;
		srv_set_state(ss, ss->bdat_back);
		srv_reply(ss, ss->bdat_err.code, ss->bdat_err.ecode, "%s",
			  ss->bdat_err.text);
		return;
	}
	if (d->toobig)
		chunk_failed(ss, 552, "5.3.4", "Error: message size exceeds "
			     "fixed limit");
	else if (d->hdrbig)
		chunk_failed(ss, 552, "5.3.4", "Error: message header section "
			     "exceeds fixed limit");
	else if (d->bad)
		chunk_failed(ss, 550, "5.6.0", "Error: bare <CR> or <LF> in "
			     "message text (RFC 5321 2.3.8)");
	else if (!ss->bdat_last) {
		srv_set_state(ss, ss->bdat_back);
		srv_reply(ss, 250, "2.0.0", "Ok: %lld octets received",
			  bdat_octets(ss));
	} else {
		/* DATA cannot carry a last line without CRLF: neither do we
		 * pass one on */
		if (d->msg->len > 0 && d->msg->data[d->msg->len - 1] != '\n' &&
		    sbuf_append(d->msg, "\r\n", 2) < 0)
			d->toobig = 1;
		sbuf_free(&ss->bdat_pend);
		srv_data_end(ss);
	}
}

int srv_bdat_read(struct srv_session *ss)
{
	struct sbuf *in = &ss->c->in;
	size_t n = in->len;
	int last;

	if ((unsigned long long)n > (unsigned long long)ss->bdat_left)
		n = (size_t)ss->bdat_left;
	if (!ss->bdat_skip) {
		last = ss->bdat_last && (long long)n == ss->bdat_left;
		if (n > 0 && sbuf_append(&ss->bdat_pend, in->data, n) < 0)
			log_panic("%s: BDAT buffer overrun", ss->pub.id);
		sbuf_consume(&ss->bdat_pend,
			     smtp_data_feed_raw(&ss->d, ss->bdat_pend.data,
						ss->bdat_pend.len, last));
	}
	sbuf_consume(in, n);
	ss->bdat_left -= (long long)n;
	if (ss->bdat_left > 0)
		return 0;
	chunk_end(ss);
	return 1;
}

void srv_bdat_reset(struct srv_session *ss)
{
	ss->bdat_txn = 0;
	sbuf_free(&ss->bdat_pend);
}
