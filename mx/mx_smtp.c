/*
 * NAME
 *	mx_smtp - the SMTP hooks of stage A
 * DESCRIPTION
 *	Accepts mail only for the local domains and refuses relaying,
 *	including the classic tricks (percent hack, source routes, bang
 *	paths, quoted local parts with '@', IP literals: RFC 2505 2.5).
 *	Removes internal trace headers (tracehdr.h) that came from outside.
 *	Prepends a Received header (RFC 5321 4.4), refuses loops (more than
 *	LIM_HOPS Received headers, RFC 5321 6.3) and hands the message to
 *	the spool, which answers 250 after the group commit.
 *	Faces the network.
 */
#include <strings.h>

#include "addr.h"
#include "directory.h"
#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "mx.h"
#include "spool.h"

static struct mx *mx_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

int mx_is_local_domain(struct mx *mx, const char *domain)
{
	char **d;

	for (d = mx->domains; *d; d++)
		if (strcasecmp(*d, domain) == 0)
			return 1;
	return 0;
}

int mx_rcpt(struct smtp_session *s, const char *rcpt, struct smtp_reply *r)
{
	struct mx *mx = mx_of(s);
	const struct addr *a = s->path;
	char safe[300];

	log_safe(safe, sizeof(safe), rcpt);
	if (a->flags & ADDR_POSTMASTER)
		return 0;
	if ((a->flags & (ADDR_SOURCE_ROUTE | ADDR_ROUTING | ADDR_IP_LITERAL)) ||
	    !mx_is_local_domain(mx, a->domain)) {
		METRICS_COUNT(METRIC_RELAY_REFUSED);
		log_info("%s: reject: RCPT from [%s]: 554 5.7.1 <%s>: Relay "
			 "access denied; from=<%s>", s->id, s->client_addr,
			 safe, s->env.from);
		return smtp_reply_set(r, 554, "5.7.1",
				      "<%s>: Relay access denied", safe);
	}
	if (mx->cfg->smtp.directory_file[0] == '\0')
		return mx_auth_rcpt(mx, s, rcpt, r);
	/* the store's directory: no backscatter for unknown users */
	directory_refresh(&mx->dir, mx->cfg->smtp.directory_file);
	switch (directory_lookup(mx->dir, rcpt)) {
	case DIR_UNKNOWN:
		METRICS_COUNT(METRIC_UNKNOWN_RCPT);
		log_info("%s: reject: RCPT from [%s]: 550 5.1.1 <%s>: user "
			 "unknown; from=<%s>", s->id, s->client_addr, safe,
			 s->env.from);
		return smtp_reply_set(r, 550, "5.1.1", "<%s>: Recipient "
				      "address rejected: User unknown", safe);
	case DIR_DISABLED:
		return smtp_reply_set(r, 550, "5.2.1", "<%s>: mailbox "
				      "disabled", safe);
	case DIR_ALIAS:
		if (!mx_alias_unroutable(mx, rcpt))
			return mx_auth_rcpt(mx, s, rcpt, r);
		log_info("%s: reject: RCPT from [%s]: 550 5.1.1 <%s>: alias "
			 "with remote targets only, alias_relay not set",
			 s->id, s->client_addr, safe);
		return smtp_reply_set(r, 550, "5.1.1", "<%s>: Recipient "
				      "address rejected: no local target",
				      safe);
	case DIR_SHARED:
		/* nobody's: the store tells the sender whom to write to */
	default:
		return mx_auth_rcpt(mx, s, rcpt, r);
	}
}

/* screening (sender lists and rate), then SPF starts */
static int mx_mail(struct smtp_session *s, struct smtp_reply *r)
{
	if (mx_screen_mail(s, r) < 0)
		return -1;
	return mx_auth_mail(mx_of(s), s);
}

static void mx_data(struct smtp_session *s)
{
	struct mx *mx = mx_of(s);
	struct smtp_reply r;

	if (s->received_count > LIM_HOPS) {
		log_info("%s: reject: too many Received headers (%d) from "
			 "[%s]", s->id, s->received_count, s->client_addr);
		smtp_reply_set(&r, 554, "5.4.6", "Too many hops (mail loop?)");
		smtp_session_reply(s, &r);
		return;
	}
	if (mx_screen_data(s, &r) < 0) {
		smtp_session_reply(s, &r);
		return;
	}
	spool_strip_trace(s);
	mx_auth_data(mx, s);
}

void mx_deliver(struct mx *mx, struct smtp_session *s, const char *prefix,
		size_t plen)
{
	struct smtp_reply r;
	struct sbuf rcvd;

	if (mx->cfg->smtp.directory_file[0])
		directory_refresh(&mx->dir, mx->cfg->smtp.directory_file);
	sbuf_init(&rcvd, 4096 + plen);
	/* Received names the recipients as given, before any expansion */
	if (spool_received(s, mx->cfg->smtp.hostname, &rcvd) < 0 ||
	    sbuf_append(&rcvd, prefix, plen) < 0 ||
	    mx_alias_expand(mx, s) < 0) {
		sbuf_free(&rcvd);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply(s, &r);
		return;
	}
	spool_accept(&mx->spool, s, rcvd.data, rcvd.len);
	sbuf_free(&rcvd);
}

static void mx_close(struct smtp_session *s)
{
	mx_auth_close(mx_of(s), s);
	mx_screen_close(s);
	spool_closed(&mx_of(s)->spool, s);
}

/* the screening hooks are in mx_screen.c, mx_grey.c and mx_rules.c */
const struct smtp_hooks mx_hooks = {
	.on_connect = mx_screen_connect,
	.on_violation = mx_screen_violation,
	.on_helo = mx_screen_helo,
	.on_mail = mx_mail,
	.on_rcpt = mx_screen_rcpt,
	.on_data = mx_data,
	.on_close = mx_close,
};
