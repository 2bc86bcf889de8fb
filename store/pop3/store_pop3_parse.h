/*
 * NAME
 *	store_pop3_parse - the POP3 command reader and parser (pure)
 * DESCRIPTION
 *	Splits the input of a POP3 session into lines and lines into
 *	commands (RFC 1939 section 3, RFC 2449 section 4, RFC 5034): a
 *	keyword of 3 or 4 letters, case-insensitive, then arguments
 *	separated by single spaces, each at most 40 octets except the
 *	password of PASS (the rest of the line) and the initial response of
 *	AUTH (RFC 5034). No I/O, no allocation: table-tested and fuzzed
 *	(store_pop3_fuzz.c). Mail layer; faces the network.
 */
#ifndef SLUICE_STORE_POP3_PARSE_H
#define SLUICE_STORE_POP3_PARSE_H

#include <stddef.h>

/* RFC 2449 section 4: a command line is at most 255 octets with CRLF. */
#define POP3_CMD_LINE 255
/* RFC 2449 section 4: arguments are at most 40 octets. */
#define POP3_ARG_MAX 40

enum pop3_line {
	POP3_LINE_NEED, /* no complete line yet: read more */
	POP3_LINE_OK,	/* a line: *len bytes, without the CRLF */
	POP3_LINE_LONG, /* a line over the limit was skipped: -ERR */
	POP3_LINE_BAD,	/* bare CR or LF, or NUL: skipped, -ERR */
};

/* Line state kept between calls (a long line may span reads). */
struct pop3_reader {
	int skipping; /* inside an over-long line: drop to its LF */
};

/* Look at buf[0..n): the next line of at most max octets (CRLF
 * included). *used: bytes to consume (for NEED, possibly a skipped
 * prefix of a long line). The line starts at buf. */
enum pop3_line pop3_read_line(struct pop3_reader *r, const char *buf,
			      size_t n, size_t max, size_t *len,
			      size_t *used);

enum pop3_verb {
	POP3_USER, POP3_PASS, POP3_APOP, POP3_AUTH, POP3_STLS, POP3_CAPA,
	POP3_QUIT, POP3_STAT, POP3_LIST, POP3_RETR, POP3_DELE, POP3_NOOP,
	POP3_RSET, POP3_TOP, POP3_UIDL,
};

struct pop3_cmd {
	enum pop3_verb verb;
	int nargs;
	const char *arg[2];   /* point into buf */
	unsigned long num[2]; /* numeric arguments (LIST, RETR, TOP ...) */
	char buf[POP3_CMD_LINE + 1];
};

/* Parse line[0..len) (no CRLF). Every command line fits POP3_CMD_LINE,
 * AUTH's too (RFC 5034 section 4: a client whose initial response would
 * not fit sends it after the empty challenge). 0; -1 unknown command;
 * -2 bad arguments. why: a short reason for the -ERR line. */
int pop3_parse(const char *line, size_t len, struct pop3_cmd *cmd,
	       const char **why);

#endif
