/*
 * NAME
 *	msa_header - what msa needs to know about a header section
 * DESCRIPTION
 *	Counts the Date:, Message-ID:, From: and Sender: fields (RFC 6409
 *	section 8 fixes, RFC 5322 3.6 counts) and finds the bodies of the
 *	fields of a name, which msa_smtp.c hands to the strict address-list
 *	parser (addrlist.h). Pure functions; the input is the client's and
 *	faces the network.
 */
#include <string.h>
#include <strings.h>

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
		else if (is_name(name, nlen, "Sender"))
			out->sender++;
		off = next;
	}
}

int msa_header_field(const char *h, size_t len, const char *want,
		     size_t *off, const char **val, size_t *vlen)
{
	const char *name;
	size_t nlen, next;

	while ((next = next_field(h, len, *off, &name, &nlen, val,
				  vlen)) > 0) {
		*off = next;
		if (is_name(name, nlen, want))
			return 1;
	}
	return 0;
}
