/*
 * NAME
 *	mime_tree - the MIME structure of a message, parsed once for every
 *	stage
 * SUMMARY
 *	mime_parse(), mime_free(), mime_hdr_iter_init(), mime_hdr_next(),
 *	mime_hdr_get(), mime_unfold(), mime_part_disposition(),
 *	mime_ctype_parse() (mime_ctype.c)
 * DESCRIPTION
 *	A message in a buffer (RFC 5322 header section, RFC 2045/2046
 *	MIME structure, message/rfc822 parts) becomes a tree of parts
 *	holding offsets into that buffer: header start and length (the
 *	blank line included), body start and length, the Content-Type
 *	(type, subtype, parameters with RFC 2231 continuations merged),
 *	the transfer encoding, where the Content-Disposition is, and the
 *	depth; other fields are read through the header iterator. The store
 *	(FETCH BODYSTRUCTURE, BODY[section], SEARCH, SORT) and spamd (the
 *	text its checks read) both walk this tree; the decoders of the
 *	bodies are mime.c's. Pure functions on hostile bytes: no I/O, no
 *	recursion deeper than the depth limit, bounded by the limits of
 *	limits_rfc.h (LIM_MIME_*); never fails on malformed mail (a broken
 *	part is text/plain). Mail layer.
 */
#ifndef SLUICE_MIME_TREE_H
#define SLUICE_MIME_TREE_H

#include <stddef.h>

#include "limits_rfc.h"

struct sbuf;

#define MIME_MAX_DEPTH LIM_MIME_DEPTH
#define MIME_MAX_PARTS LIM_MIME_PARTS
#define MIME_MAX_FIELD LIM_MIME_FIELD
#define MIME_MAX_PARAMS LIM_MIME_PARAMS
#define MIME_MAX_BOUNDARY LIM_MIME_BOUNDARY

#define MIME_F_MULTIPART 0x01u  /* children are the body parts */
#define MIME_F_RFC822 0x02u     /* the child is the embedded message */
#define MIME_F_TEXT 0x04u       /* type "text" (counts lines) */
#define MIME_F_DEFAULT_CT 0x08u /* no (usable) Content-Type field */
/* a multipart or message past the limits, read as text/plain */
#define MIME_F_CUT 0x10u

/* The first Content-Transfer-Encoding field's unfolded value (RFC 2045
 * 6.1), case-insensitively: absent, empty, "7bit", "8bit" and "binary"
 * are identity. */
enum mime_cte {
	MIME_CTE_IDENTITY,
	MIME_CTE_BASE64,
	MIME_CTE_QP,
	MIME_CTE_OTHER /* a name we do not know */
};

/* A parsed Content-Type or Content-Disposition: value and parameters,
 * RFC 2231 continuations merged. All strings are malloc'ed. */
struct mime_ctype {
	char *type;    /* "text", "attachment"; NULL when invalid */
	char *subtype; /* "plain"; NULL for a disposition */
	size_t nparams;
	char **params; /* name, value, name, value ... */
};

/* One entity. Offsets are into msg: hdr_off <= body_off = hdr_off +
 * hdr_len <= body_off + body_len <= the message's length. Children lie
 * inside their parent's body, siblings follow one another in order. */
struct mime_part {
	const char *msg;         /* the whole message */
	size_t hdr_off, hdr_len; /* header section, blank line included */
	size_t body_off, body_len;
	unsigned flags; /* MIME_F_* */
	int depth;      /* 0 for the message itself */
	enum mime_cte cte;
	/* the folded values of the first Content-Transfer-Encoding and
	 * Content-Disposition fields, NULL when there is none */
	const char *cte_raw, *disp_raw;
	size_t cte_raw_len, disp_raw_len;
	struct mime_ctype ct;    /* type/subtype never NULL after parsing */
	struct mime_part *child; /* first body part or embedded message */
	struct mime_part *next;  /* next sibling in a multipart */
};

/* How far a caller wants the structure followed; each is capped at the
 * LIM_MIME_* hard limit. A multipart or message deeper than depth, or
 * met when parts are used up, is a text/plain leaf (MIME_F_CUT); past
 * the part limit each open multipart keeps the rest of its body as one
 * last part, so a tree holds at most parts + depth parts. */
struct mime_limits {
	int depth;    /* nesting of multiparts and messages */
	size_t parts; /* parts in all */
};

/* Parse msg[0..len) (lines end in CRLF or LF) within lim (NULL: the
 * hard limits). The tree points into msg, which must outlive it. NULL
 * only on ENOMEM. */
struct mime_part *mime_parse(
	const char *msg, size_t len, const struct mime_limits *lim);
/* The lines of p's body: its LFs. A last line without one is not
 * counted, as Dovecot counts them (a part's final CRLF belongs to the
 * next delimiter, so "text\r\n--b" is 0 lines there too). Counted
 * when asked (BODYSTRUCTURE), not at parse time. */
size_t mime_body_lines(const struct mime_part *p);
/* Free the tree and clear *root. */
void mime_free(struct mime_part **root);

/* One header field: name (without the colon), raw value (folded, up to
 * but not including the final line break) and the whole raw field
 * including its final line break. A line without a colon (RFC 5322
 * 2.2: not a field) has name_len 0. */
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
int mime_hdr_get(const struct mime_part *p, const char *name, struct sbuf *out);
/* The first Content-Disposition (RFC 2183) of p parsed into d, which
 * the caller frees with mime_ctype_free(); d->type stays NULL when
 * there is none or it is unusable. */
void mime_part_disposition(const struct mime_part *p, struct mime_ctype *d);

/* ---- Content-Type and Content-Disposition values (mime_ctype.c) ---- */

/* Parse an unfolded Content-Type (want_sub) or Content-Disposition
 * value into ct. ct->type stays NULL when the value is unusable. */
void mime_ctype_parse(
	const char *v, size_t n, int want_sub, struct mime_ctype *ct);
void mime_ctype_free(struct mime_ctype *ct);
/* Add a parameter to ct, taking name and value (malloc'ed; freed when
 * either is NULL or ct is full). */
void mime_ctype_add(struct mime_ctype *ct, char *name, char *value);
/* The value of parameter name of ct (case-insensitive) or NULL. */
const char *mime_ctype_param(const struct mime_ctype *ct, const char *name);
/* A malloc'ed copy of s[0..n), NUL-terminated; NULL on ENOMEM. */
char *mime_strndup(const char *s, size_t n);
/* Skip CFWS (white space and nested comments) in s[i..n); returns the
 * new index. When comment is not NULL it receives the text of the last
 * comment seen (pointer into s, length in *clen). */
size_t mime_skip_cfws(
	const char *s, size_t i, size_t n, const char **comment, size_t *clen);

#endif
