/*
 * NAME
 *	authres - read Authentication-Results fields (RFC 8601)
 * DESCRIPTION
 *	Who wrote an Authentication-Results field is named by its
 *	authserv-id, and mail readers trust a field whose id is their
 *	provider's. So the border removes the fields that claim our id
 *	(mx), and a forwarder that seals the message with ARC copies our own
 *	results into its ARC-Authentication-Results (outmta). Both need the
 *	id as a reader finds it: after optional CFWS, a token or a quoted
 *	string (RFC 8601 2.2, "authserv-id = value"). Faces the network
 *	(the fields come from the message). Mail layer.
 */
#ifndef SLUICE_AUTHRES_H
#define SLUICE_AUTHRES_H

#include <stddef.h>

#include "sbuf.h"

/* Longest authserv-id read, bytes (a domain name fits). */
#define AUTHRES_ID_MAX 255

/* The header field [p, end) (name, colon, value with its continuation
 * lines): 0 when it is not an Authentication-Results field; 1 when it
 * is, with its authserv-id in id (NUL-terminated, quotes removed) and
 * *rest_r (when not NULL) just after the id and any version; -1 when
 * it is one whose id cannot be read (empty, unterminated comment or
 * quote, longer than idlen). */
int authres_field_id(const char *p, const char *end, char *id, size_t idlen,
	const char **rest_r);

/* 1 when [p, end) is an Authentication-Results field that names id
 * (ASCII case-insensitive) or whose id cannot be read; else 0. */
int authres_claims(const char *p, const char *end, const char *id);

/* Remove from the header section of msg (its first *header_len bytes)
 * every field authres_claims() gives for id; lowers msg->len and
 * *header_len (tracehdr_strip_if). Returns the number removed. */
size_t authres_strip(struct sbuf *msg, size_t *header_len, const char *id);

/* Append to out, for every Authentication-Results field of the header
 * section [msg, msg + hlen) whose authserv-id is id, each of its
 * results as ";\r\n\t" and the result (white space folded to single
 * spaces), skipping "none" and methods named in skip (a NULL-terminated
 * list of method names such as "arc", or NULL). 0, or -1 when out is
 * full. */
int authres_results(const char *msg, size_t hlen, const char *id,
	const char *const *skip, struct sbuf *out);

#endif
