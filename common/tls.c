/*
 * NAME
 *	tls - the OpenSSL adapter
 * DESCRIPTION
 *	See tls.h. TLS 1.2 is the floor; renegotiation is disabled; session
 *	tickets are left to OpenSSL's defaults. Servers offer TLS 1.2 suites
 *	with ECDHE only (forward secrecy); clients keep OpenSSL's list, so
 *	opportunistic STARTTLS still reaches old servers.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TLS_SERVER_CIPHERS                                                    \
	"ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL:!SHA1"

struct tls_ctx {
	SSL_CTX *ctx;
	int verify;
};

struct tls_conn {
	SSL *ssl;
	char err[160];
};

static void last_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[120];

	if (e == 0) {
		snprintf(err, errlen, "%s failed", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

static struct tls_ctx *ctx_new(const SSL_METHOD *m, char *err, size_t errlen)
{
	struct tls_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ctx = SSL_CTX_new(m);
	if (c->ctx == NULL) {
		last_error(err, errlen, "SSL_CTX_new");
		free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION |
					    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return c;
}

struct tls_ctx *tls_server_ctx(const char *cert, const char *key, char *err,
			       size_t errlen)
{
	struct tls_ctx *c = ctx_new(TLS_server_method(), err, errlen);

	if (c == NULL)
		return NULL;
	/* TLS 1.2: ECDHE key exchange only (forward secrecy), AEAD first;
	 * TLS 1.3 suites all have it */
	if (SSL_CTX_set_cipher_list(c->ctx, TLS_SERVER_CIPHERS) != 1) {
		last_error(err, errlen, "cipher list");
		tls_ctx_free(c);
		return NULL;
	}
	SSL_CTX_set_options(c->ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(c->ctx, cert) != 1) {
		last_error(err, errlen, cert);
		tls_ctx_free(c);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c->ctx) != 1) {
		last_error(err, errlen, key);
		tls_ctx_free(c);
		return NULL;
	}
	return c;
}

struct tls_ctx *tls_client_ctx(int verify, const char *cafile, char *err,
			       size_t errlen)
{
	struct tls_ctx *c = ctx_new(TLS_client_method(), err, errlen);

	if (c == NULL)
		return NULL;
	c->verify = verify;
	if (verify) {
		int ok = cafile ? SSL_CTX_load_verify_locations(c->ctx,
								cafile, NULL)
				: SSL_CTX_set_default_verify_paths(c->ctx);
		if (ok != 1) {
			last_error(err, errlen, cafile ? cafile : "CA store");
			tls_ctx_free(c);
			return NULL;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	return c;
}

void tls_ctx_free(struct tls_ctx *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ctx);
	free(c);
}

struct tls_conn *tls_conn_new(struct tls_ctx *c, int fd, int server,
			      const char *sni)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->ssl = SSL_new(c->ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	if (server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		/* verifying a chain without a name would take any
		 * certificate the CA signed for anybody: refuse */
		if ((sni == NULL && c->verify) ||
		    (sni != NULL &&
		     (SSL_set_tlsext_host_name(t->ssl, sni) != 1 ||
		      (c->verify && SSL_set1_host(t->ssl, sni) != 1)))) {
			tls_conn_free(t);
			return NULL;
		}
	}
	return t;
}

void tls_conn_free(struct tls_conn *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Map an SSL_get_error() result to our codes. */
static int map(struct tls_conn *t, int rc, const char *what)
{
	int e = SSL_get_error(t->ssl, rc);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		snprintf(t->err, sizeof(t->err), "%s: %s", what,
			 errno ? strerror(errno) : "connection closed");
		ERR_clear_error();
		return -1;
	default:
		last_error(t->err, sizeof(t->err), what);
		return -1;
	}
}

int tls_handshake(struct tls_conn *t)
{
	int rc;

	ERR_clear_error();
	rc = SSL_do_handshake(t->ssl);
	if (rc == 1)
		return 1;
	rc = map(t, rc, "TLS handshake");
	return rc == 0 ? -1 : rc;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t n)
{
	int rc;

	ERR_clear_error();
	rc = SSL_read(t->ssl, buf, n > 0x40000000 ? 0x40000000 : (int)n);
	if (rc > 0)
		return rc;
	return map(t, rc, "TLS read");
}

ssize_t tls_write(struct tls_conn *t, const void *buf, size_t n)
{
	int rc;

	ERR_clear_error();
	rc = SSL_write(t->ssl, buf, n > 0x40000000 ? 0x40000000 : (int)n);
	if (rc > 0)
		return rc;
	rc = map(t, rc, "TLS write");
	return rc == 0 ? -1 : rc;
}

size_t tls_pending(struct tls_conn *t)
{
	int n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

void tls_describe(struct tls_conn *t, char *out, size_t outlen)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
	int alg = 0, bits = c ? SSL_CIPHER_get_bits(c, &alg) : 0;

	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(t->ssl), c ? SSL_CIPHER_get_name(c) : "none",
		 bits, alg);
}

const char *tls_error(struct tls_conn *t)
{
	return t->err[0] ? t->err : "TLS error";
}

int tls_server_reload(struct tls_ctx *c, const char *cert, const char *key,
		      char *err, size_t errlen)
{
	struct tls_ctx *n = tls_server_ctx(cert, key, err, errlen);
	SSL_CTX *old;

	if (n == NULL)
		return -1;
	/* each SSL holds a reference to the SSL_CTX it was made from */
	old = c->ctx;
	c->ctx = n->ctx;
	n->ctx = old;
	tls_ctx_free(n);
	return 0;
}
