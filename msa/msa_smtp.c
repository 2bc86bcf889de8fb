/*
 * NAME
 *	msa_smtp - the SMTP hooks of stage B
 * DESCRIPTION
 *	Runs after the engine made sure of TLS and AUTH (s->auth_user is
 *	set before any MAIL). Anti-forging: the envelope sender and every
 *	mailbox of From: and Sender: must be the user's (msa_owns(), else
 *	553 5.7.1), and those fields must be one each and clean RFC 5322
 *	mailbox lists (addrlist.h), else 553 5.7.1 too. Per-user rate limits: messages are checked at MAIL
 *	(450 4.7.1) and recipients at RCPT (452 4.7.1). At end of data the
 *	internal trace headers (tracehdr.h) and Authentication-Results
 *	fields claiming our authserv-id (authres.h) are removed, then the
 *	RFC 6409 section 8 fixes: Date and Message-ID when missing, and a
 *	Received header for ESMTPSA naming the authenticated user and the
 *	client address only as the policy allows; the remote targets of
 *	aliases among the recipients join the envelope (alias.h), so they
 *	go out through the default route; then the spool queues
 *	the message, which the forwarder hands to the next hops with the
 *	authenticated identity and entered-by "msa". Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "addrlist.h"
#include "alias.h"
#include "authres.h"
#include "directory.h"
#include "evloop.h"
#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "msa.h"

/* Mailboxes of one From: field, at most. */
#define MSA_MAX_HDR_ADDRS 100

static struct msa *msa_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

static int msa_mail(struct smtp_session *s, struct smtp_reply *r)
{
	struct msa *m = msa_of(s);
	char safe[300];

	if (s->auth_user == NULL) /* the engine requires AUTH first */
		return smtp_reply_set(r, 530, "5.7.0", "Authentication "
				      "required");
	log_safe(safe, sizeof(safe), s->env.from);
	if (s->env.from[0] && !msa_owns(m, s->auth_user, s->env.from)) {
		log_info("%s: reject: MAIL from [%s]: 553 5.7.1 <%s> not "
			 "owned by user %s", s->id, s->client_addr, safe,
			 s->auth_user);
		return smtp_reply_set(r, 553, "5.7.1", "<%s>: Sender address "
				      "rejected: not owned by user %s", safe,
				      s->auth_user);
	}
	if (!msa_rate_msg_ok(m->rate, s->auth_user, evloop_now(m->loop))) {
		METRICS_COUNT(METRIC_RATE_LIMIT);
		log_warn("%s: reject: MAIL from [%s]: 450 4.7.1 message rate "
			 "limit of user %s", s->id, s->client_addr,
			 s->auth_user);
		return smtp_reply_set(r, 450, "4.7.1", "Error: message rate "
				      "limit exceeded, try again later");
	}
	return 0;
}

static int msa_rcpt(struct smtp_session *s, const char *rcpt,
		    struct smtp_reply *r)
{
	struct msa *m = msa_of(s);

	if (!msa_rate_rcpt_ok(m->rate, s->auth_user, s->env.nrcpt + 1,
			      evloop_now(m->loop))) {
		METRICS_COUNT(METRIC_RATE_LIMIT);
		log_warn("%s: reject: RCPT from [%s]: 452 4.7.1 recipient "
			 "rate limit of user %s", s->id, s->client_addr,
			 s->auth_user);
		smtp_reply_set(r, 452, "4.7.1", "Error: recipient rate "
			       "limit exceeded, try again later");
		msa_screen_bad_rcpt(s, r);
		return -1;
	}
	return 0;
}

static int refuse(struct smtp_session *s, struct smtp_reply *r,
		  const char *field, const char *why)
{
	log_info("%s: reject: %s: not a clean list of mailboxes: %s", s->id,
		 field, why);
	return smtp_reply_set(r, 553, "5.7.1", "%s: not a clean list of "
			      "mailboxes (%s)", field, why);
}

/* From: (one field, RFC 5322 3.6.2) and Sender: (at most one field of
 * one mailbox) must be clean mailbox lists (addrlist.h): no mailbox a
 * mail reader could show may hide from this check. Every mailbox must
 * be the user's. 0, or -1 with r. */
static int check_header_senders(struct msa *m, struct smtp_session *s,
				const struct msa_hdr *h, struct smtp_reply *r)
{
	static const char *const fields[] = {"From", "Sender"};
	struct addrlist_mailbox *mb;
	const char *val, *err;
	char safe[300];
	size_t f, k, n, off, vlen;
	int rc = 0;

	if (h->from > 1)
		return refuse(s, r, "From", "more than one From: field");
	if (h->sender > 1)
		return refuse(s, r, "Sender", "more than one Sender: field");
	mb = malloc(MSA_MAX_HDR_ADDRS * sizeof(*mb));
	if (mb == NULL)
		return smtp_reply_set(r, 451, "4.3.0", "Error: out of memory");
	for (f = 0; f < 2 && rc == 0; f++) {
		off = 0;
		if (!msa_header_field(s->msg.data, s->header_len, fields[f],
				      &off, &val, &vlen))
			continue;
		if (addrlist_parse(val, vlen, ADDRLIST_MAILBOXES, mb,
				   MSA_MAX_HDR_ADDRS, &n, &err) < 0) {
			rc = refuse(s, r, fields[f], err);
			break;
		}
		if (f == 1 && n != 1) {
			rc = refuse(s, r, fields[f], "want one mailbox");
			break;
		}
		for (k = 0; k < n && rc == 0; k++) {
			if (msa_owns(m, s->auth_user, mb[k].addr))
				continue;
			log_safe(safe, sizeof(safe), mb[k].addr);
			log_info("%s: reject: %s: <%s> not owned by user %s",
				 s->id, fields[f], safe, s->auth_user);
			rc = smtp_reply_set(r, 553, "5.7.1", "<%s>: %s: address "
					    "not owned by user %s", safe,
					    fields[f], s->auth_user);
		}
	}
	free(mb);
	return rc;
}

/* RFC 6409 8.2 and 8.3: Date and Message-ID when the client left them
 * out, appended to out. 0 or -1. */
static int add_missing(struct msa *m, struct smtp_session *s,
		       const struct msa_hdr *h, struct sbuf *out)
{
	unsigned char rnd[12];
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	if (h->message_id == 0) {
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		if (sbuf_printf(out, "Message-ID: <%lld.", (long long)now) < 0)
			return -1;
		for (i = 0; i < sizeof(rnd); i++)
			if (sbuf_printf(out, "%02x", rnd[i]) < 0)
				return -1;
		if (sbuf_printf(out, "@%s>\r\n", m->cfg->smtp.hostname) < 0)
			return -1;
		log_info("%s: Message-ID added", s->id);
	}
	if (h->date == 0) {
		localtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
		if (sbuf_printf(out, "Date: %s\r\n", date) < 0)
			return -1;
		log_info("%s: Date added", s->id);
	}
	return 0;
}

/* RFC 8601 2.7.4: how the sender authenticated, for the ARC-
 * Authentication-Results we add; the name only when it is a plain
 * token (it is the login the user typed). */
static void auth_resinfo(const struct smtp_session *s, char *out,
			 size_t outlen)
{
	const char *u = s->auth_user ? s->auth_user : "", *p;

	for (p = u; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_+@", *p))
			break;
	if (*u && *p == '\0' && p - u < 200)
		snprintf(out, outlen, ";\r\n\tauth=pass smtp.auth=%s", u);
	else
		snprintf(out, outlen, ";\r\n\tauth=pass");
}

static void msa_data(struct smtp_session *s)
{
	char resinfo[300];
	struct msa *m = msa_of(s);
	unsigned flags = SPOOL_RCVD_AUTH;
	struct smtp_reply r;
	struct msa_hdr h;
	struct sbuf pre;
	size_t n;

	spool_strip_trace(s);
	n = authres_strip(&s->msg, &s->header_len, m->arc.authserv_id);
	if (n)
		log_info("%s: removed %zu Authentication-Results field(s) "
			 "with our authserv-id from %s", s->id, n, s->auth_user);
	msa_header_scan(s->msg.data, s->header_len, &h);
	if (h.from == 0) {
		smtp_reply_set(&r, 550, "5.6.0", "Error: message has no From: "
			       "header");
		smtp_session_reply(s, &r);
		return;
	}
	if (check_header_senders(m, s, &h, &r) < 0) {
		smtp_session_reply(s, &r);
		return;
	}
	if (!m->cfg->received_client)
		flags |= SPOOL_RCVD_NO_CLIENT;
	if (!m->cfg->received_user)
		flags &= ~SPOOL_RCVD_AUTH;
	sbuf_init(&pre, 65536);
	if (spool_received_ex(s, m->cfg->smtp.hostname, flags, &pre) < 0 ||
	    add_missing(m, s, &h, &pre) < 0) {
		sbuf_free(&pre);
		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply(s, &r);
		return;
	}
	if (msa_rate_add(m->rate, s->auth_user, s->env.nrcpt,
			 evloop_now(m->loop)) < 0)
		log_warn("%s: rate table full: message not counted", s->id);
	/* remote targets of aliases: the store cannot send them out */
	if (m->cfg->smtp.directory_file[0])
		directory_refresh(&m->dir, m->cfg->smtp.directory_file);
	if (alias_expand_remote(m->dir, &s->env, s->id, LIM_RCPT_MAX) < 0) {
		sbuf_free(&pre);
		smtp_reply_set(&r, 451, "4.3.0", "Error: cannot expand "
			       "aliases");
		smtp_session_reply(s, &r);
		return;
	}
	auth_resinfo(s, resinfo, sizeof(resinfo));
	spool_arc_accept(&m->arc, &m->spool, s, pre.data, pre.len, resinfo);
	sbuf_free(&pre);
}

static void msa_close(struct smtp_session *s)
{
	spool_arc_closed(&msa_of(s)->arc, s);
	spool_closed(&msa_of(s)->spool, s);
	msa_screen_close(s);
}

const struct smtp_hooks msa_hooks = {
	.on_connect = msa_screen_connect,
	.on_violation = msa_screen_violation,
	.on_helo = msa_screen_helo,
	.on_mail = msa_mail,
	.on_rcpt = msa_rcpt,
	.on_data = msa_data,
	.on_close = msa_close,
};
