/*
 * NAME
 *	dkim - DKIM signatures (RFC 6376) with rsa-sha256 and
 *	ed25519-sha256 (RFC 8463), relaxed/relaxed canonicalization
 * DESCRIPTION
 *	Pure apart from the crypto calls into the OpenSSL adapter: a message
 *	in, a "DKIM-Signature:" header out. Mail layer.
 */
#ifndef SLUICE_DKIM_H
#define SLUICE_DKIM_H

#include <stddef.h>
#include <time.h>

#include "sbuf.h"

struct tls_key;

struct dkim_signer {
	char domain[256];	/* d= */
	char selector[64];	/* s= */
	struct tls_key *key;
};

/* Parse "domain:selector:/path/key.pem, ..." into a NULL-terminated
 * array (free with dkim_signers_free). NULL with a reason in err. */
struct dkim_signer **dkim_signers_load(const char *spec, char *err,
				       size_t errlen);
void dkim_signers_free(struct dkim_signer **list);

/* Append a folded "DKIM-Signature: ...\r\n" header for msg (header
 * section and body, CRLF lines) signed by s at time now. 0 or -1. */
int dkim_sign(const struct dkim_signer *s, const char *msg, size_t len,
	      time_t now, struct sbuf *out);

/* RFC 8617 4.1.2: append an "ARC-Message-Signature: i=instance; ..."
 * field for msg, signed as dkim_sign() signs. 0 or -1. */
int dkim_sign_ams(const struct dkim_signer *s, int instance, const char *msg,
		  size_t len, time_t now, struct sbuf *out);
/* RFC 8617 4.1.3: append an "ARC-Seal: i=instance; cv=cv; ..." field
 * over data[0..dlen), the relaxed fields of every set up to this one
 * without its seal (5.1.1); the seal itself is added here. 0 or -1. */
int dkim_sign_seal(const struct dkim_signer *s, int instance, const char *cv,
		   const char *data, size_t dlen, time_t now, struct sbuf *out);

/* The domain (lowercased) of the From: field's mailbox into out, for
 * choosing the signing key. The header must have exactly one From:
 * field holding exactly one mailbox, by the strict RFC 5322 parser
 * (addrlist.h); else -1 with "" in out and a reason in *why_r, and the
 * message must not be signed. 0 on success. */
int dkim_from_domain(const char *msg, size_t len, char *out, size_t outlen,
		     const char **why_r);

/* RFC 6376 3.4.2: append the relaxed form of one header field
 * (p[0..len), with its CRLF) to out, ending in CRLF. 0 or -1. */
int dkim_canon_header_relaxed(const char *p, size_t len, struct sbuf *out);
/* RFC 6376 3.4.4: append the relaxed form of the body [p, end). */
int dkim_canon_body_relaxed(const char *p, const char *end, struct sbuf *out);

#endif
