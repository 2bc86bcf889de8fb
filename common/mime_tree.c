/*
 * NAME
 *	mime_tree - parse a message into its MIME part tree
 * DESCRIPTION
 *	RFC 5322 section 2.2 header fields (folded lines), the Content-Type
 *	(mime_ctype.c) and Content-Transfer-Encoding of each part, RFC 2046
 *	5.1.1 multipart boundaries and message/rfc822 nesting. The tree
 *	holds offsets into the message. Depth and part count are capped
 *	(LIM_MIME_DEPTH, LIM_MIME_PARTS, or less as the caller asks); each
 *	multipart level scans only its own byte range once, so the work is
 *	at most depth * size. Lines end in CRLF in the store; a bare LF is
 *	accepted as well (spamd reads mail as it came). Mail layer; the
 *	message is hostile input.
 */
#include "mime_tree.h"

#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "sbuf.h"

struct parse_ctx {
	const char *msg;
	size_t nparts, max_parts;
	int max_depth;
	int oom;
};

/* Header fields. */

void mime_hdr_iter_init(struct mime_hdr_iter *it, const struct mime_part *p)
{
	it->p = p->msg + p->hdr_off;
	it->end = it->p + p->hdr_len;
}

/* End of the line starting at p: the byte after its LF, or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf ? lf + 1 : end;
}

static int blank_line(const char *p, const char *end)
{
	return p < end &&
	       (*p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n')));
}

int mime_hdr_next(struct mime_hdr_iter *it, struct mime_field *f)
{
	const char *s = it->p, *e, *colon, *v;

	if (s >= it->end || blank_line(s, it->end))
		return 0;
	e = line_end(s, it->end);
	while (e < it->end && (*e == ' ' || *e == '\t'))
		e = line_end(e, it->end);
	it->p = e;
	f->raw = s;
	f->raw_len = (size_t)(e - s);
	colon = memchr(s, ':', (size_t)(e - s));
	v = e;
	if (v > s && v[-1] == '\n')
		v--;
	if (v > s && v[-1] == '\r')
		v--;
	if (colon == NULL || memchr(s, '\n', (size_t)(colon - s))) {
		/* Not a field (RFC 5322 2.2): a nameless line. */
		f->name = s;
		f->name_len = 0;
		f->value = s;
		f->value_len = (size_t)(v - s);
		return 1;
	}
	f->name = s;
	f->name_len = (size_t)(colon - s);
	while (f->name_len &&
		(s[f->name_len - 1] == ' ' || s[f->name_len - 1] == '\t'))
		f->name_len--; /* obs-optional: "Subject :" */
	f->value = colon + 1;
	f->value_len = (size_t)(v - (colon + 1));
	return 1;
}

void mime_unfold(const char *v, size_t n, struct sbuf *out)
{
	size_t i = 0, run, start = out->len, room = MIME_MAX_FIELD;

	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (i < n && room) {
		if (v[i] == '\r' || v[i] == '\n') {
			i++; /* RFC 5322 2.2.3: unfolding drops the CRLF */
			continue;
		}
		for (run = 0; i + run < n && run < room && v[i + run] != '\r' &&
			      v[i + run] != '\n';
			run++)
			;
		if (sbuf_append(out, v + i, run) < 0)
			break;
		i += run;
		room -= run;
	}
	for (i = start; i < out->len; i++)
		if (out->data[i] == '\0')
			out->data[i] = ' ';
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
					   out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
}

int mime_hdr_get(const struct mime_part *p, const char *name, struct sbuf *out)
{
	struct mime_hdr_iter it;
	struct mime_field f;

	mime_hdr_iter_init(&it, p);
	while (mime_hdr_next(&it, &f))
		if (f.name_len && mime_ieq(f.name, f.name_len, name)) {
			mime_unfold(f.value, f.value_len, out);
			return 1;
		}
	return 0;
}

void mime_part_disposition(const struct mime_part *p, struct mime_ctype *d)
{
	struct sbuf v;

	memset(d, 0, sizeof(*d));
	if (p->disp_raw == NULL)
		return;
	sbuf_init(&v, MIME_MAX_FIELD);
	mime_unfold(p->disp_raw, p->disp_raw_len, &v);
	if (v.len)
		mime_ctype_parse(v.data, v.len, 0, d);
	sbuf_free(&v);
}

/* The tree. */

size_t mime_body_lines(const struct mime_part *part)
{
	const char *p = part->msg + part->body_off, *e = p + part->body_len;
	const char *lf;
	size_t lines = 0;

	while (p < e && (lf = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		lines++;
		p = lf + 1;
	}
	return lines;
}

static void set_default_type(struct mime_part *p, int digest)
{
	mime_ctype_free(&p->ct);
	p->ct.type = mime_strndup(digest ? "message" : "text", digest ? 7 : 4);
	p->ct.subtype =
		mime_strndup(digest ? "rfc822" : "plain", digest ? 6 : 5);
	if (!digest)
		mime_ctype_add(&p->ct, mime_strndup("charset", 7),
			mime_strndup("us-ascii", 8));
	p->flags |= MIME_F_DEFAULT_CT;
}

static enum mime_cte cte_of(const char *v, size_t n)
{
	if (n == 0 || mime_ieq(v, n, "7bit") || mime_ieq(v, n, "8bit") ||
		mime_ieq(v, n, "binary"))
		return MIME_CTE_IDENTITY;
	if (mime_ieq(v, n, "base64"))
		return MIME_CTE_BASE64;
	if (mime_ieq(v, n, "quoted-printable"))
		return MIME_CTE_QP;
	return MIME_CTE_OTHER;
}

/* The first Content-Type, Content-Transfer-Encoding and
 * Content-Disposition fields of p, in one pass over its header. */
static void read_fields(struct mime_part *p)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	struct sbuf v;
	int ct = 0, cte = 0, disp = 0;

	sbuf_init(&v, MIME_MAX_FIELD);
	mime_hdr_iter_init(&it, p);
	while ((!ct || !cte || !disp) && mime_hdr_next(&it, &f)) {
		if (f.name_len < 12 || f.name_len > 25 ||
			!mime_ieq(f.name, 8, "content-"))
			continue;
		if (!ct && mime_ieq(f.name, f.name_len, "content-type")) {
			ct = 1;
			sbuf_reset(&v);
			mime_unfold(f.value, f.value_len, &v);
			if (v.len)
				mime_ctype_parse(v.data, v.len, 1, &p->ct);
		} else if (!cte && mime_ieq(f.name, f.name_len,
					   "content-transfer-encoding")) {
			cte = 1;
			p->cte_raw = f.value;
			p->cte_raw_len = f.value_len;
			sbuf_reset(&v);
			mime_unfold(f.value, f.value_len, &v);
			p->cte = cte_of(v.data, v.len);
		} else if (!disp && mime_ieq(f.name, f.name_len,
					    "content-disposition")) {
			disp = 1;
			p->disp_raw = f.value;
			p->disp_raw_len = f.value_len;
		}
	}
	sbuf_free(&v);
}

/* Split the entity msg[off..off+len) into header and body, and read its
 * Content-Type and transfer encoding. */
static struct mime_part *new_part(
	struct parse_ctx *c, size_t off, size_t len, int depth, int digest)
{
	struct mime_part *p = calloc(1, sizeof(*p));
	const char *s = c->msg + off, *e = s + len, *q = s;

	if (p == NULL) {
		c->oom = 1;
		return NULL;
	}
	c->nparts++;
	p->msg = c->msg;
	p->depth = depth;
	p->hdr_off = off;
	while (q < e && !blank_line(q, e))
		q = line_end(q, e);
	if (q < e)
		q = line_end(q, e); /* the blank line belongs to the header */
	p->hdr_len = (size_t)(q - s);
	p->body_off = off + p->hdr_len;
	p->body_len = len - p->hdr_len;
	read_fields(p);
	if (p->ct.type == NULL)
		set_default_type(p, digest);
	if (p->ct.type == NULL || p->ct.subtype == NULL) {
		c->oom = 1; /* set_default_type could not allocate */
		mime_free(&p);
		return NULL;
	}
	if (mime_ieq(p->ct.type, strlen(p->ct.type), "multipart"))
		p->flags |= MIME_F_MULTIPART;
	else if (mime_ieq(p->ct.type, strlen(p->ct.type), "message") &&
		 mime_ieq(p->ct.subtype, strlen(p->ct.subtype), "rfc822"))
		p->flags |= MIME_F_RFC822;
	else if (mime_ieq(p->ct.type, strlen(p->ct.type), "text"))
		p->flags |= MIME_F_TEXT;
	return p;
}

/* Is the line at s[0..e) a delimiter "--boundary" (1) or the close
 * delimiter "--boundary--" (2)? Transport padding (white space) may
 * follow (RFC 2046 5.1.1). */
static int delimiter(const char *s, const char *e, const char *b, size_t bl)
{
	int kind = 1;

	if ((size_t)(e - s) < bl + 2 || s[0] != '-' || s[1] != '-' ||
		memcmp(s + 2, b, bl) != 0)
		return 0;
	s += bl + 2;
	if (e - s >= 2 && s[0] == '-' && s[1] == '-') {
		kind = 2;
		s += 2;
	}
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s == e ? kind : 0;
}

static struct mime_part *parse_entity(
	struct parse_ctx *c, size_t off, size_t len, int depth, int digest);

/* RFC 2046 5.1.1: the CRLF before a delimiter belongs to it. */
static size_t strip_crlf(const char *s, size_t st, size_t en)
{
	if (en > st && s[en - 1] == '\n')
		en--;
	if (en > st && s[en - 1] == '\r')
		en--;
	return en;
}

static void parse_multipart(struct parse_ctx *c, struct mime_part *p, int depth)
{
	const char *b = mime_ctype_param(&p->ct, "boundary");
	const char *s = c->msg, *e = s + p->body_off + p->body_len, *q, *le;
	size_t bl, st = 0, have = 0;
	int digest = mime_ieq(p->ct.subtype, strlen(p->ct.subtype), "digest");
	int kind;
	struct mime_part **tail = &p->child, *ch;

	if (b == NULL || (bl = strlen(b)) == 0 || bl > MIME_MAX_BOUNDARY)
		return; /* no usable boundary: a multipart of no part */
	for (q = s + p->body_off; q < e && !c->oom; q = le) {
		le = line_end(q, e);
		if (c->nparts >= c->max_parts && have)
			break; /* the last part keeps the rest */
		kind = delimiter(q, le, b, bl);
		if (kind == 0)
			continue;
		if (have) {
			ch = parse_entity(c, st,
				strip_crlf(s, st, (size_t)(q - s)) - st,
				depth + 1, digest);
			if (ch == NULL)
				return;
			*tail = ch;
			tail = &ch->next;
		}
		if (kind == 2) {
			have = 0;
			break;
		}
		st = (size_t)(le - s);
		have = 1;
	}
	if (have && !c->oom) {
		/* No close delimiter: the last part runs to the end. */
		ch = parse_entity(
			c, st, (size_t)(e - s) - st, depth + 1, digest);
		if (ch)
			*tail = ch;
	}
}

static struct mime_part *parse_entity(
	struct parse_ctx *c, size_t off, size_t len, int depth, int digest)
{
	struct mime_part *p = new_part(c, off, len, depth, digest);

	if (p == NULL)
		return NULL;
	if ((p->flags & (MIME_F_MULTIPART | MIME_F_RFC822)) &&
		(depth >= c->max_depth || c->nparts >= c->max_parts)) {
		/* Too deep or too many: the rest is plain text. */
		p->flags &= ~(MIME_F_MULTIPART | MIME_F_RFC822);
		set_default_type(p, 0);
		p->flags |= MIME_F_TEXT | MIME_F_CUT;
		return p;
	}
	if (p->flags & MIME_F_MULTIPART)
		parse_multipart(c, p, depth);
	else if (p->flags & MIME_F_RFC822)
		p->child =
			parse_entity(c, p->body_off, p->body_len, depth + 1, 0);
	return p;
}

struct mime_part *mime_parse(
	const char *msg, size_t len, const struct mime_limits *lim)
{
	struct parse_ctx c = {msg, 0, MIME_MAX_PARTS, MIME_MAX_DEPTH, 0};
	struct mime_part *root;

	if (lim && lim->depth >= 0 && lim->depth < c.max_depth)
		c.max_depth = lim->depth;
	if (lim && lim->parts > 0 && lim->parts < c.max_parts)
		c.max_parts = lim->parts;
	root = parse_entity(&c, 0, len, 0, 0);

	if (c.oom)
		mime_free(&root);
	return root;
}

void mime_free(struct mime_part **root)
{
	struct mime_part *p = *root, *next;

	/* Recursion on children only: bounded by MIME_MAX_DEPTH. */
	while (p) {
		next = p->next;
		mime_free(&p->child);
		mime_ctype_free(&p->ct);
		free(p);
		p = next;
	}
	*root = NULL;
}
