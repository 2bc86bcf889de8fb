/*
 * NAME
 *	mime_fuzz - libFuzzer target for the shared MIME decoders
 * DESCRIPTION
 *	The input is a header field value or a part's body, as a sender
 *	writes it: decode it as base64, quoted-printable, RFC 2047 "Q" and
 *	as a field with encoded words, each with and without ISO-8859-1
 *	turned into UTF-8. Checks the bounds the decoders promise: bytes
 *	as they are never come out longer than they went in, UTF-8 at most
 *	twice as long. Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>

#include "mime.h"
#include "sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sbuf out;
	int kind, l1;

	for (kind = 0; kind < 4; kind++)
		for (l1 = 0; l1 < 2; l1++) {
			sbuf_init(&out, 2 * size + 1);
			if (kind == 0)
				mime_base64_decode(s, size, &out, l1);
			else if (kind == 3)
				mime_decode_2047(s, size, &out, l1);
			else
				mime_qp_decode(s, size, &out, kind == 2, l1);
			if (out.len > (l1 ? 2 * size : size))
				abort();
			sbuf_free(&out);
		}
	return 0;
}
