/*
 * NAME
 *	store_mime - message structure for IMAP FETCH and SEARCH
 * DESCRIPTION
 *	Over the part tree of a stored message (common/mime_tree.c),
 *	renders what IMAP FETCH asks for (RFC 3501 7.4.2): ENVELOPE,
 *	BODY/BODYSTRUCTURE, BODY[section]; and answers SEARCH's text
 *	questions (RFC 3501 6.4.4) with RFC 2047 words and base64/QP
 *	bodies decoded. Pure functions: no I/O, bounded depth and part
 *	count, never fails on malformed mail (a broken part is text/plain).
 *	Store stage; the messages are hostile input.
 */
#ifndef SLUICE_STORE_MIME_H
#define SLUICE_STORE_MIME_H

#include <stddef.h>
#include <time.h>

#include "limits_rfc.h"
#include "mime_tree.h"

struct sbuf;

/* Append the IMAP ENVELOPE list "(date subject from sender reply-to to
 * cc bcc in-reply-to message-id)" of the message. 0 or -1 (out full). */
int mime_envelope(const struct mime_part *root, struct sbuf *out);
/* Append BODY (extended == 0) or BODYSTRUCTURE (extended != 0). */
int mime_bodystructure(const struct mime_part *root, int extended,
		       struct sbuf *out);
/* Append the bytes of BODY[section] where section is the text between
 * the brackets: "", "HEADER", "TEXT", "1", "1.2.MIME", "2.HEADER",
 * "HEADER.FIELDS (From To)", "1.HEADER.FIELDS.NOT (Subject)" (RFC 3501
 * 6.4.5 section-spec, case-insensitive). A part that does not exist
 * gives no bytes. 0, or -1 when section is malformed (a BAD) or out
 * is full (out is then left as it was). */
int mime_section(const struct mime_part *root, const char *section,
		 struct sbuf *out);
/* Append the bytes of BINARY[section] (RFC 3516): section is "" (the
 * message as stored) or part numbers "1.2"; a part's body comes with
 * its Content-Transfer-Encoding undone (base64, quoted-printable;
 * 7bit, 8bit, binary as they are). A part that does not exist gives no
 * bytes. 0, -1 when section is not part numbers, -2 for a transfer
 * encoding we do not know (NO [UNKNOWN-CTE]). */
int mime_binary(const struct mime_part *root, const char *section,
		struct sbuf *out);
/* Non-zero when section is well-formed (for checking before FETCH). */
int mime_section_valid(const char *section);

/* SEARCH HEADER field needle / FROM / SUBJECT ...: non-zero when some
 * field of that name (top-level header) contains needle,
 * case-insensitively, after RFC 2047 decoding. An address field (From,
 * To, Cc, Bcc, Sender, Reply-To, Resent-*) also matches with its RFC
 * 5322 comments and folding white space taken out. An empty needle
 * matches every message that has the field. */
int mime_header_contains(const struct mime_part *root, const char *field,
			 const char *needle);
/* SEARCH BODY: the body text of any text part (transfer encoding
 * undone) contains needle, case-insensitively. */
int mime_body_contains(const struct mime_part *root, const char *needle);
/* SEARCH TEXT: header or body contains needle. */
int mime_text_contains(const struct mime_part *root, const char *needle);
/* The Date: header as a time (SENTBEFORE/SENTON/SENTSINCE), or -1. */
time_t mime_date(const struct mime_part *root);
/* The same, and the field's zone in minutes east of UTC in *zone_r (0
 * when unknown), so SENTON can take the date "disregarding time and
 * timezone" (RFC 3501 6.4.4): gmtime(t + zone * 60). */
time_t mime_date_zone(const struct mime_part *root, int *zone_r);

/* ---- SORT and THREAD (RFC 5256; store_mime_sort.c) ---- */

#define MIME_SORT_KEY_MAX LIM_IMAP_SORT_KEY
#define MIME_THREAD_REFS LIM_IMAP_THREAD_REFS

/* Append the base subject (RFC 5256 2.1) of the message, upper-cased
 * ASCII, at most MIME_SORT_KEY_MAX bytes. 1 when the subject was a
 * reply or forward (a "Re:", "Fwd:", "(fwd)" or "[fwd: ]" came off),
 * else 0. */
int mime_base_subject(const struct mime_part *root, struct sbuf *out);
/* Append the addr-mailbox of the first address of header field (SORT
 * CC, FROM, TO), upper-cased ASCII; nothing when there is none. */
void mime_first_mailbox(const struct mime_part *root, const char *field,
			struct sbuf *out);
/* THREAD=REFERENCES (RFC 5256 4): append the Message-ID "<...>" and a
 * NUL to msgid and, each followed by a NUL, the References identifiers (the
 * last MIME_THREAD_REFS), or when there are none the In-Reply-To one,
 * to refs. Returns how many references. */
size_t mime_thread_ids(const struct mime_part *root, struct sbuf *msgid,
		       struct sbuf *refs);

/* Append s[0..n) as an IMAP string: quoted when it is short and safe,
 * a literal {n}CRLF... otherwise; NIL when s is NULL. 0 or -1. */
int mime_imap_string(struct sbuf *out, const char *s, size_t n);

#endif
