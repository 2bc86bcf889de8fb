/*
 * NAME
 *	store_mime - parse a stored message into its MIME part tree
 * DESCRIPTION
 *	RFC 5322 section 2.2 header fields (folded lines), RFC 2045 5.1
 *	Content-Type with RFC 2231 parameter continuations, RFC 2046 5.1.1
 *	multipart boundaries and message/rfc822 nesting. The tree holds
 *	offsets into the message. Depth and part count are capped
 *	(MIME_MAX_DEPTH, MIME_MAX_PARTS); each multipart level scans only
 *	its own byte range once, so the work is at most depth * size.
 *	Lines end in CRLF in the store; a bare LF is accepted as well.
 *	Store stage; the message is hostile input.
 */
#include "store_mime_int.h"

#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

struct parse_ctx {
	const char *msg;
	size_t nparts;
	int oom;
};

static int lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int mime_ieq(const char *a, size_t an, const char *b)
{
	size_t i;

	for (i = 0; i < an; i++)
		if (b[i] == '\0' || lc((unsigned char)a[i]) !=
		    lc((unsigned char)b[i]))
			return 0;
	return b[i] == '\0';
}

/* Header fields. */

void mime_hdr_iter_init(struct mime_hdr_iter *it, const struct mime_part *p)
{
	it->p = p->msg + p->hdr_off;
	it->end = it->p + p->hdr_len;
}

/* End of the line starting at p: the byte after its LF, or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));

	return lf ? lf + 1 : end;
}

static int blank_line(const char *p, const char *end)
{
	return p < end && (*p == '\n' || (*p == '\r' && (p + 1 == end ||
						       p[1] == '\n')));
}

int mime_hdr_next(struct mime_hdr_iter *it, struct mime_field *f)
{
	const char *s = it->p, *e, *colon, *v;

	if (s >= it->end || blank_line(s, it->end))
		return 0;
	e = line_end(s, it->end);
	while (e < it->end && (*e == ' ' || *e == '\t'))
		e = line_end(e, it->end);
	it->p = e;
	f->raw = s;
	f->raw_len = (size_t)(e - s);
	colon = memchr(s, ':', (size_t)(e - s));
	v = e;
	if (v > s && v[-1] == '\n')
		v--;
	if (v > s && v[-1] == '\r')
		v--;
	if (colon == NULL || memchr(s, '\n', (size_t)(colon - s))) {
		/* Not a field (RFC 5322 2.2): a nameless line. */
		f->name = s;
		f->name_len = 0;
		f->value = s;
		f->value_len = (size_t)(v - s);
		return 1;
	}
	f->name = s;
	f->name_len = (size_t)(colon - s);
	while (f->name_len && (s[f->name_len - 1] == ' ' ||
			       s[f->name_len - 1] == '\t'))
		f->name_len--;	/* obs-optional: "Subject :" */
	f->value = colon + 1;
	f->value_len = (size_t)(v - (colon + 1));
	return 1;
}

void mime_unfold(const char *v, size_t n, struct sbuf *out)
{
	size_t i = 0, run, start = out->len, room = MIME_MAX_FIELD;

	while (n && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
		v++, n--;
	while (i < n && room) {
		if (v[i] == '\r' || v[i] == '\n') {
			i++;	/* RFC 5322 2.2.3: unfolding drops the CRLF */
			continue;
		}
		for (run = 0; i + run < n && run < room && v[i + run] != '\r' &&
			      v[i + run] != '\n';
		     run++)
			;
		if (sbuf_append(out, v + i, run) < 0)
			break;
		i += run;
		room -= run;
	}
	for (i = start; i < out->len; i++)
		if (out->data[i] == '\0')
			out->data[i] = ' ';
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
				    out->data[out->len - 1] == '\t'))
		out->data[--out->len] = '\0';
}

int mime_hdr_get(const struct mime_part *p, const char *name,
		 struct sbuf *out)
{
	struct mime_hdr_iter it;
	struct mime_field f;

	mime_hdr_iter_init(&it, p);
	while (mime_hdr_next(&it, &f))
		if (f.name_len && mime_ieq(f.name, f.name_len, name)) {
			mime_unfold(f.value, f.value_len, out);
			return 1;
		}
	return 0;
}

/* Content-Type and Content-Disposition (RFC 2045 5.1, RFC 2183). */

size_t mime_skip_cfws(const char *s, size_t i, size_t n, const char **comment,
		      size_t *clen)
{
	size_t depth, start;

	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
				 s[i] == '\n'))
			i++;
		if (i >= n || s[i] != '(')
			return i;
		/* A counter, not recursion: nesting costs no stack. */
		start = ++i;
		depth = 1;
		while (i < n && depth) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			else if (s[i] == '(')
				depth++;
			else if (s[i] == ')')
				depth--;
			i++;
		}
		if (comment) {
			*comment = s + start;
			*clen = i - start - (depth ? 0 : 1);
		}
	}
}

/* Not a token character (RFC 2045 5.1): tspecials, SPACE, CTLs, and
 * 8-bit bytes, which no media type or parameter name holds. */
static int tspecial(int c)
{
	return c <= ' ' || c >= 127 || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A token at s[*i]; NULL when there is none. */
static char *take_token(const char *s, size_t *i, size_t n)
{
	size_t st = *i;

	while (*i < n && !tspecial((unsigned char)s[*i]))
		(*i)++;
	return *i > st ? xstrndup(s + st, *i - st) : NULL;
}

/* A parameter value: quoted-string (backslash escapes undone) or
 * anything up to ';' (broken mailers write spaces unquoted). */
static char *take_value(const char *s, size_t *i, size_t n)
{
	struct sbuf b;
	size_t st;
	char *r;

	sbuf_init(&b, n + 1);
	if (*i < n && s[*i] == '"') {
		for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
			sbuf_append(&b, s + *i, 1);
		}
		if (*i < n)
			(*i)++;
	} else {
		st = *i;
		while (*i < n && s[*i] != ';')
			(*i)++;
		while (*i > st && (s[*i - 1] == ' ' || s[*i - 1] == '\t'))
			(*i)--;
		sbuf_append(&b, s + st, *i - st);
	}
	if (b.data == NULL)
		return xstrndup("", 0);
	r = sbuf_steal(&b);
	return r;
}

static void add_param(struct mime_ctype *ct, char *name, char *value)
{
	char **np;

	if (name && value && ct->nparams < MIME_MAX_PARAMS) {
		np = realloc(ct->params, (ct->nparams + 1) * 2 * sizeof(*np));
		if (np) {
			ct->params = np;
			np[ct->nparams * 2] = name;
			np[ct->nparams * 2 + 1] = value;
			ct->nparams++;
			return;
		}
	}
	free(name);
	free(value);
}

static int attr_char(int c)
{
	return c > ' ' && c < 127 && !strchr("*'%()<>@,;:\\\"/[]?=", c);
}

/* Section number of "name*N" or "name*N*", or -1; *ext set when the
 * segment is extended (percent-encoded). */
static long rfc2231_section(const char *name, size_t base, int *ext)
{
	const char *s = name + base + 1;
	long v = 0;

	*ext = 0;
	if (*s == '\0') {
		*ext = 1;	/* "name*" alone */
		return 0;
	}
	if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
		return -1;
	while (*s >= '0' && *s <= '9' && v < 1000)
		v = v * 10 + (*s++ - '0');
	if (*s == '*' && s[1] == '\0')
		*ext = 1;
	else if (*s != '\0')
		return -1;
	return v;
}

/* RFC 2231 section 3: merge name*0, name*1* ... into one parameter,
 * "name" when no segment is extended, "name*" (charset'lang'%XX kept
 * encoded, as RFC 2231 writes it) otherwise. Only when cheap: up to
 * MIME_MAX_PARAMS segments, numbered without gaps from 0. */
static void rfc2231_merge(struct mime_ctype *ct)
{
	size_t i, j, base, seg;
	int ext, anyext;
	long want;
	struct sbuf v;
	char *star, *name;
	const char *p;

	for (i = 0; i < ct->nparams; i++) {
		star = strchr(ct->params[i * 2], '*');
		if (star == NULL || star[1] == '\0')
			continue;	/* "name*" alone needs no merging */
		base = (size_t)(star - ct->params[i * 2]);
		if (rfc2231_section(ct->params[i * 2], base, &ext) != 0)
			continue;
		sbuf_init(&v, MIME_MAX_FIELD);
		anyext = 0;
		for (want = 0, seg = 0; seg < MIME_MAX_PARAMS; want++, seg++) {
			for (j = 0; j < ct->nparams; j++) {
				name = ct->params[j * 2];
				if (name[0] && strncmp(name, ct->params[i * 2],
						       base) == 0 &&
				    name[base] == '*' &&
				    rfc2231_section(name, base, &ext) == want)
					break;
			}
			if (j == ct->nparams)
				break;
			if (want == 0)
				anyext = ext;
			for (p = ct->params[j * 2 + 1]; *p; p++) {
				if (anyext && !ext && !attr_char(
						(unsigned char)*p))
					sbuf_printf(&v, "%%%02X",
						    (unsigned char)*p);
				else
					sbuf_append(&v, p, 1);
			}
			if (j != i)
				ct->params[j * 2][0] = '\0';	/* merged */
		}
		name = malloc(base + 2);
		if (name == NULL) {
			sbuf_free(&v);
			continue;
		}
		memcpy(name, ct->params[i * 2], base);
		name[base] = anyext ? '*' : '\0';
		name[base + 1] = '\0';
		free(ct->params[i * 2]);
		ct->params[i * 2] = name;
		free(ct->params[i * 2 + 1]);
		ct->params[i * 2 + 1] = v.data ? sbuf_steal(&v) :
						   xstrndup("", 0);
	}
	for (i = j = 0; i < ct->nparams; i++) {
		if (ct->params[i * 2][0] == '\0' || ct->params[i * 2 + 1] ==
						      NULL) {
			free(ct->params[i * 2]);
			free(ct->params[i * 2 + 1]);
			continue;
		}
		ct->params[j * 2] = ct->params[i * 2];
		ct->params[j * 2 + 1] = ct->params[i * 2 + 1];
		j++;
	}
	ct->nparams = j;
}

void mime_ctype_parse(const char *v, size_t n, int want_sub,
		      struct mime_ctype *ct)
{
	size_t i = 0;
	char *name, *val;

	memset(ct, 0, sizeof(*ct));
	i = mime_skip_cfws(v, i, n, NULL, NULL);
	ct->type = take_token(v, &i, n);
	if (ct->type == NULL)
		return;
	if (want_sub) {
		i = mime_skip_cfws(v, i, n, NULL, NULL);
		if (i < n && v[i] == '/') {
			i = mime_skip_cfws(v, i + 1, n, NULL, NULL);
			ct->subtype = take_token(v, &i, n);
		}
		if (ct->subtype == NULL) {
			mime_ctype_free(ct);
			return;
		}
	}
	/* After the type only parameters may come: "text/plain junk" is
	 * no Content-Type (RFC 2045 5.2 then says text/plain). */
	i = mime_skip_cfws(v, i, n, NULL, NULL);
	if (i < n && v[i] != ';') {
		mime_ctype_free(ct);
		return;
	}
	while (i < n) {
		i = mime_skip_cfws(v, i, n, NULL, NULL);
		if (i >= n)
			break;
		if (v[i] != ';') {
			i++;	/* junk between parameters */
			continue;
		}
		i = mime_skip_cfws(v, i + 1, n, NULL, NULL);
		name = take_token(v, &i, n);
		/* RFC 2231 names end in '*', a tspecial-free extension. */
		while (name && i < n && v[i] == '*') {
			size_t st = i, l = strlen(name);
			char *nn;

			while (i < n && (v[i] == '*' || (v[i] >= '0' &&
							 v[i] <= '9')))
				i++;
			nn = realloc(name, l + (i - st) + 1);
			if (nn == NULL)
				break;
			memcpy(nn + l, v + st, i - st);
			nn[l + (i - st)] = '\0';
			name = nn;
		}
		i = mime_skip_cfws(v, i, n, NULL, NULL);
		if (name == NULL || i >= n || v[i] != '=') {
			free(name);
			continue;
		}
		i = mime_skip_cfws(v, i + 1, n, NULL, NULL);
		val = take_value(v, &i, n);
		add_param(ct, name, val);
	}
	rfc2231_merge(ct);
}

void mime_ctype_free(struct mime_ctype *ct)
{
	size_t i;

	for (i = 0; i < ct->nparams * 2; i++)
		free(ct->params[i]);
	free(ct->params);
	free(ct->type);
	free(ct->subtype);
	memset(ct, 0, sizeof(*ct));
}

const char *mime_ctype_param(const struct mime_ctype *ct, const char *name)
{
	size_t i;

	for (i = 0; i < ct->nparams; i++)
		if (mime_ieq(ct->params[i * 2], strlen(ct->params[i * 2]),
			     name))
			return ct->params[i * 2 + 1];
	return NULL;
}

/* The tree. */

/* Lines of a body: its LFs. A last line without one is not counted,
 * as Dovecot counts them (a part's final CRLF belongs to the next
 * delimiter, so "text\r\n--b" is 0 lines there too). */
static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0;
	const char *p = s, *e = s + n, *lf;

	while (p < e && (lf = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		lines++;
		p = lf + 1;
	}
	return lines;
}

static void set_default_type(struct mime_part *p, int digest)
{
	mime_ctype_free(&p->ct);
	p->ct.type = xstrndup(digest ? "message" : "text", digest ? 7 : 4);
	p->ct.subtype = xstrndup(digest ? "rfc822" : "plain", digest ? 6 : 5);
	if (!digest)
		add_param(&p->ct, xstrndup("charset", 7),
			  xstrndup("us-ascii", 8));
	p->flags |= MIME_F_DEFAULT_CT;
}

/* Split the entity msg[off..off+len) into header and body, and read its
 * Content-Type. */
static struct mime_part *new_part(struct parse_ctx *c, size_t off,
				  size_t len, int digest)
{
	struct mime_part *p = calloc(1, sizeof(*p));
	const char *s = c->msg + off, *e = s + len, *q = s;
	struct sbuf v;

	if (p == NULL) {
		c->oom = 1;
		return NULL;
	}
	c->nparts++;
	p->msg = c->msg;
	p->hdr_off = off;
	while (q < e && !blank_line(q, e))
		q = line_end(q, e);
	if (q < e)
		q = line_end(q, e);	/* the blank line belongs to the header */
	p->hdr_len = (size_t)(q - s);
	p->body_off = off + p->hdr_len;
	p->body_len = len - p->hdr_len;
	p->body_lines = count_lines(c->msg + p->body_off, p->body_len);
	sbuf_init(&v, MIME_MAX_FIELD);
	if (mime_hdr_get(p, "content-type", &v) && v.len)
		mime_ctype_parse(v.data, v.len, 1, &p->ct);
	sbuf_free(&v);
	if (p->ct.type == NULL)
		set_default_type(p, digest);
	if (p->ct.type == NULL || p->ct.subtype == NULL) {
		c->oom = 1;	/* set_default_type could not allocate */
		mime_free(&p);
		return NULL;
	}
	if (mime_ieq(p->ct.type, strlen(p->ct.type), "multipart"))
		p->flags |= MIME_F_MULTIPART;
	else if (mime_ieq(p->ct.type, strlen(p->ct.type), "message") &&
		 mime_ieq(p->ct.subtype, strlen(p->ct.subtype), "rfc822"))
		p->flags |= MIME_F_RFC822;
	else if (mime_ieq(p->ct.type, strlen(p->ct.type), "text"))
		p->flags |= MIME_F_TEXT;
	return p;
}

/* Is the line at s[0..e) a delimiter "--boundary" (1) or the close
 * delimiter "--boundary--" (2)? Transport padding (white space) may
 * follow (RFC 2046 5.1.1). */
static int delimiter(const char *s, const char *e, const char *b, size_t bl)
{
	int kind = 1;

	if ((size_t)(e - s) < bl + 2 || s[0] != '-' || s[1] != '-' ||
	    memcmp(s + 2, b, bl) != 0)
		return 0;
	s += bl + 2;
	if (e - s >= 2 && s[0] == '-' && s[1] == '-') {
		kind = 2;
		s += 2;
	}
	while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
		s++;
	return s == e ? kind : 0;
}

static struct mime_part *parse_entity(struct parse_ctx *c, size_t off,
				      size_t len, int depth, int digest);

/* RFC 2046 5.1.1: the CRLF before a delimiter belongs to it. */
static size_t strip_crlf(const char *s, size_t st, size_t en)
{
	if (en > st && s[en - 1] == '\n')
		en--;
	if (en > st && s[en - 1] == '\r')
		en--;
	return en;
}

static void parse_multipart(struct parse_ctx *c, struct mime_part *p,
			    int depth)
{
	const char *b = mime_ctype_param(&p->ct, "boundary");
	const char *s = c->msg, *e = s + p->body_off + p->body_len, *q, *le;
	size_t bl, st = 0, have = 0;
	int digest = mime_ieq(p->ct.subtype, strlen(p->ct.subtype), "digest");
	int kind;
	struct mime_part **tail = &p->child, *ch;

	if (b == NULL || (bl = strlen(b)) == 0 || bl > MIME_MAX_BOUNDARY)
		return;	/* no usable boundary: a multipart of no part */
	for (q = s + p->body_off; q < e && !c->oom; q = le) {
		le = line_end(q, e);
		if (c->nparts >= MIME_MAX_PARTS && have)
			break;	/* the last part keeps the rest */
		kind = delimiter(q, le, b, bl);
		if (kind == 0)
			continue;
		if (have) {
			ch = parse_entity(c, st, strip_crlf(s, st,
				(size_t)(q - s)) - st, depth + 1, digest);
			if (ch == NULL)
				return;
			*tail = ch;
			tail = &ch->next;
		}
		if (kind == 2) {
			have = 0;
			break;
		}
		st = (size_t)(le - s);
		have = 1;
	}
	if (have && !c->oom) {
		/* No close delimiter: the last part runs to the end. */
		ch = parse_entity(c, st, (size_t)(e - s) - st, depth + 1,
				  digest);
		if (ch)
			*tail = ch;
	}
}

static struct mime_part *parse_entity(struct parse_ctx *c, size_t off,
				      size_t len, int depth, int digest)
{
	struct mime_part *p = new_part(c, off, len, digest);

	if (p == NULL)
		return NULL;
	if ((p->flags & (MIME_F_MULTIPART | MIME_F_RFC822)) &&
	    (depth >= MIME_MAX_DEPTH || c->nparts >= MIME_MAX_PARTS)) {
		/* Too deep or too many: the rest is plain text. */
		p->flags &= ~(MIME_F_MULTIPART | MIME_F_RFC822);
		set_default_type(p, 0);
		p->flags |= MIME_F_TEXT;
		return p;
	}
	if (p->flags & MIME_F_MULTIPART)
		parse_multipart(c, p, depth);
	else if (p->flags & MIME_F_RFC822)
		p->child = parse_entity(c, p->body_off, p->body_len,
					depth + 1, 0);
	return p;
}

struct mime_part *mime_parse(const char *msg, size_t len)
{
	struct parse_ctx c = {msg, 0, 0};
	struct mime_part *root = parse_entity(&c, 0, len, 0, 0);

	if (c.oom)
		mime_free(&root);
	return root;
}

void mime_free(struct mime_part **root)
{
	struct mime_part *p = *root, *next;

	/* Recursion on children only: bounded by MIME_MAX_DEPTH. */
	while (p) {
		next = p->next;
		mime_free(&p->child);
		mime_ctype_free(&p->ct);
		free(p);
		p = next;
	}
	*root = NULL;
}
