/*
 * NAME
 *	msa_header - what msa needs to know about a header section
 * DESCRIPTION
 *	Counts the Date:, Message-ID: and From: fields (RFC 6409 section 8
 *	fixes) and pulls the mailboxes out of address fields (RFC 5322 3.4:
 *	address-list with display names, comments, quoted strings, groups
 *	and obsolete routes), so that anti-forging compares addr-specs only.
 *	Pure functions; the input is the client's and faces the network.
 *	An address too long to be real comes out as "!" so that it is owned
 *	by nobody.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "limits_rfc.h"
#include "msa.h"

/* One field: name [name, name+nlen), value [val, val+vlen) with folding
 * CRLFs inside. Returns the offset after the field, 0 at the end. */
static size_t next_field(const char *h, size_t len, size_t off,
			 const char **name, size_t *nlen, const char **val,
			 size_t *vlen)
{
	size_t i = off, colon;

	if (off >= len || h[off] == '\r' || h[off] == '\n')
		return 0;
	while (i < len) {
		const char *lf = memchr(h + i, '\n', len - i);

		i = lf ? (size_t)(lf - h) + 1 : len;
		if (i >= len || (h[i] != ' ' && h[i] != '\t'))
			break;
	}
	for (colon = off; colon < i && h[colon] != ':'; colon++)
		;
	*name = h + off;
	*nlen = colon - off;
	while (*nlen > 0 && (h[off + *nlen - 1] == ' ' ||
			     h[off + *nlen - 1] == '\t'))
		(*nlen)--;
	*val = colon < i ? h + colon + 1 : h + i;
	*vlen = colon < i ? i - colon - 1 : 0;
	return i;
}

static int is_name(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

void msa_header_scan(const char *h, size_t len, struct msa_hdr *out)
{
	const char *name, *val;
	size_t nlen, vlen, off = 0, next;

	memset(out, 0, sizeof(*out));
	while ((next = next_field(h, len, off, &name, &nlen, &val,
				  &vlen)) > 0) {
		if (is_name(name, nlen, "Date"))
			out->date++;
		else if (is_name(name, nlen, "Message-ID"))
			out->message_id++;
		else if (is_name(name, nlen, "From"))
			out->from++;
		off = next;
	}
}

struct collect {
	char bare[LIM_PATH + 1], angle[LIM_PATH + 1];
	size_t nbare, nangle;
	int have_angle, in_angle, bad;
	char *out;
	size_t outlen, used;
	int count;
};

static void put(struct collect *c, char ch)
{
	char *buf = c->in_angle ? c->angle : c->bare;
	size_t *n = c->in_angle ? &c->nangle : &c->nbare;

	if (*n >= LIM_PATH) {
		c->bad = 1;
		return;
	}
	buf[(*n)++] = (char)tolower((unsigned char)ch);
}

/* The mailbox collected so far, if any, goes out. -1 if out is full. */
static int emit(struct collect *c)
{
	const char *a = c->have_angle ? c->angle : c->bare;
	size_t n = c->have_angle ? c->nangle : c->nbare;
	int rc = 0;

	if (c->bad) {
		a = "!";
		n = 1;
	}
	if (n > 0) {
		if (c->used + n + 1 > c->outlen) {
			rc = -1;
		} else {
			memcpy(c->out + c->used, a, n);
			c->out[c->used + n] = '\0';
			c->used += n + 1;
			c->count++;
		}
	}
	c->nbare = c->nangle = 0;
	c->have_angle = c->in_angle = c->bad = 0;
	return rc;
}

/* RFC 5322 3.4 address-list of one field value. */
static int parse_list(struct collect *c, const char *v, size_t n)
{
	size_t i;
	int depth = 0, inq = 0;

	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (inq) {
			if (ch == '\\' && i + 1 < n) {
				put(c, ch);
				ch = v[++i];
			} else if (ch == '"') {
				inq = 0;
			}
			put(c, ch);
			continue;
		}
		if (depth > 0) {
			if (ch == '\\')
				i++;
			else if (ch == '(')
				depth++;
			else if (ch == ')')
				depth--;
			continue;
		}
		switch (ch) {
		case '(':
			depth = 1;
			break;
		case '"':
			inq = 1;
			put(c, ch);
			break;
		case '<':
			c->in_angle = c->have_angle = 1;
			c->nangle = 0;
			break;
		case '>':
			c->in_angle = 0;
			break;
		case ':':
			/* obs-route inside <>, else a group's name */
			if (c->in_angle)
				c->nangle = 0;
			else
				c->nbare = 0;
			break;
		case ',':
		case ';':
			if (c->in_angle)
				put(c, ch);
			else if (emit(c) < 0)
				return -1;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			put(c, ch);
		}
	}
	return emit(c);
}

int msa_header_addrs(const char *h, size_t len, const char *want,
		     char *buf, size_t buflen)
{
	struct collect c;
	const char *name, *val;
	size_t nlen, vlen, off = 0, next;

	memset(&c, 0, sizeof(c));
	c.out = buf;
	c.outlen = buflen;
	while ((next = next_field(h, len, off, &name, &nlen, &val,
				  &vlen)) > 0) {
		if (is_name(name, nlen, want) && parse_list(&c, val, vlen) < 0)
			return -1;
		off = next;
	}
	return c.count;
}
