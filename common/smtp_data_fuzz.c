/*
 * NAME
 *	smtp_data_fuzz - libFuzzer target for the DATA parser
 * DESCRIPTION
 *	The first byte picks where the input is split; fed whole and fed
 *	in two reads, then an end of data, the parser must end at the same
 *	byte with the same message, header length and verdicts; fed raw
 *	(BDAT) in two chunks, the message must be the input itself. Built with the parser's source and a short read tail
 *	(SMTP_DATA_TAIL) so that short inputs take the long-line paths.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* a short tail, so that short inputs reach the long-line paths */
#define SMTP_DATA_TAIL 16
#include "smtp_data.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(const char *p, size_t len, size_t cut, struct sbuf *msg,
		 struct smtp_data *d, size_t *used)
{
	struct sbuf pend;
	size_t from = 0, to, k;
	int done = 0, step;

	sbuf_init(&pend, 1 << 20);
	smtp_data_begin(d, msg, 1 << 20, 0);
	*used = 0;
	for (step = 0; step < 3 && !done; step++) {
		to = step == 0 ? cut : len;
		if (step < 2 && sbuf_append(&pend, p + from, to - from) < 0)
			abort();
		/* then an end of data, so that both ways end */
		if (step == 2 && sbuf_append(&pend, "\r\n.\r\n", 5) < 0)
			abort();
		from = to;
		k = smtp_data_feed(d, pend.data, pend.len, &done);
		*used += k;
		sbuf_consume(&pend, k);
	}
	if (!done)
		abort();
	sbuf_free(&pend);
}

/* BDAT: fed raw in two chunks (the kept-back tail carried over), the
 * message is the input, byte for byte, whatever the cut. */
static void feed_raw(const char *p, size_t len, size_t cut)
{
	struct sbuf msg, pend;
	struct smtp_data d;

	sbuf_init(&msg, 1 << 20);
	sbuf_init(&pend, 1 << 20);
	smtp_data_begin(&d, &msg, 1 << 20, 0);
	if (sbuf_append(&pend, p, cut) < 0)
		abort();
	sbuf_consume(&pend, smtp_data_feed_raw(&d, pend.data, pend.len, 0));
	if (sbuf_append(&pend, p + cut, len - cut) < 0)
		abort();
	if (smtp_data_feed_raw(&d, pend.data, pend.len, 1) != pend.len ||
	    msg.len != len || (len && memcmp(msg.data, p, len) != 0) ||
	    d.header_len > len)
		abort();
	sbuf_free(&msg);
	sbuf_free(&pend);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf m1, m2;
	struct smtp_data d1, d2;
	size_t u1, u2, cut;

	if (size < 2)
		return 0;
	cut = ((size_t)data[0] * 37) % (size - 1);
	sbuf_init(&m1, 1 << 20);
	sbuf_init(&m2, 1 << 20);
	feed((const char *)data + 1, size - 1, size - 1, &m1, &d1, &u1);
	feed((const char *)data + 1, size - 1, cut, &m2, &d2, &u2);
	if (u1 != u2 || d1.bad != d2.bad || d1.header_len != d2.header_len ||
	    d1.received_count != d2.received_count || m1.len != m2.len ||
	    (m1.len && memcmp(m1.data, m2.data, m1.len) != 0))
		abort();
	sbuf_free(&m1);
	sbuf_free(&m2);
	feed_raw((const char *)data + 1, size - 1, cut);
	return 0;
}
