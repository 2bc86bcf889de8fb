/*
 * NAME
 *	tracehdr - the internal trace headers, and stripping them
 * DESCRIPTION
 *	Later stages record what they found in header fields (avscan:
 *	X-Sluice-Virus; spamd: X-Spam-Flag, X-Spam-Score, X-Spam-Status),
 *	and the store acts on them (X-Spam-Flag: YES files into Junk). So
 *	nobody outside may forge them (DESIGN.md "Trust between stages"):
 *	the entry stages (mx, msa) remove every field whose name starts with
 *	one of TRACEHDR_PREFIXES, and a stage that writes a field removes
 *	any earlier copy first. Mail layer.
 */
#ifndef SLUICE_TRACEHDR_H
#define SLUICE_TRACEHDR_H

#include <stddef.h>

#include "sbuf.h"

#define TRACEHDR_VIRUS "X-Sluice-Virus"
#define TRACEHDR_SPAM_FLAG "X-Spam-Flag"
#define TRACEHDR_SPAM_SCORE "X-Spam-Score"
#define TRACEHDR_SPAM_STATUS "X-Spam-Status"
/* mx: the sender's DMARC policy asks for quarantine (the store files the
 * message into Junk, as for X-Spam-Flag: YES) */
#define TRACEHDR_JUNK "X-Sluice-Junk"

/* Name prefixes the entry stages strip (NULL-terminated). */
extern const char *const TRACEHDR_PREFIXES[];

/* Remove from the header section of msg (its first *header_len bytes,
 * CRLF line ends, ending with the empty line when there is a body) every
 * field, with its continuation lines, whose name starts with one of
 * prefixes (ASCII case-insensitive). Moves the rest in place and lowers
 * msg->len and *header_len. Returns the number of fields removed. */
size_t tracehdr_strip(struct sbuf *msg, size_t *header_len,
		      const char *const *prefixes);

/* tracehdr_strip() with another test: match(field, its end, arg)
 * non-zero removes the field. */
size_t tracehdr_strip_if(struct sbuf *msg, size_t *header_len,
			 int (*match)(const char *p, const char *end,
				      void *arg), void *arg);

/* 1 when the header section has an X-Sluice-Junk field, else 0. */
int tracehdr_junk(const char *msg, size_t header_len);

/* 1 when the header section (first header_len bytes of msg) has an
 * X-Spam-Flag field whose value is YES (case-insensitive), else 0. */
int tracehdr_spam(const char *msg, size_t header_len);

#endif
