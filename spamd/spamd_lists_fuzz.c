/*
 * NAME
 *	spamd_lists_fuzz - libFuzzer target for users' sender list files
 * DESCRIPTION
 *	A user's allow and block lists (spamd_lists.c) hold patterns the
 *	user typed: the input is such a file, read for a message from
 *	fixed senders. Promises: the verdict is one of the three, and a
 *	line "block <sender>" appended after the input (as its own line,
 *	the file being under the size read) always blocks: an address is
 *	the most specific pattern and block wins a tie, whatever the bytes
 *	before it (NUL bytes and over-long lines included).
 *	Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spamd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* in memory where there is /dev/shm: a file is written per run */
static char shm[] = "/dev/shm/spamd_lists_fuzz.XXXXXX";
static char tmp[] = "/tmp/spamd_lists_fuzz.XXXXXX";
static const char *dir;

static void clean(void)
{
	char path[sizeof(shm) + 32];

	snprintf(path, sizeof(path), "%s/bob@example.net", dir);
	unlink(path);
	rmdir(dir);
}

static int verdict(const uint8_t *data, size_t size, const char *tail)
{
	static char senders[2][LIM_PATH + 1] = {
		"bounce@lists.example.org", "Alice@Example.COM"};
	char path[sizeof(shm) + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/bob@example.net", dir);
	f = fopen(path, "w");
	if (f == NULL || fwrite(data, 1, size, f) != size ||
		fputs(tail, f) == EOF || fclose(f) != 0)
		abort();
	return spamd_list_verdict(dir, "Bob@Example.NET", senders, 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int v = dir == NULL ? -1 : 0;

	if (dir == NULL && (dir = mkdtemp(shm)) == NULL &&
		(dir = mkdtemp(tmp)) == NULL)
		abort();
	if (v == -1)
		atexit(clean);
	v = verdict(data, size, "");
	if (v != SPAMD_LIST_NONE && v != SPAMD_LIST_ALLOW &&
		v != SPAMD_LIST_BLOCK)
		abort();
	if (size < 60000 &&
		verdict(data, size, "\nblock alice@example.com\n") !=
			SPAMD_LIST_BLOCK)
		abort();
	return 0;
}
