/*
 * NAME
 *	store_mime_int - internals shared by the store_mime*.c files
 * DESCRIPTION
 *	The helpers the renderers (store_mime_render.c, store_mime_addr.c,
 *	store_mime_section.c) and the SEARCH code (store_mime_search.c,
 *	store_mime_date.c) share.
 *	Everything here reads hostile bytes: every loop is bounded by the
 *	range it was given.
 */
#ifndef SLUICE_STORE_MIME_INT_H
#define SLUICE_STORE_MIME_INT_H

#include <stddef.h>

#include "mime.h"
#include "mime_tree.h"
#include "store_mime.h"

struct sbuf;

/* The addr-mailbox (local part) of the first address in the address
 * list v[0..n), appended to out; nothing when there is none
 * (store_mime_addr.c). */
void mime_addr_first(const char *v, size_t n, struct sbuf *out);

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
