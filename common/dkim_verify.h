/*
 * NAME
 *	dkim_verify - DKIM signature verification (RFC 6376, RFC 8463)
 * DESCRIPTION
 *	Pure functions apart from the crypto calls into the OpenSSL
 *	adapter; the key records come from the caller (who looks them up
 *	without blocking). rsa-sha256 and ed25519-sha256, simple and relaxed
 *	canonicalization, up to DKIM_MAX_SIGS signatures per message. A
 *	signature whose l= leaves part of the body unsigned verifies as
 *	"policy", never "pass" (RFC 6376 8.2: content can be appended).
 *	RSA keys under 1024 bits and rsa-sha1 are not accepted (RFC 8301).
 *	Signatures, keys and messages are hostile input. Mail layer.
 */
#ifndef SLUICE_DKIM_VERIFY_H
#define SLUICE_DKIM_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "sbuf.h"

#define DKIM_MAX_SIGS 8		/* signatures verified per message */
#define DKIM_MAX_TAGS 32	/* tags of one tag-list */

/* RFC 8601 2.7.1 results */
enum dkim_result {
	DKIM_NONE, DKIM_PASS, DKIM_FAIL, DKIM_POLICY, DKIM_NEUTRAL,
	DKIM_TEMPERROR, DKIM_PERMERROR, DKIM_NRESULTS
};

const char *dkim_result_name(enum dkim_result r);

/* One tag of a tag-list (RFC 6376 3.2): the value without surrounding
 * FWS, pointing into the parsed text. */
struct dkim_tag {
	char name[16];
	const char *v;
	size_t vlen;
};

/* Parse a tag-list; duplicate or malformed tags fail. Returns the
 * number of tags, or -1. */
int dkim_tags_parse(const char *p, size_t len, struct dkim_tag *tags,
		    size_t max);
/* The tag called name among tags[0..n), or NULL. */
const struct dkim_tag *dkim_tag_get(const struct dkim_tag *tags, int n,
				    const char *name);

/* What a dkim_sig holds: a DKIM-Signature, or one of ARC's signatures
 * (RFC 8617 4.1.2 ARC-Message-Signature: no v=, i= is the instance;
 * 4.1.3 ARC-Seal: no h= nor bh=, cv=, relaxed header canonicalization). */
enum dkim_kind { DKIM_KIND_SIG, DKIM_KIND_AMS, DKIM_KIND_SEAL };

struct dkim_sig {
	enum dkim_result result;	/* final unless need_key */
	int need_key;		/* look up s._domainkey.d, then
				 * dkim_verify_key() */
	char why[96];		/* for logs when not pass */
	char d[256], s[64];
	char i_domain[256];	/* domain of i= (d when absent) */
	int ed;			/* ed25519-sha256, else rsa-sha256 */
	int simple_hdr, simple_body;
	int partial;		/* l= shorter than the body */
	enum dkim_kind kind;
	int instance;		/* ARC i= (1..50), else 0 */
	char cv[8];		/* ARC-Seal cv= ("none", "pass", "fail") */
	const char *hdr;	/* the DKIM-Signature field in the message */
	size_t hdr_len;
	char h[1024];		/* h=, white space removed */
	unsigned char b[1024];
	size_t blen;
};

/* Find the DKIM-Signature fields in the header section msg[0..hlen)
 * (the body follows up to len; CRLF lines), parse them and check their
 * body hashes. Fills sigs (max of them); returns how many. sigs point
 * into msg, which must outlive them. */
size_t dkim_verify_prepare(const char *msg, size_t hlen, size_t len,
			   time_t now, struct dkim_sig *sigs, size_t max);

/* Whether the header field p[0..len) is called name[0..nl). */
int dkim_field_is(const char *p, size_t len, const char *name, size_t nl);
/* Length of the header field at p (with continuation lines), < end. */
size_t dkim_field_len(const char *p, const char *end);

/* Parse the signature field sig->hdr (hdr_len, kind set by the caller,
 * the rest zeroed) and check its body hash against body[0..end): sets
 * result and why, or need_key. */
void dkim_sig_prepare(struct dkim_sig *sig, const char *body, const char *end,
		      time_t now);

/* The DNS name of sig's key ("s._domainkey.d") into out. 0 or -1. */
int dkim_key_name(const struct dkim_sig *sig, char *out, size_t outlen);

/* Finish sig with the TXT record txt[0..tlen) of its key (NULL: none
 * exists, a permerror). Sets result and clears need_key. */
void dkim_verify_key(struct dkim_sig *sig, const char *msg, size_t hlen,
		     const char *txt, size_t tlen);

/* Finish sig as dkim_verify_key() does, over the header hash data
 * data[0..dlen) its caller built (ARC-Seal: arc_verify.c). */
void dkim_verify_data(struct dkim_sig *sig, const char *txt, size_t tlen,
		      const char *data, size_t dlen);

/* Append sig's own field with the b= value emptied, canonicalized,
 * without its final CRLF (RFC 6376 3.7; RFC 8617 5.1.1). 0 or -1. */
int dkim_sig_self(const struct dkim_sig *sig, struct sbuf *out);

#endif
