/*
 * NAME
 *	store_imap_folder - SELECT EXAMINE CREATE DELETE RENAME SUBSCRIBE
 *	UNSUBSCRIBE LIST LSUB STATUS GETQUOTA GETQUOTAROOT SETQUOTA
 * DESCRIPTION
 *	RFC 3501 6.3, with SPECIAL-USE attributes in LIST (RFC 6154) and
 *	the read side of QUOTA (RFC 9208: one root "" per user, STORAGE in
 *	KB from the directory's quota and the folders' usage). Folder names
 *	are checked by store_mbox before they touch the file system.
 *	Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "store.h"
#include "store_imap.h"
#include "store_mbox.h"

static void flag_names(struct imap_sess *s, int perm)
{
	const char *kw;
	unsigned i;

	conn_printf(s->c, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (i = 0; (kw = mbox_keyword(s->mbox, i)) != NULL; i++)
		conn_printf(s->c, " %s", kw);
	conn_printf(s->c, perm ? " \\*)" : ")");
}

/* FLAGS and PERMANENTFLAGS with every keyword the folder has now. */
static void flags_lines(struct imap_sess *s)
{
	unsigned n = 0;

	while (mbox_keyword(s->mbox, n) != NULL)
		n++;
	conn_printf(s->c, "* FLAGS ");
	flag_names(s, 0);
	conn_printf(s->c, "\r\n* OK [PERMANENTFLAGS ");
	if (s->readonly)
		conn_printf(s->c, "()");
	else
		flag_names(s, 1);
	conn_printf(s->c, "] Flags permitted\r\n");
	s->nkw_sent = n;
}

void imap_keywords_announce(struct imap_sess *s)
{
	if (s->state == IMAP_SELECTED && s->mbox &&
	    mbox_keyword(s->mbox, s->nkw_sent) != NULL)
		flags_lines(s);
}

void imap_cmd_select(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct store *st = imap_store(s);
	const char *name = imap_arg_str(cmd, 0);
	int ro = strcmp(cmd->name, "EXAMINE") == 0;
	uint32_t n, count, recent, unseen = 0;
	const struct mbox_msg *m;
	struct imap_qresync q;
	char err[256];

	if (cmd->nargs < 1 || name == NULL) {
		imap_bad(s, cmd->tag, "Syntax: %s mailbox", cmd->name);
		return;
	}
	if (imap_select_params(s, cmd, &q) < 0)
		return;
	if (s->state == IMAP_SELECTED) {
		imap_set_state(s, IMAP_AUTH);
		/* RFC 7162 3.2.11: what follows is the new mailbox's */
		if (s->qresync)
			imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	if (q.condstore)
		imap_condstore_on(s);
	s->mbox = mbox_open(st->mbox, s->user, name, ro, err, sizeof(err));
	if (s->mbox == NULL || (s->mbox_name = strdup(name)) == NULL) {
		mbox_close(&s->mbox);
		imap_seqset_free(&q.known);
		imap_no(s, cmd->tag, "%s", s->mbox ? "Out of memory" : err);
		return;
	}
	s->readonly = ro;
	imap_set_state(s, IMAP_SELECTED);
	count = mbox_count(s->mbox);
	recent = mbox_recent(s->mbox);
	flags_lines(s);
	imap_untagged(s, "%u EXISTS", count);
	imap_untagged(s, "%u RECENT", recent);
	for (n = 1; n <= count; n++) {
		m = mbox_get(s->mbox, n);
		if (m && !(m->flags & MBOX_SEEN)) {
			unseen = n;
			break;
		}
	}
	if (unseen)
		imap_untagged(s, "OK [UNSEEN %u] First unseen", unseen);
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid",
		      mbox_uidvalidity(s->mbox));
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID",
		      mbox_uidnext(s->mbox));
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		      (unsigned long long)mbox_highestmodseq(s->mbox));
	imap_select_qresync(s, &q);
	imap_ok(s, cmd->tag, "[%s] %s completed", ro ? "READ-ONLY" :
		"READ-WRITE", cmd->name);
}

void imap_cmd_unselect(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs) {
		imap_bad(s, cmd->tag, "UNSELECT takes no arguments");
		return;
	}
	imap_set_state(s, IMAP_AUTH);
	imap_ok(s, cmd->tag, "UNSELECT completed");
}

/* The one-name commands: CREATE, DELETE, (UN)SUBSCRIBE. */
static const char *one_name(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = imap_arg_str(cmd, 0);

	if (cmd->nargs != 1 || name == NULL || name[0] == '\0') {
		imap_bad(s, cmd->tag, "Syntax: %s mailbox", cmd->name);
		return NULL;
	}
	return name;
}

static void folder_result(struct imap_sess *s, struct imap_cmd *cmd, int rc,
			  const char *err)
{
	if (rc < 0)
		imap_no(s, cmd->tag, "%s", err[0] ? err : "Failed");
	else
		imap_ok(s, cmd->tag, "%s completed", cmd->name);
}

void imap_cmd_create(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = one_name(s, cmd);
	char buf[MBOX_NAME_MAX + 2], err[256] = "";
	size_t n;

	if (name == NULL)
		return;
	/* RFC 3501 6.3.3: a trailing separator only declares intent */
	n = strlen(name);
	if (n > MBOX_NAME_MAX) {
		imap_no(s, cmd->tag, "Mailbox name too long");
		return;
	}
	memcpy(buf, name, n + 1);
	if (n > 1 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	folder_result(s, cmd, mbox_create(imap_store(s)->mbox, s->user, buf,
					  err, sizeof(err)), err);
}

void imap_cmd_delete(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = one_name(s, cmd);
	char err[256] = "";

	if (name == NULL)
		return;
	if (s->mbox_name && strcmp(s->mbox_name, name) == 0)
		imap_set_state(s, IMAP_AUTH);
	folder_result(s, cmd, mbox_delete(imap_store(s)->mbox, s->user, name,
					  err, sizeof(err)), err);
}

void imap_cmd_rename(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *from = imap_arg_str(cmd, 0), *to = imap_arg_str(cmd, 1);
	char err[256] = "";

	if (cmd->nargs != 2 || from == NULL || to == NULL || !*from || !*to) {
		imap_bad(s, cmd->tag, "Syntax: RENAME from to");
		return;
	}
	folder_result(s, cmd, mbox_rename(imap_store(s)->mbox, s->user, from,
					  to, err, sizeof(err)), err);
}

void imap_cmd_subscribe(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = one_name(s, cmd);
	char err[256] = "";

	if (name == NULL)
		return;
	folder_result(s, cmd, mbox_subscribe(imap_store(s)->mbox, s->user,
					     name, cmd->name[0] == 'S', err,
					     sizeof(err)), err);
}

/* ---- STATUS ---- */

/* STATUS items (RFC 3501 6.3.10, RFC 8438 SIZE, RFC 7162). */
static const char *const status_items[] = {
	"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE",
	"HIGHESTMODSEQ",
};

static int status_item(const struct imap_cmd *cmd, size_t i)
{
	size_t k;

	for (k = 0; k < sizeof(status_items) / sizeof(status_items[0]); k++)
		if (imap_arg_is(cmd, i, status_items[k]))
			return (int)k;
	return -1;
}

/* Non-zero when args[list] is a non-empty list of STATUS items. */
static int status_list_ok(const struct imap_cmd *cmd, size_t list)
{
	size_t i, end = imap_arg_next(cmd, list);

	if (list >= cmd->nargs || cmd->args[list].type != IMAP_ARG_LIST ||
	    cmd->args[list].nsub == 0)
		return 0;
	for (i = list + 1; i < end; i++)
		if (status_item(cmd, i) < 0)
			return 0;
	return 1;
}

/* "* STATUS name (ITEM n ...)" for the items in the list args[list];
 * -1 (nothing written) when the folder does not exist. */
static int status_line(struct imap_sess *s, const char *name,
		       const struct imap_cmd *cmd, size_t list)
{
	struct mbox_status stt;
	size_t i, end = imap_arg_next(cmd, list);
	const char *sep = "";

	if (mbox_status(imap_store(s)->mbox, s->user, name, &stt) < 0)
		return -1;
	conn_printf(s->c, "* STATUS ");
	imap_write_string(s, name, strlen(name));
	conn_printf(s->c, " (");
	for (i = list + 1; i < end; i++) {
		int k = status_item(cmd, i);
		unsigned long long v = k == 0 ? stt.messages
			: k == 1 ? stt.recent : k == 2 ? stt.uidnext
			: k == 3 ? stt.uidvalidity : k == 4 ? stt.unseen
			: k == 5 ? (unsigned long long)stt.size
			: stt.highestmodseq;

		conn_printf(s->c, "%s%s %llu", sep, status_items[k], v);
		sep = " ";
	}
	conn_printf(s->c, ")\r\n");
	return 0;
}

/* ---- LIST and LSUB ---- */

/* RFC 3501 6.3.8: '*' matches anything, '%' anything but the
 * hierarchy delimiter. Iterative with one backtrack point per '*'
 * kind, so hostile patterns stay linear-ish and never recurse. */
static int wild_match(const char *p, const char *n, int icase)
{
	const char *sp = NULL, *sn = NULL;

	while (*n) {
		if (*p == '*' || *p == '%') {
			sp = p++;
			sn = n;
			continue;
		}
		if (*p && (icase ? (*p | 0x20) == (*n | 0x20) : *p == *n)) {
			p++;
			n++;
			continue;
		}
		if (sp && (*sp == '*' || *sn != '.')) {
			p = sp + 1;
			n = ++sn;
			continue;
		}
		return 0;
	}
	while (*p == '*' || *p == '%')
		p++;
	return *p == '\0';
}

struct list_ctx {
	struct imap_sess *s;
	const char *pattern;
	int lsub;
	int special_only;
	char **sent;		/* LSUB: names answered so far */
	size_t nsent;
	const struct imap_cmd *cmd;
	size_t status_at;	/* RETURN (STATUS (..)): the list's index */
};


static int lsub_sent(const struct list_ctx *lc, const char *name)
{
	size_t i;

	for (i = 0; i < lc->nsent; i++)
		if (strcmp(lc->sent[i], name) == 0)
			return 1;
	return 0;
}

static void lsub_note(struct list_ctx *lc, const char *name)
{
	char **v = realloc(lc->sent, (lc->nsent + 1) * sizeof(*v));

	if (v == NULL)
		return;
	lc->sent = v;
	if ((v[lc->nsent] = strdup(name)) != NULL)
		lc->nsent++;
}

/* RFC 3501 6.3.9: a subscribed name the pattern does not match (a "%"
 * stops at the delimiter) shows its parents that the pattern does
 * match, \Noselect, unless they are subscribed themselves. Folders
 * come sorted, so a subscribed parent was answered before. */
static void lsub_parents(struct list_ctx *lc, const char *name)
{
	char buf[MBOX_NAME_MAX + 1], *p;

	snprintf(buf, sizeof(buf), "%s", name);
	while ((p = strrchr(buf, '.')) != NULL) {
		*p = '\0';
		if (!wild_match(lc->pattern, buf, 0) || lsub_sent(lc, buf))
			continue;
		conn_printf(lc->s->c, "* LSUB (\\Noselect) \".\" ");
		imap_write_string(lc->s, buf, strlen(buf));
		conn_printf(lc->s->c, "\r\n");
		lsub_note(lc, buf);
	}
}

static int list_one(void *arg, const char *name, unsigned attrs)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {
		{MBOX_ATTR_NOSELECT, "\\Noselect"},
		{MBOX_ATTR_HASCHILDREN, "\\HasChildren"},
		{MBOX_ATTR_HASNOCHILDREN, "\\HasNoChildren"},
		{MBOX_ATTR_SENT, "\\Sent"},
		{MBOX_ATTR_DRAFTS, "\\Drafts"},
		{MBOX_ATTR_TRASH, "\\Trash"},
		{MBOX_ATTR_JUNK, "\\Junk"},
	};
	struct list_ctx *lc = arg;
	const char *sep = "";
	size_t i;

	if (lc->lsub && !(attrs & MBOX_ATTR_SUBSCRIBED))
		return 0;
	if (lc->special_only && !(attrs & (MBOX_ATTR_SENT | MBOX_ATTR_DRAFTS |
					   MBOX_ATTR_TRASH | MBOX_ATTR_JUNK)))
		return 0;
	if (!wild_match(lc->pattern, name, strcasecmp(name, "INBOX") == 0)) {
		if (lc->lsub)
			lsub_parents(lc, name);
		return 0;
	}
	if (lc->lsub)
		lsub_note(lc, name);
	conn_printf(lc->s->c, "* %s (", lc->lsub ? "LSUB" : "LIST");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (attrs & names[i].bit) {
			conn_printf(lc->s->c, "%s%s", sep, names[i].text);
			sep = " ";
		}
	conn_printf(lc->s->c, ") \".\" ");
	imap_write_string(lc->s, name, strlen(name));
	conn_printf(lc->s->c, "\r\n");
	/* RFC 5819: STATUS right after each selectable folder's LIST */
	if (lc->status_at && !(attrs & MBOX_ATTR_NOSELECT))
		status_line(lc->s, name, lc->cmd, lc->status_at);
	return 0;
}

/* RFC 5258 / 5819 return options "RETURN (...)" at args[i]: STATUS
 * (items) is honoured; CHILDREN, SUBSCRIBED and SPECIAL-USE are taken
 * (we always send what they ask for). 0, or -1 when malformed. */
static int list_return(struct list_ctx *lc, const struct imap_cmd *cmd,
		       size_t i)
{
	size_t k, end;

	if (i == cmd->nargs)
		return 0;
	if (!imap_arg_is(cmd, i, "RETURN") || i + 1 >= cmd->nargs ||
	    cmd->args[i + 1].type != IMAP_ARG_LIST ||
	    imap_arg_next(cmd, i + 1) != cmd->nargs)
		return -1;
	end = cmd->nargs;
	for (k = i + 2; k < end; k = imap_arg_next(cmd, k)) {
		if (imap_arg_is(cmd, k, "STATUS")) {
			if (!status_list_ok(cmd, k + 1))
				return -1;
			lc->status_at = k + 1;
			k++;
		} else if (!imap_arg_is(cmd, k, "CHILDREN") &&
			   !imap_arg_is(cmd, k, "SUBSCRIBED") &&
			   !imap_arg_is(cmd, k, "SPECIAL-USE")) {
			return -1;
		}
	}
	return 0;
}

void imap_cmd_list(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct list_ctx lc = {s, NULL, cmd->name[0] == 'L' &&
			      cmd->name[1] == 'S', 0, NULL, 0, cmd, 0};
	const char *ref, *pat;
	char *full;
	size_t i = 0;
	int rc;

	/* RFC 6154 selection option (SPECIAL-USE), as LIST-EXTENDED
	 * clients send it */
	if (!lc.lsub && cmd->nargs > 0 && cmd->args[0].type == IMAP_ARG_LIST) {
		size_t k, end = imap_arg_next(cmd, 0);

		for (k = 1; k < end; k++)
			if (imap_arg_is(cmd, k, "SPECIAL-USE"))
				lc.special_only = 1;
		i = end;
	}
	ref = imap_arg_str(cmd, i);
	pat = imap_arg_str(cmd, imap_arg_next(cmd, i));
	if (ref == NULL || pat == NULL ||
	    (!lc.lsub && list_return(&lc, cmd, imap_arg_next(cmd,
				      imap_arg_next(cmd, i))) < 0)) {
		imap_bad(s, cmd->tag, "Syntax: %s reference mailbox",
			 cmd->name);
		return;
	}
	if (pat[0] == '\0' && !lc.lsub) {
		/* RFC 3501 6.3.8: the delimiter and the root */
		imap_untagged(s, "LIST (\\Noselect) \".\" \"\"");
		imap_ok(s, cmd->tag, "LIST completed");
		return;
	}
	if (asprintf(&full, "%s%s", ref, pat) < 0) {
		imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	lc.pattern = full;
	rc = mbox_list(imap_store(s)->mbox, s->user, list_one, &lc);
	free(full);
	for (i = 0; i < lc.nsent; i++)
		free(lc.sent[i]);
	free(lc.sent);
	if (rc < 0) {
		imap_no(s, cmd->tag, "Cannot list folders");
		return;
	}
	imap_ok(s, cmd->tag, "%s completed", cmd->name);
}

void imap_cmd_status(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = imap_arg_str(cmd, 0);

	size_t i;

	if (cmd->nargs < 2 || name == NULL || !status_list_ok(cmd, 1) ||
	    imap_arg_next(cmd, 1) != cmd->nargs) {
		imap_bad(s, cmd->tag, "Syntax: STATUS mailbox (items)");
		return;
	}
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE */
	for (i = 2; i < cmd->nargs; i++)
		if (imap_arg_is(cmd, i, "HIGHESTMODSEQ"))
			imap_condstore_on(s);
	if (status_line(s, name, cmd, 1) < 0) {
		imap_no(s, cmd->tag, "No such mailbox");
		return;
	}
	imap_ok(s, cmd->tag, "STATUS completed");
}

/* ---- QUOTA (read only) ---- */

/* The user's quota in bytes (0: none). */
static long long user_quota(struct imap_sess *s)
{
	struct store *st = imap_store(s);

	directory_refresh(&st->users, st->cfg->users_file);
	return directory_quota(st->users, s->user);
}

static void quota_line(struct imap_sess *s, long long q)
{
	long long used = mbox_usage(imap_store(s)->mbox, s->user);

	imap_untagged(s, "QUOTA \"\" (STORAGE %lld %lld)", (used + 1023) /
		      1024, q / 1024);
}

void imap_cmd_getquotaroot(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = imap_arg_str(cmd, 0);
	struct mbox_status stt;
	long long q;

	if (cmd->nargs != 1 || name == NULL) {
		imap_bad(s, cmd->tag, "Syntax: GETQUOTAROOT mailbox");
		return;
	}
	if (mbox_status(imap_store(s)->mbox, s->user, name, &stt) < 0) {
		imap_no(s, cmd->tag, "No such mailbox");
		return;
	}
	q = user_quota(s);
	conn_printf(s->c, "* QUOTAROOT ");
	imap_write_string(s, name, strlen(name));
	conn_printf(s->c, q > 0 ? " \"\"\r\n" : "\r\n");
	if (q > 0)
		quota_line(s, q);
	imap_ok(s, cmd->tag, "GETQUOTAROOT completed");
}

void imap_cmd_getquota(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *root = imap_arg_str(cmd, 0);
	long long q;

	if (cmd->nargs != 1 || root == NULL) {
		imap_bad(s, cmd->tag, "Syntax: GETQUOTA root");
		return;
	}
	q = user_quota(s);
	if (root[0] != '\0' || q <= 0) {
		imap_no(s, cmd->tag, "No such quota root");
		return;
	}
	quota_line(s, q);
	imap_ok(s, cmd->tag, "GETQUOTA completed");
}

void imap_cmd_setquota(struct imap_sess *s, struct imap_cmd *cmd)
{
	imap_no(s, cmd->tag, "[NOPERM] Quotas are set by the administrator");
}
