/*
 * NAME
 *	directory_test - the snapshot reader's alias targets, local and
 *	remote, and their addition to an envelope (alias.c); shared
 *	addresses
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
	return test_done();
}
