/*
 * NAME
 *	smtp_reply_fuzz - libFuzzer target for smtp_reply_parse()
 * DESCRIPTION
 *	Replies come from next hops we do not control. Feeds arbitrary bytes
 *	and checks the parser's promises: it never reads past n, a complete
 *	reply consumes at least one byte and no more than n, codes are in
 *	range. Build with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct sbuf lines;
	size_t used = 0, off = 0;
	char *copy = malloc(size + 1);
	int rc;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	sbuf_init(&lines, 16384);
	while (off < size) {
		rc = smtp_reply_parse(copy + off, size - off, &r, &lines, &used);
		if (rc <= 0)
			break;
		if (used == 0 || used > size - off || r.code < 200 ||
		    r.code > 599)
			abort();
		off += used;
	}
	sbuf_free(&lines);
	free(copy);
	return 0;
}
