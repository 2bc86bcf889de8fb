/*
 * NAME
 *	spamd_token_fuzz - libFuzzer target for the text extraction and
 *	the tokenizer
 * DESCRIPTION
 *	Messages are the sender's. Feeds arbitrary bytes (not
 *	NUL-terminated, in an exact-size copy so ASan sees overreads) to
 *	spamd_text_extract() with a small scan limit and a large one, then
 *	tokenizes, and checks the promises: the outputs stay within their
 *	limits, are C strings, and every token is 1..SPAMD_TOKEN_MAX + 64
 *	bytes (word pairs, link and text shapes included); the token set
 *	keeps each token's text with its hash. Build with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_token(void *arg, const char *tok, size_t n)
{
	size_t *count = arg;

	if (n == 0 || n > SPAMD_TOKEN_MAX + 64 || memchr(tok, '\0', n))
		abort();
	(*count)++;
}

static void run(const char *msg, size_t size, size_t scan)
{
	struct spamd_text t;
	struct spamd_tokset set;
	size_t count = 0, i;
	const char *tok;

	if (spamd_text_extract(msg, size, scan, &t) < 0)
		return;
	if (t.body.len > scan || (t.body.data && strlen(t.body.data) !=
				  t.body.len) ||
	    (t.hdr.data && strlen(t.hdr.data) != t.hdr.len))
		abort();
	spamd_tokenize(&t, 100000, check_token, &count);
	if (spamd_tokset_build(&t, &set) == 0) {
		if (set.n > SPAMD_MAX_TOKENS || set.n > count)
			abort();
		/* each slot's text is the token of its hash */
		for (i = 0; i < set.cap; i++) {
			tok = spamd_tokset_text(&set, i);
			if (set.h[i] != 0 &&
			    spamd_token_hash(tok, strlen(tok)) != set.h[i])
				abort();
		}
		spamd_tokset_free(&set);
	}
	spamd_text_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	run(copy, size, 512);
	run(copy, size, SPAMD_SCAN_DEFAULT);
	free(copy);
	return 0;
}
