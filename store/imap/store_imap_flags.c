/*
 * NAME
 *	store_imap_flags - flag lists, keyword announcements, message sets
 *	and the saved result of the selected folder
 * DESCRIPTION
 *	The helpers every message command shares (part of the IMAP core):
 *	the flag list of a message as IMAP writes it, parsing a flag list
 *	(system flags and keywords; a folder has at most
 *	MBOX_MAX_KEYWORDS), untagged FLAGS when a keyword is new to the
 *	session (RFC 3501 7.2.6), turning a sequence set (of numbers or
 *	UIDs, or "$" of RFC 5182) into the sequence numbers of the view,
 *	and writing one back. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"

static const struct {
	unsigned bit;
	const char *name;
} sysflags[] = {
	{MBOX_SEEN, "\\Seen"},
	{MBOX_ANSWERED, "\\Answered"},
	{MBOX_FLAGGED, "\\Flagged"},
	{MBOX_DELETED, "\\Deleted"},
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
static int too_many_keywords(
	struct imap_sess *s, const struct imap_cmd *cmd, size_t i, size_t end)
{
	size_t k, j, used = 0, fresh = 0;
	const char *f;

	while (used < MBOX_MAX_KEYWORDS &&
		mbox_keyword(s->mbox, (unsigned)used))
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

int imap_flags_parse(struct imap_sess *s, const struct imap_cmd *cmd, size_t i,
	int create, unsigned *flags, uint32_t *kw, char *err, size_t errlen)
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
			continue; /* APPEND keeps system flags only */
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
void imap_flags_lines(struct imap_sess *s)
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
		imap_flags_lines(s);
}
