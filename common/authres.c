/*
 * NAME
 *	authres - read Authentication-Results fields (RFC 8601)
 * DESCRIPTION
 *	RFC 8601 2.2:
 *	    authres-header = "Authentication-Results:" [CFWS] authserv-id
 *	             [ CFWS authres-version ]
 *	             ( no-result / 1*resinfo ) [CFWS] CRLF
 *	    authserv-id = value          (RFC 2045: token / quoted-string)
 *	    no-result = [CFWS] ";" [CFWS] "none"
 *	    resinfo = [CFWS] ";" methodspec [ CFWS reasonspec ]
 *	              [ CFWS 1*propspec ]
 *	Comments nest (RFC 5322 3.2.2) and hold quoted pairs; their depth
 *	is bounded, and a field whose id cannot be read is reported as such
 *	so that the border can remove it rather than guess. Results are
 *	split at the semicolons outside comments and quoted strings.
 */
#include "authres.h"

#include <string.h>
#include <strings.h>

#include "tracehdr.h"

/* Nesting of comments read before a field counts as unreadable. */
#define AUTHRES_COMMENT_DEPTH 32

static int is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1: token characters. */
static int is_token(char c)
{
	return (unsigned char)c > ' ' && (unsigned char)c < 0x7f &&
	       strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Past white space and comments from p; NULL when a comment is not
 * closed before end or nests too deep. */
static const char *skip_cfws(const char *p, const char *end)
{
	int depth;

	for (;;) {
		while (p < end && is_wsp(*p))
			p++;
		if (p == end || *p != '(')
			return p;
		depth = 0;
		while (p < end) {
			if (*p == '\\') {
				p = end - p > 1 ? p + 2 : end;
				continue;
			}
			if (*p == '(' && ++depth > AUTHRES_COMMENT_DEPTH)
				return NULL;
			if (*p++ == ')' && --depth == 0)
				break;
		}
		if (depth)
			return NULL;
	}
}

/* Past the end of a quoted string starting at p ('"'), copying its
 * content (quoted pairs undone) to out when out is not NULL; NULL when
 * it is not closed or out (outlen bytes with its NUL) is too small. */
static const char *quoted(
	const char *p, const char *end, char *out, size_t outlen)
{
	size_t n = 0;

	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && ++p == end)
			return NULL;
		if (out) {
			if (n + 1 >= outlen)
				return NULL;
			out[n++] = *p;
		}
	}
	if (p == end)
		return NULL;
	if (out)
		out[n] = '\0';
	return p + 1;
}

int authres_field_id(const char *p, const char *end, char *id, size_t idlen,
	const char **rest_r)
{
	static const char name[] = "Authentication-Results";
	size_t n = sizeof(name) - 1;
	const char *q;

	if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0)
		return 0;
	p += n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || *p++ != ':')
		return 0;
	if ((p = skip_cfws(p, end)) == NULL || p == end || idlen == 0)
		return -1;
	if (*p == '"') {
		if ((p = quoted(p, end, id, idlen)) == NULL || id[0] == '\0')
			return -1;
	} else {
		for (q = p; q < end && is_token(*q); q++)
			;
		if (q == p || (size_t)(q - p) >= idlen)
			return -1;
		memcpy(id, p, (size_t)(q - p));
		id[q - p] = '\0';
		p = q;
	}
	/* [CFWS authres-version] */
	if ((q = skip_cfws(p, end)) == NULL)
		return -1;
	if (q > p && q < end && *q >= '0' && *q <= '9') {
		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if ((q = skip_cfws(q, end)) == NULL)
			return -1;
	}
	if (rest_r)
		*rest_r = q;
	return 1;
}

int authres_claims(const char *p, const char *end, const char *id)
{
	char got[AUTHRES_ID_MAX + 1];
	int rc = authres_field_id(p, end, got, sizeof(got), NULL);

	return rc < 0 || (rc == 1 && strcasecmp(got, id) == 0);
}

static int claims(const char *p, const char *end, void *arg)
{
	return authres_claims(p, end, arg);
}

size_t authres_strip(struct sbuf *msg, size_t *header_len, const char *id)
{
	return tracehdr_strip_if(msg, header_len, claims, (void *)id);
}

/* End of the result starting at p: the next ';' outside comments and
 * quoted strings, or end. */
static const char *result_end(const char *p, const char *end)
{
	const char *q;

	while (p < end && *p != ';') {
		if (*p == '(') {
			if ((q = skip_cfws(p, end)) == NULL)
				return end;
			p = q;
		} else if (*p == '"') {
			if ((q = quoted(p, end, NULL, 0)) == NULL)
				return end;
			p = q;
		} else {
			p++;
		}
	}
	return p;
}

/* 1 when the result [p, end) is "none" or uses a method in skip. */
static int skipped(const char *p, const char *end, const char *const *skip)
{
	size_t n = 0;

	while (p + n < end && is_token(p[n]) && p[n] != '/')
		n++;
	if (n == 4 && strncasecmp(p, "none", 4) == 0)
		return 1;
	for (; skip && *skip; skip++)
		if (strlen(*skip) == n && strncasecmp(p, *skip, n) == 0)
			return 1;
	return 0;
}

/* Append [p, end) with each run of white space as one space. */
static int append_folded(struct sbuf *out, const char *p, const char *end)
{
	while (end > p && is_wsp(end[-1]))
		end--;
	for (; p < end; p++) {
		if (is_wsp(*p)) {
			while (p + 1 < end && is_wsp(p[1]))
				p++;
			if (sbuf_append(out, " ", 1) < 0)
				return -1;
		} else if (sbuf_append(out, p, 1) < 0) {
			return -1;
		}
	}
	return 0;
}

int authres_results(const char *msg, size_t hlen, const char *id,
	const char *const *skip, struct sbuf *out)
{
	char got[AUTHRES_ID_MAX + 1];
	const char *p = msg, *end = msg + hlen, *f, *rest, *r, *re;

	while (p < end) {
		/* one field: up to a line that does not start with WSP */
		f = p;
		do {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			p = nl ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		if (authres_field_id(f, p, got, sizeof(got), &rest) != 1 ||
			strcasecmp(got, id) != 0)
			continue;
		for (r = rest; r < p && *r == ';'; r = re) {
			if ((r = skip_cfws(r + 1, p)) == NULL)
				break;
			re = result_end(r, p);
			if (re > r && !skipped(r, re, skip) &&
				(sbuf_append(out, ";\r\n\t", 4) < 0 ||
					append_folded(out, r, re) < 0))
				return -1;
		}
	}
	return 0;
}
