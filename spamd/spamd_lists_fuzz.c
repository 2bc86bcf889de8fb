/*
 * NAME
 *	spamd_lists_fuzz - libFuzzer target for the sender lists snapshot
 * DESCRIPTION
 *	Users' allow and block lists hold patterns users typed, exported
 *	into the snapshot spamd reads (common/senders.c, spamd_lists.c):
 *	the input is such a file, read for a message from fixed senders.
 *	Promises: a file is loaded whole or refused; the verdict is one of
 *	the three; and when a file loaded, the line "bob@example.net block
 *	alice@example.com" appended to it loads too (unless bob has that
 *	pattern already or his rules are at their limit) and then always
 *	blocks: an address is the most specific pattern and block wins a
 *	tie, whatever the rules before it.
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char tail[] = "bob@example.net block alice@example.com\n";

static int verdict(const struct senders *t)
{
	static char senders[2][LIM_PATH + 1] = {
		"bounce@lists.example.org", "Alice@Example.COM"};

	return spamd_list_verdict(t, "Bob@Example.NET", senders, 2);
}

/* bob's rules leave room for the tail's */
static int room(const struct senders *t)
{
	const struct sender_rule *r;
	size_t i, n = senders_of(t, "bob@example.net", &r);

	for (i = 0; i < n; i++)
		if (strcmp(r[i].pattern, "alice@example.com") == 0)
			return 0;
	return n < LIM_SENDER_RULES;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct senders *t, *t2;
	char err[256], *buf;
	int v;

	t = senders_parse((const char *)data, size, err, sizeof(err));
	if (t == NULL)
		return 0;
	v = verdict(t);
	if (v != SPAMD_LIST_NONE && v != SPAMD_LIST_ALLOW &&
		v != SPAMD_LIST_BLOCK)
		abort();
	buf = malloc(size + sizeof(tail));
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	memcpy(buf + size, tail, sizeof(tail) - 1);
	t2 = senders_parse(buf, size + sizeof(tail) - 1, err, sizeof(err));
	if ((t2 == NULL && room(t)) ||
		(t2 != NULL && verdict(t2) != SPAMD_LIST_BLOCK))
		abort();
	free(buf);
	senders_unref(&t2);
	senders_unref(&t);
	return 0;
}
