/*
 * NAME
 *	store_imap_commit - IMAP replies that wait for the group commit
 * SUMMARY
 *	imap_commit_start(), imap_commit_stop(), imap_commit_begin(),
 *	imap_commit_end(), imap_commit_forget()
 * DESCRIPTION
 *	A command runs with the folder store's syncs deferred
 *	(mbox_defer_sync): STORE, APPEND, COPY, MOVE, EXPUNGE and the UID
 *	list writes they cause rename and write on the loop with no fsync.
 *	When the command changed anything, what it answered (from the mark
 *	taken before it ran, the tagged line included) is held and the
 *	session reads no further command; at the end of the loop turn the
 *	group commit (gcommit.c) takes every session waiting as one batch,
 *	one syncfs(2) of mail_root on the commit thread makes all their
 *	files, folders and lists durable, and only then are their answers
 *	sent. Sessions that changed nothing are served meanwhile. A
 *	failed sync answers nothing it held: the session gets BYE.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"

/* Unlink s from the list at *head; 1 when it was there. */
static int unlink_from(struct imap_sess **head, struct imap_sess *s)
{
	for (; *head; head = &(*head)->commit_next)
		if (*head == s) {
			*head = s->commit_next;
			s->commit_next = NULL;
			return 1;
		}
	return 0;
}

static int commit_want(void *arg)
{
	struct imap_server *srv = arg;

	/* waiting answers, or writes nobody waits for (a FETCH that
	 * set \Seen while it streams) */
	return srv->waiting != NULL ||
	       mbox_unsynced(srv->st->mbox) != srv->durable_gen;
}

static int commit_prepare(void *arg)
{
	struct imap_server *srv = arg;

	srv->syncing = srv->waiting;
	srv->waiting = NULL;
	srv->syncing_gen = mbox_unsynced(srv->st->mbox);
	return 0;
}

/* commit thread: reads only rootfd and writes only sync_errno */
static void commit_sync(void *arg)
{
	struct imap_server *srv = arg;

	srv->sync_errno = syncfs(srv->rootfd) < 0 ? errno : 0;
}

static void release(struct imap_sess *s, int err)
{
	if (err == 0) {
		if (s->held.len > 0)
			conn_write(s->c, s->held.data, s->held.len);
		sbuf_reset(&s->held);
		imap_resume(s);
		/* an IDLE held for its "+" goes on idling, told of what
		 * changed meanwhile (its wake-ups were ignored) */
		if (s->state != IMAP_LOGOUT)
			s->mode = s->commit_mode;
		if (s->mode == IMAP_MODE_IDLE)
			imap_sync(s);
	} else {
		sbuf_reset(&s->held);
		imap_untagged(s, "BYE [UNAVAILABLE] Cannot make the change "
			      "durable");
		imap_hangup(s);
	}
	conn_flush(s->c);
}

static void commit_done(void *arg)
{
	struct imap_server *srv = arg;
	struct imap_sess *s;

	if (srv->sync_errno)
		log_error("imap commit: syncfs %s: %s", srv->st->cfg->mail_root,
			  strerror(srv->sync_errno));
	else
		srv->durable_gen = srv->syncing_gen;
	while ((s = srv->syncing) != NULL) {
		srv->syncing = s->commit_next;
		s->commit_next = NULL;
		release(s, srv->sync_errno);
	}
}

static const struct gcommit_ops imap_gcommit = {
	.want = commit_want,
	.prepare = commit_prepare,
	.sync = commit_sync,
	.done = commit_done,
};

static void commit_kick(void *arg)
{
	struct imap_server *srv = arg;

	gcommit_kick(&srv->gc);
}

void imap_commit_start(struct imap_server *srv)
{
	const char *root = srv->st->cfg->mail_root;

	srv->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv->rootfd < 0)
		log_fatal("imap commit: %s: %s", root, strerror(errno));
	gcommit_start(&srv->gc, srv->loop, &imap_gcommit, srv, "IMAP commit");
	if (evloop_on_turn_end(srv->loop, commit_kick, srv) < 0)
		log_fatal("imap commit: cannot set up the event loop");
}

void imap_commit_stop(struct imap_server *srv)
{
	/* a running sync answers its batch; the waiting get nothing */
	gcommit_stop(&srv->gc);
	if (srv->rootfd >= 0)
		close(srv->rootfd);
	srv->rootfd = -1;
}

void imap_commit_begin(struct imap_sess *s, struct imap_commit_mark *m)
{
	struct mbox_store *mb = imap_store(s)->mbox;

	m->gen = mbox_unsynced(mb);
	m->out = s->c->out.len;
	mbox_defer_sync(mb, 1);
}

void imap_commit_end(struct imap_sess *s, const struct imap_commit_mark *m)
{
	struct mbox_store *mb = imap_store(s)->mbox;
	struct sbuf *out = &s->c->out;
	size_t from;

	mbox_defer_sync(mb, 0);
	/* a FETCH that streams, or a session already waiting for
	 * something else: the writes are synced by the next commit, the
	 * reply does not wait for it */
	if (mbox_unsynced(mb) == m->gen || s->fetch != NULL ||
	    s->state == IMAP_LOGOUT || s->mode == IMAP_MODE_WAIT)
		return;
	/* output sent meanwhile (a FETCH that streamed) moved the mark:
	 * hold all that is left, the tagged line is in it */
	from = out->len >= m->out ? m->out : 0;
	if (sbuf_append(&s->held, out->data + from, out->len - from) < 0) {
		imap_hangup(s);
		return;
	}
	out->len = from;
	if (out->data)
		out->data[from] = '\0';
	s->commit_mode = s->mode;
	imap_wait(s);
	s->commit_next = s->srv->waiting;
	s->srv->waiting = s;
}

void imap_commit_forget(struct imap_sess *s)
{
	if (!unlink_from(&s->srv->waiting, s))
		unlink_from(&s->srv->syncing, s);
	sbuf_free(&s->held);
}
