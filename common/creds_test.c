/*
 * NAME
 *	creds_test - the credentials snapshot's writer and reader: what
 *	creds_write() writes, creds_load() reads back the same; a row the
 *	reader would refuse is left out by the writer
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "test.h"

#define B32 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define SCRYPT "$scrypt$15$8$1$c2FsdA==$" B32
#define SCRAM "SCRAM-SHA-256$4096:c2FsdA==$" B32 ":" B32

struct row {
	const char *addr, *scrypt, *scram;
	long long expires;
	int enabled;
	int written;
};

static const struct row rows[] = {
	{"alice@example.test", SCRYPT, SCRAM, 0, 1, 1},
	{"Bob@Example.TEST", SCRYPT, NULL, 1999999999, 0, 1},
	{"o'b!#$%&*+=?^_`{|}~.x@example.test", SCRYPT, "", 5, 1, 1},
	{"sp ace@example.test", SCRYPT, NULL, 0, 1, 0},
	{"eve@example.test", "$scrypt$15$8$1$c2FsdA==$x y", NULL, 0, 1, 0},
	{"mallory@example.test", SCRYPT, "SCRAM-SHA-256$1:x$y:z", 0, 1, 0},
	{"nl@example.test\nx@example.test", SCRYPT, NULL, 0, 1, 0},
	{"neg@example.test", SCRYPT, NULL, -7, 1, 1},
};

int main(void)
{
	char path[] = "/tmp/creds_test.XXXXXX", err[512], why[100];
	struct creds_writer *w;
	const struct cred *e;
	struct creds *c;
	struct cred in;
	struct stat st;
	size_t i;
	int fd = mkstemp(path);

	CHECK(fd >= 0, "temporary");
	if (fd < 0)
		return test_done();
	close(fd);
	w = creds_write_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(w != NULL, err);
	if (w == NULL)
		return test_done();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		in.addr = (char *)rows[i].addr;
		in.scrypt = (char *)rows[i].scrypt;
		in.scram = (char *)rows[i].scram;
		in.expires = rows[i].expires;
		in.enabled = rows[i].enabled;
		CHECK((creds_write(w, &in, why, sizeof(why)) == 0) ==
		      rows[i].written, rows[i].addr);
	}
	CHECK(creds_write_close(&w, 0, err, sizeof(err)) == 0 && w == NULL,
	      err);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "0600");
	c = creds_load(path, err, sizeof(err));
	unlink(path);
	CHECK(c != NULL, err);
	if (c == NULL)
		return test_done();
	CHECK(creds_count(c) == 4, "the written rows");
	e = creds_find(c, "alice@example.test");
	CHECK(e && !strcmp(e->scrypt, SCRYPT) && e->scram &&
	      !strcmp(e->scram, SCRAM) && e->expires == 0 && e->enabled,
	      "alice");
	e = creds_find(c, "bob@example.test");
	CHECK(e && !strcmp(e->addr, "bob@example.test") && e->scram == NULL &&
	      e->expires == 1999999999 && !e->enabled, "bob, lowered");
	e = creds_find(c, "O'B!#$%&*+=?^_`{|}~.X@example.test");
	CHECK(e && e->scram == NULL && e->expires == 5 && e->enabled,
	      "odd characters, empty SCRAM as none");
	e = creds_find(c, "neg@example.test");
	CHECK(e && e->expires == 0, "negative expiry as never");
	CHECK(creds_find(c, "sp ace@example.test") == NULL &&
	      creds_find(c, "eve@example.test") == NULL &&
	      creds_find(c, "mallory@example.test") == NULL &&
	      creds_find(c, "x@example.test") == NULL, "refused rows absent");
	creds_free(&c);

	/* a failed write leaves the old file */
	memcpy(path, "/tmp/creds_test.XXXXXX", sizeof(path));
	fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "# old\n", 6) == 6, "old file");
	close(fd);
	w = creds_write_open(path, (uid_t)-1, (gid_t)-1, err, sizeof(err));
	CHECK(w != NULL, err);
	if (w) {
		snprintf(err, sizeof(err), "query failed");
		CHECK(creds_write_close(&w, 1, err, sizeof(err)) < 0 &&
		      !strcmp(err, "query failed"), "failed kept");
	}
	CHECK(stat(path, &st) == 0 && st.st_size == 6, "old file kept");
	unlink(path);
	return test_done();
}
