/*
 * NAME
 *	smtp_parse_test - table-driven tests of command and parameter parsing
 */
#include <string.h>

#include "smtp_parse.h"
#include "test.h"

struct cmd_case {
	const char *in;
	int rc;
	enum smtp_verb verb;
	const char *arg;
};

static const struct cmd_case cmds[] = {
	{"EHLO client.test", 0, SMTP_EHLO, "client.test"},
	{"ehlo   client.test", 0, SMTP_EHLO, "client.test"},
	{"MAIL FROM:<a@b>", 0, SMTP_MAIL, "<a@b>"},
	{"mail from: <a@b> SIZE=10", 0, SMTP_MAIL, "<a@b> SIZE=10"},
	{"MAIL <a@b>", -1, SMTP_MAIL, ""},
	{"RCPT TO:<a@b>", 0, SMTP_RCPT, "<a@b>"},
	{"RCPT FROM:<a@b>", -1, SMTP_RCPT, ""},
	{"DATA", 0, SMTP_DATA, ""},
	{"quit", 0, SMTP_QUIT, ""},
	{"STARTTLS", 0, SMTP_STARTTLS, ""},
	{"LHLO x", 0, SMTP_LHLO, "x"},
	{"DATAX", 0, SMTP_UNKNOWN, ""},
	{"", 0, SMTP_UNKNOWN, ""},
};

struct param_case {
	const char *name;
	int mail;		/* MAIL (1) or RCPT (0) */
	const char *in;
	unsigned allowed;
	int code;		/* 0 = accepted */
};

#define ALL (SMTP_EXT_SIZE | SMTP_EXT_8BITMIME | SMTP_EXT_SMTPUTF8 | \
	     SMTP_EXT_DSN)

static const struct param_case params[] = {
	{"empty", 1, "", ALL, 0},
	{"size", 1, "SIZE=1000", ALL, 0},
	{"size lower", 1, "size=1000", ALL, 0},
	{"size bad", 1, "SIZE=10x", ALL, 501},
	{"size empty", 1, "SIZE=", ALL, 501},
	{"size twice", 1, "SIZE=1 SIZE=2", ALL, 501},
	{"size not offered", 1, "SIZE=1", 0, 555},
	{"body 8bit", 1, "BODY=8BITMIME", ALL, 0},
	{"body bad", 1, "BODY=BINARYMIME", ALL, 501},
	{"smtputf8", 1, "SMTPUTF8", ALL, 0},
	{"smtputf8 value", 1, "SMTPUTF8=yes", ALL, 501},
	{"ret", 1, "RET=HDRS ENVID=QQ314159", ALL, 0},
	{"ret bad", 1, "RET=ALL", ALL, 501},
	{"envid bad xtext", 1, "ENVID=a+zz", ALL, 501},
	{"envid CR LF", 1, "ENVID=a+0D+0AX-Evil:+20y", ALL, 501},
	{"envid NUL", 1, "ENVID=a+00b", ALL, 501},
	{"envid 8bit", 1, "ENVID=a+C3+A9", ALL, 501},
	{"envid DEL", 1, "ENVID=a+7F", ALL, 501},
	{"envid space ok", 1, "ENVID=a+20b+2B", ALL, 0},
	{"envid not offered", 1, "ENVID=abc", ALL & ~SMTP_EXT_DSN, 555},
	{"auth empty", 1, "AUTH=<>", ALL, 0},
	{"auth mailbox", 1, "AUTH=alice+2Bx@example.test", ALL, 0},
	{"auth no domain", 1, "AUTH=alice", ALL, 501},
	{"auth bad xtext", 1, "AUTH=a+zz@b", ALL, 501},
	{"auth twice", 1, "AUTH=<> AUTH=<>", ALL, 501},
	{"xaddr untrusted", 1, "XADDR=192.0.2.1", ALL, 550},
	{"xentered untrusted", 1, "XENTERED=msa", ALL, 550},
	{"xhelo untrusted", 1, "XHELO=pc.example", ALL, 550},
	{"claims trusted", 1, "AUTH=a@b XADDR=192.0.2.1 XHELO=pc XENTERED=msa",
	 ALL | SMTP_EXT_XTRUST, 0},
	{"xaddr not an ip", 1, "XADDR=evil+3Bx", ALL | SMTP_EXT_XTRUST, 501},
	{"xentered bad", 1, "XENTERED=MSA+0A", ALL | SMTP_EXT_XTRUST, 501},
	{"xhelo empty", 1, "XHELO=", ALL | SMTP_EXT_XTRUST, 501},
	{"xhelo twice", 1, "XHELO=a XHELO=b", ALL | SMTP_EXT_XTRUST, 501},
	{"unknown", 1, "FOO=bar", ALL, 555},
	{"notify", 0, "NOTIFY=SUCCESS,FAILURE", ALL, 0},
	{"notify never", 0, "NOTIFY=NEVER", ALL, 0},
	{"notify never plus", 0, "NOTIFY=NEVER,SUCCESS", ALL, 501},
	{"notify bogus", 0, "NOTIFY=SOMETIMES", ALL, 501},
	{"notify twice", 0, "NOTIFY=DELAY,DELAY", ALL, 501},
	{"orcpt", 0, "ORCPT=rfc822;bob+40example.test", ALL, 0},
	{"orcpt no type", 0, "ORCPT=;bob", ALL, 501},
	{"orcpt no semi", 0, "ORCPT=bob", ALL, 501},
	{"orcpt bad xtext", 0, "ORCPT=rfc822;a+4", ALL, 501},
	{"orcpt CR LF", 0, "ORCPT=rfc822;a@b+0D+0AX:+20y", ALL, 501},
	{"orcpt NUL", 0, "ORCPT=rfc822;a+00@b", ALL, 501},
	{"orcpt tab", 0, "ORCPT=rfc822;a+09@b", ALL, 501},
	{"orcpt 8bit", 0, "ORCPT=rfc822;a+FF@b", ALL, 501},
	{"orcpt space ok", 0, "ORCPT=rfc822;+22a+20b+22@c", ALL, 0},
	{"rcpt unknown", 0, "SIZE=1", ALL, 555},
};

static const struct bdat_case {
	const char *in;
	int rc;
	long long size;
	int last;
} bdats[] = {
	{"0", 0, 0, 0},
	{"1 LAST", 0, 1, 1},
	{"52428800 last", 0, 52428800, 1},
	{"999999999999999999", 0, 999999999999999999LL, 0},
	{"1000000000000000000", -1, 0, 0},
	{"", -1, 0, 0},
	{"-1", -1, 0, 0},
	{"12x", -1, 0, 0},
	{"12  LAST", -1, 0, 0},
	{"12 LASTX", -1, 0, 0},
	{"12 ", -1, 0, 0},
};

int main(void)
{
	long long bsize;
	int blast;
	struct smtp_cmd c;
	struct mail_params mp;
	struct rcpt_params rp;
	struct parse_err e;
	char out[64];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		rc = smtp_parse_cmd(cmds[i].in, &c);
		CHECK(rc == cmds[i].rc, cmds[i].in);
		if (rc == 0) {
			CHECK(c.verb == cmds[i].verb, cmds[i].in);
			CHECK(strcmp(c.arg, cmds[i].arg) == 0, cmds[i].in);
		}
	}
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct param_case *t = &params[i];

		if (t->mail)
			rc = smtp_parse_mail_params(t->in, t->allowed, &mp, &e);
		else
			rc = smtp_parse_rcpt_params(t->in, t->allowed, &rp, &e);
		CHECK(t->code == 0 ? rc == 0 : (rc < 0 && e.code == t->code),
		      t->name);
	}
	for (i = 0; i < sizeof(bdats) / sizeof(bdats[0]); i++) {
		rc = smtp_parse_bdat(bdats[i].in, &bsize, &blast);
		CHECK(rc == bdats[i].rc, bdats[i].in);
		CHECK(rc < 0 || (bsize == bdats[i].size &&
				 blast == bdats[i].last), bdats[i].in);
	}
	rc = smtp_parse_mail_params("SIZE=42 BODY=8BITMIME RET=FULL ENVID=x",
				    ALL, &mp, &e);
	CHECK(rc == 0 && mp.size == 42 && mp.body == BODY_8BITMIME &&
	      mp.ret == DSN_RET_FULL && strcmp(mp.envid, "x") == 0, "values");
	rc = smtp_parse_mail_params("AUTH=a+2Bb@c XADDR=::1 XHELO=pc+2Eh "
				    "XENTERED=msa", ALL | SMTP_EXT_XTRUST,
				    &mp, &e);
	CHECK(rc == 0 && mp.auth_given && strcmp(mp.auth, "a+b@c") == 0 &&
	      strcmp(mp.xaddr, "::1") == 0 && strcmp(mp.xhelo, "pc.h") == 0 &&
	      strcmp(mp.xentered, "msa") == 0, "claims decoded");
	rc = smtp_parse_mail_params("AUTH=<>", ALL, &mp, &e);
	CHECK(rc == 0 && mp.auth_given && mp.auth[0] == '\0', "auth <>");
	rc = smtp_parse_rcpt_params("NOTIFY=FAILURE,DELAY", ALL, &rp, &e);
	CHECK(rc == 0 && rp.notify == (DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY),
	      "notify bits");
	CHECK(xtext_decode("bob+40example.test", out, sizeof(out)) == 0 &&
	      strcmp(out, "bob@example.test") == 0, "xtext decode");
	CHECK(xtext_decode("a+4", out, sizeof(out)) < 0, "xtext bad");
	CHECK(xtext_encode("a+b=c d\x80", out, sizeof(out)) == 0 &&
	      strcmp(out, "a+2Bb+3Dc+20d+80") == 0, "xtext encode");
	CHECK(xtext_encode("abcd", out, 4) < 0, "xtext encode too long");
	CHECK(xtext_encode("abc", out, 4) == 0, "xtext encode fits");
	return test_done();
}
