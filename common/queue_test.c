/*
 * NAME
 *	queue_test - the durable queue and the envelope record
 * DESCRIPTION
 *	Round trips, operator actions, scheduling, rotation with compaction,
 *	and crash safety: a journal cut at every byte offset must recover
 *	every message whose NEW record was whole, invent nothing, and never
 *	fail to open; one damaged byte anywhere in a journal costs only the
 *	message whose record it hit. Schedule fields read back are clamped.
 *	Segment names are strict, and numbering survives the wrap at 2^32.
 *	Prints (does not assert) a group-commit throughput.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "queue.h"
#include "queue_int.h"
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

/* Empty queue folder d (segments, lock, corrupt/) for the next round. */
static void clear_dir(const char *d)
{
	char p[600];
	struct dirent *de;
	DIR *dir;

	snprintf(p, sizeof(p), "%s/corrupt", d);
	if ((dir = opendir(p)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			snprintf(p, sizeof(p), "%s/corrupt/%s", d, de->d_name);
			if (de->d_name[0] != '.')
				unlink(p);
		}
		closedir(dir);
		snprintf(p, sizeof(p), "%s/corrupt", d);
		rmdir(p);
	}
	if ((dir = opendir(d)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		if (de->d_name[0] != '.')
			unlink(p);
	}
	closedir(dir);
}

/* Entries in d and the sum of their sizes and mtimes: changes when
 * anything is created, grows, shrinks or is written. */
static long long dir_print(const char *d)
{
	char p[600];
	struct dirent *de;
	struct stat st;
	long long sum = 0;
	DIR *dir = opendir(d);

	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		if (de->d_name[0] == '.' || stat(p, &st) < 0)
			continue;
		sum += 1000003LL + (long long)st.st_size * 31 +
		       (long long)st.st_mtim.tv_nsec + st.st_mtim.tv_sec;
	}
	closedir(dir);
	return sum;
}

#define NDMG 5
/* What message i of the journal below should look like after recovery
 * when nothing of its own was damaged. */
static int check_survivors(struct queue *q, char ids[NDMG][QUEUE_ID_LEN + 1],
			   int hit)
{
	static const char body[] = "Subject: dmg\r\n\r\nsome body text\r\n";
	struct sbuf b;
	struct qmsg *m;
	int i, bad = 0;

	sbuf_init(&b, 1 << 20);
	for (i = 0; i < NDMG; i++) {
		if (i == hit)
			continue;
		m = queue_find(q, ids[i]);
		if (i == 2) { /* deleted */
			bad += m != NULL;
			continue;
		}
		sbuf_reset(&b);
		if (m == NULL || m->held != (i == 1) ||
		    queue_body(q, m, &b) < 0 || b.len != sizeof(body) - 1 ||
		    memcmp(b.data, body, b.len) != 0)
			bad++;
	}
	sbuf_free(&b);
	return bad;
}

/* One flipped bit at every byte of a journal of five messages (NEWs, an
 * UPDATE, a DONE): read-only recovery changes nothing on disk, both
 * modes keep every message the byte did not belong to, and read-write
 * recovery sets the damaged record aside in corrupt/. */
static void test_damage_every_byte(void)
{
	char err[256], seg[512], dmg[256], path[700];
	char ids[NDMG][QUEUE_ID_LEN + 1];
	static const char body[] = "Subject: dmg\r\n\r\nsome body text\r\n";
	off_t ends[7], size, at, start;
	int owner[7] = {0, 1, 2, 1, 3, 2, 4};
	struct queue *q;
	struct envelope e;
	struct qmsg *m;
	struct stat st;
	unsigned char *img;
	int i, r, fd, lost_ro = 0, lost_rw = 0, changed = 0, unseen = 0,
		   noquar = 0, bad = 0;
	long long before;

	q = queue_open(qdir("damage"), err, sizeof(err));
	if (q == NULL)
		return;
	env_make(&e, "dmg@example.test", 2);
	snprintf(seg, sizeof(seg), "%s/seg-00000001", qdir("damage"));
	for (i = 0, r = 0; r < 7; r++) {
		if (r == 3) {
			queue_hold(q, ids[1], 1);
		} else if (r == 5) {
			queue_delete(q, ids[2]);
		} else {
			m = queue_add(q, &e, body, sizeof(body) - 1);
			snprintf(ids[i], sizeof(ids[i]), "%s", m->id);
			i++;
		}
		queue_sync(q);
		stat(seg, &st);
		ends[r] = st.st_size;
	}
	queue_close(q);
	envelope_free(&e);
	size = ends[6];
	img = malloc((size_t)size);
	fd = open(seg, O_RDONLY);
	if (img == NULL || fd < 0 || read(fd, img, (size_t)size) != size) {
		CHECK(0, "read journal");
		free(img);
		return;
	}
	close(fd);
	/* about 4 fsyncs a position: in memory when there is a tmpfs, as
	 * this tests recovery, not the disk */
	snprintf(dmg, sizeof(dmg), "/dev/shm/sluice-queue-dmg-%ld",
		 (long)getpid());
	if (mkdir(dmg, 0700) < 0) {
		snprintf(dmg, sizeof(dmg), "%.200s/dmg", base);
		mkdir(dmg, 0700);
	}
	snprintf(path, sizeof(path), "%s/seg-00000001", dmg);
	for (at = 0; at < size; at++) {
		for (r = 0; ends[r] <= at; r++)
			;
		start = r ? ends[r - 1] : 0;
		clear_dir(dmg);
		img[at] ^= (unsigned char)(1u << (at % 8));
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, img, (size_t)size) != size)
			bad++;
		close(fd);
		img[at] ^= (unsigned char)(1u << (at % 8));
		before = dir_print(dmg);
		q = queue_open_mode(dmg, QUEUE_RDONLY, err, sizeof(err));
		if (q == NULL) {
			bad++;
			continue;
		}
		lost_ro += check_survivors(q, ids, owner[r]);
		/* every damage but the last record's is seen */
		if (r < 6 && queue_damaged(q) == 0)
			unseen++;
		queue_close(q);
		changed += dir_print(dmg) != before;
		q = queue_open(dmg, err, sizeof(err));
		if (q == NULL) {
			bad++;
			continue;
		}
		lost_rw += check_survivors(q, ids, owner[r]);
		queue_close(q);
		snprintf(path, sizeof(path), "%s/corrupt/seg-00000001.%lld",
			 dmg, (long long)start);
		if (r < 6 && stat(path, &st) < 0)
			noquar++;
		snprintf(path, sizeof(path), "%s/seg-00000001", dmg);
	}
	free(img);
	clear_dir(dmg);
	rmdir(dmg);
	CHECK(bad == 0, "every damaged journal opens");
	CHECK(lost_ro == 0, "read-only: no undamaged message lost");
	CHECK(lost_rw == 0, "read-write: no undamaged message lost");
	CHECK(changed == 0, "read-only recovery changes nothing");
	CHECK(unseen == 0, "every damage is counted");
	CHECK(noquar == 0, "damaged records are set aside");
	if (lost_ro + lost_rw + changed + unseen + noquar)
		fprintf(stderr, "damage: lost %d/%d, changed %d, unseen %d, "
			"not set aside %d of %lld positions\n", lost_ro,
			lost_rw, changed, unseen, noquar, (long long)size);
}

static void test_seg_names(void)
{
	static const struct {
		const char *name;
		int ok;
		uint32_t num;
	} t[] = {
		{"seg-00000001", 1, 1},	{"seg-12345678", 1, 12345678},
		{"seg-123456789", 1, 123456789},
		{"seg-4294967295", 1, 4294967295u},
		{"seg-4294967296", 0, 0}, {"seg-99999999999", 0, 0},
		{"seg-00000000", 0, 0},	{"seg-1", 0, 0},
		{"seg--1", 0, 0},	{"seg--0000001", 0, 0},
		{"seg-+0000001", 0, 0}, {"seg- 0000001", 0, 0},
		{"seg-0000000a", 0, 0}, {"seg-000000001", 0, 0},
		{"seg-", 0, 0},		{"seg-00000001.x", 0, 0},
		{"lock", 0, 0},
	};
	char err[256], path[600], from[600];
	char id[3][QUEUE_ID_LEN + 1];
	struct envelope e;
	struct queue *q;
	struct qmsg *m;
	uint32_t num;
	size_t i;
	int bad = 0, rc, round;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		num = 0;
		rc = queue_seg_parse(t[i].name, &num);
		if ((rc == 0) != t[i].ok || (t[i].ok && num != t[i].num)) {
			fprintf(stderr, "seg name %s: rc %d num %u\n",
				t[i].name, rc, num);
			bad++;
		}
	}
	CHECK(bad == 0, "segment names parse strictly");

	/* stray names beside a queue are left alone, not misread */
	q = queue_open(qdir("names"), err, sizeof(err));
	if (q == NULL)
		return;
	env_make(&e, "n@example.test", 1);
	m = queue_add(q, &e, "x\r\n", 3);
	snprintf(id[0], sizeof(id[0]), "%s", m->id);
	queue_sync(q);
	queue_close(q);
	snprintf(from, sizeof(from), "%s/seg-00000001", qdir("names"));
	snprintf(path, sizeof(path), "%s/seg--1", qdir("names"));
	copy_file(from, path, 1 << 20);
	snprintf(path, sizeof(path), "%s/seg-1", qdir("names"));
	copy_file(from, path, 1 << 20);
	q = queue_open(qdir("names"), err, sizeof(err));
	CHECK(q != NULL && queue_count(q) == 1 && queue_find(q, id[0]),
	      "stray segment names ignored");
	queue_close(q);
	CHECK(access(path, F_OK) == 0, "stray file kept");

	/* numbering at the top of 32 bits starts again from the bottom,
	 * in order: a DONE in the newest segment still ends its message */
	q = queue_open(qdir("wrap"), err, sizeof(err));
	if (q == NULL)
		return;
	for (i = 0; i < 2; i++) {
		m = queue_add(q, &e, "y\r\n", 3);
		snprintf(id[i], sizeof(id[i]), "%s", m->id);
	}
	queue_sync(q);
	queue_close(q);
	snprintf(from, sizeof(from), "%s/seg-00000001", qdir("wrap"));
	snprintf(path, sizeof(path), "%s/seg-4294967294", qdir("wrap"));
	CHECK(rename(from, path) == 0, "rename to the top");
	for (round = 0; round < 3; round++) {
		q = queue_open(qdir("wrap"), err, sizeof(err));
		CHECK(q != NULL, "open near the wrap");
		if (q == NULL)
			break;
		if (round == 0) {
			m = queue_add(q, &e, "z\r\n", 3);
			snprintf(id[2], sizeof(id[2]), "%s", m->id);
			queue_delete(q, id[0]);
			queue_sync(q);
		}
		CHECK(queue_count(q) == 2 && !queue_find(q, id[0]) &&
		      queue_find(q, id[1]) && queue_find(q, id[2]),
		      "order kept across the wrap");
		queue_close(q);
	}
	snprintf(path, sizeof(path), "%s/seg-00000000", qdir("wrap"));
	CHECK(access(path, F_OK) < 0, "no segment 0");
	snprintf(path, sizeof(path), "%s/seg-00000001", qdir("wrap"));
	CHECK(access(path, F_OK) == 0, "renumbered from 1");
	envelope_free(&e);
}

/* A NEW record with these schedule fields, framed as the queue writes
 * it, appended to fd. */
static void write_rec(int fd, const char *id, int64_t next_try,
		      uint32_t attempts, time_t arrival)
{
	unsigned char hdr[QREC_HDR];
	struct qmsg m;
	struct sbuf b;
	uint32_t crc;

	memset(&m, 0, sizeof(m));
	env_make(&m.env, "clamp@example.test", 1);
	m.env.arrival = arrival;
	snprintf(m.id, sizeof(m.id), "%s", id);
	m.next_try = (time_t)next_try;
	m.attempts = (int)attempts;
	sbuf_init(&b, 1 << 20);
	qrec_state_encode(&m, &b);
	sbuf_append(&b, "x\r\n", 3);
	crc = qrec_begin(hdr, QREC_NEW, (uint32_t)b.len);
	qrec_seal(hdr, qrec_crc(crc, b.data, b.len));
	if (write(fd, hdr, QREC_HDR) != QREC_HDR ||
	    write(fd, b.data, b.len) != (ssize_t)b.len)
		CHECK(0, "write record");
	sbuf_free(&b);
	envelope_free(&m.env);
}

/* Times and counters from disk are clamped: a far-future next_try once
 * made outmta's timer wrap and spin. */
static void test_clamp(void)
{
	char err[256], path[600];
	time_t now = time(NULL);
	struct queue *q;
	struct qmsg *m;
	int fd;

	mkdir(qdir("clamp"), 0700);
	snprintf(path, sizeof(path), "%s/seg-00000001", qdir("clamp"));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	write_rec(fd, "FAR", INT64_MAX, UINT32_MAX, now + 86400 * 365);
	write_rec(fd, "NEG", INT64_MIN, 0x80000000u, now - 10);
	write_rec(fd, "OK", now + 60, 3, now - 100);
	close(fd);
	q = queue_open(qdir("clamp"), err, sizeof(err));
	CHECK(q && queue_count(q) == 3, "clamp: open");
	if (q == NULL)
		return;
	m = queue_find(q, "FAR");
	CHECK(m && m->next_try >= now && m->next_try <= time(NULL) +
	      QREC_NEXT_TRY_MAX, "far next_try clamped");
	CHECK(m && m->attempts >= 0 && m->attempts <= QREC_ATTEMPTS_MAX,
	      "attempts clamped");
	CHECK(m && m->env.arrival >= now && m->env.arrival <= time(NULL),
	      "future arrival clamped");
	m = queue_find(q, "NEG");
	CHECK(m && m->next_try >= now && m->next_try <= time(NULL) &&
	      m->attempts >= 0, "negative next_try and attempts clamped");
	m = queue_find(q, "OK");
	CHECK(m && m->next_try == now + 60 && m->attempts == 3 &&
	      m->env.arrival == now - 100, "sane values kept");
	CHECK(queue_next_time(q) <= time(NULL) + QREC_NEXT_TRY_MAX,
	      "next time sane");
	queue_close(q);
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
	test_damage_every_byte();
	test_seg_names();
	test_clamp();
	test_rotation();
	bench();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		return 2;
	return test_done();
}
