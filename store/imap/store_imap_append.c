/*
 * NAME
 *	store_imap_append - APPEND (RFC 3501 6.3.11, UIDPLUS, MULTIAPPEND)
 *	and IDLE
 *	(RFC 2177)
 * DESCRIPTION
 *	APPEND takes each message as one literal (MULTIAPPEND, RFC 3502:
 *	several, all or none; a literal8 of RFC 3516 too; CATENATE of RFC
 *	4469 builds one from parts), bounded together
 *	by the store's max_message_size (the parser refuses a larger one
 *	before the client sends it), checks the user's quota (NO
 *	[OVERQUOTA]), stores them durably and answers [APPENDUID]. System flags and keywords are
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
#include "store_imap_cmd.h"
#include "store_mbox.h"

/* One message of an APPEND: flags, keywords, date and its bytes (a
 * literal, or built by CATENATE in cat). */
struct append_msg {
	unsigned flags;
	const char *kws[MBOX_MAX_KEYWORDS];
	size_t nkws;
	time_t date;
	const char *data;
	size_t len;
	int bin;
	struct sbuf cat;
};

/* "[(flags)] [date-time] literal" at args[*i]: 0 (*i after it), -1
 * after a BAD or NO. */
static int append_one(struct imap_sess *s, const struct imap_cmd *cmd,
		      size_t *i, struct append_msg *am)
{
	char err[256] = "";
	uint32_t kw;
	size_t k;

	memset(am, 0, sizeof(*am));
	if (*i < cmd->nargs && cmd->args[*i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(s, cmd, *i, -1, &am->flags, &kw, err,
				     sizeof(err)) < 0) {
			imap_bad(s, cmd->tag, "%s", err);
			return -1;
		}
		/* the keywords by name: the target is not the selected
		 * folder (imap_flags_parse checked their syntax) */
		for (k = *i + 1; k < imap_arg_next(cmd, *i); k++) {
			if (cmd->args[k].s[0] == '\\')
				continue;
			if (am->nkws == MBOX_MAX_KEYWORDS) {
				imap_no(s, cmd->tag, "[LIMIT] Too many "
					"keywords");
				return -1;
			}
			am->kws[am->nkws++] = cmd->args[k].s;
		}
		*i = imap_arg_next(cmd, *i);
	}
	if (*i < cmd->nargs && cmd->args[*i].type == IMAP_ARG_QUOTED) {
		am->date = imap_parse_datetime(cmd->args[*i].s);
		if (am->date == (time_t)-1) {
			imap_bad(s, cmd->tag, "Invalid date-time");
			return -1;
		}
		(*i)++;
	}
	if (imap_arg_is(cmd, *i, "CATENATE")) {
		sbuf_init(&am->cat, (size_t)imap_store(s)->cfg->
			  max_message_size);
		if (imap_catenate(s, cmd, i, &am->cat) < 0)
			return -1;
		am->data = am->cat.data ? am->cat.data : "";
		am->len = am->cat.len;
	} else if (*i < cmd->nargs &&
		   cmd->args[*i].type == IMAP_ARG_LITERAL) {
		am->data = cmd->args[*i].s;
		am->len = cmd->args[*i].len;
		am->bin = cmd->args[(*i)++].bin;
	} else {
		imap_bad(s, cmd->tag, "Syntax: APPEND mailbox [(flags)] "
			 "[date-time] literal ...");
		return -1;
	}
	/* RFC 3501 9: a literal is CHAR8, never NUL; a literal8 (RFC
	 * 3516 4.3) may hold NULs, which a Maildir message must not */
	if (memchr(am->data, '\0', am->len) != NULL) {
		imap_no(s, cmd->tag, am->bin ? "[UNKNOWN-CTE] Binary "
			"content cannot be stored" : "Message contains NUL "
			"octets");
		return -1;
	}
	return 0;
}

/* APPEND (RFC 3501 6.3.11) and MULTIAPPEND (RFC 3502): every message
 * of the command is appended, or none (those already stored are taken
 * out again); [APPENDUID uidvalidity uid-set] (RFC 4315). The literals
 * of one command together stay within the parser's append_max. */
void imap_cmd_append(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct store *st = imap_store(s);
	const char *name = imap_arg_str(cmd, 0);
	struct append_msg *am;
	uint32_t uv = 0, *uids;
	size_t i = 1, n = 0, k;
	long long total = 0;
	char err[256] = "";
	int rc = 0;

	if (cmd->nargs < 2 || name == NULL) {
		imap_bad(s, cmd->tag, "Syntax: APPEND mailbox [(flags)] "
			 "[date-time] literal ...");
		return;
	}
	am = calloc(cmd->nargs, sizeof(*am));
	uids = calloc(cmd->nargs, sizeof(*uids));
	if (am == NULL || uids == NULL) {
		free(am);
		free(uids);
		imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	while (i < cmd->nargs && rc == 0) {
		rc = append_one(s, cmd, &i, &am[n]);
		n++;
		if (rc == 0)
			total += (long long)am[n - 1].len;
	}
	if (rc == 0 && store_quota_check(st, s->user, total) > 0) {
		log_info("%s: append refused: user=%s over quota", s->id,
			 s->user);
		imap_no(s, cmd->tag, "[OVERQUOTA] Quota exceeded");
		rc = -1;
	}
	for (k = 0; k < n && rc == 0; k++) {
		rc = mbox_append_kw(st->mbox, s->user, name, am[k].data,
				    am[k].len, am[k].flags, am[k].kws,
				    am[k].nkws, am[k].date, &uv, &uids[k], err,
				    sizeof(err));
		if (rc == 0)
			continue;
		/* RFC 3502 6.3.11: all or nothing */
		while (k-- > 0)
			mbox_remove_uid(st->mbox, s->user, name, uids[k]);
		if (rc == -2)
			imap_no(s, cmd->tag, "[TRYCREATE] No such mailbox");
		else
			imap_no(s, cmd->tag, "%s", err[0] ? err :
				"APPEND failed");
		rc = -1;
		break;
	}
	if (rc == 0) {
		struct sbuf code;

		sbuf_init(&code, (size_t)-1 / 4);
		sbuf_printf(&code, "[APPENDUID %u ", uv);
		/* UIDs of one command are ascending */
		imap_set_write(&code, uids, n);
		imap_ok(s, cmd->tag, "%s] APPEND completed", code.data);
		sbuf_free(&code);
	}
	for (k = 0; k < n; k++)
		sbuf_free(&am[k].cat);
	free(am);
	free(uids);
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
	imap_notify_rewatch(s);
	s->mode = IMAP_MODE_CMD;
	if (strcasecmp(line, "DONE") != 0) {
		imap_bad(s, s->tag, "Expected DONE");
		return;
	}
	imap_ok(s, s->tag, "IDLE terminated");
}
