/*
 * NAME
 *	store_imap_parse - the IMAP command parser, sequence sets, dates and
 *	mailbox name encodings
 * DESCRIPTION
 *	Pure functions (store_imap_parse.c, store_imap_seq.c,
 *	store_imap_utf7.c): bytes in, a result out, no I/O; unit-tested
 *	and fuzzed. Faces the network: every byte a client sends is hostile.
 */
#ifndef SLUICE_STORE_IMAP_PARSE_H
#define SLUICE_STORE_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits_rfc.h"

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* atom, number, flag, sequence set, BODY[..]<..> */
	IMAP_ARG_QUOTED,  /* "quoted" (unescaped) */
	IMAP_ARG_LITERAL, /* {n} or {n+} */
	IMAP_ARG_LIST,    /* ( ... ): the next nsub args are inside it */
};

struct imap_arg {
	enum imap_arg_type type;
	const char *s; /* NUL-terminated (literals may hold NULs) */
	size_t len;
	size_t nsub;       /* LIST: args inside it, at every depth */
	unsigned char bin; /* LITERAL: a literal8 "~{n}" (RFC 3516) */
};

struct imap_cmd {
	char tag[LIM_IMAP_TAG + 1];
	char name[24];         /* upper-cased; "FETCH" for "UID FETCH" */
	int uid;               /* the UID prefix was given */
	struct imap_arg *args; /* flat, in order; lists hold nsub args */
	size_t nargs;
	char *arena; /* the bytes the args point into */
};

enum imap_parse_res {
	IMAP_P_OK,    /* cmd filled; out->used bytes form the command */
	IMAP_P_MORE,  /* incomplete; out->lit_off > 0 when a synchronizing
			 * literal of out->lit_len octets (0 too) waits for
			 * "+" (its data at out->lit_off; cmd->tag and
			 * cmd->name hold what was read) */
	IMAP_P_BAD,   /* answer BAD (tag in cmd->tag when out->has_tag),
			 * drop out->used bytes; out->skip_line: also drop
			 * input up to the next CRLF (over-long line) */
	IMAP_P_FATAL, /* answer BAD and disconnect (a non-synchronizing
			 * literal too large to skip) */
};

struct imap_parse_limits {
	size_t line_max;    /* text of a command, literals not counted */
	size_t literal_max; /* literal size for most commands */
	size_t append_max;  /* literal size for APPEND */
	size_t args_max;
	unsigned depth_max;
};

struct imap_parse_out {
	size_t used;
	size_t lit_off, lit_len;
	int has_tag;
	int skip_line;
	char err[120];
};

/* Parse one command from buf[0..len) (RFC 3501 section 9, command).
 * On IMAP_P_OK cmd owns memory: free with imap_cmd_free(). */
enum imap_parse_res imap_parse(const char *buf, size_t len,
	const struct imap_parse_limits *lim, struct imap_cmd *cmd,
	struct imap_parse_out *out);
void imap_cmd_free(struct imap_cmd *cmd);

/* Index of the argument after args[i] (skipping a list's contents). */
size_t imap_arg_next(const struct imap_cmd *cmd, size_t i);
/* An astring (atom, quoted or literal, not literal8) or NULL. */
const char *imap_arg_str(const struct imap_cmd *cmd, size_t i);
/* Non-zero when args[i] is the atom word (case-insensitive). */
int imap_arg_is(const struct imap_cmd *cmd, size_t i, const char *word);

/* A sequence set (RFC 3501 9, sequence-set) as ranges lo..hi with
 * lo <= hi; "*" is max (the largest number in use). */
struct imap_seqset {
	uint32_t (*r)[2];
	size_t n;
};

/* Parse s with "*" standing for star. 0, or -1 when malformed, has 0, or
 * has more than LIM_IMAP_SEQ_RANGES ranges. Free with imap_seqset_free. */
int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *out);
void imap_seqset_free(struct imap_seqset *set);
/* Non-zero when n is in the set. */
int imap_seqset_has(const struct imap_seqset *set, uint32_t n);

/* RFC 7162 mod-sequence-value (1*DIGIT, at most 2^63-1; zero only
 * when zero_ok, as for mod-sequence-valzer). 0 or -1. */
int imap_parse_modseq(const char *s, int zero_ok, uint64_t *out);

/* date (RFC 3501 9: "d-Mon-yyyy" or dd-Mon-yyyy) as the UTC midnight;
 * -1 when malformed. */
time_t imap_parse_date(const char *s);
/* date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (APPEND); -1 when malformed. */
time_t imap_parse_datetime(const char *s);
/* Write t as an IMAP date-time (27 characters + NUL) in UTC. */
void imap_format_datetime(time_t t, char out[32]);

/* Mailbox names (RFC 3501 5.1.3, RFC 9051 5.1): modified UTF-7 in to
 * UTF-8 out (decode), or back (encode), NUL-terminated in out. 0, or -1
 * when in is malformed or the result does not fit outlen. */
int imap_mutf7_decode(const char *in, char *out, size_t outlen);
int imap_mutf7_encode(const char *in, char *out, size_t outlen);

#endif
