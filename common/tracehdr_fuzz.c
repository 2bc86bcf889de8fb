/*
 * NAME
 *	tracehdr_fuzz - libFuzzer target for stripping forged trace fields
 * DESCRIPTION
 *	mx and msa strip the internal trace fields (X-Sluice-*, X-Spam-*)
 *	from whatever header section a client sends: tracehdr_strip moves
 *	hostile bytes in place. The input is a message; its header section
 *	runs to the first empty line (all of it when there is none).
 *	Promises: the body is untouched, the lengths add up, nothing is left
 *	that tracehdr_spam or tracehdr_junk would read, and a second strip
 *	removes nothing and changes nothing.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracehdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The header section as the engine sees it: up to and with the first
 * line that is only CRLF. */
static size_t header_of(const char *p, size_t len)
{
	size_t off = 0;
	const char *nl;

	while (off < len) {
		if (len - off >= 2 && p[off] == '\r' && p[off + 1] == '\n')
			return off + 2;
		nl = memchr(p + off, '\n', len - off);
		if (nl == NULL)
			break;
		off = (size_t)(nl - p) + 1;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf m, copy;
	size_t hl, hl0, body, removed;

	sbuf_init(&m, size + 1);
	sbuf_init(&copy, size + 1);
	if (sbuf_append(&m, data, size) < 0)
		abort();
	hl = hl0 = header_of(m.data ? m.data : "", m.len);
	body = size - hl;
	removed = tracehdr_strip(&m, &hl, TRACEHDR_PREFIXES);
	if (hl > hl0 || m.len != hl + body || (removed == 0) != (hl == hl0) ||
		memcmp(m.data + hl, data + hl0, body) != 0 ||
		(m.data != NULL && m.data[m.len] != '\0') ||
		tracehdr_spam(m.data, hl) || tracehdr_junk(m.data, hl))
		abort();
	if (sbuf_append(&copy, m.data, m.len) < 0)
		abort();
	hl0 = hl;
	if (tracehdr_strip(&m, &hl, TRACEHDR_PREFIXES) != 0 || hl != hl0 ||
		m.len != copy.len || memcmp(m.data, copy.data, m.len) != 0)
		abort();
	sbuf_free(&m);
	sbuf_free(&copy);
	return 0;
}
