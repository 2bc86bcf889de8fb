/*
 * NAME
 *	smtp_parse - SMTP command lines and ESMTP parameters
 * DESCRIPTION
 *	RFC 5321 4.1.2: Mail-parameters = esmtp-param *(SP esmtp-param);
 *	esmtp-param = esmtp-keyword ["=" esmtp-value]; keywords are
 *	case-insensitive. Each known keyword may appear once.
 */
#include "smtp_parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{"HELO", SMTP_HELO}, {"EHLO", SMTP_EHLO}, {"LHLO", SMTP_LHLO},
	{"MAIL", SMTP_MAIL}, {"RCPT", SMTP_RCPT}, {"DATA", SMTP_DATA},
	{"RSET", SMTP_RSET}, {"NOOP", SMTP_NOOP}, {"QUIT", SMTP_QUIT},
	{"VRFY", SMTP_VRFY}, {"EXPN", SMTP_EXPN}, {"HELP", SMTP_HELP},
	{"STARTTLS", SMTP_STARTTLS}, {"AUTH", SMTP_AUTH}, {"BDAT", SMTP_BDAT},
};

int smtp_parse_cmd(const char *line, struct smtp_cmd *c)
{
	size_t n = strcspn(line, " "), i;
	const char *arg = line + n;

	c->verb = SMTP_UNKNOWN;
	c->arg = "";
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i].name) == n &&
		    strncasecmp(line, verbs[i].name, n) == 0)
			c->verb = verbs[i].verb;
	while (*arg == ' ')
		arg++;
	c->arg = arg;
	if (c->verb == SMTP_MAIL || c->verb == SMTP_RCPT) {
		const char *kw = c->verb == SMTP_MAIL ? "FROM:" : "TO:";
		size_t kl = strlen(kw);

		if (strncasecmp(arg, kw, kl) != 0)
			return -1;
		arg += kl;
		while (*arg == ' ')
			arg++;
		c->arg = arg;
	}
	return 0;
}

int smtp_parse_bdat(const char *arg, long long *size, int *last)
{
	long long v = 0;
	int n = 0;

	for (; *arg >= '0' && *arg <= '9'; arg++) {
		if (++n > 18)
			return -1;
		v = v * 10 + (*arg - '0');
	}
	if (n == 0)
		return -1;
	*size = v;
	*last = 0;
	if (*arg == '\0')
		return 0;
	if (strcasecmp(arg, " LAST") != 0)
		return -1;
	*last = 1;
	return 0;
}

int xtext_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p == '+') {
			if (!isxdigit(p[1]) || !isxdigit(p[2]) ||
			    islower(p[1]) || islower(p[2]))
				return 0;
			p += 2;
		} else if (*p < 33 || *p > 126 || *p == '=') {
			return 0;
		}
	}
	return 1;
}

int xtext_printable(const char *s)
{
	unsigned v;

	if (!xtext_valid(s))
		return 0;
	/* "+00" would end a decoded C string: look at the hexchars */
	for (; *s; s++) {
		if (*s != '+')
			continue;
		if (sscanf(s + 1, "%2x", &v) != 1 || v < 32 || v > 126)
			return 0;
		s += 2;
	}
	return 1;
}

int xtext_encode(const char *s, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (; *p; p++) {
		if (*p < 33 || *p > 126 || *p == '+' || *p == '=') {
			if (o + 4 > outlen)
				return -1;
			snprintf(out + o, 4, "+%02X", *p);
			o += 3;
		} else {
			if (o + 2 > outlen)
				return -1;
			out[o++] = (char)*p;
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int xtext_decode(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned v;

	if (!xtext_valid(s) || outlen == 0)
		return -1;
	for (; *s; s++) {
		if (o + 1 >= outlen)
			return -1;
		if (*s == '+') {
			if (sscanf(s + 1, "%2x", &v) != 1)
				return -1;
			out[o++] = (char)v;
			s += 2;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return 0;
}

static int err(struct parse_err *e, int code, const char *text)
{
	e->code = code;
	e->ecode = "5.5.4";
	e->text = text;
	return -1;
}

/* Split the next "keyword[=value]" off *s into kw/val buffers. Returns 1,
 * 0 at the end, -1 when malformed. */
static int next_param(const char **s, char *kw, size_t kwlen, char *val,
		      size_t vallen, int *has_val)
{
	const char *p = *s, *eq;
	size_t n, k;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 0;
	n = strcspn(p, " ");
	eq = memchr(p, '=', n);
	k = eq ? (size_t)(eq - p) : n;
	if (k == 0 || k >= kwlen)
		return -1;
	memcpy(kw, p, k);
	kw[k] = '\0';
	for (size_t i = 0; i < k; i++)
		if (!isalnum((unsigned char)kw[i]) && kw[i] != '-')
			return -1;
	*has_val = eq != NULL;
	val[0] = '\0';
	if (eq) {
		size_t vl = n - k - 1;

		if (vl == 0 || vl >= vallen)
			return -1;
		memcpy(val, eq + 1, vl);
		val[vl] = '\0';
		for (size_t i = 0; i < vl; i++)
			if ((unsigned char)val[i] < 33 ||
			    (unsigned char)val[i] == 127)
				return -1;
	}
	*s = p + n;
	return 1;
}

/* AUTH= value: "<>" or an xtext mailbox (RFC 4954 section 5). */
static int parse_auth(const char *val, struct mail_params *p)
{
	const unsigned char *c;

	if (xtext_decode(val, p->auth, sizeof(p->auth)) < 0)
		return -1;
	p->auth_given = 1;
	if (strcmp(p->auth, "<>") == 0) {
		p->auth[0] = '\0';
		return 0;
	}
	for (c = (const unsigned char *)p->auth; *c; c++)
		if (*c <= ' ' || *c == 127 || *c == '<' || *c == '>')
			return -1;
	return strchr(p->auth, '@') ? 0 : -1;
}

/* Decode a claim into out; printable ASCII only, not empty. */
static int claim(const char *val, char *out, size_t outlen,
		 const char *alphabet)
{
	const char *c;

	if (val == NULL || xtext_decode(val, out, outlen) < 0 ||
	    out[0] == '\0')
		return -1;
	for (c = out; *c; c++)
		if (*c <= ' ' || *c >= 127 ||
		    (alphabet && strchr(alphabet, *c) == NULL))
			return -1;
	return 0;
}

/* XADDR, XHELO, XENTERED: only from trusted peers. Returns 1 when kw was
 * one of them and is fine, 0 when kw is something else, -1 with e
 * filled. */
static int trust_param(const char *kw, const char *val, unsigned allowed,
		       struct mail_params *p, unsigned *seen,
		       struct parse_err *e)
{
	static const char ip_chars[] = "0123456789abcdefABCDEF.:";
	static const char stage_chars[] = "abcdefghijklmnopqrstuvwxyz"
					  "0123456789-";
	unsigned bit;
	int rc;

	if (!strcasecmp(kw, "XADDR"))
		bit = 64;
	else if (!strcasecmp(kw, "XHELO"))
		bit = 128;
	else if (!strcasecmp(kw, "XENTERED"))
		bit = 256;
	else
		return 0;
	if (!(allowed & SMTP_EXT_XTRUST)) {
		e->code = 550;
		e->ecode = "5.7.1";
		e->text = "Inter-stage claims are refused: not a trusted peer";
		return -1;
	}
	if (*seen & bit)
		return err(e, 501, "Repeated inter-stage parameter");
	*seen |= bit;
	if (bit == 64)
		rc = claim(val, p->xaddr, sizeof(p->xaddr), ip_chars);
	else if (bit == 128)
		rc = claim(val, p->xhelo, sizeof(p->xhelo), NULL);
	else
		rc = claim(val, p->xentered, sizeof(p->xentered), stage_chars);
	return rc < 0 ? err(e, 501, "Bad inter-stage parameter") : 1;
}

int smtp_parse_mail_params(const char *rest, unsigned allowed,
			   struct mail_params *p, struct parse_err *e)
{
	char kw[32], val[LIM_ORCPT + 2];
	unsigned seen = 0;
	int hv, rc;
	char *end;

	memset(p, 0, sizeof(*p));
	while ((rc = next_param(&rest, kw, sizeof(kw), val, sizeof(val),
				&hv)) > 0) {
		if (!strcasecmp(kw, "SIZE") && (allowed & SMTP_EXT_SIZE)) {
			unsigned long long v;

			if ((seen & 1) || !hv || !isdigit((unsigned char)val[0]))
				return err(e, 501, "Bad SIZE parameter");
			v = strtoull(val, &end, 10);
			if (*end != '\0' || strlen(val) > 18)
				return err(e, 501, "Bad SIZE parameter");
			p->size = (long long)v;
			seen |= 1;
		} else if (!strcasecmp(kw, "BODY") &&
			   (allowed & SMTP_EXT_8BITMIME)) {
			if ((seen & 2) || !hv)
				return err(e, 501, "Bad BODY parameter");
			if (!strcasecmp(val, "7BIT"))
				p->body = BODY_7BIT;
			else if (!strcasecmp(val, "8BITMIME"))
				p->body = BODY_8BITMIME;
			else
				return err(e, 501, "Bad BODY parameter");
			seen |= 2;
		} else if (!strcasecmp(kw, "SMTPUTF8") &&
			   (allowed & SMTP_EXT_SMTPUTF8)) {
			if ((seen & 4) || hv)
				return err(e, 501, "Bad SMTPUTF8 parameter");
			p->smtputf8 = 1;
			seen |= 4;
		} else if (!strcasecmp(kw, "RET") && (allowed & SMTP_EXT_DSN)) {
			if ((seen & 8) || !hv)
				return err(e, 501, "Bad RET parameter");
			if (!strcasecmp(val, "FULL"))
				p->ret = DSN_RET_FULL;
			else if (!strcasecmp(val, "HDRS"))
				p->ret = DSN_RET_HDRS;
			else
				return err(e, 501, "Bad RET parameter");
			seen |= 8;
		} else if (!strcasecmp(kw, "ENVID") &&
			   (allowed & SMTP_EXT_DSN)) {
			if ((seen & 16) || !hv || strlen(val) > LIM_ENVID ||
			    !xtext_printable(val))
				return err(e, 501, "Bad ENVID parameter");
			memcpy(p->envid, val, strlen(val) + 1);
			seen |= 16;
		} else if (!strcasecmp(kw, "AUTH")) {
			/* RFC 4954 5: auth-param = "AUTH=" ("<>" / xtext
			 * mailbox); whether to believe it is the engine's
			 * call */
			if ((seen & 32) || !hv || parse_auth(val, p) < 0)
				return err(e, 501, "Bad AUTH parameter");
			seen |= 32;
		} else if ((rc = trust_param(kw, hv ? val : NULL, allowed, p,
					     &seen, e)) <= 0) {
			if (rc < 0)
				return -1;
			e->code = 555;
			e->ecode = "5.5.4";
			e->text = "Unsupported MAIL parameter";
			return -1;
		}
	}
	if (rc < 0)
		return err(e, 501, "Syntax error in MAIL parameters");
	return 0;
}

/* NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ) */
static int parse_notify(const char *v, unsigned *out)
{
	unsigned bits = 0, b;
	size_t n;

	for (;;) {
		n = strcspn(v, ",");
		if (n == 5 && !strncasecmp(v, "NEVER", 5))
			b = DSN_NOTIFY_NEVER;
		else if (n == 7 && !strncasecmp(v, "SUCCESS", 7))
			b = DSN_NOTIFY_SUCCESS;
		else if (n == 7 && !strncasecmp(v, "FAILURE", 7))
			b = DSN_NOTIFY_FAILURE;
		else if (n == 5 && !strncasecmp(v, "DELAY", 5))
			b = DSN_NOTIFY_DELAY;
		else
			return -1;
		if (bits & b)
			return -1;
		bits |= b;
		if (v[n] == '\0')
			break;
		v += n + 1;
	}
	if ((bits & DSN_NOTIFY_NEVER) && bits != DSN_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

int smtp_parse_rcpt_params(const char *rest, unsigned allowed,
			   struct rcpt_params *p, struct parse_err *e)
{
	char kw[32], val[LIM_ORCPT + 2];
	unsigned seen = 0;
	const char *semi;
	int hv, rc;
	size_t tl;

	memset(p, 0, sizeof(*p));
	while ((rc = next_param(&rest, kw, sizeof(kw), val, sizeof(val),
				&hv)) > 0) {
		if (!strcasecmp(kw, "NOTIFY") && (allowed & SMTP_EXT_DSN)) {
			if ((seen & 1) || !hv || parse_notify(val,
							      &p->notify) < 0)
				return err(e, 501, "Bad NOTIFY parameter");
			seen |= 1;
		} else if (!strcasecmp(kw, "ORCPT") &&
			   (allowed & SMTP_EXT_DSN)) {
			/* ORCPT = addr-type ";" xtext; addr-type = atom */
			semi = strchr(val, ';');
			tl = semi ? (size_t)(semi - val) : 0;
			if ((seen & 2) || !hv || semi == NULL || tl == 0 ||
			    strlen(val) > LIM_ORCPT || semi[1] == '\0' ||
			    !xtext_printable(semi + 1))
				return err(e, 501, "Bad ORCPT parameter");
			for (size_t i = 0; i < tl; i++)
				if (!isalnum((unsigned char)val[i]) &&
				    val[i] != '-')
					return err(e, 501,
						   "Bad ORCPT parameter");
			memcpy(p->orcpt, val, strlen(val) + 1);
			seen |= 2;
		} else {
			e->code = 555;
			e->ecode = "5.5.4";
			e->text = "Unsupported RCPT parameter";
			return -1;
		}
	}
	if (rc < 0)
		return err(e, 501, "Syntax error in RCPT parameters");
	return 0;
}
