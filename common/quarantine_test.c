/*
 * NAME
 *	quarantine_test - table-driven tests of the quarantine block parser
 * DESCRIPTION
 *	Each case: a file, whether it parses, the sender, the number of
 *	recipients, the reason and where the message starts. Then a file
 *	written by quarantine_write() is read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quarantine.h"
#include "test.h"

struct tcase {
	const char *name, *in;
	int ok;
	const char *from;
	size_t nrcpt;
	const char *reason, *body;
};

#define Q "X-Sluice-Quarantine"

static const struct tcase cases[] = {
	{"avscan's", Q ": virus=Eicar; Mon, 1 Jan 2026\r\n" Q "-From: <a@b>\r\n"
	 Q "-To: <c@d>\r\n" Q "-To: <e@f>\r\n" Q "-Client: [1.2.3.4] helo=x"
	 "\r\nSubject: s\r\n\r\nbody\r\n", 1, "a@b", 2, "virus=Eicar",
	 "Subject: s\r\n\r\nbody\r\n"},
	{"null sender, spam", Q ": spam score=9.0 user=u; d\r\n" Q "-From: <>"
	 "\r\n" Q "-To: <c@d>\r\nX-Spam-Flag: YES\r\n\r\nb", 1, "", 1,
	 "spam score=9.0 user=u", "X-Spam-Flag: YES\r\n\r\nb"},
	{"case-insensitive", "x-sluice-quarantine-from: <a@b>\r\n"
	 "X-SLUICE-QUARANTINE-TO: <c@d>\r\n\r\nb", 1, "a@b", 1, "", "\r\nb"},
	{"no block", "Subject: s\r\n\r\nb\r\n", 0, NULL, 0, NULL, NULL},
	{"no recipient", Q "-From: <a@b>\r\nSubject: s\r\n\r\n", 0, NULL, 0,
	 NULL, NULL},
	{"no sender", Q "-To: <a@b>\r\n\r\n", 0, NULL, 0, NULL, NULL},
	{"two senders", Q "-From: <a@b>\r\n" Q "-From: <x@y>\r\n" Q
	 "-To: <c@d>\r\n\r\n", 0, NULL, 0, NULL, NULL},
	{"no brackets", Q "-From: a@b\r\n" Q "-To: <c@d>\r\n\r\n", 0, NULL, 0,
	 NULL, NULL},
	{"bracket inside", Q "-From: <a>@b>\r\n" Q "-To: <c@d>\r\n\r\n", 0,
	 NULL, 0, NULL, NULL},
	{"control byte", Q "-From: <a\x01@b>\r\n" Q "-To: <c@d>\r\n\r\n", 0,
	 NULL, 0, NULL, NULL},
	{"bare LF ends the block", Q "-From: <a@b>\n" Q "-To: <c@d>\r\n\r\n",
	 0, NULL, 0, NULL, NULL},
	{"the block ends at -Client", Q "-From: <a@b>\r\n" Q "-To: <c@d>\r\n"
	 Q "-Client: [1.2.3.4]\r\n" Q "-To: <evil@x>\r\n\r\nb", 1, "a@b", 1,
	 "", Q "-To: <evil@x>\r\n\r\nb"},
	{"block after the message is not read", "Subject: s\r\n" Q
	 "-From: <a@b>\r\n" Q "-To: <c@d>\r\n\r\n", 0, NULL, 0, NULL, NULL},
};

static void one(const struct tcase *c)
{
	struct envelope e;
	char reason[64], err[128];
	size_t off = 0;
	int rc;

	memset(&e, 0, sizeof(e));
	rc = quarantine_parse(c->in, strlen(c->in), &e, &off, reason,
			      sizeof(reason), err, sizeof(err));
	CHECK((rc == 0) == c->ok, c->name);
	if (rc < 0 || !c->ok) {
		CHECK(e.from == NULL && e.nrcpt == 0, c->name);
		return;
	}
	CHECK(strcmp(e.from, c->from) == 0, c->name);
	CHECK(e.nrcpt == c->nrcpt, c->name);
	CHECK(strcmp(reason, c->reason) == 0, c->name);
	CHECK(strcmp(c->in + off, c->body) == 0, c->name);
	envelope_free(&e);
}

/* A long address: at most LIM_PATH bytes. */
static void too_long(void)
{
	char in[1024], addr[300];
	struct envelope e;
	char reason[64], err[128];
	size_t off;

	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	snprintf(in, sizeof(in), Q "-From: <%s>\r\n" Q "-To: <c@d>\r\n\r\n",
		 addr);
	memset(&e, 0, sizeof(e));
	CHECK(quarantine_parse(in, strlen(in), &e, &off, reason,
			       sizeof(reason), err, sizeof(err)) < 0,
	      "address past LIM_PATH");
}

/* What quarantine_write() writes, quarantine_parse() reads. */
static void round_trip(void)
{
	char dir[] = "/tmp/quarantine_test.XXXXXX", path[512], name[64];
	char err[256], reason[64], buf[4096];
	const char *msg = "Subject: s\r\n\r\nbody\r\n";
	struct envelope e;
	struct sbuf sum;
	size_t off;
	FILE *f;
	size_t n = 0;

	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	sbuf_init(&sum, 4096);
	sbuf_printf(&sum, Q "-From: <a@b>\r\n" Q "-To: <c@d>\r\n");
	CHECK(quarantine_write(dir, "virus=X", &sum, msg, strlen(msg), name,
			       sizeof(name), err, sizeof(err)) == 0,
	      "write");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
	}
	memset(&e, 0, sizeof(e));
	CHECK(quarantine_parse(buf, n, &e, &off, reason, sizeof(reason), err,
			       sizeof(err)) == 0, "read back");
	CHECK(strcmp(reason, "virus=X") == 0, "reason read back");
	CHECK(n - off == strlen(msg) && memcmp(buf + off, msg, n - off) == 0,
	      "message read back");
	envelope_free(&e);
	sbuf_free(&sum);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		one(&cases[i]);
	too_long();
	round_trip();
	return test_done();
}
