/*
 * NAME
 *	store_imap_folder - SELECT EXAMINE CREATE DELETE RENAME SUBSCRIBE
 *	UNSUBSCRIBE STATUS GETQUOTA GETQUOTAROOT SETQUOTA
 * DESCRIPTION
 *	RFC 3501 6.3 (LIST and LSUB: store_imap_list.c) and the read side of
 *	QUOTA (RFC 9208: one root "" per user, STORAGE in
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
#include "store_imap_cmd.h"
#include "store_mbox.h"

struct attrs_find {
	const char *name;
	unsigned attrs;
};

static int attrs_cb(void *arg, const char *name, unsigned attrs)
{
	struct attrs_find *f = arg;

	if (strcmp(name, f->name) != 0)
		return 0;
	f->attrs = attrs;
	return 1;
}

/* "* LIST (attributes) "." name" of the selected folder (IMAP4rev2). */
static void select_list(struct imap_sess *s)
{
	struct attrs_find f = {s->mbox_name, 0};

	if (strcasecmp(f.name, "INBOX") == 0)
		f.name = "INBOX";
	mbox_list(imap_store(s)->mbox, s->user, attrs_cb, &f);
	conn_printf(s->c, "* LIST (");
	imap_list_attrs(s, f.attrs, 0);
	conn_printf(s->c, ") \".\" ");
	imap_write_mailbox(s, f.name);
	conn_printf(s->c, "\r\n");
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
		/* RFC 7162 3.2.11, RFC 9051 6.3.2: what follows is the new
		 * mailbox's */
		if (s->qresync || s->rev2)
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
	imap_flags_lines(s);
	imap_untagged(s, "%u EXISTS", count);
	if (s->rev2) {
		/* RFC 9051 6.3.2: no RECENT nor [UNSEEN], but the LIST
		 * line of the mailbox */
		select_list(s);
	} else {
		imap_untagged(s, "%u RECENT", recent);
	}
	for (n = 1; !s->rev2 && n <= count; n++) {
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
	imap_notify_rewatch(s);
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

/* The reply; on success the user's other sessions are told
 * (NOTIFY MailboxName, SubscriptionChange). */
static void folder_result(struct imap_sess *s, struct imap_cmd *cmd,
			  enum imap_notify_what what, const char *name,
			  const char *old, int rc, const char *err)
{
	if (rc < 0) {
		imap_no(s, cmd->tag, "%s", err[0] ? err : "Failed");
		return;
	}
	imap_notify_folder(s, what, name, old);
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
	folder_result(s, cmd, IMAP_NF_CREATED, buf, NULL,
		      mbox_create(imap_store(s)->mbox, s->user, buf, err,
				  sizeof(err)), err);
}

void imap_cmd_delete(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = one_name(s, cmd);
	char err[256] = "";

	if (name == NULL)
		return;
	if (s->mbox_name && strcmp(s->mbox_name, name) == 0)
		imap_set_state(s, IMAP_AUTH);
	folder_result(s, cmd, IMAP_NF_DELETED, name, NULL,
		      mbox_delete(imap_store(s)->mbox, s->user, name, err,
				  sizeof(err)), err);
}

void imap_cmd_rename(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *from = imap_arg_str(cmd, 0), *to = imap_arg_str(cmd, 1);
	char err[256] = "";

	if (cmd->nargs != 2 || from == NULL || to == NULL || !*from || !*to) {
		imap_bad(s, cmd->tag, "Syntax: RENAME from to");
		return;
	}
	folder_result(s, cmd, IMAP_NF_RENAMED, to, from,
		      mbox_rename(imap_store(s)->mbox, s->user, from, to, err,
				  sizeof(err)), err);
}

void imap_cmd_subscribe(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = one_name(s, cmd);
	char err[256] = "";
	int on = cmd->name[0] == 'S';

	if (name == NULL)
		return;
	folder_result(s, cmd, on ? IMAP_NF_SUBSCRIBED : IMAP_NF_UNSUBSCRIBED,
		      name, NULL, mbox_subscribe(imap_store(s)->mbox, s->user,
						 name, on, err, sizeof(err)),
		      err);
}

/* ---- STATUS ---- */

void imap_cmd_status(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *name = imap_arg_str(cmd, 0);

	size_t i;

	if (cmd->nargs < 2 || name == NULL || !imap_status_list_ok(cmd, 1) ||
	    imap_arg_next(cmd, 1) != cmd->nargs) {
		imap_bad(s, cmd->tag, "Syntax: STATUS mailbox (items)");
		return;
	}
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE */
	for (i = 2; i < cmd->nargs; i++) {
		if (imap_arg_is(cmd, i, "HIGHESTMODSEQ"))
			imap_condstore_on(s);
		/* RFC 9051 E.1: RECENT is gone */
		if (s->rev2 && imap_arg_is(cmd, i, "RECENT")) {
			imap_bad(s, cmd->tag, "No RECENT in IMAP4rev2");
			return;
		}
	}
	if (imap_status_line(s, name, cmd, 1) < 0) {
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

	directory_refresh(&st->users, st->cfg->directory_file);
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
	imap_write_mailbox(s, name);
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
