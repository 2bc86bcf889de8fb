/*
 * NAME
 *	box_seal - envelope encryption of the access boxes' message bodies
 * DESCRIPTION
 *	The formats are in box_seal.h. The cipher is the OpenSSL adapter's
 *	AES-256-GCM (tls_aead_*); this file only lays out bytes, so it never
 *	includes OpenSSL. Keys on the stack are wiped before returning.
 *	Trusts nothing it reads back: a blob or a wrapped key is checked for
 *	length, magic, version and tag before a byte of it is used.
 */
#include "box_seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbuf.h"
#include "tls.h"

#define MAGIC "SLBX"
#define VERSION 1
#define ALG_AES256GCM 1
#define HDR_LEN 8
#define WRAP_LEN (TLS_AEAD_NONCE_LEN + BOX_SEAL_KEY_LEN + TLS_AEAD_TAG_LEN)
#define USER_LABEL "sluice box user key"
#define ID_LABEL "sluice box deployment key id"

/* a key file: comments and one Base64 line, far below this */
#define KEY_FILE_MAX 4096

void box_seal_key_id(
	const unsigned char key[BOX_SEAL_KEY_LEN], char id[BOX_SEAL_ID_LEN])
{
	unsigned char mac[32];
	int i;

	tls_hmac_sha256(key, BOX_SEAL_KEY_LEN, ID_LABEL, strlen(ID_LABEL), mac);
	for (i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", mac[i]);
}

/* the Base64 line of a key file's text (comments skipped) into key */
static int key_parse(char *text, size_t n, unsigned char *key)
{
	struct sbuf raw;
	char *line = text, *end = text + n, *nl;
	int rc = -1, lines = 0;

	sbuf_init(&raw, 64);
	for (; line < end; line = nl + 1) {
		size_t len;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		if (lines++ > 0 || tls_unbase64(line, len, &raw) < 0)
			break;
	}
	if (line >= end && lines == 1 && raw.len == BOX_SEAL_KEY_LEN) {
		memcpy(key, raw.data, BOX_SEAL_KEY_LEN);
		rc = 0;
	}
	if (raw.data)
		explicit_bzero(raw.data, raw.cap);
	sbuf_free(&raw);
	return rc;
}

int box_seal_key_load(const char *path, unsigned char key[BOX_SEAL_KEY_LEN],
	char *err, size_t errlen)
{
	char text[KEY_FILE_MAX];
	struct stat st;
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
	} else if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			"%s: owned by uid %u, not by this "
			"process's user (uid %u): refused",
			path, (unsigned)st.st_uid, (unsigned)geteuid());
	} else if ((st.st_mode & 07777) != 0400 &&
		   (st.st_mode & 07777) != 0600) {
		snprintf(err, errlen,
			"%s: mode %04o: a key file must be "
			"mode 0400 or 0600: refused",
			path, (unsigned)(st.st_mode & 07777));
	} else if ((got = read(fd, text, sizeof(text))) < 0 ||
		   (size_t)got >= sizeof(text)) {
		snprintf(err, errlen, "%s: cannot read (or too long)", path);
	} else if (key_parse(text, (size_t)got, key) < 0) {
		snprintf(err, errlen,
			"%s: not a key file (want one Base64 "
			"line of 32 bytes, as sluice-boxkey keygen writes)",
			path);
	} else {
		rc = 0;
	}
	explicit_bzero(text, sizeof(text));
	close(fd);
	return rc;
}

int box_seal_key_generate(
	const char *path, char id[BOX_SEAL_ID_LEN], char *err, size_t errlen)
{
	unsigned char key[BOX_SEAL_KEY_LEN];
	struct sbuf text;
	int fd, rc = -1;

	sbuf_init(&text, KEY_FILE_MAX);
	if (tls_random(key, sizeof(key)) < 0) {
		snprintf(err, errlen, "no random bytes");
		return -1;
	}
	box_seal_key_id(key, id);
	if (sbuf_printf(&text, "# sluice access box deployment key, id %s\n",
		    id) < 0 ||
		tls_base64(key, sizeof(key), &text) < 0 ||
		sbuf_puts(&text, "\n") < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		0400);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path,
			strerror(errno));
		goto out;
	}
	/* the umask may have taken bits away, never added: make it 0400 */
	if (fchmod(fd, 0400) < 0 ||
		write(fd, text.data, text.len) != (ssize_t)text.len ||
		fsync(fd) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
			strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	explicit_bzero(key, sizeof(key));
	if (text.data)
		explicit_bzero(text.data, text.cap);
	sbuf_free(&text);
	return rc;
}

static void put32(struct sbuf *b, size_t v)
{
	unsigned char p[4] = {(unsigned char)(v >> 24),
		(unsigned char)(v >> 16), (unsigned char)(v >> 8),
		(unsigned char)v};

	sbuf_append(b, p, 4);
}

/* label or header, then each of user and id with its length: 0 or -1 */
static int aad_make(struct sbuf *aad, const void *head, size_t headlen,
	const char *user, const void *id, size_t idlen)
{
	size_t ulen = strlen(user);

	sbuf_init(aad, headlen + 8 + ulen + idlen);
	if (sbuf_append(aad, head, headlen) < 0)
		return -1;
	put32(aad, ulen);
	sbuf_append(aad, user, ulen);
	put32(aad, idlen);
	if (idlen > 0)
		sbuf_append(aad, id, idlen);
	return aad->len == headlen + 8 + ulen + idlen ? 0 : -1;
}

int box_seal_wrap_user(const unsigned char dkey[BOX_SEAL_KEY_LEN],
	const char *user, const unsigned char ukey[BOX_SEAL_KEY_LEN],
	unsigned char out[BOX_SEAL_WRAPPED_LEN])
{
	char did[BOX_SEAL_ID_LEN];
	struct sbuf aad;
	int rc = -1;

	box_seal_key_id(dkey, did);
	if (aad_make(&aad, USER_LABEL, sizeof(USER_LABEL), user, did,
		    strlen(did)) == 0) {
		out[0] = VERSION;
		rc = tls_aead_seal(dkey, aad.data, aad.len, ukey,
			BOX_SEAL_KEY_LEN, out + 1 + TLS_AEAD_NONCE_LEN, out + 1,
			out + 1 + TLS_AEAD_NONCE_LEN + BOX_SEAL_KEY_LEN);
	}
	sbuf_free(&aad);
	return rc;
}

int box_seal_unwrap_user(const unsigned char dkey[BOX_SEAL_KEY_LEN],
	const char *user, const void *wrapped, size_t len,
	unsigned char ukey[BOX_SEAL_KEY_LEN])
{
	const unsigned char *w = wrapped;
	char did[BOX_SEAL_ID_LEN];
	struct sbuf aad;
	int rc = -1;

	if (len != BOX_SEAL_WRAPPED_LEN || w[0] != VERSION)
		return -1;
	box_seal_key_id(dkey, did);
	if (aad_make(&aad, USER_LABEL, sizeof(USER_LABEL), user, did,
		    strlen(did)) == 0)
		rc = tls_aead_open(dkey, w + 1, aad.data, aad.len,
			w + 1 + TLS_AEAD_NONCE_LEN, BOX_SEAL_KEY_LEN,
			w + 1 + TLS_AEAD_NONCE_LEN + BOX_SEAL_KEY_LEN, ukey);
	sbuf_free(&aad);
	return rc;
}

int box_seal_is_sealed(const void *blob, size_t n)
{
	return n >= 4 && memcmp(blob, MAGIC, 4) == 0;
}

/* end of a seal or an open: out grows to len when rc is 0; the message
 * key and the associated data go */
static int finish(struct sbuf *out, size_t len, int rc, unsigned char *mkey,
	struct sbuf *aad)
{
	if (rc == 0) {
		out->len = len;
		out->data[len] = '\0';
	}
	explicit_bzero(mkey, BOX_SEAL_KEY_LEN);
	sbuf_free(aad);
	return rc;
}

int box_seal_body(const unsigned char ukey[BOX_SEAL_KEY_LEN], const char *user,
	const void *id, size_t idlen, const void *body, size_t n,
	struct sbuf *out)
{
	static const unsigned char head[HDR_LEN] = {
		'S', 'L', 'B', 'X', VERSION, ALG_AES256GCM, 0, 0};
	unsigned char mkey[BOX_SEAL_KEY_LEN], *p;
	size_t start = out->len;
	struct sbuf aad;
	int rc = -1;

	sbuf_init(&aad, 0);
	if (n > SIZE_MAX - BOX_SEAL_OVERHEAD ||
		aad_make(&aad, head, HDR_LEN, user, id, idlen) < 0 ||
		sbuf_reserve(out, BOX_SEAL_OVERHEAD + n) < 0 ||
		tls_random(mkey, sizeof(mkey)) < 0)
		goto out;
	p = (unsigned char *)out->data + start;
	memcpy(p, head, HDR_LEN);
	/* the message key under the user key, then the body under it */
	if (tls_aead_seal(ukey, aad.data, aad.len, mkey, sizeof(mkey),
		    p + 8 + TLS_AEAD_NONCE_LEN, p + 8,
		    p + 8 + TLS_AEAD_NONCE_LEN + BOX_SEAL_KEY_LEN) < 0 ||
		tls_aead_seal(mkey, aad.data, aad.len, body, n,
			p + BOX_SEAL_OVERHEAD, p + 8 + WRAP_LEN,
			p + 8 + WRAP_LEN + TLS_AEAD_NONCE_LEN) < 0)
		goto out;
	rc = 0;
out:
	return finish(out, start + BOX_SEAL_OVERHEAD + n, rc, mkey, &aad);
}

int box_seal_open(const unsigned char ukey[BOX_SEAL_KEY_LEN], const char *user,
	const void *id, size_t idlen, const void *blob, size_t n,
	struct sbuf *out, char *err, size_t errlen)
{
	const unsigned char *b = blob;
	unsigned char mkey[BOX_SEAL_KEY_LEN];
	size_t start = out->len, body;
	struct sbuf aad;
	int rc = -1;

	if (n < BOX_SEAL_OVERHEAD || !box_seal_is_sealed(b, n)) {
		snprintf(err, errlen, "not a sealed blob");
		return -1;
	}
	if (b[4] != VERSION || b[5] != ALG_AES256GCM || b[6] || b[7]) {
		snprintf(err, errlen, "sealed blob of unknown version %u.%u",
			b[4], b[5]);
		return -1;
	}
	body = n - BOX_SEAL_OVERHEAD;
	sbuf_init(&aad, 0);
	if (aad_make(&aad, b, HDR_LEN, user, id, idlen) < 0 ||
		sbuf_reserve(out, body) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (tls_aead_open(ukey, b + 8, aad.data, aad.len,
		    b + 8 + TLS_AEAD_NONCE_LEN, BOX_SEAL_KEY_LEN,
		    b + 8 + TLS_AEAD_NONCE_LEN + BOX_SEAL_KEY_LEN, mkey) < 0 ||
		tls_aead_open(mkey, b + 8 + WRAP_LEN, aad.data, aad.len,
			b + BOX_SEAL_OVERHEAD, body,
			b + 8 + WRAP_LEN + TLS_AEAD_NONCE_LEN,
			out->data + start) < 0) {
		snprintf(err, errlen,
			"sealed blob does not open: damaged, "
			"or not this user's or this message's");
		goto out;
	}
	rc = 0;
out:
	return finish(out, start + body, rc, mkey, &aad);
}
