/*
 * NAME
 *	store_imap_names - mailbox names of an IMAP4rev2 session
 * DESCRIPTION
 *	Folders are stored under the 7-bit names IMAP4rev1 clients use
 *	(modified UTF-7, RFC 3501 5.1.3). Once a session has enabled
 *	IMAP4rev2 it sends and sees names in UTF-8 (RFC 9051 5.1): the
 *	mailbox arguments of each command are encoded before its handler
 *	runs, and every name the server writes is decoded (a stored name
 *	that is not valid modified UTF-7 goes out as it is). Faces the
 *	network.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_imap_core.h"

static int push(struct imap_names_conv *cv, char *p)
{
	char **np = realloc(cv->p, (cv->n + 1) * sizeof(*np));

	if (np == NULL)
		return -1;
	cv->p = np;
	np[cv->n++] = p;
	return 0;
}

/* Encode the astring args[i] in place. 0, or -1 when not UTF-8. */
static int encode_arg(struct imap_cmd *cmd, size_t i,
		      struct imap_names_conv *cv)
{
	const char *in = imap_arg_str(cmd, i);
	size_t n, max;
	char *out;

	if (in == NULL)
		return 0;
	n = strlen(in);
	if (n != cmd->args[i].len)
		return -1;	/* a NUL inside */
	/* at most 5 octets for 1 ("\t" is "&AAk-") */
	max = 5 * n + 3;
	if ((out = malloc(max)) == NULL)
		return -1;
	if (imap_mutf7_encode(in, out, max) < 0 || push(cv, out) < 0) {
		free(out);
		return -1;
	}
	cmd->args[i].s = out;
	cmd->args[i].len = strlen(out);
	cmd->args[i].type = IMAP_ARG_QUOTED;
	return 0;
}

/* args[i] and, when it is a list, every string inside it. */
static int encode_one_or_list(struct imap_cmd *cmd, size_t i,
			      struct imap_names_conv *cv)
{
	size_t k, end;

	if (i >= cmd->nargs)
		return 0;
	if (cmd->args[i].type != IMAP_ARG_LIST)
		return encode_arg(cmd, i, cv);
	end = imap_arg_next(cmd, i);
	for (k = i + 1; k < end; k++)
		if (encode_arg(cmd, k, cv) < 0)
			return -1;
	return 0;
}

static int encode_names(struct imap_cmd *cmd, struct imap_names_conv *cv)
{
	static const char *const first[] = {
		"SELECT", "EXAMINE", "CREATE", "DELETE", "SUBSCRIBE",
		"UNSUBSCRIBE", "STATUS", "APPEND", "GETQUOTAROOT",
	};
	size_t k, i;

	for (k = 0; k < sizeof(first) / sizeof(first[0]); k++)
		if (strcmp(cmd->name, first[k]) == 0)
			return encode_arg(cmd, 0, cv);
	if (strcmp(cmd->name, "RENAME") == 0)
		return encode_arg(cmd, 0, cv) < 0 ? -1
		       : encode_arg(cmd, 1, cv);
	if (strcmp(cmd->name, "COPY") == 0 || strcmp(cmd->name, "MOVE") == 0)
		return encode_arg(cmd, 1, cv);
	if (strcmp(cmd->name, "LIST") == 0 || strcmp(cmd->name, "LSUB") == 0) {
		/* [(selection options)] reference pattern|(patterns) */
		i = cmd->nargs && cmd->args[0].type == IMAP_ARG_LIST
			? imap_arg_next(cmd, 0) : 0;
		if (encode_arg(cmd, i, cv) < 0)
			return -1;
		return encode_one_or_list(cmd, i + 1, cv);
	}
	if (strcmp(cmd->name, "NOTIFY") == 0) {
		/* (subtree|mailboxes name|(names) events) */
		for (i = 0; i + 1 < cmd->nargs; i++)
			if ((imap_arg_is(cmd, i, "SUBTREE") ||
			     imap_arg_is(cmd, i, "MAILBOXES")) &&
			    encode_one_or_list(cmd, i + 1, cv) < 0)
				return -1;
	}
	return 0;
}

int imap_mailbox_args(struct imap_sess *s, struct imap_cmd *cmd,
		      struct imap_names_conv *conv)
{
	conv->p = NULL;
	conv->n = 0;
	if (!s->rev2 || encode_names(cmd, conv) == 0)
		return 0;
	imap_mailbox_args_free(conv);
	imap_bad(s, cmd->tag, "Mailbox name is not UTF-8");
	return -1;
}

void imap_mailbox_args_free(struct imap_names_conv *conv)
{
	size_t i;

	for (i = 0; i < conv->n; i++)
		free(conv->p[i]);
	free(conv->p);
	conv->p = NULL;
	conv->n = 0;
}

void imap_write_mailbox(struct imap_sess *s, const char *name)
{
	size_t n = strlen(name), i, max = 2 * n + 1;
	char *u;

	if (!s->rev2 || (u = malloc(max)) == NULL) {
		imap_write_string(s, name, n);
		return;
	}
	if (imap_mutf7_decode(name, u, max) < 0) {
		free(u);
		imap_write_string(s, name, n);
		return;
	}
	/* RFC 9051 9, quoted: UTF-8 may stand in a quoted string */
	n = strlen(u);
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f)
			break;
	if (i < n) {
		imap_write_string(s, u, n);
		free(u);
		return;
	}
	conn_printf(s->c, "\"");
	for (i = 0; i < n; i++) {
		if (u[i] == '"' || u[i] == '\\')
			conn_printf(s->c, "\\");
		conn_write(s->c, u + i, 1);
	}
	conn_printf(s->c, "\"");
	free(u);
}
