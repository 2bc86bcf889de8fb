/*
 * NAME
 *	sbuf - bounded, growable byte buffer
 * DESCRIPTION
 *	The one string type of Sluice. A buffer has a hard maximum size;
 *	growing past it fails with -1 and leaves the buffer unchanged, so
 *	long input is an ordinary error, not a bug. The data is always
 *	NUL-terminated (the NUL is not counted in len) for convenience.
 *	Base layer: knows nothing about mail.
 */
#ifndef SLUICE_SBUF_H
#define SLUICE_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *data;	/* NULL until first growth */
	size_t len;	/* bytes in use */
	size_t cap;	/* bytes allocated (including room for NUL) */
	size_t max;	/* hard maximum of len */
};

/* Initialise an empty buffer that may hold at most max bytes. */
void sbuf_init(struct sbuf *b, size_t max);

/* Make room for extra more bytes. Returns 0, or -1 past max or on ENOMEM. */
int sbuf_reserve(struct sbuf *b, size_t extra);

/* Append n bytes. Returns 0, or -1 (buffer unchanged). */
int sbuf_append(struct sbuf *b, const void *p, size_t n);

/* Append a NUL-terminated string. Returns 0 or -1. */
int sbuf_puts(struct sbuf *b, const char *s);

/* Append formatted text. Returns 0 or -1 (buffer unchanged). */
int sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (n <= len). */
void sbuf_consume(struct sbuf *b, size_t n);

/* Empty the buffer, keeping its memory. */
void sbuf_reset(struct sbuf *b);

/* Free the memory; the buffer is empty and reusable afterwards. */
void sbuf_free(struct sbuf *b);

/* Take ownership of the data (a NUL-terminated malloc'ed string, never
 * NULL unless allocation fails); the buffer becomes empty. */
char *sbuf_steal(struct sbuf *b);

#endif
