/*
 * NAME
 *	store_lmtp - the LMTP hooks of the store (RFC 2033)
 * DESCRIPTION
 *	RCPT is checked against the user table (550 5.1.1 for an unknown
 *	user, that recipient alone); at end of data every accepted recipient
 *	is expanded (aliases) and staged into its Maildirs; the turn-end
 *	hook hands the whole batch to the commit thread and, when it is
 *	durable, gives each recipient its own reply, in order. A shared
 *	address is delivered to no one: its sender is told the official
 *	addresses (store_notice.c), or, without a next_hop for that
 *	notice, RCPT refuses it naming them. Messages that arrive meanwhile
 *	fill the next batch (pipelined group commit, gcommit.c: the loop
 *	never waits for the disk). Faces the inner network (mx and later
 *	stages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "limits_rfc.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "store_mbox.h"
#include "tracehdr.h"
#include "traffic.h"

#define STORE_MAX_EXPAND 64
#define H_QUOTA (-2)	/* a handle that stands for "over quota" */

struct store_sess {
	struct smtp_session *s;
	struct store_sess *next;
	long *handles;		/* per recipient: first handle index */
	size_t *counts;		/* per recipient: how many handles */
	long *all;		/* the handles, flat */
	signed char *shared;	/* per recipient: 1 shared, -1 shared and
				 * its notice failed, 0 not shared */
	size_t nall;
	struct timeval start;
};

static struct store *store_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

/* No notice path: RCPT refused, the reply names the official addresses
 * (the previous stage's bounce carries them to the sender). */
static int refuse_shared(struct store *st, struct smtp_session *s,
			 const char *addr, const char *safe,
			 struct smtp_reply *r)
{
	const char *addrs[8];
	char list[LIM_REPLY_LINE / 2];
	size_t i, n, len = 0;

	n = directory_shared(st->users, addr, addrs, 8);
	list[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(list + len, sizeof(list) - len, "%s%s",
				 i ? ", " : "", addrs[i]);

		if (w < 0 || (size_t)w >= sizeof(list) - len) {
			list[len] = '\0';
			break;
		}
		len += (size_t)w;
	}
	log_info("%s: reject: RCPT <%s>: 550 5.1.1 shared address", s->id,
		 safe);
	return smtp_reply_set(r, 550, "5.1.1", "<%s>: address shared by "
			      "several people; write to one of: %s", safe,
			      list);
}

static int store_rcpt(struct smtp_session *s, const char *addr,
		      struct smtp_reply *r)
{
	struct store *st = store_of(s);
	char safe[300];

	directory_refresh(&st->users, st->cfg->directory_file);
	log_safe(safe, sizeof(safe), addr);
	switch (directory_lookup(st->users, addr)) {
	case DIR_MAILBOX:
	case DIR_ALIAS:
		return 0;
	case DIR_SHARED:
		if (st->notices.q)
			return 0;
		return refuse_shared(st, s, addr, safe, r);
	case DIR_DISABLED:
		log_info("%s: reject: RCPT <%s>: 550 5.2.1 mailbox disabled",
			 s->id, safe);
		return smtp_reply_set(r, 550, "5.2.1", "<%s>: mailbox "
				      "disabled", safe);
	default:
		break;
	}
	log_info("%s: reject: RCPT <%s>: 550 5.1.1 user unknown", s->id, safe);
	METRICS_COUNT(METRIC_UNKNOWN_RCPT);
	return smtp_reply_set(r, 550, "5.1.1", "<%s>: Recipient address "
			      "rejected: User unknown in local recipient table",
			      safe);
}

static void sess_free(struct store_sess *ss)
{
	free(ss->handles);
	free(ss->counts);
	free(ss->all);
	free(ss->shared);
	free(ss);
}

static void store_data(struct smtp_session *s)
{
	struct store *st = store_of(s);
	struct store_sess *ss = calloc(1, sizeof(*ss));
	const char *boxes[STORE_MAX_EXPAND];
	struct sbuf prefix;
	size_t i, k, nb;
	const char *folder = NULL;
	long h;

	if (ss == NULL)
		log_fatal("out of memory");
	ss->s = s;
	gettimeofday(&ss->start, NULL);
	ss->handles = calloc(s->env.nrcpt, sizeof(long));
	ss->counts = calloc(s->env.nrcpt, sizeof(size_t));
	ss->all = calloc(s->env.nrcpt * STORE_MAX_EXPAND, sizeof(long));
	ss->shared = calloc(s->env.nrcpt, 1);
	if (!ss->handles || !ss->counts || !ss->all || !ss->shared)
		log_fatal("out of memory");
	sbuf_init(&prefix, 4096);
	/* spamd's verdict (mx and msa strip forged ones) */
	if (st->cfg->spam_folder[0] &&
	    (tracehdr_spam(s->msg.data, s->header_len) ||
	     tracehdr_junk(s->msg.data, s->header_len))) {
		folder = st->cfg->spam_folder;
		log_info("%s: spam: filed into %s", s->id, folder);
	}
	for (i = 0; i < s->env.nrcpt; i++) {
		ss->handles[i] = (long)ss->nall;
		if (st->notices.q && directory_lookup(st->users,
				s->env.rcpts[i].addr) == DIR_SHARED) {
			ss->shared[i] = store_notice_shared(st, s,
				s->env.rcpts[i].addr) < 0 ? -1 : 1;
			continue;
		}
		nb = directory_expand(st->users, s->env.rcpts[i].addr, boxes,
				  STORE_MAX_EXPAND);
		for (k = 0; k < nb; k++) {
			sbuf_reset(&prefix);
			sbuf_printf(&prefix, "Return-Path: <%s>\r\n"
				    "Delivered-To: %s\r\n", s->env.from,
				    boxes[k]);
			if (store_quota_check(st, boxes[k], (long long)
					      (prefix.len + s->msg.len))) {
				log_info("%s: to=<%s>: mailbox %s over quota",
					 s->id, s->env.rcpts[i].addr, boxes[k]);
				ss->all[ss->nall++] = H_QUOTA;
				continue;
			}
			h = maildir_stage(st->batch, boxes[k], folder,
					  prefix.data, prefix.len, s->msg.data ?
					  s->msg.data : "", s->msg.len);
			ss->all[ss->nall++] = h;
		}
		ss->counts[i] = nb;
	}
	sbuf_free(&prefix);
	s->ctx = ss;
	ss->next = st->pending;
	st->pending = ss;
}

static void store_close(struct smtp_session *s)
{
	struct store *st = store_of(s);
	struct store_sess **lists[] = {&st->pending, &st->syncing};
	struct store_sess **pp, *ss = s->ctx;
	size_t i;

	if (ss == NULL)
		return;
	for (i = 0; i < 2; i++)
		for (pp = lists[i]; *pp; pp = &(*pp)->next)
			if (*pp == ss) {
				*pp = ss->next;
				break;
			}
	sess_free(ss);
	s->ctx = NULL;
}

/* A message answered after delay seconds (metrics). */
static void store_count_message(double delay)
{
	static struct metric *lat;

	if (lat == NULL)
		lat = metrics_histogram("sluice_delivery_seconds", NULL,
					"from end of data to the answer",
					metrics_seconds, metrics_seconds_n);
	metrics_observe(lat, delay);
	METRICS_COUNT(METRIC_MESSAGES_IN);
}

static void answer(struct store *st, struct maildir_batch *b,
		   struct store_sess *ss)
{
	struct smtp_session *s = ss->s;
	struct smtp_reply r;
	struct timeval now;
	size_t i, k;
	int ok, quota;
	double delay;

	gettimeofday(&now, NULL);
	delay = (double)(now.tv_sec - ss->start.tv_sec) +
		(double)(now.tv_usec - ss->start.tv_usec) / 1e6;
	s->ctx = NULL;
	if (s->env.nrcpt > 0)
		store_count_message(delay);
	for (i = 0; i < s->env.nrcpt; i++) {
		/* over quota only when every mailbox behind the address
		 * is full; a full member of a list is skipped (logged) */
		ok = ss->counts[i] > 0;
		quota = ok;
		for (k = 0; k < ss->counts[i]; k++) {
			long h = ss->all[ss->handles[i] + (long)k];

			if (h == H_QUOTA)
				continue;
			quota = 0;
			ok &= maildir_ok(b, h);
		}
		if (ss->shared[i] > 0) {
			log_info("%s: to=<%s>, relay=local, delay=%.3f, "
				 "status=sent (shared address: delivered to no "
				 "one)", s->id, s->env.rcpts[i].addr, delay);
			smtp_reply_set(&r, 250, "2.0.0", "<%s> shared address: "
				       "the sender is told its official "
				       "addresses", s->env.rcpts[i].addr);
		} else if (ss->shared[i] < 0) {
			smtp_reply_set(&r, 451, "4.3.0", "<%s> shared address: "
				       "cannot send the notice now",
				       s->env.rcpts[i].addr);
		} else if (quota) {
			int perm = st->cfg->quota_permanent;

			log_info("%s: to=<%s>, relay=local, delay=%.3f, "
				 "status=%s (mailbox full)", s->id,
				 s->env.rcpts[i].addr, delay,
				 perm ? "bounced" : "deferred");
			smtp_reply_set(&r, perm ? 552 : 452, perm ? "5.2.2"
				       : "4.2.2", "<%s> mailbox full",
				       s->env.rcpts[i].addr);
		} else if (ok) {
			log_info("%s: to=<%s>, relay=local, delay=%.3f, "
				 "status=sent (delivered to %s)", s->id,
				 s->env.rcpts[i].addr, delay,
				 mbox_is_db(st->mbox) ? "database" : "maildir");
			smtp_reply_set(&r, 250, "2.0.0", "<%s> delivered",
				       s->env.rcpts[i].addr);
		} else {
			log_info("%s: to=<%s>, relay=local, delay=%.3f, "
				 "status=deferred (maildir write failed)",
				 s->id, s->env.rcpts[i].addr, delay);
			smtp_reply_set(&r, 451, "4.3.0", "<%s> temporary "
				       "failure writing the mailbox",
				       s->env.rcpts[i].addr);
		}
		/* the last reply resets the transaction: keep i valid */
		if (i + 1 == s->env.nrcpt) {
			smtp_session_reply(s, &r);
			break;
		}
		smtp_session_reply(s, &r);
	}
	sess_free(ss);
}

/* Count what was delivered against the quotas and in the statistics
 * (per domain and mailbox), and wake the IMAP sessions of each mailbox
 * (IDLE). */
static void wake(struct store *st, struct maildir_batch *b,
		 struct store_sess *ss)
{
	const char *box, *folder;
	long long size;
	size_t i;

	for (i = 0; i < ss->nall; i++) {
		box = maildir_mailbox(b, ss->all[i], &size, &folder);
		if (box == NULL)
			continue;
		mbox_usage_add(st->mbox, box, size);
		mbox_changed(st->mbox, box, folder);
		traffic_count(box, (unsigned long long)size, 1);
	}
}

static int commit_want(void *arg)
{
	struct store *st = arg;

	return st->pending != NULL;
}

/* The batch: every message staged so far; the next fills the spare. */
static int commit_prepare(void *arg)
{
	struct store *st = arg;

	st->committing = st->batch;
	st->syncing = st->pending;
	st->batch = st->spare;
	st->pending = NULL;
	st->spare = NULL;
	return 0;
}

static void commit_work(void *arg)
{
	struct store *st = arg;

	st->commit_rc = maildir_commit(st->committing);
}

static void commit_done(void *arg)
{
	struct store *st = arg;
	struct maildir_batch *b = st->committing;
	struct store_sess *ss, *next;

	for (ss = st->syncing, st->syncing = NULL; ss; ss = next) {
		next = ss->next;
		wake(st, b, ss);
		answer(st, b, ss);
	}
	maildir_reset(b);
	st->spare = b;
	st->committing = NULL;
}

static const struct gcommit_ops store_gcommit = {
	.want = commit_want,
	.prepare = commit_prepare,
	.sync = commit_work,
	.done = commit_done,
};

void store_commit(void *arg)
{
	struct store *st = arg;

	/* stopping: staged files stay in tmp/, unanswered */
	gcommit_kick(&st->gc);
}

void store_syncer_start(struct store *st, struct evloop *loop)
{
	st->spare = maildir_batch_new(st->cfg->mail_root, st->cfg->hostname,
				      st->mbox);
	gcommit_start(&st->gc, loop, &store_gcommit, st, "Maildir commit");
}

void store_syncer_stop(struct store *st)
{
	gcommit_stop(&st->gc);
	maildir_batch_free(st->spare);
	st->spare = NULL;
}

const struct smtp_hooks store_hooks = {
	.on_rcpt = store_rcpt,
	.on_data = store_data,
	.on_close = store_close,
};
