/*
 * NAME
 *	zip - raw DEFLATE streams both ways (RFC 1951), the zlib adapter
 * DESCRIPTION
 *	One compressor and one decompressor for a connection, as IMAP
 *	COMPRESS=DEFLATE (RFC 4978) uses them: raw deflate without zlib or
 *	gzip framing, each batch of output ended with a sync flush so the
 *	peer can read it at once. Only this file includes zlib. The input
 *	is hostile: decompression writes at most as much as the caller has
 *	room for and keeps the rest compressed. Base layer.
 */
#ifndef SLUICE_ZIP_H
#define SLUICE_ZIP_H

#include <stddef.h>

#include "sbuf.h"

struct zip;

/* A new pair of streams; NULL on ENOMEM. */
struct zip *zip_new(void);
void zip_free(struct zip **z);

/* Compressed bytes waiting to be sent; zip_deflate appends to it, the
 * caller consumes from it. */
struct sbuf *zip_out(struct zip *z);
/* Compressed bytes received and not yet decompressed; the caller
 * appends to it (at most its max), zip_inflate consumes from it. */
struct sbuf *zip_in(struct zip *z);

/* Compress up to max bytes from the start of in (consumed) into
 * zip_out(), ending with a sync flush. 0, or -1. */
int zip_deflate(struct zip *z, struct sbuf *in, size_t max);
/* Decompress from zip_in() into out, at most room bytes. The bytes
 * written, or -1 when the stream is broken or ended. */
long zip_inflate(struct zip *z, struct sbuf *out, size_t room);

#endif
