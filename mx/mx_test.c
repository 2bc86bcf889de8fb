/*
 * NAME
 *	mx_test - stage A's decisions on recipients, HELO names and content
 * DESCRIPTION
 *	Table-driven: which RCPT mx_rcpt() takes and with what reply (local
 *	domains only, the relay tricks of RFC 2505 2.5 refused, the
 *	directory snapshot's unknown, disabled and remote-only alias
 *	entries refused, postmaster always taken); which HELO names
 *	helo_fqdn lets through; which header and body lines the check
 *	files refuse (folded header fields joined, the body by lines).
 *	Runs the real hooks on a session of a server that never listens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "directory.h"
#include "evloop.h"
#include "mx.h"
#include "test.h"

static struct mx mx;
static struct mx_config cfg;
static struct smtp_server *srv;

/* A file holding text, for the loaders; the caller unlinks path. */
static void write_tmp(char *path, const char *text)
{
	int fd = mkstemp(path);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void session(struct smtp_session *s)
{
	memset(s, 0, sizeof(*s));
	s->srv = srv;
	snprintf(s->id, sizeof(s->id), "TEST");
	snprintf(s->client_addr, sizeof(s->client_addr), "192.0.2.1");
	s->env.from = strdup("sender@remote.test");
}

/* A hook's answer: taken (code 0), or refused with code and got equal
 * to want (the enhanced code or the text of r). */
static void check_reply(int rc, const struct smtp_reply *r, int code,
	const char *got, const char *want, const char *name)
{
	if (code == 0)
		CHECK(rc == 0, name);
	else
		CHECK(rc < 0 && r->code == code && strcmp(got, want) == 0,
			name);
}

struct rcase {
	const char *name;
	const char *path; /* as the client writes it */
	int recipients;   /* with the directory snapshot */
	int code;         /* 0: taken */
	const char *ecode;
};

static const struct rcase rcases[] = {
	{"local domain", "<alice@example.test>", 0, 0, NULL},
	{"local domain, any case", "<alice@EXAMPLE.Test>", 0, 0, NULL},
	{"second local domain", "<x@other.test>", 0, 0, NULL},
	{"remote domain", "<x@remote.test>", 0, 554, "5.7.1"},
	{"subdomain is not local", "<x@sub.example.test>", 0, 554, "5.7.1"},
	{"percent hack", "<x%remote.test@example.test>", 0, 554, "5.7.1"},
	{"source route", "<@example.test:x@remote.test>", 0, 554, "5.7.1"},
	{"bang path", "<remote.test!x@example.test>", 0, 554, "5.7.1"},
	{"quoted @", "<\"x@remote.test\"@example.test>", 0, 554, "5.7.1"},
	{"IP literal", "<x@[192.0.2.7]>", 0, 554, "5.7.1"},
	{"postmaster", "<Postmaster>", 0, 0, NULL},
	{"directory: mailbox", "<alice@example.test>", 1, 0, NULL},
	{"directory: unknown", "<zed@example.test>", 1, 550, "5.1.1"},
	{"directory: disabled", "<carol@example.test>", 1, 550, "5.2.1"},
	{"directory: local alias", "<team@example.test>", 1, 0, NULL},
	{"directory: remote-only alias", "<far@example.test>", 1, 550, "5.1.1"},
	{"directory: relay still refused", "<alice@remote.test>", 1, 554,
		"5.7.1"},
	{"directory: postmaster", "<Postmaster>", 1, 0, NULL},
};

static void test_rcpt(const char *snapshot)
{
	struct smtp_session s;
	struct smtp_reply r;
	struct addr a;
	const char *rest, *err;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];

		cfg.smtp.directory_file =
			(char *)(c->recipients ? snapshot : "");
		session(&s);
		memset(&r, 0, sizeof(r));
		if (addr_parse_path(c->path, ADDR_OPT_POSTMASTER, &a, &rest,
			    &err) < 0) {
			CHECK(0, c->name);
			fprintf(stderr, "  %s: %s\n", c->path, err);
			envelope_free(&s.env);
			continue;
		}
		s.path = &a;
		rc = mx_rcpt(&s, a.mailbox, &r); /* as the engine calls it */
		check_reply(rc, &r, c->code, r.ecode, c->ecode, c->name);
		envelope_free(&s.env);
	}
}

struct hcase {
	const char *helo;
	int ok;
};

static const struct hcase hcases[] = {
	{"mail.example.test", 1},
	{"a-b.example.test", 1},
	{"[192.0.2.1]", 1},
	{"[IPv6:2001:db8::1]", 1},
	{"localhost", 0},
	{"example", 0},
	{"192.0.2.1", 0},
	{"host.123", 0},
	{"-bad.example.test", 0},
	{"bad-.example.test", 0},
	{"a..example.test", 0},
	{"example.test.", 0},
	{"under_score.example.test", 0},
	{"[192.0.2.1", 0},
};

static void test_helo(void)
{
	struct mx_screen_sess ss;
	struct smtp_session s;
	struct smtp_reply r;
	size_t i;
	int rc;

	cfg.smtp.guard.helo_fqdn = 1;
	for (i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++) {
		session(&s);
		memset(&ss, 0, sizeof(ss));
		s.screen = &ss;
		rc = mx_screen_helo(&s, hcases[i].helo, &r);
		CHECK(hcases[i].ok ? rc == 0
				   : rc < 0 && r.code == 504 &&
					     strcmp(r.ecode, "5.5.2") == 0,
			hcases[i].helo);
		CHECK(ss.helo_seen, "helo seen");
		envelope_free(&s.env);
	}
	/* off, or a client of client_allow: any name */
	session(&s);
	memset(&ss, 0, sizeof(ss));
	s.screen = &ss;
	ss.allowed = 1;
	CHECK(mx_screen_helo(&s, "localhost", &r) == 0, "allowed client");
	ss.allowed = 0;
	cfg.smtp.guard.helo_fqdn = 0;
	CHECK(mx_screen_helo(&s, "localhost", &r) == 0, "helo_fqdn off");
	envelope_free(&s.env);
}

struct ccase {
	const char *name;
	const char *msg;
	int code; /* 0: passes */
	const char *text;
};

#define HDR "From: a@remote.test\r\nTo: b@example.test\r\n"

static const struct ccase ccases[] = {
	{"clean", HDR "Subject: hello\r\n\r\nhi there\r\n", 0, NULL},
	{"header match", HDR "Subject: cheap pills\r\n\r\nhi\r\n", 550,
		"No pills"},
	{"header match any case", HDR "SUBJECT: Cheap PILLS\r\n\r\nhi\r\n", 550,
		"No pills"},
	{"folded header joined", HDR "Subject: cheap\r\n pills\r\n\r\nhi\r\n",
		550, "No pills"},
	{"header text in the body passes", HDR "\r\nSubject: cheap pills\r\n",
		0, NULL},
	{"body line match", HDR "\r\nline one\r\nclick here now\r\n", 550,
		"Message content rejected"},
	{"body match across lines passes", HDR "\r\nclick\r\nhere now\r\n", 0,
		NULL},
	{"body text in the header passes",
		HDR "X-Note: click here\r\n\r\nok\r\n", 0, NULL},
};

static void test_checks(void)
{
	char hpath[] = "/tmp/mx_test_hdr.XXXXXX";
	char bpath[] = "/tmp/mx_test_body.XXXXXX";
	struct smtp_session s;
	struct smtp_reply r;
	const char *hb;
	size_t i;
	int rc;

	write_tmp(hpath, "# header checks\n\n/^subject:.*cheap.*pills/ "
			 "REJECT No pills\n");
	write_tmp(bpath, "  # body checks\n/^click here/ REJECT\n");
	mx.screen.header_checks = mx_checks_load(hpath);
	mx.screen.body_checks = mx_checks_load(bpath);
	unlink(hpath);
	unlink(bpath);
	CHECK(mx.screen.header_checks && mx.screen.body_checks, "load");
	CHECK(mx_checks_load("") == NULL, "no file, no checks");
	for (i = 0; i < sizeof(ccases) / sizeof(ccases[0]); i++) {
		const struct ccase *c = &ccases[i];

		session(&s);
		sbuf_init(&s.msg, 1 << 16);
		sbuf_append(&s.msg, c->msg, strlen(c->msg));
		hb = strstr(c->msg, "\r\n\r\n");
		s.header_len = hb ? (size_t)(hb + 4 - c->msg) : s.msg.len;
		memset(&r, 0, sizeof(r));
		rc = mx_screen_data(&s, &r);
		check_reply(rc, &r, c->code, r.text, c->text, c->name);
		sbuf_free(&s.msg);
		envelope_free(&s.env);
	}
	mx_checks_free(&mx.screen.header_checks);
	mx_checks_free(&mx.screen.body_checks);
	CHECK(mx.screen.header_checks == NULL, "free clears");
}

int main(void)
{
	static char *domains[] = {"example.test", "other.test", NULL};
	struct smtp_server_cfg scfg;
	struct evloop *loop = evloop_new();
	const struct smtp_hooks hooks = {0};
	char snap[] = "/tmp/mx_test_dir.XXXXXX";

	write_tmp(snap,
		"alice@example.test\nbob@example.test\n"
		"-carol@example.test\n"
		"team@example.test: alice@example.test, bob@example.test\n"
		"far@example.test: >x@remote.test\n");
	memset(&scfg, 0, sizeof(scfg));
	scfg.hostname = "mx.example.test";
	mx.cfg = &cfg;
	mx.domains = domains;
	cfg.alias_relay = "";
	cfg.smtp.hostname = "mx.example.test";
	srv = smtp_server_new(loop, &scfg, &hooks, &mx);
	test_rcpt(snap);
	test_helo();
	test_checks();
	unlink(snap);
	directory_free(mx.dir);
	smtp_server_free(srv);
	evloop_free(loop);
	return test_done();
}
