/*
 * NAME
 *	smtp_client - the one SMTP/LMTP client engine
 * DESCRIPTION
 *	See smtp_client.h. A transaction is a list of commands (MAIL, one
 *	RCPT per recipient, DATA); with PIPELINING they leave in one write,
 *	otherwise each waits for the previous reply. Replies are parsed by
 *	smtp_reply_parse() (RFC 5321 4.2), which bounds line length and
 *	the number of lines of one reply.
 */
#include "smtp_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "evloop.h"
#include "limits_rfc.h"
#include "smtp_parse.h"
#include "smtp_reply.h"
#include "tls.h"

enum cl_state {
	CL_GREET,
	CL_EHLO,
	CL_HELO,
	CL_STARTTLS,
	CL_READY,
	CL_RSET, /* RSET before a transaction */
	CL_TXN,	 /* MAIL/RCPT/DATA replies */
	CL_BODY, /* final replies after the message */
	CL_DEAD,
};

/* Capabilities from EHLO. */
#define CAP_PIPELINING 1u
#define CAP_SIZE 2u
#define CAP_8BITMIME 4u
#define CAP_SMTPUTF8 8u
#define CAP_DSN 16u
#define CAP_STARTTLS 32u
#define CAP_XTRUST 64u

struct smtp_client {
	struct conn *c;
	struct evloop *loop;
	struct smtp_client_cfg cfg;
	const struct smtp_client_ops *ops;
	void *arg;
	char peer[80];
	char sni[256];
	enum cl_state state;
	unsigned caps;
	int tls_done;
	/* current transaction */
	const struct envelope *env;
	size_t *idx;
	size_t n;
	const char *body;
	size_t len;
	struct smtp_reply *res;
	size_t sent;	 /* commands written: 0 = MAIL, 1..n = RCPT, n+1 DATA */
	size_t got;	 /* replies read for those commands */
	int mail_ok;
	size_t accepted;
	size_t finals;	 /* final replies read after the message */
	struct sbuf lines;
	int need_rset;	 /* the last transaction did not complete */
	int in_read;	 /* inside cl_read: quitting must wait */
	int looped;	 /* the server greeted with our own name */
	int quit_pending;
};

static void cl_free(struct smtp_client *cl)
{
	conn_free(cl->c);
	free(cl->idx);
	free(cl->res);
	sbuf_free(&cl->lines);
	free(cl);
}

static void fail(struct smtp_client *cl, int code, const char *why)
{
	cl->state = CL_DEAD;
	if (!cl->quit_pending)
		cl->ops->on_fail(cl, cl->arg, code, why);
	cl_free(cl);
}

/* " KW=xtext" when v is set and short enough for the MAIL line. */
static void write_claim(struct smtp_client *cl, const char *kw,
			const char *v)
{
	char x[300];

	if (v && *v && xtext_encode(v, x, sizeof(x)) == 0)
		conn_printf(cl->c, " %s=%s", kw, x);
}

/* The trust information of e, for a hop of ours that takes it. */
static void write_claims(struct smtp_client *cl, const struct envelope *e)
{
	if (!cl->cfg.claims || !(cl->caps & CAP_XTRUST))
		return;
	write_claim(cl, "AUTH", e->auth_user ? e->auth_user : "<>");
	write_claim(cl, "XADDR", e->client_addr);
	write_claim(cl, "XHELO", e->helo);
	write_claim(cl, "XENTERED", e->entered_by);
}

static void write_cmd(struct smtp_client *cl, size_t i)
{
	const struct envelope *e = cl->env;
	const struct rcpt *r;

	if (i == 0) {
		conn_printf(cl->c, "MAIL FROM:<%s>", e->from);
		if ((cl->caps & CAP_SIZE))
			conn_printf(cl->c, " SIZE=%zu", cl->len);
		if (e->body == BODY_8BITMIME && (cl->caps & CAP_8BITMIME))
			conn_printf(cl->c, " BODY=8BITMIME");
		if (e->smtputf8 && (cl->caps & CAP_SMTPUTF8))
			conn_printf(cl->c, " SMTPUTF8");
		if ((cl->caps & CAP_DSN) && e->ret != DSN_RET_UNSET)
			conn_printf(cl->c, " RET=%s",
				    e->ret == DSN_RET_FULL ? "FULL" : "HDRS");
		if ((cl->caps & CAP_DSN) && e->envid)
			conn_printf(cl->c, " ENVID=%s", e->envid);
		write_claims(cl, e);
		conn_write(cl->c, "\r\n", 2);
	} else if (i <= cl->n) {
		r = &e->rcpts[cl->idx[i - 1]];
		conn_printf(cl->c, "RCPT TO:<%s>", r->addr);
		if ((cl->caps & CAP_DSN) && r->notify) {
			conn_printf(cl->c, " NOTIFY=%s%s%s%s",
				    r->notify & DSN_NOTIFY_NEVER ? "NEVER" : "",
				    r->notify & DSN_NOTIFY_SUCCESS ? "SUCCESS" : "",
				    (r->notify & DSN_NOTIFY_SUCCESS) &&
				    (r->notify & (DSN_NOTIFY_FAILURE |
						  DSN_NOTIFY_DELAY)) ? "," : "",
				    r->notify & DSN_NOTIFY_FAILURE ?
				    ((r->notify & DSN_NOTIFY_DELAY) ?
				     "FAILURE,DELAY" : "FAILURE")
				    : (r->notify & DSN_NOTIFY_DELAY ? "DELAY"
				       : ""));
		}
		if ((cl->caps & CAP_DSN) && r->orcpt)
			conn_printf(cl->c, " ORCPT=%s", r->orcpt);
		conn_write(cl->c, "\r\n", 2);
	} else {
		conn_write(cl->c, "DATA\r\n", 6);
	}
	cl->sent = i + 1;
}

/* Write the message, dot-stuffed (RFC 5321 4.5.2), then ".". */
static void write_body(struct smtp_client *cl)
{
	const char *p = cl->body, *end = cl->body + cl->len, *nl;

	while (p < end) {
		if (*p == '.')
			conn_write(cl->c, ".", 1);
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		conn_write(cl->c, p, (size_t)(nl - p));
		p = nl;
	}
	if (cl->len > 0 && end[-1] != '\n')
		conn_write(cl->c, "\r\n", 2);
	conn_write(cl->c, ".\r\n", 3);
}

/* The transaction is over. Unless it ended with the final replies after
 * the message, the server may still hold part of it (a MAIL after a
 * refused DATA gets "503 nested MAIL"): the next one starts with RSET. */
static void finish_txn(struct smtp_client *cl)
{
	const struct smtp_client_ops *ops = cl->ops;

	cl->need_rset = cl->state != CL_BODY;
	cl->state = CL_READY;
	cl->env = NULL;
	ops->on_done(cl, cl->arg, cl->res, cl->n);
	/* on_done may have started the next transaction or quit */
}

/* Write MAIL, RCPT..., DATA (all at once with PIPELINING). */
static void start_txn(struct smtp_client *cl)
{
	size_t i;

	cl->state = CL_TXN;
	if (cl->caps & CAP_PIPELINING) {
		for (i = 0; i <= cl->n + 1; i++)
			write_cmd(cl, i);
	} else {
		write_cmd(cl, 0);
	}
}

static void ehlo(struct smtp_client *cl)
{
	conn_printf(cl->c, "%s %s\r\n", cl->cfg.lmtp ? "LHLO" : "EHLO",
		    cl->cfg.helo);
	cl->state = CL_EHLO;
	sbuf_reset(&cl->lines);
}

static void parse_caps(struct smtp_client *cl)
{
	const char *p = cl->lines.data, *nl;
	size_t n;

	cl->caps = 0;
	if (p == NULL)
		return;
	/* first line is the greeting name; keywords follow, one per line */
	for (nl = strchr(p, '\n'); nl != NULL; nl = strchr(p, '\n')) {
		p = nl + 1;
		n = strcspn(p, " \n");
		if (n == 10 && strncasecmp(p, "PIPELINING", n) == 0)
			cl->caps |= CAP_PIPELINING;
		else if (n == 4 && strncasecmp(p, "SIZE", n) == 0)
			cl->caps |= CAP_SIZE;
		else if (n == 8 && strncasecmp(p, "8BITMIME", n) == 0)
			cl->caps |= CAP_8BITMIME;
		else if (n == 8 && strncasecmp(p, "SMTPUTF8", n) == 0)
			cl->caps |= CAP_SMTPUTF8;
		else if (n == 3 && strncasecmp(p, "DSN", n) == 0)
			cl->caps |= CAP_DSN;
		else if (n == 8 && strncasecmp(p, "STARTTLS", n) == 0)
			cl->caps |= CAP_STARTTLS;
		else if (n == 6 && strncasecmp(p, "XTRUST", n) == 0)
			cl->caps |= CAP_XTRUST;
	}
}

static void ready(struct smtp_client *cl)
{
	cl->state = CL_READY;
	cl->ops->on_ready(cl, cl->arg);
}

/* EHLO done: STARTTLS if wanted, else ready. Returns 0, or -1 when the
 * client was freed. */
static int after_ehlo(struct smtp_client *cl)
{
	int want = cl->cfg.tls && cl->cfg.tls_policy != TLS_POLICY_NONE &&
		   !cl->tls_done;

	if (want && (cl->caps & CAP_STARTTLS)) {
		conn_write(cl->c, "STARTTLS\r\n", 10);
		cl->state = CL_STARTTLS;
		return 0;
	}
	if (cl->cfg.tls_policy >= TLS_POLICY_ENCRYPT && !cl->tls_done) {
		fail(cl, 0, "TLS is required, but was not offered");
		return -1;
	}
	ready(cl);
	return 0;
}

static void txn_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	size_t i = cl->got++;

	if (i == 0) {
		cl->mail_ok = r->code / 100 == 2;
		if (!cl->mail_ok) {
			size_t k;

			for (k = 0; k < cl->n; k++)
				cl->res[k] = *r;
			if (cl->sent == 1) { /* not pipelined: stop here */
				finish_txn(cl);
				return;
			}
		}
	} else if (i <= cl->n) {
		if (cl->mail_ok) {
			cl->res[i - 1] = *r;
			if (r->code / 100 == 2)
				cl->accepted++;
		}
	} else { /* DATA */
		size_t k;

		if (r->code == 354) {
			/* RFC 2920 3.1: no recipient was accepted but the
			 * server wants data anyway: send an empty message */
			if (cl->accepted == 0)
				conn_write(cl->c, ".\r\n", 3);
			else
				write_body(cl);
			cl->state = CL_BODY;
			cl->finals = 0;
			return;
		}
		for (k = 0; k < cl->n && cl->mail_ok; k++)
			if (cl->res[k].code / 100 == 2)
				cl->res[k] = *r;
		finish_txn(cl);
		return;
	}
	if (cl->sent == cl->got) { /* not pipelined: send the next one */
		if (cl->got == cl->n + 1 && cl->accepted == 0) {
			finish_txn(cl);
			return;
		}
		write_cmd(cl, cl->sent);
	}
}

/* A final reply after the message (one for SMTP; one per accepted
 * recipient for LMTP). */
static void body_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	size_t k, seen = 0;

	if (!cl->cfg.lmtp || cl->accepted == 0) {
		for (k = 0; k < cl->n; k++)
			if (cl->res[k].code / 100 == 2)
				cl->res[k] = *r;
		finish_txn(cl);
		return;
	}
	for (k = 0; k < cl->n; k++) {
		if (cl->res[k].code / 100 != 2)
			continue;
		if (seen++ == cl->finals) {
			cl->res[k] = *r;
			cl->res[k].code += 1000; /* mark as final */
			break;
		}
	}
	if (++cl->finals < cl->accepted)
		return;
	for (k = 0; k < cl->n; k++)
		if (cl->res[k].code >= 1000)
			cl->res[k].code -= 1000;
	finish_txn(cl);
}

/* The server names itself first in its greeting and EHLO reply
 * (RFC 5321 4.2, 4.1.1.1): our own name there means we talk to ourselves.
 * Returns -1 (the client was freed) on a loop. */
static int check_loop(struct smtp_client *cl, const struct smtp_reply *r)
{
	size_t n = strcspn(r->text, " \r\n");
	char why[400];

	if (cl->cfg.self_name == NULL || n != strlen(cl->cfg.self_name) ||
	    strncasecmp(r->text, cl->cfg.self_name, n) != 0)
		return 0;
	cl->looped = 1;
	snprintf(why, sizeof(why), "mail loops back to myself (the server "
		 "greets as %s)", cl->cfg.self_name);
	fail(cl, 554, why);
	return -1;
}

/* Handle one complete reply. Returns -1 if the client was freed. */
static int on_reply(struct smtp_client *cl, const struct smtp_reply *r)
{
	char why[600];

	switch (cl->state) {
	case CL_GREET:
		if (r->code != 220) {
			snprintf(why, sizeof(why), "greeting: %d %s", r->code,
				 r->text);
			fail(cl, r->code, why);
			return -1;
		}
		if (check_loop(cl, r) < 0)
			return -1;
		ehlo(cl);
		break;
	case CL_EHLO:
		if (r->code / 100 == 2 && check_loop(cl, r) < 0)
			return -1;
		if (r->code / 100 != 2) {
			if (!cl->cfg.lmtp && r->code / 100 == 5) {
				conn_printf(cl->c, "HELO %s\r\n",
					    cl->cfg.helo);
				cl->state = CL_HELO;
				break;
			}
			snprintf(why, sizeof(why), "EHLO: %d %s", r->code,
				 r->text);
			fail(cl, r->code, why);
			return -1;
		}
		parse_caps(cl);
		return after_ehlo(cl);
	case CL_HELO:
		if (r->code / 100 != 2) {
			snprintf(why, sizeof(why), "HELO: %d %s", r->code,
				 r->text);
			fail(cl, r->code, why);
			return -1;
		}
		cl->caps = 0;
		return after_ehlo(cl);
	case CL_STARTTLS:
		if (r->code != 220) {
			if (cl->cfg.tls_policy >= TLS_POLICY_ENCRYPT) {
				snprintf(why, sizeof(why), "STARTTLS: %d %s",
					 r->code, r->text);
				fail(cl, r->code, why);
				return -1;
			}
			ready(cl);
			break;
		}
		conn_flush(cl->c);
		if (conn_starttls(cl->c, cl->cfg.tls, 0, cl->cfg.sni) < 0) {
			fail(cl, 0, "cannot start TLS");
			return -1;
		}
		return -2; /* the input buffer was reset */
	case CL_RSET:
		if (r->code / 100 != 2) {
			snprintf(why, sizeof(why), "RSET: %d %s", r->code,
				 r->text);
			fail(cl, r->code, why);
			return -1;
		}
		start_txn(cl);
		break;
	case CL_TXN:
		txn_reply(cl, r);
		break;
	case CL_BODY:
		body_reply(cl, r);
		break;
	case CL_READY:
	case CL_DEAD:
		fail(cl, 0, "unexpected reply from server");
		return -1;
	}
	return 0;
}

static void cl_read(void *arg)
{
	struct smtp_client *cl = arg;
	struct smtp_reply r;
	size_t used;
	int rc;

	cl->in_read = 1;
	for (;;) {
		rc = smtp_reply_parse(cl->c->in.data, cl->c->in.len, &r,
				      cl->state == CL_EHLO ? &cl->lines : NULL,
				      &used);
		if (rc == 0)
			break;
		if (rc < 0) {
			fail(cl, 0, "malformed reply from server");
			return;
		}
		sbuf_consume(&cl->c->in, used);
		rc = on_reply(cl, &r);
		if (rc == -1)
			return;
		if (rc == -2)
			break; /* TLS handshake under way */
		if (cl->quit_pending)
			break;
	}
	cl->in_read = 0;
	if (cl->quit_pending) {
		cl_free(cl);
		return;
	}
	if (cl->c->in.len >= cl->c->in.max) {
		fail(cl, 0, "reply too long");
		return;
	}
	conn_flush(cl->c);
}

static void cl_close(void *arg, enum conn_event ev)
{
	struct smtp_client *cl = arg;
	char why[200];

	snprintf(why, sizeof(why), "%s",
		 ev == CONN_TIMEOUT ? "timeout" :
		 ev == CONN_EOF ? "connection closed by server"
				: conn_error_text(cl->c));
	fail(cl, 0, why);
}

static void cl_tls(void *arg)
{
	struct smtp_client *cl = arg;

	cl->tls_done = 1;
	ehlo(cl);
	conn_flush(cl->c);
}

static const struct conn_ops cl_conn_ops = {
	.on_read = cl_read,
	.on_close = cl_close,
	.on_tls = cl_tls,
};

struct smtp_client *smtp_client_new(struct evloop *loop, const char *hostport,
				    const struct smtp_client_cfg *cfg,
				    const struct smtp_client_ops *ops,
				    void *arg, char *err, size_t errlen)
{
	struct smtp_client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cl->loop = loop;
	cl->cfg = *cfg;
	if (cfg->sni && *cfg->sni) {
		snprintf(cl->sni, sizeof(cl->sni), "%s", cfg->sni);
		cl->cfg.sni = cl->sni;
	} else {
		cl->cfg.sni = NULL;
	}
	cl->ops = ops;
	cl->arg = arg;
	snprintf(cl->peer, sizeof(cl->peer), "%s", hostport);
	sbuf_init(&cl->lines, 16384);
	cl->state = CL_GREET;
	cl->c = conn_connect(loop, hostport, 65536, &cl_conn_ops, cl, err,
			     errlen);
	if (cl->c == NULL) {
		free(cl);
		return NULL;
	}
	conn_set_timeout(cl->c, cfg->timeout ? cfg->timeout : 300);
	return cl;
}

int smtp_client_send(struct smtp_client *cl, const struct envelope *e,
		     const size_t *idx, size_t n, const char *body,
		     size_t len)
{
	if (cl->state != CL_READY || n == 0)
		return -1;
	free(cl->idx);
	free(cl->res);
	cl->idx = malloc(n * sizeof(*cl->idx));
	cl->res = calloc(n, sizeof(*cl->res));
	if (cl->idx == NULL || cl->res == NULL)
		return -1;
	memcpy(cl->idx, idx, n * sizeof(*idx));
	cl->env = e;
	cl->n = n;
	cl->body = body;
	cl->len = len;
	cl->sent = cl->got = cl->accepted = 0;
	cl->mail_ok = 0;
	if (e->smtputf8 && !(cl->caps & CAP_SMTPUTF8)) {
		/* RFC 6531 3.2: cannot be relayed to this server */
		return -2;
	}
	if (cl->need_rset) {
		cl->need_rset = 0;
		conn_write(cl->c, "RSET\r\n", 6);
		cl->state = CL_RSET;
	} else {
		start_txn(cl);
	}
	conn_flush(cl->c);
	return 0;
}

void smtp_client_quit(struct smtp_client *cl)
{
	if (cl->state == CL_READY) {
		conn_write(cl->c, "QUIT\r\n", 6);
		conn_flush(cl->c);
	}
	if (cl->in_read) {
		cl->quit_pending = 1;
		return;
	}
	cl_free(cl);
}

const char *smtp_client_peer(const struct smtp_client *cl)
{
	return cl->peer;
}

int smtp_client_tls(const struct smtp_client *cl)
{
	return cl->tls_done;
}

int smtp_client_looped(const struct smtp_client *cl)
{
	return cl->looped;
}

int tls_policy_parse(const char *s, enum tls_policy *p, char *name,
		     size_t namelen)
{
	size_t n;

	name[0] = '\0';
	if (strcmp(s, "none") == 0)
		*p = TLS_POLICY_NONE;
	else if (strcmp(s, "may") == 0)
		*p = TLS_POLICY_MAY;
	else if (strcmp(s, "encrypt") == 0)
		*p = TLS_POLICY_ENCRYPT;
	else if (strcmp(s, "verify") == 0)
		*p = TLS_POLICY_VERIFY;
	else if (strncmp(s, "verify:", 7) == 0) {
		/* a host name (RFC 1123 2.1): letters, digits, '-', '.' */
		s += 7;
		n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
			   "TUVWXYZ0123456789-.");
		if (n == 0 || s[n] != '\0' || n >= namelen || s[0] == '.' ||
		    s[0] == '-')
			return -1;
		memcpy(name, s, n + 1);
		*p = TLS_POLICY_VERIFY;
	} else
		return -1;
	return 0;
}

int smtp_client_dsn(const struct smtp_client *cl)
{
	return (cl->caps & CAP_DSN) != 0;
}
