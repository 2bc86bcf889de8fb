/*
 * NAME
 *	box_seal_test - envelope encryption of bodies, key files, user keys
 * DESCRIPTION
 *	Round trips, and everything that must not open: a blob of another
 *	user or another message, any flipped byte, a truncated blob, a user
 *	key wrapped for someone else or under another deployment key. Key
 *	files: made 0400, never replaced, refused when readable by others,
 *	a symlink, or not one Base64 line of 32 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbuf.h"
#include "test.h"
#include "tls.h"

#include "box_seal.h"

static char dir[] = "/tmp/box_seal_test.XXXXXX";

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_key_files(void)
{
	unsigned char k1[32], k2[32];
	char p[300], q[300], id[BOX_SEAL_ID_LEN], id2[BOX_SEAL_ID_LEN];
	char err[300];
	struct stat st;

	path_in(p, sizeof(p), "key1");
	CHECK(box_seal_key_generate(p, id, err, sizeof(err)) == 0, err);
	CHECK(strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16,
		"id is 16 hex digits");
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0400,
		"key file made mode 0400");
	CHECK(box_seal_key_load(p, k1, err, sizeof(err)) == 0, err);
	box_seal_key_id(k1, id2);
	CHECK(strcmp(id, id2) == 0, "the loaded key has the made key's id");
	CHECK(box_seal_key_generate(p, id2, err, sizeof(err)) < 0 &&
			strstr(err, "cannot create"),
		"an existing file is kept");
	CHECK(box_seal_key_load(p, k2, err, sizeof(err)) == 0 &&
			memcmp(k1, k2, 32) == 0,
		"and still holds its key");

	chmod(p, 0600);
	CHECK(box_seal_key_load(p, k2, err, sizeof(err)) == 0, "0600 is fine");
	chmod(p, 0644);
	CHECK(box_seal_key_load(p, k2, err, sizeof(err)) < 0 &&
			strstr(err, "mode 0644"),
		"0644 refused");
	chmod(p, 0440);
	CHECK(box_seal_key_load(p, k2, err, sizeof(err)) < 0 &&
			strstr(err, "mode 0440"),
		"0440 refused");
	chmod(p, 0400);

	path_in(q, sizeof(q), "link");
	CHECK(symlink(p, q) == 0, "symlink");
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) < 0,
		"a symlink is refused");
	path_in(q, sizeof(q), "missing");
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) < 0 &&
			strstr(err, "cannot open"),
		"missing file");

	path_in(q, sizeof(q), "short");
	write_file(q, "AAAA\n", 0400);
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) < 0 &&
			strstr(err, "not a key file"),
		"3 bytes refused");
	path_in(q, sizeof(q), "two");
	write_file(q,
		"# two keys\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		0400);
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) < 0,
		"two key lines refused");
	path_in(q, sizeof(q), "junk");
	write_file(q, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA A=\n", 0400);
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) < 0,
		"not Base64 refused");
	path_in(q, sizeof(q), "crlf");
	write_file(q,
		"# ok\r\n"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
		0600);
	CHECK(box_seal_key_load(q, k2, err, sizeof(err)) == 0, err);

	CHECK(box_seal_key_generate(p, id2, err, sizeof(err)) < 0, "again");
	path_in(q, sizeof(q), "key2");
	CHECK(box_seal_key_generate(q, id2, err, sizeof(err)) == 0 &&
			strcmp(id, id2) != 0,
		"two keys, two ids");
}

static void test_user_keys(void)
{
	unsigned char d1[32], d2[32], uk[32], got[32];
	unsigned char w[BOX_SEAL_WRAPPED_LEN], w2[BOX_SEAL_WRAPPED_LEN];
	size_t i;
	int opened = 0;

	tls_random(d1, 32);
	tls_random(d2, 32);
	tls_random(uk, 32);
	CHECK(box_seal_wrap_user(d1, "ann@example.test", uk, w) == 0, "wrap");
	CHECK(memmem(w, sizeof(w), uk, 32) == NULL, "key not in clear");
	CHECK(box_seal_unwrap_user(d1, "ann@example.test", w, sizeof(w), got) ==
				0 &&
			memcmp(got, uk, 32) == 0,
		"unwrap");
	CHECK(box_seal_unwrap_user(d2, "ann@example.test", w, sizeof(w), got) <
			0,
		"another deployment key");
	CHECK(box_seal_unwrap_user(d1, "bob@example.test", w, sizeof(w), got) <
			0,
		"another user's row");
	CHECK(box_seal_unwrap_user(
		      d1, "ann@example.test", w, sizeof(w) - 1, got) < 0,
		"short");
	for (i = 0; i < sizeof(w); i++) {
		w[i] ^= 0x04;
		opened += box_seal_unwrap_user(d1, "ann@example.test", w,
				  sizeof(w), got) == 0;
		w[i] ^= 0x04;
	}
	CHECK(opened == 0, "every byte of a wrapped key counts");
	/* rotation: unwrap with the old, wrap with the new */
	CHECK(box_seal_wrap_user(d2, "ann@example.test", uk, w2) == 0 &&
			box_seal_unwrap_user(d2, "ann@example.test", w2,
				sizeof(w2), got) == 0 &&
			memcmp(got, uk, 32) == 0,
		"re-wrapped");
	CHECK(box_seal_unwrap_user(
		      d1, "ann@example.test", w2, sizeof(w2), got) < 0,
		"the old key opens no more");
}

static void test_bodies(void)
{
	static const char body[] = "Subject: hi\r\n\r\nMARKER-7e3f plain\r\n";
	const size_t blen = sizeof(body) - 1;
	unsigned char uk[32], uk2[32];
	struct sbuf blob, out;
	char err[200];
	size_t i;
	int opened = 0;

	tls_random(uk, 32);
	tls_random(uk2, 32);
	sbuf_init(&blob, 1 << 20);
	sbuf_init(&out, 1 << 20);
	sbuf_puts(&blob, "prefix");
	CHECK(box_seal_body(uk, "ann", "42", 2, body, blen, &blob) == 0,
		"seal");
	CHECK(blob.len == 6 + BOX_SEAL_OVERHEAD + blen, "length");
	CHECK(memcmp(blob.data, "prefix", 6) == 0, "appended");
	sbuf_consume(&blob, 6);
	CHECK(box_seal_is_sealed(blob.data, blob.len), "magic");
	CHECK(memmem(blob.data, blob.len, "MARKER", 6) == NULL,
		"no plaintext in the blob");
	CHECK(box_seal_open(uk, "ann", "42", 2, blob.data, blob.len, &out, err,
		      sizeof(err)) == 0 &&
			out.len == blen && memcmp(out.data, body, blen) == 0,
		err);

	sbuf_reset(&out);
	sbuf_puts(&out, "kept");
	CHECK(box_seal_open(uk, "bob", "42", 2, blob.data, blob.len, &out, err,
		      sizeof(err)) < 0 &&
			out.len == 4,
		"another user's blob");
	CHECK(box_seal_open(uk, "ann", "43", 2, blob.data, blob.len, &out, err,
		      sizeof(err)) < 0 &&
			out.len == 4,
		"another message's blob");
	CHECK(box_seal_open(uk, "ann4", "2", 1, blob.data, blob.len, &out, err,
		      sizeof(err)) < 0,
		"fields are length-bound");
	CHECK(box_seal_open(uk2, "ann", "42", 2, blob.data, blob.len, &out, err,
		      sizeof(err)) < 0,
		"another user key");
	CHECK(box_seal_open(uk, "ann", "42", 2, blob.data, blob.len - 1, &out,
		      err, sizeof(err)) < 0,
		"truncated");
	CHECK(box_seal_open(uk, "ann", "42", 2, blob.data, 95, &out, err,
		      sizeof(err)) < 0 &&
			strstr(err, "not a sealed"),
		"shorter than a header");
	CHECK(box_seal_open(uk, "ann", "42", 2, body, blen, &out, err,
		      sizeof(err)) < 0 &&
			strstr(err, "not a sealed"),
		"plaintext is refused, never served");
	for (i = 0; i < blob.len; i++) {
		blob.data[i] ^= 0x10;
		opened += box_seal_open(uk, "ann", "42", 2, blob.data, blob.len,
				  &out, err, sizeof(err)) == 0;
		blob.data[i] ^= 0x10;
	}
	CHECK(opened == 0 && out.len == 4, "every byte of a blob counts");
	blob.data[4] = 2;
	CHECK(box_seal_open(uk, "ann", "42", 2, blob.data, blob.len, &out, err,
		      sizeof(err)) < 0 &&
			strstr(err, "version 2"),
		"unknown version named");

	/* empty and large bodies; two seals of one body differ */
	sbuf_reset(&blob);
	sbuf_reset(&out);
	CHECK(box_seal_body(uk, "ann", "", 0, "", 0, &blob) == 0 &&
			blob.len == BOX_SEAL_OVERHEAD,
		"empty body");
	CHECK(box_seal_open(uk, "ann", "", 0, blob.data, blob.len, &out, err,
		      sizeof(err)) == 0 &&
			out.len == 0,
		err);
	{
		size_t big = 700 * 1024;
		char *p = malloc(big);
		struct sbuf b2;

		for (i = 0; i < big; i++)
			p[i] = (char)(i * 7);
		sbuf_init(&b2, 1 << 20);
		sbuf_reset(&blob);
		sbuf_reset(&out);
		CHECK(box_seal_body(uk, "ann", "9", 1, p, big, &blob) == 0 &&
				box_seal_body(uk, "ann", "9", 1, p, big, &b2) ==
					0,
			"large");
		CHECK(memcmp(blob.data, b2.data, blob.len) != 0,
			"fresh keys and nonces every time");
		CHECK(box_seal_open(uk, "ann", "9", 1, b2.data, b2.len, &out,
			      err, sizeof(err)) == 0 &&
				out.len == big && memcmp(out.data, p, big) == 0,
			err);
		free(p);
		sbuf_free(&b2);
	}
	sbuf_free(&blob);
	sbuf_free(&out);
}

int main(void)
{
	char cmd[400];

	if (mkdtemp(dir) == NULL)
		return 1;
	test_key_files();
	test_user_keys();
	test_bodies();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return test_done();
}
