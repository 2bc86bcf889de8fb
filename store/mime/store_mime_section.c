/*
 * NAME
 *	store_mime_section - the bytes of BODY[section] (RFC 3501 6.4.5)
 * DESCRIPTION
 *	section-spec = section-msgtext / (section-part ["." section-text])
 *	section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP
 *	header-list / "TEXT"; section-text = section-msgtext / "MIME";
 *	section-part = nz-number *("." nz-number). Part numbers walk the
 *	tree of common/mime_tree.c: a multipart's n-th child, the body
 *	itself for 1 of a non-multipart, the embedded message of a message/rfc822 part
 *	when more numbers follow. BINARY[section] (RFC 3516) is a part's
 *	body with its transfer encoding undone. The section text comes from
 *	the client;
 *	the message from anyone: both are hostile.
 */
#include "store_mime_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sbuf.h"

/* Most part numbers in a section; deeper than any parsed tree. */
#define SECTION_MAX_NUMS (2 * MIME_MAX_DEPTH + 2)

enum sect_kind { S_ALL, S_HEADER, S_FIELDS, S_FIELDS_NOT, S_TEXT, S_MIME };

struct section {
	unsigned long nums[SECTION_MAX_NUMS];
	size_t nnum;
	enum sect_kind kind;
	struct sbuf names;	/* header-list, NUL after each name */
	size_t nnames;
};

static int keyword(const char **s, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(*s, kw, n) != 0)
		return 0;
	*s += n;
	return 1;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")", each name
 * an astring (atom or quoted string; a literal cannot occur here). */
static int parse_names(const char *s, struct section *sc)
{
	if (*s++ != ' ' || *s++ != '(')
		return -1;
	for (;;) {
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
					s++;
				else if (*s == '\\' || *s == '\r' || *s == '\n')
					return -1;
				if (sbuf_append(&sc->names, s, 1) < 0)
					return -1;
			}
			if (*s++ != '"')
				return -1;
		} else {
			const char *st = s;

			while ((unsigned char)*s > ' ' && (unsigned char)*s <
							      127 &&
			       !strchr("(){%*\"\\", *s))
				s++;
			if (s == st || sbuf_append(&sc->names, st,
						   (size_t)(s - st)) < 0)
				return -1;
		}
		if (sbuf_append(&sc->names, "", 1) < 0)
			return -1;
		sc->nnames++;
		if (*s == ')')
			break;
		if (*s++ != ' ')
			return -1;
	}
	return s[1] == '\0' ? 0 : -1;
}

static int parse_section(const char *s, struct section *sc)
{
	unsigned long v;

	memset(sc, 0, sizeof(*sc));
	sbuf_init(&sc->names, 64 * 1024);
	sc->kind = S_ALL;
	while (*s >= '1' && *s <= '9') {
		for (v = 0; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (unsigned long)(*s - '0');
			if (v > 0xffffffffUL)
				return -1;
		}
		if (sc->nnum == SECTION_MAX_NUMS)
			return -1;
		sc->nums[sc->nnum++] = v;
		if (*s == '\0')
			return 0;
		if (*s++ != '.')
			return -1;
	}
	if (*s == '\0')
		return sc->nnum ? -1 : 0;	/* "1." is not a section */
	if (keyword(&s, "HEADER.FIELDS.NOT"))
		sc->kind = S_FIELDS_NOT;
	else if (keyword(&s, "HEADER.FIELDS"))
		sc->kind = S_FIELDS;
	else if (keyword(&s, "HEADER"))
		sc->kind = S_HEADER;
	else if (keyword(&s, "TEXT"))
		sc->kind = S_TEXT;
	else if (sc->nnum && keyword(&s, "MIME"))
		sc->kind = S_MIME;
	else
		return -1;
	if (sc->kind == S_FIELDS || sc->kind == S_FIELDS_NOT)
		return parse_names(s, sc);
	return *s == '\0' ? 0 : -1;
}

int mime_section_valid(const char *section)
{
	struct section sc;
	int r = parse_section(section, &sc);

	sbuf_free(&sc.names);
	return r == 0;
}

/* The part named by the numbers, or NULL when it does not exist. A
 * part that is not a multipart takes "1" for its own body once: "1" of
 * a single-part message, "2.1" of a text part 2, "3.1" of a message
 * whose body is not multipart; "1.1" of a single-part message is
 * nothing (as in Dovecot). */
static const struct mime_part *resolve(const struct mime_part *root,
				       const struct section *sc)
{
	const struct mime_part *p = root;
	unsigned long n;
	size_t i;
	int took_one = 0;

	for (i = 0; i < sc->nnum && p; i++) {
		n = sc->nums[i];
		if (p->flags & MIME_F_MULTIPART) {
			for (p = p->child; p && n > 1; n--)
				p = p->next;
			took_one = 0;
		} else if (n != 1 || took_one) {
			return NULL;
		} else {
			took_one = 1;
		}
		if (p && (p->flags & MIME_F_RFC822) && i + 1 < sc->nnum) {
			p = p->child;
			took_one = 0;
		}
	}
	return p;
}

static int name_listed(const struct section *sc, const char *name,
		       size_t n)
{
	const char *s = sc->names.data;
	size_t i;

	for (i = 0; i < sc->nnames; i++, s += strlen(s) + 1)
		if (mime_ieq(name, n, s))
			return 1;
	return 0;
}

static int fields(const struct mime_part *p, const struct section *sc,
		  struct sbuf *out)
{
	struct mime_hdr_iter it;
	struct mime_field f;
	int want = sc->kind == S_FIELDS, r = 0;

	mime_hdr_iter_init(&it, p);
	while (r == 0 && mime_hdr_next(&it, &f)) {
		if (f.name_len == 0)
			continue;
		if (name_listed(sc, f.name, f.name_len) == want) {
			r |= sbuf_append(out, f.raw, f.raw_len);
			if (f.raw_len && f.raw[f.raw_len - 1] != '\n')
				r |= sbuf_append(out, "\r\n", 2);
		}
	}
	return r | sbuf_append(out, "\r\n", 2);
}

int mime_section(const struct mime_part *root, const char *section,
		 struct sbuf *out)
{
	struct section sc;
	const struct mime_part *p, *m;
	size_t mark = out->len;
	int r = 0;

	if (parse_section(section, &sc) < 0) {
		sbuf_free(&sc.names);
		return -1;
	}
	p = resolve(root, &sc);
	/* HEADER and TEXT name the message: the root, or the message
	 * inside a message/rfc822 part. */
	m = sc.nnum == 0 ? p : (p && (p->flags & MIME_F_RFC822) ? p->child :
							      NULL);
	switch (sc.kind) {
	case S_ALL:
		if (p && sc.nnum == 0)
			r = sbuf_append(out, p->msg + p->hdr_off,
					p->hdr_len + p->body_len);
		else if (p)
			r = sbuf_append(out, p->msg + p->body_off,
					p->body_len);
		break;
	case S_HEADER:
		if (m)
			r = sbuf_append(out, m->msg + m->hdr_off, m->hdr_len);
		break;
	case S_FIELDS:
	case S_FIELDS_NOT:
		if (m)
			r = fields(m, &sc, out);
		break;
	case S_TEXT:
		if (m)
			r = sbuf_append(out, m->msg + m->body_off,
					m->body_len);
		break;
	case S_MIME:
		if (p)
			r = sbuf_append(out, p->msg + p->hdr_off, p->hdr_len);
		break;
	}
	sbuf_free(&sc.names);
	if (r) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}

int mime_binary(const struct mime_part *root, const char *section,
		struct sbuf *out)
{
	struct section sc;
	const struct mime_part *p;
	const char *b;
	int r = 0;

	if (parse_section(section, &sc) < 0 || sc.kind != S_ALL) {
		sbuf_free(&sc.names);
		return -1;
	}
	sbuf_free(&sc.names);
	p = resolve(root, &sc);
	if (p == NULL)
		return 0;
	if (sc.nnum == 0)	/* BINARY[]: the message as it is */
		return sbuf_append(out, p->msg + p->hdr_off,
				   p->hdr_len + p->body_len) < 0 ? -1 : 0;
	b = p->msg + p->body_off;
	if (p->cte == MIME_CTE_IDENTITY)
		sbuf_append(out, b, p->body_len);
	else if (p->cte == MIME_CTE_BASE64)
		mime_base64_decode(b, p->body_len, out, 0);
	else if (p->cte == MIME_CTE_QP)
		mime_qp_decode(b, p->body_len, out, 0, 0);
	else
		r = -2;
	return r;
}
