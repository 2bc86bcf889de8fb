/*
 * NAME
 *	store_imap_list - LIST and LSUB, with LIST-EXTENDED and LIST-STATUS
 * DESCRIPTION
 *	RFC 3501 6.3.8 and 6.3.9; LIST-EXTENDED (RFC 5258): selection
 *	options SUBSCRIBED, REMOTE (no remote folders here), RECURSIVEMATCH
 *	(a parent whose subscribed descendant the patterns miss is listed
 *	with CHILDINFO ("SUBSCRIBED")) and SPECIAL-USE (RFC 6154); several
 *	patterns in one LIST; return options CHILDREN and SPECIAL-USE (the
 *	attributes are always sent), SUBSCRIBED (\Subscribed) and STATUS
 *	(RFC 5819: a STATUS line after each selectable folder). The
 *	hierarchy delimiter is '.'. Folders are listed once (mbox_list) and
 *	matched in memory; matching never recurses. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_cmd.h"
#include "store_mbox.h"

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

struct lentry {
	char *name;
	unsigned attrs;
};

struct list_ctx {
	struct imap_sess *s;
	const struct imap_cmd *cmd;
	char **pats;		/* reference + pattern, each */
	size_t npats;
	int lsub;
	int special_only;	/* selection SPECIAL-USE */
	int sel_subscribed;	/* selection SUBSCRIBED */
	int recursive;		/* selection RECURSIVEMATCH */
	int ret_subscribed;	/* return SUBSCRIBED */
	size_t status_at;	/* RETURN (STATUS (..)): the list's index */
	struct lentry *e;	/* every folder, sorted */
	size_t n, cap;
	char **sent;		/* LSUB: names answered so far */
	size_t nsent;
};

static int collect(void *arg, const char *name, unsigned attrs)
{
	struct list_ctx *lc = arg;
	struct lentry *x;

	if (lc->n == lc->cap) {
		lc->cap = lc->cap ? lc->cap * 2 : 32;
		x = realloc(lc->e, lc->cap * sizeof(*x));
		if (x == NULL)
			return 1;
		lc->e = x;
	}
	if ((lc->e[lc->n].name = strdup(name)) == NULL)
		return 1;
	lc->e[lc->n++].attrs = attrs;
	return 0;
}

static int matches(const struct list_ctx *lc, const char *name)
{
	size_t i;
	int inbox = strcasecmp(name, "INBOX") == 0;

	for (i = 0; i < lc->npats; i++)
		if (wild_match(lc->pats[i], name, inbox))
			return 1;
	return 0;
}

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
		if (!matches(lc, buf) || lsub_sent(lc, buf))
			continue;
		conn_printf(lc->s->c, "* LSUB (\\Noselect) \".\" ");
		imap_write_mailbox(lc->s, buf);
		conn_printf(lc->s->c, "\r\n");
		lsub_note(lc, buf);
	}
}

/* RFC 5258 3.5 (RECURSIVEMATCH): has e[i] a subscribed descendant
 * that the patterns do not match? (Folders are sorted: descendants
 * follow their parent.) */
static int childinfo(const struct list_ctx *lc, size_t i)
{
	size_t k, len = strlen(lc->e[i].name);

	for (k = 0; k < lc->n; k++)
		if ((lc->e[k].attrs & MBOX_ATTR_SUBSCRIBED) &&
		    strncmp(lc->e[k].name, lc->e[i].name, len) == 0 &&
		    lc->e[k].name[len] == '.' && !matches(lc, lc->e[k].name))
			return 1;
	return 0;
}

static void list_one(struct list_ctx *lc, size_t i)
{
	const char *name = lc->e[i].name;
	unsigned attrs = lc->e[i].attrs;
	int ci = 0;

	if (lc->lsub && !(attrs & MBOX_ATTR_SUBSCRIBED))
		return;
	if (lc->special_only && !(attrs & (MBOX_ATTR_SENT | MBOX_ATTR_DRAFTS |
					   MBOX_ATTR_TRASH | MBOX_ATTR_JUNK)))
		return;
	if (!matches(lc, name)) {
		if (lc->lsub)
			lsub_parents(lc, name);
		return;
	}
	if (lc->recursive && lc->sel_subscribed)
		ci = childinfo(lc, i);
	if (lc->sel_subscribed && !(attrs & MBOX_ATTR_SUBSCRIBED) && !ci)
		return;
	if (lc->lsub)
		lsub_note(lc, name);
	conn_printf(lc->s->c, "* %s (", lc->lsub ? "LSUB" : "LIST");
	imap_list_attrs(lc->s, attrs, lc->sel_subscribed ||
			lc->ret_subscribed);
	conn_printf(lc->s->c, ") \".\" ");
	imap_write_mailbox(lc->s, name);
	if (ci)
		conn_printf(lc->s->c, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	conn_printf(lc->s->c, "\r\n");
	/* RFC 5819: STATUS right after each selectable folder's LIST */
	if (lc->status_at && !(attrs & MBOX_ATTR_NOSELECT))
		imap_status_line(lc->s, name, lc->cmd, lc->status_at);
}

/* RFC 5258 selection options "(...)" at args[0]: 0 (*i after them),
 * or -1 when malformed. */
static int list_select(struct list_ctx *lc, const struct imap_cmd *cmd,
		       size_t *i)
{
	size_t k, end;

	if (lc->lsub || cmd->nargs == 0 || cmd->args[0].type != IMAP_ARG_LIST)
		return 0;
	end = imap_arg_next(cmd, 0);
	for (k = 1; k < end; k++) {
		if (imap_arg_is(cmd, k, "SUBSCRIBED"))
			lc->sel_subscribed = 1;
		else if (imap_arg_is(cmd, k, "SPECIAL-USE"))
			lc->special_only = 1;
		else if (imap_arg_is(cmd, k, "RECURSIVEMATCH"))
			lc->recursive = 1;
		else if (!imap_arg_is(cmd, k, "REMOTE"))
			return -1;
	}
	*i = end;
	/* RECURSIVEMATCH only refines another selection option */
	return lc->recursive && !lc->sel_subscribed && !lc->special_only ?
		-1 : 0;
}

/* RFC 5258 / 5819 return options "RETURN (...)" at args[i]. 0, or -1
 * when malformed. */
static int list_return(struct list_ctx *lc, const struct imap_cmd *cmd,
		       size_t i)
{
	size_t k, end;

	if (i == cmd->nargs)
		return 0;
	if (lc->lsub || !imap_arg_is(cmd, i, "RETURN") ||
	    i + 1 >= cmd->nargs || cmd->args[i + 1].type != IMAP_ARG_LIST ||
	    imap_arg_next(cmd, i + 1) != cmd->nargs)
		return -1;
	end = cmd->nargs;
	for (k = i + 2; k < end; k = imap_arg_next(cmd, k)) {
		if (imap_arg_is(cmd, k, "STATUS")) {
			if (!imap_status_list_ok(cmd, k + 1))
				return -1;
			lc->status_at = k + 1;
			k++;
		} else if (imap_arg_is(cmd, k, "SUBSCRIBED")) {
			lc->ret_subscribed = 1;
		} else if (!imap_arg_is(cmd, k, "CHILDREN") &&
			   !imap_arg_is(cmd, k, "SPECIAL-USE")) {
			return -1;
		}
	}
	return 0;
}

/* The patterns at args[i]: one mailbox name, or (RFC 5258) a list of
 * them; each prefixed with ref. 0, or -1 when malformed. */
static int list_patterns(struct list_ctx *lc, const struct imap_cmd *cmd,
			 size_t i, const char *ref)
{
	size_t k, end = imap_arg_next(cmd, i), first = i;
	const char *p;

	if (i >= cmd->nargs)
		return -1;
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		if (lc->lsub || cmd->args[i].nsub == 0)
			return -1;
		first = i + 1;
	}
	lc->pats = calloc(end - first, sizeof(*lc->pats));
	if (lc->pats == NULL)
		return -1;
	for (k = first; k < end; k++) {
		if ((p = imap_arg_str(cmd, k)) == NULL ||
		    asprintf(&lc->pats[lc->npats], "%s%s", ref, p) < 0)
			return -1;
		lc->npats++;
	}
	return 0;
}

static void list_free(struct list_ctx *lc)
{
	size_t i;

	for (i = 0; i < lc->npats; i++)
		free(lc->pats[i]);
	free(lc->pats);
	for (i = 0; i < lc->n; i++)
		free(lc->e[i].name);
	free(lc->e);
	for (i = 0; i < lc->nsent; i++)
		free(lc->sent[i]);
	free(lc->sent);
}

void imap_cmd_list(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct list_ctx lc;
	const char *ref;
	size_t i = 0, k;
	int rc;

	memset(&lc, 0, sizeof(lc));
	lc.s = s;
	lc.cmd = cmd;
	lc.lsub = strcmp(cmd->name, "LSUB") == 0;
	if (list_select(&lc, cmd, &i) < 0 ||
	    (ref = imap_arg_str(cmd, i)) == NULL ||
	    list_patterns(&lc, cmd, imap_arg_next(cmd, i), ref) < 0 ||
	    list_return(&lc, cmd, imap_arg_next(cmd, imap_arg_next(cmd, i)))
	    < 0) {
		list_free(&lc);
		imap_bad(s, cmd->tag, "Syntax: %s [(options)] reference "
			 "mailbox [RETURN (options)]", cmd->name);
		return;
	}
	if (lc.npats == 1 && cmd->args[imap_arg_next(cmd, i)].type !=
	    IMAP_ARG_LIST && imap_arg_str(cmd, imap_arg_next(cmd, i))[0] ==
	    '\0' && !lc.lsub) {
		/* RFC 3501 6.3.8: the delimiter and the root */
		list_free(&lc);
		imap_untagged(s, "LIST (\\Noselect) \".\" \"\"");
		imap_ok(s, cmd->tag, "LIST completed");
		return;
	}
	rc = mbox_list(imap_store(s)->mbox, s->user, collect, &lc);
	for (k = 0; rc == 0 && k < lc.n; k++)
		list_one(&lc, k);
	list_free(&lc);
	if (rc != 0) {
		imap_no(s, cmd->tag, "Cannot list folders");
		return;
	}
	imap_ok(s, cmd->tag, "%s completed", cmd->name);
}
