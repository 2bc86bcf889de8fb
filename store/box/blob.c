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
#include "pgdb.h"
#include "sbuf.h"

/* a body never grows past this on its way through the seam */
#define BLOB_MAX ((size_t)1 << 31)

int blob_encode(const char *owner, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen)
{
	(void)owner;
	if (sbuf_append(out, data, len) < 0) {
		snprintf(err, errlen, "message too large");
		return -1;
	}
	return 0;
}

int blob_decode(const char *owner, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen)
{
	(void)owner;
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
	rc = blob_encode(owner, data, len, &enc, err, errlen);
	if (rc == 0)
		rc = bs->ops->put(bs->ctx, enc.data ? enc.data : "", enc.len,
			id_r, err, errlen);
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
	if (rc == 0)
		rc = blob_decode(owner, raw.data ? raw.data : "", raw.len, out,
			err, errlen);
	sbuf_free(&raw);
	return rc;
}

int blob_delete(struct blob_store *bs, long long id, char *err, size_t errlen)
{
	return bs->ops->del(bs->ctx, id, err, errlen);
}

/* ---- PostgreSQL: table mbox_blobs(id, data bytea) ---- */

static int pg_put(void *ctx, const char *p, size_t n, long long *id_r,
	char *err, size_t errlen)
{
	const char *v[1] = {p};
	int lens[1];
	struct pgdb_res *r;

	if (n > INT_MAX) {
		snprintf(err, errlen, "message too large");
		return -1;
	}
	lens[0] = (int)n;
	r = pgdb_query(ctx,
		"INSERT INTO mbox_blobs(data) VALUES($1)"
		" RETURNING id",
		1, v, lens, 0, err, errlen);
	if (r == NULL)
		return -1;
	*id_r = pgdb_ll(r, 0, 0);
	pgdb_res_free(&r);
	return *id_r > 0 ? 0 : -1;
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

static const struct blob_ops pg_ops = {pg_put, pg_get, pg_del};

void blob_store_pg(struct blob_store *bs, struct pgdb *db)
{
	bs->ops = &pg_ops;
	bs->ctx = db;
}
