/*
 * NAME
 *	store_mime_int - internals shared by the store_mime*.c files
 * DESCRIPTION
 *	The part tree built by mime_parse (store_mime.c), the header field
 *	iterator, Content-Type values (store_mime_ctype.c), and the helpers
 *	the renderers (store_mime_render.c, store_mime_addr.c,
 *	store_mime_section.c) and the SEARCH code (store_mime_search.c,
 *	store_mime_date.c) share.
 *	Everything here reads hostile bytes: every loop is bounded by the
 *	range it was given.
 */
#ifndef SLUICE_STORE_MIME_INT_H
#define SLUICE_STORE_MIME_INT_H

#include <stddef.h>

#include "mime.h"
#include "store_mime.h"

struct sbuf;

/* Longest unfolded header field value we look at; the rest is cut. */
#define MIME_MAX_FIELD (256 * 1024)
/* Most parameters kept from one Content-Type or Content-Disposition. */
#define MIME_MAX_PARAMS 64
/* Longest boundary we honour (RFC 2046 5.1.1 says 70). */
#define MIME_MAX_BOUNDARY 200

#define MIME_F_MULTIPART 0x01u	/* children are the body parts */
#define MIME_F_RFC822 0x02u	/* the child is the embedded message */
#define MIME_F_TEXT 0x04u	/* type "text" (counts lines) */
#define MIME_F_DEFAULT_CT 0x08u	/* no (usable) Content-Type field */

/* A parsed Content-Type or Content-Disposition: value and parameters,
 * RFC 2231 continuations merged. All strings are malloc'ed. */
struct mime_ctype {
	char *type;		/* "text", "attachment"; NULL when invalid */
	char *subtype;		/* "plain"; NULL for a disposition */
	size_t nparams;
	char **params;		/* name, value, name, value ... */
};

struct mime_part {
	const char *msg;	/* the whole message */
	size_t hdr_off, hdr_len;	/* header section, blank line included */
	size_t body_off, body_len;
	size_t body_lines;
	unsigned flags;		/* MIME_F_* */
	struct mime_ctype ct;	/* type/subtype never NULL after parsing */
	struct mime_part *child;	/* first body part or embedded message */
	struct mime_part *next;	/* next sibling in a multipart */
};

/* One header field: name (without the colon), raw value (folded, up to
 * but not including the final line break) and the whole raw field
 * including its final line break. */
struct mime_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	const char *raw;
	size_t raw_len;
};

struct mime_hdr_iter {
	const char *p, *end;
};

/* Iterate over the header fields of part (its header section). */
void mime_hdr_iter_init(struct mime_hdr_iter *it, const struct mime_part *p);
/* Next field: 1, or 0 at the end of the header section. */
int mime_hdr_next(struct mime_hdr_iter *it, struct mime_field *f);
/* Append the unfolded value v[0..n) to out, trimmed of surrounding
 * white space, NULs turned into spaces, cut at MIME_MAX_FIELD. */
void mime_unfold(const char *v, size_t n, struct sbuf *out);
/* Find the first field called name (case-insensitive) in part's header
 * and append its unfolded value to out. 1 when found, 0 otherwise. */
int mime_hdr_get(const struct mime_part *p, const char *name,
		 struct sbuf *out);
/* Parse an unfolded Content-Type (want_sub) or Content-Disposition
 * value into ct. ct->type stays NULL when the value is unusable. */
void mime_ctype_parse(const char *v, size_t n, int want_sub,
		      struct mime_ctype *ct);
void mime_ctype_free(struct mime_ctype *ct);
/* Add a parameter to ct, taking name and value (malloc'ed; freed when
 * either is NULL or ct is full). */
void mime_ctype_add(struct mime_ctype *ct, char *name, char *value);
/* A malloc'ed copy of s[0..n), NUL-terminated; NULL on ENOMEM. */
char *mime_strndup(const char *s, size_t n);
/* The value of parameter name of ct (case-insensitive) or NULL. */
const char *mime_ctype_param(const struct mime_ctype *ct, const char *name);
/* The addr-mailbox (local part) of the first address in the address
 * list v[0..n), appended to out; nothing when there is none
 * (store_mime_addr.c). */
void mime_addr_first(const char *v, size_t n, struct sbuf *out);

/* Skip CFWS (white space and nested comments) in s[i..n); returns the
 * new index. When comment is not NULL it receives the text of the last
 * comment seen (pointer into s, length in *clen). */
size_t mime_skip_cfws(const char *s, size_t i, size_t n, const char **comment,
		      size_t *clen);

/* Append the unfolded value of part p's first field called name as an
 * IMAP nstring: NIL when absent (store_mime_render.c). 0 or -1. */
int mime_put_field(struct sbuf *out, const struct mime_part *p,
		   const char *name);
/* Append the IMAP address list of an unfolded address-list value, or
 * NIL when it holds no address (store_mime_addr.c). 0 or -1. */
int mime_addr_list(struct sbuf *out, const char *v, size_t n);
/* An address-list value as SEARCH FROM/TO/CC/BCC compares it: RFC 5322
 * comments dropped, no white space around "@" and "." (nor inside
 * "<...>"), other runs of CFWS one space; quoted strings and domain
 * literals kept as written. "<user (c)@ (c) domain.org>" becomes
 * "<user@domain.org>". Lexical only: one linear pass, no grammar, so a
 * full RFC 5322 address parser can take its place later with the same
 * contract. Appends to out; 0 or -1 (out full) (store_mime_addr.c). */
int mime_addr_normalise(const char *v, size_t n, struct sbuf *out);
/* ENVELOPE of the message whose header is part p's header. */
int mime_envelope_part(const struct mime_part *p, struct sbuf *out);
/* BODY / BODYSTRUCTURE of part p. */
int mime_body_part(const struct mime_part *p, int extended, int depth,
		   struct sbuf *out);

#endif
