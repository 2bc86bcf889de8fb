/*
 * NAME
 *	store_imap_copy - COPY MOVE EXPUNGE CLOSE (and their UID forms)
 * DESCRIPTION
 *	RFC 3501 6.4.2, 6.4.3, 6.4.7 and 6.4.8; UIDPLUS (RFC 4315: COPYUID,
 *	UID EXPUNGE) and MOVE (RFC 6851). Copies of one command become
 *	durable together (mbox_copy_commit); MOVE copies, commits, then
 *	expunges the originals, reporting each EXPUNGE. A COPY that would
 *	go over the user's quota is refused whole. Expunges run from
 *	the highest sequence number down so the numbers sent stay right.
 *	Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_imap_cmd.h"
#include "store_learn.h"
#include "store_mbox.h"

/* Expunge seq from the view and report it (EXPUNGE, or VANISHED once
 * QRESYNC is on). */
static void expunge_one(struct imap_sess *s, uint32_t seq)
{
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	uint32_t uid = m ? m->uid : 0;

	if (mbox_expunge(s->mbox, seq) == 0)
		imap_expunged(s, seq, uid);
}

/* Would copies of these messages put the user over quota? (MOVE
 * frees what it takes, so only COPY asks.) */
static int over_quota(struct imap_sess *s, const uint32_t *seqs, size_t n)
{
	const struct mbox_msg *m;
	long long total = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if ((m = mbox_get(s->mbox, seqs[i])) != NULL)
			total += m->size;
	if (store_quota_check(imap_store(s), s->user, total) <= 0)
		return 0;
	log_info("%s: copy refused: user=%s over quota", s->id, s->user);
	return 1;
}

void imap_cmd_copy(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *set = imap_arg_str(cmd, 0), *dest = imap_arg_str(cmd, 1);
	int move = strcmp(cmd->name, "MOVE") == 0, rc = 0;
	uint32_t *seqs = NULL, *src = NULL, *dst = NULL, uv = 0;
	size_t n = 0, i, done = 0;
	const struct mbox_msg *m;
	struct sbuf code;

	if (cmd->nargs != 2 || set == NULL || dest == NULL ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, cmd->tag, "Syntax: %s set mailbox", cmd->name);
		return;
	}
	if (imap_resolve_set(s, set, cmd->uid, &seqs, &n) < 0) {
		imap_bad(s, cmd->tag, "Invalid sequence set");
		return;
	}
	if (move && s->readonly) {
		free(seqs);
		imap_no(s, cmd->tag, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (!move && over_quota(s, seqs, n)) {
		free(seqs);
		imap_no(s, cmd->tag, "[OVERQUOTA] Quota exceeded");
		return;
	}
	src = calloc(n + 1, sizeof(*src));
	dst = calloc(n + 1, sizeof(*dst));
	if (src == NULL || dst == NULL)
		rc = -1;
	for (i = 0; i < n && rc == 0; i++) {
		m = mbox_get(s->mbox, seqs[i]);
		if (m == NULL)
			continue;
		src[done] = m->uid;
		rc = mbox_copy(s->mbox, seqs[i], dest, &uv, &dst[done]);
		if (rc == 0)
			done++;
	}
	if (done && mbox_copy_commit(s->mbox) < 0)
		rc = -1;
	if (rc == -2) {
		imap_no(s, cmd->tag, "[TRYCREATE] No such mailbox");
	} else if (rc < 0) {
		imap_no(s, cmd->tag, "%s failed", cmd->name);
	} else {
		sbuf_init(&code, (size_t)-1 / 4);
		if (done) {
			sbuf_printf(&code, "[COPYUID %u ", uv);
			imap_set_write(&code, src, done);
			sbuf_puts(&code, " ");
			imap_set_write(&code, dst, done);
			sbuf_puts(&code, "] ");
		}
		if (done)	/* into or out of Junk: spamd learns */
			store_learn_copy(s, seqs, n, dest);
		if (move) {
			/* RFC 6851 4.3: COPYUID untagged, then EXPUNGEs;
			 * resp-text needs text after the code */
			if (done)
				imap_untagged(s, "OK %sMoved", code.data);
			for (i = n; i > 0; i--)
				expunge_one(s, seqs[i - 1]);
			imap_ok(s, cmd->tag, "%sMOVE completed",
				cmd->uid ? "UID " : "");
		} else {
			imap_ok(s, cmd->tag, "%s%sCOPY completed",
				code.data ? code.data : "",
				cmd->uid ? "UID " : "");
		}
		sbuf_free(&code);
	}
	free(src);
	free(dst);
	free(seqs);
}

/* Remove every \Deleted message (only those in set when given). */
static void expunge_deleted(struct imap_sess *s, const uint32_t *seqs,
			    size_t n, int report)
{
	uint32_t seq;
	const struct mbox_msg *m;
	size_t k = n;

	for (seq = mbox_count(s->mbox); seq > 0; seq--) {
		if (seqs) {
			while (k > 0 && seqs[k - 1] > seq)
				k--;
			if (k == 0 || seqs[k - 1] != seq)
				continue;
		}
		m = mbox_get(s->mbox, seq);
		if (m == NULL || !(m->flags & MBOX_DELETED))
			continue;
		if (report)
			expunge_one(s, seq);
		else
			mbox_expunge(s->mbox, seq);
	}
}

void imap_cmd_expunge(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *set = imap_arg_str(cmd, 0);
	uint32_t *seqs = NULL;
	size_t n = 0;

	if (cmd->nargs != (cmd->uid ? 1u : 0u) ||
	    (cmd->uid && (set == NULL || cmd->args[0].type !=
			  IMAP_ARG_ATOM))) {
		imap_bad(s, cmd->tag, cmd->uid ? "Syntax: UID EXPUNGE set"
			 : "EXPUNGE takes no arguments");
		return;
	}
	if (s->readonly) {
		imap_no(s, cmd->tag, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	/* RFC 3501 6.4.3: what is \Deleted in the folder now, also by
	 * another session since this one last looked: catch up first */
	imap_sync(s);
	if (cmd->uid && imap_resolve_set(s, set, 1, &seqs, &n) < 0) {
		imap_bad(s, cmd->tag, "Invalid sequence set");
		return;
	}
	if (!cmd->uid || n > 0)
		expunge_deleted(s, seqs, n, 1);
	free(seqs);
	if (s->qresync) {
		/* RFC 7162 3.2.10: where the client stands after it */
		imap_vanished_flush(s);
		imap_sync(s);
		imap_ok(s, cmd->tag, "[HIGHESTMODSEQ %llu] %sEXPUNGE completed",
			(unsigned long long)mbox_highestmodseq(s->mbox),
			cmd->uid ? "UID " : "");
		return;
	}
	imap_ok(s, cmd->tag, "%sEXPUNGE completed", cmd->uid ? "UID " : "");
}

void imap_cmd_close(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "CLOSE takes no arguments");
		return;
	}
	/* RFC 3501 6.4.2: expunge silently, unless read-only; the flags
	 * another session set count too, so the view catches up quietly */
	if (!s->readonly) {
		mbox_sync(s->mbox, NULL, NULL);
		expunge_deleted(s, NULL, 0, 0);
	}
	imap_set_state(s, IMAP_AUTH);
	imap_ok(s, cmd->tag, "CLOSE completed");
}
