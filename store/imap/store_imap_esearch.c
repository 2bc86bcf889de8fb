/*
 * NAME
 *	store_imap_esearch - SEARCH and UID SEARCH, with ESEARCH and SEARCHRES
 * DESCRIPTION
 *	RFC 3501 6.4.4 with CHARSET, the result options of ESEARCH (RFC
 *	4731) and SAVE (RFC 5182); the keys are matched by
 *	store_imap_search.c, which SORT and THREAD share. Faces the
 *	network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "store_imap_cmd.h"
#include "store_mbox.h"

/* ESEARCH (RFC 4731) result options, and SAVE (RFC 5182). */
#define RET_MIN 0x01u
#define RET_MAX 0x02u
#define RET_ALL 0x04u
#define RET_COUNT 0x08u
#define RET_SAVE 0x10u

/* "RETURN (MIN MAX ALL COUNT SAVE)" at args[0]: the options (an empty
 * list is ALL), 0 for a plain SEARCH, or -1 when malformed; *first is
 * the index after it. */
static int return_opts(const struct imap_cmd *cmd, size_t *first)
{
	static const char *const names[] = {
		"MIN", "MAX", "ALL", "COUNT", "SAVE"};
	size_t i, k, end;
	int ret = 0;

	*first = 0;
	if (!imap_arg_is(cmd, 0, "RETURN"))
		return 0;
	if (cmd->nargs < 2 || cmd->args[1].type != IMAP_ARG_LIST)
		return -1;
	end = imap_arg_next(cmd, 1);
	for (i = 2; i < end; i++) {
		for (k = 0; k < 5 && !imap_arg_is(cmd, i, names[k]); k++)
			;
		if (k == 5)
			return -1;
		ret |= 1 << k;
	}
	*first = end;
	return ret ? ret : (int)RET_ALL;
}

/* "* ESEARCH (TAG "t") [UID] MIN .. MAX .. ALL .. COUNT .. [MODSEQ ..]"
 * (modseq 0: none) */
static void esearch_out(struct imap_sess *s, const struct imap_cmd *cmd,
	unsigned ret, const uint32_t *hit, size_t n, uint64_t modseq)
{
	struct sbuf o;

	sbuf_init(&o, (size_t)-1 / 4);
	sbuf_printf(&o, "* ESEARCH (TAG \"%s\")%s", cmd->tag,
		cmd->uid ? " UID" : "");
	if ((ret & RET_MIN) && n)
		sbuf_printf(&o, " MIN %u", hit[0]);
	if ((ret & RET_MAX) && n)
		sbuf_printf(&o, " MAX %u", hit[n - 1]);
	if ((ret & RET_ALL) && n) {
		sbuf_puts(&o, " ALL ");
		imap_set_write(&o, hit, n);
	}
	if (ret & RET_COUNT)
		sbuf_printf(&o, " COUNT %zu", n);
	if (modseq)
		sbuf_printf(&o, " MODSEQ %llu", (unsigned long long)modseq);
	sbuf_puts(&o, "\r\n");
	conn_write(s->c, o.data, o.len);
	sbuf_free(&o);
}

/* RFC 5182 2.4: SAVE with MIN and/or MAX alone keeps only those. */
static void save_result(
	struct imap_sess *s, unsigned ret, const uint32_t *seqs, size_t n)
{
	uint32_t mm[2];
	size_t k = 0;

	if ((ret & (RET_ALL | RET_COUNT)) || !(ret & (RET_MIN | RET_MAX)) ||
		n == 0) {
		imap_saved_set(s, seqs, n);
		return;
	}
	if (ret & RET_MIN)
		mm[k++] = seqs[0];
	if ((ret & RET_MAX) && (k == 0 || seqs[n - 1] != mm[0]))
		mm[k++] = seqs[n - 1];
	imap_saved_set(s, mm, k);
}

/* CHARSET at args[*first]: 0 (skipped), or -1 after a BAD or NO. */
static int charset(
	struct imap_sess *s, const struct imap_cmd *cmd, size_t *first)
{
	const char *cs;

	if (!imap_arg_is(cmd, *first, "CHARSET"))
		return 0;
	cs = imap_arg_str(cmd, *first + 1);
	if (cs == NULL) {
		imap_bad(s, cmd->tag, "Syntax: SEARCH CHARSET name");
		return -1;
	}
	if (imap_search_charset(s, cmd, cs) < 0)
		return -1;
	*first += 2;
	return 0;
}

void imap_cmd_search(struct imap_sess *s, struct imap_cmd *cmd)
{
	size_t first = 0, i, nhit = 0;
	uint32_t *hit = NULL;
	uint64_t top = 0;
	struct sbuf out;
	int ret, rc;

	if ((ret = return_opts(cmd, &first)) < 0) {
		imap_bad(s, cmd->tag, "Syntax: SEARCH RETURN (options) keys");
		return;
	}
	/* RFC 9051 6.4.4: IMAP4rev2 answers with ESEARCH, ALL by default */
	if (ret == 0 && s->rev2)
		ret = (int)RET_ALL;
	if (charset(s, cmd, &first) < 0) {
		if (ret & RET_SAVE)
			imap_saved_set(s, NULL, 0);
		return;
	}
	rc = imap_search_keys(s, cmd, first, &hit, &nhit, &top);
	if (rc < 0) {
		/* RFC 5182 2.1: a failed SEARCH ... SAVE empties "$" */
		if (ret & RET_SAVE)
			imap_saved_set(s, NULL, 0);
		if (rc == -1)
			imap_bad(s, cmd->tag, "Invalid search key");
		else
			imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	if (ret & RET_SAVE)
		save_result(s, (unsigned)ret, hit, nhit);
	if (cmd->uid)
		for (i = 0; i < nhit; i++)
			hit[i] = mbox_get(s->mbox, hit[i])->uid;
	if (ret & ~(int)RET_SAVE) {
		esearch_out(s, cmd, (unsigned)ret, hit, nhit, top);
	} else if (!ret) {
		sbuf_init(&out, (size_t)-1 / 4);
		sbuf_puts(&out, "* SEARCH");
		for (i = 0; i < nhit; i++)
			sbuf_printf(&out, " %u", hit[i]);
		/* RFC 7162 3.1.5: the highest mod-sequence found */
		if (top)
			sbuf_printf(&out, " (MODSEQ %llu)",
				(unsigned long long)top);
		sbuf_puts(&out, "\r\n");
		conn_write(s->c, out.data, out.len);
		sbuf_free(&out);
	}
	free(hit);
	imap_ok(s, cmd->tag, "%sSEARCH completed", cmd->uid ? "UID " : "");
}
