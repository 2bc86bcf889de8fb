/*
 * NAME
 *	store_imap_mailbox - what LIST and STATUS say about a mailbox
 * DESCRIPTION
 *	Shared by SELECT, LIST (LIST-EXTENDED, LIST-STATUS) and STATUS
 *	(part of the IMAP core): a folder's LIST attributes, and the items
 *	of a STATUS line (RFC 3501 6.3.10, RFC 8438 SIZE, RFC 7162, RFC
 *	9051 DELETED). Faces the network.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"

void imap_list_attrs(struct imap_sess *s, unsigned attrs, int subscribed)
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
	const char *sep = "";
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (attrs & names[k].bit) {
			conn_printf(s->c, "%s%s", sep, names[k].text);
			sep = " ";
		}
	if (subscribed && (attrs & MBOX_ATTR_SUBSCRIBED))
		conn_printf(s->c, "%s\\Subscribed", sep);
}

/* STATUS items (RFC 3501 6.3.10, RFC 8438 SIZE, RFC 7162, RFC 9051
 * DELETED). */
static const char *const status_items[] = {
	"MESSAGES",
	"RECENT",
	"UIDNEXT",
	"UIDVALIDITY",
	"UNSEEN",
	"SIZE",
	"HIGHESTMODSEQ",
	"DELETED",
};

static unsigned long long status_value(const struct mbox_status *st, int k)
{
	switch (k) {
	case 0:
		return st->messages;
	case 1:
		return st->recent;
	case 2:
		return st->uidnext;
	case 3:
		return st->uidvalidity;
	case 4:
		return st->unseen;
	case 5:
		return (unsigned long long)st->size;
	case 6:
		return st->highestmodseq;
	default:
		return st->deleted;
	}
}

static int status_item(const struct imap_cmd *cmd, size_t i)
{
	size_t k;

	for (k = 0; k < sizeof(status_items) / sizeof(status_items[0]); k++)
		if (imap_arg_is(cmd, i, status_items[k]))
			return (int)k;
	return -1;
}

int imap_status_list_ok(const struct imap_cmd *cmd, size_t list)
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

int imap_status_line(struct imap_sess *s, const char *name,
	const struct imap_cmd *cmd, size_t list)
{
	struct mbox_status stt;
	size_t i, end = imap_arg_next(cmd, list);
	const char *sep = "";

	if (mbox_status(imap_store(s)->mbox, s->user, name, &stt) < 0)
		return -1;
	conn_printf(s->c, "* STATUS ");
	imap_write_mailbox(s, name);
	conn_printf(s->c, " (");
	for (i = list + 1; i < end; i++) {
		int k = status_item(cmd, i);

		conn_printf(s->c, "%s%s %llu", sep, status_items[k],
			status_value(&stt, k));
		sep = " ";
	}
	conn_printf(s->c, ")\r\n");
	return 0;
}
