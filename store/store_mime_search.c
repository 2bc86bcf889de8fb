/*
 * NAME
 *	store_mime_search - SEARCH text keys over a parsed message
 * DESCRIPTION
 *	RFC 3501 6.4.4 HEADER, FROM, SUBJECT ..., BODY and TEXT: substring
 *	matches, ASCII case-insensitive, after undoing RFC 2047 encoded
 *	words (B and Q) in header fields and the base64 or quoted-printable
 *	transfer encoding (RFC 2045 6.7, 6.8) of text parts. Bytes are
 *	compared as they decode (right for UTF-8 and ASCII); ISO-8859-1 is
 *	turned into UTF-8 on the way, as it costs nothing. memmem keeps
 *	each match linear. Store stage; message and needle are hostile.
 */
#include "store_mime_int.h"

#include <string.h>

#include "sbuf.h"

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int latin1(const char *cs, size_t n)
{
	return mime_ieq(cs, n, "iso-8859-1") || mime_ieq(cs, n, "latin1") ||
	       mime_ieq(cs, n, "iso8859-1") || mime_ieq(cs, n, "windows-1252");
}

/* Append byte c, as UTF-8 when the text is ISO-8859-1. */
static void put_byte(struct sbuf *out, unsigned char c, int from_latin1)
{
	char u[2];

	if (from_latin1 && c >= 0x80) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		sbuf_append(out, u, 2);
	} else {
		sbuf_append(out, &c, 1);
	}
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* RFC 2045 6.8, leniently: characters outside the alphabet are skipped,
 * '=' ends the data. */
void mime_base64_decode(const char *s, size_t n, struct sbuf *out, int l1)
{
	unsigned acc = 0;
	int bits = 0, v;
	size_t i;

	for (i = 0; i < n && s[i] != '='; i++) {
		if ((v = b64val((unsigned char)s[i])) < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			put_byte(out, (unsigned char)(acc >> bits), l1);
			acc &= (1u << bits) - 1;
		}
	}
}

/* RFC 2045 6.7 (q == 0) and RFC 2047 4.2 "Q" (q != 0: '_' is a space). */
void mime_qp_decode(const char *s, size_t n, struct sbuf *out, int q,
		    int l1)
{
	size_t i, j;
	int h, l;

	for (i = 0; i < n; i++) {
		if (q && s[i] == '_') {
			sbuf_append(out, " ", 1);
			continue;
		}
		if (s[i] != '=') {
			put_byte(out, (unsigned char)s[i], l1);
			continue;
		}
		if (i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)s[i + 2])) >= 0) {
			put_byte(out, (unsigned char)(h * 16 + l), l1);
			i += 2;
			continue;
		}
		/* A soft line break: '=', optional white space, CRLF. */
		for (j = i + 1; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (j < n && s[j] == '\r')
			j++;
		if (j < n && s[j] == '\n') {
			i = j;
			continue;
		}
		if (j == n) {
			i = j;
			continue;
		}
		sbuf_append(out, "=", 1);
	}
}

/* An encoded-word "=?charset?e?text?=" at s[i]: decode it into out and
 * return the index after it, or 0 when there is none (RFC 2047 2). */
static size_t encoded_word(const char *s, size_t i, size_t n,
			   struct sbuf *out)
{
	size_t cs = i + 2, q, t, e;
	char enc;

	for (q = cs; q < n && q - cs < 64 && s[q] != '?' && s[q] != ' ' &&
		     s[q] != '\t';
	     q++)
		;
	if (q + 3 >= n || s[q] != '?' || q == cs || s[q + 2] != '?')
		return 0;
	enc = (char)lc((unsigned char)s[q + 1]);
	if (enc != 'b' && enc != 'q')
		return 0;
	t = q + 3;
	for (e = t; e + 1 < n && !(s[e] == '?' && s[e + 1] == '='); e++)
		if (s[e] == ' ' || s[e] == '\t' || e - t > 4096)
			return 0;
	if (e + 1 >= n)
		return 0;
	{
		/* RFC 2231 5: "charset*language". */
		const char *star = memchr(s + cs, '*', q - cs);
		size_t cl = star ? (size_t)(star - (s + cs)) : q - cs;
		int l1 = latin1(s + cs, cl);

		if (enc == 'b')
			mime_base64_decode(s + t, e - t, out, l1);
		else
			mime_qp_decode(s + t, e - t, out, 1, l1);
	}
	return e + 2;
}

/* Append s[0..n) with its encoded words decoded; white space between
 * two adjacent encoded words is dropped (RFC 2047 6.2). */
void mime_decode_2047(const char *s, size_t n, struct sbuf *out)
{
	size_t i = 0, end, ws = n;	/* ws < n: white space held back */
	const char *q;
	int last_ew = 0;

	while (i < n) {
		if (last_ew && (s[i] == ' ' || s[i] == '\t')) {
			if (ws == n)
				ws = i;
			i++;
			continue;
		}
		if (s[i] == '=' && i + 1 < n && s[i + 1] == '?' &&
		    (end = encoded_word(s, i, n, out)) != 0) {
			i = end;
			last_ew = 1;
			ws = n;	/* dropped between two encoded words */
			continue;
		}
		if (ws < n)
			sbuf_append(out, s + ws, i - ws);
		ws = n;
		last_ew = 0;
		/* Plain text up to the next '=' goes out in one piece. */
		q = memchr(s + i + 1, '=', n - i - 1);
		end = q ? (size_t)(q - s) : n;
		sbuf_append(out, s + i, end - i);
		i = end;
	}
	if (ws < n)
		sbuf_append(out, s + ws, n - ws);
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
		mime_decode_2047(v, n, d);
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
			mime_decode_2047(v.data, v.len, out);
		sbuf_append(out, "\n", 1);
	}
	sbuf_free(&v);
}

/* The body of a leaf text part with its transfer encoding undone. */
static void body_text(const struct mime_part *p, struct sbuf *out)
{
	struct sbuf v;
	const char *b = p->msg + p->body_off, *cs;
	size_t i;
	int l1;

	cs = mime_ctype_param(&p->ct, "charset");
	l1 = cs && latin1(cs, strlen(cs));
	sbuf_init(&v, MIME_MAX_FIELD);
	mime_hdr_get(p, "content-transfer-encoding", &v);
	if (v.len && mime_ieq(v.data, v.len, "base64"))
		mime_base64_decode(b, p->body_len, out, l1);
	else if (v.len && mime_ieq(v.data, v.len, "quoted-printable"))
		mime_qp_decode(b, p->body_len, out, 0, l1);
	else if (l1)
		for (i = 0; i < p->body_len; i++)
			put_byte(out, (unsigned char)b[i], 1);
	else
		sbuf_append(out, b, p->body_len);
	sbuf_free(&v);
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
