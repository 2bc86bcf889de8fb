/*
 * NAME
 *	spamd_hdr_fuzz - libFuzzer target for what the learner and the
 *	users' lists read of a header section
 * DESCRIPTION
 *	Messages are the sender's. Feeds arbitrary bytes (in an exact-size
 *	copy so ASan sees overreads) to bayes_msg_id() and spamd_senders()
 *	and checks the promises: the ID is a C string of "mid:" or "body:"
 *	within its buffer, the senders are at most max C strings within
 *	LIM_PATH bytes, the envelope sender first. Build with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1), id[64];
	char senders[4][LIM_PATH + 1];
	size_t n, i;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	memset(id, 'x', sizeof(id));
	bayes_msg_id(copy, size, id, sizeof(id));
	if (memchr(id, '\0', sizeof(id)) == NULL ||
	    (strncmp(id, "mid:", 4) != 0 && strncmp(id, "body:", 5) != 0))
		abort();
	n = spamd_senders("env@example.test", copy, size, senders, 4);
	if (n < 1 || n > 4 || strcmp(senders[0], "env@example.test") != 0)
		abort();
	for (i = 0; i < n; i++)
		if (memchr(senders[i], '\0', LIM_PATH + 1) == NULL)
			abort();
	n = spamd_senders("", copy, size, senders, 4);
	if (n > 4)
		abort();
	free(copy);
	return 0;
}
