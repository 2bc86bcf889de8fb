/*
 * NAME
 *	store_mbox_pgdir - folder management and LMTP delivery in PostgreSQL
 * DESCRIPTION
 *	The PostgreSQL side of LIST, CREATE, DELETE, RENAME, SUBSCRIBE,
 *	the first login's default folders, the quota usage, and
 *	mbox_deliver(): a batch of LMTP deliveries in one transaction (the
 *	group commit of the database), on a connection of its own that only
 *	the store's commit thread uses. Folder names were checked by the
 *	callers (store_mbox_folders.c) before they come here. See
 *	store_mbox_pg.c for the schema.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "log.h"
#include "pgdb.h"
#include "store_mbox_int.h"

#define OWNER_MAX 512

int mbpg_names(struct mbox_store *st, const char *user, int subs,
	void (*add)(void *arg, const char *name), void *arg)
{
	char owner[OWNER_MAX], err[256];
	const char *v[1] = {owner};
	struct pgdb_res *r;
	const char *name;
	int i;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return -1;
	r = pgdb_query(st->pg->db,
		subs ? "SELECT name FROM mbox_subscriptions WHERE owner = $1"
		     : "SELECT name FROM mbox_folders WHERE owner = $1"
		       " AND name <> 'INBOX'",
		1, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	for (i = 0; i < pgdb_rows(r); i++)
		if ((name = pgdb_value(r, i, 0)) != NULL &&
			(mb_is_inbox(name) || mb_valid_name(name)))
			add(arg, name);
	pgdb_res_free(&r);
	return 0;
}

int mbpg_subscribe(
	struct mbox_store *st, const char *user, const char *name, int on)
{
	char owner[OWNER_MAX], err[256];
	const char *v[2] = {owner, name};

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return -1;
	if (pgdb_run(st->pg->db,
		    on ? "INSERT INTO mbox_subscriptions"
			 " VALUES($1, $2) ON CONFLICT DO NOTHING"
		       : "DELETE FROM mbox_subscriptions WHERE owner = $1 AND"
			 " name = $2",
		    2, v, err, sizeof(err)) < 0) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	return 0;
}

int mbpg_create(struct mbox_store *st, const char *user, const char *name)
{
	char owner[OWNER_MAX], err[256];
	const char *v[2] = {owner, name};
	struct pgdb_res *r;
	long long id;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return -1;
	if ((id = mbpg_folder_id(st, user, name, err, sizeof(err))) > 0)
		return 1;
	r = id < 0 ? NULL
		   : pgdb_query(st->pg->db,
			     "SELECT mbox_folder($1,"
			     " $2, true)",
			     2, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	pgdb_res_free(&r);
	return 0;
}

int mbpg_delete(struct mbox_store *st, long long id)
{
	struct pgdb *db = st->pg->db;
	char fid[24], err[256];
	const char *v[1] = {fid};
	struct blob_store bs;
	struct pgdb_res *r = NULL;
	int i;

	snprintf(fid, sizeof(fid), "%lld", id);
	blob_store_pg(&bs, db);
	if (pgdb_begin(db, err, sizeof(err)) < 0 ||
		(r = pgdb_query(db,
			 "SELECT blob FROM mbox_messages WHERE"
			 " folder = $1",
			 1, v, NULL, 0, err, sizeof(err))) == NULL)
		goto fail;
	for (i = 0; i < pgdb_rows(r); i++)
		if (blob_delete(&bs, pgdb_ll(r, i, 0), err, sizeof(err)) < 0)
			goto fail;
	if (pgdb_run(db, "DELETE FROM mbox_folders WHERE id = $1", 1, v, err,
		    sizeof(err)) < 0 ||
		pgdb_commit(db, err, sizeof(err)) < 0)
		goto fail;
	pgdb_res_free(&r);
	return 0;
fail:
	pgdb_res_free(&r);
	pgdb_rollback(db);
	log_warn("mailbox store: delete: %s", err);
	return -1;
}

/* RFC 3501 6.3.5: INBOX's messages move to the new folder (new UIDs in
 * their order, keywords as they were), INBOX stays, empty. Its row is
 * locked first: a delivery meanwhile waits, and lands after. */
static int rename_inbox(struct pgdb *db, const char *owner, const char *to,
	char *err, size_t errlen)
{
	const char *v[2] = {owner, to};
	char in[24], nw[24];
	const char *w[2] = {in, nw};
	struct pgdb_res *r;
	long long a, b;

	r = pgdb_query(db,
		"SELECT id FROM mbox_folders WHERE owner = $1 AND"
		" name = 'INBOX' FOR UPDATE",
		1, v, NULL, 0, err, errlen);
	a = r && pgdb_rows(r) == 1 ? pgdb_ll(r, 0, 0) : 0;
	pgdb_res_free(&r);
	r = a > 0 ? pgdb_query(db, "SELECT mbox_folder($1, $2, true)", 2, v,
			    NULL, 0, err, errlen)
		  : NULL;
	b = r ? pgdb_ll(r, 0, 0) : 0;
	pgdb_res_free(&r);
	if (a <= 0 || b <= 0)
		return -1;
	snprintf(in, sizeof(in), "%lld", a);
	snprintf(nw, sizeof(nw), "%lld", b);
	return pgdb_run(db,
		       "UPDATE mbox_folders SET keywords = (SELECT"
		       " keywords FROM mbox_folders WHERE id = $1) WHERE id = "
		       "$2",
		       2, w, err, errlen) < 0 ||
			       pgdb_run(db,
				       "WITH s AS (SELECT uid, flags, "
				       "keywords, size,"
				       " internaldate, blob, row_number() OVER "
				       "(ORDER BY uid)"
				       " AS k FROM mbox_messages WHERE folder "
				       "= $1),"
				       " c AS (SELECT count(*) AS n FROM s),"
				       " u AS (UPDATE mbox_folders SET uidnext "
				       "= uidnext + c.n,"
				       " modseq = modseq + 1 FROM c WHERE id = "
				       "$2"
				       " RETURNING uidnext - c.n AS base, "
				       "modseq)"
				       " INSERT INTO mbox_messages(folder, "
				       "uid, flags, keywords,"
				       " size, internaldate, modseq, blob) "
				       "SELECT $2,"
				       " u.base + s.k - 1, s.flags, "
				       "s.keywords, s.size,"
				       " s.internaldate, u.modseq, s.blob FROM "
				       "s, u",
				       2, w, err, errlen) < 0 ||
			       pgdb_run(db,
				       "WITH f AS (UPDATE mbox_folders SET "
				       "modseq ="
				       " modseq + 1 WHERE id = $1 RETURNING "
				       "modseq),"
				       " d AS (DELETE FROM mbox_messages WHERE "
				       "folder = $1"
				       " RETURNING uid) INSERT INTO "
				       "mbox_expunged(folder, uid,"
				       " modseq) SELECT $1, d.uid, f.modseq "
				       "FROM d, f"
				       " ON CONFLICT (folder, uid) DO UPDATE"
				       " SET modseq = EXCLUDED.modseq",
				       1, w, err, errlen) < 0
		       ? -1
		       : 0;
}

int mbpg_rename(struct mbox_store *st, const char *user, const char *from,
	const char *to, char *err, size_t errlen)
{
	struct pgdb *db = st->pg->db;
	char owner[OWNER_MAX], why[256];
	const char *v[3] = {owner, from, to};
	int rc;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0) {
		snprintf(err, errlen, "invalid user name");
		return -1;
	}
	if (pgdb_begin(db, why, sizeof(why)) < 0)
		goto fail;
	if (mb_is_inbox(from))
		rc = rename_inbox(db, owner, to, why, sizeof(why));
	else
		rc = pgdb_run(db,
			"UPDATE mbox_folders SET name = $3 ||"
			" substr(name, length($2) + 1), modseq = modseq"
			" + 1 WHERE owner = $1 AND (name = $2 OR"
			" left(name, length($2) + 1) = $2 || '.')",
			3, v, why, sizeof(why));
	if (rc < 0 || pgdb_commit(db, why, sizeof(why)) < 0)
		goto fail;
	return 0;
fail:
	pgdb_rollback(db);
	log_warn("mailbox store: rename: %s", why);
	snprintf(err, errlen, "cannot rename the mailbox");
	return -1;
}

int mbpg_first_time(struct mbox_store *st, const char *user)
{
	char owner[OWNER_MAX], err[256];
	const char *v[1] = {owner};
	struct pgdb_res *r;
	int n;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return -1;
	r = pgdb_query(st->pg->db,
		"INSERT INTO mbox_users VALUES($1)"
		" ON CONFLICT DO NOTHING RETURNING owner",
		1, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	n = pgdb_rows(r);
	pgdb_res_free(&r);
	return n == 1;
}

long long mbpg_usage(struct mbox_store *st, const char *user)
{
	char owner[OWNER_MAX], err[256];
	const char *v[1] = {owner};
	struct pgdb_res *r;
	long long n;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return 0;
	r = pgdb_query(st->pg->db,
		"SELECT COALESCE(sum(m.size), 0) FROM"
		" mbox_messages m JOIN mbox_folders f ON m.folder = f.id"
		" WHERE f.owner = $1",
		1, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return 0;
	}
	n = pgdb_ll(r, 0, 0);
	pgdb_res_free(&r);
	return n > 0 ? n : 0;
}

/* ---- LMTP delivery (the commit thread) ---- */

int mbox_is_db(const struct mbox_store *st)
{
	return st != NULL && st->pg != NULL;
}

/* By owner, then folder: every batch locks folders in one order, so two
 * boxes' batches never wait for each other in a circle. */
static int by_folder(const void *a, const void *b)
{
	const struct mbox_delivery *x = *(const struct mbox_delivery *const *)a;
	const struct mbox_delivery *y = *(const struct mbox_delivery *const *)b;
	int c = strcmp(x->owner, y->owner);

	return c ? c : strcmp(x->folder, y->folder);
}

/* One message of the batch, under a savepoint: a failure costs that
 * message alone. 0 or -1 with err. */
static int deliver_one(
	struct pgdb *db, struct mbox_delivery *d, char *err, size_t errlen)
{
	const char *v[2] = {d->owner, d->folder};
	struct pgdb_res *r;
	long long id;
	uint32_t uid;
	char *all;
	int rc;

	/* the whole message now, one at a time: a list's recipients share
	 * the body until here */
	if (d->headlen > SIZE_MAX - d->len - 1 ||
		(all = malloc(d->headlen + d->len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(all, d->head, d->headlen);
	memcpy(all + d->headlen, d->data, d->len);
	if (pgdb_exec(db, "SAVEPOINT m", err, errlen) < 0) {
		free(all);
		return -1;
	}
	r = pgdb_query(db, "SELECT mbox_folder($1, $2, true)", 2, v, NULL, 0,
		err, errlen);
	id = r ? pgdb_ll(r, 0, 0) : 0;
	if (r != NULL && id <= 0)
		snprintf(err, errlen, "no folder %s", d->folder);
	pgdb_res_free(&r);
	rc = id > 0 ? mbpg_add(db, d->owner, id, all, d->headlen + d->len, 0, 0,
			      d->date, &uid, err, errlen)
		    : -1;
	free(all);
	if (rc < 0) {
		pgdb_exec(db, "ROLLBACK TO SAVEPOINT m", err, errlen);
		return -1;
	}
	return pgdb_exec(db, "RELEASE SAVEPOINT m", err, errlen);
}

int mbox_deliver(struct mbox_store *st, struct mbox_delivery *d, size_t n)
{
	struct pgdb *db = st->pg->deliver;
	struct mbox_delivery **o;
	char err[256];
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++)
		d[i].ok = 0;
	if (n == 0)
		return 0;
	if ((o = calloc(n, sizeof(*o))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		o[i] = &d[i];
	qsort(o, n, sizeof(*o), by_folder);
	if (pgdb_begin(db, err, sizeof(err)) < 0) {
		log_error("mailbox store: deliver: %s", err);
		free(o);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (deliver_one(db, o[i], err, sizeof(err)) == 0) {
			o[i]->ok = 1;
			continue;
		}
		log_error("mailbox store: deliver to %s %s: %s", o[i]->owner,
			o[i]->folder, err);
		rc = -1;
		if (!pgdb_alive(db))
			break;
	}
	if (pgdb_commit(db, err, sizeof(err)) < 0) {
		log_error("mailbox store: deliver: %s", err);
		pgdb_rollback(db);
		for (i = 0; i < n; i++)
			d[i].ok = 0;
		rc = -1;
	}
	free(o);
	return rc;
}
