/*
 * NAME
 *	smtp_data_test - the DATA parser must not care how input is split
 * DESCRIPTION
 *	Each case is fed whole, then split at every byte boundary, then
 *	one byte at a time, then split twice around every CR and LF; every
 *	way must give the same message, header length, Received: count,
 *	bare CR/LF verdict and end, and those must be the table's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "test.h"

struct result {
	int done, bad, received;
	size_t header_len, used;
	char *msg;
	size_t msglen;
};

/* Feed input in pieces ending at the offsets cuts[0..ncuts) (ascending)
 * the way the engine does: unused bytes stay in front of the next read. */
static void run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
		struct result *r)
{
	struct sbuf msg, pend;
	struct smtp_data d;
	size_t i, from = 0, to, used = 0;
	int done = 0;

	sbuf_init(&msg, 1 << 20);
	sbuf_init(&pend, 1 << 20);
	smtp_data_begin(&d, &msg, 0, 0);
	for (i = 0; i <= ncuts && !done; i++) {
		to = i < ncuts ? cuts[i] : len;
		if (sbuf_append(&pend, in + from, to - from) < 0)
			abort();
		from = to;
		used += pend.len;
		sbuf_consume(&pend, smtp_data_feed(&d, pend.data, pend.len,
						   &done));
		used -= pend.len;
	}
	r->done = done;
	r->bad = d.bad;
	r->received = d.received_count;
	r->header_len = d.header_len;
	r->used = used;
	r->msglen = msg.len;
	r->msg = malloc(msg.len + 1);
	memcpy(r->msg, msg.data ? msg.data : "", msg.len);
	sbuf_free(&msg);
	sbuf_free(&pend);
}

static int same(const struct result *a, const struct result *b)
{
	return a->done == b->done && a->bad == b->bad &&
	       a->received == b->received && a->header_len == b->header_len &&
	       a->used == b->used && a->msglen == b->msglen &&
	       memcmp(a->msg, b->msg, a->msglen) == 0;
}

struct data_case {
	const char *name;
	const char *pre, *post; /* around a line of longlen 'A's */
	size_t longlen;
	int bad, received;
	long header_len;	/* -1: up to the CRLF before the blank line */
	const char *tail;	/* what must be left after the end */
};

static const struct data_case cases[] = {
	{"long header line, forged field after it", "Subject: ",
	 "\r\nX-Spam-Flag: YES\r\nFrom: ceo@bank.test\r\n\r\nbody\r\n.\r\n",
	 5000, 0, 0, -1, ""},
	{"long line just over the tail", "Subject: ", "\r\nX: y\r\n\r\nb\r\n"
	 ".\r\nQUIT\r\n", 4087, 0, 0, -1, "QUIT\r\n"},
	{"long line just under the tail", "Subject: ", "\r\nX: y\r\n\r\nb\r\n"
	 ".\r\n", 4086, 0, 0, -1, ""},
	{"long Received counted once", "Received: ", "\r\nReceived: x\r\n"
	 "\r\nReceived: body\r\n.\r\n", 9000, 0, 2, -1, ""},
	{"long line then Received inside it", "X: ", "Received: no\r\n\r\n"
	 ".\r\n", 4200, 0, 0, -1, ""},
	{"dot-stuffed long body line", "S: x\r\n\r\n.", "\r\n..\r\n.x\r\n"
	 ".\r\n", 6000, 0, 0, -1, ""},
	{"long body line ending in CR CR LF", "S: x\r\n\r\n", "\r\r\n.\r\n",
	 4500, 1, 0, -1, ""},
	{"bare LF then dot is text", "S: x\r\n\r\n", "\n.\r\nMAIL FROM:<x>"
	 "\r\n\r\n.\r\n", 10, 1, 0, -1, ""},
	{"bare CR dot", "S: x\r\n\r\n", "\r.\r\nmore\r\n.\r\n", 10, 1, 0, -1,
	 ""},
	{"bare LF dot CR LF after long line", "S: x\r\n\r\n", "\n.\r\n"
	 "\r\n.\r\n", 5000, 1, 0, -1, ""},
	{"bare LF in header", "S: x\n", "\r\n\r\n.\r\n", 10, 1, 0, -1, ""},
	{"no body", "S: x\r\n", "\r\n.\r\n", 4100, 0, 0, 4108, ""},
	{"no header end", "S: ", "\r\n.\r\n", 4100, 0, 0, 4105, ""},
	{"empty message", "", ".\r\nRSET\r\n", 0, 0, 0, 0, "RSET\r\n"},
	{"dot CR not end", "S: x\r\n\r\n", "\r\n.\r \r\n.\r\n", 5, 1, 0, -1,
	 ""},
};

static char *build(const struct data_case *t, size_t *len)
{
	size_t a = strlen(t->pre), b = strlen(t->post);
	char *s = malloc(a + t->longlen + b + 1);

	memcpy(s, t->pre, a);
	memset(s + a, 'A', t->longlen);
	memcpy(s + a + t->longlen, t->post, b + 1);
	*len = a + t->longlen + b;
	return s;
}

static void check_case(const struct data_case *t)
{
	size_t len, i, j, k, *cuts, fails = 0;
	char *in = build(t, &len), *hend;
	struct result whole, r;
	long want_hl;

	run(in, len, NULL, 0, &whole);
	CHECK(whole.done, t->name);
	CHECK(whole.bad == t->bad, t->name);
	CHECK(whole.received == t->received, t->name);
	CHECK(strcmp(in + whole.used, t->tail) == 0, t->name);
	want_hl = t->header_len;
	if (want_hl < 0) {
		hend = memmem(whole.msg, whole.msglen, "\r\n\r\n", 4);
		want_hl = hend ? hend - whole.msg + 2 : -2;
	}
	CHECK((long)whole.header_len == want_hl, t->name);
	/* every single split */
	for (i = 1; i < len; i++) {
		run(in, len, &i, 1, &r);
		if (!same(&whole, &r) && fails++ < 3)
			fprintf(stderr, "%s: split at %zu differs\n", t->name, i);
		free(r.msg);
	}
	/* one byte at a time */
	cuts = malloc(len * sizeof(*cuts));
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	run(in, len, cuts, len - 1, &r);
	if (!same(&whole, &r) && fails++ < 3)
		fprintf(stderr, "%s: byte by byte differs\n", t->name);
	free(r.msg);
	/* two splits, each within 3 bytes of a CR or LF */
	for (i = 1; i < len; i++) {
		if (!memchr("\r\n", in[i], 2) && !memchr("\r\n", in[i - 1], 2))
			continue;
		for (j = i + 1; j < len && j < i + 8; j++) {
			size_t two[2] = {i, j};

			run(in, len, two, 2, &r);
			if (!same(&whole, &r) && fails++ < 3)
				fprintf(stderr, "%s: splits %zu,%zu differ\n",
					t->name, i, j);
			free(r.msg);
		}
		for (k = 1; k <= 4 && i > k; k++) {
			size_t two[2] = {i - k, i};

			run(in, len, two, 2, &r);
			if (!same(&whole, &r) && fails++ < 3)
				fprintf(stderr, "%s: splits %zu,%zu differ\n",
					t->name, i - k, i);
			free(r.msg);
		}
	}
	CHECK(fails == 0, t->name);
	free(cuts);
	free(whole.msg);
	free(in);
}

/* BDAT: chunks taken as they are, split anywhere, kept back tails fed
 * again with the next chunk, all used at the last one. */
struct raw_case {
	const char *name;
	const char *in;
	int bad, received;
	size_t header_len;
};

static const struct raw_case raws[] = {
	{"dots are text", "Received: a\r\n\r\n.\r\n..x\r\n.\r\nend\r\n", 0,
	 1, 13},
	{"one byte", "x", 0, 0, 1},
	{"no final CRLF", "A: b\r\n\r\nbody", 0, 0, 6},
	{"bare LF", "A: b\n\r\nbody\r\n", 1, 0, 0},
	{"bare CR at the end", "A: b\r\n\r\nbody\r", 1, 0, 6},
	{"Received in body", "A: b\r\n\r\nReceived: x\r\n", 0, 0, 6},
};

static void check_raw(const struct raw_case *t)
{
	size_t len = strlen(t->in), cut, used;
	struct sbuf msg, pend;
	struct smtp_data d;
	int ok = 1;

	sbuf_init(&msg, 1 << 20);
	sbuf_init(&pend, 1 << 20);
	for (cut = 0; cut <= len; cut++) {
		smtp_data_begin(&d, &msg, 0, 0);
		sbuf_append(&pend, t->in, cut);
		sbuf_consume(&pend, smtp_data_feed_raw(&d, pend.data,
						       pend.len, 0));
		sbuf_append(&pend, t->in + cut, len - cut);
		used = smtp_data_feed_raw(&d, pend.data, pend.len, 1);
		ok &= used == pend.len && msg.len == len &&
		      memcmp(msg.data, t->in, len) == 0 && d.bad == t->bad &&
		      d.received_count == t->received &&
		      (t->bad || d.header_len == t->header_len);
		sbuf_reset(&pend);
	}
	CHECK(ok, t->name);
	sbuf_free(&msg);
	sbuf_free(&pend);
}

int main(void)
{
	struct sbuf msg;
	struct smtp_data d;
	const char *big = "S: x\r\n\r\n0123456789\r\n.\r\n";
	size_t i, used;
	int done;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	for (i = 0; i < sizeof(raws) / sizeof(raws[0]); i++)
		check_raw(&raws[i]);
	/* max_size: counted, not kept */
	sbuf_init(&msg, 1 << 20);
	smtp_data_begin(&d, &msg, 10, 0);
	used = smtp_data_feed(&d, big, strlen(big), &done);
	CHECK(done && used == strlen(big) && d.toobig && msg.len == 0,
	      "max_size");
	/* max_header */
	smtp_data_begin(&d, &msg, 0, 5);
	used = smtp_data_feed(&d, "A: 1234\r\nB: 1\r\n\r\n.\r\n", 20, &done);
	CHECK(done && d.hdrbig, "max_header");
	smtp_data_begin(&d, &msg, 0, 100);
	used = smtp_data_feed(&d, "A: 1234\r\nB: 1\r\n\r\n.\r\n", 20, &done);
	CHECK(done && !d.hdrbig && d.header_len == 15, "max_header ok");
	sbuf_free(&msg);
	return test_done();
}
