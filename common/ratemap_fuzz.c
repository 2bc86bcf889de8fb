/*
 * NAME
 *	ratemap_fuzz - libFuzzer target for the screening state's dumps
 * DESCRIPTION
 *	mx reloads its screening counters and holds (screen_state) from a
 *	file that a crash or a damaged disk may have cut or garbled:
 *	ratemap_load takes untrusted bytes. The first 5 bytes of the input
 *	are the time elapsed since the dump, the rest the dump. Promises:
 *	no more entries than the map holds, and what loads survives a round
 *	trip: its dump, loaded into a fresh map at the same moment, adds
 *	every record and dumps to the same records (in any order).
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ratemap.h"

#define MAX_ENTRIES 64
#define NOW (1ull << 36)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The number of records in a well-formed dump; abort if it is not. */
static size_t records(const struct sbuf *d)
{
	size_t off = 0, n = 0, kl;
	const unsigned char *p = (const unsigned char *)d->data;

	while (off < d->len) {
		if (d->len - off < 2)
			abort();
		kl = (size_t)p[off] << 8 | p[off + 1];
		if (kl == 0 || d->len - off - 2 < kl + 32)
			abort();
		off += 2 + kl + 32;
		n++;
	}
	return n;
}

/* 1 if the record r (rlen bytes) is somewhere in b. */
static int has_record(const struct sbuf *b, const unsigned char *r, size_t rlen)
{
	const unsigned char *p = (const unsigned char *)b->data;
	size_t off = 0, len;

	while (off < b->len) {
		len = 2 + ((size_t)p[off] << 8 | p[off + 1]) + 32;
		if (len == rlen && memcmp(p + off, r, rlen) == 0)
			return 1;
		off += len;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ratemap *m, *back;
	struct sbuf d1, d2;
	uint64_t elapsed = 0;
	size_t i, n, off, rlen;
	long got;

	if (size < 5)
		return 0;
	for (i = 0; i < 5; i++)
		elapsed = elapsed << 8 | data[i];
	m = ratemap_new(MAX_ENTRIES);
	back = ratemap_new(MAX_ENTRIES);
	if (m == NULL || back == NULL)
		abort();
	got = ratemap_load(m, data + 5, size - 5, NOW, elapsed);
	if (got > MAX_ENTRIES || ratemap_size(m) > MAX_ENTRIES ||
		(got >= 0 && (size_t)got != ratemap_size(m)))
		abort();
	sbuf_init(&d1, 1 << 20);
	sbuf_init(&d2, 1 << 20);
	if (ratemap_dump(m, NOW, &d1) < 0)
		abort();
	n = records(&d1);
	if (n != ratemap_size(m) ||
		ratemap_load(back, d1.data, d1.len, NOW, 0) != (long)n ||
		ratemap_dump(back, NOW, &d2) < 0 || d2.len != d1.len ||
		records(&d2) != n)
		abort();
	for (off = 0; off < d1.len; off += rlen) {
		const unsigned char *r = (const unsigned char *)d1.data + off;

		rlen = 2 + ((size_t)r[0] << 8 | r[1]) + 32;
		if (!has_record(&d2, r, rlen))
			abort();
	}
	sbuf_free(&d1);
	sbuf_free(&d2);
	ratemap_free(&m);
	ratemap_free(&back);
	return 0;
}
