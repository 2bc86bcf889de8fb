/*
 * NAME
 *	store_mime_render - IMAP strings, BODY and BODYSTRUCTURE
 * DESCRIPTION
 *	RFC 3501 7.4.2 body, body-type-1part, body-type-mpart and their
 *	extension data, written from the part tree of common/mime_tree.c.
 *	Field values go out raw (unfolded, RFC 2047 words left encoded) as IMAP
 *	returns them. Recursion follows the tree, whose depth is capped by
 *	MIME_MAX_DEPTH at parse time. Store stage; the message is hostile.
 */
#include "store_mime_int.h"

#include <string.h>

#include "sbuf.h"

/* Longest string sent quoted; longer ones go as literals. */
#define MIME_MAX_QUOTED 1024

int mime_imap_string(struct sbuf *out, const char *s, size_t n)
{
	size_t i, esc = 0, start = out->len;
	unsigned char c;

	if (s == NULL)
		return sbuf_append(out, "NIL", 3);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			break;
		if (c == '"' || c == '\\')
			esc++;
	}
	if (i < n || n > MIME_MAX_QUOTED) {
		/* RFC 3501 4.3: a literal carries any octet but NUL; the
		 * store never hands us NUL in a field (mime_unfold). */
		if (sbuf_printf(out, "{%zu}\r\n", n) < 0 ||
		    sbuf_append(out, s, n) < 0)
			goto full;
		return 0;
	}
	if (sbuf_reserve(out, n + esc + 2) < 0)
		return -1;
	out->data[out->len++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out->data[out->len++] = '\\';
		out->data[out->len++] = s[i];
	}
	out->data[out->len++] = '"';
	out->data[out->len] = '\0';
	return 0;
full:
	out->len = start;
	if (out->data)
		out->data[start] = '\0';
	return -1;
}

static int put(struct sbuf *out, const char *s)
{
	return sbuf_puts(out, s);
}

static int put_str(struct sbuf *out, const char *s)
{
	return mime_imap_string(out, s, s ? strlen(s) : 0);
}

int mime_put_field(struct sbuf *out, const struct mime_part *p,
		     const char *name)
{
	struct sbuf v;
	int r;

	sbuf_init(&v, MIME_MAX_FIELD);
	if (mime_hdr_get(p, name, &v))
		r = mime_imap_string(out, v.data ? v.data : "", v.len);
	else
		r = put(out, "NIL");
	sbuf_free(&v);
	return r;
}

/* body-fld-param: ("name" "value" ...) or NIL. A text part without a
 * charset gets the RFC 2045 5.2 default, as Dovecot writes it. */
static int put_params(struct sbuf *out, const struct mime_ctype *ct,
		      int add_charset)
{
	size_t i;
	int r = 0;

	if (add_charset && mime_ctype_param(ct, "charset"))
		add_charset = 0;
	if (ct->nparams == 0 && !add_charset)
		return put(out, "NIL");
	r |= put(out, "(");
	if (add_charset)
		r |= put(out, "\"charset\" \"us-ascii\"");
	for (i = 0; i < ct->nparams; i++) {
		if (i || add_charset)
			r |= put(out, " ");
		r |= put_str(out, ct->params[i * 2]);
		r |= put(out, " ");
		r |= put_str(out, ct->params[i * 2 + 1]);
	}
	return r | put(out, ")");
}

/* body-fld-dsp: ("attachment" ("filename" "x")) or NIL. */
static int put_disposition(struct sbuf *out, const struct mime_part *p)
{
	struct mime_ctype d;
	int r;

	mime_part_disposition(p, &d);
	if (d.type == NULL)
		return put(out, "NIL");
	r = put(out, "(");
	r |= put_str(out, d.type);
	r |= put(out, " ");
	r |= put_params(out, &d, 0);
	r |= put(out, ")");
	mime_ctype_free(&d);
	return r;
}

/* body-fld-lang: Content-Language (RFC 3282) as one string or a list. */
static int put_language(struct sbuf *out, const struct mime_part *p)
{
	struct sbuf v;
	size_t i = 0, st, count = 0, mark;
	int r = 0;

	sbuf_init(&v, MIME_MAX_FIELD);
	if (!mime_hdr_get(p, "content-language", &v) || v.len == 0) {
		sbuf_free(&v);
		return put(out, "NIL");
	}
	mark = out->len;
	r |= put(out, "(");
	while (i < v.len) {
		i = mime_skip_cfws(v.data, i, v.len, NULL, NULL);
		st = i;
		while (i < v.len && v.data[i] != ',' && v.data[i] != ' ' &&
		       v.data[i] != '\t' && v.data[i] != '(')
			i++;
		if (i > st) {
			if (count++)
				r |= put(out, " ");
			r |= mime_imap_string(out, v.data + st, i - st);
		}
		if (i < v.len && v.data[i] == ',')
			i++;
	}
	r |= put(out, ")");
	if (count == 0 && r == 0) {
		out->len = mark;
		out->data[mark] = '\0';
		r = put(out, "NIL");
	} else if (count == 1 && r == 0) {
		/* A single language is a plain string. */
		memmove(out->data + mark, out->data + mark + 1,
			out->len - mark - 2);
		out->len -= 2;
		out->data[out->len] = '\0';
	}
	sbuf_free(&v);
	return r;
}

/* body-fld-enc: the first token of Content-Transfer-Encoding. */
static int put_encoding(struct sbuf *out, const struct mime_part *p)
{
	struct sbuf v;
	size_t i = 0, st;
	int r;

	sbuf_init(&v, MIME_MAX_FIELD);
	if (p->cte_raw)
		mime_unfold(p->cte_raw, p->cte_raw_len, &v);
	if (v.len) {
		i = mime_skip_cfws(v.data, 0, v.len, NULL, NULL);
		st = i;
		while (i < v.len && v.data[i] != ' ' && v.data[i] != '\t' &&
		       v.data[i] != '(' && v.data[i] != ';')
			i++;
		if (i > st) {
			r = mime_imap_string(out, v.data + st, i - st);
			sbuf_free(&v);
			return r;
		}
	}
	sbuf_free(&v);
	return put(out, "\"7bit\"");
}

/* body-ext-1part / body-ext-mpart after the md5 or the parameters. */
static int put_ext_tail(struct sbuf *out, const struct mime_part *p)
{
	int r = put(out, " ");

	r |= put_disposition(out, p);
	r |= put(out, " ");
	r |= put_language(out, p);
	r |= put(out, " ");
	return r | mime_put_field(out, p, "content-location");
}

/* RFC 3501 7.4.2 body-type-mpart with no part cannot be written; we
 * write one empty text/plain part, as Dovecot does. */
static const char EMPTY_PART[] =
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
static const char EMPTY_PART_EXT[] =
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
	"NIL NIL NIL NIL)";

int mime_body_part(const struct mime_part *p, int extended, int depth,
		   struct sbuf *out)
{
	const struct mime_part *ch;
	int r = put(out, "(");

	if (p->flags & MIME_F_MULTIPART) {
		if (p->child == NULL)
			r |= put(out, extended ? EMPTY_PART_EXT : EMPTY_PART);
		for (ch = p->child; ch && r == 0; ch = ch->next)
			r |= mime_body_part(ch, extended, depth + 1, out);
		r |= put(out, " ");
		r |= put_str(out, p->ct.subtype);
		if (extended) {
			r |= put(out, " ");
			r |= put_params(out, &p->ct, 0);
			r |= put_ext_tail(out, p);
		}
		return r | put(out, ")");
	}
	if (p->flags & MIME_F_RFC822) {
		/* body-type-msg spells it so (as Dovecot writes it too) */
		r |= put(out, "\"message\" \"rfc822\"");
	} else {
		r |= put_str(out, p->ct.type);
		r |= put(out, " ");
		r |= put_str(out, p->ct.subtype);
	}
	r |= put(out, " ");
	r |= put_params(out, &p->ct, (p->flags & MIME_F_TEXT) != 0);
	r |= put(out, " ");
	r |= mime_put_field(out, p, "content-id");
	r |= put(out, " ");
	r |= mime_put_field(out, p, "content-description");
	r |= put(out, " ");
	r |= put_encoding(out, p);
	r |= sbuf_printf(out, " %zu", p->body_len);
	if ((p->flags & MIME_F_RFC822) && p->child) {
		r |= put(out, " ");
		r |= mime_envelope_part(p->child, out);
		r |= put(out, " ");
		if (r == 0)
			r |= mime_body_part(p->child, extended, depth + 1,
					    out);
		r |= sbuf_printf(out, " %zu", mime_body_lines(p));
	} else if (p->flags & MIME_F_TEXT) {
		r |= sbuf_printf(out, " %zu", mime_body_lines(p));
	}
	if (extended) {
		r |= put(out, " ");
		r |= put(out, "NIL");	/* body-fld-md5: not computed */
		r |= put_ext_tail(out, p);
	}
	return r | put(out, ")");
}

int mime_bodystructure(const struct mime_part *root, int extended,
		       struct sbuf *out)
{
	size_t mark = out->len;

	if (mime_body_part(root, extended, 0, out) == 0)
		return 0;
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return -1;
}
