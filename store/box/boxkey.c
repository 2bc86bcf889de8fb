/*
 * NAME
 *	sluice-boxkey - the access boxes' deployment key: make, show, rotate
 * SYNOPSIS
 *	sluice-boxkey keygen FILE
 *	sluice-boxkey id FILE
 *	sluice-boxkey -d postgresql://... rotate --old FILE --new FILE
 * DESCRIPTION
 *	keygen writes a new random deployment key to FILE (mode 0400; an
 *	existing file is never replaced) and prints its id. id prints the
 *	id of the key in FILE (after the same checks a box makes: owner,
 *	mode 0400 or 0600). rotate re-wraps every user key in the boxes'
 *	database (table mbox_user_keys) from the old deployment key to the
 *	new one in one transaction; message bodies are not rewritten, and
 *	from then on the old key opens nothing. Give the boxes the new file
 *	(box_key_file) and restart them, then run rotate once more: it
 *	re-wraps any user key that a box still on the old key made in
 *	between, and checks the others. Key material is never printed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pgdb.h"

#include "box_keys.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: sluice-boxkey keygen FILE\n"
		"       sluice-boxkey id FILE\n"
		"       sluice-boxkey -d postgresql://... rotate --old FILE "
		"--new FILE\n");
	_exit(2);
}

static int rotate(const char *uri, const char *old_file, const char *new_file)
{
	unsigned char old[BOX_SEAL_KEY_LEN], new_key[BOX_SEAL_KEY_LEN];
	char err[512], old_id[BOX_SEAL_ID_LEN], new_id[BOX_SEAL_ID_LEN];
	struct pgdb *db = NULL;
	long rewrapped, kept;
	int rc = 1;

	if (box_seal_key_load(old_file, old, err, sizeof(err)) < 0 ||
		box_seal_key_load(new_file, new_key, err, sizeof(err)) < 0 ||
		(db = pgdb_open(uri, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice-boxkey: %s\n", err);
		goto out;
	}
	box_seal_key_id(old, old_id);
	box_seal_key_id(new_key, new_id);
	if (box_keys_rotate(db, old, new_key, &rewrapped, &kept, err,
		    sizeof(err)) < 0) {
		fprintf(stderr, "sluice-boxkey: rotate: %s: nothing changed\n",
			err);
		goto out;
	}
	printf("rotated from key %s to key %s: %ld user keys re-wrapped, "
	       "%ld already under the new key\n",
		old_id, new_id, rewrapped, kept);
	rc = 0;
out:
	explicit_bzero(old, sizeof(old));
	explicit_bzero(new_key, sizeof(new_key));
	pgdb_close(&db);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned char key[BOX_SEAL_KEY_LEN];
	char err[512], id[BOX_SEAL_ID_LEN];
	const char *uri = NULL, *old_file = NULL, *new_file = NULL;
	int i = 1;

	log_open("sluice-boxkey", 0);
	if (argc > 2 && !strcmp(argv[1], "-d")) {
		uri = argv[2];
		i = 3;
	}
	if (argc == i + 2 && !strcmp(argv[i], "keygen")) {
		if (box_seal_key_generate(argv[i + 1], id, err, sizeof(err)) <
			0) {
			fprintf(stderr, "sluice-boxkey: %s\n", err);
			return 1;
		}
		printf("%s: new deployment key, id %s\n", argv[i + 1], id);
		return 0;
	}
	if (argc == i + 2 && !strcmp(argv[i], "id")) {
		if (box_seal_key_load(argv[i + 1], key, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluice-boxkey: %s\n", err);
			return 1;
		}
		box_seal_key_id(key, id);
		explicit_bzero(key, sizeof(key));
		printf("%s\n", id);
		return 0;
	}
	if (uri == NULL || argc != i + 5 || strcmp(argv[i], "rotate"))
		usage();
	for (i++; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--old"))
			old_file = argv[i + 1];
		else if (!strcmp(argv[i], "--new"))
			new_file = argv[i + 1];
		else
			usage();
	}
	if (old_file == NULL || new_file == NULL)
		usage();
	return rotate(uri, old_file, new_file);
}
