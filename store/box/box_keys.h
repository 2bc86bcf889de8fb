/*
 * NAME
 *	box_keys - the access boxes' user keys in PostgreSQL, and rotation
 * DESCRIPTION
 *	Each user's key is made on first use, stored wrapped by the
 *	deployment key in the table mbox_user_keys (beside the boxes' own
 *	tables), and kept unwrapped in the box's memory from then on. The
 *	bodies themselves are sealed and opened here through box_seal.c.
 *	A box whose key file is not the deployment key the rows are wrapped
 *	with refuses to store or serve bodies, and says so. Rotation
 *	re-wraps every user key under a new deployment key in one
 *	transaction; bodies are not touched.
 */
#ifndef SLUICE_BOX_KEYS_H
#define SLUICE_BOX_KEYS_H

#include <stddef.h>

#include "box_seal.h"

struct box_keys;
struct pgdb;
struct sbuf;

/* The table, made by box_keys_open() (and by the boxes' schema). */
#define BOX_KEYS_TABLE "mbox_user_keys"

/* Read the deployment key from key_file (box_seal_key_load's checks).
 * NULL with a reason in err. */
struct box_keys *box_keys_new(const char *key_file, char *err, size_t errlen);
/* Wipe the keys, free, clear *k (NULL: nothing). */
void box_keys_free(struct box_keys **k);
/* The deployment key's id. */
const char *box_keys_id(const struct box_keys *k);

/* Make the table if missing (boxes starting together do not race). 0,
 * or -1 with err. */
int box_keys_schema(struct pgdb *db, char *err, size_t errlen);
/* Connect to the mailbox database at uri on the keys' own connection
 * (user keys are made there and committed at once, before any body is
 * sealed with them), then box_keys_check(). 0, -1 or -2 as it. */
int box_keys_connect(
	struct box_keys *k, const char *uri, char *err, size_t errlen);
/* Make the table if missing and check the rows against the deployment
 * key: 0, -1 with err (database), or -2 with err when no row is wrapped
 * by this key but some are by another: the key file is wrong, and k
 * refuses every body from now on. Rows under another key beside ours
 * (a rotation under way) are logged. */
int box_keys_check(
	struct box_keys *k, struct pgdb *db, char *err, size_t errlen);

/* Seal body[0..n) of user's blob id[0..idlen) (appended to out),
 * making the user's key first if it has none. Any thread. 0, or -1 with
 * err. */
int box_keys_seal(struct box_keys *k, const char *user, const void *id,
	size_t idlen, const void *body, size_t n, struct sbuf *out, char *err,
	size_t errlen);
/* Open user's sealed blob id (the body appended to out). Any thread. 0,
 * or -1 with err: no key, a key under another deployment key, a blob
 * that does not open; nothing is appended then. */
int box_keys_unseal(struct box_keys *k, const char *user, const void *id,
	size_t idlen, const void *blob, size_t n, struct sbuf *out, char *err,
	size_t errlen);

/* Re-wrap every user key under new in one transaction: rows under old
 * are re-wrapped, rows already under new are checked and kept (a
 * second run finishes what boxes still on the old key made meanwhile),
 * a row under any other key or one that does not open stops it with
 * nothing changed. Counts in *rewrapped and *kept. 0, or -1 with err. */
int box_keys_rotate(struct pgdb *db, const unsigned char old[BOX_SEAL_KEY_LEN],
	const unsigned char new_key[BOX_SEAL_KEY_LEN], long *rewrapped,
	long *kept, char *err, size_t errlen);

#endif
