/*
 * NAME
 *	store_imap_store - STORE and UID STORE; flag lists; sequence sets
 * DESCRIPTION
 *	RFC 3501 6.4.6: FLAGS, +FLAGS, -FLAGS with .SILENT; system flags
 *	and keywords (a folder has at most MBOX_MAX_KEYWORDS). Also the
 *	helpers every message command shares: the flag list of a message
 *	as IMAP writes it, parsing a flag list, and turning a sequence set
 *	(of numbers or UIDs) into the sequence numbers of the view.
 *	Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap.h"
#include "store_mbox.h"

static const struct {
	unsigned bit;
	const char *name;
} sysflags[] = {
	{MBOX_SEEN, "\\Seen"},	     {MBOX_ANSWERED, "\\Answered"},
	{MBOX_FLAGGED, "\\Flagged"}, {MBOX_DELETED, "\\Deleted"},
	{MBOX_DRAFT, "\\Draft"},
};

void imap_flags_out(struct imap_sess *s, uint32_t seq, struct sbuf *out)
{
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	const char *sep = "", *kw;
	unsigned i;

	sbuf_puts(out, "(");
	if (m == NULL) {
		sbuf_puts(out, ")");
		return;
	}
	for (i = 0; i < sizeof(sysflags) / sizeof(sysflags[0]); i++)
		if (m->flags & sysflags[i].bit) {
			sbuf_printf(out, "%s%s", sep, sysflags[i].name);
			sep = " ";
		}
	for (i = 0; i < MBOX_MAX_KEYWORDS; i++)
		if ((m->keywords & (1u << i)) &&
		    (kw = mbox_keyword(s->mbox, i)) != NULL) {
			sbuf_printf(out, "%s%s", sep, kw);
			sep = " ";
		}
	/* \Recent is the view's: exactly one session holds it */
	if (m->flags & MBOX_RECENT)
		sbuf_printf(out, "%s\\Recent", sep);
	sbuf_puts(out, ")");
}

/* RFC 3501 9: flag-keyword = atom (no '\', no wildcards, no ']'). */
static int keyword_ok(const char *k)
{
	if (*k == '\0')
		return 0;
	for (; *k; k++)
		if (strchr("\\%*]", *k) != NULL)
			return 0;
	return 1;
}

/* Would the keywords in args[i..end) overflow the folder's table? Counts
 * each new name once, so that a refused list creates none of them. */
static int too_many_keywords(struct imap_sess *s, const struct imap_cmd *cmd,
			     size_t i, size_t end)
{
	size_t k, j, used = 0, fresh = 0;
	const char *f;

	while (used < MBOX_MAX_KEYWORDS && mbox_keyword(s->mbox,
						       (unsigned)used))
		used++;
	for (k = i; k < end; k++) {
		f = cmd->args[k].s;
		if (cmd->args[k].type != IMAP_ARG_ATOM || f[0] == '\\' ||
		    mbox_keyword_index(s->mbox, f, 0) >= 0)
			continue;
		for (j = i; j < k; j++)
			if (cmd->args[j].type == IMAP_ARG_ATOM &&
			    strcasecmp(cmd->args[j].s, f) == 0)
				break;
		if (j == k)
			fresh++;
	}
	return used + fresh > MBOX_MAX_KEYWORDS;
}

int imap_flags_parse(struct imap_sess *s, const struct imap_cmd *cmd,
		     size_t i, int create, unsigned *flags, uint32_t *kw,
		     char *err, size_t errlen)
{
	size_t end, k, j;
	const char *f;
	int idx;

	*flags = 0;
	*kw = 0;
	if (i >= cmd->nargs) {
		snprintf(err, errlen, "Missing flags");
		return -1;
	}
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		end = imap_arg_next(cmd, i);
		i++;
	} else {
		end = cmd->nargs;
	}
	for (k = i; k < end; k++) {
		if (cmd->args[k].type != IMAP_ARG_ATOM) {
			snprintf(err, errlen, "Flags must be atoms");
			return -1;
		}
		f = cmd->args[k].s;
		if (k == i && create > 0 && s->mbox && !s->readonly &&
		    too_many_keywords(s, cmd, i, end)) {
			snprintf(err, errlen, "[LIMIT] Too many keywords");
			return -2;
		}
		if (f[0] == '\\') {
			for (j = 0; j < sizeof(sysflags) / sizeof(sysflags[0]);
			     j++)
				if (strcasecmp(f, sysflags[j].name) == 0)
					break;
			if (j < sizeof(sysflags) / sizeof(sysflags[0]))
				*flags |= sysflags[j].bit;
			else if (strcasecmp(f, "\\Recent") != 0) {
				snprintf(err, errlen, "Unknown system flag");
				return -1;
			}
			continue;
		}
		if (!keyword_ok(f)) {
			snprintf(err, errlen, "Invalid keyword");
			return -1;
		}
		if (s->mbox == NULL || create < 0)
			continue;	/* APPEND keeps system flags only */
		idx = mbox_keyword_index(s->mbox, f, create);
		if (idx < 0 && create) {
			snprintf(err, errlen, "[LIMIT] Too many keywords");
			return -2;
		}
		if (idx >= 0 && idx < MBOX_MAX_KEYWORDS)
			*kw |= 1u << idx;
	}
	return 0;
}

void imap_set_write(struct sbuf *o, const uint32_t *u, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j + 1 < n && u[j + 1] == u[j] + 1; j++)
			;
		if (o->len && o->data[o->len - 1] != ' ')
			sbuf_puts(o, ",");
		if (j > i)
			sbuf_printf(o, "%u:%u", u[i], u[j]);
		else
			sbuf_printf(o, "%u", u[i]);
		i = j + 1;
	}
}

int imap_resolve_set(struct imap_sess *s, const char *set, int uid,
		     uint32_t **seqs, size_t *n)
{
	uint32_t count = mbox_count(s->mbox), star = count, i;
	const struct mbox_msg *m;
	struct imap_seqset ss;
	size_t cap = 0;

	*seqs = NULL;
	*n = 0;
	if (uid) {
		m = count ? mbox_get(s->mbox, count) : NULL;
		star = m ? m->uid : 0;
	}
	if (imap_seqset_parse(set, star, &ss) < 0)
		return -1;
	for (i = 1; i <= count; i++) {
		m = uid ? mbox_get(s->mbox, i) : NULL;
		if (!imap_seqset_has(&ss, uid ? (m ? m->uid : 0) : i))
			continue;
		if (*n == cap) {
			uint32_t *nn;

			cap = cap ? cap * 2 : 64;
			nn = realloc(*seqs, cap * sizeof(**seqs));
			if (nn == NULL) {
				free(*seqs);
				*seqs = NULL;
				*n = 0;
				imap_seqset_free(&ss);
				return -1;
			}
			*seqs = nn;
		}
		(*seqs)[(*n)++] = i;
	}
	imap_seqset_free(&ss);
	return 0;
}

void imap_cmd_store(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *set = imap_arg_str(cmd, 0), *item = imap_arg_str(cmd, 1);
	int mode, silent, rc;
	enum mbox_flag_op op;
	unsigned flags;
	uint32_t kw, *seqs;
	size_t n, i, plen;
	const struct mbox_msg *m;
	char err[128];
	struct sbuf fl;

	if (cmd->nargs < 3 || set == NULL || item == NULL ||
	    cmd->args[1].type != IMAP_ARG_ATOM) {
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
	if (cmd->args[2].type == IMAP_ARG_LIST &&
	    imap_arg_next(cmd, 2) != cmd->nargs) {
		imap_bad(s, cmd->tag, "Syntax: STORE set item flags");
		return;
	}
	rc = imap_flags_parse(s, cmd, 2, mode >= 0, &flags, &kw, err,
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
	/* a keyword this STORE made is announced before it is shown */
	imap_keywords_announce(s);
	sbuf_init(&fl, 65536);
	for (i = 0; i < n; i++) {
		/* read-modify-write on the folder as it is now, not on
		 * this session's view of it (another session may have
		 * changed the flags since we last looked) */
		if (mbox_update_flags(s->mbox, seqs[i], op, flags, kw) < 0)
			continue;
		if (silent)
			continue;
		m = mbox_get(s->mbox, seqs[i]);
		sbuf_reset(&fl);
		imap_flags_out(s, seqs[i], &fl);
		if (cmd->uid && m)
			imap_untagged(s, "%u FETCH (UID %u FLAGS %s)", seqs[i],
				      m->uid, fl.data);
		else
			imap_untagged(s, "%u FETCH (FLAGS %s)", seqs[i],
				      fl.data);
	}
	sbuf_free(&fl);
	free(seqs);
	imap_ok(s, cmd->tag, "%sSTORE completed", cmd->uid ? "UID " : "");
}
