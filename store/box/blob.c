/*
 * NAME
 *	blob - message bodies by id; the encode/decode seam; PostgreSQL
 * DESCRIPTION
 *	See blob.h. blob_put() and blob_get() are the only callers of
 *	blob_encode() and blob_decode(). The PostgreSQL backend stores
 *	bytes as bytea, sent and read in binary (no escaping), with bound
 *	parameters.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "box_keys.h"
#include "pgdb.h"
#include "sbuf.h"

/* a body never grows past this on its way through the seam */
#define BLOB_MAX ((size_t)1 << 31)

/* the deployment key's user keys (blob_seal_with), NULL: in clear */
static struct box_keys *seal_keys;

void blob_seal_with(struct box_keys *k)
{
	seal_keys = k;
}

int blob_encode(const char *owner, long long id, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen)
{
	char num[24];

	if (seal_keys) {
		snprintf(num, sizeof(num), "%lld", id);
		return box_keys_seal(seal_keys, owner, num, strlen(num), data,
			len, out, err, errlen);
	}
	if (sbuf_append(out, data, len) < 0) {
		snprintf(err, errlen, "message too large");
		return -1;
	}
	return 0;
}

int blob_decode(const char *owner, long long id, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen)
{
	char num[24];

	if (seal_keys) {
		snprintf(num, sizeof(num), "%lld", id);
		return box_keys_unseal(seal_keys, owner, num, strlen(num), data,
			len, out, err, errlen);
	}
	/* never hand out a sealed body as if it were mail */
	if (box_seal_is_sealed(data, len)) {
		snprintf(err, errlen,
			"body %lld is sealed and box_key_file "
			"is not set",
			id);
		return -1;
	}
	if (sbuf_append(out, data, len) < 0) {
		snprintf(err, errlen, "message too large");
		return -1;
	}
	return 0;
}

int blob_put(struct blob_store *bs, const char *owner, const char *data,
	size_t len, long long *id_r, char *err, size_t errlen)
{
	struct sbuf enc;
	int rc;

	sbuf_init(&enc, BLOB_MAX);
	rc = bs->ops->new_id(bs->ctx, id_r, err, errlen);
	if (rc == 0)
		rc = blob_encode(owner, *id_r, data, len, &enc, err, errlen);
	if (rc == 0)
		rc = bs->ops->put(bs->ctx, *id_r, enc.data ? enc.data : "",
			enc.len, err, errlen);
	sbuf_free(&enc);
	return rc;
}

int blob_get(struct blob_store *bs, const char *owner, long long id,
	struct sbuf *out, char *err, size_t errlen)
{
	struct sbuf raw;
	int rc;

	sbuf_init(&raw, BLOB_MAX);
	rc = bs->ops->get(bs->ctx, id, &raw, err, errlen);
	/* there, but refused: not the same as gone */
	if (rc == 0 && blob_decode(owner, id, raw.data ? raw.data : "", raw.len,
			       out, err, errlen) < 0)
		rc = -2;
	sbuf_free(&raw);
	return rc;
}

int blob_delete(struct blob_store *bs, long long id, char *err, size_t errlen)
{
	return bs->ops->del(bs->ctx, id, err, errlen);
}

/* ---- PostgreSQL: table mbox_blobs(id, data bytea) ---- */

static int pg_new_id(void *ctx, long long *id_r, char *err, size_t errlen)
{
	struct pgdb_res *r;

	r = pgdb_query(ctx,
		"SELECT nextval(pg_get_serial_sequence("
		"'mbox_blobs', 'id'))",
		0, NULL, NULL, 0, err, errlen);
	if (r == NULL)
		return -1;
	*id_r = pgdb_rows(r) == 1 ? pgdb_ll(r, 0, 0) : 0;
	pgdb_res_free(&r);
	if (*id_r <= 0) {
		snprintf(err, errlen, "no new body id");
		return -1;
	}
	return 0;
}

static int pg_put(void *ctx, long long id, const char *p, size_t n, char *err,
	size_t errlen)
{
	char num[24];
	const char *v[2] = {num, p};
	int lens[2] = {-1, 0};
	struct pgdb_res *r;

	if (n > INT_MAX) {
		snprintf(err, errlen, "message too large");
		return -1;
	}
	snprintf(num, sizeof(num), "%lld", id);
	lens[1] = (int)n;
	r = pgdb_query(ctx, "INSERT INTO mbox_blobs(id, data) VALUES($1, $2)",
		2, v, lens, 0, err, errlen);
	if (r == NULL)
		return -1;
	pgdb_res_free(&r);
	return 0;
}

static int pg_get(
	void *ctx, long long id, struct sbuf *out, char *err, size_t errlen)
{
	char num[24];
	const char *v[1] = {num};
	struct pgdb_res *r;
	int rc = 0;

	snprintf(num, sizeof(num), "%lld", id);
	r = pgdb_query(ctx, "SELECT data FROM mbox_blobs WHERE id = $1", 1, v,
		NULL, 1, err, errlen);
	if (r == NULL)
		return -1;
	if (pgdb_rows(r) != 1 || pgdb_value(r, 0, 0) == NULL) {
		snprintf(err, errlen, "body %lld missing", id);
		rc = -1;
	} else if (sbuf_append(out, pgdb_value(r, 0, 0), pgdb_len(r, 0, 0)) <
		   0) {
		snprintf(err, errlen, "body %lld too large", id);
		rc = -1;
	}
	pgdb_res_free(&r);
	return rc;
}

static int pg_del(void *ctx, long long id, char *err, size_t errlen)
{
	char num[24];
	const char *v[1] = {num};

	snprintf(num, sizeof(num), "%lld", id);
	return pgdb_run(
		ctx, "DELETE FROM mbox_blobs WHERE id = $1", 1, v, err, errlen);
}

static const struct blob_ops pg_ops = {pg_new_id, pg_put, pg_get, pg_del};

void blob_store_pg(struct blob_store *bs, struct pgdb *db)
{
	bs->ops = &pg_ops;
	bs->ctx = db;
}
