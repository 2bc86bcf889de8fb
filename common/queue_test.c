/*
 * NAME
 *	queue_test - the durable queue and the envelope record
 * DESCRIPTION
 *	Round trips, operator actions, scheduling, rotation with compaction,
 *	and crash safety: a journal cut at every byte offset must recover
 *	every message whose NEW record was whole, invent nothing, and never
 *	fail to open. Prints (does not assert) a group-commit throughput.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "test.h"

static char base[] = "/tmp/sluice-queue-test-XXXXXX";

static void env_make(struct envelope *e, const char *from, int nrcpt)
{
	char a[64];
	int i;

	memset(e, 0, sizeof(*e));
	e->from = strdup(from);
	e->envid = strdup("ENV+2B1");
	e->ret = DSN_RET_HDRS;
	e->body = BODY_8BITMIME;
	e->client_addr = strdup("192.0.2.1");
	e->entered_by = strdup("mx");
	for (i = 0; i < nrcpt; i++) {
		snprintf(a, sizeof(a), "r%d@example.test", i);
		envelope_add_rcpt(e, a, i ? NULL : "rfc822;r0+40example.test",
				  DSN_NOTIFY_FAILURE);
	}
}

static void test_envelope(void)
{
	struct envelope e, d;
	struct sbuf b;
	size_t cut;
	int bad = 0;

	env_make(&e, "alice@example.test", 3);
	e.rcpts[1].state = RCPT_DONE;
	e.rcpts[2].last_reply = strdup("451 4.3.0 try later");
	sbuf_init(&b, 1 << 20);
	CHECK(envelope_encode(&e, &b) == 0, "encode");
	memset(&d, 0, sizeof(d));
	CHECK(envelope_decode(&d, b.data, b.len) == 0, "decode");
	CHECK(d.nrcpt == 3 && strcmp(d.from, "alice@example.test") == 0 &&
	      d.rcpts[1].state == RCPT_DONE && d.ret == DSN_RET_HDRS &&
	      strcmp(d.rcpts[0].orcpt, "rfc822;r0+40example.test") == 0 &&
	      strcmp(d.rcpts[2].last_reply, "451 4.3.0 try later") == 0 &&
	      strcmp(d.envid, "ENV+2B1") == 0, "round trip");
	envelope_free(&d);
	/* every truncation is either rejected or a valid prefix; none
	 * crashes (ASan watches) */
	for (cut = 0; cut < b.len; cut++) {
		memset(&d, 0, sizeof(d));
		if (envelope_decode(&d, b.data, cut) == 0) {
			if (d.from == NULL)
				bad++;
			envelope_free(&d);
		}
	}
	CHECK(bad == 0, "truncations");
	/* flipped bytes */
	for (cut = 0; cut < b.len; cut++) {
		b.data[cut] ^= 0x5a;
		memset(&d, 0, sizeof(d));
		if (envelope_decode(&d, b.data, b.len) == 0)
			envelope_free(&d);
		b.data[cut] ^= 0x5a;
	}
	/* an enum out of range and an unknown tag are refused */
	memset(&d, 0, sizeof(d));
	CHECK(envelope_decode(&d, "\x01\x63\x01\x00\x00\x00x", 7) < 0,
	      "unknown tag");
	sbuf_free(&b);
	envelope_free(&e);
}

static char *qdir(const char *name)
{
	static char p[256];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	return p;
}

static void test_basic(void)
{
	char err[256], id[QUEUE_ID_LEN + 1], id2[QUEUE_ID_LEN + 1];
	struct queue *q, *q2;
	struct envelope e;
	struct qmsg *m;
	struct sbuf body;

	q = queue_open(qdir("basic"), err, sizeof(err));
	CHECK(q != NULL, "open");
	if (q == NULL)
		return;
	q2 = queue_open(qdir("basic"), err, sizeof(err));
	CHECK(q2 == NULL && strstr(err, "in use") != NULL, "lock");
	env_make(&e, "alice@example.test", 2);
	m = queue_add(q, &e, "Subject: a\r\n\r\nbody\r\n", 21);
	CHECK(m != NULL, "add");
	snprintf(id, sizeof(id), "%s", m->id);
	m = queue_add(q, &e, "Subject: b\r\n\r\nbody\r\n", 21);
	snprintf(id2, sizeof(id2), "%s", m->id);
	CHECK(strcmp(id, id2) != 0, "unique ids");
	CHECK(queue_dirty(q), "dirty");
	CHECK(queue_sync(q) == 0 && !queue_dirty(q), "sync");
	/* first delivery attempt: one rcpt done, one pending */
	m = queue_take(q, time(NULL));
	CHECK(m && strcmp(m->id, id) == 0 && m->busy, "take oldest");
	m->env.rcpts[0].state = RCPT_DONE;
	m->attempts = 1;
	m->next_try = time(NULL) + 3600;
	CHECK(queue_done(q, m) == 0, "done partial");
	m = queue_take(q, time(NULL));
	CHECK(m && strcmp(m->id, id2) == 0, "take second");
	CHECK(queue_take(q, time(NULL)) == NULL, "nothing due");
	CHECK(queue_next_time(q) > time(NULL), "next time");
	queue_done(q, m); /* unchanged: stays pending, due now */
	CHECK(queue_hold(q, id2, 1) == 0, "hold");
	CHECK(queue_take(q, time(NULL)) == NULL, "held not taken");
	queue_sync(q);
	queue_close(q);

	q = queue_open(qdir("basic"), err, sizeof(err));
	CHECK(q && queue_count(q) == 2, "reopen count");
	if (q == NULL)
		return;
	m = queue_find(q, id);
	CHECK(m && m->attempts == 1 && m->env.rcpts[0].state == RCPT_DONE &&
	      m->env.rcpts[1].state == RCPT_PENDING, "state survives");
	sbuf_init(&body, 1 << 20);
	CHECK(m && queue_body(q, m, &body) == 0 &&
	      strcmp(body.data, "Subject: a\r\n\r\nbody\r\n") == 0, "body");
	sbuf_free(&body);
	m = queue_find(q, id2);
	CHECK(m && m->held, "held survives");
	CHECK(queue_hold(q, id2, 0) == 0, "release");
	queue_flush(q);
	m = queue_take(q, time(NULL));
	CHECK(m != NULL, "flushed due");
	if (m) {
		m->env.rcpts[0].state = RCPT_DONE;
		m->env.rcpts[1].state = RCPT_FAILED;
		queue_done(q, m); /* no pending: removed */
	}
	CHECK(queue_count(q) == 1, "removed when done");
	m = queue_take(q, time(NULL));
	CHECK(m != NULL, "other due");
	if (m) {
		CHECK(queue_delete(q, m->id) == 0, "delete busy");
		queue_done(q, m);
	}
	CHECK(queue_count(q) == 0, "deleted");
	CHECK(queue_delete(q, "NOPE") < 0, "delete unknown");
	queue_sync(q);
	queue_close(q);
	q = queue_open(qdir("basic"), err, sizeof(err));
	CHECK(q && queue_count(q) == 0, "empty after reopen");
	queue_close(q);
	envelope_free(&e);
}

static void copy_file(const char *from, const char *to, off_t len)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	while (len > 0 && (n = read(in, buf, len < (off_t)sizeof(buf) ?
				   (size_t)len : sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n)
			break;
		len -= n;
	}
	close(in);
	close(out);
}

/* Build a journal, then recover every prefix of it. */
static void test_crash_every_byte(void)
{
	char err[256], seg[512], cut[256], path[600];
	char ids[6][QUEUE_ID_LEN + 1];
	off_t ends[6], size;
	struct queue *q;
	struct envelope e;
	struct qmsg *m;
	struct stat st;
	int i, bad = 0, missing = 0, invented = 0;
	off_t at;

	q = queue_open(qdir("crash"), err, sizeof(err));
	if (q == NULL)
		return;
	env_make(&e, "bob@example.test", 2);
	snprintf(seg, sizeof(seg), "%s/seg-00000001", qdir("crash"));
	for (i = 0; i < 6; i++) {
		m = queue_add(q, &e, "Subject: crash\r\n\r\nsome body text\r\n",
			      33);
		snprintf(ids[i], sizeof(ids[i]), "%s", m->id);
		if (i == 2) { /* an UPDATE and a DONE in the middle */
			m = queue_take(q, time(NULL));
			m->env.rcpts[0].state = RCPT_DONE;
			queue_done(q, m);
		}
		queue_sync(q);
		stat(seg, &st);
		ends[i] = st.st_size;
	}
	queue_close(q);
	size = ends[5];
	snprintf(cut, sizeof(cut), "%.200s/cut", base);
	mkdir(cut, 0700);
	snprintf(path, sizeof(path), "%s/seg-00000001", cut);
	for (at = 0; at <= size; at++) {
		copy_file(seg, path, at);
		q = queue_open(cut, err, sizeof(err));
		if (q == NULL) {
			bad++;
			continue;
		}
		for (i = 0; i < 6; i++) {
			int present = queue_find(q, ids[i]) != NULL;

			if (ends[i] <= at && !present)
				missing++;
		}
		if (queue_count(q) > 6)
			invented++;
		queue_close(q);
		/* recovery started a new segment: start clean each time */
		snprintf(path, sizeof(path), "rm -f %s/seg-*", cut);
		if (system(path) != 0)
			bad++;
		snprintf(path, sizeof(path), "%s/seg-00000001", cut);
	}
	CHECK(bad == 0, "every prefix opens");
	CHECK(missing == 0, "no synced message lost");
	CHECK(invented == 0, "nothing invented");
	envelope_free(&e);
}

static void test_rotation(void)
{
	char err[256], body[4096];
	struct queue *q;
	struct envelope e;
	struct qmsg *m, *keep = NULL;
	char keepid[QUEUE_ID_LEN + 1] = "";
	int i, nseg = 0;
	char cmd[512];
	FILE *p;

	memset(body, 'x', sizeof(body));
	q = queue_open(qdir("rot"), err, sizeof(err));
	if (q == NULL)
		return;
	queue_set_segment_size(q, 64 * 1024);
	env_make(&e, "c@example.test", 1);
	for (i = 0; i < 200; i++) {
		m = queue_add(q, &e, body, sizeof(body));
		if (i == 0) {
			keep = m;
			snprintf(keepid, sizeof(keepid), "%s", m->id);
			continue;
		}
		queue_sync(q);
		/* deliver everything but the first message */
		while ((m = queue_take(q, time(NULL))) != NULL) {
			if (m == keep) {
				m->next_try = time(NULL) + 3600;
				queue_done(q, m);
				continue;
			}
			m->env.rcpts[0].state = RCPT_DONE;
			queue_done(q, m);
		}
		queue_sync(q);
	}
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c seg-", qdir("rot"));
	p = popen(cmd, "r");
	if (p) {
		if (fscanf(p, "%d", &nseg) != 1)
			nseg = -1;
		pclose(p);
	}
	CHECK(nseg > 0 && nseg <= 3, "old segments unlinked");
	queue_close(q);
	q = queue_open(qdir("rot"), err, sizeof(err));
	CHECK(q && queue_count(q) == 1 && queue_find(q, keepid), "kept one");
	queue_close(q);
	envelope_free(&e);
}

static void bench(void)
{
	char err[256], body[4096];
	struct queue *q;
	struct envelope e;
	struct timeval a, b;
	int i;
	double s;

	memset(body, 'y', sizeof(body));
	q = queue_open(qdir("bench"), err, sizeof(err));
	if (q == NULL)
		return;
	env_make(&e, "d@example.test", 1);
	gettimeofday(&a, NULL);
	for (i = 1; i <= 5000; i++) {
		queue_add(q, &e, body, sizeof(body));
		if (i % 20 == 0)
			queue_sync(q);
	}
	queue_sync(q);
	gettimeofday(&b, NULL);
	s = (double)(b.tv_sec - a.tv_sec) + (b.tv_usec - a.tv_usec) / 1e6;
	printf("queue: 5000 adds of 4 KB, sync every 20: %.0f msgs/s\n",
	       5000 / s);
	queue_close(q);
	envelope_free(&e);
}

int main(void)
{
	char cmd[300];

	log_open("queue_test", 0);
	if (mkdtemp(base) == NULL)
		return 2;
	test_envelope();
	test_basic();
	test_crash_every_byte();
	test_rotation();
	bench();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		return 2;
	return test_done();
}
