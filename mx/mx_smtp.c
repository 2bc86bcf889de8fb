/*
 * NAME
 *	mx_smtp - the SMTP hooks of stage A
 * DESCRIPTION
 *	Accepts mail only for the local domains and refuses relaying,
 *	including the classic tricks (percent hack, source routes, bang
 *	paths, quoted local parts with '@', IP literals: RFC 2505 2.5).
 *	Prepends a Received header (RFC 5321 4.4), refuses loops (more than
 *	LIM_HOPS Received headers, RFC 5321 6.3) and queues the message; the
 *	250 goes out only after the group commit in mx_commit().
 *	Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "forward.h"
#include "limits_rfc.h"
#include "log.h"
#include "mx.h"
#include "queue.h"

struct mx_sess {
	struct smtp_session *s;
	struct mx_sess *next;	/* in mx->pending */
	int pending;
	char qid[QUEUE_ID_LEN + 1];
};

static struct mx *mx_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

static struct mx_sess *sess_of(struct smtp_session *s)
{
	if (s->ctx == NULL) {
		s->ctx = calloc(1, sizeof(struct mx_sess));
		if (s->ctx == NULL)
			log_fatal("out of memory");
		((struct mx_sess *)s->ctx)->s = s;
	}
	return s->ctx;
}

static int is_local_domain(struct mx *mx, const char *domain)
{
	char **d;

	for (d = mx->domains; *d; d++)
		if (strcasecmp(*d, domain) == 0)
			return 1;
	return 0;
}

static int mx_rcpt(struct smtp_session *s, const char *rcpt,
		   struct smtp_reply *r)
{
	struct mx *mx = mx_of(s);
	const struct addr *a = s->path;
	char safe[300];

	log_safe(safe, sizeof(safe), rcpt);
	if (a->flags & ADDR_POSTMASTER)
		return 0;
	if ((a->flags & (ADDR_SOURCE_ROUTE | ADDR_ROUTING | ADDR_IP_LITERAL)) ||
	    !is_local_domain(mx, a->domain)) {
		log_info("%s: reject: RCPT from [%s]: 554 5.7.1 <%s>: Relay "
			 "access denied; from=<%s>", s->id, s->client_addr,
			 safe, s->env.from);
		return smtp_reply_set(r, 554, "5.7.1",
				      "<%s>: Relay access denied", safe);
	}
	return 0;
}

/* RFC 5322 date-time, e.g. "Sun, 22 Nov 2026 15:40:00 +0000". */
static void rfc5322_date(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

static int add_received(struct mx *mx, struct smtp_session *s,
			struct sbuf *out)
{
	char date[64], helo[300];
	const char *proto;

	rfc5322_date(date, sizeof(date));
	log_safe(helo, sizeof(helo), s->helo ? s->helo : "unknown");
	proto = s->esmtp ? (s->tls ? "ESMTPS" : "ESMTP") : "SMTP";
	if (s->env.smtputf8)
		proto = s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (sbuf_printf(out, "Received: from %s ([%s])\r\n\tby %s (Sluice) "
			"with %s id %s\r\n", helo, s->client_addr,
			mx->cfg->hostname, proto, s->id) < 0)
		return -1;
	if (s->tls && sbuf_printf(out, "\t(using %s)\r\n", s->tls_info) < 0)
		return -1;
	if (s->env.nrcpt == 1 &&
	    sbuf_printf(out, "\tfor <%s>", s->env.rcpts[0].addr) < 0)
		return -1;
	return sbuf_printf(out, "%s; %s\r\n", s->env.nrcpt == 1 ? "" : "\t",
			   date);
}

static void mx_data(struct smtp_session *s)
{
	struct mx *mx = mx_of(s);
	struct mx_sess *ms = sess_of(s);
	struct smtp_reply r;
	struct sbuf body;
	struct qmsg *m;

	if (s->received_count > LIM_HOPS) {
		log_info("%s: reject: too many Received headers (%d) from "
			 "[%s]", s->id, s->received_count, s->client_addr);
		smtp_reply_set(&r, 554, "5.4.6", "Too many hops (mail loop?)");
		smtp_session_reply(s, &r);
		return;
	}
	free(s->env.client_addr);
	free(s->env.helo);
	free(s->env.entered_by);
	s->env.client_addr = strdup(s->client_addr);
	s->env.helo = s->helo ? strdup(s->helo) : NULL;
	s->env.entered_by = strdup("mx");
	s->env.arrival = time(NULL);
	sbuf_init(&body, s->msg.len + 1024);
	if (add_received(mx, s, &body) < 0 ||
	    sbuf_append(&body, s->msg.data ? s->msg.data : "",
			s->msg.len) < 0) {
		sbuf_free(&body);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply(s, &r);
		return;
	}
	m = queue_add(mx->q, &s->env, body.data, body.len);
	if (m == NULL) {
		log_error("%s: cannot queue message from [%s]", s->id,
			  s->client_addr);
		sbuf_free(&body);
		smtp_reply_set(&r, 451, "4.3.0", "Error: queue file write "
			       "error");
		smtp_session_reply(s, &r);
		return;
	}
	log_info("%s: %s: client=[%s], from=<%s>, size=%zu, nrcpt=%zu "
		 "(queue active)", m->id, s->id, s->client_addr, s->env.from,
		 body.len, s->env.nrcpt);
	sbuf_free(&body);
	snprintf(ms->qid, sizeof(ms->qid), "%s", m->id);
	ms->pending = 1;
	ms->next = mx->pending;
	mx->pending = ms;
}

static void mx_close(struct smtp_session *s)
{
	struct mx *mx = mx_of(s);
	struct mx_sess *ms = s->ctx, **pp;

	if (ms == NULL)
		return;
	for (pp = &mx->pending; *pp; pp = &(*pp)->next)
		if (*pp == ms) {
			*pp = ms->next;
			break;
		}
	free(ms);
	s->ctx = NULL;
}

void mx_commit(void *arg)
{
	struct mx *mx = arg;
	struct mx_sess *ms, *next;
	struct smtp_reply r;
	int rc = 0, any = mx->pending != NULL;

	if (queue_dirty(mx->q))
		rc = queue_sync(mx->q);
	if (rc < 0)
		log_error("queue sync failed: mail not acknowledged");
	for (ms = mx->pending, mx->pending = NULL; ms; ms = next) {
		next = ms->next;
		ms->pending = 0;
		if (rc < 0)
			smtp_reply_set(&r, 451, "4.3.0", "Error: queue file "
				       "write error");
		else
			smtp_reply_set(&r, 250, "2.0.0", "Ok: queued as %s",
				       ms->qid);
		smtp_session_reply(ms->s, &r);
	}
	if (any)
		forward_kick(mx->fwd);
}

const struct smtp_hooks mx_hooks = {
	.on_rcpt = mx_rcpt,
	.on_data = mx_data,
	.on_close = mx_close,
};
