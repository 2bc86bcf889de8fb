/*
 * NAME
 *	tracehdr - the internal trace headers, and stripping them
 * DESCRIPTION
 *	A single pass over the header section: a field starts at a line
 *	that does not begin with white space (RFC 5322 2.2.3 folding) and
 *	runs up to the next such line; kept fields are moved down over
 *	removed ones. The engine has already refused bare CR and LF, so
 *	lines end in CRLF; a last line without one (a message that is all
 *	header) is handled the same. Mail layer.
 */
#include <string.h>
#include <strings.h>

#include "tracehdr.h"

const char *const TRACEHDR_PREFIXES[] = {"X-Sluice-", "X-Spam-", NULL};

/* End of the line starting at p (after its LF), or end. */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl + 1 : end;
}

static int matches(const char *p, const char *end, void *arg)
{
	const char *const *prefixes = arg;
	size_t n;

	for (; *prefixes; prefixes++) {
		n = strlen(*prefixes);
		if ((size_t)(end - p) >= n && strncasecmp(p, *prefixes, n) == 0)
			return 1;
	}
	return 0;
}

size_t tracehdr_strip(struct sbuf *msg, size_t *header_len,
		      const char *const *prefixes)
{
	return tracehdr_strip_if(msg, header_len, matches, (void *)prefixes);
}

size_t tracehdr_strip_if(struct sbuf *msg, size_t *header_len,
			 int (*match)(const char *p, const char *end,
				      void *arg), void *arg)
{
	char *base = msg->data;
	const char *p, *end, *fend;
	char *w;
	size_t removed = 0, gone;

	if (base == NULL || *header_len == 0 || *header_len > msg->len)
		return 0;
	p = base;
	end = base + *header_len;
	w = base;
	while (p < end) {
		/* the empty line ending the header section stays */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		fend = line_end(p, end);
		while (fend < end && (*fend == ' ' || *fend == '\t'))
			fend = line_end(fend, end);
		if (match(p, fend, arg)) {
			removed++;
		} else {
			if (w != p)
				memmove(w, p, (size_t)(fend - p));
			w += fend - p;
		}
		p = fend;
	}
	if (w == p)
		return 0;
	gone = (size_t)(p - w);
	memmove(w, p, msg->len - (size_t)(p - base));
	msg->len -= gone;
	*header_len -= gone;
	base[msg->len] = '\0';
	return removed;
}

int tracehdr_junk(const char *msg, size_t header_len)
{
	static const char name[] = TRACEHDR_JUNK ":";
	const char *p = msg, *end = msg + header_len;

	while (msg && p < end) {
		if ((size_t)(end - p) > sizeof(name) - 1 &&
		    strncasecmp(p, name, sizeof(name) - 1) == 0)
			return 1;
		p = line_end(p, end);
	}
	return 0;
}

int tracehdr_spam(const char *msg, size_t header_len)
{
	static const char name[] = TRACEHDR_SPAM_FLAG ":";
	const char *p = msg, *end = msg + header_len, *e;

	if (msg == NULL)
		return 0;
	while (p < end) {
		e = line_end(p, end);
		if ((size_t)(e - p) > sizeof(name) - 1 &&
		    strncasecmp(p, name, sizeof(name) - 1) == 0) {
			p += sizeof(name) - 1;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (e - p >= 3 && strncasecmp(p, "YES", 3) == 0 &&
			    (e - p == 3 || p[3] == '\r' || p[3] == ' ' ||
			     p[3] == '\t'))
				return 1;
		}
		p = e;
	}
	return 0;
}
