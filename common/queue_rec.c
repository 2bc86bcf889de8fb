/*
 * NAME
 *	queue_rec - the queue journal's record format, without any I/O
 * DESCRIPTION
 *	See queue_rec.h. Record layout (little-endian):
 *	  header:  u32 magic, u8 type, 3 zero bytes, u32 payload length,
 *	           u32 CRC-32 (IEEE)
 *	  state:   char id[16], u64 next_try, u32 attempts, u32 held,
 *	           u32 errlen, err, u32 envlen, envelope record
 *	  NEW    = state + message bytes;  UPDATE = state;  DONE = id
 *	Magic "SLQ2": the CRC covers type, padding and length, then the
 *	payload, so a damaged header is caught like a damaged payload.
 *	"SLQ1" (older journals, still read): the CRC covers the payload only.
 *	Record bytes come from our own disk, but a damaged disk or a message
 *	body may hold anything: every length and number is checked.
 */
#include "queue_rec.h"

#include <stdlib.h>
#include <string.h>

#define QMAGIC1 0x31514c53u /* "SLQ1" */
#define QMAGIC2 0x32514c53u /* "SLQ2" */

/* Slicing-by-8: eight tables, eight bytes a step. It guards every
 * journal record, so it runs over every message byte. */
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	uint32_t c, n, k;

	if (crc_table[0][1])
		return;
	for (n = 0; n < 256; n++) {
		c = n;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[0][n] = c;
	}
	for (n = 0; n < 256; n++)
		for (k = 1; k < 8; k++)
			crc_table[k][n] = (crc_table[k - 1][n] >> 8) ^
					  crc_table[0][crc_table[k - 1][n] &
						       0xff];
}

uint32_t qrec_crc(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t lo, hi;

	crc_init();
	crc = ~crc;
	while (n >= 8) {
		lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 |
			    (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
		hi = (uint32_t)b[4] | (uint32_t)b[5] << 8 |
		     (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		b += 8;
		n -= 8;
	}
	while (n--)
		crc = crc_table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

uint32_t qrec_begin(unsigned char hdr[QREC_HDR], int type, uint32_t len)
{
	put32(hdr, QMAGIC2);
	hdr[4] = (unsigned char)type;
	hdr[5] = hdr[6] = hdr[7] = 0;
	put32(hdr + 8, len);
	return qrec_crc(0, hdr + 4, 8);
}

void qrec_seal(unsigned char hdr[QREC_HDR], uint32_t crc)
{
	put32(hdr + 12, crc);
}

/* A header that could start a record: known magic and type, zero
 * padding. At least QREC_HDR bytes at p. */
static int hdr_plausible(const unsigned char *p)
{
	uint32_t magic = get32(p);

	return (magic == QMAGIC1 || magic == QMAGIC2) && p[4] >= QREC_NEW &&
	       p[4] <= QREC_DONE && p[5] == 0 && p[6] == 0 && p[7] == 0;
}

/* A whole record at off whose CRC matches. */
static int rec_valid(const unsigned char *map, size_t size, size_t off)
{
	const unsigned char *p = map + off;
	size_t len;
	uint32_t crc;

	if (size - off < QREC_HDR || !hdr_plausible(p))
		return 0;
	len = get32(p + 8);
	if (len > size - off - QREC_HDR)
		return 0;
	crc = get32(p) == QMAGIC2 ? qrec_crc(0, p + 4, 8) : 0;
	return qrec_crc(crc, p + QREC_HDR, len) == get32(p + 12);
}

/* The next offset after off where a whole record starts, or 0. Message
 * bodies may hold header look-alikes that each claim a long payload:
 * *budget bounds the payload bytes checked, so a damaged segment costs
 * linear time; past it, the rest counts as damaged (and is set aside). */
static size_t resync(const unsigned char *map, size_t size, size_t off,
		     size_t *budget)
{
	const unsigned char *hit;
	size_t len;

	while (++off + QREC_HDR <= size) {
		hit = memmem(map + off, size - off, "SLQ", 3);
		if (hit == NULL)
			return 0;
		off = (size_t)(hit - map);
		if (size - off < QREC_HDR || !hdr_plausible(map + off))
			continue;
		len = get32(map + off + 8);
		if (len > *budget)
			return 0;
		*budget -= len;
		if (rec_valid(map, size, off))
			return off;
	}
	return 0;
}

size_t qrec_scan(const unsigned char *map, size_t size,
		 void (*cb)(void *arg, const struct qscan_item *it),
		 void *arg)
{
	struct qscan_item it;
	size_t off = 0, end, len, damaged = 0;
	size_t budget = size > SIZE_MAX / 8 - (1u << 20) ? SIZE_MAX
					      : 8 * size + (1u << 20);

	while (off < size) {
		memset(&it, 0, sizeof(it));
		it.off = off;
		if (rec_valid(map, size, off)) {
			it.kind = QSCAN_RECORD;
			it.type = map[off + 4];
			it.plen = get32(map + off + 8);
			it.payload = map + off + QREC_HDR;
			it.len = QREC_HDR + it.plen;
			cb(arg, &it);
			off += it.len;
			continue;
		}
		/* believe the length when the next record (or the end)
		 * is where it says; else look for the next record */
		end = 0;
		len = size - off >= QREC_HDR ? get32(map + off + 8) : SIZE_MAX;
		if (len != SIZE_MAX && len <= size - off - QREC_HDR &&
		    (off + QREC_HDR + len == size ||
		     rec_valid(map, size, off + QREC_HDR + len)))
			end = off + QREC_HDR + len;
		if (end == 0)
			end = resync(map, size, off, &budget);
		if (end == 0) {
			/* nothing whole follows: a write cut short leaves a
			 * partial header, or a header promising more bytes
			 * than there are */
			end = size;
			it.kind = len == SIZE_MAX ||
					  (hdr_plausible(map + off) &&
					   len > size - off - QREC_HDR)
					  ? QSCAN_TORN : QSCAN_DAMAGED;
		} else {
			it.kind = QSCAN_DAMAGED;
		}
		if (it.kind == QSCAN_DAMAGED)
			damaged++;
		it.len = end - off;
		it.payload = map + off;
		it.plen = it.len;
		cb(arg, &it);
		off = end;
	}
	return damaged;
}

int qrec_id(const unsigned char *p, size_t n, char id[QREC_ID + 1])
{
	size_t i, len;

	if (n < QREC_ID)
		return -1;
	for (len = 0; len < QREC_ID && p[len] != '\0'; len++)
		if (!((p[len] >= '0' && p[len] <= '9') ||
		      (p[len] >= 'A' && p[len] <= 'Z') ||
		      (p[len] >= 'a' && p[len] <= 'z')))
			return -1;
	for (i = len; i < QREC_ID; i++)
		if (p[i] != '\0')
			return -1;
	if (len == 0)
		return -1;
	memcpy(id, p, len);
	id[len] = '\0';
	return 0;
}

int qrec_state_encode(const struct qmsg *m, struct sbuf *b)
{
	unsigned char num[20];
	const char *err = m->last_error ? m->last_error : "";
	size_t envstart, idlen = strlen(m->id);
	uint64_t nt = (uint64_t)m->next_try;
	char id[QREC_ID];

	sbuf_reset(b);
	if (idlen > QREC_ID)
		return -1;
	memset(id, 0, sizeof(id));
	memcpy(id, m->id, idlen);
	put32(num, (uint32_t)nt);
	put32(num + 4, (uint32_t)(nt >> 32));
	put32(num + 8, (uint32_t)m->attempts);
	put32(num + 12, (uint32_t)m->held);
	put32(num + 16, (uint32_t)strlen(err));
	if (sbuf_append(b, id, QREC_ID) < 0 || sbuf_append(b, num, 20) < 0 ||
	    sbuf_append(b, err, strlen(err)) < 0 ||
	    sbuf_append(b, num, 4) < 0)
		return -1;
	envstart = b->len;
	if (envelope_encode(&m->env, b) < 0)
		return -1;
	put32((unsigned char *)b->data + envstart - 4,
	      (uint32_t)(b->len - envstart));
	return 0;
}

/* A time or count from disk, forced into [lo, hi]. */
static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int qrec_state_parse(const unsigned char *p, size_t n, time_t now,
		     struct qmsg *m, size_t *used)
{
	uint32_t errlen, envlen;
	size_t off = QREC_ID + 20;
	int64_t nt;

	memset(m, 0, sizeof(*m));
	if (n < off || qrec_id(p, n, m->id) < 0)
		return -1;
	/* a u64 on disk: far future, or "negative" once cast, both clamped
	 * here so no caller does arithmetic with them */
	nt = (int64_t)get64(p + QREC_ID);
	m->next_try = nt <= 0 ? now : (time_t)clamp(nt, 1, (long long)now +
							QREC_NEXT_TRY_MAX);
	m->attempts = (int)clamp(get32(p + QREC_ID + 8), 0, QREC_ATTEMPTS_MAX);
	m->held = get32(p + QREC_ID + 12) != 0;
	errlen = get32(p + QREC_ID + 16);
	if (errlen > 4096 || n - off < (size_t)errlen + 4 ||
	    memchr(p + off, '\0', errlen) != NULL)
		return -1;
	m->last_error = errlen ? strndup((const char *)p + off, errlen) : NULL;
	off += errlen;
	envlen = get32(p + off);
	off += 4;
	if (envlen > n - off ||
	    envelope_decode(&m->env, (const char *)p + off, envlen) < 0) {
		free(m->last_error);
		m->last_error = NULL;
		return -1;
	}
	/* no message arrived in the future (a clock stepped back, or a
	 * damaged field): its age counts from now */
	if (m->env.arrival > now)
		m->env.arrival = now;
	*used = off + envlen;
	return 0;
}
