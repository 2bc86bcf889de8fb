/*
 * NAME
 *	dkim - DKIM signing, relaxed/relaxed
 * DESCRIPTION
 *	RFC 6376 3.4.2 (relaxed header canonicalization): lowercase the
 *	name, unfold, turn runs of WSP into one SP, drop WSP at the end of
 *	the value and around the colon. 3.4.4 (relaxed body): drop WSP at
 *	line ends, turn WSP runs into one SP, drop empty lines at the end.
 *	Headers are signed bottom-up per name (5.4.2); From is listed twice
 *	so that a From added later breaks the signature (oversigning).
 *	RFC 8463: ed25519-sha256 signs the SHA-256 of the header data.
 *	Every header field is seen, however many (no count limit a verifier
 *	does not share), and the signing domain is that of the one mailbox
 *	of the one From: field, by the strict address-list parser.
 */
#include "dkim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrlist.h"
#include "config.h"
#include "tls.h"

static const char *const sign_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "message-id",
	"in-reply-to", "references", "mime-version", "content-type",
	"content-transfer-encoding", NULL,
};

struct hdr {
	const char *p;	/* start of the header line */
	size_t len;	/* up to and including the final CRLF */
	int used;
};

/* Split the header section into headers (with continuation lines).
 * Returns the count, and *body the start of the body. With h NULL,
 * only counts. */
static size_t split_headers(const char *msg, size_t len, struct hdr *h,
			    size_t max, const char **body)
{
	const char *p = msg, *end = msg + len, *nl;
	size_t n = 0;

	while (p < end) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
			*body = p + 2;
			return n;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		if ((*p == ' ' || *p == '\t') && n > 0) {
			if (h)
				h[n - 1].len = (size_t)(nl - h[n - 1].p);
		} else if (h == NULL || n < max) {
			if (h) {
				h[n].p = p;
				h[n].len = (size_t)(nl - p);
				h[n].used = 0;
			}
			n++;
		}
		p = nl;
	}
	*body = end;
	return n;
}

static int name_is(const struct hdr *h, const char *name)
{
	size_t nl = strlen(name);

	return h->len > nl && strncasecmp(h->p, name, nl) == 0 &&
	       (h->p[nl] == ':' || h->p[nl] == ' ' || h->p[nl] == '\t');
}

/* Relaxed canonical form of one header ("name:value\r\n"). */
static int canon_header(const char *p, size_t len, struct sbuf *out)
{
	const char *end = p + len, *colon = memchr(p, ':', len);
	int sp = 0, started = 0;

	if (colon == NULL)
		return 0;
	for (; p < colon; p++)
		if (*p != ' ' && *p != '\t' &&
		    sbuf_append(out, &(char){(char)tolower((unsigned char)*p)},
				1) < 0)
			return -1;
	if (sbuf_append(out, ":", 1) < 0)
		return -1;
	for (p = colon + 1; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == ' ' || *p == '\t') {
			sp = 1;
			continue;
		}
		if (sp && started && sbuf_append(out, " ", 1) < 0)
			return -1;
		sp = 0;
		started = 1;
		if (sbuf_append(out, p, 1) < 0)
			return -1;
	}
	return sbuf_append(out, "\r\n", 2);
}

/* Relaxed canonical body (RFC 6376 3.4.4). */
static int canon_body(const char *p, const char *end, struct sbuf *out)
{
	size_t empty = 0, i, linelen;
	const char *nl;
	int sp;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		linelen = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (linelen > 0 && p[linelen - 1] == '\r')
			linelen--;
		/* trailing WSP goes */
		while (linelen > 0 && (p[linelen - 1] == ' ' ||
				       p[linelen - 1] == '\t'))
			linelen--;
		if (linelen == 0) {
			empty++;
		} else {
			for (; empty > 0; empty--)
				if (sbuf_append(out, "\r\n", 2) < 0)
					return -1;
			for (i = 0, sp = 0; i < linelen; i++) {
				if (p[i] == ' ' || p[i] == '\t') {
					sp = 1;
					continue;
				}
				if (sp && sbuf_append(out, " ", 1) < 0)
					return -1;
				sp = 0;
				if (sbuf_append(out, p + i, 1) < 0)
					return -1;
			}
			if (sbuf_append(out, "\r\n", 2) < 0)
				return -1;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* Every header field of msg, however many: a signer that stopped at
 * some count would sign, bottom-up, another instance of a field than
 * the verifier (which sees them all) takes. NULL when out of memory. */
static struct hdr *all_headers(const char *msg, size_t len, size_t *n,
			       const char **body)
{
	size_t count = split_headers(msg, len, NULL, 0, body);
	struct hdr *h = calloc(count + 1, sizeof(*h));

	if (h != NULL)
		*n = split_headers(msg, len, h, count, body);
	return h;
}

/* Finish a signature field: sighdr holds it up to "b=", data the
 * canonical header data it covers before itself. Canonicalize sighdr
 * onto data (b= empty, no final CRLF: RFC 6376 3.7, RFC 8617 5.1.1),
 * sign, and append the field, folded, to out. 0 or -1. */
static int sign_finish(const struct dkim_signer *s, struct sbuf *sighdr,
		       struct sbuf *data, struct sbuf *out)
{
	struct sbuf sig, b64;
	unsigned char hh[32];
	size_t col;
	int rc = -1;

	sbuf_init(&sig, 1024);
	sbuf_init(&b64, 2048);
	if (canon_header(sighdr->data, sighdr->len, data) < 0)
		goto out;
	data->len -= 2;
	if (tls_key_type(s->key) == TLS_KEY_ED25519) {
		tls_sha256(data->data, data->len, hh);
		if (tls_key_sign(s->key, hh, sizeof(hh), &sig) < 0)
			goto out;
	} else if (tls_key_sign(s->key, data->data, data->len, &sig) < 0) {
		goto out;
	}
	if (tls_base64(sig.data, sig.len, &b64) < 0 ||
	    sbuf_append(out, sighdr->data, sighdr->len) < 0)
		goto out;
	/* fold: the fixed part, then the signature in 72-column pieces */
	for (col = 0; col < b64.len; col += 72)
		if (sbuf_printf(out, "\r\n\t%.*s", (int)(b64.len - col > 72 ?
							  72 : b64.len - col),
				b64.data + col) < 0)
			goto out;
	rc = sbuf_puts(out, "\r\n");
out:
	sbuf_free(&sig);
	sbuf_free(&b64);
	return rc;
}

/* A DKIM-Signature (instance 0) or an ARC-Message-Signature (RFC 8617
 * 4.1.2: i= instead of v=, same h= and bh=). */
static int sign_msg(const struct dkim_signer *s, int instance,
		    const char *msg, size_t len, time_t now, struct sbuf *out)
{
	struct sbuf canon, hlist, sighdr;
	unsigned char bh[32];
	const char *body = msg + len;
	size_t n = 0, i, k;
	struct hdr *h = all_headers(msg, len, &n, &body);
	int rc = -1, ed = tls_key_type(s->key) == TLS_KEY_ED25519;

	if (h == NULL)
		return -1;
	sbuf_init(&canon, len + 4096);
	sbuf_init(&hlist, 4096);
	sbuf_init(&sighdr, 8192);
	if (canon_body(body, msg + len, &canon) < 0)
		goto out;
	tls_sha256(canon.data ? canon.data : "", canon.len, bh);
	sbuf_reset(&canon);
	/* header data: the chosen headers, bottom-up per name */
	for (i = 0; sign_headers[i]; i++) {
		for (k = n; k-- > 0;) {
			if (h[k].used || !name_is(&h[k], sign_headers[i]))
				continue;
			h[k].used = 1;
			if (canon_header(h[k].p, h[k].len, &canon) < 0 ||
			    sbuf_printf(&hlist, "%s%s", hlist.len ? ":" : "",
					sign_headers[i]) < 0)
				goto out;
			break;
		}
	}
	if (sbuf_puts(&hlist, ":from") < 0) /* oversign From */
		goto out;
	if (instance > 0)
		rc = sbuf_printf(&sighdr, "ARC-Message-Signature: i=%d;",
				 instance);
	else
		rc = sbuf_puts(&sighdr, "DKIM-Signature: v=1;");
	if (rc < 0 ||
	    sbuf_printf(&sighdr, " a=%s; c=relaxed/relaxed;"
			" d=%s; s=%s; t=%lld; h=%s; bh=",
			ed ? "ed25519-sha256" : "rsa-sha256", s->domain,
			s->selector, (long long)now, hlist.data) < 0 ||
	    tls_base64(bh, sizeof(bh), &sighdr) < 0 ||
	    sbuf_puts(&sighdr, "; b=") < 0)
		rc = -1;
	else
		rc = sign_finish(s, &sighdr, &canon, out);
out:
	sbuf_free(&canon);
	sbuf_free(&hlist);
	sbuf_free(&sighdr);
	free(h);
	return rc;
}

int dkim_sign(const struct dkim_signer *s, const char *msg, size_t len,
	      time_t now, struct sbuf *out)
{
	return sign_msg(s, 0, msg, len, now, out);
}

int dkim_sign_ams(const struct dkim_signer *s, int instance, const char *msg,
		  size_t len, time_t now, struct sbuf *out)
{
	return instance > 0 ? sign_msg(s, instance, msg, len, now, out) : -1;
}

int dkim_sign_seal(const struct dkim_signer *s, int instance, const char *cv,
		   const char *data, size_t dlen, time_t now, struct sbuf *out)
{
	struct sbuf hdr, d;
	int rc = -1;

	sbuf_init(&hdr, 1024);
	sbuf_init(&d, dlen + 4096);
	if (sbuf_append(&d, data, dlen) == 0 &&
	    sbuf_printf(&hdr, "ARC-Seal: i=%d; a=%s; cv=%s; d=%s; s=%s; "
			"t=%lld; b=", instance, tls_key_type(s->key) ==
			TLS_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256",
			cv, s->domain, s->selector, (long long)now) == 0)
		rc = sign_finish(s, &hdr, &d, out);
	sbuf_free(&hdr);
	sbuf_free(&d);
	return rc;
}

int dkim_from_domain(const char *msg, size_t len, char *out, size_t outlen,
		     const char **why_r)
{
	struct addrlist_mailbox mb;
	const char *body, *colon = NULL;
	size_t n = 0, i, nmb, found = 0;
	struct hdr *h = all_headers(msg, len, &n, &body);
	int rc = -1;

	out[0] = '\0';
	*why_r = "out of memory";
	if (h == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (!name_is(&h[i], "from"))
			continue;
		found++;
		colon = memchr(h[i].p, ':', h[i].len);
		*why_r = "From: field without a colon";
		if (colon == NULL)
			goto out;
		if (addrlist_parse(colon + 1, h[i].len - (size_t)(colon + 1 -
							      h[i].p),
				   ADDRLIST_MAILBOXES, &mb, 1, &nmb,
				   why_r) < 0)
			goto out;
	}
	/* RFC 5322 3.6: one From: field; RFC 6376 5.4: its domain signs */
	*why_r = found == 0 ? "no From: field" : "more than one From: field";
	if (found != 1)
		goto out;
	*why_r = "From: domain too long";
	if (strlen(mb.domain) >= outlen)
		goto out;
	memcpy(out, mb.domain, strlen(mb.domain) + 1);
	rc = 0;
out:
	free(h);
	return rc;
}

struct dkim_signer **dkim_signers_load(const char *spec, char *err,
				       size_t errlen)
{
	char **items = config_list(spec), *c1, *c2;
	struct dkim_signer **list;
	size_t n = 0, i;

	if (items == NULL)
		return NULL;
	while (items[n])
		n++;
	list = calloc(n + 1, sizeof(*list));
	for (i = 0; list && i < n; i++) {
		c1 = strchr(items[i], ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		list[i] = calloc(1, sizeof(**list));
		if (list[i] == NULL || c2 == NULL ||
		    (size_t)(c1 - items[i]) >= sizeof(list[i]->domain) ||
		    (size_t)(c2 - c1 - 1) >= sizeof(list[i]->selector)) {
			snprintf(err, errlen, "dkim_keys entry '%s': want "
				 "domain:selector:/path/key.pem", items[i]);
			goto fail;
		}
		memcpy(list[i]->domain, items[i], (size_t)(c1 - items[i]));
		memcpy(list[i]->selector, c1 + 1, (size_t)(c2 - c1 - 1));
		list[i]->key = tls_key_load(c2 + 1, err, errlen);
		if (list[i]->key == NULL)
			goto fail;
	}
	config_list_free(items);
	return list;
fail:
	config_list_free(items);
	dkim_signers_free(list);
	return NULL;
}

void dkim_signers_free(struct dkim_signer **list)
{
	size_t i;

	for (i = 0; list && list[i]; i++) {
		tls_key_free(list[i]->key);
		free(list[i]);
	}
	free(list);
}

/* ---- the canonicalizations, for dkim_verify.c ---- */

int dkim_canon_header_relaxed(const char *p, size_t len, struct sbuf *out)
{
	return canon_header(p, len, out);
}

int dkim_canon_body_relaxed(const char *p, const char *end, struct sbuf *out)
{
	return canon_body(p, end, out);
}
