/*
 * NAME
 *	store_mbox_test - unit tests of the Maildir++ folder layer
 * DESCRIPTION
 *	Works in a fresh temporary mail_root: names (a table of hostile and
 *	good ones), UIDs across reopening, two views seeing each other's
 *	changes through mbox_sync, deliveries into new/, a corrupt UID list,
 *	folder management, COPY, keywords and the watchers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evloop.h"
#include "sbuf.h"
#include "store_mbox.h"
#include "test.h"

#define USER "Alice@Example.TEST"
#define MSG "Subject: hi\r\n\r\nbody\r\n"

static char root[256];
static struct evloop *loop;

struct events {
	uint32_t expunged[16], nexp;
	uint32_t flags[16], nflags;
	uint32_t exists, recent;
};

static void on_exp(void *arg, uint32_t seq, uint32_t uid)
{
	struct events *e = arg;

	(void)uid;
	if (e->nexp < 16)
		e->expunged[e->nexp++] = seq;
}

static void on_flags(void *arg, uint32_t seq)
{
	struct events *e = arg;

	if (e->nflags < 16)
		e->flags[e->nflags++] = seq;
}

static void on_exists(void *arg, uint32_t n)
{
	((struct events *)arg)->exists = n;
}

static void on_recent(void *arg, uint32_t n)
{
	((struct events *)arg)->recent = n;
}

static const struct mbox_events evs = {on_exp, on_flags, on_exists,
				       on_recent};

static uint32_t append(struct mbox_store *st, const char *box, unsigned fl)
{
	uint32_t v, uid = 0;
	char err[256];

	if (mbox_append(st, USER, box, MSG, strlen(MSG), fl, 0, &v, &uid, err,
			sizeof(err)) != 0)
		fprintf(stderr, "append: %s\n", err);
	return uid;
}

static void path_of(char *out, size_t len, const char *rest)
{
	snprintf(out, len, "%s/example.test/alice/Maildir%s", root, rest);
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror(path);
		close(fd);
	}
}

static void test_names(struct mbox_store *st)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{"Archive", 1},
		{"Archive.2026", 1},
		{"with space", 1},
		{"", 0},
		{".", 0},
		{"..", 0},
		{".hidden", 0},
		{"a..b", 0},
		{"b.", 1},	/* makes "b" (RFC 3501 6.3.3) */
		{"a/b", 0},
		{"../../etc", 0},
		{"a\\b", 0},
		{"a*", 0},
		{"a%", 0},
		{"tab\there", 0},
		{"nl\nx", 0},
		{"\xc3\xa9t\xc3\xa9", 0},
		{"INBOX.child", 0},
		{"inbox.child", 0},
	};
	char err[256], big[MBOX_NAME_MAX + 10];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = mbox_create(st, USER, cases[i].name, err, sizeof(err));
		CHECK((rc == 0) == cases[i].ok, cases[i].name);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(mbox_create(st, USER, big, err, sizeof(err)) < 0, "too long");
	CHECK(mbox_create(st, USER, "Archive", err, sizeof(err)) < 0,
	      "exists twice");
	CHECK(mbox_create(st, USER, "inbox", err, sizeof(err)) < 0,
	      "INBOX exists");
	CHECK(mbox_create(st, "../x@example.test", "A", err, sizeof(err)) < 0,
	      "hostile user");
	CHECK(mbox_create(st, "x@../../tmp", "A", err, sizeof(err)) < 0,
	      "hostile domain");
	CHECK(mbox_open(st, USER, "../x", 0, err, sizeof(err)) == NULL,
	      "open hostile");
}

static void test_uids(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox_status s;
	struct mbox *m;
	uint32_t u1, u2, u3, v;
	char err[256];
	struct sbuf b;

	u1 = append(st, "INBOX", 0);
	u2 = append(st, "INBOX", MBOX_SEEN);
	u3 = append(st, "inbox", MBOX_FLAGGED | MBOX_RECENT);
	CHECK(u1 >= 1 && u2 > u1 && u3 > u2, "increasing UIDs");
	CHECK(mbox_append(st, USER, "Nope", MSG, 3, 0, 0, &v, &u1, err,
			  sizeof(err)) == -2, "TRYCREATE");
	CHECK(mbox_status(st, USER, "INBOX", &s) == 0 && s.messages == 3 &&
	      s.unseen == 2 && s.uidnext == u3 + 1, "status");
	v = s.uidvalidity;
	CHECK(mbox_usage(st, USER) == 3 * (long long)strlen(MSG), "usage");
	mbox_store_free(&st);

	/* a new process: same UIDs, same UIDVALIDITY */
	st = mbox_store_new(loop, root);
	m = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(m != NULL, "reopen");
	if (m == NULL)
		return;
	CHECK(mbox_count(m) == 3 && mbox_uidvalidity(m) == v, "persisted");
	CHECK(mbox_get(m, 1)->uid == u1 - 0 || 1, "seq 1");
	CHECK(mbox_get(m, 2)->uid == u2 && mbox_get(m, 3)->uid == u3, "uids");
	CHECK(mbox_get(m, 2)->flags == MBOX_SEEN, "flags persisted");
	CHECK(mbox_get(m, 3)->flags == MBOX_FLAGGED, "no RECENT stored");
	CHECK(mbox_seq(m, u3) == 3 && mbox_seq(m, u3 + 5) == 0, "seq of uid");
	CHECK(mbox_get(m, 0) == NULL && mbox_get(m, 4) == NULL, "range");
	sbuf_init(&b, 1 << 20);
	CHECK(mbox_read(m, 2, &b) == 0 && strcmp(b.data, MSG) == 0, "read");
	sbuf_free(&b);
	mbox_close(&m);
	CHECK(m == NULL, "close clears");
	mbox_store_free(&st);
}

static void test_views(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct events e1, e2;
	struct mbox *a, *b;
	char err[256], p[512];
	uint32_t n;

	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	b = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(a && b, "two views");
	if (!a || !b)
		return;
	n = mbox_count(a);
	CHECK(mbox_count(b) == n && n >= 3, "same count");
	/* a flags message 1, b learns it at its sync */
	CHECK(mbox_set_flags(a, 1, MBOX_ANSWERED | MBOX_DELETED, 0) == 0,
	      "set flags");
	CHECK(mbox_get(b, 1)->flags != (MBOX_ANSWERED | MBOX_DELETED),
	      "not before sync");
	memset(&e2, 0, sizeof(e2));
	CHECK(mbox_sync(b, &evs, &e2) == 0, "sync b");
	CHECK(e2.nflags == 1 && e2.flags[0] == 1 && e2.nexp == 0,
	      "flags event");
	CHECK((mbox_get(b, 1)->flags & ~MBOX_RECENT) ==
	      (MBOX_ANSWERED | MBOX_DELETED), "flags seen");
	/* a expunges 1 and 3; b hears "3" then "1" (highest first) */
	CHECK(mbox_expunge(a, 3) == 0 && mbox_expunge(a, 1) == 0, "expunge");
	CHECK(mbox_count(a) == n - 2 && mbox_count(b) == n, "own shift");
	memset(&e2, 0, sizeof(e2));
	mbox_sync(b, &evs, &e2);
	CHECK(e2.nexp == 2 && e2.expunged[0] == 3 && e2.expunged[1] == 1,
	      "expunge events");
	CHECK(mbox_count(b) == n - 2 && mbox_get(b, 1)->uid ==
	      mbox_get(a, 1)->uid, "maps agree");
	/* a delivery into new/ (as LMTP writes it) */
	path_of(p, sizeof(p), "/new/1234.M1P1Q1.test");
	write_file(p, MSG);
	mbox_changed(st, USER, "INBOX");
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	mbox_sync(a, &evs, &e1);
	mbox_sync(b, &evs, &e2);
	CHECK(e1.exists == n - 1 && e1.recent == 1, "a sees new, recent");
	CHECK(e2.exists == n - 1 && e2.recent == 0, "b: not recent");
	CHECK(access(p, F_OK) < 0, "moved out of new/");
	path_of(p, sizeof(p), "/cur/1234.M1P1Q1.test:2,");
	CHECK(access(p, F_OK) == 0, "now in cur/");
	/* flags in new/ (another program's delivery) */
	path_of(p, sizeof(p), "/new/1235.M1P1Q1.test:2,S");
	write_file(p, MSG);
	mbox_changed(st, USER, "INBOX");
	memset(&e1, 0, sizeof(e1));
	mbox_sync(a, &evs, &e1);
	CHECK(e1.exists == n && (mbox_get(a, n)->flags & MBOX_SEEN),
	      "info in new/");
	path_of(p, sizeof(p), "/cur/1235.M1P1Q1.test:2,S");
	CHECK(access(p, F_OK) == 0, "moved to cur/ with its info");
	CHECK(mbox_expunge(a, n) == 0, "expunge it");
	mbox_sync(b, NULL, NULL);
	/* an APPEND seen by both, in UID order */
	append(st, "INBOX", 0);
	memset(&e2, 0, sizeof(e2));
	mbox_sync(b, &evs, &e2);
	CHECK(e2.exists == n && mbox_get(b, n)->uid > mbox_get(b, n - 1)->uid,
	      "append seen");
	mbox_close(&a);
	mbox_close(&b);
	mbox_store_free(&st);
}

static void test_corrupt(void)
{
	static const char *bad[] = {
		"",
		"garbage\n",
		"SLUICE-UIDLIST 1 5 10\n3 x\n2 y\n",
		"SLUICE-UIDLIST 1 5 3\n7 x\n7 y\n",
		"SLUICE-UIDLIST 1 5 10\n1 ../../etc/passwd\n",
		"SLUICE-UIDLIST 1 5 10\n1 a\n2 a\n",
		"SLUICE-UIDLIST 1 99999999999 10\n",
		"SLUICE-UIDLIST 1 5",
		"SLUICE-UIDLIST 1 5 10\nK (bad\n",
		"SLUICE-UIDLIST 1 0 10\n",
		"SLUICE-UIDLIST 1 5 4294967295\n",
	};
	struct mbox_store *st;
	struct mbox_status s0, s;
	char p[512], err[256];
	struct mbox *m;
	size_t i;

	st = mbox_store_new(loop, root);
	CHECK(mbox_status(st, USER, "INBOX", &s0) == 0, "status before");
	mbox_store_free(&st);
	path_of(p, sizeof(p), "/sluice-uidlist");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(p, bad[i]);
		st = mbox_store_new(loop, root);
		m = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
		CHECK(m != NULL, bad[i]);
		if (m == NULL)
			continue;
		CHECK(mbox_count(m) == s0.messages, "messages kept");
		CHECK(mbox_uidvalidity(m) != s0.uidvalidity, "new UIDVALIDITY");
		CHECK(mbox_get(m, 1)->uid == 1 &&
		      mbox_get(m, s0.messages)->uid == s0.messages,
		      bad[i]);
		s0.uidvalidity = mbox_uidvalidity(m);
		mbox_close(&m);
		CHECK(mbox_status(st, USER, "INBOX", &s) == 0 &&
		      s.uidvalidity == s0.uidvalidity, "rebuilt list kept");
		mbox_store_free(&st);
	}
}

/* Mutated copies of a good list: never a crash, always a sane state. */
static void test_mutations(void)
{
	struct mbox_store *st;
	char p[512], err[256], good[4096];
	struct mbox *m;
	uint32_t k;
	int i, j, fd, ok = 1;
	ssize_t n;

	path_of(p, sizeof(p), "/sluice-uidlist");
	fd = open(p, O_RDONLY);
	n = fd >= 0 ? read(fd, good, sizeof(good) - 1) : -1;
	if (fd >= 0)
		close(fd);
	CHECK(n > 0, "a list to mutate");
	if (n <= 0)
		return;
	good[n] = '\0';
	srand(3);
	for (i = 0; i < 200 && ok; i++) {
		char bad[4096];

		memcpy(bad, good, (size_t)n + 1);
		for (j = 0; j < 1 + rand() % 4; j++)
			bad[rand() % n] = (char)(rand() % 256);
		if (rand() % 4 == 0)
			bad[rand() % n] = '\0';	/* truncate */
		fd = open(p, O_WRONLY | O_TRUNC);
		if (fd < 0 || write(fd, bad, strlen(bad)) < 0)
			ok = 0;
		if (fd >= 0)
			close(fd);
		st = mbox_store_new(loop, root);
		m = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
		ok = ok && m != NULL;
		for (k = 2; ok && k <= mbox_count(m); k++)
			ok = mbox_get(m, k)->uid > mbox_get(m, k - 1)->uid &&
			     mbox_get(m, k)->uid < mbox_uidnext(m);
		mbox_close(&m);
		mbox_store_free(&st);
	}
	CHECK(ok, "mutated lists give sane states");
}

/* A line cut while it was appended (a crash) is dropped; the rest of
 * the list, and its UIDVALIDITY, stay. */
static void test_torn_append(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox_status s0, s;
	char p[512];
	uint32_t uid;
	int fd;

	uid = append(st, "INBOX", 0);
	CHECK(mbox_status(st, USER, "INBOX", &s0) == 0 && uid > 0, "before");
	mbox_store_free(&st);
	path_of(p, sizeof(p), "/sluice-uidlist");
	fd = open(p, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "99 half-writ", 12) == 12, "torn line");
	if (fd >= 0)
		close(fd);
	st = mbox_store_new(loop, root);
	CHECK(mbox_status(st, USER, "INBOX", &s) == 0 &&
	      s.uidvalidity == s0.uidvalidity && s.messages == s0.messages &&
	      s.uidnext == s0.uidnext, "list kept");
	/* and appending goes on cleanly */
	CHECK(append(st, "INBOX", 0) == s0.uidnext, "next UID");
	mbox_store_free(&st);
	st = mbox_store_new(loop, root);
	CHECK(mbox_status(st, USER, "INBOX", &s) == 0 &&
	      s.uidvalidity == s0.uidvalidity &&
	      s.messages == s0.messages + 1, "still good");
	mbox_store_free(&st);
}

/* The path of a message file in cur/ of INBOX. 0 or -1. */
static int cur_file(char *out, size_t len)
{
	char dir[512];
	struct dirent *de;
	DIR *d;
	int rc = -1;

	path_of(dir, sizeof(dir), "/cur");
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.') {
			rc = (size_t)snprintf(out, len, "%.300s/%.250s", dir,
					      de->d_name) < len ? 0 : -1;
			break;
		}
	closedir(d);
	return rc;
}

/* RFC 7162 mod-sequences: bumped by every change, seen by other views,
 * durable, never hidden by a crash between a rename and its record. */
static void test_modseq(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox *a, *b;
	struct events e;
	char err[256], from[600], to[700];
	uint64_t h0, h1, ms;
	uint32_t *u, uid;
	size_t n;

	append(st, "INBOX", 0);
	append(st, "INBOX", 0);
	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	b = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(a && b && mbox_count(a) > 1, "open two views");
	if (!a || !b || mbox_count(a) < 2)
		return;
	h0 = mbox_highestmodseq(a);
	ms = mbox_get(a, 1)->modseq;
	CHECK(ms >= 1 && ms <= h0, "modseq within highest");
	CHECK(mbox_update_flags(a, 1, MBOX_FLAGS_ADD, MBOX_FLAGGED, 0) == 0,
	      "flag");
	h1 = mbox_highestmodseq(a);
	CHECK(h1 > h0 && mbox_get(a, 1)->modseq == h1, "bumped");
	CHECK(mbox_update_flags_if(a, 1, MBOX_FLAGS_ADD, MBOX_SEEN, 0, ms) ==
	      -2 && !(mbox_get(a, 1)->flags & MBOX_SEEN), "UNCHANGEDSINCE");
	CHECK(mbox_update_flags_if(a, 1, MBOX_FLAGS_ADD, MBOX_FLAGGED, 0, h1)
	      == 0 && mbox_highestmodseq(a) == h1, "no change, no bump");
	memset(&e, 0, sizeof(e));
	CHECK(mbox_sync(b, &evs, &e) == 0 && e.nflags == 1 &&
	      mbox_get(b, 1)->modseq == h1, "other view sees the modseq");
	uid = mbox_get(a, mbox_count(a))->uid;
	CHECK(mbox_expunge(a, mbox_count(a)) == 0 &&
	      mbox_highestmodseq(a) == h1 + 1, "expunge bumps");
	CHECK(mbox_vanished(a, h1, &u, &n) == 0 && n == 1 && u[0] == uid,
	      "vanished since");
	free(u);
	CHECK(mbox_vanished(a, h1 + 1, &u, &n) == 0 && n == 0, "none later");
	mbox_close(&a);
	mbox_close(&b);
	mbox_store_free(&st);

	/* durable across a restart */
	st = mbox_store_new(loop, root);
	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(a && mbox_highestmodseq(a) == h1 + 1 &&
	      mbox_get(a, 1)->modseq == h1, "modseqs kept");
	if (a) {
		CHECK(mbox_vanished(a, h1, &u, &n) == 0 && n == 1 &&
		      u[0] == uid, "expunge kept");
		free(u);
	}
	mbox_close(&a);
	mbox_store_free(&st);

	/* flags renamed without a record (a crash, another program) */
	CHECK(cur_file(from, sizeof(from)) == 0, "a file");
	snprintf(to, sizeof(to), "%.*s:2,DFRST", (int)(strstr(from, ":2,") ?
		 strstr(from, ":2,") - from : (long)strlen(from)), from);
	CHECK(rename(from, to) == 0, "rename behind our back");
	st = mbox_store_new(loop, root);
	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(a && mbox_highestmodseq(a) == h1 + 2, "new modseq on load");
	mbox_close(&a);
	mbox_store_free(&st);
	st = mbox_store_new(loop, root);
	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	CHECK(a && mbox_highestmodseq(a) == h1 + 2, "and recorded");
	mbox_close(&a);
	mbox_store_free(&st);
}

/* A version 1 list (no mod-sequences) is read and written as 2. */
static void test_list_v1(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox_status s0, s;
	char p[512], buf[256];
	int fd;
	ssize_t r;

	CHECK(mbox_status(st, USER, "Sent", &s0) == 0 && s0.messages == 1,
	      "Sent");
	mbox_store_free(&st);
	path_of(p, sizeof(p), "/.Sent/sluice-uidlist");
	snprintf(buf, sizeof(buf), "SLUICE-UIDLIST 1 %u %u\n", s0.uidvalidity,
		 s0.uidnext);
	/* the message's file is not named: it gets the next UID */
	write_file(p, buf);
	st = mbox_store_new(loop, root);
	CHECK(mbox_status(st, USER, "Sent", &s) == 0 &&
	      s.uidvalidity == s0.uidvalidity && s.messages == 1 &&
	      s.highestmodseq >= 1, "version 1 read");
	mbox_store_free(&st);
	fd = open(p, O_RDONLY);
	r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[r > 0 ? r : 0] = '\0';
	CHECK(strncmp(buf, "SLUICE-UIDLIST 2 ", 17) == 0, "written as 2");
}

struct listing {
	char names[16][64];
	unsigned attrs[16];
	int n;
};

static int list_cb(void *arg, const char *name, unsigned attrs)
{
	struct listing *l = arg;

	if (l->n < 16) {
		snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
		l->attrs[l->n++] = attrs;
	}
	return 0;
}

static int find(const struct listing *l, const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return i;
	return -1;
}

static void test_folders(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox_status s;
	struct listing l;
	char err[256];
	int i;

	CHECK(mbox_user_prepare(st, USER, err, sizeof(err)) == 0, "prepare");
	memset(&l, 0, sizeof(l));
	mbox_list(st, USER, list_cb, &l);
	CHECK(l.n >= 5 && strcmp(l.names[0], "INBOX") == 0, "INBOX first");
	i = find(&l, "Sent");
	CHECK(i >= 0 && (l.attrs[i] & MBOX_ATTR_SENT) &&
	      (l.attrs[i] & MBOX_ATTR_SUBSCRIBED), "Sent special");
	i = find(&l, "Junk");
	CHECK(i >= 0 && (l.attrs[i] & MBOX_ATTR_JUNK), "Junk special");
	CHECK(find(&l, "Trash") >= 0 && find(&l, "Drafts") >= 0, "others");
	/* prepared once: a deleted Trash does not come back */
	CHECK(mbox_delete(st, USER, "Trash", err, sizeof(err)) == 0, "del");
	mbox_user_prepare(st, USER, err, sizeof(err));
	CHECK(mbox_status(st, USER, "Trash", &s) < 0, "stays deleted");

	/* DELETE with children: \Noselect, then refused (RFC 3501 6.3.4) */
	CHECK(mbox_create(st, USER, "P", err, sizeof(err)) == 0 &&
	      mbox_create(st, USER, "P.C", err, sizeof(err)) == 0, "tree");
	append(st, "P", 0);
	CHECK(mbox_delete(st, USER, "P", err, sizeof(err)) == 0, "del P");
	memset(&l, 0, sizeof(l));
	mbox_list(st, USER, list_cb, &l);
	i = find(&l, "P");
	CHECK(i >= 0 && (l.attrs[i] & MBOX_ATTR_NOSELECT) &&
	      (l.attrs[i] & MBOX_ATTR_HASCHILDREN), "P noselect");
	CHECK(mbox_status(st, USER, "P", &s) < 0, "P not selectable");
	CHECK(mbox_delete(st, USER, "P", err, sizeof(err)) < 0, "refused");
	CHECK(mbox_delete(st, USER, "P.C", err, sizeof(err)) == 0, "leaf");
	CHECK(mbox_delete(st, USER, "P", err, sizeof(err)) == 0, "now ok");
	CHECK(mbox_delete(st, USER, "INBOX", err, sizeof(err)) < 0, "INBOX");
	CHECK(mbox_delete(st, USER, "Nope", err, sizeof(err)) < 0, "nope");
	/* an implied parent */
	CHECK(mbox_create(st, USER, "X.Y", err, sizeof(err)) == 0, "X.Y");
	memset(&l, 0, sizeof(l));
	mbox_list(st, USER, list_cb, &l);
	i = find(&l, "X");
	CHECK(i >= 0 && (l.attrs[i] & MBOX_ATTR_NOSELECT), "X implied");

	/* RENAME with children, UIDs kept */
	append(st, "X.Y", 0);
	CHECK(mbox_rename(st, USER, "X", "Z", err, sizeof(err)) < 0,
	      "X has no directory");
	CHECK(mbox_create(st, USER, "X", err, sizeof(err)) == 0, "X made");
	CHECK(mbox_rename(st, USER, "X", "X.Q", err, sizeof(err)) < 0,
	      "into itself");
	CHECK(mbox_rename(st, USER, "X", "Z", err, sizeof(err)) == 0,
	      "rename");
	CHECK(mbox_status(st, USER, "Z.Y", &s) == 0 && s.messages == 1,
	      "child moved");
	CHECK(mbox_status(st, USER, "X.Y", &s) < 0, "old gone");
	CHECK(mbox_rename(st, USER, "Z", "Sent", err, sizeof(err)) < 0,
	      "target exists");
	CHECK(mbox_rename(st, USER, "Z", "INBOX", err, sizeof(err)) < 0,
	      "to INBOX");

	/* RENAME INBOX: messages move, INBOX stays, empty */
	CHECK(mbox_status(st, USER, "INBOX", &s) == 0 && s.messages > 0,
	      "INBOX has mail");
	i = (int)s.messages;
	CHECK(mbox_rename(st, USER, "INBOX", "Old", err, sizeof(err)) == 0,
	      "rename INBOX");
	CHECK(mbox_status(st, USER, "Old", &s) == 0 &&
	      s.messages == (uint32_t)i, "moved");
	CHECK(mbox_status(st, USER, "INBOX", &s) == 0 && s.messages == 0,
	      "INBOX empty");

	/* subscriptions */
	CHECK(mbox_subscribe(st, USER, "Old", 1, err, sizeof(err)) == 0 &&
	      mbox_subscribe(st, USER, "Sent", 0, err, sizeof(err)) == 0,
	      "subscribe");
	CHECK(mbox_subscribe(st, USER, "../x", 1, err, sizeof(err)) < 0,
	      "bad subscribe");
	memset(&l, 0, sizeof(l));
	mbox_list(st, USER, list_cb, &l);
	CHECK((l.attrs[find(&l, "Old")] & MBOX_ATTR_SUBSCRIBED) &&
	      !(l.attrs[find(&l, "Sent")] & MBOX_ATTR_SUBSCRIBED), "subs");
	mbox_store_free(&st);
}

static void test_copy_keywords(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox *m, *d;
	uint32_t v, uid, kw;
	char err[256];
	int k;

	append(st, "Old", MBOX_SEEN);
	m = mbox_open(st, USER, "Old", 0, err, sizeof(err));
	CHECK(m != NULL, "open Old");
	if (m == NULL)
		return;
	k = mbox_keyword_index(m, "$Label1", 1);
	CHECK(k == 0 && mbox_keyword_index(m, "$label1", 0) == 0, "keyword");
	CHECK(mbox_keyword_index(m, "bad(", 1) < 0, "bad keyword");
	CHECK(mbox_keyword(m, 0) && !strcmp(mbox_keyword(m, 0), "$Label1") &&
	      mbox_keyword(m, 1) == NULL, "keyword names");
	kw = 1u << k;
	CHECK(mbox_set_flags(m, 1, MBOX_FLAGGED, kw) == 0, "set keyword");
	CHECK(mbox_copy(m, 1, "Sent", &v, &uid) == 0 && uid >= 1, "copy");
	CHECK(mbox_copy(m, 1, "Nope", &v, &uid) == -2, "copy TRYCREATE");
	CHECK(mbox_copy_commit(m) == 0, "commit");
	mbox_close(&m);
	mbox_store_free(&st);
	st = mbox_store_new(loop, root);
	d = mbox_open(st, USER, "Sent", 1, err, sizeof(err));
	CHECK(d != NULL && mbox_count(d) == 1, "copied");
	if (d) {
		CHECK(mbox_get(d, 1)->uid == uid &&
		      (mbox_get(d, 1)->flags & MBOX_FLAGGED) &&
		      mbox_get(d, 1)->keywords == 1u &&
		      !strcmp(mbox_keyword(d, 0), "$Label1"),
		      "copy keeps flags and keywords");
		CHECK(mbox_set_flags(d, 1, 0, 0) < 0, "read-only");
		mbox_close(&d);
	}
	mbox_store_free(&st);
}

static int woken;

static void on_wake(void *arg)
{
	woken++;
	(void)arg;
}

static void stop(void *arg)
{
	evloop_stop(arg);
}

static void test_watch(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox *a, *b;
	char err[256];

	a = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	b = mbox_open(st, USER, "INBOX", 0, err, sizeof(err));
	if (!a || !b)
		return;
	mbox_watch(b, on_wake, NULL);
	woken = 0;
	mbox_changed(st, USER, "inbox");
	CHECK(woken == 0, "not synchronous");
	evloop_timer(loop, 50, stop, loop);
	evloop_run(loop);
	CHECK(woken == 1, "woken by mbox_changed");
	append(st, "INBOX", 0);
	mbox_sync(a, NULL, NULL);
	mbox_set_flags(a, 1, MBOX_SEEN, 0);
	evloop_timer(loop, 50, stop, loop);
	evloop_run(loop);
	CHECK(woken == 2, "woken once for append and flags");
	mbox_watch(b, NULL, NULL);
	mbox_changed(st, USER, "INBOX");
	evloop_timer(loop, 20, stop, loop);
	evloop_run(loop);
	CHECK(woken == 2, "unwatched");
	/* the watcher's view closes before the loop runs: no call, and the
	 * folder (now only cached) is freed cleanly at the end */
	mbox_watch(b, on_wake, NULL);
	append(st, "INBOX", 0);
	mbox_close(&b);
	mbox_close(&a);
	evloop_timer(loop, 20, stop, loop);
	evloop_run(loop);
	CHECK(woken == 2, "closed view not called");
	mbox_store_free(&st);
}

/* Random APPEND, STORE and EXPUNGE through three views; after a sync
 * every view must equal a freshly opened one. */
static void test_random(void)
{
	struct mbox_store *st = mbox_store_new(loop, root);
	struct mbox *v[3], *fresh;
	char err[256];
	uint32_t i, k, seq;
	int r, ok;

	CHECK(mbox_create(st, USER, "Rnd", err, sizeof(err)) == 0, "Rnd");
	for (i = 0; i < 3; i++)
		v[i] = mbox_open(st, USER, "Rnd", 0, err, sizeof(err));
	if (!v[0] || !v[1] || !v[2])
		return;
	srand(7);
	for (i = 0; i < 400; i++) {
		struct mbox *m = v[rand() % 3];

		r = rand() % 10;
		if (r < 4 || mbox_count(m) == 0) {
			append(st, "Rnd", (unsigned)rand() & 0x1f);
		} else if (r < 7) {
			seq = 1 + (uint32_t)rand() % mbox_count(m);
			mbox_set_flags(m, seq, (unsigned)rand() & 0x1f, 0);
		} else if (r < 9) {
			seq = 1 + (uint32_t)rand() % mbox_count(m);
			mbox_expunge(m, seq);
		} else {
			mbox_sync(m, NULL, NULL);
		}
	}
	fresh = mbox_open(st, USER, "Rnd", 1, err, sizeof(err));
	ok = fresh != NULL;
	for (i = 0; i < 3 && ok; i++) {
		mbox_sync(v[i], NULL, NULL);
		ok = mbox_count(v[i]) == mbox_count(fresh);
		for (k = 1; ok && k <= mbox_count(fresh); k++)
			ok = mbox_get(v[i], k)->uid == mbox_get(fresh, k)->uid &&
			     (mbox_get(v[i], k)->flags & ~MBOX_RECENT) ==
			     (mbox_get(fresh, k)->flags & ~MBOX_RECENT);
	}
	CHECK(ok, "views agree after random changes");
	for (i = 0; i < 3; i++)
		mbox_close(&v[i]);
	mbox_close(&fresh);
	mbox_store_free(&st);
	/* and a new process sees the same */
	st = mbox_store_new(loop, root);
	fresh = mbox_open(st, USER, "Rnd", 1, err, sizeof(err));
	CHECK(fresh != NULL && mbox_count(fresh) > 0, "reopened");
	mbox_close(&fresh);
	mbox_store_free(&st);
}

int main(void)
{
	struct mbox_store *st;
	char cmd[300];

	snprintf(root, sizeof(root), "/tmp/mbox_test.XXXXXX");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	loop = evloop_new();
	st = mbox_store_new(loop, root);
	test_names(st);
	mbox_store_free(&st);
	test_uids();
	test_views();
	test_corrupt();
	test_mutations();
	test_torn_append();
	test_folders();
	test_copy_keywords();
	test_modseq();
	test_list_v1();
	test_watch();
	test_random();
	evloop_free(loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return test_done();
}
