/*
 * NAME
 *	box_keys - the access boxes' user keys in PostgreSQL, and rotation
 * DESCRIPTION
 *	See box_keys.h. The table holds, per user, the deployment key's id
 *	and the user key wrapped by it (box_seal.h gives the format); a row
 *	is validated again when read (length, version, tag). Two boxes that
 *	make a user's first key at once both insert; the first insert wins
 *	(ON CONFLICT DO NOTHING) and both then use the stored key. The
 *	cache of unwrapped keys is guarded by a mutex, so a worker thread
 *	may seal too; its keys are wiped when freed. SQL always with bound
 *	parameters, through common/pgdb.c (the one libpq adapter).
 */
#include "box_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pgdb.h"
#include "sbuf.h"
#include "tls.h"

#define CACHE_BUCKETS 1024
/* one advisory lock number for making the table (any fixed number) */
#define SCHEMA_LOCK "7418002"

struct user_key {
	struct user_key *next;
	unsigned char key[BOX_SEAL_KEY_LEN];
	char user[];
};

struct box_keys {
	unsigned char dkey[BOX_SEAL_KEY_LEN];
	char id[BOX_SEAL_ID_LEN];
	int refuse;           /* the key file is not the deployment key */
	struct pgdb *db;      /* the keys' own connection (box_keys_connect) */
	pthread_mutex_t lock; /* the cache and db */
	struct user_key *cache[CACHE_BUCKETS];
};

struct box_keys *box_keys_new(const char *key_file, char *err, size_t errlen)
{
	struct box_keys *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (box_seal_key_load(key_file, k->dkey, err, errlen) < 0) {
		free(k);
		return NULL;
	}
	box_seal_key_id(k->dkey, k->id);
	pthread_mutex_init(&k->lock, NULL);
	return k;
}

void box_keys_free(struct box_keys **kp)
{
	struct box_keys *k = *kp;
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < CACHE_BUCKETS; i++) {
		struct user_key *u, *next;

		for (u = k->cache[i]; u; u = next) {
			next = u->next;
			explicit_bzero(u->key, sizeof(u->key));
			free(u);
		}
	}
	pgdb_close(&k->db);
	pthread_mutex_destroy(&k->lock);
	explicit_bzero(k, sizeof(*k));
	free(k);
	*kp = NULL;
}

const char *box_keys_id(const struct box_keys *k)
{
	return k->id;
}

int box_keys_schema(struct pgdb *db, char *err, size_t errlen)
{
	char ignore[8];

	/* an advisory lock: boxes starting together do not race to make it */
	if (pgdb_exec(db,
		    "BEGIN; SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ");"
		    "CREATE TABLE IF NOT EXISTS " BOX_KEYS_TABLE " ("
		    " owner text PRIMARY KEY,"
		    " key_id text NOT NULL,"
		    " wrapped bytea NOT NULL,"
		    " created timestamptz NOT NULL DEFAULT now());"
		    "COMMIT",
		    err, errlen) == 0)
		return 0;
	pgdb_exec(db, "ROLLBACK", ignore, sizeof(ignore));
	return -1;
}

int box_keys_connect(
	struct box_keys *k, const char *uri, char *err, size_t errlen)
{
	k->db = pgdb_open(uri, err, errlen);
	if (k->db == NULL)
		return -1;
	return box_keys_check(k, k->db, err, errlen);
}

int box_keys_check(
	struct box_keys *k, struct pgdb *db, char *err, size_t errlen)
{
	struct pgdb_res *r;
	long ours = 0, others = 0;
	char other[BOX_SEAL_ID_LEN] = "";
	int i;

	if (box_keys_schema(db, err, errlen) < 0)
		return -1;
	r = pgdb_query(db,
		"SELECT key_id, count(*) FROM " BOX_KEYS_TABLE
		" GROUP BY key_id",
		0, NULL, NULL, 0, err, errlen);
	if (r == NULL)
		return -1;
	for (i = 0; i < pgdb_rows(r); i++) {
		const char *id = pgdb_value(r, i, 0);

		if (id && strcmp(id, k->id) == 0) {
			ours += pgdb_ll(r, i, 1);
		} else {
			others += pgdb_ll(r, i, 1);
			snprintf(other, sizeof(other), "%s", id ? id : "");
		}
	}
	pgdb_res_free(&r);
	if (others > 0 && ours == 0) {
		k->refuse = 1;
		snprintf(err, errlen,
			"box_key_file (id %s) is not the "
			"deployment key: the %ld user keys in the database "
			"are wrapped by key id %s; refusing to store or serve "
			"message bodies",
			k->id, others, other);
		return -2;
	}
	if (others > 0)
		log_warn("box keys: %ld user keys wrapped by deployment key "
			 "%s, %ld by ours (%s): a rotation is under way; run "
			 "sluice-boxkey rotate again",
			others, other, ours, k->id);
	return 0;
}

static size_t bucket(const char *user)
{
	size_t h = 5381;

	for (; *user; user++)
		h = h * 33 + (unsigned char)*user;
	return h % CACHE_BUCKETS;
}

static int cache_get(struct box_keys *k, const char *user,
	unsigned char key[BOX_SEAL_KEY_LEN])
{
	struct user_key *u;
	int found = 0;

	for (u = k->cache[bucket(user)]; u && !found; u = u->next)
		if (strcmp(u->user, user) == 0) {
			memcpy(key, u->key, BOX_SEAL_KEY_LEN);
			found = 1;
		}
	return found;
}

static void cache_put(struct box_keys *k, const char *user,
	const unsigned char key[BOX_SEAL_KEY_LEN])
{
	size_t len = strlen(user) + 1, b = bucket(user);
	struct user_key *u = malloc(sizeof(*u) + len);

	if (u == NULL)
		return; /* uncached: unwrapped again next time */
	memcpy(u->key, key, BOX_SEAL_KEY_LEN);
	memcpy(u->user, user, len);
	u->next = k->cache[b];
	k->cache[b] = u;
}

/* the stored row of user, unwrapped: 1, 0 when there is none, -1 */
static int row_get(struct box_keys *k, struct pgdb *db, const char *user,
	unsigned char key[BOX_SEAL_KEY_LEN], char *err, size_t errlen)
{
	const char *vals[1] = {user};
	struct pgdb_res *r;
	const char *id;
	int rc = -1;

	r = pgdb_query(db,
		"SELECT key_id, wrapped FROM " BOX_KEYS_TABLE
		" WHERE owner = $1",
		1, vals, NULL, 1, err, errlen);
	if (r == NULL)
		return -1;
	id = pgdb_rows(r) == 1 ? pgdb_value(r, 0, 0) : NULL;
	if (pgdb_rows(r) == 0) {
		rc = 0;
	} else if (id == NULL || strcmp(id, k->id) != 0) {
		snprintf(err, errlen,
			"user key of %s is wrapped by deployment "
			"key id %.16s, box_key_file is id %s: wrong key file, "
			"or run sluice-boxkey rotate",
			user, id ? id : "?", k->id);
	} else if (box_seal_unwrap_user(k->dkey, user, pgdb_value(r, 0, 1),
			   pgdb_len(r, 0, 1), key) < 0) {
		snprintf(err, errlen,
			"user key of %s does not open with "
			"deployment key %s: the row was changed or moved",
			user, k->id);
	} else {
		rc = 1;
	}
	pgdb_res_free(&r);
	return rc;
}

/* make user's key and store it, unless another box was first */
static int row_make(struct box_keys *k, struct pgdb *db, const char *user,
	char *err, size_t errlen)
{
	unsigned char key[BOX_SEAL_KEY_LEN], w[BOX_SEAL_WRAPPED_LEN];
	const char *vals[3] = {user, k->id, (const char *)w};
	const int lens[3] = {-1, -1, BOX_SEAL_WRAPPED_LEN};
	struct pgdb_res *r = NULL;

	if (tls_random(key, sizeof(key)) == 0 &&
		box_seal_wrap_user(k->dkey, user, key, w) == 0)
		r = pgdb_query(db,
			"INSERT INTO " BOX_KEYS_TABLE
			" (owner, key_id, wrapped) VALUES ($1, $2,"
			" $3) ON CONFLICT (owner) DO NOTHING",
			3, vals, lens, 0, err, errlen);
	else
		snprintf(err, errlen, "cannot make a user key");
	explicit_bzero(key, sizeof(key));
	if (r == NULL)
		return -1;
	pgdb_res_free(&r);
	return 0;
}

/* user's key: cached, stored, or (create) new. 0, or -1 with err */
static int user_key(struct box_keys *k, const char *user, int create,
	unsigned char key[BOX_SEAL_KEY_LEN], char *err, size_t errlen)
{
	int got;

	if (k->refuse) {
		snprintf(err, errlen,
			"box_key_file (id %s) is not the "
			"deployment key: message bodies refused",
			k->id);
		return -1;
	}
	pthread_mutex_lock(&k->lock);
	got = cache_get(k, user, key);
	if (got == 0 && k->db == NULL) {
		snprintf(err, errlen, "no connection for the user keys");
		got = -1;
	}
	if (got == 0)
		got = row_get(k, k->db, user, key, err, errlen);
	/* made on the keys' own connection, committed at once: a key is
	 * stored before any body is sealed with it, whatever becomes of
	 * the transaction of that body */
	if (got == 0 && create && row_make(k, k->db, user, err, errlen) == 0)
		got = row_get(k, k->db, user, key, err, errlen);
	if (got == 0)
		snprintf(err, errlen, "no user key for %s", user);
	if (got > 0)
		cache_put(k, user, key);
	pthread_mutex_unlock(&k->lock);
	return got > 0 ? 0 : -1;
}

int box_keys_seal(struct box_keys *k, const char *user, const void *id,
	size_t idlen, const void *body, size_t n, struct sbuf *out, char *err,
	size_t errlen)
{
	unsigned char key[BOX_SEAL_KEY_LEN];
	int rc = -1;

	if (user_key(k, user, 1, key, err, errlen) < 0)
		return -1;
	rc = box_seal_body(key, user, id, idlen, body, n, out);
	if (rc < 0)
		snprintf(err, errlen, "cannot seal a body of %s (%zu bytes)",
			user, n);
	explicit_bzero(key, sizeof(key));
	return rc;
}

int box_keys_unseal(struct box_keys *k, const char *user, const void *id,
	size_t idlen, const void *blob, size_t n, struct sbuf *out, char *err,
	size_t errlen)
{
	unsigned char key[BOX_SEAL_KEY_LEN];
	int rc;

	if (user_key(k, user, 0, key, err, errlen) < 0)
		return -1;
	rc = box_seal_open(key, user, id, idlen, blob, n, out, err, errlen);
	explicit_bzero(key, sizeof(key));
	return rc;
}

/* one row of a rotation: re-wrapped (1), kept (0), or -1 with err */
static int rotate_row(struct pgdb *db, struct pgdb_res *r, int i,
	const unsigned char *old, const char *old_id,
	const unsigned char *new_key, const char *new_id, char *err,
	size_t errlen)
{
	const char *user = pgdb_value(r, i, 0), *id = pgdb_value(r, i, 1);
	const void *w = pgdb_value(r, i, 2);
	size_t wlen = pgdb_len(r, i, 2);
	unsigned char key[BOX_SEAL_KEY_LEN], nw[BOX_SEAL_WRAPPED_LEN];
	const char *vals[3] = {user, new_id, (const char *)nw};
	const int lens[3] = {-1, -1, BOX_SEAL_WRAPPED_LEN};
	struct pgdb_res *u = NULL;
	int rc = -1;

	if (user == NULL || id == NULL) {
		snprintf(err, errlen, "a row without a user or key id");
		return -1;
	}
	if (strcmp(id, new_id) == 0) {
		rc = box_seal_unwrap_user(new_key, user, w, wlen, key) == 0
			     ? 0
			     : -1;
	} else if (strcmp(id, old_id) != 0) {
		snprintf(err, errlen,
			"user key of %s is wrapped by key id "
			"%.16s, neither the old (%s) nor the new (%s)",
			user, id, old_id, new_id);
		return -1;
	} else if (box_seal_unwrap_user(old, user, w, wlen, key) == 0 &&
		   box_seal_wrap_user(new_key, user, key, nw) == 0 &&
		   (u = pgdb_query(db,
			    "UPDATE " BOX_KEYS_TABLE " SET key_id"
			    " = $2, wrapped = $3 WHERE owner = $1",
			    3, vals, lens, 0, err, errlen)) != NULL) {
		rc = 1;
	}
	pgdb_res_free(&u);
	explicit_bzero(key, sizeof(key));
	if (rc < 0 && u == NULL && !err[0])
		snprintf(err, errlen,
			"user key of %s does not open with its "
			"key (%.16s): damaged row",
			user, id);
	return rc;
}

int box_keys_rotate(struct pgdb *db, const unsigned char old[BOX_SEAL_KEY_LEN],
	const unsigned char new_key[BOX_SEAL_KEY_LEN], long *rewrapped,
	long *kept, char *err, size_t errlen)
{
	char old_id[BOX_SEAL_ID_LEN], new_id[BOX_SEAL_ID_LEN];
	struct pgdb_res *r = NULL;
	int i, rc = 0;

	*rewrapped = *kept = 0;
	err[0] = '\0';
	box_seal_key_id(old, old_id);
	box_seal_key_id(new_key, new_id);
	if (strcmp(old_id, new_id) == 0) {
		snprintf(err, errlen,
			"the old and the new key are the same "
			"(id %s)",
			old_id);
		return -1;
	}
	if (box_keys_schema(db, err, errlen) < 0)
		return -1;
	/* pgdb_begin: a connection lost mid-way is never made again
	 * behind our back, so it is all or nothing */
	if (pgdb_begin(db, err, errlen) < 0)
		return -1;
	r = pgdb_query(db,
		"SELECT owner, key_id, wrapped FROM " BOX_KEYS_TABLE
		" ORDER BY owner FOR UPDATE",
		0, NULL, NULL, 1, err, errlen);
	if (r == NULL)
		rc = -1;
	for (i = 0; rc == 0 && i < pgdb_rows(r); i++) {
		int one = rotate_row(
			db, r, i, old, old_id, new_key, new_id, err, errlen);

		if (one < 0)
			rc = -1;
		else if (one == 1)
			(*rewrapped)++;
		else
			(*kept)++;
	}
	pgdb_res_free(&r);
	if (rc == 0 && pgdb_commit(db, err, errlen) == 0)
		return 0;
	pgdb_rollback(db);
	*rewrapped = *kept = 0;
	return -1;
}
