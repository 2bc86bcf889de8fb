/*
 * NAME
 *	store_imap_condstore - CONDSTORE and QRESYNC (RFC 7162) in sessions
 * DESCRIPTION
 *	The per-message mod-sequences live in store_mbox (durable with the
 *	UID list); this file holds what a session does with them: turning
 *	CONDSTORE on (ENABLE, or the first command that uses it, 3.1), the
 *	VANISHED responses that replace EXPUNGE once QRESYNC is enabled
 *	(3.2.10), VANISHED (EARLIER) for a resynchronizing client (3.2.5,
 *	3.2.6), and SELECT/EXAMINE's (CONDSTORE) and (QRESYNC (uidvalidity
 *	modseq [known-uids [seq-match-data]])) parameters. When the folder
 *	no longer remembers expunges as far back as a client asks
 *	(LIM_IMAP_VANISHED), every known UID missing from it is reported,
 *	as 3.2.5.2 allows. Faces the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_imap_core.h"
#include "store_mbox.h"

void imap_condstore_on(struct imap_sess *s)
{
	if (s->condstore)
		return;
	s->condstore = 1;
	/* RFC 7162 3.1: the client learns where it stands now */
	if (s->state == IMAP_SELECTED && s->mbox)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
			      (unsigned long long)mbox_highestmodseq(s->mbox));
}

void imap_expunged(struct imap_sess *s, uint32_t seq, uint32_t uid)
{
	uint32_t *v;

	if (!s->qresync) {
		imap_untagged(s, "%u EXPUNGE", seq);
		return;
	}
	if (s->nvanished == s->vanishedcap) {
		size_t nc = s->vanishedcap ? s->vanishedcap * 2 : 64;

		v = realloc(s->vanished, nc * sizeof(*v));
		if (v == NULL)
			log_fatal("out of memory");
		s->vanished = v;
		s->vanishedcap = nc;
	}
	s->vanished[s->nvanished++] = uid;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "* VANISHED [(EARLIER) ]set" for ascending UIDs u[0..n). */
static void vanished_line(struct imap_sess *s, int earlier,
			  const uint32_t *u, size_t n)
{
	struct sbuf o;

	if (n == 0)
		return;
	sbuf_init(&o, (size_t)-1 / 4);
	sbuf_puts(&o, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	imap_set_write(&o, u, n);
	sbuf_puts(&o, "\r\n");
	conn_write(s->c, o.data, o.len);
	sbuf_free(&o);
}

void imap_vanished_flush(struct imap_sess *s)
{
	if (s->nvanished == 0)
		return;
	qsort(s->vanished, s->nvanished, sizeof(*s->vanished), cmp_u32);
	vanished_line(s, 0, s->vanished, s->nvanished);
	s->nvanished = 0;
}

/* Append to o the UIDs of lo..hi that are not in the view, as ranges. */
static void gaps(struct imap_sess *s, uint32_t lo, uint32_t hi,
		 struct sbuf *o)
{
	uint32_t count = mbox_count(s->mbox), a = 1, b = count + 1, mid;
	uint64_t cur = lo, next;

	while (a < b) {		/* the first message at or above lo */
		mid = a + (b - a) / 2;
		if (mbox_get(s->mbox, mid)->uid < lo)
			a = mid + 1;
		else
			b = mid;
	}
	for (; cur <= hi; a++) {
		next = a <= count ? mbox_get(s->mbox, a)->uid :
			(uint64_t)hi + 1;
		if (next > hi)
			next = (uint64_t)hi + 1;
		if (next > cur) {
			if (o->len && o->data[o->len - 1] != ' ')
				sbuf_puts(o, ",");
			if (next - 1 > cur)
				sbuf_printf(o, "%llu:%llu",
					    (unsigned long long)cur,
					    (unsigned long long)next - 1);
			else
				sbuf_printf(o, "%llu", (unsigned long long)cur);
		}
		cur = next + 1;
	}
}

void imap_vanished_earlier(struct imap_sess *s, uint64_t since,
			   const struct imap_seqset *known)
{
	uint32_t *u, top = mbox_uidnext(s->mbox) - 1;
	struct sbuf o;
	size_t n, i, k;

	if (mbox_vanished(s->mbox, since, &u, &n) == 0) {
		for (i = k = 0; i < n; i++)
			if (known == NULL || known->n == 0 ||
			    imap_seqset_has(known, u[i]))
				u[k++] = u[i];
		vanished_line(s, 1, u, k);
		free(u);
		return;
	}
	/* expunges that old are forgotten: every known UID below UIDNEXT
	 * that the folder no longer has */
	sbuf_init(&o, (size_t)-1 / 4);
	sbuf_puts(&o, "* VANISHED (EARLIER) ");
	n = o.len;
	if (known == NULL || known->n == 0) {
		if (top >= 1)
			gaps(s, 1, top, &o);
	} else {
		for (i = 0; i < known->n && known->r[i][0] <= top; i++)
			gaps(s, known->r[i][0], known->r[i][1] < top ?
			     known->r[i][1] : top, &o);
	}
	if (o.len > n) {
		sbuf_puts(&o, "\r\n");
		conn_write(s->c, o.data, o.len);
	}
	sbuf_free(&o);
}

/* (QRESYNC (uidvalidity modseq [known-uids [(seq-set uid-set)]])) whose
 * inner list is args[i]: 0 or -1. */
static int parse_qresync(const struct imap_cmd *cmd, size_t i,
			 struct imap_qresync *q)
{
	size_t end = imap_arg_next(cmd, i), k = i + 1;
	unsigned long long uv;
	char *e;

	if (cmd->args[i].type != IMAP_ARG_LIST || k + 1 >= end ||
	    cmd->args[k].type != IMAP_ARG_ATOM ||
	    cmd->args[k + 1].type != IMAP_ARG_ATOM)
		return -1;
	uv = strtoull(cmd->args[k].s, &e, 10);
	if (*e != '\0' || cmd->args[k].s[0] < '1' ||
	    cmd->args[k].s[0] > '9' || uv > 0xffffffffULL ||
	    imap_parse_modseq(cmd->args[k + 1].s, 0, &q->modseq) < 0)
		return -1;
	q->uidvalidity = (uint32_t)uv;
	k += 2;
	if (k < end && cmd->args[k].type == IMAP_ARG_ATOM) {
		/* known-uids: UIDs, no "*" (sequence-set without it) */
		if (strchr(cmd->args[k].s, '*') != NULL ||
		    imap_seqset_parse(cmd->args[k].s, 0, &q->known) < 0)
			return -1;
		k++;
	}
	if (k < end) {
		/* seq-match-data: checked, then left alone (we remember
		 * expunges, or report every missing known UID) */
		struct imap_seqset a, b;

		if (cmd->args[k].type != IMAP_ARG_LIST ||
		    cmd->args[k].nsub != 2 || imap_arg_next(cmd, k) != end ||
		    cmd->args[k + 1].type != IMAP_ARG_ATOM ||
		    cmd->args[k + 2].type != IMAP_ARG_ATOM ||
		    imap_seqset_parse(cmd->args[k + 1].s, 0, &a) < 0)
			return -1;
		imap_seqset_free(&a);
		if (imap_seqset_parse(cmd->args[k + 2].s, 0, &b) < 0)
			return -1;
		imap_seqset_free(&b);
	}
	q->on = 1;
	return 0;
}

int imap_select_params(struct imap_sess *s, struct imap_cmd *cmd,
		       struct imap_qresync *q)
{
	size_t i, end;

	memset(q, 0, sizeof(*q));
	if (cmd->nargs == 1)
		return 0;
	if (cmd->args[1].type != IMAP_ARG_LIST ||
	    imap_arg_next(cmd, 1) != cmd->nargs)
		goto bad;
	end = cmd->nargs;
	for (i = 2; i < end; i = imap_arg_next(cmd, i)) {
		if (imap_arg_is(cmd, i, "CONDSTORE")) {
			q->condstore = 1;
			continue;
		}
		if (!imap_arg_is(cmd, i, "QRESYNC") || i + 1 >= end)
			goto bad;
		/* RFC 7162 3.2.5: only once the client enabled it */
		if (!s->qresync) {
			imap_bad(s, cmd->tag, "QRESYNC is not enabled");
			imap_seqset_free(&q->known);
			return -1;
		}
		if (q->on || parse_qresync(cmd, i + 1, q) < 0)
			goto bad;
		i++;
	}
	return 0;
bad:
	imap_seqset_free(&q->known);
	imap_bad(s, cmd->tag, "Syntax: %s mailbox [(CONDSTORE) or "
		 "(QRESYNC (uidvalidity modseq [known-uids]))]", cmd->name);
	return -1;
}

void imap_select_qresync(struct imap_sess *s, struct imap_qresync *q)
{
	uint32_t seq, count = mbox_count(s->mbox);
	const struct mbox_msg *m;
	struct sbuf fl;

	if (!q->on || q->uidvalidity != mbox_uidvalidity(s->mbox)) {
		imap_seqset_free(&q->known);
		return;
	}
	imap_vanished_earlier(s, q->modseq, &q->known);
	sbuf_init(&fl, 65536);
	for (seq = 1; seq <= count; seq++) {
		m = mbox_get(s->mbox, seq);
		if (m->modseq <= q->modseq ||
		    (q->known.n && !imap_seqset_has(&q->known, m->uid)))
			continue;
		sbuf_reset(&fl);
		imap_flags_out(s, seq, &fl);
		imap_untagged(s, "%u FETCH (UID %u FLAGS %s MODSEQ (%llu))",
			      seq, m->uid, fl.data,
			      (unsigned long long)m->modseq);
	}
	sbuf_free(&fl);
	imap_seqset_free(&q->known);
}
