/*
 * NAME
 *	store_mime_fuzz - libFuzzer target for the IMAP renderers
 * DESCRIPTION
 *	The input is a stored message: parse it (the parser's own promises
 *	are checked by common/mime_tree_fuzz.c), render ENVELOPE, BODY and
 *	BODYSTRUCTURE, fetch a set of sections (the first input line, when
 *	it starts with "S:", is one more section to try), and run the
 *	SEARCH helpers. Checks that the renderings are balanced lists.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "store_mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {
	"", "HEADER", "TEXT", "1", "2", "1.MIME", "2.MIME", "1.1", "1.2",
	"2.1", "2.HEADER", "2.TEXT", "1.1.1", "3.2.1.MIME",
	"HEADER.FIELDS (From To Subject)", "HEADER.FIELDS.NOT (Date)",
	"1.HEADER.FIELDS (Content-Type)",
};

/* Parentheses balance outside quoted strings and literals. */
static void check_balanced(const struct sbuf *b)
{
	size_t i, n;
	long depth = 0;
	char *end;

	for (i = 0; i < b->len; i++) {
		switch (b->data[i]) {
		case '(':
			depth++;
			break;
		case ')':
			if (--depth < 0)
				abort();
			break;
		case '"':
			for (i++; i < b->len && b->data[i] != '"'; i++)
				if (b->data[i] == '\\')
					i++;
			if (i >= b->len)
				abort();
			break;
		case '{':
			n = strtoul(b->data + i + 1, &end, 10);
			if (*end != '}' || end[1] != '\r' || end[2] != '\n')
				abort();
			i = (size_t)(end + 2 - b->data) + n;
			if (i >= b->len)
				abort();
			break;
		}
	}
	if (depth != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct mime_part *root = mime_parse(msg, size, NULL);
	struct sbuf out;
	char extra[256];
	const char *nl;
	size_t i, n;
	int zone;

	if (root == NULL)
		return 0;
	sbuf_init(&out, 64 * 1024 * 1024);
	if (mime_envelope(root, &out) == 0)
		check_balanced(&out);
	sbuf_reset(&out);
	if (mime_bodystructure(root, 1, &out) == 0)
		check_balanced(&out);
	sbuf_reset(&out);
	if (mime_bodystructure(root, 0, &out) == 0)
		check_balanced(&out);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		sbuf_reset(&out);
		if (mime_section(root, sections[i], &out) != 0 ||
		    out.len > size + 4)
			abort();
	}
	/* BINARY[part]: decoding never grows the bytes */
	for (i = 0; i < 4; i++) {
		static const char *const parts[] = {"1", "2", "1.1", "2.3.1"};

		sbuf_reset(&out);
		if (mime_binary(root, parts[i], &out) == -1 ||
		    out.len > size)
			abort();
	}
	if (size > 2 && memcmp(msg, "S:", 2) == 0 &&
	    (nl = memchr(msg, '\n', size)) != NULL) {
		n = (size_t)(nl - msg - 2);
		if (n < sizeof(extra)) {
			memcpy(extra, msg + 2, n);
			extra[n] = '\0';
			sbuf_reset(&out);
			if (mime_section(root, extra, &out) == 0 &&
			    !mime_section_valid(extra))
				abort();
		}
	}
	mime_header_contains(root, "subject", "caf");
	mime_header_contains(root, "from", "");
	mime_body_contains(root, "a");
	mime_text_contains(root, "=?");
	mime_date_zone(root, &zone);
	sbuf_free(&out);
	mime_free(&root);
	return 0;
}
