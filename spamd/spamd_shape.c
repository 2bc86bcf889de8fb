/*
 * NAME
 *	spamd_shape - what a header section looks like, whoever sent it
 * DESCRIPTION
 *	Tokens of the structure of a message's header rather than of its
 *	words: what mail software writes the same way in every message it
 *	sends, and so what changes less over time than hosts, names and
 *	subjects (cross-validated with sluice-spamtrain --cv, time ordered
 *	with a gap: spam of later months kept its mailers' habits):
 *	- "hdr-order:A>B": the order of the fields (each pair of
 *	  neighbours, of the first HDR_ORDER_MAX; ">A" for the first),
 *	  leaving out those the receiving side adds at delivery;
 *	- "rcvd-hops:N", and of the hop nearest the sender (the last
 *	  Received field, RFC 5321 4.4): "rcvd-origin:with:PROTO",
 *	  ":dynamic" (a host name made of its address), ":nordns",
 *	  ":helo-ip" (it greeted with an address), ":by:SHAPE" (the
 *	  receiving software's comment, "(8.11.6/8.11.6)" as "(9.9.9/9.9.9)");
 *	- "msgid-shape:SHAPE" of a Message-ID's local part, "msgid:none",
 *	  "msgid:no-domain", "msgid:from-domain" when its domain is the
 *	  From address's;
 *	- "date-shape:SHAPE" of the Date field, "date:none";
 *	- "boundary-shape:SHAPE" of the top-level multipart boundary.
 *	A SHAPE maps letters to 'a' / 'A', digits to '9', bytes past ASCII
 *	to '8', white space to '_', and counts a run of one class once.
 *	Reads spamd_text.hdr ("name:value\n" lines, names lower case).
 *	Pure; faces the network through its input; fuzzed with the
 *	tokenizer.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spamd.h"

#define HDR_ORDER_MAX 24 /* fields whose order is looked at */
#define SHAPE_MAX 24     /* bytes of a shape */

/* The class of byte c in a shape. */
static char shape_class(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return 'a';
	if (c >= 'A' && c <= 'Z')
		return 'A';
	if (c >= '0' && c <= '9')
		return '9';
	if (c >= 0x80)
		return '8';
	if (c <= ' ' || c == 0x7f)
		return '_';
	return (char)c;
}

/* The shape of s[0..n) into out (room for SHAPE_MAX + 1); its length. */
static size_t shape(const char *s, size_t n, char *out)
{
	size_t i, k = 0;
	char c;

	for (i = 0; i < n && k < SHAPE_MAX; i++) {
		c = shape_class((unsigned char)s[i]);
		if (k > 0 && out[k - 1] == c &&
			(c == 'a' || c == 'A' || c == '9' || c == '8' ||
				c == '_'))
			continue;
		out[k++] = c;
	}
	out[k] = '\0';
	return k;
}

static void put(
	spamd_token_fn fn, void *arg, const char *pre, const char *s, size_t n)
{
	char tok[96];
	int k = snprintf(tok, sizeof(tok), "%s%.*s", pre, (int)n, s);

	if (k > 0)
		fn(arg, tok,
			(size_t)k < sizeof(tok) ? (size_t)k : sizeof(tok) - 1);
}

static void put_shape(
	spamd_token_fn fn, void *arg, const char *pre, const char *s, size_t n)
{
	char sh[SHAPE_MAX + 1];
	size_t k = shape(s, n, sh);

	put(fn, arg, pre, sh, k);
}

/* One field of the header section: name and value (not terminated). */
struct field {
	const char *name, *val;
	size_t nlen, vlen;
};

/* Case-insensitive search for the word w in v[0..n); NULL if none. */
static const char *find_word(const char *v, size_t n, const char *w)
{
	size_t wl = strlen(w), i;

	for (i = 0; i + wl <= n; i++)
		if (strncasecmp(v + i, w, wl) == 0 &&
			(i == 0 || v[i - 1] == ' ' || v[i - 1] == '\t' ||
				v[i - 1] == ')') &&
			(i + wl == n || v[i + wl] == ' ' || v[i + wl] == '\t'))
			return v + i;
	return NULL;
}

/* The word at p (up to white space, ';' or a parenthesis). */
static size_t word_len(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p != ' ' && *p != '\t' && *p != ';' && *p != '(' &&
		*p != ')')
		p++;
	return (size_t)(p - s);
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Does host name h[0..n) spell an address ("dialpool-210-214-173-49",
 * "c-24-5-6-7.example", "ppp12345.example") rather than a name? Four
 * or more digits in it, or two groups of digits before the first dot. */
static int dynamic_name(const char *h, size_t n)
{
	size_t i, digits = 0, groups = 0, first = 1;

	for (i = 0; i < n; i++) {
		if (h[i] == '.')
			first = 0;
		if (isdigit((unsigned char)h[i])) {
			digits++;
			if (first &&
				(i == 0 || !isdigit((unsigned char)h[i - 1])))
				groups++;
		}
	}
	return digits >= 4 || groups >= 2;
}

/* The hop nearest the sender: "from HELO (RDNS [IP]) by HOST (SW)
 * with PROTO ..." (RFC 5321 4.4, and what common software writes). */
static void origin_hop(spamd_token_fn fn, void *arg, const char *v, size_t n)
{
	const char *end = v + n, *p, *q, *br;
	size_t k;

	p = find_word(v, n, "with");
	if (p) {
		p = skip_ws(p + 4, end);
		k = word_len(p, end);
		if (k > 0 && k < 16) {
			char proto[16];

			for (size_t i = 0; i < k; i++)
				proto[i] = (char)tolower((unsigned char)p[i]);
			put(fn, arg, "rcvd-origin:with:", proto, k);
		}
	}
	p = find_word(v, n, "by");
	if (p) {
		p = skip_ws(p + 2, end);
		p = skip_ws(p + word_len(p, end), end);
		if (p < end && *p == '(' &&
			(q = memchr(p, ')', (size_t)(end - p))) != NULL)
			put_shape(fn, arg, "rcvd-origin:by:", p,
				(size_t)(q + 1 - p));
	}
	p = find_word(v, n, "from");
	if (p == NULL)
		return;
	p = skip_ws(p + 4, end);
	k = word_len(p, end);
	if (k > 0 && (p[0] == '[' || isdigit((unsigned char)p[0])))
		put(fn, arg, "", "rcvd-origin:helo-ip", 19);
	p = skip_ws(p + k, end);
	if (p >= end || *p != '(')
		return;
	p++;
	q = memchr(p, ')', (size_t)(end - p));
	if (q == NULL)
		q = end;
	br = memchr(p, '[', (size_t)(q - p));
	/* "(helo=NAME)" and "(user@host [ip])" forms: the name before '[' */
	k = br ? (size_t)(br - p) : (size_t)(q - p);
	while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
		k--;
	if (memchr(p, '@', k) != NULL) {
		const char *at = memchr(p, '@', k);

		k -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (k == 0 || (k >= 7 && strncasecmp(p, "unknown", 7) == 0))
		put(fn, arg, "", "rcvd-origin:nordns", 18);
	else if (dynamic_name(p, k))
		put(fn, arg, "", "rcvd-origin:dynamic", 19);
}

/* The domain of the first address in v (after '@', up to '>' or space),
 * its last two labels, into out; its length (0: none). */
static size_t addr_domain(const char *v, size_t n, char *out, size_t max)
{
	const char *at = memchr(v, '@', n), *e, *p, *dot = NULL, *dot2 = NULL;
	size_t k, i;

	if (at == NULL)
		return 0;
	for (e = at + 1; e < v + n && *e != '>' && *e != ' ' && *e != '\t' &&
			 *e != '"' && *e != ')' && *e != ';' && *e != ',';
		e++)
		;
	for (p = at + 1; p < e; p++)
		if (*p == '.') {
			dot2 = dot;
			dot = p;
		}
	p = dot2 ? dot2 + 1 : at + 1;
	k = (size_t)(e - p);
	if (k == 0 || k >= max)
		return 0;
	for (i = 0; i < k; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[k] = '\0';
	return k;
}

static void message_id(spamd_token_fn fn, void *arg, const struct field *f,
	const char *from_dom)
{
	const char *v = f->val, *end = f->val + f->vlen, *at;
	char dom[80];

	v = skip_ws(v, end);
	if (v < end && *v == '<')
		v++;
	at = memchr(v, '@', (size_t)(end - v));
	put_shape(fn, arg, "msgid-shape:", v,
		at ? (size_t)(at - v) : (size_t)(end - v));
	if (at == NULL)
		put(fn, arg, "", "msgid:no-domain", 15);
	else if (from_dom[0] &&
		 addr_domain(f->val, f->vlen, dom, sizeof(dom)) > 0 &&
		 strcmp(dom, from_dom) == 0)
		put(fn, arg, "", "msgid:from-domain", 17);
}

/* The Date field's shape (RFC 5322 3.3 and what software writes
 * instead). Its zone is left out: summer time moves it. */
static void date_field(spamd_token_fn fn, void *arg, const struct field *f)
{
	const char *v = f->val, *end = f->val + f->vlen;

	v = skip_ws(v, end);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	put_shape(fn, arg, "date-shape:", v, (size_t)(end - v));
}

static void boundary_shape(spamd_token_fn fn, void *arg, const struct field *f)
{
	const char *v = f->val, *end = f->val + f->vlen, *p, *e;

	for (p = v; p + 9 <= end; p++)
		if (strncasecmp(p, "boundary=", 9) == 0)
			break;
	if (p + 9 > end)
		return;
	p += 9;
	if (p < end && *p == '"') {
		p++;
		e = memchr(p, '"', (size_t)(end - p));
		if (e == NULL)
			e = end;
	} else {
		for (e = p; e < end && *e != ';' && *e != ' ' && *e != '\t';
			e++)
			;
	}
	put_shape(fn, arg, "boundary-shape:", p, (size_t)(e - p));
}

static int is_name(const struct field *f, const char *name)
{
	return f->nlen == strlen(name) && memcmp(f->name, name, f->nlen) == 0;
}

/* Fields the receiving side adds at delivery (RFC 5321 4.4
 * Return-Path, and common software's): they say nothing of the sender,
 * and change with the receiving set-up. */
static int delivery_field(const struct field *f)
{
	return is_name(f, "return-path") || is_name(f, "delivered-to") ||
	       is_name(f, "x-original-to");
}

int spamd_hdr_line(const char **p, const char *end, const char **name_r,
	size_t *nlen_r, const char **val_r, size_t *vlen_r)
{
	const char *nl, *colon;

	for (; *p < end; *p = nl < end ? nl + 1 : end) {
		nl = memchr(*p, '\n', (size_t)(end - *p));
		if (nl == NULL)
			nl = end;
		colon = memchr(*p, ':', (size_t)(nl - *p));
		if (colon == NULL)
			continue;
		*name_r = *p;
		*nlen_r = (size_t)(colon - *p);
		*val_r = colon + 1;
		*vlen_r = (size_t)(nl - colon - 1);
		*p = nl < end ? nl + 1 : end;
		return 1;
	}
	return 0;
}

void spamd_shapes(const char *hdr, size_t len, spamd_token_fn fn, void *arg)
{
	const char *p = hdr, *end = hdr + len;
	struct field f, prev = {NULL, NULL, 0, 0}, last_rcvd = prev;
	struct field msgid = prev, date = prev, ctype = prev;
	char tok[96], from_dom[80] = "";
	size_t nfields = 0, hops = 0;
	int k;

	while (spamd_hdr_line(&p, end, &f.name, &f.nlen, &f.val, &f.vlen)) {
		if (is_name(&f, "part-content-type"))
			break; /* spamd_mime's lines of the parts follow */
		if (delivery_field(&f))
			continue; /* written where the mail arrived */
		if (++nfields <= HDR_ORDER_MAX) {
			k = snprintf(tok, sizeof(tok), "hdr-order:%.*s>%.*s",
				prev.name
					? (int)(prev.nlen > 30 ? 30 : prev.nlen)
					: 0,
				prev.name ? prev.name : "",
				(int)(f.nlen > 30 ? 30 : f.nlen), f.name);
			if (k > 0 && (size_t)k < sizeof(tok))
				fn(arg, tok, (size_t)k);
		}
		prev = f;
		if (is_name(&f, "received")) {
			hops++;
			last_rcvd = f;
		} else if (is_name(&f, "message-id")) {
			msgid = f;
		} else if (is_name(&f, "date")) {
			date = f;
		} else if (is_name(&f, "content-type")) {
			ctype = f;
		} else if (is_name(&f, "from") && from_dom[0] == '\0') {
			addr_domain(f.val, f.vlen, from_dom, sizeof(from_dom));
		}
	}
	k = snprintf(tok, sizeof(tok), "rcvd-hops:%zu", hops > 9 ? 9 : hops);
	fn(arg, tok, (size_t)k);
	if (last_rcvd.name)
		origin_hop(fn, arg, last_rcvd.val, last_rcvd.vlen);
	if (msgid.name)
		message_id(fn, arg, &msgid, from_dom);
	else
		fn(arg, "msgid:none", 10);
	if (date.name)
		date_field(fn, arg, &date);
	else
		fn(arg, "date:none", 9);
	if (ctype.name)
		boundary_shape(fn, arg, &ctype);
}
