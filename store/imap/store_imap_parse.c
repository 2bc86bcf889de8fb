/*
 * NAME
 *	store_imap_parse - the IMAP command parser (pure functions)
 * DESCRIPTION
 *	Bytes in, a parsed command (tag, name, a flat list of arguments) or
 *	"need more" or an error out; no I/O, no global state, so it is
 *	table-tested (store_imap_parse_test.c) and fuzzed
 *	(store_imap_parse_fuzz.c). RFC 3501 section 9 (command, tag,
 *	astring, quoted, literal) and RFC 7888 (LITERAL+: {n+}). Lists are tracked with a counter and a
 *	bounded stack, never by recursion; text, literal sizes, argument
 *	counts and depth are all bounded by the caller's limits. Faces the
 *	network.
 */
#include "store_imap_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

struct pctx {
	const char *buf;
	size_t len, pos;
	size_t litbytes;	/* literal data seen so far (not text) */
	const struct imap_parse_limits *lim;
	struct imap_cmd *cmd;
	struct imap_parse_out *out;
	size_t *offs;		/* arena offset of each arg */
	size_t cap;
	struct sbuf arena;
};

static int is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

/* Atom bytes as we read them: any visible ASCII but the delimiters
 * "(", ")", "{" and DQUOTE. That is RFC 3501 9 ATOM-CHAR (which has
 * "[") plus what other atom-like tokens need: resp-specials "]" for
 * astrings (ASTRING-CHAR), the list-wildcards "%" and "*" for LIST
 * patterns, and "\" for flags. Handlers check their own grammar. */
static int is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()\"{", c) == NULL;
}

/* Parse "{n}" or "{n+}" followed by CRLF at buf[at..]; sets *n, *plus,
 * *data (offset of the data). 1 done, 0 need more, -1 malformed. */
static int literal_head(const char *buf, size_t len, size_t at, size_t *n,
			int *plus, size_t *data)
{
	size_t i = at + 1;
	unsigned long long v = 0;
	int digits = 0;

	for (; i < len && isdigit((unsigned char)buf[i]); i++) {
		v = v * 10 + (unsigned)(buf[i] - '0');
		if (++digits > 10)
			return -1;
	}
	if (i >= len)
		return 0;
	if (digits == 0 || v > 0xffffffffULL)
		return -1;
	*plus = buf[i] == '+';
	if (*plus && ++i >= len)
		return 0;
	if (buf[i] != '}')
		return -1;
	if (i + 1 >= len)
		return 0;
	if (buf[i + 1] != '\r')
		return -1;
	if (i + 2 >= len)
		return 0;
	if (buf[i + 2] != '\n')
		return -1;
	*n = (size_t)v;
	*data = i + 3;
	return 1;
}

/* After an error at p->pos: find the end of the command so the session
 * stays in step. A line that ends in a non-synchronizing literal goes
 * on after its data; one that ends in a synchronizing literal ends
 * there (the client waits for a "+" that never comes). */
static enum imap_parse_res fail(struct pctx *p, const char *why)
{
	size_t i = p->pos, start = p->pos, lb, n, data;
	int plus;
	const char *lf;

	snprintf(p->out->err, sizeof(p->out->err), "%s", why);
	for (;;) {
		lf = i < p->len ? memchr(p->buf + i, '\n', p->len - i) : NULL;
		if (lf == NULL) {
			if (p->len - start > p->lim->line_max) {
				p->out->used = p->len;
				p->out->skip_line = 1;
				return IMAP_P_BAD;
			}
			return IMAP_P_MORE;
		}
		i = (size_t)(lf - p->buf) + 1;
		/* does the line end in {n} or {n+}? */
		if (i < 4 || p->buf[i - 2] != '\r' || p->buf[i - 3] != '}') {
			p->out->used = i;
			return IMAP_P_BAD;
		}
		lb = i - 3;
		while (lb > start && p->buf[lb] != '{' && i - lb < 16)
			lb--;
		if (p->buf[lb] != '{' ||
		    literal_head(p->buf, p->len, lb, &n, &plus, &data) != 1 ||
		    data != i || !plus) {
			p->out->used = i;
			return IMAP_P_BAD;
		}
		if (n > p->lim->append_max) {
			p->out->used = p->len;
			return IMAP_P_FATAL;
		}
		if (p->len - i < n)
			return IMAP_P_MORE;
		i += n;
		start = i;
	}
}

static int add_arg(struct pctx *p, enum imap_arg_type t, const char *s,
		   size_t n)
{
	struct imap_cmd *c = p->cmd;

	if (c->nargs >= p->lim->args_max)
		return -1;
	if (c->nargs == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 16;
		struct imap_arg *na = realloc(c->args, ncap * sizeof(*na));
		size_t *no;

		if (na == NULL)
			return -1;
		c->args = na;
		no = realloc(p->offs, ncap * sizeof(*no));
		if (no == NULL)
			return -1;
		p->offs = no;
		p->cap = ncap;
	}
	p->offs[c->nargs] = p->arena.len;
	if (sbuf_append(&p->arena, s, n) < 0 ||
	    sbuf_append(&p->arena, "", 1) < 0)
		return -1;
	c->args[c->nargs].type = t;
	c->args[c->nargs].len = n;
	c->args[c->nargs].nsub = 0;
	c->args[c->nargs].bin = 0;
	c->args[c->nargs].s = NULL;
	c->nargs++;
	return 0;
}

/* A quoted string at p->pos (RFC 3501 9, quoted): 1 done, 0 more, -1. */
static int read_quoted(struct pctx *p, struct sbuf *tmp)
{
	size_t i = p->pos + 1;
	unsigned char ch;

	sbuf_reset(tmp);
	for (; i < p->len; i++) {
		ch = (unsigned char)p->buf[i];
		if (ch == '"') {
			p->pos = i + 1;
			return add_arg(p, IMAP_ARG_QUOTED, tmp->data ?
				       tmp->data : "", tmp->len) < 0 ? -1 : 1;
		}
		if (ch == '\r' || ch == '\n' || ch == '\0')
			return -1;
		if (ch == '\\') {
			if (++i >= p->len)
				return 0;
			ch = (unsigned char)p->buf[i];
			if (ch != '"' && ch != '\\')
				return -1;
		}
		if (sbuf_append(tmp, &ch, 1) < 0)
			return -1;
	}
	return 0;
}

/* A fetch section at buf[at] == '[' (RFC 3501 9, section: "[" ...
 * "]" whose only spaces are in "HEADER.FIELDS (A B)", before and inside
 * its one level of parentheses). 1 with *end after the "]", 0 need more,
 * -1 not a section (then "[" is an ordinary atom character). */
static int section_end(const struct pctx *p, size_t at, size_t *end)
{
	size_t i;
	int in_list = 0;
	unsigned char ch;

	for (i = at + 1; i < p->len; i++) {
		ch = (unsigned char)p->buf[i];
		if (ch < 0x20 || ch > 0x7e || ch == '[')
			return -1;
		if (ch == ']' && !in_list) {
			*end = i + 1;
			return 1;
		}
		if (ch == '(') {
			if (in_list)
				return -1;
			in_list = 1;
		} else if (ch == ')') {
			if (!in_list)
				return -1;
			in_list = 0;
		} else if (ch == ' ' && !in_list) {
			if (i + 1 >= p->len)
				return 0;
			if (p->buf[i + 1] != '(')
				return -1;
		}
	}
	return 0;
}

/* An atom at p->pos, with fetch sections (BODY[HEADER.FIELDS (A B)])
 * taken whole: 1 done, 0 more, -1 malformed. */
static int read_atom(struct pctx *p)
{
	size_t i = p->pos, end;
	unsigned char ch;
	int r;

	for (; i < p->len; i++) {
		ch = (unsigned char)p->buf[i];
		if (ch == '[') {
			r = section_end(p, i, &end);
			if (r == 0)
				return 0;
			if (r == 1)
				i = end - 1;
			continue;
		}
		if (!is_atom_char(ch))
			break;
	}
	if (i >= p->len)
		return 0;
	if (i == p->pos)
		return -1;
	if (add_arg(p, IMAP_ARG_ATOM, p->buf + p->pos, i - p->pos) < 0)
		return -1;
	p->pos = i;
	return 1;
}

/* "TAG SP NAME" or "TAG SP UID SP NAME": 1 done, 0 more, -1 bad. */
static int read_head(struct pctx *p)
{
	struct imap_cmd *c = p->cmd;
	size_t i = p->pos, n, k;

	for (n = 0; i < p->len && is_tag_char((unsigned char)p->buf[i]); i++)
		n++;
	if (i >= p->len)
		return 0;
	if (n == 0 || n > LIM_IMAP_TAG)
		return -1;
	memcpy(c->tag, p->buf, n);
	c->tag[n] = '\0';
	if (p->buf[i] == '\r')
		p->out->has_tag = 1;
	if (p->buf[i] != ' ') {
		p->pos = i;
		return -1;
	}
	p->out->has_tag = 1;
	for (;;) {
		size_t start = ++i;

		while (i < p->len && isalpha((unsigned char)p->buf[i]))
			i++;
		if (i >= p->len)
			return 0;
		n = i - start;
		p->pos = i;
		if (n == 0 || n >= sizeof(c->name))
			return -1;
		for (k = 0; k < n; k++)
			c->name[k] = (char)toupper((unsigned char)p->buf[start
							+ k]);
		c->name[n] = '\0';
		if (p->buf[i] != ' ' && p->buf[i] != '\r')
			return -1;
		if (c->uid || strcmp(c->name, "UID") != 0 || p->buf[i] != ' ')
			return 1;
		c->uid = 1;
	}
}

static enum imap_parse_res more(struct pctx *p)
{
	/* everything past the parsed part is text: literal data is
	 * counted in litbytes as soon as it is seen */
	if (p->len - p->litbytes <= p->lim->line_max)
		return IMAP_P_MORE;
	snprintf(p->out->err, sizeof(p->out->err), "command line too long");
	p->out->used = p->len;
	p->out->skip_line = 1;
	return IMAP_P_BAD;
}

/* A literal at p->pos ("{"; literal8 of RFC 3516 when bin, after its
 * "~"): 1 done, 0 more (out->lit_* set), -1 bad, -2 fatal. */
static int read_literal(struct pctx *p, int bin)
{
	size_t n, data, max;
	int plus, r;

	r = literal_head(p->buf, p->len, p->pos, &n, &plus, &data);
	if (r <= 0)
		return r;
	max = strcmp(p->cmd->name, "APPEND") == 0 ? p->lim->append_max
		: p->lim->literal_max;
	/* all literals of one command together stay within append_max, so
	 * a whole command always fits the session's input buffer */
	if (n > max || n > p->lim->append_max - p->litbytes) {
		if (plus) {
			snprintf(p->out->err, sizeof(p->out->err),
				 "literal too large");
			return -2;
		}
		p->pos = data - 2;	/* end the line at the literal */
		return -1;
	}
	/* "{0}" too waits for "+" before the client sends the rest */
	if (p->len - data < n || (n == 0 && !plus && p->len == data)) {
		if (!plus) {
			p->out->lit_off = data;
			p->out->lit_len = n;
		}
		p->litbytes += p->len - data;
		p->pos = p->len;
		return 0;
	}
	if (add_arg(p, IMAP_ARG_LITERAL, p->buf + data, n) < 0)
		return -1;
	p->cmd->args[p->cmd->nargs - 1].bin = (unsigned char)bin;
	p->litbytes += n;
	p->pos = data + n;
	return 1;
}

static enum imap_parse_res parse_args(struct pctx *p)
{
	size_t stack[LIM_IMAP_DEPTH + 1];
	unsigned depth = 0;
	struct sbuf tmp;
	int r;

	sbuf_init(&tmp, p->lim->line_max);
	for (;;) {
		if (p->pos >= p->len) {
			sbuf_free(&tmp);
			return more(p);
		}
		switch (p->buf[p->pos]) {
		case '\r':
			if (p->pos + 1 >= p->len) {
				sbuf_free(&tmp);
				return more(p);
			}
			sbuf_free(&tmp);
			if (p->buf[p->pos + 1] != '\n')
				return fail(p, "bare CR");
			if (p->pos - p->litbytes > p->lim->line_max)
				return fail(p, "command line too long");
			if (depth > 0)
				return fail(p, "unbalanced parentheses");
			p->out->used = p->pos + 2;
			return IMAP_P_OK;
		case ' ':
			p->pos++;
			continue;
		case '(':
			if (depth >= p->lim->depth_max ||
			    depth >= LIM_IMAP_DEPTH) {
				sbuf_free(&tmp);
				return fail(p, "lists nested too deep");
			}
			if (add_arg(p, IMAP_ARG_LIST, "", 0) < 0) {
				sbuf_free(&tmp);
				return fail(p, "too many arguments");
			}
			stack[depth++] = p->cmd->nargs - 1;
			p->pos++;
			continue;
		case ')':
			if (depth == 0) {
				sbuf_free(&tmp);
				return fail(p, "unbalanced parentheses");
			}
			depth--;
			p->cmd->args[stack[depth]].nsub = p->cmd->nargs -
							  stack[depth] - 1;
			p->pos++;
			continue;
		case '"':
			r = read_quoted(p, &tmp);
			break;
		case '{':
			r = read_literal(p, 0);
			break;
		case '~':
			/* RFC 3516 literal8 "~{n}": binary data */
			if (p->pos + 1 >= p->len) {
				r = 0;
			} else if (p->buf[p->pos + 1] == '{') {
				p->pos++;
				r = read_literal(p, 1);
			} else {
				r = read_atom(p);
			}
			break;
		default:
			r = read_atom(p);
			break;
		}
		if (r == 0) {
			sbuf_free(&tmp);
			return more(p);
		}
		if (r == -2) {
			sbuf_free(&tmp);
			p->out->used = p->len;
			return IMAP_P_FATAL;
		}
		if (r < 0) {
			sbuf_free(&tmp);
			return fail(p, p->cmd->nargs >= p->lim->args_max ?
				    "too many arguments" : "syntax error");
		}
	}
}

enum imap_parse_res imap_parse(const char *buf, size_t len,
			       const struct imap_parse_limits *lim,
			       struct imap_cmd *cmd,
			       struct imap_parse_out *out)
{
	struct pctx p;
	enum imap_parse_res res;
	size_t i;
	int r;

	memset(cmd, 0, sizeof(*cmd));
	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.lim = lim;
	p.cmd = cmd;
	p.out = out;
	sbuf_init(&p.arena, (size_t)-1 / 4);
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
		out->used = 2;
		snprintf(out->err, sizeof(out->err), "empty command line");
		return IMAP_P_BAD;
	}
	r = read_head(&p);
	if (r == 0)
		res = more(&p);
	else if (r < 0)
		res = fail(&p, out->has_tag ? "bad command name" : "bad tag");
	else
		res = parse_args(&p);
	if (res != IMAP_P_OK) {
		if (res == IMAP_P_MORE)
			out->has_tag = 0;
		free(p.offs);
		sbuf_free(&p.arena);
		free(cmd->args);
		cmd->args = NULL;
		cmd->nargs = 0;
		return res;
	}
	cmd->arena = p.arena.data ? p.arena.data : NULL;
	for (i = 0; i < cmd->nargs; i++)
		cmd->args[i].s = cmd->arena + p.offs[i];
	free(p.offs);
	return IMAP_P_OK;
}

void imap_cmd_free(struct imap_cmd *cmd)
{
	free(cmd->args);
	free(cmd->arena);
	cmd->args = NULL;
	cmd->arena = NULL;
	cmd->nargs = 0;
}

size_t imap_arg_next(const struct imap_cmd *cmd, size_t i)
{
	if (i >= cmd->nargs)
		return cmd->nargs;
	return i + 1 + (cmd->args[i].type == IMAP_ARG_LIST ?
			cmd->args[i].nsub : 0);
}

const char *imap_arg_str(const struct imap_cmd *cmd, size_t i)
{
	if (i >= cmd->nargs || cmd->args[i].type == IMAP_ARG_LIST ||
	    cmd->args[i].bin)
		return NULL;
	return cmd->args[i].s;
}

int imap_arg_is(const struct imap_cmd *cmd, size_t i, const char *word)
{
	return i < cmd->nargs && cmd->args[i].type == IMAP_ARG_ATOM &&
	       strcasecmp(cmd->args[i].s, word) == 0;
}
