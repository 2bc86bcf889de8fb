/*
 * NAME
 *	tls_crypto - the OpenSSL adapter's hashes, keys and signatures
 * DESCRIPTION
 *	What DKIM (RFC 6376, RFC 8463) needs from OpenSSL: SHA-256, Base64,
 *	RSA-SHA256 and Ed25519 signatures, key generation; and what the
 *	user directory and SASL need: scrypt password hashes, SCRAM-SHA-256
 *	secrets (PBKDF2, HMAC), strict Base64 decoding; and what the access
 *	boxes' encryption at rest needs: AES-256-GCM sealing and opening
 *	(random 96-bit nonces, 128-bit tags, associated data). Part of the
 *	OpenSSL adapter (with tls.c): no other file includes OpenSSL.
 */
#include "tls.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sbuf.h"

struct tls_key {
	EVP_PKEY *pkey;
	enum tls_key_type type;
};

static void crypto_error(char *err, size_t errlen, const char *what)
{
	char buf[120];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "failed");
	ERR_clear_error();
}

void tls_sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

int tls_base64(const void *p, size_t n, struct sbuf *out)
{
	size_t need = 4 * ((n + 2) / 3);

	if (n > 0x3fffffff || sbuf_reserve(out, need + 1) < 0)
		return -1;
	EVP_EncodeBlock((unsigned char *)out->data + out->len, p, (int)n);
	out->len += need;
	out->data[out->len] = '\0';
	return 0;
}

struct tls_key *tls_key_load(const char *path, char *err, size_t errlen)
{
	struct tls_key *k;
	FILE *f = fopen(path, "r");
	EVP_PKEY *pkey;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL) {
		crypto_error(err, errlen, path);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		k->type = TLS_KEY_ED25519;
	} else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA &&
		   EVP_PKEY_get_bits(pkey) >= 1024) {
		k->type = TLS_KEY_RSA;
	} else {
		snprintf(err, errlen, "%s: want an RSA (>= 1024 bits) or "
			 "Ed25519 key", path);
		tls_key_free(k);
		return NULL;
	}
	return k;
}

void tls_key_free(struct tls_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

enum tls_key_type tls_key_type(const struct tls_key *k)
{
	return k->type;
}

int tls_key_sign(struct tls_key *k, const void *data, size_t n,
		 struct sbuf *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, k->type == TLS_KEY_RSA ?
			       EVP_sha256() : NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, NULL, &len, data, n) == 1 &&
	    sbuf_reserve(sig, len) == 0 &&
	    EVP_DigestSign(ctx, (unsigned char *)sig->data + sig->len, &len,
			   data, n) == 1) {
		sig->len += len;
		rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

int tls_pubkey_verify(enum tls_key_type type, const void *key, size_t klen,
		      const void *data, size_t n, const void *sig,
		      size_t siglen)
{
	const unsigned char *p = key;
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx;
	int rc = -2;

	if (type == TLS_KEY_ED25519) {
		pkey = klen == 32 ? EVP_PKEY_new_raw_public_key(
				EVP_PKEY_ED25519, NULL, p, klen) : NULL;
	} else {
		/* SubjectPublicKeyInfo (RFC 6376 3.6.1), else PKCS#1 */
		pkey = d2i_PUBKEY(NULL, &p, (long)klen);
		if (pkey == NULL) {
			p = key;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p,
					     (long)klen);
		}
		/* RFC 8301 3.2: shorter RSA keys are not valid */
		if (pkey && (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
			     EVP_PKEY_get_bits(pkey) < 1024)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	ctx = pkey ? EVP_MD_CTX_new() : NULL;
	if (ctx && EVP_DigestVerifyInit(ctx, NULL, type == TLS_KEY_RSA ?
					EVP_sha256() : NULL, NULL, pkey) == 1)
		rc = EVP_DigestVerify(ctx, sig, siglen, data, n) == 1 ? 0 : -1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

int tls_key_generate(enum tls_key_type type, const char *path,
		     struct sbuf *pub, char *err, size_t errlen)
{
	EVP_PKEY *pkey = type == TLS_KEY_RSA ?
			 EVP_RSA_gen(2048) :
			 EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char raw[32], *der = NULL;
	size_t rawlen = sizeof(raw);
	int fd, derlen, rc = -1;
	FILE *f;

	if (pkey == NULL) {
		crypto_error(err, errlen, "key generation");
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot create (exists?)", path);
		if (fd >= 0)
			close(fd);
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		crypto_error(err, errlen, path);
		fclose(f);
		EVP_PKEY_free(pkey);
		return -1;
	}
	fclose(f);
	if (type == TLS_KEY_ED25519) {
		/* RFC 8463 4.2: the raw 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) == 1)
			rc = tls_base64(raw, rawlen, pub);
	} else {
		/* RFC 6376 3.6.1: DER SubjectPublicKeyInfo */
		derlen = i2d_PUBKEY(pkey, &der);
		if (derlen > 0)
			rc = tls_base64(der, (size_t)derlen, pub);
		OPENSSL_free(der);
	}
	if (rc < 0)
		crypto_error(err, errlen, "public key");
	EVP_PKEY_free(pkey);
	return rc;
}

#define PW_LOGN 15
#define PW_R 8
#define PW_P 1
#define PW_SALT 16
#define PW_LEN 32

static int scrypt(const char *pw, const unsigned char *salt, size_t slen,
		  int logn, int r, int p, unsigned char *out)
{
	return EVP_PBE_scrypt(pw, strlen(pw), salt, slen, (uint64_t)1 << logn,
			      (uint64_t)r, (uint64_t)p, 64u * 1024 * 1024,
			      out, PW_LEN) == 1 ? 0 : -1;
}

int tls_password_hash(const char *pw, struct sbuf *out)
{
	unsigned char salt[PW_SALT], hash[PW_LEN];
	int rc = -1;

	if (RAND_bytes(salt, sizeof(salt)) == 1 &&
	    scrypt(pw, salt, sizeof(salt), PW_LOGN, PW_R, PW_P, hash) == 0 &&
	    sbuf_printf(out, "$scrypt$%d$%d$%d$", PW_LOGN, PW_R, PW_P) == 0 &&
	    tls_base64(salt, sizeof(salt), out) == 0 &&
	    sbuf_puts(out, "$") == 0 && tls_base64(hash, sizeof(hash), out) == 0)
		rc = 0;
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int tls_password_check(const char *pw, const char *stored)
{
	unsigned char salt[64], want[64], got[PW_LEN];
	char s64[64], h64[64];
	int logn, r, p, sl, hl, rc;

	if (sscanf(stored, "$scrypt$%d$%d$%d$%63[^$]$%63s", &logn, &r, &p,
		   s64, h64) != 5 || logn < 10 || logn > 20 || r < 1 ||
	    r > 32 || p < 1 || p > 16)
		return -1;
	sl = EVP_DecodeBlock(salt, (unsigned char *)s64, (int)strlen(s64));
	hl = EVP_DecodeBlock(want, (unsigned char *)h64, (int)strlen(h64));
	/* DecodeBlock counts the padding bytes: trim them */
	sl -= (int)(strlen(s64) - strcspn(s64, "="));
	hl -= (int)(strlen(h64) - strcspn(h64, "="));
	if (sl <= 0 || hl != PW_LEN)
		return -1;
	if (scrypt(pw, salt, (size_t)sl, logn, r, p, got) < 0)
		return -1;
	rc = CRYPTO_memcmp(got, want, PW_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return rc;
}

int tls_unbase64(const char *s, size_t n, struct sbuf *out)
{
	size_t i, pad = 0;
	int got;

	if (n % 4 != 0 || n > 0x3ffffffc)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=') {
			if (i + 2 < n)
				return -1;
			pad++;
		} else if (pad || !(isalnum(c) || c == '+' || c == '/')) {
			return -1;
		}
	}
	if (n == 0)
		return 0;
	if (sbuf_reserve(out, n / 4 * 3 + 1) < 0)
		return -1;
	got = EVP_DecodeBlock((unsigned char *)out->data + out->len,
			      (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < pad)
		return -1;
	out->len += (size_t)got - pad;
	out->data[out->len] = '\0';
	return 0;
}

int tls_random(void *p, size_t n)
{
	return n <= 0x7fffffff && RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

void tls_hmac_sha256(const void *key, size_t klen, const void *data,
		     size_t n, unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)klen, data, n, out, &len);
}

int tls_pbkdf2_sha256(const char *pw, size_t pwlen, const void *salt,
		      size_t slen, unsigned iter, unsigned char out[32])
{
	if (iter < 1 || iter > 10000000 || pwlen > 0x7fffffff ||
	    slen > 0x7fffffff)
		return -1;
	return PKCS5_PBKDF2_HMAC(pw, (int)pwlen, salt, (int)slen, (int)iter,
				 EVP_sha256(), 32, out) == 1 ? 0 : -1;
}

int tls_scram_secret(const char *pw, struct sbuf *out)
{
	unsigned char salt[16], salted[32], ckey[32], stored[32], skey[32];
	int rc = -1;

	if (RAND_bytes(salt, sizeof(salt)) == 1 &&
	    tls_pbkdf2_sha256(pw, strlen(pw), salt, sizeof(salt),
			      TLS_SCRAM_ITER, salted) == 0) {
		/* RFC 5802 section 3: ClientKey := HMAC(SaltedPassword,
		 * "Client Key"), StoredKey := H(ClientKey), ServerKey :=
		 * HMAC(SaltedPassword, "Server Key") */
		tls_hmac_sha256(salted, 32, "Client Key", 10, ckey);
		tls_sha256(ckey, 32, stored);
		tls_hmac_sha256(salted, 32, "Server Key", 10, skey);
		if (sbuf_printf(out, "SCRAM-SHA-256$%d:", TLS_SCRAM_ITER) ==
			    0 &&
		    tls_base64(salt, sizeof(salt), out) == 0 &&
		    sbuf_puts(out, "$") == 0 &&
		    tls_base64(stored, 32, out) == 0 &&
		    sbuf_puts(out, ":") == 0 && tls_base64(skey, 32, out) == 0)
			rc = 0;
	}
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	return rc;
}

/* AES-256-GCM both ways (SP 800-38D): enc 1 seals (tag out), 0 opens
 * (tag in, checked by the final call). */
static int aead_run(int enc, const unsigned char *key,
		    const unsigned char *nonce, const void *aad,
		    size_t aadlen, const void *in, size_t n, void *out,
		    unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx;
	int len, ok;

	if (n > 0x7fffffff || aadlen > 0x7fffffff)
		return -1;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return -1;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
			       enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
				 TLS_AEAD_NONCE_LEN, NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
	     (enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
					 TLS_AEAD_TAG_LEN, tag) == 1) &&
	     (aadlen == 0 || EVP_CipherUpdate(ctx, NULL, &len, aad,
					      (int)aadlen) == 1) &&
	     (n == 0 || EVP_CipherUpdate(ctx, out, &len, in, (int)n) == 1) &&
	     EVP_CipherFinal_ex(ctx, (unsigned char *)out + n, &len) == 1 &&
	     (!enc || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
					  TLS_AEAD_TAG_LEN, tag) == 1);
	EVP_CIPHER_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int tls_aead_seal_nonce(const unsigned char key[TLS_AEAD_KEY_LEN],
			const unsigned char nonce[TLS_AEAD_NONCE_LEN],
			const void *aad, size_t aadlen, const void *in,
			size_t n, void *out,
			unsigned char tag[TLS_AEAD_TAG_LEN])
{
	return aead_run(1, key, nonce, aad, aadlen, in, n, out, tag);
}

int tls_aead_seal(const unsigned char key[TLS_AEAD_KEY_LEN],
		  const void *aad, size_t aadlen, const void *in, size_t n,
		  void *out, unsigned char nonce[TLS_AEAD_NONCE_LEN],
		  unsigned char tag[TLS_AEAD_TAG_LEN])
{
	if (RAND_bytes(nonce, TLS_AEAD_NONCE_LEN) != 1)
		return -1;
	return aead_run(1, key, nonce, aad, aadlen, in, n, out, tag);
}

int tls_aead_open(const unsigned char key[TLS_AEAD_KEY_LEN],
		  const unsigned char nonce[TLS_AEAD_NONCE_LEN],
		  const void *aad, size_t aadlen, const void *in, size_t n,
		  const unsigned char tag[TLS_AEAD_TAG_LEN], void *out)
{
	unsigned char t[TLS_AEAD_TAG_LEN];

	memcpy(t, tag, sizeof(t));
	if (aead_run(0, key, nonce, aad, aadlen, in, n, out, t) == 0)
		return 0;
	if (n > 0 && n <= 0x7fffffff)
		OPENSSL_cleanse(out, n);
	return -1;
}

int tls_memeq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}
