/*
 * NAME
 *	store_imap_append - APPEND (RFC 3501 6.3.11, UIDPLUS) and IDLE
 *	(RFC 2177)
 * DESCRIPTION
 *	APPEND takes the message as one literal, bounded by the store's
 *	max_message_size (the parser refuses a larger one before the client
 *	sends it), checks the user's quota (NO [OVERQUOTA]), stores it
 *	durably and answers [APPENDUID]. System flags and keywords are
 *	kept (keywords defined in the target folder as needed). IDLE waits for DONE while the selected
 *	folder's watcher (mbox_watch; LMTP delivery and other sessions wake
 *	it) sends what changed as it happens. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store.h"
#include "store_imap.h"
#include "store_mbox.h"

void imap_cmd_append(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct store *st = imap_store(s);
	const char *name = imap_arg_str(cmd, 0);
	const struct imap_arg *msg;
	unsigned flags = 0;
	uint32_t kw, uv, uid;
	const char *kws[MBOX_MAX_KEYWORDS];
	size_t nkws = 0, k;
	time_t date = 0;
	size_t i = 1;
	char err[256] = "";
	int rc;

	if (cmd->nargs < 2 || name == NULL)
		goto syntax;
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(s, cmd, i, -1, &flags, &kw, err,
				     sizeof(err)) < 0) {
			imap_bad(s, cmd->tag, "%s", err);
			return;
		}
		/* the keywords by name: the target is not the selected
		 * folder (imap_flags_parse checked their syntax) */
		for (k = i + 1; k < imap_arg_next(cmd, i); k++) {
			if (cmd->args[k].s[0] == '\\')
				continue;
			if (nkws == MBOX_MAX_KEYWORDS) {
				imap_no(s, cmd->tag, "[LIMIT] Too many "
					"keywords");
				return;
			}
			kws[nkws++] = cmd->args[k].s;
		}
		i = imap_arg_next(cmd, i);
	}
	if (i < cmd->nargs && cmd->args[i].type == IMAP_ARG_QUOTED) {
		date = imap_parse_datetime(cmd->args[i].s);
		if (date == (time_t)-1) {
			imap_bad(s, cmd->tag, "Invalid date-time");
			return;
		}
		i++;
	}
	if (i + 1 != cmd->nargs || cmd->args[i].type != IMAP_ARG_LITERAL)
		goto syntax;
	msg = &cmd->args[i];
	/* RFC 3501 9: a literal is CHAR8, never NUL (that takes BINARY) */
	if (memchr(msg->s, '\0', msg->len) != NULL) {
		imap_no(s, cmd->tag, "Message contains NUL octets");
		return;
	}
	if (store_quota_check(st, s->user, (long long)msg->len) > 0) {
		log_info("%s: append refused: user=%s over quota", s->id,
			 s->user);
		imap_no(s, cmd->tag, "[OVERQUOTA] Quota exceeded");
		return;
	}
	rc = mbox_append_kw(st->mbox, s->user, name, msg->s, msg->len, flags,
			    kws, nkws, date, &uv, &uid, err, sizeof(err));
	if (rc == -2) {
		imap_no(s, cmd->tag, "[TRYCREATE] No such mailbox");
		return;
	}
	if (rc < 0) {
		imap_no(s, cmd->tag, "%s", err[0] ? err : "APPEND failed");
		return;
	}
	imap_ok(s, cmd->tag, "[APPENDUID %u %u] APPEND completed", uv, uid);
	return;
syntax:
	imap_bad(s, cmd->tag, "Syntax: APPEND mailbox [(flags)] [date-time] "
		 "literal");
}

/* ---- IDLE ---- */

static void idle_wake(void *arg)
{
	struct imap_sess *s = arg;

	if (s->mode != IMAP_MODE_IDLE)
		return;
	imap_sync(s);
	conn_flush(s->c);
}

void imap_cmd_idle(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "IDLE takes no arguments");
		return;
	}
	s->mode = IMAP_MODE_IDLE;
	imap_sync(s);
	conn_printf(s->c, "+ idling\r\n");
	if (s->mbox)
		mbox_watch(s->mbox, idle_wake, s);
}

void imap_idle_line(struct imap_sess *s, const char *line)
{
	if (s->mbox)
		mbox_watch(s->mbox, NULL, NULL);
	s->mode = IMAP_MODE_CMD;
	if (strcasecmp(line, "DONE") != 0) {
		imap_bad(s, s->tag, "Expected DONE");
		return;
	}
	imap_ok(s, s->tag, "IDLE terminated");
}
