/*
 * NAME
 *	queue_rec - the queue journal's record format, without any I/O
 * DESCRIPTION
 *	Framing (header, CRC), the walk over a segment image that tells good
 *	records from damaged ones and from a torn tail, and the state block
 *	(ID, schedule fields, last error, envelope) with every number read
 *	back clamped to a sane range. Pure functions over bytes: queue.c
 *	does the reading and writing, queue_rec_fuzz.c feeds them garbage.
 *	Trusts nothing it is given. Mail layer.
 */
#ifndef SLUICE_QUEUE_REC_H
#define SLUICE_QUEUE_REC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue.h"
#include "sbuf.h"

#define QREC_HDR 16
#define QREC_ID 16
#define QREC_MAX ((size_t)1 << 31)
/* Schedule fields read back are clamped to these (the largest retry_max
 * the configuration allows, and a bound no retry count reaches). */
#define QREC_NEXT_TRY_MAX 86400
#define QREC_ATTEMPTS_MAX 1000000

/* Record types. */
enum { QREC_NEW = 1, QREC_UPDATE = 2, QREC_DONE = 3 };

/* CRC-32 (IEEE 802.3) of n bytes, continuing from crc (0 to start). */
uint32_t qrec_crc(uint32_t crc, const void *p, size_t n);

/* Fill hdr for a record of this type and payload length; returns the CRC
 * of the covered header bytes, to be continued over the payload with
 * qrec_crc() and stored by qrec_seal(). */
uint32_t qrec_begin(unsigned char hdr[QREC_HDR], int type, uint32_t len);
void qrec_seal(unsigned char hdr[QREC_HDR], uint32_t crc);

/* What qrec_scan() found at [off, off + len) of a segment image. */
enum qscan_kind {
	QSCAN_RECORD,	/* a whole record; payload/plen/type are set */
	QSCAN_DAMAGED,	/* bytes that are no record; good records follow or
			 * the bytes are no torn write */
	QSCAN_TORN,	/* the last record, incomplete: a write cut short */
};
struct qscan_item {
	enum qscan_kind kind;
	int type;
	size_t off, len;
	const unsigned char *payload;
	size_t plen;
};

/* Walk a segment image of size bytes from its start, calling cb for each
 * record, each damaged stretch and a torn tail, in file order. A record
 * whose header or payload is damaged is skipped (its length is believed
 * when a record or the end follows it; otherwise the walk looks for the
 * next whole record), so one bad byte costs one record. Returns the
 * number of damaged stretches. */
size_t qrec_scan(const unsigned char *map, size_t size,
		 void (*cb)(void *arg, const struct qscan_item *it),
		 void *arg);

/* The state block of m (without the message bytes) into b (reset
 * first). 0 or -1. */
int qrec_state_encode(const struct qmsg *m, struct sbuf *b);
/* Parse a state block at p[0..n): m gets id, next_try, attempts, held,
 * last_error (malloc'd) and the envelope (which the caller frees with
 * envelope_free); *used is its length. Times and counters are clamped
 * against now: next_try to [1, now + QREC_NEXT_TRY_MAX] (now when not
 * positive), arrival to at most now, attempts to [0, QREC_ATTEMPTS_MAX].
 * 0, or -1 (m then holds nothing to free). */
int qrec_state_parse(const unsigned char *p, size_t n, time_t now,
		     struct qmsg *m, size_t *used);
/* The queue ID at the start of a payload, if it looks like one: 0 and
 * id filled (NUL-terminated), or -1. */
int qrec_id(const unsigned char *p, size_t n, char id[QREC_ID + 1]);

#endif
