/*
 * NAME
 *	store_imap_store - STORE and UID STORE
 * DESCRIPTION
 *	RFC 3501 6.4.6: FLAGS, +FLAGS, -FLAGS with .SILENT; system flags
 *	and keywords (a folder has at most MBOX_MAX_KEYWORDS), with
 *	UNCHANGEDSINCE (RFC 7162). The flag lists and sequence sets every
 *	message command shares are in store_imap_flags.c. Faces the
 *	network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_cmd.h"
#include "store_learn.h"
#include "store_mbox.h"

/* STORE's modifier list "(UNCHANGEDSINCE n)" (RFC 7162 3.1.3) at
 * args[1], if there is one: 0 (*first: index of the item; *cond set),
 * or -1. */
static int store_modifiers(const struct imap_cmd *cmd, uint64_t *since,
			   int *cond, size_t *first)
{
	size_t end;

	*since = 0;
	*cond = 0;
	*first = 1;
	if (cmd->nargs < 2 || cmd->args[1].type != IMAP_ARG_LIST)
		return 0;
	end = imap_arg_next(cmd, 1);
	if (end != 4 || !imap_arg_is(cmd, 2, "UNCHANGEDSINCE") ||
	    cmd->args[3].type != IMAP_ARG_ATOM ||
	    imap_parse_modseq(cmd->args[3].s, 1, since) < 0)
		return -1;
	*first = end;
	*cond = 1;
	return 0;
}

/* One message's untagged FETCH after a STORE: the flags (unless
 * .SILENT), the MODSEQ with CONDSTORE when it changed (RFC 7162
 * 3.1.3: even when .SILENT). */
static void store_reply(struct imap_sess *s, const struct imap_cmd *cmd,
			uint32_t seq, int silent, int changed,
			struct sbuf *fl)
{
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	char uid[24] = "", ms[40] = "";

	if (m == NULL || (silent && !(changed && s->condstore)))
		return;
	if (cmd->uid || s->qresync)
		snprintf(uid, sizeof(uid), "UID %u ", m->uid);
	if (s->condstore)
		snprintf(ms, sizeof(ms), "%sMODSEQ (%llu)", silent ? "" : " ",
			 (unsigned long long)m->modseq);
	sbuf_reset(fl);
	if (!silent) {
		sbuf_puts(fl, "FLAGS ");
		imap_flags_out(s, seq, fl);
	}
	imap_untagged(s, "%u FETCH (%s%s%s)", seq, uid, fl->data ? fl->data :
		      "", ms);
}

void imap_cmd_store(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *set = imap_arg_str(cmd, 0), *item;
	int mode, silent, rc, cond;
	enum mbox_flag_op op;
	unsigned flags;
	uint32_t kw, kw_before, *seqs, *failed;
	size_t n, i, plen, at, nfailed = 0;
	const struct mbox_msg *m;
	uint64_t since, before;
	char err[128];
	struct sbuf fl, code;

	if (store_modifiers(cmd, &since, &cond, &at) < 0) {
		imap_bad(s, cmd->tag, "Syntax: STORE set (UNCHANGEDSINCE n) "
			 "item flags");
		return;
	}
	item = imap_arg_str(cmd, at);
	if (cmd->nargs < at + 2 || set == NULL || item == NULL ||
	    cmd->args[at].type != IMAP_ARG_ATOM) {
		imap_bad(s, cmd->tag, "Syntax: STORE set item flags");
		return;
	}
	mode = item[0] == '+' ? 1 : item[0] == '-' ? -1 : 0;
	plen = mode ? 1 : 0;
	if (strncasecmp(item + plen, "FLAGS", 5) != 0 ||
	    (item[plen + 5] != '\0' &&
	     strcasecmp(item + plen + 5, ".SILENT") != 0)) {
		imap_bad(s, cmd->tag, "Unknown STORE item");
		return;
	}
	silent = item[plen + 5] != '\0';
	op = mode > 0 ? MBOX_FLAGS_ADD : mode < 0 ? MBOX_FLAGS_REMOVE :
		MBOX_FLAGS_REPLACE;
	if (cmd->args[at + 1].type == IMAP_ARG_LIST &&
	    imap_arg_next(cmd, at + 1) != cmd->nargs) {
		imap_bad(s, cmd->tag, "Syntax: STORE set item flags");
		return;
	}
	rc = imap_flags_parse(s, cmd, at + 1, mode >= 0, &flags, &kw, err,
			      sizeof(err));
	if (rc < 0) {
		/* RFC 5530 3: LIMIT is a NO, not a protocol error */
		if (rc == -2)
			imap_no(s, cmd->tag, "%s", err);
		else
			imap_bad(s, cmd->tag, "%s", err);
		return;
	}
	if (s->readonly) {
		imap_no(s, cmd->tag, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (imap_resolve_set(s, set, cmd->uid, &seqs, &n) < 0) {
		imap_bad(s, cmd->tag, "Invalid sequence set");
		return;
	}
	if (cond)
		imap_condstore_on(s);
	failed = calloc(n ? n : 1, sizeof(*failed));
	if (failed == NULL) {
		free(seqs);
		imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	/* a keyword this STORE made is announced before it is shown */
	imap_keywords_announce(s);
	sbuf_init(&fl, 65536);
	for (i = 0; i < n; i++) {
		/* read-modify-write on the folder as it is now, not on
		 * this session's view of it (another session may have
		 * changed the flags since we last looked) */
		m = mbox_get(s->mbox, seqs[i]);
		before = m ? m->modseq : 0;
		kw_before = m ? m->keywords : 0;
		/* UNCHANGEDSINCE 0 fails for every message (modseqs
		 * start at 1) */
		rc = cond && since == 0 ? -2 :
			mbox_update_flags_if(s->mbox, seqs[i], op, flags, kw,
					     since);
		if (rc == -2 && m)
			failed[nfailed++] = cmd->uid ? m->uid : seqs[i];
		if (rc < 0)
			continue;
		m = mbox_get(s->mbox, seqs[i]);
		store_reply(s, cmd, seqs[i], silent, m && m->modseq != before,
			    &fl);
		store_learn_flags(s, seqs[i], kw_before); /* $Junk: spamd */
	}
	/* the new mod-sequences are durable before anyone sees them */
	mbox_commit(s->mbox);
	sbuf_free(&fl);
	free(seqs);
	sbuf_init(&code, (size_t)-1 / 4);
	if (nfailed) {
		sbuf_puts(&code, "[MODIFIED ");
		imap_set_write(&code, failed, nfailed);
		sbuf_puts(&code, "] ");
	}
	free(failed);
	imap_ok(s, cmd->tag, "%s%sSTORE completed", code.data ? code.data :
		"", cmd->uid ? "UID " : "");
	sbuf_free(&code);
}
