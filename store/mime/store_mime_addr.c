/*
 * NAME
 *	store_mime_addr - RFC 5322 address lists for the IMAP ENVELOPE
 * DESCRIPTION
 *	address-list (RFC 5322 3.4, with the obsolete forms of 4.4: routes,
 *	CFWS between words, empty list members) turned into the RFC 3501
 *	7.4.2 address structure (name adl mailbox host). A group is
 *	written (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). Display names
 *	keep RFC 2047 words encoded; quoted strings are unquoted. The
 *	parser is lenient and linear: one pass over tokens, comments skipped
 *	with a counter, at most ADDR_MAX_TOKENS tokens kept per address.
 *	A missing local part or domain becomes MISSING_MAILBOX or
 *	MISSING_DOMAIN (so a NIL host still means a group, as in Dovecot).
 *	Store stage; the header is hostile input.
 */
#include "store_mime_int.h"

#include <string.h>

#include "sbuf.h"

#define ADDR_MAX_TOKENS 256

enum { T_ATOM, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	int kind;
	const char *s;
	size_t n;
	int sp;		/* white space or a comment before it */
};

struct alist {
	struct sbuf *out;
	const char *s;
	size_t n;
	size_t count;	/* entries written */
	int r;
	struct tok t[ADDR_MAX_TOKENS];
	size_t nt;
	const char *comment;
	size_t clen;
	struct sbuf *first;	/* mime_addr_first: only the mailbox */
	int got;
};

static int special(int c)
{
	return strchr("()<>[]:;@\\,\"", c) != NULL && c != '\0';
}

/* The next token at s[*i] (CFWS already skipped); 0 at the end. */
static int next_tok(const char *s, size_t *i, size_t n, struct tok *t)
{
	size_t st = *i;
	char close;

	if (st >= n)
		return 0;
	t->s = s + st;
	if (s[st] == '"' || s[st] == '[') {
		close = s[st] == '"' ? '"' : ']';
		t->kind = s[st] == '"' ? T_QSTR : T_DLIT;
		for ((*i)++; *i < n && s[*i] != close; (*i)++)
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
		if (*i < n)
			(*i)++;
	} else if (special((unsigned char)s[st])) {
		t->kind = T_SPECIAL;
		(*i)++;
	} else {
		t->kind = T_ATOM;
		while (*i < n && !special((unsigned char)s[*i]) &&
		       s[*i] != ' ' && s[*i] != '\t')
			(*i)++;
	}
	t->n = *i - st;
	return 1;
}

/* Append the words of t[0..k) as a phrase: quoted strings unquoted,
 * one space where the header had white space. */
static void phrase(struct sbuf *b, const struct tok *t, size_t k)
{
	size_t j, x;

	for (j = 0; j < k; j++) {
		if (j && t[j].sp)
			sbuf_append(b, " ", 1);
		if (t[j].kind != T_QSTR) {
			sbuf_append(b, t[j].s, t[j].n);
			continue;
		}
		for (x = 1; x < t[j].n; x++) {
			if (t[j].s[x] == '"' && x + 1 == t[j].n)
				break;
			if (t[j].s[x] == '\\' && x + 1 < t[j].n)
				x++;
			sbuf_append(b, t[j].s + x, 1);
		}
	}
}

/* Tokens t[0..k) kept as written, without the white space. */
static void raw(struct sbuf *b, const struct tok *t, size_t k)
{
	size_t j;

	for (j = 0; j < k; j++)
		sbuf_append(b, t[j].s, t[j].n);
}

static void str_or(struct alist *a, struct sbuf *b, const char *dflt)
{
	a->r |= sbuf_append(a->out, " ", 1);
	if (b->len)
		a->r |= mime_imap_string(a->out, b->data, b->len);
	else if (dflt)
		a->r |= mime_imap_string(a->out, dflt, strlen(dflt));
	else
		a->r |= sbuf_append(a->out, "NIL", 3);
}

static void open_entry(struct alist *a)
{
	a->r |= sbuf_puts(a->out, a->count++ ? "(" : "((");
}

/* Write one mailbox: name from t[0..nname) (or the last comment), the
 * route and addr-spec from t[from..to). */
static void emit(struct alist *a, size_t nname, size_t from, size_t to)
{
	struct sbuf name, adl, box, host;
	size_t j, at = to;

	sbuf_init(&name, MIME_MAX_FIELD);
	sbuf_init(&adl, MIME_MAX_FIELD);
	sbuf_init(&box, MIME_MAX_FIELD);
	sbuf_init(&host, MIME_MAX_FIELD);
	phrase(&name, a->t, nname);
	if (name.len == 0 && a->comment)
		mime_unfold(a->comment, a->clen, &name);
	/* obs-route: "@a,@b:" before the addr-spec. */
	if (from < to && a->t[from].kind == T_SPECIAL && a->t[from].s[0] ==
							  '@') {
		for (j = from; j < to; j++)
			if (a->t[j].kind == T_SPECIAL && a->t[j].s[0] == ':')
				break;
		if (j < to) {
			raw(&adl, a->t + from, j - from);
			from = j + 1;
		}
	}
	for (j = from; j < to; j++)
		if (a->t[j].kind == T_SPECIAL && a->t[j].s[0] == '@')
			at = j;	/* the last '@' splits local part and domain */
	if (at < to) {
		raw(&box, a->t + from, at - from);
		raw(&host, a->t + at + 1, to - at - 1);
	} else {
		phrase(&box, a->t + from, to - from);
	}
	if (a->first) {
		if (!a->got && (box.len || host.len)) {
			sbuf_append(a->first, box.data ? box.data : "",
				    box.len);
			a->got = 1;
		}
	} else if (box.len || host.len || name.len) {
		open_entry(a);
		a->r |= name.len ? mime_imap_string(a->out, name.data,
						    name.len) :
				   sbuf_append(a->out, "NIL", 3);
		str_or(a, &adl, NULL);
		str_or(a, &box, "MISSING_MAILBOX");
		str_or(a, &host, "MISSING_DOMAIN");
		a->r |= sbuf_append(a->out, ")", 1);
	}
	sbuf_free(&name);
	sbuf_free(&adl);
	sbuf_free(&box);
	sbuf_free(&host);
}

static void reset(struct alist *a)
{
	a->nt = 0;
	a->comment = NULL;
	a->clen = 0;
}

/* End of a plain addr-spec (or garbage) at ',', ';' or the end. */
static void flush(struct alist *a)
{
	if (a->nt)
		emit(a, 0, 0, a->nt);
	reset(a);
}

static void group(struct alist *a, int start)
{
	struct sbuf name;

	if (a->first) {
		reset(a);
		return;
	}
	open_entry(a);
	if (!start) {
		a->r |= sbuf_append(a->out, "NIL NIL NIL NIL)", 16);
		return;
	}
	sbuf_init(&name, MIME_MAX_FIELD);
	phrase(&name, a->t, a->nt);
	a->r |= sbuf_append(a->out, "NIL NIL ", 8);
	a->r |= mime_imap_string(a->out, name.data ? name.data : "",
				 name.len);
	a->r |= sbuf_append(a->out, " NIL)", 5);
	sbuf_free(&name);
	reset(a);
}

/* "<" [route] addr-spec ">": the phrase so far is the display name. */
static size_t angle(struct alist *a, size_t i)
{
	size_t nname = a->nt, from;
	struct tok t;

	from = a->nt;
	for (;;) {
		i = mime_skip_cfws(a->s, i, a->n, NULL, NULL);
		if (!next_tok(a->s, &i, a->n, &t))
			break;
		if (t.kind == T_SPECIAL && t.s[0] == '>')
			break;
		t.sp = 0;
		if (a->nt < ADDR_MAX_TOKENS)
			a->t[a->nt++] = t;
	}
	emit(a, nname, from, a->nt);
	reset(a);
	/* Anything after '>' up to the next ',' or ';' is dropped. */
	while (i < a->n && a->s[i] != ',' && a->s[i] != ';') {
		i = mime_skip_cfws(a->s, i, a->n, NULL, NULL);
		if (!next_tok(a->s, &i, a->n, &t))
			break;
		if (t.kind == T_SPECIAL && (t.s[0] == ',' || t.s[0] == ';')) {
			i -= t.n;
			break;
		}
	}
	return i;
}

/* Walk the list v[0..n): the IMAP structure to out, or with first set,
 * only the first mailbox to it. */
static int walk(struct sbuf *out, struct sbuf *first, const char *v,
		size_t n)
{
	struct alist a;
	size_t i = 0, before;
	int in_group = 0;
	struct tok t;

	memset(&a, 0, sizeof(a));
	a.out = out;
	a.first = first;
	a.s = v;
	a.n = n;
	for (;;) {
		before = i;
		i = mime_skip_cfws(v, i, n, &a.comment, &a.clen);
		if (!next_tok(v, &i, n, &t))
			break;
		t.sp = i - t.n > before;
		if (t.kind != T_SPECIAL || strchr(",;:<", t.s[0]) == NULL) {
			if (a.nt < ADDR_MAX_TOKENS)
				a.t[a.nt++] = t;
			continue;
		}
		switch (t.s[0]) {
		case ',':
			flush(&a);
			break;
		case ';':
			flush(&a);
			if (in_group)
				group(&a, 0);
			in_group = 0;
			break;
		case ':':
			if (in_group) {
				flush(&a);	/* nested group: not allowed */
				break;
			}
			group(&a, 1);
			in_group = 1;
			break;
		case '<':
			i = angle(&a, i);
			break;
		}
	}
	flush(&a);
	if (in_group)
		group(&a, 0);
	if (first)
		return 0;
	if (a.count == 0)
		return sbuf_append(out, "NIL", 3);
	return a.r | sbuf_append(out, ")", 1);
}

int mime_addr_list(struct sbuf *out, const char *v, size_t n)
{
	return walk(out, NULL, v, n);
}

void mime_addr_first(const char *v, size_t n, struct sbuf *out)
{
	walk(NULL, out, v, n);
}

/* s[i] opens a quoted string or a domain literal: the index after its
 * end (or n), quoted-pairs skipped. */
static size_t skip_quoted(const char *s, size_t i, size_t n)
{
	char close = s[i] == '"' ? '"' : ']';

	for (i++; i < n && s[i] != close; i++)
		if (s[i] == '\\' && i + 1 < n)
			i++;
	return i < n ? i + 1 : n;
}

/* No white space is kept next to these, on their right and left. */
static int tight_after(char c)
{
	return c == '@' || c == '.' || c == '<';
}

static int tight_before(char c)
{
	return c == '@' || c == '.' || c == '>' || c == ',';
}

int mime_addr_normalise(const char *v, size_t n, struct sbuf *out)
{
	size_t i = 0, j, start = out->len;
	int space = 0, r = 0;
	char last = 0;

	while (i < n) {
		j = mime_skip_cfws(v, i, n, NULL, NULL);
		if (j > i) {
			space = 1;
			i = j;
			continue;
		}
		j = v[i] == '"' || v[i] == '[' ? skip_quoted(v, i, n) : i + 1;
		if (space && out->len > start && !tight_after(last) &&
		    !tight_before(v[i]))
			r |= sbuf_append(out, " ", 1);
		space = 0;
		r |= sbuf_append(out, v + i, j - i);
		last = v[j - 1];
		i = j;
	}
	return r ? -1 : 0;
}

/* One address-list field: NIL when absent or empty; fallback names a
 * field to use instead when this one is absent (RFC 3501 7.4.2: sender
 * and reply-to default to from). */
static int put_addrs(struct sbuf *out, const struct mime_part *p,
		     const char *name, const char *fallback)
{
	struct sbuf v;
	int r, found;

	sbuf_init(&v, MIME_MAX_FIELD);
	found = mime_hdr_get(p, name, &v);
	if ((!found || v.len == 0) && fallback) {
		sbuf_reset(&v);
		found = mime_hdr_get(p, fallback, &v);
	}
	r = found ? mime_addr_list(out, v.data ? v.data : "", v.len) :
		    sbuf_append(out, "NIL", 3);
	sbuf_free(&v);
	return r;
}

int mime_envelope_part(const struct mime_part *p, struct sbuf *out)
{
	int r = sbuf_append(out, "(", 1);

	r |= mime_put_field(out, p, "date");
	r |= sbuf_append(out, " ", 1);
	r |= mime_put_field(out, p, "subject");
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "from", NULL);
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "sender", "from");
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "reply-to", "from");
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "to", NULL);
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "cc", NULL);
	r |= sbuf_append(out, " ", 1);
	r |= put_addrs(out, p, "bcc", NULL);
	r |= sbuf_append(out, " ", 1);
	r |= mime_put_field(out, p, "in-reply-to");
	r |= sbuf_append(out, " ", 1);
	r |= mime_put_field(out, p, "message-id");
	return r | sbuf_append(out, ")", 1);
}

int mime_envelope(const struct mime_part *root, struct sbuf *out)
{
	size_t mark = out->len;

	if (mime_envelope_part(root, out) == 0)
		return 0;
	out->len = mark;
	if (out->data)
		out->data[mark] = '\0';
	return -1;
}
