/*
 * NAME
 *	mime - the MIME decoders every stage shares
 * DESCRIPTION
 *	Base64 and quoted-printable (RFC 2045 6.7, 6.8) and RFC 2047
 *	encoded words, lenient the way Dovecot is (the store's SEARCH and
 *	BINARY answers are compared with Dovecot's). Faces the network:
 *	every byte is the sender's; each decoder is one pass over its
 *	input, and an encoded word is looked for over at most 64 bytes of
 *	charset and 4 KiB of text, so a field full of "=?" stays linear.
 */
#include "mime.h"

#include <string.h>

#include "sbuf.h"

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int mime_ieq(const char *a, size_t an, const char *b)
{
	size_t i;

	for (i = 0; i < an; i++)
		if (b[i] == '\0' ||
			lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return 0;
	return b[i] == '\0';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lc(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
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

int mime_charset_latin1(const char *cs, size_t n)
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

void mime_latin1_append(const char *s, size_t n, struct sbuf *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		put_byte(out, (unsigned char)s[i], 1);
}

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

void mime_qp_decode(const char *s, size_t n, struct sbuf *out, int q, int l1)
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
static size_t encoded_word(
	const char *s, size_t i, size_t n, struct sbuf *out, int to_utf8)
{
	size_t cs = i + 2, q, t, e, cl;
	const char *star;
	char enc;
	int l1;

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
	/* RFC 2231 5: "charset*language". */
	star = memchr(s + cs, '*', q - cs);
	cl = star ? (size_t)(star - (s + cs)) : q - cs;
	l1 = to_utf8 && mime_charset_latin1(s + cs, cl);
	if (enc == 'b')
		mime_base64_decode(s + t, e - t, out, l1);
	else
		mime_qp_decode(s + t, e - t, out, 1, l1);
	return e + 2;
}

void mime_decode_2047(const char *s, size_t n, struct sbuf *out, int l1)
{
	size_t i = 0, end, ws = n; /* ws < n: white space held back */
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
			(end = encoded_word(s, i, n, out, l1)) != 0) {
			i = end;
			last_ew = 1;
			ws = n; /* dropped between two encoded words */
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
