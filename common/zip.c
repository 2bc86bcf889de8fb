/*
 * NAME
 *	zip - raw DEFLATE streams both ways, the zlib adapter
 * DESCRIPTION
 *	See zip.h. zlib's errors become -1 here, in one place.
 */
#include "zip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Compressed input kept at most (read no more until it is used). */
#define ZIP_IN_MAX (64u * 1024)
/* Compressed output a connection may hold (its output limit). */
#define ZIP_OUT_MAX (64u * 1024 * 1024)

struct zip {
	z_stream def, inf;
	int def_ok, inf_ok;
	struct sbuf out, in;
};

struct zip *zip_new(void)
{
	struct zip *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	/* RFC 4978 3: raw deflate (negative window bits: no header) */
	if (deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	z->def_ok = 1;
	if (inflateInit2(&z->inf, -15) != Z_OK) {
		zip_free(&z);
		return NULL;
	}
	z->inf_ok = 1;
	sbuf_init(&z->out, ZIP_OUT_MAX);
	sbuf_init(&z->in, ZIP_IN_MAX);
	return z;
}

void zip_free(struct zip **zp)
{
	struct zip *z = *zp;

	if (z == NULL)
		return;
	if (z->def_ok)
		deflateEnd(&z->def);
	if (z->inf_ok)
		inflateEnd(&z->inf);
	sbuf_free(&z->out);
	sbuf_free(&z->in);
	free(z);
	*zp = NULL;
}

struct sbuf *zip_out(struct zip *z)
{
	return &z->out;
}

struct sbuf *zip_in(struct zip *z)
{
	return &z->in;
}

int zip_deflate(struct zip *z, struct sbuf *in, size_t max)
{
	size_t n = in->len < max ? in->len : max, room;
	int rc;

	z->def.next_in = (Bytef *)in->data;
	z->def.avail_in = (uInt)n;
	do {
		room = deflateBound(&z->def, z->def.avail_in) + 64;
		if (sbuf_reserve(&z->out, room) < 0)
			return -1;
		z->def.next_out = (Bytef *)z->out.data + z->out.len;
		z->def.avail_out = (uInt)room;
		rc = deflate(&z->def, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
		z->out.len += room - z->def.avail_out;
	} while (z->def.avail_out == 0);
	z->out.data[z->out.len] = '\0';
	sbuf_consume(in, n);
	return 0;
}

long zip_inflate(struct zip *z, struct sbuf *out, size_t room)
{
	size_t before = out->len;
	int rc;

	if (z->in.len == 0 || room == 0)
		return 0;
	if (sbuf_reserve(out, room) < 0)
		return -1;
	z->inf.next_in = (Bytef *)z->in.data;
	z->inf.avail_in = (uInt)z->in.len;
	z->inf.next_out = (Bytef *)out->data + out->len;
	z->inf.avail_out = (uInt)room;
	rc = inflate(&z->inf, Z_SYNC_FLUSH);
	if (rc != Z_OK && rc != Z_BUF_ERROR)
		return -1;	/* broken, or the peer ended the stream */
	out->len += room - z->inf.avail_out;
	out->data[out->len] = '\0';
	sbuf_consume(&z->in, z->in.len - z->inf.avail_in);
	return (long)(out->len - before);
}
