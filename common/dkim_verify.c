/*
 * NAME
 *	dkim_verify - DKIM verification (RFC 6376 6.1)
 * DESCRIPTION
 *	See dkim_verify.h. Two steps, because the key is in the DNS: first
 *	every signature is parsed and its body hash checked (3.7: the body
 *	canonicalized, cut at l=, SHA-256 compared with bh=); then, per key
 *	record, the header hash data is built (the h= fields bottom-up, 5.4.2,
 *	then the signature field with b= emptied, without its CRLF) and the
 *	signature checked by the OpenSSL adapter. Relaxed canonicalization
 *	is dkim.c's (the signer's); simple is here.
 */
#include "dkim_verify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "limits_rfc.h"
#include "sbuf.h"
#include "tls.h"

#define DKIM_MAX_FIELDS 1000	/* header fields looked at */

const char *dkim_result_name(enum dkim_result r)
{
	static const char *const names[DKIM_NRESULTS] = {
		"none", "pass", "fail", "policy", "neutral", "temperror",
		"permerror",
	};

	return (unsigned)r < DKIM_NRESULTS ? names[r] : "permerror";
}

static int is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int dkim_tags_parse(const char *p, size_t len, struct dkim_tag *tags,
		    size_t max)
{
	size_t i = 0, n = 0, s, e, k;

	while (i < len) {
		while (i < len && is_fws(p[i]))
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && (isalnum((unsigned char)p[i]) || p[i] == '_'))
			i++;
		if (i == s || i - s >= sizeof(tags[0].name) ||
		    !isalpha((unsigned char)p[s]) || n == max)
			return -1;
		memcpy(tags[n].name, p + s, i - s);
		tags[n].name[i - s] = '\0';
		while (i < len && is_fws(p[i]))
			i++;
		if (i == len || p[i] != '=')
			return -1;
		i++;
		while (i < len && is_fws(p[i]))
			i++;
		s = i;
		while (i < len && p[i] != ';')
			i++;
		e = i;
		while (e > s && is_fws(p[e - 1]))
			e--;
		tags[n].v = p + s;
		tags[n].vlen = e - s;
		for (k = 0; k < n; k++)
			if (strcmp(tags[k].name, tags[n].name) == 0)
				return -1;	/* 3.2: duplicates */
		n++;
		if (i < len)
			i++;	/* the ';' */
	}
	return (int)n;
}

const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, int n,
				    const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(tags[i].name, name) == 0)
			return &tags[i];
	return NULL;
}

/* Copy t's value without white space into out (NUL-terminated). */
static int squeeze(const struct dkim_tag *t, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < t->vlen; i++) {
		if (is_fws(t->v[i]))
			continue;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = t->v[i];
	}
	out[o] = '\0';
	return 0;
}

static int unbase64(const struct dkim_tag *t, unsigned char *out,
		    size_t outlen, size_t *n)
{
	char text[2048];
	struct sbuf b;
	int rc = -1;

	if (squeeze(t, text, sizeof(text)) < 0)
		return -1;
	sbuf_init(&b, outlen + 4);	/* room for padding */
	if (tls_unbase64(text, strlen(text), &b) == 0 && b.len <= outlen) {
		if (b.len)
			memcpy(out, b.data, b.len);
		*n = b.len;
		rc = 0;
	}
	sbuf_free(&b);
	return rc;
}

static void set(struct dkim_sig *s, enum dkim_result r, const char *why)
{
	s->result = r;
	s->need_key = 0;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static int value_is(const struct dkim_tag *t, const char *v)
{
	return t && t->vlen == strlen(v) && strncasecmp(t->v, v, t->vlen) == 0;
}

/* The simple body (3.4.3): trailing empty lines go, one CRLF ends it. */
static int canon_body_simple(const char *p, const char *end, struct sbuf *out)
{
	while (end - p >= 4 && memcmp(end - 4, "\r\n\r\n", 4) == 0)
		end -= 2;
	if (end - p == 2 && memcmp(p, "\r\n", 2) == 0)
		end = p;
	if (end > p && sbuf_append(out, p, (size_t)(end - p)) < 0)
		return -1;
	if ((end - p < 2 || memcmp(end - 2, "\r\n", 2) != 0) &&
	    sbuf_append(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

/* The signature of an ARC-Seal (relaxed headers, nothing else). */
static void take_b(struct dkim_sig *s, const struct dkim_tag *b)
{
	if (unbase64(b, s->b, sizeof(s->b), &s->blen) < 0 || s->blen == 0)
		set(s, DKIM_PERMERROR, "bad b=");
	else
		s->need_key = 1;
}

void dkim_sig_prepare(struct dkim_sig *s, const char *body, const char *end,
		      time_t now)
{
	struct dkim_tag t[DKIM_MAX_TAGS];
	const struct dkim_tag *v, *a, *c, *d, *sel, *h, *bh, *b, *i, *l, *x,
			      *cvt;
	const char *colon = memchr(s->hdr, ':', s->hdr_len);
	unsigned char want[32], got[32];
	size_t n, k;
	int nt;
	struct sbuf canon;
	long long ll = -1;

	nt = dkim_tags_parse(colon + 1, (size_t)(s->hdr + s->hdr_len - colon -
						 1), t, DKIM_MAX_TAGS);
	if (nt < 0) {
		set(s, DKIM_PERMERROR, "malformed tag list");
		return;
	}
	v = dkim_tag_get(t, nt, "v");
	a = dkim_tag_get(t, nt, "a");
	c = dkim_tag_get(t, nt, "c");
	d = dkim_tag_get(t, nt, "d");
	sel = dkim_tag_get(t, nt, "s");
	h = dkim_tag_get(t, nt, "h");
	bh = dkim_tag_get(t, nt, "bh");
	b = dkim_tag_get(t, nt, "b");
	i = dkim_tag_get(t, nt, "i");
	l = dkim_tag_get(t, nt, "l");
	x = dkim_tag_get(t, nt, "x");
	cvt = dkim_tag_get(t, nt, "cv");
	if (s->kind == DKIM_KIND_SEAL) {
		/* RFC 8617 4.1.3: no h=, the seal signs headers only */
		if (h || !cvt || cvt->vlen >= sizeof(s->cv)) {
			set(s, DKIM_PERMERROR, "bad ARC-Seal tags");
			return;
		}
		memcpy(s->cv, cvt->v, cvt->vlen);
		s->cv[cvt->vlen] = '\0';
	}
	if ((s->kind == DKIM_KIND_SIG && !value_is(v, "1")) || !a || !d ||
	    !sel || (s->kind != DKIM_KIND_SEAL && (!h || !bh)) || !b) {
		set(s, DKIM_PERMERROR, "missing or bad required tag");
		return;
	}
	if (value_is(a, "rsa-sha256"))
		s->ed = 0;
	else if (value_is(a, "ed25519-sha256"))
		s->ed = 1;
	else {
		set(s, DKIM_PERMERROR, "unsupported algorithm");
		return;
	}
	if (d->vlen == 0 || d->vlen >= sizeof(s->d) || sel->vlen == 0 ||
	    sel->vlen >= sizeof(s->s) ||
	    (h && squeeze(h, s->h, sizeof(s->h)) < 0)) {
		set(s, DKIM_PERMERROR, "bad d=, s= or h=");
		return;
	}
	memcpy(s->d, d->v, d->vlen);
	s->d[d->vlen] = '\0';
	memcpy(s->s, sel->v, sel->vlen);
	s->s[sel->vlen] = '\0';
	for (k = 0; s->d[k]; k++)
		s->d[k] = (char)tolower((unsigned char)s->d[k]);
	snprintf(s->i_domain, sizeof(s->i_domain), "%s", s->d);
	if (s->kind != DKIM_KIND_SIG) {
		/* RFC 8617 4.2.1: i= is the instance, 1..50 */
		for (k = 0; i && k < i->vlen && k < 3 &&
		     isdigit((unsigned char)i->v[k]); k++)
			s->instance = s->instance * 10 + (i->v[k] - '0');
		if (!i || k != i->vlen || s->instance < 1 ||
		    s->instance > LIM_ARC_INSTANCE_MAX) {
			set(s, DKIM_PERMERROR, "bad ARC i=");
			return;
		}
		if (s->kind == DKIM_KIND_SEAL) {
			s->simple_hdr = 0;	/* 5.1.1: relaxed */
			take_b(s, b);
			return;
		}
	} else if (i) {
		const char *at = memchr(i->v, '@', i->vlen);
		size_t il = at ? (size_t)(i->v + i->vlen - at - 1) : 0;

		if (at == NULL || il >= sizeof(s->i_domain)) {
			set(s, DKIM_PERMERROR, "bad i=");
			return;
		}
		memcpy(s->i_domain, at + 1, il);
		s->i_domain[il] = '\0';
		n = strlen(s->d);
		/* 3.5: i= is d= or a subdomain of it */
		if (!(il == n && strcasecmp(s->i_domain, s->d) == 0) &&
		    !(il > n && s->i_domain[il - n - 1] == '.' &&
		      strcasecmp(s->i_domain + il - n, s->d) == 0)) {
			set(s, DKIM_PERMERROR, "i= not within d=");
			return;
		}
	}
	/* 3.5: h= must name From (not asked of an AMS) */
	for (k = 0, n = s->kind != DKIM_KIND_SIG; s->h[k]; k++)
		if ((k == 0 || s->h[k - 1] == ':') &&
		    strncasecmp(s->h + k, "from", 4) == 0 &&
		    (s->h[k + 4] == ':' || s->h[k + 4] == '\0'))
			n = 1;
	if (!n) {
		set(s, DKIM_PERMERROR, "From not signed");
		return;
	}
	s->simple_hdr = s->simple_body = 1;
	if (c) {
		char cv[40];

		if (squeeze(c, cv, sizeof(cv)) < 0)
			cv[0] = 'x';
		if (strcasecmp(cv, "relaxed") == 0 ||
		    strcasecmp(cv, "relaxed/simple") == 0)
			s->simple_hdr = 0;
		else if (strcasecmp(cv, "relaxed/relaxed") == 0)
			s->simple_hdr = s->simple_body = 0;
		else if (strcasecmp(cv, "simple/relaxed") == 0)
			s->simple_body = 0;
		else if (strcasecmp(cv, "simple") != 0 &&
			 strcasecmp(cv, "simple/simple") != 0) {
			set(s, DKIM_PERMERROR, "bad c=");
			return;
		}
	}
	if (l) {
		if (l->vlen == 0 || l->vlen > 15) {
			set(s, DKIM_PERMERROR, "bad l=");
			return;
		}
		ll = 0;
		for (k = 0; k < l->vlen; k++) {
			if (!isdigit((unsigned char)l->v[k])) {
				set(s, DKIM_PERMERROR, "bad l=");
				return;
			}
			ll = ll * 10 + (l->v[k] - '0');
		}
	}
	if (x) {
		long long xv = 0;

		for (k = 0; k < x->vlen && k < 15 &&
		     isdigit((unsigned char)x->v[k]); k++)
			xv = xv * 10 + (x->v[k] - '0');
		if (k != x->vlen || k == 0) {
			set(s, DKIM_PERMERROR, "bad x=");
			return;
		}
		if ((long long)now > xv) {
			set(s, DKIM_PERMERROR, "signature expired");
			return;
		}
	}
	if (unbase64(bh, want, sizeof(want), &n) < 0 || n != 32 ||
	    unbase64(b, s->b, sizeof(s->b), &s->blen) < 0 || s->blen == 0) {
		set(s, DKIM_PERMERROR, "bad bh= or b=");
		return;
	}
	sbuf_init(&canon, (size_t)(end - body) * 2 + 16);
	if ((s->simple_body ? canon_body_simple(body, end, &canon) :
	     dkim_canon_body_relaxed(body, end, &canon)) < 0) {
		sbuf_free(&canon);
		set(s, DKIM_TEMPERROR, "out of memory");
		return;
	}
	if (ll >= 0 && (size_t)ll > canon.len) {
		sbuf_free(&canon);
		set(s, DKIM_PERMERROR, "l= longer than the body");
		return;
	}
	if (ll >= 0 && (size_t)ll < canon.len) {
		s->partial = 1;
		canon.len = (size_t)ll;
	}
	tls_sha256(canon.data ? canon.data : "", canon.len, got);
	sbuf_free(&canon);
	if (memcmp(got, want, 32) != 0) {
		set(s, DKIM_FAIL, "body hash did not verify");
		return;
	}
	s->need_key = 1;
}

int dkim_field_is(const char *p, size_t len, const char *name, size_t nl)
{
	size_t k = nl;

	if (len <= nl || strncasecmp(p, name, nl) != 0)
		return 0;
	while (k < len && (p[k] == ' ' || p[k] == '\t'))
		k++;
	return k < len && p[k] == ':';
}

size_t dkim_field_len(const char *p, const char *end)
{
	const char *q = p, *nl;

	for (;;) {
		nl = memchr(q, '\n', (size_t)(end - q));
		q = nl ? nl + 1 : end;
		if (q >= end || (*q != ' ' && *q != '\t'))
			return (size_t)(q - p);
	}
}

size_t dkim_verify_prepare(const char *msg, size_t hlen, size_t len,
			   time_t now, struct dkim_sig *sigs, size_t max)
{
	const char *p = msg, *end = msg + hlen;
	size_t n = 0, fl;

	while (p < end && n < max) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		fl = dkim_field_len(p, end);
		if (dkim_field_is(p, fl, "DKIM-Signature", 14)) {
			memset(&sigs[n], 0, sizeof(sigs[n]));
			sigs[n].hdr = p;
			sigs[n].hdr_len = fl;
			dkim_sig_prepare(&sigs[n], msg + hlen, msg + len,
					 now);
			n++;
		}
		p += fl;
	}
	return n;
}

int dkim_key_name(const struct dkim_sig *sig, char *out, size_t outlen)
{
	return snprintf(out, outlen, "%s._domainkey.%s", sig->s, sig->d) <
	       (int)outlen ? 0 : -1;
}

/* One field into the hash data, in sig's header canonicalization. */
static int add_field(const struct dkim_sig *sig, const char *p, size_t len,
		     struct sbuf *out)
{
	if (sig->simple_hdr)
		return sbuf_append(out, p, len);
	return dkim_canon_header_relaxed(p, len, out);
}

int dkim_sig_self(const struct dkim_sig *sig, struct sbuf *out)
{
	const char *p, *bpos;
	struct sbuf self;
	int rc;

	sbuf_init(&self, sig->hdr_len + 4);
	bpos = NULL;
	for (p = (const char *)memchr(sig->hdr, ':', sig->hdr_len) + 1;
	     p < sig->hdr + sig->hdr_len; p++) {
		const char *q = p;

		while (q < sig->hdr + sig->hdr_len && is_fws(*q))
			q++;
		if (q + 1 < sig->hdr + sig->hdr_len && q[0] == 'b') {
			const char *r = q + 1;

			while (r < sig->hdr + sig->hdr_len && is_fws(*r))
				r++;
			if (r < sig->hdr + sig->hdr_len && *r == '=') {
				bpos = r + 1;
				break;
			}
		}
		p = memchr(p, ';', (size_t)(sig->hdr + sig->hdr_len - p));
		if (p == NULL)
			break;
	}
	rc = -1;
	if (bpos) {
		const char *semi = memchr(bpos, ';', (size_t)(sig->hdr +
							sig->hdr_len - bpos));
		const char *fend = sig->hdr + sig->hdr_len;
		const char *stop = semi ? semi : fend - (fend - bpos >= 2 &&
					fend[-2] == '\r' ? 2 : 0);

		if (sbuf_append(&self, sig->hdr, (size_t)(bpos - sig->hdr)) ==
		    0 && sbuf_append(&self, stop, (size_t)(sig->hdr +
						sig->hdr_len - stop)) == 0 &&
		    add_field(sig, self.data, self.len, out) == 0 &&
		    out->len >= 2) {
			out->len -= 2;	/* its CRLF */
			rc = 0;
		}
	}
	sbuf_free(&self);
	return rc;
}

/* The header hash data (RFC 6376 3.7, 5.4.2). 0 or -1. */
static int header_data(const struct dkim_sig *sig, const char *msg,
		       size_t hlen, struct sbuf *out)
{
	const char *fp[DKIM_MAX_FIELDS], *p = msg, *end = msg + hlen;
	size_t fln[DKIM_MAX_FIELDS], nf = 0, k, nl;
	char used[DKIM_MAX_FIELDS] = {0};
	const char *h = sig->h, *e;

	while (p < end && nf < DKIM_MAX_FIELDS) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		fp[nf] = p;
		fln[nf] = dkim_field_len(p, end);
		p += fln[nf++];
	}
	while (*h) {
		e = strchr(h, ':');
		nl = e ? (size_t)(e - h) : strlen(h);
		for (k = nf; k-- > 0;)
			if (!used[k] && dkim_field_is(fp[k], fln[k], h, nl)) {
				used[k] = 1;
				if (add_field(sig, fp[k], fln[k], out) < 0)
					return -1;
				break;
			}
		h += nl;
		if (*h == ':')
			h++;
	}
	return dkim_sig_self(sig, out);
}

void dkim_verify_key(struct dkim_sig *sig, const char *msg, size_t hlen,
		     const char *txt, size_t tlen)
{
	struct sbuf data;

	sbuf_init(&data, hlen + 4096);
	if (header_data(sig, msg, hlen, &data) < 0)
		set(sig, DKIM_PERMERROR, "cannot build the header hash");
	else
		dkim_verify_data(sig, txt, tlen, data.data, data.len);
	sbuf_free(&data);
}

void dkim_verify_data(struct dkim_sig *sig, const char *txt, size_t tlen,
		      const char *data, size_t dlen)
{
	struct dkim_tag t[DKIM_MAX_TAGS];
	const struct dkim_tag *v, *k, *p, *hh, *fl;
	unsigned char key[1100], hash[32];
	size_t klen = 0;
	int nt, rc;

	if (txt == NULL) {
		set(sig, DKIM_PERMERROR, "no key");
		return;
	}
	nt = dkim_tags_parse(txt, tlen, t, DKIM_MAX_TAGS);
	if (nt < 0) {
		set(sig, DKIM_PERMERROR, "malformed key record");
		return;
	}
	v = dkim_tag_get(t, nt, "v");
	k = dkim_tag_get(t, nt, "k");
	p = dkim_tag_get(t, nt, "p");
	hh = dkim_tag_get(t, nt, "h");
	fl = dkim_tag_get(t, nt, "t");
	if ((v && (!value_is(v, "DKIM1") || &t[0] != v)) || p == NULL ||
	    (k && !value_is(k, sig->ed ? "ed25519" : "rsa")) ||
	    (!k && sig->ed) || (hh && !memmem(hh->v, hh->vlen, "sha256", 6))) {
		set(sig, DKIM_PERMERROR, "key record does not fit");
		return;
	}
	if (p->vlen == 0) {
		set(sig, DKIM_PERMERROR, "key revoked");
		return;
	}
	/* t=s: i= must be d= itself (3.6.1) */
	if (fl && memchr(fl->v, 's', fl->vlen) &&
	    strcasecmp(sig->i_domain, sig->d) != 0) {
		set(sig, DKIM_PERMERROR, "key is strict (t=s), i= differs");
		return;
	}
	if (unbase64(p, key, sizeof(key), &klen) < 0) {
		set(sig, DKIM_PERMERROR, "bad p=");
		return;
	}
	if (sig->ed) {	/* RFC 8463 3: Ed25519 over the SHA-256 */
		tls_sha256(data, dlen, hash);
		rc = tls_pubkey_verify(TLS_KEY_ED25519, key, klen, hash,
				       sizeof(hash), sig->b, sig->blen);
	} else {
		rc = tls_pubkey_verify(TLS_KEY_RSA, key, klen, data, dlen,
				       sig->b, sig->blen);
	}
	if (rc == -2)
		set(sig, DKIM_PERMERROR, "unusable key");
	else if (rc < 0)
		set(sig, DKIM_FAIL, "signature did not verify");
	else if (sig->partial)
		set(sig, DKIM_POLICY, "l= leaves part of the body unsigned");
	else
		set(sig, DKIM_PASS, "");
}
