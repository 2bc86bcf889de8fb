/*
 * NAME
 *	outmta_smtp - the SMTP hooks of stage F
 * DESCRIPTION
 *	Only the configured inner stages may hand mail to the outgoing MTA
 *	(DESIGN.md: F is the only stage that talks to the Internet, and only
 *	for the stages behind it). The engine matches peers against
 *	trusted_peers (netmatch.h); their inter-stage claims (who
 *	authenticated, which stage the mail entered by) are taken over with
 *	the mail. Recipients anywhere are accepted
 *	from them; the message gets a Received header and is queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "authres.h"
#include "limits_rfc.h"
#include "log.h"
#include "outmta.h"

static struct outmta *om_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

static int om_connect(struct smtp_session *s, struct smtp_reply *r)
{
	struct outmta *om = om_of(s);

	if (s->trusted)
		return 0;
	log_warn("%s: reject: connect from [%s]: not a trusted peer", s->id,
		 s->client_addr);
	return smtp_reply_set(r, 554, "5.7.1", "%s: not a trusted peer",
			      om->cfg->hostname);
}

static int om_rcpt(struct smtp_session *s, const char *rcpt,
		   struct smtp_reply *r)
{
	if (s->path->flags & ADDR_POSTMASTER)
		return smtp_reply_set(r, 550, "5.1.1", "no local mailboxes "
				      "here");
	return 0;
}

/* DKIM-sign with every key of the From: domain (one per algorithm). */
static int sign(struct outmta *om, struct smtp_session *s, struct sbuf *out)
{
	struct dkim_signer **d;
	char domain[256];
	const char *msg = s->msg.data ? s->msg.data : "", *why;

	if (om->dkim == NULL)
		return 0;
	if (dkim_from_domain(msg, s->msg.len, domain, sizeof(domain),
			     &why) < 0) {
		log_warn("%s: not DKIM-signed: %s", s->id, why);
		return 0;
	}
	for (d = om->dkim; *d; d++) {
		if (strcasecmp((*d)->domain, domain) != 0)
			continue;
		if (dkim_sign(*d, msg, s->msg.len, time(NULL), out) < 0) {
			log_error("%s: DKIM signing failed for d=%s", s->id,
				  domain);
			return -1;
		}
		log_info("%s: DKIM-Signature added: d=%s, s=%s", s->id,
			 (*d)->domain, (*d)->selector);
	}
	return 0;
}

/* What our ARC set says besides arc=: the results our own mx recorded
 * under our authserv-id (mx removed any such field that came from
 * outside, so these are ours; RFC 8617 4.1.1). */
static void arc_results(struct outmta *om, struct smtp_session *s,
			struct sbuf *res)
{
	static const char *const skip[] = {"arc", NULL};

	if (om->arc.key == NULL)
		return;
	if (authres_results(s->msg.data ? s->msg.data : "", s->header_len,
			    om->arc.authserv_id, skip, res) < 0) {
		log_warn("%s: our Authentication-Results are too long for "
			 "the ARC set: not copied", s->id);
		sbuf_reset(res);
	}
}

static void om_data(struct smtp_session *s)
{
	struct outmta *om = om_of(s);
	struct smtp_reply r;
	struct sbuf rcvd, res;

	sbuf_init(&rcvd, 65536);
	sbuf_init(&res, LIM_ARC_RESULTS_MAX);
	if (spool_received(s, om->cfg->hostname, &rcvd) < 0 ||
	    sign(om, s, &rcvd) < 0) {
		sbuf_free(&rcvd);
		sbuf_free(&res);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply(s, &r);
		return;
	}
	arc_results(om, s, &res);
	spool_arc_accept(&om->arc, &om->spool, s, rcvd.data, rcvd.len,
			 res.data ? res.data : "");
	sbuf_free(&res);
	sbuf_free(&rcvd);
}

static void om_close(struct smtp_session *s)
{
	spool_arc_closed(&om_of(s)->arc, s);
	spool_closed(&om_of(s)->spool, s);
}

const struct smtp_hooks outmta_hooks = {
	.on_connect = om_connect,
	.on_rcpt = om_rcpt,
	.on_data = om_data,
	.on_close = om_close,
};
