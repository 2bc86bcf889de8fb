/*
 * NAME
 *	store_pop3_fuzz - libFuzzer target for the POP3 reader and parser
 * DESCRIPTION
 *	The input is split into chunks (the first byte picks the chunk
 *	size) and fed through pop3_read_line() as a session would, with a
 *	small and a large line limit; every complete line is parsed. Checks
 *	the invariants the server relies on: lines fit the limit, arguments
 *	fit RFC 2449's 40 octets, counts match. Build and run with
 *	`make fuzz`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed(const uint8_t *data, size_t size, size_t chunk, size_t max)
{
	char buf[8192];
	struct pop3_reader r = {0};
	struct pop3_cmd c;
	size_t have = 0, fed = 0, len, used;
	const char *why;
	enum pop3_line res;
	int i;

	while (fed < size) {
		size_t take = size - fed < chunk ? size - fed : chunk;

		if (take > sizeof(buf) - have)
			take = sizeof(buf) - have;
		memcpy(buf + have, data + fed, take);
		have += take;
		fed += take;
		do {
			res = pop3_read_line(&r, buf, have, max, &len, &used);
			if (used > have || (res == POP3_LINE_OK &&
					    len + 2 > max))
				abort();
			if (res == POP3_LINE_OK &&
			    pop3_parse(buf, len, &c, &why) == 0) {
				if (c.nargs < 0 || c.nargs > 2)
					abort();
				for (i = 0; i < c.nargs; i++)
					if (c.verb != POP3_PASS &&
					    !(c.verb == POP3_AUTH && i == 1) &&
					    strlen(c.arg[i]) > POP3_ARG_MAX)
						abort();
			}
			memmove(buf, buf + used, have - used);
			have -= used;
		} while (res != POP3_LINE_NEED);
		if (have == sizeof(buf))
			abort(); /* the reader must make room */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)data[0] % 64 + 1;
	feed(data + 1, size - 1, chunk, POP3_CMD_LINE);
	feed(data + 1, size - 1, chunk * 97, 12288);
	return 0;
}
