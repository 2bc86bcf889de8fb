/*
 * NAME
 *	tls - the OpenSSL adapter
 * DESCRIPTION
 *	Server contexts (certificate + key) and client contexts, TLS 1.2 or
 *	newer only, and non-blocking TLS on an existing socket (tls.c); and
 *	the adapter's cryptography: hashes, Base64, signatures and keys,
 *	password hashes and SCRAM secrets, AES-256-GCM (tls_crypto.c).
 *	These two files are the only ones that include OpenSSL. Errors from
 *	OpenSSL are mapped to short strings here, in one place.
 *	Base layer; faces the network.
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tls_ctx;
struct tls_conn;

/* Server context from PEM files. Returns NULL with a reason in err. */
struct tls_ctx *tls_server_ctx(const char *cert, const char *key, char *err,
			       size_t errlen);
/* Client context; verify: check the peer's chain against cafile (or the
 * system store when cafile is NULL) and its name. NULL on error. */
struct tls_ctx *tls_client_ctx(int verify, const char *cafile, char *err,
			       size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);

/* Reload: c (from tls_server_ctx()) serves cert and key from the next
 * handshake on; sessions under way keep what they had. 0, or -1 with a
 * reason in err and c unchanged. */
int tls_server_reload(struct tls_ctx *c, const char *cert, const char *key,
		      char *err, size_t errlen);

/* Start TLS on fd as server or client (sni: server name to send and
 * verify; NULL only when the context does not verify). NULL on error. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, int server,
			      const char *sni);
void tls_conn_free(struct tls_conn *t);

#define TLS_WANT_READ (-2)
#define TLS_WANT_WRITE (-3)

/* Advance the handshake: 1 done, TLS_WANT_READ/WRITE, or -1 (reason in
 * tls_error()). */
int tls_handshake(struct tls_conn *t);
/* Like read(2)/write(2): >0 bytes, 0 on clean close (read), -1 error,
 * TLS_WANT_READ/WRITE when it would block. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t n);
ssize_t tls_write(struct tls_conn *t, const void *buf, size_t n);
/* Bytes already decrypted and waiting inside the TLS layer. */
size_t tls_pending(struct tls_conn *t);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
void tls_describe(struct tls_conn *t, char *out, size_t outlen);
/* The last error as text. */
const char *tls_error(struct tls_conn *t);



/* ---- crypto for DKIM, passwords and SASL (tls_crypto.c) ---- */

struct sbuf;
struct tls_key;

enum tls_key_type { TLS_KEY_RSA, TLS_KEY_ED25519 };

/* SHA-256 of p[0..n). */
void tls_sha256(const void *p, size_t n, unsigned char out[32]);
/* Append the Base64 of p[0..n) (no line breaks) to out. 0 or -1. */
int tls_base64(const void *p, size_t n, struct sbuf *out);

/* Load a PEM private key (RSA or Ed25519). NULL with a reason. */
struct tls_key *tls_key_load(const char *path, char *err, size_t errlen);
void tls_key_free(struct tls_key *k);
enum tls_key_type tls_key_type(const struct tls_key *k);
/* Sign data: RSA with RSASSA-PKCS1-v1_5 over SHA-256 of data; Ed25519
 * with PureEdDSA over data itself. Appends the raw signature to sig. */
int tls_key_sign(struct tls_key *k, const void *data, size_t n,
		 struct sbuf *sig);
/* Verify sig over data with a DKIM public key (the p= bytes): RSA
 * (SubjectPublicKeyInfo or PKCS#1, 1024 bits at least) with
 * RSASSA-PKCS1-v1_5 over SHA-256 of data; Ed25519 (32 raw bytes) with
 * PureEdDSA over data. 0 valid, -1 invalid, -2 unusable key. */
int tls_pubkey_verify(enum tls_key_type type, const void *key, size_t klen,
		      const void *data, size_t n, const void *sig,
		      size_t siglen);
/* Make a key (RSA 2048 or Ed25519), write it to path (mode 0600), and
 * append its DKIM public key value (the p= tag, Base64) to pub. */
int tls_key_generate(enum tls_key_type type, const char *path,
		     struct sbuf *pub, char *err, size_t errlen);

/* Password hashing for the user directory: scrypt (N=2^15, r=8, p=1,
 * 16-byte random salt), written "$scrypt$15$8$1$SALT$HASH" (Base64).
 * Appends the hash of pw to out. 0 or -1. */
int tls_password_hash(const char *pw, struct sbuf *out);
/* 1 if pw matches stored (constant-time compare), 0 if not, -1 if stored
 * is malformed. */
int tls_password_check(const char *pw, const char *stored);

/* Append the bytes that the Base64 text s[0..n) encodes to out. Strict
 * (RFC 4648 section 4): no white space, padding only at the end, length
 * a multiple of 4. 0, or -1 for malformed input or past out's maximum. */
int tls_unbase64(const char *s, size_t n, struct sbuf *out);
/* n bytes from the CSPRNG. 0 or -1. */
int tls_random(void *p, size_t n);
/* HMAC-SHA-256 of data[0..n) with key[0..klen). */
void tls_hmac_sha256(const void *key, size_t klen, const void *data,
		     size_t n, unsigned char out[32]);
/* PBKDF2-HMAC-SHA-256 (RFC 8018), one 32-byte block: SCRAM's Hi(). */
int tls_pbkdf2_sha256(const char *pw, size_t pwlen, const void *salt,
		      size_t slen, unsigned iter, unsigned char out[32]);
/* The SCRAM-SHA-256 secret of pw (RFC 5802 section 3, RFC 7677): random
 * 16-byte salt, TLS_SCRAM_ITER iterations, appended to out as Cyrus
 * SASL's authPassword value "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY"
 * (Base64 fields). Never contains a space. 0 or -1. */
#define TLS_SCRAM_ITER 4096
int tls_scram_secret(const char *pw, struct sbuf *out);

/* ---- authenticated encryption at rest (tls_crypto.c) ---- */

/* AES-256-GCM (NIST SP 800-38D): 256-bit keys, 96-bit nonces, 128-bit
 * tags. Make keys with tls_random(). */
#define TLS_AEAD_KEY_LEN 32
#define TLS_AEAD_NONCE_LEN 12
#define TLS_AEAD_TAG_LEN 16

/* Encrypt in[0..n) under key with a fresh random nonce (written to nonce)
 * and authenticate aad[0..aadlen) with it: out gets the n bytes of
 * ciphertext (out may be in), tag the tag. 0, or -1. */
int tls_aead_seal(const unsigned char key[TLS_AEAD_KEY_LEN],
		  const void *aad, size_t aadlen, const void *in, size_t n,
		  void *out, unsigned char nonce[TLS_AEAD_NONCE_LEN],
		  unsigned char tag[TLS_AEAD_TAG_LEN]);
/* The same with the caller's nonce, for known-answer tests: a nonce must
 * never be used twice under one key, so everything else uses
 * tls_aead_seal(). */
int tls_aead_seal_nonce(const unsigned char key[TLS_AEAD_KEY_LEN],
			const unsigned char nonce[TLS_AEAD_NONCE_LEN],
			const void *aad, size_t aadlen, const void *in,
			size_t n, void *out,
			unsigned char tag[TLS_AEAD_TAG_LEN]);
/* Decrypt in[0..n) into out (n bytes; out may be in) and check the tag
 * over it and aad. 0, or -1 when key, nonce, aad, ciphertext or tag is
 * not what was sealed: out is then zeroed, never half-trusted. */
int tls_aead_open(const unsigned char key[TLS_AEAD_KEY_LEN],
		  const unsigned char nonce[TLS_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *in, size_t n,
		  const unsigned char tag[TLS_AEAD_TAG_LEN], void *out);
/* 1 if a[0..n) equals b[0..n), in time that does not depend on where
 * they differ; else 0. */
int tls_memeq(const void *a, const void *b, size_t n);

#endif
