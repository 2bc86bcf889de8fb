/*
 * NAME
 *	mx_grey - stage A's MAIL and RCPT defences
 * DESCRIPTION
 *	MAIL: sender_block (554 5.7.1), sender_allow (no greylisting), the
 *	rate of messages per sender address (450 4.7.1; the null sender is
 *	not counted: bounces come from everywhere; nor are allowed clients,
 *	our own networks). RCPT, in this order:
 *	a spam trap (the client goes on the trap list; the trap answers
 *	as an unknown user would), a client held by a trap (554 5.7.1),
 *	mx_smtp.c's relay and directory checks, the bad-recipient throttle
 *	(unknown users past bad_rcpt_delay_after are answered late; the
 *	one that makes bad_rcpt_disconnect ends the session, 421 4.7.0),
 *	then greylisting of the (client /24 or /64, sender, recipient)
 *	triplet, skipped for allowed clients and senders. With
 *	redis_server the triplets are in Redis (greylist_share.h): the RCPT
 *	is held (SMTP_HOOK_LATER) until its answer comes, then runs again
 *	and takes it. Faces the network through the hooks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evloop.h"
#include "greylist.h"
#include "greylist_share.h"
#include "limits_rfc.h"
#include "log.h"
#include "mx.h"
#include "netmatch.h"
#include "ratemap.h"
#include "smtp_guard.h"

int mx_screen_mail(struct smtp_session *s, struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	const struct mx_screen_config *c = &mx->cfg->screen;
	struct mx_screen_sess *ss = s->screen;
	const char *from = s->env.from;
	char key[300];
	size_t i;

	if (ss == NULL)
		return 0;
	ss->sender_allowed = from[0] && mx_addr_listed(mx->screen.sender_allow,
						       from);
	if (from[0] && mx_addr_listed(mx->screen.sender_block, from)) {
		mx_counters.sender_blocked++;
		return mx_reject(s, "MAIL", NULL, r, 554, "5.7.1", "<%s>: "
				 "Sender address rejected: Access denied",
				 from);
	}
	if (c->sender_rate_limit <= 0 || from[0] == '\0' || ss->allowed)
		return 0;
	for (i = 0; from[i] && i + 1 < sizeof(key); i++)
		key[i] = (char)(from[i] >= 'A' && from[i] <= 'Z' ?
				from[i] + 32 : from[i]);
	key[i] = '\0';
	mx_share_sender(mx, key);
	if (ratemap_hit(mx->screen.senders, key, evloop_now(mx->loop),
			(uint64_t)c->sender_rate_window * 1000) >
	    c->sender_rate_limit) {
		mx_counters.sender_rate++;
		return mx_reject(s, "MAIL", NULL, r, 450, "4.7.1", "<%s>: "
				 "Sender address rejected: too many messages "
				 "from this sender, try again later", from);
	}
	return 0;
}

/* Non-zero when the sender passed SPF, which (as in the paper's
 * deployment) skips greylisting. */
static int spf_passed(struct smtp_session *s)
{
	return mx_auth_spf_pass(mx_screen_mx(s), s);
}

/* A shared verdict on its way to a held RCPT. */
struct mx_grey_wait {
	struct smtp_session *s;	/* NULL once the session went */
	int done;
	enum grey_verdict v;
	uint64_t wait;
	char rcpt[LIM_PATH + 1];
};

static void grey_answered(void *arg, enum grey_verdict v, uint64_t wait)
{
	struct mx_grey_wait *w = arg;

	if (w->s == NULL) {
		free(w);
		return;
	}
	w->done = 1;
	w->v = v;
	w->wait = wait;
	smtp_session_resume(w->s);
}

void mx_grey_detach(struct smtp_session *s)
{
	struct mx_screen_sess *ss = s->screen;
	struct mx_grey_wait *w = ss ? ss->grey_wait : NULL;

	if (w == NULL)
		return;
	ss->grey_wait = NULL;
	if (w->done)
		free(w);
	else
		w->s = NULL;	/* grey_answered frees it */
}

/* The verdict: from Redis when shared (1: the RCPT waits for it), else
 * from the local store. */
static int grey_verdict(struct smtp_session *s, const char *net,
			const char *rcpt, enum grey_verdict *v,
			uint64_t *wait)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;
	struct mx_grey_wait *w = ss->grey_wait;

	if (w != NULL && w->done) {
		/* the held RCPT again: its answer */
		ss->grey_wait = NULL;
		if (strcmp(w->rcpt, rcpt) == 0) {
			*v = w->v;
			*wait = w->wait;
			free(w);
			return 0;
		}
		free(w);
	} else if (w != NULL) {
		return 1;	/* resumed before the answer: keep waiting */
	}
	if (mx->screen.grey_share == NULL || strlen(rcpt) > LIM_PATH ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		*v = greylist_check(mx->screen.grey, net, s->env.from, rcpt,
				    mx_wall_ms(), wait);
		return 0;
	}
	w->s = s;
	memcpy(w->rcpt, rcpt, strlen(rcpt) + 1);
	if (greylist_share_check(mx->screen.grey_share, net, s->env.from,
				 rcpt, mx_wall_ms(), v, wait, grey_answered,
				 w) == 0) {
		free(w);
		return 0;
	}
	ss->grey_wait = w;
	return 1;
}

static int greylisted(struct smtp_session *s, const char *rcpt,
		      struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;
	enum grey_verdict v;
	char net[80];
	uint64_t wait;

	if (mx->screen.grey == NULL)
		return 0;
	if (ss->allowed || ss->sender_allowed || spf_passed(s)) {
		mx_counters.greylist_skipped++;
		return 0;
	}
	netmatch_prefix(s->client_addr, 24, 64, net, sizeof(net));
	if (grey_verdict(s, net, rcpt, &v, &wait) == 1)
		return SMTP_HOOK_LATER;
	switch (v) {
	case GREY_PASS:
		return 0;
	case GREY_PASS_NOW:
		mx_counters.greylist_passed++;
		log_info("%s: greylist passed: client=[%s], from=<%s>, "
			 "to=<%s>", s->id, s->client_addr, s->env.from, rcpt);
		return 0;
	case GREY_ERROR:
		mx_counters.greylist_errors++;
		log_warn("%s: greylist store failed: accepted", s->id);
		return 0;
	case GREY_DEFER:
	default:
		mx_counters.greylist_deferred++;
		return mx_reject(s, "RCPT", rcpt, r, 451, "4.7.1", "<%s>: "
				 "Recipient address rejected: Greylisted, "
				 "try again in %llu seconds", rcpt,
				 (unsigned long long)(wait + 999) / 1000);
	}
}

/* After an unknown recipient: slow down, or end the session. */
static void throttle(struct smtp_session *s, struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	const struct smtp_guard_config *c = &mx->cfg->smtp.guard;
	struct mx_screen_sess *ss = s->screen;

	switch (smtp_guard_bad_rcpt(&ss->bad_rcpts, c->bad_rcpt_delay_after,
				    c->bad_rcpt_disconnect)) {
	case SMTP_GUARD_DISCONNECT:
		mx_counters.bad_rcpt_disconnect++;
		mx_reject(s, "RCPT", NULL, r, 421, "4.7.0", "%s Error: too "
			  "many unknown recipients", mx->cfg->smtp.hostname);
		break;
	case SMTP_GUARD_DELAY:
		mx_counters.bad_rcpt_delayed++;
		s->reply_delay_ms = c->bad_rcpt_delay_ms;
		break;
	}
}

int mx_screen_rcpt(struct smtp_session *s, const char *rcpt,
		   struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	const struct mx_screen_config *c = &mx->cfg->screen;
	struct mx_screen_sess *ss = s->screen;
	uint64_t now = evloop_now(mx->loop);
	int rc;

	if (ss == NULL)
		return mx_rcpt(s, rcpt, r);
	if (mx_addr_listed(mx->screen.spam_traps, rcpt) && strchr(rcpt, '@')) {
		mx_counters.trap_hits++;
		log_warn("%s: spam trap <%s> mailed by [%s]: blocked for %llds",
			 s->id, rcpt, s->client_addr, c->spam_trap_block_time);
		if (!ss->allowed) {
			ratemap_hold(mx->screen.trapped, s->client_addr, now +
				     (uint64_t)c->spam_trap_block_time * 1000);
			mx_share_trap(mx, s->client_addr,
				      c->spam_trap_block_time);
		}
		return mx_reject(s, "RCPT", rcpt, r, 550, "5.1.1", "<%s>: "
				 "Recipient address rejected: User unknown",
				 rcpt);
	}
	if (ratemap_held(mx->screen.trapped, s->client_addr, now)) {
		mx_counters.trap_blocked++;
		return mx_reject(s, "RCPT", rcpt, r, 554, "5.7.1", "Client "
				 "host [%s] blocked: mail to a spam trap",
				 s->client_addr);
	}
	rc = mx_rcpt(s, rcpt, r);
	if (rc < 0) {
		if (r->code == 550 && strcmp(r->ecode, "5.1.1") == 0)
			throttle(s, r);
		return -1;
	}
	if (rc == SMTP_HOOK_LATER)
		return rc;	/* SPF still running: the RCPT comes again */
	return greylisted(s, rcpt, r);
}
