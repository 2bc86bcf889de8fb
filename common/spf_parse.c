/*
 * NAME
 *	spf_parse - SPF records and macros (RFC 7208 4.6, 7, 12)
 * DESCRIPTION
 *	Pure functions: the record parser and the macro expander of spf.h,
 *	table-tested in spf_test.c and fuzzed by spf_fuzz.c. Records come
 *	from anybody's DNS: every length is checked.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- results ---- */

const char *spf_result_name(enum spf_result r)
{
	static const char *const names[SPF_NRESULTS] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror",
	};

	return (unsigned)r < SPF_NRESULTS ? names[r] : "permerror";
}

/* ---- the record (RFC 7208 4.6, 12) ---- */

int spf_is_record(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	       (len == 6 || txt[6] == ' ');
}

static const struct {
	const char *name;
	enum spf_mech mech;
} mechs[] = {
	{"all", SPF_M_ALL}, {"include", SPF_M_INCLUDE}, {"a", SPF_M_A},
	{"mx", SPF_M_MX}, {"ptr", SPF_M_PTR}, {"ip4", SPF_M_IP4},
	{"ip6", SPF_M_IP6}, {"exists", SPF_M_EXISTS},
};

/* "/N" at the end of p[0..*len), N without leading zeros and at most
 * max: strips it and returns N; -1 when absent, -2 when malformed. */
static int take_cidr(const char *p, size_t *len, int max)
{
	size_t i = *len, digits = 0;
	int v = 0;

	while (i > 0 && isdigit((unsigned char)p[i - 1]) && digits < 4) {
		i--;
		digits++;
	}
	if (i == 0 || p[i - 1] != '/')
		return -1;
	if (digits == 0 || (digits > 1 && p[i] == '0'))
		return -2;
	for (size_t k = i; k < *len; k++)
		v = v * 10 + (p[k] - '0');
	if (v > max)
		return -2;
	*len = i - 1;
	return v;
}

/* A domain-spec ends in a toplabel or a macro (RFC 7208 12; the
 * toplabel rule of RFC 3696 2: not all digits). */
static int domain_spec_ok(const char *p, size_t len)
{
	size_t end = len, start;
	int alpha = 0;

	if (len == 0)
		return 0;
	if (p[len - 1] == '}')
		return 1;
	if (p[end - 1] == '.')
		end--;
	start = end;
	while (start > 0 && p[start - 1] != '.')
		start--;
	if (start == end || p[start] == '-' || p[end - 1] == '-')
		return 0;
	for (size_t i = start; i < end; i++) {
		if (isalpha((unsigned char)p[i]))
			alpha = 1;
		else if (!isdigit((unsigned char)p[i]) && p[i] != '-')
			return 0;
	}
	return alpha;
}

static int set_err(char *err, size_t errlen, const char *what,
		   const char *t, size_t tl)
{
	snprintf(err, errlen, "%s '%.*s'", what, (int)(tl > 60 ? 60 : tl), t);
	return -1;
}

/* One directive or modifier t[0..tl). */
static int parse_term(const char *t, size_t tl, struct spf_record *r,
		      char *err, size_t errlen)
{
	struct spf_term *o = &r->t[r->n];
	size_t nl = 0, i, rest;
	const char *arg;
	int c;

	memset(o, 0, sizeof(*o));
	o->qual = '+';
	o->cidr4 = o->cidr6 = -1;
	/* modifier: name "=" macro-string */
	while (nl < tl && (isalnum((unsigned char)t[nl]) || t[nl] == '-' ||
			   t[nl] == '_' || t[nl] == '.'))
		nl++;
	if (nl > 0 && nl < tl && t[nl] == '=' && isalpha((unsigned char)t[0])) {
		o->arg = t + nl + 1;
		o->arglen = tl - nl - 1;
		if (nl == 8 && strncasecmp(t, "redirect", 8) == 0)
			o->mech = SPF_M_REDIRECT;
		else if (nl == 3 && strncasecmp(t, "exp", 3) == 0)
			o->mech = SPF_M_EXP;
		else
			o->mech = SPF_M_UNKNOWN_MOD;
		if (o->mech != SPF_M_UNKNOWN_MOD) {
			for (i = 0; i < r->n; i++)
				if (r->t[i].mech == o->mech)
					return set_err(err, errlen,
						       "repeated modifier",
						       t, tl);
			if (!domain_spec_ok(o->arg, o->arglen))
				return set_err(err, errlen, "bad domain in",
					       t, tl);
		}
		if (o->mech == SPF_M_REDIRECT)
			r->redirect = (int)r->n;
		r->n++;
		return 0;
	}
	if (tl > 0 && strchr("+-~?", t[0])) {
		o->qual = t[0];
		t++;
		tl--;
	}
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		nl = strlen(mechs[i].name);
		if (tl >= nl && strncasecmp(t, mechs[i].name, nl) == 0 &&
		    (tl == nl || t[nl] == ':' || t[nl] == '/'))
			break;
	}
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return set_err(err, errlen, "unknown mechanism", t, tl);
	o->mech = mechs[i].mech;
	rest = tl - nl;
	arg = t + nl;
	/* dual-cidr-length for a and mx, one length for ip4/ip6 */
	if (o->mech == SPF_M_A || o->mech == SPF_M_MX) {
		c = take_cidr(arg, &rest, 128);
		if (c >= 0 && rest > 0 && arg[rest - 1] == '/') {
			o->cidr6 = c;
			rest--;
			c = take_cidr(arg, &rest, 32);
		} else if (c > 32) {
			c = -2;
		}
		if (c == -2)
			return set_err(err, errlen, "bad CIDR length in", t,
				       tl);
		o->cidr4 = c;
	} else if (o->mech == SPF_M_IP4 || o->mech == SPF_M_IP6) {
		c = take_cidr(arg, &rest, o->mech == SPF_M_IP4 ? 32 : 128);
		if (c == -2)
			return set_err(err, errlen, "bad CIDR length in", t,
				       tl);
		if (o->mech == SPF_M_IP4)
			o->cidr4 = c;
		else
			o->cidr6 = c;
	}
	if (rest > 0 && arg[0] != ':')
		return set_err(err, errlen, "bad term", t, tl);
	if (rest > 0) {
		o->arg = arg + 1;
		o->arglen = rest - 1;
	}
	switch (o->mech) {
	case SPF_M_ALL:
		if (o->arg)
			return set_err(err, errlen, "bad term", t, tl);
		break;
	case SPF_M_IP4:
	case SPF_M_IP6: {
		char ip[64];
		unsigned char bin[16];

		if (o->arg == NULL || o->arglen == 0 ||
		    o->arglen >= sizeof(ip))
			return set_err(err, errlen, "bad address in", t, tl);
		memcpy(ip, o->arg, o->arglen);
		ip[o->arglen] = '\0';
		if (inet_pton(o->mech == SPF_M_IP4 ? AF_INET : AF_INET6, ip,
			      bin) != 1)
			return set_err(err, errlen, "bad address in", t, tl);
		break;
	}
	case SPF_M_INCLUDE:
	case SPF_M_EXISTS:
		if (o->arg == NULL)
			return set_err(err, errlen, "no domain in", t, tl);
		/* fall through */
	default:
		if (o->arg && !domain_spec_ok(o->arg, o->arglen))
			return set_err(err, errlen, "bad domain in", t, tl);
		break;
	}
	r->n++;
	return 0;
}

int spf_record_parse(const char *rec, size_t len, struct spf_record *r,
		     char *err, size_t errlen)
{
	size_t i = 6, s;

	memset(r, 0, sizeof(*r));
	r->redirect = -1;
	if (!spf_is_record(rec, len)) {
		snprintf(err, errlen, "not an SPF record");
		return -1;
	}
	for (s = 0; s < len; s++)
		if ((unsigned char)rec[s] < 0x20 || (unsigned char)rec[s] > 0x7e) {
			snprintf(err, errlen, "bad character in record");
			return -1;
		}
	while (i < len) {
		while (i < len && rec[i] == ' ')
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && rec[i] != ' ')
			i++;
		if (r->n == SPF_MAX_TERMS) {
			snprintf(err, errlen, "more than %d terms",
				 SPF_MAX_TERMS);
			return -1;
		}
		if (parse_term(rec + s, i - s, r, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* ---- macros (RFC 7208 7) ---- */

/* The "i" value: dotted quad, or 32 dot-separated nibbles (7.3). */
static int ip_dotted(const char *ip, char *out, size_t outlen)
{
	unsigned char b[16];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, ip, b) == 1)
		return snprintf(out, outlen, "%u.%u.%u.%u", b[0], b[1], b[2],
				b[3]) < (int)outlen ? 0 : -1;
	if (inet_pton(AF_INET6, ip, b) != 1 || outlen < 64)
		return -1;
	for (i = 0; i < 16; i++) {
		out[o++] = "0123456789abcdef"[b[i] >> 4];
		out[o++] = '.';
		out[o++] = "0123456789abcdef"[b[i] & 15];
		out[o++] = i == 15 ? '\0' : '.';
	}
	return 0;
}

static int put(char *out, size_t outlen, size_t *o, const char *p,
	       size_t n)
{
	if (n >= outlen - *o)
		return -1;
	memcpy(out + *o, p, n);
	*o += n;
	return 0;
}

/* Append value split at delims, maybe reversed, its rightmost keep
 * parts joined by '.'; URL-escaped when esc (7.3). */
static int put_transformed(const char *val, const char *delims, int rev,
			   int keep, int esc, char *out, size_t outlen,
			   size_t *o)
{
	const char *part[128];
	size_t plen[128], np = 0, i, first, k;
	const char *p = val, *e;

	for (;;) {
		e = p + strcspn(p, delims);
		if (np == 128)
			return -1;
		part[np] = p;
		plen[np++] = (size_t)(e - p);
		if (*e == '\0')
			break;
		p = e + 1;
	}
	if (rev)
		for (i = 0; i < np / 2; i++) {
			const char *tp = part[i];
			size_t tl = plen[i];

			part[i] = part[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			part[np - 1 - i] = tp;
			plen[np - 1 - i] = tl;
		}
	first = keep > 0 && (size_t)keep < np ? np - (size_t)keep : 0;
	for (i = first; i < np; i++) {
		if (i > first && put(out, outlen, o, ".", 1) < 0)
			return -1;
		for (k = 0; k < plen[i]; k++) {
			unsigned char ch = (unsigned char)part[i][k];
			char hex[4];

			if (esc && !isalnum(ch) && !strchr("-._~", ch)) {
				snprintf(hex, sizeof(hex), "%%%02X", ch);
				if (put(out, outlen, o, hex, 3) < 0)
					return -1;
			} else if (put(out, outlen, o, (char *)&ch, 1) < 0) {
				return -1;
			}
		}
	}
	return 0;
}

int spf_macro_expand(const struct spf_macro_vars *v, const char *spec,
		     size_t len, char *out, size_t outlen)
{
	char val[512], delims[8];
	const char *at = strrchr(v->sender, '@'), *val_p;
	size_t i = 0, o = 0, nd, cut;
	int keep, rev, esc;
	char letter;

	if (outlen == 0)
		return -1;
	while (i < len) {
		unsigned char ch = (unsigned char)spec[i];

		if (ch != '%') {
			if (ch < 0x21 || ch > 0x7e ||
			    put(out, outlen, &o, spec + i, 1) < 0)
				return -1;
			i++;
			continue;
		}
		if (i + 1 >= len)
			return -1;
		if (spec[i + 1] == '%' || spec[i + 1] == '_' ||
		    spec[i + 1] == '-') {
			if (put(out, outlen, &o, spec[i + 1] == '%' ? "%" :
				spec[i + 1] == '_' ? " " : "%20",
				spec[i + 1] == '-' ? 3 : 1) < 0)
				return -1;
			i += 2;
			continue;
		}
		if (spec[i + 1] != '{' || i + 2 >= len)
			return -1;
		i += 2;
		letter = spec[i++];
		esc = isupper((unsigned char)letter);
		val_p = val;
		switch (tolower((unsigned char)letter)) {
		case 's':
			val_p = v->sender;
			break;
		case 'l':
			if (at == NULL || at == v->sender)
				val_p = "postmaster";
			else
				snprintf(val, sizeof(val), "%.*s",
					 (int)(at - v->sender), v->sender);
			break;
		case 'o':
			val_p = at ? at + 1 : v->sender;
			break;
		case 'd':
			val_p = v->domain;
			break;
		case 'i':
			if (ip_dotted(v->ip, val, sizeof(val)) < 0)
				return -1;
			break;
		case 'p':
			val_p = "unknown";
			break;
		case 'v':
			val_p = strchr(v->ip, ':') ? "ip6" : "in-addr";
			break;
		case 'h':
			val_p = v->helo;
			break;
		default: /* c, r, t: only in exp= (7.2), which we skip */
			return -1;
		}
		keep = 0;
		nd = 0;
		while (i < len && isdigit((unsigned char)spec[i])) {
			keep = keep * 10 + (spec[i++] - '0');
			if (++nd > 3)
				return -1;
		}
		if (nd > 0 && keep == 0)
			return -1;
		rev = 0;
		if (i < len && (spec[i] == 'r' || spec[i] == 'R')) {
			rev = 1;
			i++;
		}
		nd = 0;
		while (i < len && strchr(".-+,/_=", spec[i]) && spec[i]) {
			if (nd + 1 < sizeof(delims))
				delims[nd++] = spec[i];
			i++;
		}
		if (nd == 0)
			delims[nd++] = '.';
		delims[nd] = '\0';
		if (i >= len || spec[i] != '}')
			return -1;
		i++;
		if (put_transformed(val_p, delims, rev, keep, esc, out, outlen,
				    &o) < 0)
			return -1;
	}
	out[o] = '\0';
	/* 7.3: drop left labels until the name fits in 253 octets */
	cut = 0;
	while (o - cut > 253) {
		const char *dot = memchr(out + cut, '.', o - cut);

		if (dot == NULL)
			return -1;
		cut = (size_t)(dot - out) + 1;
	}
	if (cut)
		memmove(out, out + cut, o - cut + 1);
	return 0;
}

