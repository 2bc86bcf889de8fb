/*
 * NAME
 *	directory_test - the snapshot reader's alias targets, local and
 *	remote, and their addition to an envelope (alias.c); shared
 *	addresses; the writer's round trip (directory_write_*: what is
 *	written reads back the same)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "directory.h"
#include "envelope.h"
#include "test.h"

#define MAILBOXES "alice@example.test\nbob@example.test\n" \
		  "-carol@example.test\n"

struct tcase {
	const char *name;
	const char *text;
	int ok;
};

static const struct tcase cases[] = {
	{"local targets", MAILBOXES "a@example.test: alice@example.test, "
	 "bob@example.test\n", 1},
	{"remote target", MAILBOXES "a@example.test: >x@remote.test\n", 1},
	{"mixed", MAILBOXES "a@example.test: alice@example.test, "
	 ">x@remote.test, >y@other.test\n", 1},
	{"alias of another domain", MAILBOXES "a@alias.test: >x@remote.test\n",
	 1},
	{"unmarked remote", MAILBOXES "a@example.test: x@remote.test\n", 0},
	{"marked local mailbox", MAILBOXES "a@example.test: "
	 ">alice@example.test\n", 0},
	{"marked unknown in a local domain", MAILBOXES "a@example.test: "
	 ">zed@example.test\n", 0},
	{"marked in a disabled mailbox's domain", MAILBOXES "a@example.test: "
	 ">x@Example.TEST\n", 0},
	{"marked alias of the file", MAILBOXES "a@other.test: >x@remote.test\n"
	 "b@example.test: >a@other.test\n", 0},
	{"bare marker", MAILBOXES "a@example.test: >\n", 0},
	{"marker and space", MAILBOXES "a@example.test: > x@remote.test\n", 0},
	{"double marker", MAILBOXES "a@example.test: >>x@remote.test\n", 0},
	{"marked bad domain", MAILBOXES "a@example.test: >x@remote..test\n", 0},
	{"marked no domain", MAILBOXES "a@example.test: >x\n", 0},
	{"marker on an entry", MAILBOXES ">a@remote.test\n", 0},
	{"marked with angle", MAILBOXES "a@example.test: ><x@remote.test>\n",
	 0},
	{"alias as target", MAILBOXES "a@example.test: alice@example.test\n"
	 "b@example.test: a@example.test\n", 0},
	{"shared", MAILBOXES "=s@example.test: alice@example.test, "
	 "bob@example.test\n", 1},
	{"shared naming a disabled mailbox", MAILBOXES "=s@example.test: "
	 "carol@example.test\n", 1},
	{"shared naming an unknown", MAILBOXES "=s@example.test: "
	 "zed@example.test\n", 0},
	{"shared naming a remote", MAILBOXES "=s@example.test: "
	 ">x@remote.test\n", 0},
	{"shared naming an alias", MAILBOXES "a@example.test: "
	 "alice@example.test\n=s@example.test: a@example.test\n", 0},
	{"shared marker on a mailbox", MAILBOXES "=s@example.test\n", 0},
	{"shared and its name again", MAILBOXES "=alice@example.test: "
	 "bob@example.test\n", 0},
	{"double shared marker", MAILBOXES "==s@example.test: "
	 "bob@example.test\n", 0},
};

static struct directory *load(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/directory_test.XXXXXX";
	struct directory *d;
	int fd = mkstemp(path);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		snprintf(err, errlen, "cannot write %s", path);
		return NULL;
	}
	close(fd);
	d = directory_load(path, err, errlen);
	unlink(path);
	return d;
}

static void expand_cases(void)
{
	struct directory *d;
	struct envelope e;
	const char *out[8];
	char err[512];

	d = load(MAILBOXES "both@example.test: alice@example.test, "
		 ">x@remote.test, carol@example.test\n"
		 "far@example.test: >x@remote.test, >y@other.test\n"
		 "gone@example.test: carol@example.test, >z@remote.test\n",
		 err, sizeof(err));
	CHECK(d != NULL, err);
	if (d == NULL)
		return;
	CHECK(directory_lookup(d, "far@example.test") == DIR_ALIAS, "kind");
	CHECK(directory_expand(d, "both@example.test", out, 8) == 1 &&
	      !strcmp(out[0], "alice@example.test"), "local only");
	CHECK(directory_expand(d, "far@example.test", out, 8) == 0,
	      "no local");
	CHECK(directory_expand_remote(d, "far@example.test", out, 8) == 2 &&
	      !strcmp(out[0], "x@remote.test") &&
	      !strcmp(out[1], "y@other.test"), "remote");
	CHECK(directory_expand_remote(d, "far@example.test", out, 1) == 1,
	      "remote max");
	CHECK(directory_expand_remote(d, "alice@example.test", out, 8) == 0,
	      "mailbox has no remote");
	CHECK(directory_expand_remote(d, "x@remote.test", out, 8) == 0,
	      "remote target not an entry");

	memset(&e, 0, sizeof(e));
	envelope_add_rcpt(&e, "both@example.test", NULL, DSN_NOTIFY_SUCCESS);
	envelope_add_rcpt(&e, "far@example.test", "rfc822;far+2Bx@example.test",
			  DSN_NOTIFY_NEVER);
	envelope_add_rcpt(&e, "bob@example.test", NULL, 0);
	envelope_add_rcpt(&e, "gone@example.test", NULL, 0);
	CHECK(alias_expand_remote(d, &e, "T", 100) == 3, "added");
	CHECK(e.nrcpt == 5, "aliases without local targets dropped");
	CHECK(!strcmp(e.rcpts[0].addr, "both@example.test"), "kept");
	CHECK(!strcmp(e.rcpts[1].addr, "bob@example.test"), "order");
	CHECK(!strcmp(e.rcpts[2].addr, "x@remote.test") &&
	      !strcmp(e.rcpts[2].orcpt, "rfc822;both@example.test") &&
	      e.rcpts[2].notify == DSN_NOTIFY_SUCCESS, "first target");
	CHECK(!strcmp(e.rcpts[3].addr, "y@other.test") &&
	      !strcmp(e.rcpts[3].orcpt, "rfc822;far+2Bx@example.test") &&
	      e.rcpts[3].notify == DSN_NOTIFY_NEVER, "orcpt kept, once each");
	CHECK(!strcmp(e.rcpts[4].addr, "z@remote.test"), "gone's target");
	CHECK(alias_expand_remote(d, &e, "T", 100) == 0, "not again");
	envelope_free(&e);

	memset(&e, 0, sizeof(e));
	envelope_add_rcpt(&e, "far@example.test", NULL, 0);
	CHECK(alias_expand_remote(d, &e, "T", 2) < 0, "over max");
	envelope_free(&e);
	directory_free(d);
}

static void shared_cases(void)
{
	struct directory *d;
	const char *out[8];
	char err[512];

	d = load(MAILBOXES "=smith@example.test: alice@example.test, "
		 "carol@example.test, bob@example.test\n", err, sizeof(err));
	CHECK(d != NULL, err);
	if (d == NULL)
		return;
	CHECK(directory_lookup(d, "Smith@example.test") == DIR_SHARED, "kind");
	CHECK(directory_expand(d, "smith@example.test", out, 8) == 0,
	      "delivered to no one");
	CHECK(directory_expand_remote(d, "smith@example.test", out, 8) == 0,
	      "nothing remote");
	CHECK(directory_shared(d, "smith@example.test", out, 8) == 2 &&
	      !strcmp(out[0], "alice@example.test") &&
	      !strcmp(out[1], "bob@example.test"),
	      "official addresses, the disabled left out");
	CHECK(directory_shared(d, "smith@example.test", out, 1) == 1, "max");
	CHECK(directory_shared(d, "alice@example.test", out, 8) == 0,
	      "a mailbox names none");
	CHECK(!directory_valid_address("=x@example.test"), "no '=' first");
	directory_free(d);
}

/* Write rows with the writer, read the file back: the same entries,
 * odd but valid characters kept, rows that could bend the format left
 * out. */
static void round_trip(void)
{
	char path[] = "/tmp/directory_test.XXXXXX", err[512];
	struct directory_writer *w;
	struct directory *d;
	const char *out[8];
	int fd = mkstemp(path);

	CHECK(fd >= 0, "temporary");
	if (fd < 0)
		return;
	close(fd);
	w = directory_write_open(path, err, sizeof(err));
	CHECK(w != NULL, err);
	if (w == NULL)
		return;
	directory_write_mailbox(w, "alice@example.test", 0, 0);
	directory_write_mailbox(w, "o'b!#$%&*+=?^_`{|}~.x@example.test", 0,
				1048576);
	directory_write_mailbox(w, "carol@example.test", 1, 5);
	directory_write_mailbox(w, "sp ace@example.test", 0, 0);
	directory_write_mailbox(w, "co,mma@example.test", 0, 0);
	directory_write_mailbox(w, "-dash@example.test", 0, 0);
	directory_write_mailbox(w, "=eq@example.test", 0, 0);
	directory_write_mailbox(w, "nl\n@example.test", 0, 0);
	directory_write_alias(w, "team@example.test", "alice@example.test", 0);
	directory_write_alias(w, "team@example.test",
			      "o'b!#$%&*+=?^_`{|}~.x@example.test", 0);
	directory_write_alias(w, "team@example.test", "x@remote.test", 1);
	directory_write_alias(w, "far@example.test", "y@other.test", 1);
	directory_write_alias(w, "bad@example.test", "co:lon@example.test", 0);
	directory_write_shared(w, "smith@example.test", "alice@example.test");
	directory_write_shared(w, "smith@example.test", "carol@example.test");
	directory_write_shared(w, "jones@example.test",
			       "o'b!#$%&*+=?^_`{|}~.x@example.test");
	directory_write_shared(w, "a<b@example.test", "alice@example.test");
	CHECK(directory_write_skipped(w) == 7, "bending rows left out");
	CHECK(directory_write_close(&w, 0, err, sizeof(err)) == 0 && w == NULL,
	      err);
	d = directory_load(path, err, sizeof(err));
	CHECK(d != NULL, err);
	unlink(path);
	if (d == NULL)
		return;
	CHECK(directory_lookup(d, "alice@example.test") == DIR_MAILBOX,
	      "mailbox");
	CHECK(directory_lookup(d, "O'B!#$%&*+=?^_`{|}~.x@example.test") ==
	      DIR_MAILBOX, "odd characters");
	CHECK(directory_quota(d, "o'b!#$%&*+=?^_`{|}~.x@example.test") ==
	      1048576, "quota");
	CHECK(directory_quota(d, "alice@example.test") == 0, "no quota");
	CHECK(directory_lookup(d, "carol@example.test") == DIR_DISABLED,
	      "disabled");
	CHECK(directory_lookup(d, "sp ace@example.test") == DIR_UNKNOWN &&
	      directory_lookup(d, "dash@example.test") == DIR_UNKNOWN &&
	      directory_lookup(d, "eq@example.test") == DIR_UNKNOWN &&
	      directory_lookup(d, "bad@example.test") == DIR_UNKNOWN,
	      "bending rows absent");
	CHECK(directory_lookup(d, "team@example.test") == DIR_ALIAS &&
	      directory_expand(d, "team@example.test", out, 8) == 2 &&
	      !strcmp(out[0], "alice@example.test") &&
	      !strcmp(out[1], "o'b!#$%&*+=?^_`{|}~.x@example.test"),
	      "alias's local targets");
	CHECK(directory_expand_remote(d, "team@example.test", out, 8) == 1 &&
	      !strcmp(out[0], "x@remote.test"), "alias's remote target");
	CHECK(directory_expand_remote(d, "far@example.test", out, 8) == 1 &&
	      !strcmp(out[0], "y@other.test"), "second alias");
	CHECK(directory_lookup(d, "smith@example.test") == DIR_SHARED &&
	      directory_shared(d, "smith@example.test", out, 8) == 1 &&
	      !strcmp(out[0], "alice@example.test"), "shared");
	CHECK(directory_shared(d, "jones@example.test", out, 8) == 1 &&
	      !strcmp(out[0], "o'b!#$%&*+=?^_`{|}~.x@example.test"),
	      "second shared");
	directory_free(d);

	/* a failed export leaves the old file */
	w = directory_write_open("/nonexistent/dir/users", err, sizeof(err));
	CHECK(w == NULL && strstr(err, "cannot create"), "no folder");
}

int main(void)
{
	struct directory *d;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		d = load(cases[i].text, err, sizeof(err));
		CHECK((d != NULL) == cases[i].ok, cases[i].name);
		if (d == NULL && cases[i].ok)
			fprintf(stderr, "  %s\n", err);
		directory_free(d);
	}
	expand_cases();
	shared_cases();
	round_trip();
	return test_done();
}
