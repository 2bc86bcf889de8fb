/*
 * NAME
 *	mime - the MIME decoders every stage shares
 * SUMMARY
 *	mime_base64_decode(), mime_qp_decode(), mime_decode_2047(),
 *	mime_ieq(), mime_charset_latin1(), mime_latin1_append()
 * DESCRIPTION
 *	Undo the transfer encodings of RFC 2045 (base64 6.8,
 *	quoted-printable 6.7) and the encoded words of RFC 2047 in header
 *	fields, leniently, as mail readers do: what is not well formed
 *	goes out as it came. The store (FETCH BINARY, SEARCH, SORT) and
 *	spamd (the text its checks read) decode through these. Pure
 *	functions on hostile bytes: no I/O, linear, bounded by the output
 *	buffer's maximum. Mail layer.
 */
#ifndef SLUICE_MIME_H
#define SLUICE_MIME_H

#include <stddef.h>

struct sbuf;

/* Non-zero when a[0..an) equals the NUL-terminated b, ASCII
 * case-insensitively. */
int mime_ieq(const char *a, size_t an, const char *b);

/* Non-zero when charset cs[0..n) is ISO-8859-1 or a superset we read
 * as it (latin1, iso8859-1, windows-1252). */
int mime_charset_latin1(const char *cs, size_t n);

/* Append s[0..n), read as ISO-8859-1, to out as UTF-8. */
void mime_latin1_append(const char *s, size_t n, struct sbuf *out);

/* Undo base64 (RFC 2045 6.8, leniently: characters outside the
 * alphabet are skipped, '=' ends the data) of s[0..n) into out. l1:
 * the decoded bytes are ISO-8859-1 and go out as UTF-8 (0: bytes as
 * they are). Output that does not fit in out is dropped. */
void mime_base64_decode(const char *s, size_t n, struct sbuf *out, int l1);

/* Undo quoted-printable (RFC 2045 6.7; q != 0: RFC 2047 4.2 "Q", where
 * '_' is a space) of s[0..n) into out; l1 as for mime_base64_decode().
 * A '=' that starts neither an octet nor a soft line break stays. */
void mime_qp_decode(const char *s, size_t n, struct sbuf *out, int q, int l1);

/* Append the unfolded header field value s[0..n) to out with its RFC
 * 2047 encoded words ("=?charset?B|Q?text?=") decoded; white space
 * between two adjacent encoded words is dropped (RFC 2047 6.2). l1:
 * words in ISO-8859-1 go out as UTF-8 (0: every word's bytes as they
 * decode). */
void mime_decode_2047(const char *s, size_t n, struct sbuf *out, int l1);

#endif
