/*
 * NAME
 *	store_imap_fetch - FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2)
 * DESCRIPTION
 *	The item list is parsed and checked whole before anything is sent
 *	(a bad item is a BAD with no partial output). Messages are then
 *	rendered one at a time; when the output buffer holds more than
 *	FETCH_OUT_HIGH bytes the command pauses until the client has read
 *	it (conn on_drain), so a FETCH 1:* BODY[] of a large folder never
 *	holds more than that in memory. Structure comes from store_mime.
 *	BODY[...] without .PEEK and RFC822/RFC822.TEXT set \Seen (not in a
 *	read-only folder), and the new flags are sent with the message.
 *	NOTIFY's MessageNew fetch attributes (RFC 5465 5.2) are parsed and
 *	rendered here too (imap_fetch_att_*), never setting \Seen.
 *	Faces the network.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store.h"
#include "store_imap_cmd.h"
#include "store_mbox.h"
#include "store_mime.h"

#define FETCH_MAX_ITEMS 64
#define FETCH_OUT_HIGH (1024 * 1024)

enum fkind {
	F_UID, F_FLAGS, F_INTERNALDATE, F_SIZE, F_MODSEQ, F_ENVELOPE, F_BODY,
	F_BODYSTRUCTURE, F_RFC822, F_RFC822_HEADER, F_RFC822_TEXT,
	F_SECTION, F_BINARY, F_BINARY_SIZE,
};

struct fitem {
	enum fkind kind;
	int peek;
	int partial;
	uint32_t off, len;
	char section[256];	/* F_SECTION: between the brackets */
};

struct imap_fetch {
	char tag[LIM_IMAP_TAG + 1];
	uint32_t *seqs;
	size_t n, next;
	struct fitem items[FETCH_MAX_ITEMS];
	size_t nitems;
	int uid;
	uint64_t changedsince;	/* RFC 7162 CHANGEDSINCE; 0: none
				 * (UINT64_MAX: CHANGEDSINCE 0) */
	int vanished;		/* QRESYNC VANISHED modifier */
	int unknown_cte;	/* a BINARY part we cannot decode */
	int corrupt;		/* a body that does not open (mbox_read) */
	int noseen;		/* NOTIFY MessageNew: all as .PEEK */
};

static int add(struct imap_fetch *f, enum fkind k)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == k && k < F_SECTION)
			return 0;
	if (f->nitems >= FETCH_MAX_ITEMS)
		return -1;
	memset(&f->items[f->nitems], 0, sizeof(f->items[0]));
	f->items[f->nitems++].kind = k;
	return 0;
}

/* "BODY[section]<o.l>", "BODY.PEEK[...]", and RFC 3516 "BINARY[part]<o.l>",
 * "BINARY.PEEK[...]", "BINARY.SIZE[part]": 0 or -1. */
static int parse_section(struct imap_fetch *f, const char *a)
{
	static const struct {
		const char *prefix;
		enum fkind kind;
		int peek;
	} kinds[] = {
		{"BODY[", F_SECTION, 0}, {"BODY.PEEK[", F_SECTION, 1},
		{"BINARY[", F_BINARY, 0}, {"BINARY.PEEK[", F_BINARY, 1},
		{"BINARY.SIZE[", F_BINARY_SIZE, 1},
	};
	struct fitem *it;
	const char *lb = strchr(a, '['), *rb = strrchr(a, ']');
	size_t n, k;
	unsigned long long o, l;
	char *end;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (lb && (size_t)(lb - a) + 1 == strlen(kinds[k].prefix) &&
		    strncasecmp(a, kinds[k].prefix, (size_t)(lb - a)) == 0)
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]) ||
	    add(f, kinds[k].kind) < 0 || rb == NULL || rb < lb)
		return -1;
	it = &f->items[f->nitems - 1];
	it->peek = kinds[k].peek;
	n = (size_t)(rb - lb - 1);
	if (n >= sizeof(it->section))
		return -1;
	memcpy(it->section, lb + 1, n);
	it->section[n] = '\0';
	if (!mime_section_valid(it->section) ||
	    (it->kind != F_SECTION &&
	     strspn(it->section, "0123456789.") != n))
		return -1;
	if (rb[1] == '\0')
		return 0;
	if (it->kind == F_BINARY_SIZE)
		return -1;
	/* RFC 3501 9: "<" number "." nz-number ">" */
	if (rb[1] != '<' || rb[2] < '0' || rb[2] > '9')
		return -1;
	o = strtoull(rb + 2, &end, 10);
	if (*end != '.' || end[1] < '1' || end[1] > '9')
		return -1;
	l = strtoull(end + 1, &end, 10);
	if (end[0] != '>' || end[1] != '\0' || o > 0xffffffffULL ||
	    l > 0xffffffffULL)
		return -1;
	it->partial = 1;
	it->off = (uint32_t)o;
	it->len = (uint32_t)l;
	return 0;
}

static int parse_item(struct imap_fetch *f, const char *a)
{
	static const struct {
		const char *name;
		enum fkind kind;
	} simple[] = {
		{"UID", F_UID}, {"FLAGS", F_FLAGS},
		{"INTERNALDATE", F_INTERNALDATE}, {"RFC822.SIZE", F_SIZE},
		{"ENVELOPE", F_ENVELOPE}, {"BODY", F_BODY},
		{"BODYSTRUCTURE", F_BODYSTRUCTURE}, {"RFC822", F_RFC822},
		{"RFC822.HEADER", F_RFC822_HEADER},
		{"RFC822.TEXT", F_RFC822_TEXT}, {"MODSEQ", F_MODSEQ},
	};
	size_t i;

	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (strcasecmp(a, simple[i].name) == 0)
			return add(f, simple[i].kind);
	if (strncasecmp(a, "BODY", 4) == 0 || strncasecmp(a, "BINARY", 6) == 0)
		return parse_section(f, a);
	return -1;
}

/* RFC 7162 3.1.4, 3.2.6: "(CHANGEDSINCE n [VANISHED])" at args[i],
 * the last argument. 0 or -1. */
static int modifiers(struct imap_fetch *f, const struct imap_cmd *cmd,
		     size_t i)
{
	size_t k, end = imap_arg_next(cmd, i);

	if (cmd->args[i].type != IMAP_ARG_LIST || end != cmd->nargs)
		return -1;
	for (k = i + 1; k < end; k++) {
		if (imap_arg_is(cmd, k, "CHANGEDSINCE") && k + 1 < end &&
		    cmd->args[k + 1].type == IMAP_ARG_ATOM &&
		    f->changedsince == 0 &&
		    imap_parse_modseq(cmd->args[k + 1].s, 1,
				      &f->changedsince) == 0) {
			k++;
			/* CHANGEDSINCE 0: every message */
			if (f->changedsince == 0)
				f->changedsince = UINT64_MAX;
		} else if (imap_arg_is(cmd, k, "VANISHED") && !f->vanished) {
			f->vanished = 1;
		} else {
			return -1;
		}
	}
	if (f->changedsince == 0)
		return -1;
	return add(f, F_MODSEQ);
}

/* A parenthesized list of fetch-att at args[i]: 0 or -1. */
static int parse_list(struct imap_fetch *f, const struct imap_cmd *cmd,
		      size_t i)
{
	size_t k, end = imap_arg_next(cmd, i);

	if (cmd->args[i].type != IMAP_ARG_LIST || cmd->args[i].nsub == 0)
		return -1;
	for (k = i + 1; k < end; k++)
		if (cmd->args[k].type != IMAP_ARG_ATOM ||
		    parse_item(f, cmd->args[k].s) < 0)
			return -1;
	return 0;
}

static int parse_items(struct imap_fetch *f, const struct imap_cmd *cmd)
{
	static const char *const macros[][5] = {
		{"ALL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
		{"FAST", "FLAGS", "INTERNALDATE", "RFC822.SIZE", NULL},
		{"FULL", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	};
	size_t i, k;

	if (cmd->nargs < 2 || (imap_arg_next(cmd, 1) != cmd->nargs &&
			       modifiers(f, cmd, imap_arg_next(cmd, 1)) < 0))
		return -1;
	if (cmd->args[1].type == IMAP_ARG_ATOM) {
		for (i = 0; i < 3; i++)
			if (strcasecmp(cmd->args[1].s, macros[i][0]) == 0) {
				for (k = 1; k < 5 && macros[i][k]; k++)
					parse_item(f, macros[i][k]);
				if (i == 2)
					add(f, F_BODY);
				return 0;
			}
		return parse_item(f, cmd->args[1].s);
	}
	return parse_list(f, cmd, 1);
}

static void literal(struct sbuf *o, const char *p, size_t n)
{
	sbuf_printf(o, "{%zu}\r\n", n);
	sbuf_append(o, p, n);
}

static void section_out(struct sbuf *o, const struct fitem *it,
			const struct mime_part *root, const struct sbuf *data,
			struct sbuf *tmp)
{
	const struct sbuf *src = data;
	size_t i, n, off = 0;

	if (it->section[0] != '\0') {	/* BODY[] is the message itself */
		sbuf_reset(tmp);
		mime_section(root, it->section, tmp);
		src = tmp;
	}
	sbuf_puts(o, "BODY[");
	for (i = 0; it->section[i]; i++) {
		char ch = (char)toupper((unsigned char)it->section[i]);

		sbuf_append(o, &ch, 1);
	}
	sbuf_puts(o, "]");
	n = src->len;
	if (it->partial) {
		sbuf_printf(o, "<%u>", it->off);
		off = it->off < n ? it->off : n;
		n = n - off < it->len ? n - off : it->len;
	}
	sbuf_puts(o, " ");
	literal(o, src->data ? src->data + off : "", n);
}

/* RFC 3516 4.2: BINARY[part]<o.l> (a literal8 "~{n}" when the bytes
 * hold a NUL) or BINARY.SIZE[part]. */
static void binary_out(struct sbuf *o, const struct fitem *it,
		       const struct mime_part *root, struct sbuf *tmp)
{
	size_t n, off = 0;

	sbuf_reset(tmp);
	mime_binary(root, it->section, tmp);
	n = tmp->len;
	if (it->kind == F_BINARY_SIZE) {
		sbuf_printf(o, "BINARY.SIZE[%s] %zu", it->section, n);
		return;
	}
	sbuf_printf(o, "BINARY[%s]", it->section);
	if (it->partial) {
		sbuf_printf(o, "<%u>", it->off);
		off = it->off < n ? it->off : n;
		n = n - off < it->len ? n - off : it->len;
	}
	sbuf_puts(o, " ");
	if (n && memchr(tmp->data + off, '\0', n) != NULL)
		sbuf_puts(o, "~");
	literal(o, tmp->data ? tmp->data + off : "", n);
}

/* Does every BINARY item of f know its part's transfer encoding?
 * (RFC 3516 4.1: else the FETCH is a NO [UNKNOWN-CTE].) */
static int binary_known(const struct imap_fetch *f,
			const struct mime_part *root, struct sbuf *tmp)
{
	size_t i;

	for (i = 0; i < f->nitems; i++) {
		if (f->items[i].kind != F_BINARY &&
		    f->items[i].kind != F_BINARY_SIZE)
			continue;
		sbuf_reset(tmp);
		if (mime_binary(root, f->items[i].section, tmp) == -2)
			return 0;
	}
	return 1;
}

static int needs_body(const struct imap_fetch *f)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind >= F_ENVELOPE)
			return 1;
	return 0;
}

/* Does an item need the MIME structure (not just the bytes)? */
static int needs_mime(const struct imap_fetch *f)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == F_SECTION ?
		    f->items[i].section[0] != '\0' :
		    f->items[i].kind >= F_ENVELOPE &&
		    f->items[i].kind != F_RFC822)
			return 1;	/* BINARY too: its part's encoding */
	return 0;
}

static int has_item(const struct imap_fetch *f, enum fkind k)
{
	size_t i;

	for (i = 0; i < f->nitems; i++)
		if (f->items[i].kind == k)
			return 1;
	return 0;
}

static int sets_seen(const struct imap_fetch *f)
{
	size_t i;

	if (f->noseen)
		return 0;
	for (i = 0; i < f->nitems; i++)
		if (((f->items[i].kind == F_SECTION ||
		      f->items[i].kind == F_BINARY) && !f->items[i].peek) ||
		    f->items[i].kind == F_RFC822 ||
		    f->items[i].kind == F_RFC822_TEXT)
			return 1;
	return 0;
}

static void item_out(struct imap_sess *s, struct sbuf *o,
		     const struct fitem *it, uint32_t seq,
		     const struct mbox_msg *m, const struct sbuf *data,
		     const struct mime_part *root, struct sbuf *tmp)
{
	char date[32];

	switch (it->kind) {
	case F_UID:
		sbuf_printf(o, "UID %u", m->uid);
		break;
	case F_FLAGS:
		sbuf_puts(o, "FLAGS ");
		imap_flags_out(s, seq, o);
		break;
	case F_INTERNALDATE:
		imap_format_datetime(m->internaldate, date);
		sbuf_printf(o, "INTERNALDATE \"%s\"", date);
		break;
	case F_SIZE:
		sbuf_printf(o, "RFC822.SIZE %lld", m->size);
		break;
	case F_ENVELOPE:
		sbuf_puts(o, "ENVELOPE ");
		mime_envelope(root, o);
		break;
	case F_BODY:
	case F_BODYSTRUCTURE:
		sbuf_puts(o, it->kind == F_BODY ? "BODY " : "BODYSTRUCTURE ");
		mime_bodystructure(root, it->kind == F_BODYSTRUCTURE, o);
		break;
	case F_RFC822:
		sbuf_puts(o, "RFC822 ");
		literal(o, data->data ? data->data : "", data->len);
		break;
	case F_RFC822_HEADER:
	case F_RFC822_TEXT:
		sbuf_reset(tmp);
		mime_section(root, it->kind == F_RFC822_TEXT ? "TEXT" :
			     "HEADER", tmp);
		sbuf_puts(o, it->kind == F_RFC822_TEXT ? "RFC822.TEXT " :
			  "RFC822.HEADER ");
		literal(o, tmp->data ? tmp->data : "", tmp->len);
		break;
	case F_SECTION:
		section_out(o, it, root, data, tmp);
		break;
	case F_MODSEQ:
		sbuf_printf(o, "MODSEQ (%llu)", (unsigned long long)m->modseq);
		break;
	case F_BINARY:
	case F_BINARY_SIZE:
		binary_out(o, it, root, tmp);
		break;
	}
}

/* One message's FETCH response. */
static void fetch_one(struct imap_sess *s, struct imap_fetch *f,
		      uint32_t seq)
{
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	long long max = imap_store(s)->cfg->max_message_size * 2 + 65536;
	struct mime_part *root = NULL;
	struct sbuf data, tmp, o;
	int flags_sent = 0;
	size_t i;

	if (m == NULL)
		return;
	if (f->changedsince && f->changedsince != UINT64_MAX &&
	    m->modseq <= f->changedsince)
		return;
	sbuf_init(&data, (size_t)max);
	sbuf_init(&tmp, (size_t)max);
	sbuf_init(&o, (size_t)max * 2);
	if (needs_body(f)) {
		int rc = mbox_read(s->mbox, seq, &data);

		/* expunged meanwhile: nothing; unreadable: a NO at the
		 * end (never another body, never an empty one) */
		if (rc == -2)
			f->corrupt = 1;
		if (rc < 0)
			goto done;
		if (needs_mime(f) && (root = mime_parse(data.data ?
				data.data : "", data.len, NULL)) == NULL)
			goto done;
		if (root && !binary_known(f, root, &tmp)) {
			f->unknown_cte = 1;
			goto done;
		}
	}
	if (sets_seen(f) && !s->readonly && !(m->flags & MBOX_SEEN)) {
		/* made durable (mbox_commit) in run(), before any of
		 * the output leaves */
		mbox_update_flags(s->mbox, seq, MBOX_FLAGS_ADD, MBOX_SEEN, 0);
		m = mbox_get(s->mbox, seq);
		flags_sent = -1;	/* must send FLAGS */
	}
	imap_keywords_announce(s);
	sbuf_printf(&o, "* %u FETCH (", seq);
	if (f->uid) {
		sbuf_printf(&o, "UID %u", m->uid);
	}
	for (i = 0; i < f->nitems; i++) {
		if (f->uid && f->items[i].kind == F_UID)
			continue;
		if (f->items[i].kind == F_FLAGS)
			flags_sent = 1;
		if (o.data[o.len - 1] != '(')
			sbuf_puts(&o, " ");
		item_out(s, &o, &f->items[i], seq, m, &data, root, &tmp);
	}
	if (flags_sent < 0) {
		sbuf_puts(&o, o.data[o.len - 1] != '(' ? " FLAGS " : "FLAGS ");
		imap_flags_out(s, seq, &o);
		/* RFC 7162 3.2.4: a flag change carries its MODSEQ */
		if (s->condstore && !has_item(f, F_MODSEQ))
			sbuf_printf(&o, " MODSEQ (%llu)",
				    (unsigned long long)m->modseq);
	}
	sbuf_puts(&o, ")\r\n");
	conn_write(s->c, o.data, o.len);
done:
	mime_free(&root);
	sbuf_free(&o);
	sbuf_free(&tmp);
	sbuf_free(&data);
}

struct imap_fetch *imap_fetch_att_parse(const struct imap_cmd *cmd,
					size_t i)
{
	struct imap_fetch *f = calloc(1, sizeof(*f));

	if (f == NULL || parse_list(f, cmd, i) < 0) {
		free(f);
		return NULL;
	}
	f->noseen = 1;	/* RFC 5465 5.2: never sets \Seen */
	return f;
}

void imap_fetch_att_free(struct imap_fetch *f)
{
	free(f);
}

void imap_fetch_att_send(struct imap_sess *s, struct imap_fetch *f,
			 uint32_t seq)
{
	fetch_one(s, f, seq);
	f->unknown_cte = 0;	/* such a part is left out, no NO */
}

void imap_fetch_free(struct imap_sess *s)
{
	if (s->fetch == NULL)
		return;
	free(s->fetch->seqs);
	free(s->fetch);
	s->fetch = NULL;
}

/* Render messages until done or the output is full. */
static void run(struct imap_sess *s)
{
	struct imap_fetch *f = s->fetch;
	char tag[LIM_IMAP_TAG + 1];
	int uid = f->uid, cte, corrupt;

	while (f->next < f->n) {
		fetch_one(s, f, f->seqs[f->next++]);
		if (s->c->out.len <= FETCH_OUT_HIGH || f->next >= f->n)
			continue;
		/* on_drain comes only after a write the socket made wait */
		mbox_commit(s->mbox);
		conn_flush(s->c);
		if (s->c->out.len > 0) {
			imap_wait(s);
			return;
		}
	}
	memcpy(tag, f->tag, sizeof(tag));
	cte = f->unknown_cte;
	corrupt = f->corrupt;
	imap_fetch_free(s);
	mbox_commit(s->mbox);
	/* RFC 5530 3: CORRUPTION */
	if (corrupt)
		imap_no(s, tag, "[CORRUPTION] A message body could not be "
			"opened");
	else if (cte)
		imap_no(s, tag, "[UNKNOWN-CTE] Cannot decode a part's "
			"Content-Transfer-Encoding");
	else
		imap_ok(s, tag, "%sFETCH completed", uid ? "UID " : "");
	s->no_expunge = 0;
	if (s->mode == IMAP_MODE_WAIT)
		imap_resume(s);
}

void imap_fetch_resume(struct imap_sess *s)
{
	if (s->fetch && s->state == IMAP_SELECTED)
		run(s);
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED): the UIDs of set expunged
 * since n, before the FETCH responses. */
static void fetch_vanished(struct imap_sess *s, const char *set,
			   uint64_t since)
{
	struct imap_seqset known;

	/* "*" is the highest UID in use; a set naming none is left alone */
	if (imap_seqset_parse(set, mbox_uidnext(s->mbox) - 1, &known) < 0)
		return;
	imap_vanished_earlier(s, since == UINT64_MAX ? 0 : since, &known);
	imap_seqset_free(&known);
}

void imap_cmd_fetch(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct imap_fetch *f = calloc(1, sizeof(*f));
	const char *set = imap_arg_str(cmd, 0);

	if (f == NULL) {
		imap_no(s, cmd->tag, "Out of memory");
		return;
	}
	f->uid = cmd->uid;
	snprintf(f->tag, sizeof(f->tag), "%s", cmd->tag);
	if (set == NULL || cmd->args[0].type != IMAP_ARG_ATOM ||
	    parse_items(f, cmd) < 0) {
		free(f);
		imap_bad(s, cmd->tag, "Syntax: FETCH sequence-set items");
		return;
	}
	/* RFC 7162 3.2.6: VANISHED only in UID FETCH, with QRESYNC */
	if (f->vanished && (!cmd->uid || !s->qresync)) {
		free(f);
		imap_bad(s, cmd->tag, "VANISHED needs UID FETCH and QRESYNC");
		return;
	}
	if (imap_resolve_set(s, set, cmd->uid, &f->seqs, &f->n) < 0) {
		free(f);
		imap_bad(s, cmd->tag, "Invalid sequence set");
		return;
	}
	if (has_item(f, F_MODSEQ))
		imap_condstore_on(s);
	if (f->vanished)
		fetch_vanished(s, set, f->changedsince);
	s->fetch = f;
	run(s);
}
