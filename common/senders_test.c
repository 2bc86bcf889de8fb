/*
 * NAME
 *	senders_test - the sender lists snapshot: what senders_write()
 *	writes, senders_load() reads back the same; a row the reader would
 *	refuse (or past a user's limit) is left out by the writer; the
 *	patterns' grammar; files the reader refuses whole
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "senders.h"
#include "test.h"

struct row {
	const char *user, *kind, *pattern;
	int written;
};

static const struct row rows[] = {
	{"Alice@Example.TEST", "allow", "Friend@Promo.test", 1},
	{"alice@example.test", "block", "@annoying.test", 1},
	{"alice@example.test", "allow", "pal@annoying.test", 1},
	{"alice@example.test", "deny", "x@y.test", 0},
	{"alice@example.test", "block", "@bad domain.test", 0},
	{"alice@example.test", "block", "two words@x.test", 0},
	{"alice@example.test", "block", "nl@x.test\nbob@example.test", 0},
	{"no-at-all", "block", "@x.test", 0},
	{"bob@example.test", "block", "@spam.test", 1},
};

static const struct {
	const char *in, *want; /* want NULL: refused */
} patterns[] = {
	{"a@b.test", "a@b.test"},
	{"A.B+c@Sub.Example.TEST", "a.b+c@sub.example.test"},
	{"@Example.test", "@example.test"},
	{"example.test", NULL}, /* neither: strict */
	{"@", NULL},
	{"@@x.test", NULL},
	{"a@", NULL},
	{"@-x.test", NULL},
	{"@x..test", NULL},
	{"a b@x.test", NULL},
	{"<a@x.test>", NULL},
	{"a@[127.0.0.1]", NULL},
	{"@[127.0.0.1]", NULL},
	{"a@x.test,b@x.test", NULL},
	{"", NULL},
};

static const struct {
	const char *text;
	int ok;
	size_t n, len; /* len 0: strlen(text) */
} files[] = {
	{"", 1, 0, 0},
	{"# only a comment\n\n", 1, 0, 0},
	{"a@x.test allow b@y.test\n", 1, 1, 0},
	{"A@X.TEST BLOCK b@y.test\n", 0, 0, 0}, /* kind in lower case */
	{"A@X.TEST block B@Y.TEST\n", 1, 1, 0}, /* lowered */
	{"a@x.test allow b@y.test", 0, 0, 0},   /* not terminated */
	{"a@x.test  allow b@y.test\n", 0, 0, 0},
	{"a@x.test allow b@y.test extra\n", 0, 0, 0},
	{"a@x.test allow b@y.test\na@x.test block B@y.test\n", 0, 0, 0},
	{"a@x.test allow\0b@y.test\n", 0, 0, 24},
	{"a@x.test allow y.test\n", 0, 0, 0},
};

static void roundtrip(void)
{
	char path[] = "/tmp/senders_test.XXXXXX", err[512], why[100];
	const struct sender_rule *r;
	struct senders_writer *w;
	struct senders *s;
	struct stat st;
	size_t i;
	int fd = mkstemp(path);

	CHECK(fd >= 0, "temporary");
	if (fd < 0)
		return;
	close(fd);
	w = senders_write_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(w != NULL, err);
	if (w == NULL)
		return;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK((senders_write(w, rows[i].user, rows[i].kind,
			       rows[i].pattern, why, sizeof(why)) == 0) ==
				rows[i].written,
			rows[i].pattern);
	CHECK(senders_write_close(&w, 0, err, sizeof(err)) == 0 && w == NULL,
		err);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "0600");
	s = senders_load(path, err, sizeof(err));
	CHECK(s != NULL, err);
	if (s == NULL) {
		unlink(path);
		return;
	}
	CHECK(!senders_changed(s, path), "unchanged");
	CHECK(senders_count(s) == 4, "the written rows");
	CHECK(senders_of(s, "ALICE@example.test", &r) == 3, "alice's");
	CHECK(r && !strcmp(r[0].pattern, "@annoying.test") &&
			r[0].kind == SENDERS_BLOCK &&
			!strcmp(r[1].pattern, "friend@promo.test") &&
			r[1].kind == SENDERS_ALLOW &&
			!strcmp(r[2].pattern, "pal@annoying.test"),
		"sorted, lowered");
	CHECK(senders_of(s, "bob@example.test", &r) == 1 && r &&
			r[0].kind == SENDERS_BLOCK,
		"bob's");
	CHECK(senders_of(s, "carol@example.test", &r) == 0 && r == NULL,
		"nobody's");
	senders_unref(&s);
	CHECK(s == NULL, "unref clears");
	/* a missing file: nobody has lists; its reappearance is a change */
	unlink(path);
	s = senders_load(path, err, sizeof(err));
	CHECK(s != NULL && senders_count(s) == 0, "missing: empty");
	if (s) {
		CHECK(!senders_changed(s, path), "still missing");
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			close(fd);
		CHECK(senders_changed(s, path), "appeared");
		senders_unref(&s);
	}
	unlink(path);
}

/* The writer stops a user at LIM_SENDER_RULES; others go on. */
static void limit(void)
{
	char path[] = "/tmp/senders_test.XXXXXX", err[512], why[100];
	char pat[64];
	struct senders_writer *w;
	struct senders *s;
	const struct sender_rule *r;
	int i, fd = mkstemp(path), refused = 0;

	if (fd < 0)
		return;
	close(fd);
	w = senders_write_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(w != NULL, err);
	if (w == NULL)
		return;
	for (i = 0; i < LIM_SENDER_RULES + 5; i++) {
		snprintf(pat, sizeof(pat), "s%d@x.test", i);
		refused += senders_write(w, "a@x.test", "block", pat, why,
				   sizeof(why)) < 0;
	}
	CHECK(refused == 5, "past the limit");
	CHECK(senders_write(
		      w, "b@x.test", "allow", "@y.test", why, sizeof(why)) == 0,
		"the next user");
	CHECK(senders_write_close(&w, 0, err, sizeof(err)) == 0, err);
	s = senders_load(path, err, sizeof(err));
	CHECK(s != NULL, err);
	CHECK(s && senders_of(s, "a@x.test", &r) == LIM_SENDER_RULES,
		"a's rules");
	senders_unref(&s);
	unlink(path);
}

int main(void)
{
	char out[LIM_PATH + 1], err[256];
	struct senders *s;
	size_t i, len;
	int ok;

	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		ok = senders_pattern(patterns[i].in, out, err, sizeof(err)) ==
		     0;
		CHECK(ok == (patterns[i].want != NULL), patterns[i].in);
		CHECK(!ok || !strcmp(out, patterns[i].want), patterns[i].in);
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		len = files[i].len ? files[i].len : strlen(files[i].text);
		s = senders_parse(files[i].text, len, err, sizeof(err));
		CHECK((s != NULL) == files[i].ok, files[i].text);
		CHECK(s == NULL || senders_count(s) == files[i].n,
			files[i].text);
		senders_unref(&s);
	}
	CHECK(senders_kind("allow") == SENDERS_ALLOW &&
			senders_kind("block") == SENDERS_BLOCK &&
			senders_kind("Allow") == SENDERS_NONE,
		"kinds");
	roundtrip();
	limit();
	return test_done();
}
