/*
 * NAME
 *	store_imap_search - the search keys of SEARCH, SORT and THREAD
 * DESCRIPTION
 *	Every search key of RFC 3501 6.4.4, with CHARSET UTF-8 or US-ASCII
 *	(anything else: NO [BADCHARSET]); part of the IMAP core, which the
 *	commands SEARCH (store_imap_esearch.c), SORT and THREAD share. The keys are checked once,
 *	before any message is looked at: each key's end is noted so that
 *	evaluation can skip, sequence sets are parsed once, and OR/NOT/
 *	list nesting is bounded (LIM_IMAP_DEPTH), so the recursion of the
 *	checker and the evaluator is bounded too. A message's text is
 *	read and parsed only when a key needs it. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"
#include "store_mime.h"

enum karg { K_NONE, K_STR, K_DATE, K_NUM, K_FLAG, K_SET, K_HEADER,
	    K_MODSEQ };

enum kid {
	S_ALL, S_ANSWERED, S_BCC, S_BEFORE, S_BODY, S_CC, S_DELETED, S_DRAFT,
	S_FLAGGED, S_FROM, S_HEADER, S_KEYWORD, S_LARGER, S_NEW, S_OLD, S_ON,
	S_RECENT, S_SEEN, S_SENTBEFORE, S_SENTON, S_SENTSINCE, S_SINCE,
	S_SMALLER, S_SUBJECT, S_TEXT, S_TO, S_UID, S_UNANSWERED, S_UNDELETED,
	S_UNDRAFT, S_UNFLAGGED, S_UNKEYWORD, S_UNSEEN, S_MODSEQ,
};

static const struct skey {
	const char *name;
	enum kid id;
	enum karg arg;
} keys[] = {
	{"ALL", S_ALL, K_NONE},		{"ANSWERED", S_ANSWERED, K_NONE},
	{"BCC", S_BCC, K_STR},		{"BEFORE", S_BEFORE, K_DATE},
	{"BODY", S_BODY, K_STR},	{"CC", S_CC, K_STR},
	{"DELETED", S_DELETED, K_NONE}, {"DRAFT", S_DRAFT, K_NONE},
	{"FLAGGED", S_FLAGGED, K_NONE}, {"FROM", S_FROM, K_STR},
	{"HEADER", S_HEADER, K_HEADER}, {"KEYWORD", S_KEYWORD, K_FLAG},
	{"LARGER", S_LARGER, K_NUM},	{"MODSEQ", S_MODSEQ, K_MODSEQ},
	{"NEW", S_NEW, K_NONE},
	{"OLD", S_OLD, K_NONE},		{"ON", S_ON, K_DATE},
	{"RECENT", S_RECENT, K_NONE},	{"SEEN", S_SEEN, K_NONE},
	{"SENTBEFORE", S_SENTBEFORE, K_DATE},
	{"SENTON", S_SENTON, K_DATE},	{"SENTSINCE", S_SENTSINCE, K_DATE},
	{"SINCE", S_SINCE, K_DATE},	{"SMALLER", S_SMALLER, K_NUM},
	{"SUBJECT", S_SUBJECT, K_STR},	{"TEXT", S_TEXT, K_STR},
	{"TO", S_TO, K_STR},		{"UID", S_UID, K_SET},
	{"UNANSWERED", S_UNANSWERED, K_NONE},
	{"UNDELETED", S_UNDELETED, K_NONE},
	{"UNDRAFT", S_UNDRAFT, K_NONE}, {"UNFLAGGED", S_UNFLAGGED, K_NONE},
	{"UNKEYWORD", S_UNKEYWORD, K_FLAG},
	{"UNSEEN", S_UNSEEN, K_NONE},
};

struct sctx {
	struct imap_sess *s;
	const struct imap_cmd *cmd;
	size_t *next;		/* per arg: index after the key there */
	const struct skey **key; /* per arg: the key, NULL for set/list */
	struct imap_seqset *sets; /* per arg: parsed sets */
	time_t *dates;		/* per arg of a date key: the day */
	uint64_t *mods;		/* per arg of a MODSEQ key: its value */
	unsigned char *dollar;	/* per arg: "$" (RFC 5182), as a set */
	int modseq_key;		/* RFC 7162 3.1.5: a MODSEQ key was used */
	/* the message being looked at */
	uint32_t seq;
	const struct mbox_msg *m;
	int loaded;
	struct sbuf data;
	struct mime_part *root;
};

static const struct skey *find_key(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcasecmp(keys[i].name, a) == 0)
			return &keys[i];
	return NULL;
}

static int is_set(const char *a)
{
	return (*a >= '0' && *a <= '9') || *a == '*';
}

/* RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
 * at i. Entries are per flag; ours is the message's, so the entry only
 * has to be well-formed. 0 or -1. */
static int check_modseq(struct sctx *c, size_t i)
{
	const struct imap_cmd *cmd = c->cmd;
	size_t v = i + 1;

	if (v < cmd->nargs && cmd->args[v].type != IMAP_ARG_ATOM) {
		if (v + 2 >= cmd->nargs ||
		    strncmp(cmd->args[v].s, "/flags/", 7) != 0 ||
		    (!imap_arg_is(cmd, v + 1, "priv") &&
		     !imap_arg_is(cmd, v + 1, "shared") &&
		     !imap_arg_is(cmd, v + 1, "all")))
			return -1;
		v += 2;
	}
	if (v >= cmd->nargs || cmd->args[v].type != IMAP_ARG_ATOM ||
	    imap_parse_modseq(cmd->args[v].s, 1, &c->mods[i]) < 0)
		return -1;
	c->next[i] = v + 1;
	c->modseq_key = 1;
	return 0;
}

/* Check the key at i; note its end. 0 or -1. */
static int check(struct sctx *c, size_t i, unsigned depth)
{
	const struct imap_cmd *cmd = c->cmd;
	const struct skey *k;
	size_t j;
	uint32_t count = mbox_count(c->s->mbox), star = count;
	const struct mbox_msg *m;

	if (i >= cmd->nargs || depth > LIM_IMAP_DEPTH)
		return -1;
	if (cmd->args[i].type == IMAP_ARG_LIST) {
		size_t end = imap_arg_next(cmd, i);

		if (end == i + 1)
			return -1;
		for (j = i + 1; j < end; j = c->next[j])
			if (check(c, j, depth + 1) < 0 || c->next[j] > end)
				return -1;
		c->next[i] = end;
		return 0;
	}
	if (cmd->args[i].type != IMAP_ARG_ATOM)
		return -1;
	if (strcasecmp(cmd->args[i].s, "NOT") == 0) {
		if (check(c, i + 1, depth + 1) < 0)
			return -1;
		c->next[i] = c->next[i + 1];
		return 0;
	}
	if (strcasecmp(cmd->args[i].s, "OR") == 0) {
		if (check(c, i + 1, depth + 1) < 0 ||
		    check(c, c->next[i + 1], depth + 1) < 0)
			return -1;
		c->next[i] = c->next[c->next[i + 1]];
		return 0;
	}
	if (strcmp(cmd->args[i].s, "$") == 0) {
		c->next[i] = i + 1;
		c->dollar[i] = 1;
		return 0;
	}
	if (is_set(cmd->args[i].s)) {
		c->next[i] = i + 1;
		return imap_seqset_parse(cmd->args[i].s, star, &c->sets[i]);
	}
	k = find_key(cmd->args[i].s);
	/* RFC 9051 E.1: no \Recent, so no NEW, OLD, RECENT keys */
	if (k == NULL || (c->s->rev2 && (k->id == S_NEW || k->id == S_OLD ||
					 k->id == S_RECENT)))
		return -1;
	c->key[i] = k;
	if (k->arg == K_MODSEQ)
		return check_modseq(c, i);
	c->next[i] = i + 1 + (k->arg != K_NONE) + (k->arg == K_HEADER);
	if (c->next[i] > cmd->nargs)
		return -1;
	for (j = i + 1; j < c->next[i]; j++)
		if (imap_arg_str(cmd, j) == NULL)
			return -1;
	switch (k->arg) {
	case K_DATE:
		c->dates[i] = imap_parse_date(cmd->args[i + 1].s);
		return c->dates[i] == -1 ? -1 : 0;
	case K_NUM:
		return cmd->args[i + 1].type == IMAP_ARG_ATOM &&
		       strspn(cmd->args[i + 1].s, "0123456789") ==
			       cmd->args[i + 1].len && cmd->args[i + 1].len &&
		       cmd->args[i + 1].len < 19 ? 0 : -1;
	case K_FLAG:
		return cmd->args[i + 1].type == IMAP_ARG_ATOM ? 0 : -1;
	case K_SET:
		if (strcmp(cmd->args[i + 1].s, "$") == 0) {
			c->dollar[i] = 1;
			return 0;
		}
		m = count ? mbox_get(c->s->mbox, count) : NULL;
		star = m ? m->uid : 0;
		return imap_seqset_parse(cmd->args[i + 1].s, star,
					 &c->sets[i]);
	default:
		return 0;
	}
}

/* Read and parse the message when a key needs its text. */
static const struct mime_part *text(struct sctx *c)
{
	if (!c->loaded) {
		c->loaded = 1;
		sbuf_reset(&c->data);
		if (mbox_read(c->s->mbox, c->seq, &c->data) == 0)
			c->root = mime_parse(c->data.data ? c->data.data : "",
					     c->data.len, NULL);
	}
	return c->root;
}

static int flag_kw(struct sctx *c, const char *name)
{
	static const struct {
		const char *n;
		unsigned bit;
	} sys[] = {
		{"\\Seen", MBOX_SEEN}, {"\\Answered", MBOX_ANSWERED},
		{"\\Flagged", MBOX_FLAGGED}, {"\\Deleted", MBOX_DELETED},
		{"\\Draft", MBOX_DRAFT},
	};
	size_t i;
	int idx;

	for (i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (strcasecmp(name, sys[i].n) == 0)
			return (c->m->flags & sys[i].bit) != 0;
	idx = mbox_keyword_index(c->s->mbox, name, 0);
	return idx >= 0 && idx < 32 && (c->m->keywords & (1u << idx));
}

static int header_has(struct sctx *c, const char *field, const char *s)
{
	const struct mime_part *r = text(c);

	return r && mime_header_contains(r, field, s);
}

static int sent_cmp(struct sctx *c, time_t day)
{
	const struct mime_part *r = text(c);
	int zone = 0;
	time_t t = r ? mime_date_zone(r, &zone) : -1;

	if (t == -1)
		return -2;
	/* RFC 3501 6.4.4: the date as the sender wrote it */
	t += (time_t)zone * 60;
	t -= ((t % 86400) + 86400) % 86400;
	return t < day ? -1 : t > day;
}

static int eval(struct sctx *c, size_t i)
{
	const struct imap_cmd *cmd = c->cmd;
	const struct mbox_msg *m = c->m;
	const struct skey *k = c->key[i];
	const char *a = cmd->nargs > i + 1 ? cmd->args[i + 1].s : "";
	time_t day = m->internaldate - ((m->internaldate % 86400) + 86400) %
		     86400;
	unsigned f = m->flags;
	int recent = (m->flags & MBOX_RECENT) != 0, r;
	size_t j;

	if (cmd->args[i].type == IMAP_ARG_LIST) {
		for (j = i + 1; j < c->next[i]; j = c->next[j])
			if (!eval(c, j))
				return 0;
		return 1;
	}
	if (k == NULL) {
		if (strcasecmp(cmd->args[i].s, "NOT") == 0)
			return !eval(c, i + 1);
		if (strcasecmp(cmd->args[i].s, "OR") == 0)
			return eval(c, i + 1) || eval(c, c->next[i + 1]);
		if (c->dollar[i])
			return imap_saved_has(c->s, m->uid);
		return imap_seqset_has(&c->sets[i], c->seq);
	}
	switch (k->id) {
	case S_ALL:
		return 1;
	case S_ANSWERED:
		return (f & MBOX_ANSWERED) != 0;
	case S_DELETED:
		return (f & MBOX_DELETED) != 0;
	case S_DRAFT:
		return (f & MBOX_DRAFT) != 0;
	case S_FLAGGED:
		return (f & MBOX_FLAGGED) != 0;
	case S_SEEN:
		return (f & MBOX_SEEN) != 0;
	case S_UNANSWERED:
		return !(f & MBOX_ANSWERED);
	case S_UNDELETED:
		return !(f & MBOX_DELETED);
	case S_UNDRAFT:
		return !(f & MBOX_DRAFT);
	case S_UNFLAGGED:
		return !(f & MBOX_FLAGGED);
	case S_UNSEEN:
		return !(f & MBOX_SEEN);
	case S_RECENT:
		return recent;
	case S_NEW:
		return recent && !(f & MBOX_SEEN);
	case S_OLD:
		return !recent;
	case S_KEYWORD:
		return flag_kw(c, a);
	case S_UNKEYWORD:
		return !flag_kw(c, a);
	case S_LARGER:
		return m->size > atoll(a);
	case S_SMALLER:
		return m->size < atoll(a);
	case S_BEFORE:
		return day < c->dates[i];
	case S_ON:
		return day == c->dates[i];
	case S_SINCE:
		return day >= c->dates[i];
	case S_UID:
		if (c->dollar[i])
			return imap_saved_has(c->s, m->uid);
		return imap_seqset_has(&c->sets[i], m->uid);
	case S_MODSEQ:
		return m->modseq >= c->mods[i];
	case S_SENTBEFORE:
	case S_SENTON:
	case S_SENTSINCE:
		r = sent_cmp(c, c->dates[i]);
		if (r == -2)
			return 0;
		return k->id == S_SENTBEFORE ? r < 0 : k->id == S_SENTON ?
			r == 0 : r >= 0;
	case S_HEADER:
		return header_has(c, a, cmd->args[i + 2].s);
	case S_BODY:
		return text(c) && mime_body_contains(c->root, a);
	case S_TEXT:
		return text(c) && mime_text_contains(c->root, a);
	case S_BCC:
	case S_CC:
	case S_FROM:
	case S_SUBJECT:
	case S_TO:
		break;
	}
	/* a header of the key's name */
	return header_has(c, k->name, a);
}

static void ctx_free(struct sctx *c)
{
	size_t i;

	if (c->sets)
		for (i = 0; i < c->cmd->nargs; i++)
			imap_seqset_free(&c->sets[i]);
	free(c->sets);
	free(c->next);
	free(c->key);
	free(c->dates);
	free(c->mods);
	free(c->dollar);
	mime_free(&c->root);
	sbuf_free(&c->data);
}

int imap_search_keys(struct imap_sess *s, const struct imap_cmd *cmd,
		     size_t first, uint32_t **hits, size_t *nhits,
		     uint64_t *top)
{
	struct sctx c;
	size_t i, n = cmd->nargs ? cmd->nargs : 1;
	uint32_t seq, count = mbox_count(s->mbox);
	int rc = 0;

	*hits = NULL;
	*nhits = 0;
	*top = 0;
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.cmd = cmd;
	c.next = calloc(n, sizeof(*c.next));
	c.key = calloc(n, sizeof(*c.key));
	c.sets = calloc(n, sizeof(*c.sets));
	c.dates = calloc(n, sizeof(*c.dates));
	c.mods = calloc(n, sizeof(*c.mods));
	c.dollar = calloc(n, 1);
	*hits = malloc((count ? count : 1) * sizeof(**hits));
	sbuf_init(&c.data, (size_t)imap_store(s)->cfg->max_message_size * 2 +
		  65536);
	if (!c.next || !c.key || !c.sets || !c.dates || !c.mods ||
	    !c.dollar || !*hits) {
		rc = -2;
		goto done;
	}
	if (first >= cmd->nargs)
		rc = -1;
	for (i = first; i < cmd->nargs && rc == 0; i = c.next[i])
		if (check(&c, i, 0) < 0)
			rc = -1;
	for (seq = 1; seq <= count && rc == 0; seq++) {
		c.seq = seq;
		c.m = mbox_get(s->mbox, seq);
		c.loaded = 0;
		mime_free(&c.root);
		if (c.m == NULL)
			continue;
		for (i = first; i < cmd->nargs; i = c.next[i])
			if (!eval(&c, i))
				break;
		if (i < cmd->nargs)
			continue;
		if (c.m->modseq > *top)
			*top = c.m->modseq;
		(*hits)[(*nhits)++] = seq;
	}
	/* RFC 7162 3.1.5: the highest mod-sequence, when MODSEQ was used */
	if (c.modseq_key && rc == 0)
		imap_condstore_on(s);
	else
		*top = 0;
done:
	if (rc < 0) {
		free(*hits);
		*hits = NULL;
		*nhits = 0;
	}
	ctx_free(&c);
	return rc;
}

int imap_search_charset(struct imap_sess *s, const struct imap_cmd *cmd,
			const char *cs)
{
	if (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "US-ASCII") == 0)
		return 0;
	imap_no(s, cmd->tag, "[BADCHARSET (UTF-8 US-ASCII)] "
		"Unsupported charset");
	return -1;
}
