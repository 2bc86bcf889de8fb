/*
 * NAME
 *	mime_tree_fuzz - libFuzzer target for the MIME library: the
 *	structure parser and the decoders
 * DESCRIPTION
 *	The input is a message as a sender writes it. Parse it with the
 *	hard limits and with small ones (as spamd asks for less) and check
 *	what mime_tree.h promises: every offset within the buffer, a
 *	part's header followed by its body, children inside their parent's
 *	body and siblings in order (the parts cover the message in order),
 *	nesting and part count within the limits, every part typed; the
 *	header iterator stays in the header. Each part's body is decoded
 *	with its transfer encoding, and the whole input as base64,
 *	quoted-printable, RFC 2047 "Q" and a field with encoded words (with
 *	and without ISO-8859-1 turned into UTF-8): bytes as they are never
 *	come out longer than they went in, UTF-8 at most twice as long.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mime.h"
#include "mime_tree.h"
#include "sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
	const char *msg;
	size_t size, parts, last_hdr, max_parts;
	int max_depth;
	struct sbuf out;
};

static void check_header(const struct mime_part *p)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	const char *at = p->msg + p->hdr_off;
	const char *end = at + p->hdr_len;

	mime_hdr_iter_init(&it, p);
	while (mime_hdr_next(&it, &f)) {
		if (f.raw != at || f.raw_len == 0 || f.raw + f.raw_len > end ||
			f.name != f.raw || f.name_len > f.raw_len ||
			f.value < f.raw ||
			f.value + f.value_len > f.raw + f.raw_len)
			abort();
		at = f.raw + f.raw_len;
	}
}

static void decode_body(struct check *c, const struct mime_part *p)
{
	const char *b = p->msg + p->body_off;

	sbuf_reset(&c->out);
	if (p->cte == MIME_CTE_BASE64)
		mime_base64_decode(b, p->body_len, &c->out, 0);
	else if (p->cte == MIME_CTE_QP)
		mime_qp_decode(b, p->body_len, &c->out, 0, 1);
	else
		mime_latin1_append(b, p->body_len, &c->out);
	if (c->out.len > 2 * p->body_len)
		abort();
}

/* p lies in [lo, hi) of the message at depth. Recursion is bounded by
 * the depth check before it. */
static void check_part(struct check *c, const struct mime_part *p, size_t lo,
	size_t hi, int depth)
{
	const struct mime_part *ch;
	struct mime_ctype d;
	size_t end = p->body_off + p->body_len, at;
	unsigned both = MIME_F_MULTIPART | MIME_F_RFC822;

	if (++c->parts > c->max_parts || depth > c->max_depth ||
		p->depth != depth || p->msg != c->msg)
		abort();
	if (p->hdr_off < lo || p->hdr_off < c->last_hdr ||
		p->hdr_off + p->hdr_len != p->body_off || end > hi ||
		end < p->body_off || mime_body_lines(p) > p->body_len)
		abort();
	c->last_hdr = p->hdr_off;
	if (p->ct.type == NULL || p->ct.subtype == NULL ||
		(p->flags & both) == both ||
		((p->flags & MIME_F_CUT) && (p->flags & both)) ||
		(p->child && !(p->flags & both)) ||
		((p->flags & MIME_F_RFC822) && p->child && p->child->next))
		abort();
	check_header(p);
	if ((p->cte_raw && (p->cte_raw < p->msg + p->hdr_off ||
				   p->cte_raw + p->cte_raw_len >
					   p->msg + p->body_off)) ||
		(p->disp_raw && (p->disp_raw < p->msg + p->hdr_off ||
					p->disp_raw + p->disp_raw_len >
						p->msg + p->body_off)))
		abort();
	mime_part_disposition(p, &d);
	mime_ctype_free(&d);
	if (p->child == NULL) {
		decode_body(c, p);
		return;
	}
	at = p->body_off;
	for (ch = p->child; ch; ch = ch->next) {
		check_part(c, ch, at, end, depth + 1);
		at = ch->body_off + ch->body_len; /* siblings in order */
	}
}

static void check_tree(struct check *c, const struct mime_limits *lim)
{
	struct mime_part *root = mime_parse(c->msg, c->size, lim);

	if (root == NULL)
		return;
	c->max_depth = lim ? lim->depth : MIME_MAX_DEPTH;
	/* past the limit each open multipart keeps one last part */
	c->max_parts =
		(lim ? lim->parts : MIME_MAX_PARTS) + (size_t)c->max_depth;
	c->parts = 0;
	c->last_hdr = 0;
	if (root->hdr_off != 0 || root->body_off + root->body_len != c->size)
		abort();
	check_part(c, root, 0, c->size, 0);
	mime_free(&root);
	if (root != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mime_limits small = {3, 10};
	struct check c = {(const char *)data, size, 0, 0, 0, 0, {0}};
	int kind, l1;

	sbuf_init(&c.out, 2 * size + 1);
	check_tree(&c, NULL);
	check_tree(&c, &small);
	for (kind = 0; kind < 4; kind++)
		for (l1 = 0; l1 < 2; l1++) {
			sbuf_reset(&c.out);
			if (kind == 0)
				mime_base64_decode(c.msg, size, &c.out, l1);
			else if (kind == 3)
				mime_decode_2047(c.msg, size, &c.out, l1);
			else
				mime_qp_decode(
					c.msg, size, &c.out, kind == 2, l1);
			if (c.out.len > (l1 ? 2 * size : size))
				abort();
		}
	sbuf_free(&c.out);
	return 0;
}
