/*
 * NAME
 *	queue_rec_fuzz - libFuzzer target for queue journal recovery
 * DESCRIPTION
 *	A queue segment read back after a crash or a disk fault may hold
 *	anything, including bytes of messages from the network. The first
 *	input byte picks what the rest is: a segment image for qrec_scan(),
 *	a state block for qrec_state_parse(), or a payload that is framed
 *	with a good header and CRC first (so the walk reaches the parser
 *	without the fuzzer having to forge CRCs). Checks the promises: the
 *	walk covers the image exactly once, in order, with a torn tail only
 *	last; every parsed schedule field is inside its clamp; a parsed
 *	state block encodes and parses back to the same fields. Build with
 *	`make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue_rec.h"

#define NOW ((time_t)1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_state(const unsigned char *p, size_t n)
{
	struct qmsg m, again;
	struct sbuf b;
	size_t used, used2;

	if (qrec_state_parse(p, n, NOW, &m, &used) < 0)
		return;
	if (used > n || m.id[0] == '\0' || m.next_try < 1 ||
	    m.next_try > NOW + QREC_NEXT_TRY_MAX || m.attempts < 0 ||
	    m.attempts > QREC_ATTEMPTS_MAX || m.env.arrival > NOW ||
	    m.env.arrival < 0)
		abort();
	sbuf_init(&b, QREC_MAX);
	if (qrec_state_encode(&m, &b) < 0 ||
	    qrec_state_parse((const unsigned char *)b.data, b.len, NOW,
			     &again, &used2) < 0)
		abort();
	if (used2 != b.len || strcmp(m.id, again.id) != 0 ||
	    m.next_try != again.next_try || m.attempts != again.attempts ||
	    m.held != again.held || m.env.arrival != again.env.arrival ||
	    m.env.nrcpt != again.env.nrcpt ||
	    (m.last_error == NULL) != (again.last_error == NULL))
		abort();
	envelope_free(&again.env);
	free(again.last_error);
	envelope_free(&m.env);
	free(m.last_error);
	sbuf_free(&b);
}

struct walk {
	size_t size, next;
	int torn;
};

static void on_item(void *arg, const struct qscan_item *it)
{
	struct walk *w = arg;

	if (w->torn || it->off != w->next || it->len == 0 ||
	    it->len > w->size - it->off)
		abort();
	w->next = it->off + it->len;
	if (it->kind == QSCAN_TORN)
		w->torn = 1;
	if (it->kind != QSCAN_RECORD)
		return;
	if (it->type < QREC_NEW || it->type > QREC_DONE ||
	    it->plen + QREC_HDR != it->len)
		abort();
	if (it->type != QREC_DONE)
		check_state(it->payload, it->plen);
}

static void walk(const unsigned char *p, size_t n)
{
	struct walk w = {n, 0, 0};

	qrec_scan(p, n, on_item, &w);
	if (w.next != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *img;
	uint32_t crc;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		walk(data + 1, size - 1);
		break;
	case 1:
		check_state(data + 1, size - 1);
		break;
	default:
		/* the input as the payload of one good NEW or UPDATE */
		img = malloc(size - 1 + QREC_HDR);
		if (img == NULL)
			return 0;
		crc = qrec_begin(img, data[0] & 4 ? QREC_UPDATE : QREC_NEW,
				 (uint32_t)(size - 1));
		qrec_seal(img, qrec_crc(crc, data + 1, size - 1));
		memcpy(img + QREC_HDR, data + 1, size - 1);
		walk(img, size - 1 + QREC_HDR);
		free(img);
		break;
	}
	return 0;
}
