/*
 * NAME
 *	store_pop3_parse - the POP3 command reader and parser (pure)
 * DESCRIPTION
 *	See store_pop3_parse.h. RFC 1939 section 3:
 *	  command = keyword *(SP argument) CRLF
 *	RFC 2449 section 4: keywords are 3 or 4 characters, arguments up to
 *	40 characters, the whole line at most 255 octets with its CRLF.
 */
#include "store_pop3_parse.h"

#include <string.h>
#include <strings.h>

enum pop3_line pop3_read_line(struct pop3_reader *r, const char *buf,
			      size_t n, size_t max, size_t *len,
			      size_t *used)
{
	const char *lf = memchr(buf, '\n', n);
	size_t l;

	*len = 0;
	*used = 0;
	if (r->skipping) {
		if (lf == NULL) {
			*used = n; /* drop the middle of the long line */
			return POP3_LINE_NEED;
		}
		r->skipping = 0;
		*used = (size_t)(lf - buf) + 1;
		return POP3_LINE_LONG;
	}
	if (lf == NULL) {
		if (n >= max) {
			r->skipping = 1;
			*used = n;
		}
		return POP3_LINE_NEED;
	}
	l = (size_t)(lf - buf) + 1;
	*used = l;
	if (l > max)
		return POP3_LINE_LONG;
	if (l < 2 || buf[l - 2] != '\r' || memchr(buf, '\r', l - 2) ||
	    memchr(buf, '\0', l))
		return POP3_LINE_BAD;
	*len = l - 2;
	return POP3_LINE_OK;
}

/* How each command takes its arguments. */
struct verb {
	const char *name;
	enum pop3_verb verb;
	int min, max;  /* argument count */
	unsigned nums; /* bit i: argument i is a number */
	int rest;      /* 1: the last argument is the rest of the line;
			* 2: the last argument is not bound to 40 octets */
};

static const struct verb verbs[] = {
	{"USER", POP3_USER, 1, 1, 0, 0},
	{"PASS", POP3_PASS, 1, 1, 0, 1},
	{"APOP", POP3_APOP, 2, 2, 0, 0},
	{"AUTH", POP3_AUTH, 0, 2, 0, 2}, /* RFC 5034: initial response */
	{"STLS", POP3_STLS, 0, 0, 0, 0},
	{"CAPA", POP3_CAPA, 0, 0, 0, 0},
	{"QUIT", POP3_QUIT, 0, 0, 0, 0},
	{"STAT", POP3_STAT, 0, 0, 0, 0},
	{"LIST", POP3_LIST, 0, 1, 1, 0},
	{"RETR", POP3_RETR, 1, 1, 1, 0},
	{"DELE", POP3_DELE, 1, 1, 1, 0},
	{"NOOP", POP3_NOOP, 0, 0, 0, 0},
	{"RSET", POP3_RSET, 0, 0, 0, 0},
	{"TOP", POP3_TOP, 2, 2, 3, 0},
	{"UIDL", POP3_UIDL, 0, 1, 1, 0},
};

/* A message number or line count: 1-10 digits, at most 2^32-1. */
static int number(const char *s, unsigned long *out)
{
	unsigned long long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
		return -1;
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned long long)(s[i] - '0');
	if (v > 0xffffffffULL)
		return -1;
	*out = (unsigned long)v;
	return 0;
}

int pop3_parse(const char *line, size_t len, struct pop3_cmd *cmd,
	       const char **why)
{
	const struct verb *v = NULL;
	char *p, *end;
	size_t i, kl;

	memset(cmd, 0, sizeof(*cmd));
	*why = "syntax error";
	if (len > POP3_CMD_LINE || memchr(line, '\0', len)) {
		*why = "line too long";
		return -2;
	}
	memcpy(cmd->buf, line, len);
	cmd->buf[len] = '\0';
	kl = strcspn(cmd->buf, " ");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (kl == strlen(verbs[i].name) &&
		    strncasecmp(cmd->buf, verbs[i].name, kl) == 0) {
			v = &verbs[i];
			break;
		}
	}
	if (v == NULL) {
		*why = "unknown command";
		return -1;
	}
	cmd->verb = v->verb;
	p = cmd->buf + kl;
	if (*p == ' ') {
		/* exactly one space before each argument, none empty */
		for (p++;; p = end + 1) {
			if (*p == '\0' || *p == ' ' || cmd->nargs == v->max)
				return -2;
			if (v->rest == 1 && cmd->nargs == v->max - 1) {
				cmd->arg[cmd->nargs++] = p;
				break;
			}
			end = p + strcspn(p, " ");
			if ((size_t)(end - p) > POP3_ARG_MAX &&
			    !(v->rest == 2 && cmd->nargs == v->max - 1)) {
				*why = "argument too long";
				return -2;
			}
			cmd->arg[cmd->nargs++] = p;
			if (*end == '\0')
				break;
			*end = '\0';
		}
	}
	if (cmd->nargs < v->min)
		return -2;
	for (i = 0; i < (size_t)cmd->nargs; i++) {
		if ((v->nums & (1u << i)) &&
		    number(cmd->arg[i], &cmd->num[i]) < 0) {
			*why = "bad number";
			return -2;
		}
	}
	return 0;
}
