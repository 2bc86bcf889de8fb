/*
 * NAME
 *	authres_fuzz - libFuzzer target for reading Authentication-Results
 * DESCRIPTION
 *	mx decides which incoming Authentication-Results fields claim our
 *	authserv-id (and removes them), and outmta copies the results of
 *	ours into its ARC set: both read hostile header bytes. The input is
 *	one header field, or a header section for authres_results.
 *	Promises: an id read is non-empty and within its bound, the rest
 *	pointer lies inside the field, a field whose id cannot be read is
 *	claimed by every id, and the results copied have no line break
 *	other than the ";\r\n\t" that starts each one.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *rest = NULL;
	char id[AUTHRES_ID_MAX + 1];
	struct sbuf out;
	size_t i;
	int rc;

	rc = authres_field_id(p, end, id, sizeof(id), &rest);
	if (rc == 1 && (id[0] == '\0' || strlen(id) > AUTHRES_ID_MAX ||
			       rest < p || rest > end))
		abort();
	if (rc == 1 && !authres_claims(p, end, id))
		abort();
	if (rc < 0 && !authres_claims(p, end, "x.test"))
		abort();
	sbuf_init(&out, 65536);
	if (authres_results(p, size, "mx.example.test", NULL, &out) == 0)
		for (i = 0; i < out.len; i++) {
			if (out.data[i] != '\r' && out.data[i] != '\n')
				continue;
			if (out.data[i] == '\n' || i == 0 ||
				out.data[i - 1] != ';' || i + 2 >= out.len ||
				out.data[i + 1] != '\n' ||
				out.data[i + 2] != '\t')
				abort();
			i += 2;
		}
	sbuf_free(&out);
	return 0;
}
