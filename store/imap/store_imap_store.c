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
#include "store_learn.h"
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
	/* \Recent is the view's: exactly one session holds it; there
	 * is none in IMAP4rev2 (RFC 9051 E.1) */
	if ((m->flags & MBOX_RECENT) && !s->rev2)
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

int imap_saved_has(const struct imap_sess *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nsaved, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->saved[mid] == uid)
			return 1;
		if (s->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void imap_saved_set(struct imap_sess *s, const uint32_t *seqs, size_t n)
{
	const struct mbox_msg *m;
	size_t i;

	free(s->saved);
	s->saved = NULL;
	s->nsaved = 0;
	if (n == 0)
		return;
	s->saved = malloc(n * sizeof(*s->saved));
	if (s->saved == NULL)
		return;
	for (i = 0; i < n; i++)
		if ((m = mbox_get(s->mbox, seqs[i])) != NULL)
			s->saved[s->nsaved++] = m->uid;
}

/* "$": the saved UIDs still in the view, as sequence numbers. */
static int resolve_saved(struct imap_sess *s, uint32_t **seqs, size_t *n)
{
	size_t i;
	uint32_t q;

	*seqs = malloc((s->nsaved ? s->nsaved : 1) * sizeof(**seqs));
	if (*seqs == NULL)
		return -1;
	for (i = 0; i < s->nsaved; i++)
		if ((q = mbox_seq(s->mbox, s->saved[i])) != 0)
			(*seqs)[(*n)++] = q;
	if (*n == 0) {
		free(*seqs);
		*seqs = NULL;
	}
	return 0;
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
	if (strcmp(set, "$") == 0)
		return resolve_saved(s, seqs, n);
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
