/*
 * NAME
 *	store_imap_utf7 - modified UTF-7 mailbox names and UTF-8
 * DESCRIPTION
 *	The store keeps mailbox names as IMAP4rev1 clients send them:
 *	7-bit, in modified UTF-7 (RFC 3501 5.1.3). An IMAP4rev2 session
 *	(RFC 9051 5.1) sends and sees them in UTF-8: these two pure
 *	functions convert, strictly (anything malformed is refused, so a
 *	name has one spelling either way). Faces the network through
 *	their callers; unit-tested in store_imap_utf7_test.c.
 */
#include <stdint.h>
#include <string.h>

#include "store_imap_parse.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Append n bytes; -1 when they do not fit with a NUL after them. */
static int put(char *out, size_t outlen, size_t *o, const char *p, size_t n)
{
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	return 0;
}

static int put_utf8(char *out, size_t outlen, size_t *o, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(out, outlen, o, b, n);
}

static int printable(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* One "&...-" run starting after the '&' at in[*i]: UTF-16 in modified
 * BASE64, to UTF-8. */
static int decode_run(const char *in, size_t *i, char *out, size_t outlen,
		      size_t *o)
{
	uint32_t bits = 0, hi = 0, u;
	unsigned nbits = 0, nunits = 0;
	int v;

	for (; in[*i] != '-'; (*i)++) {
		if ((v = b64_val(in[*i])) < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		nunits++;
		if (hi) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			u = 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00);
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
			continue;
		} else if ((u >= 0xdc00 && u <= 0xdfff) ||
			   (printable((unsigned char)u) && u < 0x80)) {
			/* a lone low surrogate, or ASCII that has to
			 * stand for itself */
			return -1;
		}
		if (put_utf8(out, outlen, o, u) < 0)
			return -1;
	}
	(*i)++;
	/* RFC 3501 5.1.3: at least one unit, padding bits zero, no pair
	 * cut in half */
	if (nunits == 0 || hi || nbits >= 6 || bits != 0)
		return -1;
	return 0;
}

int imap_mutf7_decode(const char *in, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	while (in[i]) {
		unsigned char c = (unsigned char)in[i];

		if (!printable(c))
			return -1;
		if (c != '&') {
			if (put(out, outlen, &o, in + i++, 1) < 0)
				return -1;
			continue;
		}
		i++;
		if (in[i] == '-') {
			i++;
			if (put(out, outlen, &o, "&", 1) < 0)
				return -1;
			continue;
		}
		if (decode_run(in, &i, out, outlen, &o) < 0)
			return -1;
		/* "&AAA-&AAA-" must have been one run */
		if (in[i] == '&' && in[i + 1] != '-')
			return -1;
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* The next code point of UTF-8 at s (RFC 3629: no overlong forms, no
 * surrogates, at most U+10FFFF); its length in *n, -1 when malformed. */
static int64_t utf8_next(const unsigned char *s, size_t *n)
{
	uint32_t cp, min;
	size_t k, len;

	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = len;
	return cp;
}

int imap_mutf7_encode(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	uint32_t bits = 0, units[2], cp;
	unsigned nbits = 0, k, nu;
	size_t o = 0, n;
	int64_t c;
	int open = 0;
	char ch;

	while (1) {
		c = *s ? utf8_next(s, &n) : -2;
		if (c == -1)
			return -1;
		if (open && (c == -2 || (c < 0x80 &&
					     printable((unsigned char)c)))) {
			if (nbits) {
				ch = b64[(bits << (6 - nbits)) & 0x3f];
				if (put(out, outlen, &o, &ch, 1) < 0)
					return -1;
			}
			if (put(out, outlen, &o, "-", 1) < 0)
				return -1;
			open = 0;
			bits = nbits = 0;
		}
		if (c == -2)
			break;
		s += n;
		cp = (uint32_t)c;
		if (cp < 0x80 && printable((unsigned char)cp)) {
			ch = (char)cp;
			if (put(out, outlen, &o, cp == '&' ? "&-" : &ch,
				cp == '&' ? 2 : 1) < 0)
				return -1;
			continue;
		}
		if (!open) {
			if (put(out, outlen, &o, "&", 1) < 0)
				return -1;
			open = 1;
		}
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			nu = 2;
		} else {
			units[0] = cp;
			nu = 1;
		}
		for (k = 0; k < nu; k++) {
			bits = (bits << 16) | units[k];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				ch = b64[(bits >> nbits) & 0x3f];
				if (put(out, outlen, &o, &ch, 1) < 0)
					return -1;
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}
