/*
 * NAME
 *	blob - message bodies of the access boxes, stored by id
 * DESCRIPTION
 *	The PostgreSQL mailbox backend (store_mbox_pg.c) keeps a message's
 *	bytes apart from its metadata, behind this interface: put gives
 *	an id, get and delete take it. The one backend today is a bytea
 *	table (mbox_blobs) in the mailbox database, written in the same
 *	transaction as the message's row, so a body is never orphaned nor
 *	missing; another backend (an S3-compatible store) would put first
 *	and collect orphans later.
 *
 *	THE SEAM. Every body on its way to storage passes blob_encode(),
 *	every body read back blob_decode(), both called only inside
 *	blob_put() and blob_get() here (store/box/blob.c), and nowhere
 *	else: that is where per-message encryption is wired. With
 *	box_key_file set, bodies are sealed (a random key per message
 *	wrapped by the owner's key, store/box/box_keys.h, box_seal.h), the
 *	owner and the body's id bound into the seal, so blob_put() takes
 *	the id first (new_id) and seals before it stores. Without it, both
 *	are the identity. Mail layer; trusts the storage's bytes only
 *	through blob_decode().
 */
#ifndef SLUICE_BLOB_H
#define SLUICE_BLOB_H

#include <stddef.h>

struct pgdb;
struct sbuf;

struct blob_ops {
	/* a new id, never given before (the seal binds it). 0 or -1 */
	int (*new_id)(void *ctx, long long *id_r, char *err, size_t errlen);
	/* store n bytes under id (from new_id). 0 or -1 with err */
	int (*put)(void *ctx, long long id, const char *p, size_t n, char *err,
		size_t errlen);
	/* append the bytes of id to out. 0, or -1 with err */
	int (*get)(void *ctx, long long id, struct sbuf *out, char *err,
		size_t errlen);
	/* forget id (gone already: 0). 0 or -1 with err */
	int (*del)(void *ctx, long long id, char *err, size_t errlen);
};

struct blob_store {
	const struct blob_ops *ops;
	void *ctx;
};

/* The PostgreSQL backend on connection db (table mbox_blobs, created
 * with the mailbox schema); bs is filled, nothing allocated. Its calls
 * join the transaction open on db, if any. */
void blob_store_pg(struct blob_store *bs, struct pgdb *db);

/* Store the body data[0..len) of a message of owner (local@domain):
 * blob_encode(), then the backend. Its id in *id_r. 0 or -1 with err. */
int blob_put(struct blob_store *bs, const char *owner, const char *data,
	size_t len, long long *id_r, char *err, size_t errlen);
/* Append the body id of owner to out: the backend, then blob_decode().
 * 0, -1 with err (missing, the storage failed), or -2 with err (there,
 * but refused by blob_decode: damaged, not this owner's or this id's,
 * or no key to open it). */
int blob_get(struct blob_store *bs, const char *owner, long long id,
	struct sbuf *out, char *err, size_t errlen);
/* Forget body id. 0 or -1 with err. */
int blob_delete(struct blob_store *bs, long long id, char *err, size_t errlen);

/* The seam (see above): the bytes of owner's body id as they are to be
 * stored, and back. Append to out; 0, or -1 with err. Sealed under k's
 * keys once blob_seal_with(k) was called (box_keys.h: the owner and id
 * bound into the seal; a stored body that is not sealed, or does not
 * open, is refused); else the identity, refusing a sealed body. */
int blob_encode(const char *owner, long long id, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen);
int blob_decode(const char *owner, long long id, const char *data, size_t len,
	struct sbuf *out, char *err, size_t errlen);
/* Seal every body of this process with k (box_key_file), from start-up
 * on, before any thread stores or reads one; NULL: in clear. */
struct box_keys;
void blob_seal_with(struct box_keys *k);

#endif
