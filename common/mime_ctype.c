/*
 * NAME
 *	mime_ctype - Content-Type and Content-Disposition values
 * DESCRIPTION
 *	RFC 2045 5.1 type "/" subtype *(";" parameter), RFC 2183
 *	disposition, CFWS (RFC 5322 3.2.2) with nested comments counted,
 *	not recursed, and RFC 2231 parameter continuations. Lenient where
 *	real mail is broken (unquoted values with spaces, junk between
 *	parameters), strict where a wrong guess would mislead a client
 *	(junk after the type voids the field). Part of the MIME structure
 *	parser (mime_tree.c); the store's renderers read dispositions
 *	with it too. Mail layer; hostile input.
 */
#include "mime_tree.h"

#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "sbuf.h"

/* Content-Type and Content-Disposition (RFC 2045 5.1, RFC 2183). */

size_t mime_skip_cfws(
	const char *s, size_t i, size_t n, const char **comment, size_t *clen)
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

char *mime_strndup(const char *s, size_t n)
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
	return *i > st ? mime_strndup(s + st, *i - st) : NULL;
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
		return mime_strndup("", 0);
	r = sbuf_steal(&b);
	return r;
}

void mime_ctype_add(struct mime_ctype *ct, char *name, char *value)
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
		*ext = 1; /* "name*" alone */
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
			continue; /* "name*" alone needs no merging */
		base = (size_t)(star - ct->params[i * 2]);
		if (rfc2231_section(ct->params[i * 2], base, &ext) != 0)
			continue;
		sbuf_init(&v, MIME_MAX_FIELD);
		anyext = 0;
		for (want = 0, seg = 0; seg < MIME_MAX_PARAMS; want++, seg++) {
			for (j = 0; j < ct->nparams; j++) {
				name = ct->params[j * 2];
				if (name[0] &&
					strncmp(name, ct->params[i * 2],
						base) == 0 &&
					name[base] == '*' &&
					rfc2231_section(name, base, &ext) ==
						want)
					break;
			}
			if (j == ct->nparams)
				break;
			if (want == 0)
				anyext = ext;
			for (p = ct->params[j * 2 + 1]; *p; p++) {
				if (anyext && !ext &&
					!attr_char((unsigned char)*p))
					sbuf_printf(&v, "%%%02X",
						(unsigned char)*p);
				else
					sbuf_append(&v, p, 1);
			}
			if (j != i)
				ct->params[j * 2][0] = '\0'; /* merged */
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
		ct->params[i * 2 + 1] =
			v.data ? sbuf_steal(&v) : mime_strndup("", 0);
	}
	for (i = j = 0; i < ct->nparams; i++) {
		if (ct->params[i * 2][0] == '\0' ||
			ct->params[i * 2 + 1] == NULL) {
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

void mime_ctype_parse(
	const char *v, size_t n, int want_sub, struct mime_ctype *ct)
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
			i++; /* junk between parameters */
			continue;
		}
		i = mime_skip_cfws(v, i + 1, n, NULL, NULL);
		name = take_token(v, &i, n);
		/* RFC 2231 names end in '*', a tspecial-free extension. */
		while (name && i < n && v[i] == '*') {
			size_t st = i, l = strlen(name);
			char *nn;

			while (i < n &&
				(v[i] == '*' || (v[i] >= '0' && v[i] <= '9')))
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
		mime_ctype_add(ct, name, val);
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
		if (mime_ieq(
			    ct->params[i * 2], strlen(ct->params[i * 2]), name))
			return ct->params[i * 2 + 1];
	return NULL;
}
