/*
 * NAME
 *	smtp_data - the DATA phase of SMTP/LMTP as a pure parser
 * DESCRIPTION
 *	Turns the dot-stuffed wire form into the message (RFC 5321 4.5.2),
 *	finding the end of the header section and counting its Received:
 *	lines as it goes. No I/O: the engine feeds it whatever one read
 *	brought, and the result never depends on how the peer split its
 *	writes (a line's bytes may arrive in any number of pieces).
 *	End of data is only <CRLF>.<CRLF>; a bare CR or LF anywhere marks
 *	the message bad (RFC 5321 2.3.8; the SMTP smuggling defence).
 *	Bytes past max_size are counted, not kept. Mail layer; the input
 *	faces the network.
 */
#ifndef SLUICE_SMTP_DATA_H
#define SLUICE_SMTP_DATA_H

#include <stddef.h>

#include "sbuf.h"

struct smtp_data {
	struct sbuf *msg;	/* the message goes here */
	size_t max_size;	/* 0: only msg's own maximum */
	size_t max_header;	/* 0: no limit on the header section */
	int bad;		/* bare CR or LF seen */
	int toobig;		/* over max_size */
	int hdrbig;		/* header section over max_header */
	int in_header;		/* still in the header section */
	int raw;		/* BDAT: no dot-stuffing, no end marker */
	int bol;		/* after a CRLF: "." is stuffing or the end */
	int mid;		/* inside a line part of which was kept */
	size_t total;		/* bytes of message seen (also past the limit) */
	size_t header_len;	/* the fields, up to the blank line */
	int received_count;	/* Received: fields in the header section */
};

/* Start a message into msg (reset here). */
void smtp_data_begin(struct smtp_data *d, struct sbuf *msg, size_t max_size,
		     size_t max_header);

/* Feed len bytes of wire input. Returns how many were used (the rest is
 * a short tail to feed again with more input after it) and sets *done
 * when <CRLF>.<CRLF> was used: the message is then complete. */
size_t smtp_data_feed(struct smtp_data *d, const char *p, size_t len,
		      int *done);

/* BDAT (RFC 3030 2): chunk bytes, taken as they are (no dot-stuffing,
 * no end marker) into the same message, header-section and bare CR/LF
 * logic as DATA. Returns how many were used, like smtp_data_feed();
 * with last set (the end of the last chunk) all of them. */
size_t smtp_data_feed_raw(struct smtp_data *d, const char *p, size_t len,
			  int last);

#endif
