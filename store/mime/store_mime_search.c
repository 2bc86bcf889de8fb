/*
 * NAME
 *	store_mime_search - SEARCH text keys over a parsed message
 * DESCRIPTION
 *	RFC 3501 6.4.4 HEADER, FROM, SUBJECT ..., BODY and TEXT: substring
 *	matches, ASCII case-insensitive, after undoing RFC 2047 encoded
 *	words (B and Q) in header fields and the base64 or quoted-printable
 *	transfer encoding (RFC 2045 6.7, 6.8) of text parts, with the
 *	decoders of common/mime.c. Bytes are compared as they decode
 *	(right for UTF-8 and ASCII); ISO-8859-1 is turned into UTF-8 on
 *	the way, as it costs nothing. memmem keeps each match linear.
 *	Store stage; message and needle are hostile.
 */
#include "store_mime_int.h"

#include <string.h>

#include "sbuf.h"

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Lower-case ASCII in place and look for the lower-cased needle. */
static int contains(struct sbuf *hay, const char *needle, size_t nl,
		    size_t start)
{
	size_t i;

	for (i = start; i < hay->len; i++)
		hay->data[i] = (char)lc((unsigned char)hay->data[i]);
	if (nl == 0)
		return 1;
	return hay->len - start >= nl && memmem(hay->data + start,
						hay->len - start, needle,
						nl) != NULL;
}

/* The needle lower-cased into buf (NULL when too long to match). */
static char *lower_needle(const char *needle, struct sbuf *buf)
{
	size_t i;

	sbuf_append(buf, needle, strlen(needle));
	if (buf->data == NULL)
		return NULL;
	for (i = 0; i < buf->len; i++)
		buf->data[i] = (char)lc((unsigned char)buf->data[i]);
	return buf->data;
}

static size_t msg_size(const struct mime_part *p)
{
	return p->hdr_off + p->hdr_len + p->body_len + 4096;
}

/* Fields that hold an address list (RFC 5322 3.6.2, 3.6.3). */
static int address_field(const char *name, size_t n)
{
	static const char *const fields[] = {
		"from", "sender", "reply-to", "to", "cc", "bcc",
		"resent-from", "resent-sender", "resent-to", "resent-cc",
		"resent-bcc",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (mime_ieq(name, n, fields[i]))
			return 1;
	return 0;
}

/* Decode value v[0..n) into d (emptied) and look for the needle. */
static int value_contains(const char *v, size_t n, struct sbuf *d,
			  const char *needle, size_t nl)
{
	sbuf_reset(d);
	if (n)
		mime_decode_2047(v, n, d, 1);
	return contains(d, needle, nl, 0);
}

int mime_header_contains(const struct mime_part *root, const char *field,
			 const char *needle)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	struct sbuf v, d, a, nb;
	const char *n;
	int found = 0;

	sbuf_init(&nb, 1024 * 1024);
	n = lower_needle(needle, &nb);
	if (n == NULL && needle[0])
		return 0;
	sbuf_init(&v, MIME_MAX_FIELD);
	sbuf_init(&a, MIME_MAX_FIELD);
	sbuf_init(&d, 2 * MIME_MAX_FIELD);
	mime_hdr_iter_init(&it, root);
	while (!found && mime_hdr_next(&it, &f)) {
		if (f.name_len == 0 || !mime_ieq(f.name, f.name_len, field))
			continue;
		sbuf_reset(&v);
		mime_unfold(f.value, f.value_len, &v);
		found = value_contains(v.data, v.len, &d, n ? n : "", nb.len);
		/* an address also matches as written without its comments
		 * and folding white space */
		if (!found && address_field(f.name, f.name_len)) {
			sbuf_reset(&a);
			if (v.len && mime_addr_normalise(v.data, v.len, &a) == 0)
				found = value_contains(a.data, a.len, &d,
						       n ? n : "", nb.len);
		}
	}
	sbuf_free(&v);
	sbuf_free(&a);
	sbuf_free(&d);
	sbuf_free(&nb);
	return found;
}

/* Every field of p's header, "name: decoded value" per line. */
static void header_text(const struct mime_part *p, struct sbuf *out)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	struct sbuf v;

	sbuf_init(&v, MIME_MAX_FIELD);
	mime_hdr_iter_init(&it, p);
	while (mime_hdr_next(&it, &f)) {
		sbuf_reset(&v);
		sbuf_append(out, f.name, f.name_len);
		sbuf_append(out, ": ", 2);
		mime_unfold(f.value, f.value_len, &v);
		if (v.len)
			mime_decode_2047(v.data, v.len, out, 1);
		sbuf_append(out, "\n", 1);
	}
	sbuf_free(&v);
}

/* The body of a leaf text part with its transfer encoding undone. */
static void body_text(const struct mime_part *p, struct sbuf *out)
{
	const char *b = p->msg + p->body_off, *cs;
	int l1;

	cs = mime_ctype_param(&p->ct, "charset");
	l1 = cs && mime_charset_latin1(cs, strlen(cs));
	if (p->cte == MIME_CTE_BASE64)
		mime_base64_decode(b, p->body_len, out, l1);
	else if (p->cte == MIME_CTE_QP)
		mime_qp_decode(b, p->body_len, out, 0, l1);
	else if (l1)
		mime_latin1_append(b, p->body_len, out);
	else
		sbuf_append(out, b, p->body_len);
}

/* Search the body of p: text leaves, and the header and body of
 * embedded messages. Recursion follows the capped tree depth. */
static int body_search(const struct mime_part *p, const char *n, size_t nl,
		       struct sbuf *buf)
{
	const struct mime_part *ch;

	if (p->flags & MIME_F_MULTIPART) {
		for (ch = p->child; ch; ch = ch->next)
			if (body_search(ch, n, nl, buf))
				return 1;
		return 0;
	}
	if (p->flags & MIME_F_RFC822) {
		if (p->child == NULL)
			return 0;
		sbuf_reset(buf);
		header_text(p->child, buf);
		if (contains(buf, n, nl, 0))
			return 1;
		return body_search(p->child, n, nl, buf);
	}
	if (!(p->flags & MIME_F_TEXT))
		return 0;
	sbuf_reset(buf);
	body_text(p, buf);
	return contains(buf, n, nl, 0);
}

static int search(const struct mime_part *root, const char *needle,
		  int with_header)
{
	struct sbuf nb, buf;
	const char *n;
	int found = 0;

	sbuf_init(&nb, 1024 * 1024);
	n = lower_needle(needle, &nb);
	if (n == NULL)
		return needle[0] == '\0';
	sbuf_init(&buf, 2 * msg_size(root));
	if (with_header) {
		header_text(root, &buf);
		found = contains(&buf, n, nb.len, 0);
	}
	if (!found)
		found = body_search(root, n, nb.len, &buf);
	sbuf_free(&buf);
	sbuf_free(&nb);
	return found;
}

int mime_body_contains(const struct mime_part *root, const char *needle)
{
	return search(root, needle, 0);
}

int mime_text_contains(const struct mime_part *root, const char *needle)
{
	return search(root, needle, 1);
}
