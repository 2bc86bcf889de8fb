/*
 * NAME
 *	store_imap_notify - NOTIFY (RFC 5465)
 * DESCRIPTION
 *	NOTIFY SET [STATUS] (filter events)... and NOTIFY NONE. Filters:
 *	selected, selected-delayed, inboxes, personal, subscribed, subtree
 *	and mailboxes; events: MessageNew, MessageExpunge, FlagChange,
 *	MailboxName and SubscriptionChange (others get NO [BADEVENT]).
 *	MessageNew's fetch attributes (only for SELECTED and
 *	SELECTED-DELAYED, else BAD) make each new message of the selected
 *	folder reported by EXISTS followed by a FETCH of them, rendered by
 *	store_imap_fetch as .PEEK (RFC 5465 5.2).
 *
 *	The selected folder is watched like IDLE does (mbox_watch): a
 *	change is synced to the client between commands (with
 *	selected-delayed only at the next command, as without NOTIFY).
 *	Other folders: store_mbox tells the server of every change
 *	(mbox_on_change), each interested session notes the folder and,
 *	from a 0 ms timer (or before its next tagged reply when a command
 *	is running), compares the folder's status with the one it last
 *	reported and sends "* STATUS" when a change of a kind it asked for
 *	happened. Folder creation, deletion, renaming and (un)subscribing
 *	by one session reach the user's other sessions as untagged LIST
 *	lines (RFC 5465 5.4, 5.5). Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "evloop.h"
#include "log.h"
#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"

enum {
	NE_NEW = 1u,
	NE_EXPUNGE = 2u,
	NE_FLAGS = 4u,
	NE_NAME = 8u,
	NE_SUB = 16u,
};

enum nf_kind {
	NF_SELECTED,
	NF_SELECTED_DELAYED,
	NF_INBOXES,
	NF_PERSONAL,
	NF_SUBSCRIBED,
	NF_SUBTREE,
	NF_MAILBOXES,
};

static const char *const kind_names[] = {
	"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED",
	"SUBTREE", "MAILBOXES",
};

struct nf_group {
	enum nf_kind kind;
	char **names;		/* SUBTREE, MAILBOXES */
	size_t nnames;
	unsigned events;	/* NE_* */
	struct imap_fetch *fetch;	/* MessageNew's attributes, or NULL */
};

/* The status a folder had when it was last reported. */
struct nf_seen {
	char *name;
	struct mbox_status st;
};

/* A LIST line waiting: attrs, name, and the old name of a rename. */
struct nf_list {
	const char *attrs;
	char *name, *old;
};

struct imap_notify {
	struct nf_group g[LIM_IMAP_NOTIFY_GROUPS];
	size_t ng;
	struct nf_seen *seen;
	size_t nseen;
	char *pending[LIM_IMAP_NOTIFY_PENDING];	/* folders changed */
	size_t npending;
	struct nf_list lists[LIM_IMAP_NOTIFY_PENDING];
	size_t nlists;
	int overflow;		/* too much waiting: NOTIFICATIONOVERFLOW */
	struct ev_timer *timer;
};

static int same_name(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

static void notify_clear(struct imap_notify *n, struct imap_server *srv)
{
	size_t i, k;

	if (n->timer)
		evloop_timer_cancel(srv->loop, n->timer);
	n->timer = NULL;
	for (i = 0; i < n->ng; i++) {
		for (k = 0; k < n->g[i].nnames; k++)
			free(n->g[i].names[k]);
		free(n->g[i].names);
		srv->cmds->fetch_att_free(n->g[i].fetch);
	}
	n->ng = 0;
	for (i = 0; i < n->nseen; i++)
		free(n->seen[i].name);
	free(n->seen);
	n->seen = NULL;
	n->nseen = 0;
	for (i = 0; i < n->npending; i++)
		free(n->pending[i]);
	n->npending = 0;
	for (i = 0; i < n->nlists; i++) {
		free(n->lists[i].name);
		free(n->lists[i].old);
	}
	n->nlists = 0;
	n->overflow = 0;
}

void imap_notify_free(struct imap_sess *s)
{
	if (s->notify == NULL)
		return;
	notify_clear(s->notify, s->srv);
	free(s->notify);
	s->notify = NULL;
}

/* ---- which folders a session asked about ---- */

struct sub_find {
	const char *name;
	int found;
};

static int sub_cb(void *arg, const char *name, unsigned attrs)
{
	struct sub_find *f = arg;

	if (same_name(name, f->name)) {
		f->found = (attrs & MBOX_ATTR_SUBSCRIBED) != 0;
		return 1;
	}
	return 0;
}

static int subscribed(struct imap_sess *s, const char *name)
{
	struct sub_find f = {name, 0};

	mbox_list(imap_store(s)->mbox, s->user, sub_cb, &f);
	return f.found;
}

/* Non-zero when g names folder name; with quick, SUBSCRIBED names
 * every folder (no listing while the mbox layer is mid-change). */
static int group_has(struct imap_sess *s, const struct nf_group *g,
		     const char *name, int quick)
{
	size_t k, len;

	switch (g->kind) {
	case NF_SELECTED:
	case NF_SELECTED_DELAYED:
		return 0;
	case NF_INBOXES:
		return strcasecmp(name, "INBOX") == 0;
	case NF_PERSONAL:
		return 1;
	case NF_SUBSCRIBED:
		return quick || subscribed(s, name);
	case NF_SUBTREE:
	case NF_MAILBOXES:
		for (k = 0; k < g->nnames; k++) {
			if (same_name(g->names[k], name))
				return 1;
			len = strlen(g->names[k]);
			if (g->kind == NF_SUBTREE &&
			    strncmp(g->names[k], name, len) == 0 &&
			    name[len] == '.')
				return 1;
		}
		return 0;
	}
	return 0;
}

static int is_selected(const struct imap_sess *s, const char *name)
{
	return s->state == IMAP_SELECTED && s->mbox_name &&
	       same_name(s->mbox_name, name);
}

/* The events the session wants for a folder that is not its selected
 * one: those of the first group naming it (RFC 5465 6); quick: see
 * group_has(). */
static unsigned events_for_how(struct imap_sess *s, const char *name,
			       int quick)
{
	const struct imap_notify *n = s->notify;
	size_t i;

	for (i = 0; n && i < n->ng; i++)
		if (group_has(s, &n->g[i], name, quick))
			return n->g[i].events;
	return 0;
}

static unsigned events_for(struct imap_sess *s, const char *name)
{
	return events_for_how(s, name, 0);
}

/* The events of the selected folder's group; *delayed for
 * selected-delayed. */
static unsigned selected_events(const struct imap_sess *s, int *delayed)
{
	const struct imap_notify *n = s->notify;
	size_t i;

	*delayed = 0;
	for (i = 0; n && i < n->ng; i++)
		if (n->g[i].kind == NF_SELECTED ||
		    n->g[i].kind == NF_SELECTED_DELAYED) {
			*delayed = n->g[i].kind == NF_SELECTED_DELAYED;
			return n->g[i].events;
		}
	return 0;
}

/* ---- reporting ---- */

static struct nf_seen *seen_find(struct imap_notify *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->nseen; i++)
		if (same_name(n->seen[i].name, name))
			return &n->seen[i];
	return NULL;
}

static struct nf_seen *seen_add(struct imap_notify *n, const char *name)
{
	struct nf_seen *p = seen_find(n, name), *ns;

	if (p)
		return p;
	ns = realloc(n->seen, (n->nseen + 1) * sizeof(*ns));
	if (ns == NULL)
		return NULL;
	n->seen = ns;
	p = &ns[n->nseen];
	memset(p, 0, sizeof(*p));
	if ((p->name = strdup(name)) == NULL)
		return NULL;
	n->nseen++;
	return p;
}

static void status_out(struct imap_sess *s, const char *name,
		       const struct mbox_status *st)
{
	conn_printf(s->c, "* STATUS ");
	imap_write_mailbox(s, name);
	conn_printf(s->c, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u",
		    st->messages, st->uidnext, st->uidvalidity, st->unseen);
	if (s->condstore)
		conn_printf(s->c, " HIGHESTMODSEQ %llu",
			    (unsigned long long)st->highestmodseq);
	conn_printf(s->c, ")\r\n");
}

/* How status_report() treats a folder. */
enum report_how {
	REPORT_CHANGE,		/* STATUS when it changed as asked for */
	REPORT_QUIET,		/* only note its status now */
	REPORT_ALWAYS,		/* STATUS, and note it (NOTIFY SET STATUS) */
};

/* Report folder name when it changed in a way the session asked for
 * (RFC 5465 5.2-5.4: STATUS for a folder that is not selected). */
static void status_report(struct imap_sess *s, const char *name,
			  enum report_how how)
{
	struct imap_notify *n = s->notify;
	unsigned ev = events_for(s, name);
	struct mbox_status st;
	struct nf_seen *p;
	int counts, flags;

	if (is_selected(s, name) || !(ev & (NE_NEW | NE_EXPUNGE | NE_FLAGS)))
		return;
	if (mbox_status(imap_store(s)->mbox, s->user, name, &st) < 0)
		return;
	p = seen_find(n, name);
	counts = p == NULL || p->st.messages != st.messages ||
		 p->st.uidnext != st.uidnext ||
		 p->st.uidvalidity != st.uidvalidity;
	flags = p == NULL || p->st.unseen != st.unseen ||
		p->st.highestmodseq != st.highestmodseq;
	if (how == REPORT_ALWAYS ||
	    (how == REPORT_CHANGE &&
	     ((counts && (ev & (NE_NEW | NE_EXPUNGE))) ||
	      (flags && (ev & NE_FLAGS)))))
		status_out(s, name, &st);
	if (p || (p = seen_add(n, name)) != NULL)
		p->st = st;
}

static void list_out(struct imap_sess *s, const struct nf_list *l)
{
	conn_printf(s->c, "* LIST (%s) \".\" ", l->attrs);
	imap_write_mailbox(s, l->name);
	if (l->old) {
		conn_printf(s->c, " (\"OLDNAME\" (");
		imap_write_mailbox(s, l->old);
		conn_printf(s->c, "))");
	}
	conn_printf(s->c, "\r\n");
}

void imap_notify_flush(struct imap_sess *s)
{
	struct imap_notify *n = s->notify;
	size_t i;

	if (n == NULL || (s->state != IMAP_AUTH && s->state != IMAP_SELECTED))
		return;
	if (n->overflow) {
		/* RFC 5465 5.8: tell, and stop notifying */
		imap_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many "
			      "changes, NOTIFY is off");
		imap_notify_free(s);
		imap_notify_rewatch(s);
		return;
	}
	for (i = 0; i < n->nlists; i++) {
		list_out(s, &n->lists[i]);
		free(n->lists[i].name);
		free(n->lists[i].old);
	}
	n->nlists = 0;
	for (i = 0; i < n->npending; i++) {
		status_report(s, n->pending[i], REPORT_CHANGE);
		free(n->pending[i]);
	}
	n->npending = 0;
}

static void notify_fire(void *arg)
{
	struct imap_sess *s = arg;

	s->notify->timer = NULL;
	/* a running command sends them before its tagged reply */
	if ((s->mode != IMAP_MODE_CMD && s->mode != IMAP_MODE_IDLE) ||
	    s->fetch != NULL)
		return;
	imap_notify_flush(s);
	conn_flush(s->c);
}

static void arm(struct imap_sess *s)
{
	if (s->notify->timer == NULL)
		s->notify->timer = evloop_timer(s->srv->loop, 0, notify_fire,
						s);
}

/* store_mbox's hook: folder name of user changed. */
static void on_change(void *arg, const char *user, const char *name)
{
	struct imap_server *srv = arg;
	struct imap_sess *s;
	struct imap_notify *n;
	size_t i;

	for (s = srv->sessions; s; s = s->next) {
		if ((n = s->notify) == NULL || s->user == NULL ||
		    strcasecmp(s->user, user) != 0 || is_selected(s, name) ||
		    !(events_for_how(s, name, 1) &
		      (NE_NEW | NE_EXPUNGE | NE_FLAGS)))
			continue;
		for (i = 0; i < n->npending; i++)
			if (same_name(n->pending[i], name))
				break;
		if (i == n->npending) {
			if (n->npending == LIM_IMAP_NOTIFY_PENDING ||
			    (n->pending[i] = strdup(name)) == NULL)
				n->overflow = 1;
			else
				n->npending++;
		}
		arm(s);
	}
}

void imap_notify_setup(struct imap_server *srv, int on)
{
	mbox_on_change(srv->st->mbox, on ? on_change : NULL, srv);
}

void imap_notify_folder(struct imap_sess *s, enum imap_notify_what what,
			const char *name, const char *old)
{
	struct imap_sess *o;
	struct imap_notify *n;
	struct nf_list *l;
	unsigned need = what == IMAP_NF_SUBSCRIBED ||
			what == IMAP_NF_UNSUBSCRIBED ? NE_SUB : NE_NAME;

	for (o = s->srv->sessions; o; o = o->next) {
		if ((n = o->notify) == NULL || o == s || o->user == NULL ||
		    strcasecmp(o->user, s->user) != 0 ||
		    !(events_for(o, name) & need))
			continue;
		if (n->nlists == LIM_IMAP_NOTIFY_PENDING) {
			n->overflow = 1;
			arm(o);
			continue;
		}
		l = &n->lists[n->nlists];
		l->attrs = what == IMAP_NF_DELETED ? "\\NonExistent"
			: what == IMAP_NF_SUBSCRIBED ? "\\Subscribed" : "";
		l->name = strdup(name);
		l->old = old ? strdup(old) : NULL;
		if (l->name == NULL || (old && l->old == NULL)) {
			free(l->name);
			free(l->old);
			n->overflow = 1;
		} else {
			n->nlists++;
		}
		arm(o);
	}
}

/* ---- the selected folder ---- */

static void selected_wake(void *arg)
{
	struct imap_sess *s = arg;

	if (s->mode != IMAP_MODE_CMD || s->fetch != NULL)
		return;
	imap_sync(s);
	conn_flush(s->c);
}

void imap_notify_rewatch(struct imap_sess *s)
{
	int delayed;
	unsigned ev;

	if (s->mbox == NULL)
		return;
	ev = selected_events(s, &delayed);
	mbox_watch(s->mbox, ev && !delayed ? selected_wake : NULL, s);
}

void imap_notify_new(struct imap_sess *s, uint32_t top)
{
	const struct imap_notify *n = s->notify;
	const struct mbox_msg *m;
	uint32_t seq, count;
	size_t i;

	for (i = 0; n && i < n->ng; i++)
		if (n->g[i].kind == NF_SELECTED ||
		    n->g[i].kind == NF_SELECTED_DELAYED)
			break;
	if (n == NULL || i == n->ng || n->g[i].fetch == NULL ||
	    !(n->g[i].events & NE_NEW) || s->mbox == NULL)
		return;
	/* the new messages are the last ones, in UID order */
	count = mbox_count(s->mbox);
	for (seq = count; seq > 0 && (m = mbox_get(s->mbox, seq)) != NULL &&
	     m->uid > top; seq--)
		;
	while (++seq <= count)
		s->srv->cmds->fetch_att_send(s, n->g[i].fetch, seq);
}

/* ---- the command ---- */

static int parse_event(const struct imap_cmd *cmd, size_t i,
		       unsigned *events, int *unsupported)
{
	static const struct {
		const char *name;
		unsigned bit;
	} ev[] = {
		{"MessageNew", NE_NEW}, {"MessageExpunge", NE_EXPUNGE},
		{"FlagChange", NE_FLAGS}, {"MailboxName", NE_NAME},
		{"SubscriptionChange", NE_SUB},
	};
	size_t k;

	if (cmd->args[i].type != IMAP_ARG_ATOM)
		return -1;
	for (k = 0; k < sizeof(ev) / sizeof(ev[0]); k++)
		if (imap_arg_is(cmd, i, ev[k].name)) {
			*events |= ev[k].bit;
			return 0;
		}
	if (imap_arg_is(cmd, i, "AnnotationChange") ||
	    imap_arg_is(cmd, i, "MailboxMetadataChange") ||
	    imap_arg_is(cmd, i, "ServerMetadataChange")) {
		*unsupported = 1;
		return 0;
	}
	return -1;
}

static int add_name(struct nf_group *g, const char *name)
{
	char **nn;

	if (name == NULL || g->nnames == LIM_IMAP_NOTIFY_NAMES)
		return -1;
	nn = realloc(g->names, (g->nnames + 1) * sizeof(*nn));
	if (nn == NULL)
		return -1;
	g->names = nn;
	if ((nn[g->nnames] = strdup(name)) == NULL)
		return -1;
	g->nnames++;
	return 0;
}

/* One event group "(filter [mailboxes] events)" at args[i] (RFC 5465
 * 8, event-group; MessageNew's fetch attributes parsed by the command
 * table's FETCH). 0, -1 malformed, -2 an event we do not offer. */
static int parse_group(const struct imap_commands *cmds,
		       const struct imap_cmd *cmd, size_t i, struct nf_group *g)
{
	size_t end = imap_arg_next(cmd, i), j = i + 1, k, e;
	int unsupported = 0;
	unsigned kd;

	memset(g, 0, sizeof(*g));
	if (cmd->args[i].type != IMAP_ARG_LIST || j >= end)
		return -1;
	for (kd = 0; kd < sizeof(kind_names) / sizeof(kind_names[0]); kd++)
		if (imap_arg_is(cmd, j, kind_names[kd]))
			break;
	if (kd == sizeof(kind_names) / sizeof(kind_names[0]))
		return -1;
	g->kind = (enum nf_kind)kd;
	j++;
	if (g->kind == NF_SUBTREE || g->kind == NF_MAILBOXES) {
		if (j >= end)
			return -1;
		if (cmd->args[j].type == IMAP_ARG_LIST) {
			e = imap_arg_next(cmd, j);
			if (e == j + 1)
				return -1;
			for (k = j + 1; k < e; k++)
				if (add_name(g, imap_arg_str(cmd, k)) < 0)
					return -1;
			j = e;
		} else if (add_name(g, imap_arg_str(cmd, j++)) < 0) {
			return -1;
		}
	}
	if (j >= end)
		return -1;
	if (cmd->args[j].type == IMAP_ARG_ATOM && imap_arg_is(cmd, j, "NONE")) {
		j++;
	} else if (cmd->args[j].type == IMAP_ARG_LIST &&
		   cmd->args[j].nsub > 0) {
		e = imap_arg_next(cmd, j);
		for (k = j + 1; k < e; k = imap_arg_next(cmd, k)) {
			/* MessageNew's fetch attributes: only for the
			 * selected folder (RFC 5465 8, filter-selected) */
			if (cmd->args[k].type == IMAP_ARG_LIST &&
			    k > j + 1 && imap_arg_is(cmd, k - 1, "MessageNew")) {
				if ((g->kind != NF_SELECTED &&
				     g->kind != NF_SELECTED_DELAYED) ||
				    g->fetch != NULL ||
				    (g->fetch = cmds->fetch_att_parse(cmd, k))
				    == NULL)
					return -1;
				continue;
			}
			if (parse_event(cmd, k, &g->events, &unsupported) < 0)
				return -1;
		}
		j = e;
	} else {
		return -1;
	}
	if (j != end)
		return -1;
	/* RFC 5465 5: MessageNew and MessageExpunge go together, and
	 * FlagChange needs both */
	if (!(g->events & NE_NEW) != !(g->events & NE_EXPUNGE) ||
	    ((g->events & NE_FLAGS) && !(g->events & NE_NEW)))
		return -1;
	return unsupported ? -2 : 0;
}

/* The selectable folders, collected first: status_report() may list
 * the folders again (subscribed). */
struct base_walk {
	char **names;
	size_t n;
};

static int base_cb(void *arg, const char *name, unsigned attrs)
{
	struct base_walk *w = arg;
	char **nn;

	if (attrs & MBOX_ATTR_NOSELECT)
		return 0;
	nn = realloc(w->names, (w->n + 1) * sizeof(*nn));
	if (nn == NULL)
		return 1;
	w->names = nn;
	if ((nn[w->n] = strdup(name)) == NULL)
		return 1;
	w->n++;
	return 0;
}

/* Note what each watched folder is like now; send it too with
 * NOTIFY SET STATUS (RFC 5465 3.1). */
static void baseline(struct imap_sess *s, int send)
{
	struct base_walk w = {NULL, 0};
	size_t k;

	mbox_list(imap_store(s)->mbox, s->user, base_cb, &w);
	for (k = 0; k < w.n; k++) {
		status_report(s, w.names[k], send ? REPORT_ALWAYS
			      : REPORT_QUIET);
		free(w.names[k]);
	}
	free(w.names);
}

void imap_cmd_notify(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct imap_notify *n;
	size_t i = 1;
	int rc, send = 0;

	if (cmd->nargs == 1 && imap_arg_is(cmd, 0, "NONE")) {
		imap_notify_free(s);
		imap_notify_rewatch(s);
		imap_ok(s, cmd->tag, "NOTIFY completed");
		return;
	}
	if (cmd->nargs < 2 || !imap_arg_is(cmd, 0, "SET")) {
		imap_bad(s, cmd->tag, "Syntax: NOTIFY SET|NONE ...");
		return;
	}
	if (cmd->args[1].type == IMAP_ARG_ATOM &&
	    imap_arg_is(cmd, 1, "STATUS")) {
		send = 1;
		i = 2;
	}
	if (s->notify == NULL && (s->notify = calloc(1, sizeof(*n))) == NULL) {
		imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	n = s->notify;
	notify_clear(n, s->srv);
	for (rc = 0; i < cmd->nargs && rc == 0; i = imap_arg_next(cmd, i)) {
		if (n->ng == LIM_IMAP_NOTIFY_GROUPS)
			rc = -1;
		else if ((rc = parse_group(s->srv->cmds, cmd, i,
					   &n->g[n->ng])) == 0 || rc == -2)
			n->ng++;	/* freed by imap_notify_free */
	}
	if (rc < 0 || n->ng == 0) {
		imap_notify_free(s);
		imap_notify_rewatch(s);
		if (rc == -2)
			imap_no(s, cmd->tag, "[BADEVENT (MessageNew "
				"MessageExpunge FlagChange MailboxName "
				"SubscriptionChange)] Event not supported");
		else
			imap_bad(s, cmd->tag, "Syntax: NOTIFY SET [(STATUS)] "
				 "(filter events)...");
		return;
	}
	baseline(s, send);
	imap_notify_rewatch(s);
	imap_ok(s, cmd->tag, "NOTIFY completed");
}
