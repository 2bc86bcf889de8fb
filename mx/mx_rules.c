/*
 * NAME
 *	mx_rules - stage A's MTA rules: HELO names, header and body checks
 * DESCRIPTION
 *	HELO/EHLO must name a fully-qualified host or be an address
 *	literal (smtp_guard_helo_ok(), shared with msa); anything else
 *	gets 504 5.5.2 with helo_fqdn (defence 19). Header and body checks (defence 23):
 *	files of "/regex/ REJECT text" lines (POSIX extended, case
 *	insensitive; '#' comments), matched at end of data against each
 *	header field (folded lines joined) and each body line, at most
 *	MX_CHECK_TEXT bytes of each; the first match refuses the message
 *	with 550 5.7.1 text. The files are read at start-up (operator
 *	input: a bad line stops the daemon); the message faces the network.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mx.h"
#include "smtp_guard.h"

#define MX_CHECK_TEXT 8192
#define MX_CHECK_MAX 1000

struct mx_check {
	regex_t re;
	char *text;
};

struct mx_checks {
	struct mx_check rule[MX_CHECK_MAX];
	size_t n;
};

int mx_screen_helo(struct smtp_session *s, const char *name,
		   struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;

	if (ss == NULL)
		return 0;
	ss->helo_seen = 1;
	if (ss->allowed || !mx->cfg->smtp.guard.helo_fqdn ||
	    smtp_guard_helo_ok(name))
		return 0;
	mx_counters.helo_rejected++;
	return mx_reject(s, "HELO", NULL, r, 504, "5.5.2", "<%s>: Helo "
			 "command rejected: need fully-qualified hostname",
			 name);
}

struct mx_checks *mx_checks_load(const char *path)
{
	struct mx_checks *c;
	char line[2048], *end, *p;
	FILE *f;
	int lineno = 0, rc;

	if (path == NULL || path[0] == '\0')
		return NULL;
	if ((f = fopen(path, "r")) == NULL)
		log_fatal("%s: cannot open", path);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		log_fatal("out of memory");
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		end = strrchr(p, '/');
		if (*p != '/' || end == p || strncmp(end, "/ REJECT", 8) != 0)
			log_fatal("%s:%d: want /regex/ REJECT text", path,
				  lineno);
		if (c->n == MX_CHECK_MAX)
			log_fatal("%s:%d: more than %d rules", path, lineno,
				  MX_CHECK_MAX);
		*end = '\0';
		rc = regcomp(&c->rule[c->n].re, p + 1,
			     REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0)
			log_fatal("%s:%d: bad regular expression", path,
				  lineno);
		for (end += 8; *end == ' '; end++)
			;
		c->rule[c->n].text = strdup(*end ? end : "Message content "
					    "rejected");
		if (c->rule[c->n].text == NULL)
			log_fatal("out of memory");
		c->n++;
	}
	fclose(f);
	return c;
}

void mx_checks_free(struct mx_checks **cp)
{
	struct mx_checks *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		regfree(&c->rule[i].re);
		free(c->rule[i].text);
	}
	free(c);
	*cp = NULL;
}

/* The first rule matching len bytes of text, or NULL. */
static const struct mx_check *match(const struct mx_checks *c,
				    const char *text, size_t len)
{
	char buf[MX_CHECK_TEXT + 1];
	size_t i;

	if (len > MX_CHECK_TEXT)
		len = MX_CHECK_TEXT;
	memcpy(buf, text, len);
	buf[len] = '\0';
	for (i = 0; i < c->n; i++)
		if (regexec(&c->rule[i].re, buf, 0, NULL, 0) == 0)
			return &c->rule[i];
	return NULL;
}

/* Walk [p, end) by lines (CRLF dropped); in a header section a line
 * starting with a blank continues the field. First match or NULL. */
static const struct mx_check *scan(const struct mx_checks *c, const char *p,
				   const char *end, int header)
{
	const struct mx_check *m;
	const char *start, *lf;

	while (p < end) {
		start = p;
		do {
			lf = memchr(p, '\n', (size_t)(end - p));
			p = lf ? lf + 1 : end;
		} while (header && p < end && (*p == ' ' || *p == '\t'));
		lf = p;
		while (lf > start && (lf[-1] == '\n' || lf[-1] == '\r'))
			lf--;
		if (header && lf == start)
			break;
		if ((m = match(c, start, (size_t)(lf - start))) != NULL)
			return m;
	}
	return NULL;
}

int mx_screen_data(struct smtp_session *s, struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	const char *msg = s->msg.data ? s->msg.data : "";
	size_t hlen = s->header_len < s->msg.len ? s->header_len : s->msg.len;
	const struct mx_check *m;

	if (mx->screen.header_checks &&
	    (m = scan(mx->screen.header_checks, msg, msg + hlen, 1)) != NULL) {
		mx_counters.header_rejected++;
		return mx_reject(s, "header", NULL, r, 550, "5.7.1", "%s",
				 m->text);
	}
	if (mx->screen.body_checks &&
	    (m = scan(mx->screen.body_checks, msg + hlen,
		      msg + s->msg.len, 0)) != NULL) {
		mx_counters.body_rejected++;
		return mx_reject(s, "body", NULL, r, 550, "5.7.1", "%s",
				 m->text);
	}
	return 0;
}
