/*
 * NAME
 *	store_mbox_pg - folders in PostgreSQL: the access boxes' backend
 * DESCRIPTION
 *	With mailbox_store = postgresql://..., every folder, its UIDVALIDITY
 *	and UIDNEXT, every message's UID, flags, keywords and mod-sequence,
 *	the expunged UIDs (QRESYNC) and the subscriptions are rows of one
 *	database that several store processes ("access boxes") share; the
 *	bodies are blobs (store/box/blob.h). The struct folder and views of
 *	store_mbox_int.h stay what the sessions see; this file fills them
 *	from the database and makes every change there.
 *
 *	UIDs and mod-sequences come from one UPDATE ... RETURNING of the
 *	folder's row in the transaction that adds or changes the message
 *	(mbox_add(), below): the row lock orders the boxes, so a UID is
 *	never given twice, and they commit in the order of their numbers,
 *	which is what lets a box catch up with one query: the rows whose
 *	mod-sequence is above the highest it has seen (mbpg_refresh). A
 *	flag change is applied only while the message's mod-sequence is
 *	still the one the box saw, else the box looks again and retries,
 *	so a change made meanwhile by another box is never overwritten.
 *
 *	A trigger sends NOTIFY sluice_mbox ("owner\nfolder") when a
 *	folder's mod-sequence moves or it goes; every box LISTENs on a
 *	connection whose socket the event loop watches and wakes its
 *	watchers (IDLE, NOTIFY) through mbox_changed().
 *
 *	Calls are synchronous on the loop (one or two round trips per
 *	command): the database is expected on the LAN. Trusts the rows no
 *	more than the Maildir: numbers are checked before use.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "blob.h"
#include "evloop.h"
#include "log.h"
#include "pgdb.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define CHANNEL "sluice_mbox"
/* one schema change at a time, whichever box opens first */
#define SCHEMA_LOCK "7416723802"
/* mbox_meta's version of the schema below; raise it with every change */
#define SCHEMA_VERSION "1"
#define UID_TOP 4294967295LL
#define RETRY_MS 1000

/* The tables and functions, made by the first box that starts (one at a
 * time: an advisory lock). Once mbox_meta says this version is there,
 * the DDL is skipped: even its IF NOT EXISTS forms lock the tables, and
 * would deadlock with the other boxes' deliveries. */
static const char schema[] =
	"DO $do$ BEGIN"
	" PERFORM pg_advisory_xact_lock(" SCHEMA_LOCK ");"
	" IF to_regclass('mbox_meta') IS NOT NULL THEN"
	/* planned only when the table is there */
	"  IF (SELECT max(version) FROM mbox_meta) >= " SCHEMA_VERSION " THEN"
	"   RETURN; END IF;"
	" END IF;"
	"CREATE SEQUENCE IF NOT EXISTS mbox_uidvalidity;"
	/* UIDVALIDITY starts at the time of the first box, so a database
	 * made again does not give a client's cached values again */
	"PERFORM setval('mbox_uidvalidity', extract(epoch FROM now())::bigint)"
	" FROM mbox_uidvalidity WHERE NOT is_called;"
	"CREATE TABLE IF NOT EXISTS mbox_folders(id BIGSERIAL PRIMARY KEY,"
	" owner TEXT NOT NULL, name TEXT NOT NULL,"
	" uidvalidity BIGINT NOT NULL, uidnext BIGINT NOT NULL DEFAULT 1,"
	" modseq BIGINT NOT NULL DEFAULT 1,"
	" keywords TEXT[] NOT NULL DEFAULT '{}', UNIQUE(owner, name));"
	"CREATE TABLE IF NOT EXISTS mbox_blobs(id BIGSERIAL PRIMARY KEY,"
	" data BYTEA NOT NULL);"
	"CREATE TABLE IF NOT EXISTS mbox_messages(folder BIGINT NOT NULL"
	" REFERENCES mbox_folders(id) ON DELETE CASCADE, uid BIGINT NOT NULL,"
	" flags INTEGER NOT NULL, keywords BIGINT NOT NULL,"
	" size BIGINT NOT NULL, internaldate BIGINT NOT NULL,"
	" modseq BIGINT NOT NULL, blob BIGINT NOT NULL,"
	" recent BOOLEAN NOT NULL DEFAULT true, PRIMARY KEY(folder, uid));"
	"CREATE INDEX IF NOT EXISTS mbox_messages_modseq"
	" ON mbox_messages(folder, modseq);"
	/* mbpg_claim's: the few messages no box has shown yet */
	"CREATE INDEX IF NOT EXISTS mbox_messages_recent"
	" ON mbox_messages(folder) WHERE recent;"
	"CREATE TABLE IF NOT EXISTS mbox_expunged(folder BIGINT NOT NULL"
	" REFERENCES mbox_folders(id) ON DELETE CASCADE, uid BIGINT NOT NULL,"
	" modseq BIGINT NOT NULL, PRIMARY KEY(folder, uid));"
	"CREATE TABLE IF NOT EXISTS mbox_subscriptions(owner TEXT NOT NULL,"
	" name TEXT NOT NULL, PRIMARY KEY(owner, name));"
	"CREATE TABLE IF NOT EXISTS mbox_users(owner TEXT PRIMARY KEY);"
	/* the folder of owner, made when asked and missing */
	"CREATE OR REPLACE FUNCTION mbox_folder(o TEXT, n TEXT, make BOOLEAN)"
	" RETURNS BIGINT LANGUAGE plpgsql AS $$ DECLARE i BIGINT; BEGIN"
	" SELECT id INTO i FROM mbox_folders WHERE owner = o AND name = n;"
	" IF i IS NULL AND make THEN"
	"  INSERT INTO mbox_folders(owner, name, uidvalidity)"
	"  VALUES(o, n, nextval('mbox_uidvalidity')) ON CONFLICT DO NOTHING;"
	"  SELECT id INTO i FROM mbox_folders WHERE owner = o AND name = n;"
	" END IF; RETURN COALESCE(i, 0); END $$;"
	/* a message: its UID and mod-sequence from the folder's row */
	"CREATE OR REPLACE FUNCTION mbox_add(f BIGINT, b BIGINT, sz BIGINT,"
	" dt BIGINT, fl INTEGER, kw BIGINT) RETURNS TABLE(u BIGINT, m BIGINT)"
	" LANGUAGE sql AS $$"
	" WITH a AS (UPDATE mbox_folders SET uidnext = uidnext + 1,"
	"  modseq = modseq + 1 WHERE id = f RETURNING uidnext - 1 AS u, modseq)"
	" INSERT INTO mbox_messages(folder, uid, flags, keywords, size,"
	"  internaldate, modseq, blob)"
	" SELECT f, a.u, fl, kw, sz, dt, a.modseq, b FROM a"
	" RETURNING uid, modseq $$;"
	"CREATE OR REPLACE FUNCTION mbox_changed() RETURNS trigger"
	" LANGUAGE plpgsql AS $$ BEGIN"
	" IF TG_OP = 'DELETE' OR OLD.name <> NEW.name THEN"
	"  PERFORM pg_notify('" CHANNEL "', OLD.owner || E'\\n' || OLD.name);"
	" END IF;"
	" IF TG_OP = 'UPDATE' THEN"
	"  PERFORM pg_notify('" CHANNEL "', NEW.owner || E'\\n' || NEW.name);"
	" END IF; RETURN NULL; END $$;"
	"CREATE OR REPLACE TRIGGER mbox_notify AFTER UPDATE OF modseq OR DELETE"
	" ON mbox_folders FOR EACH ROW EXECUTE FUNCTION mbox_changed();"
	"CREATE TABLE IF NOT EXISTS mbox_meta(version INTEGER NOT NULL);"
	"INSERT INTO mbox_meta VALUES(" SCHEMA_VERSION ");"
	" END $do$;";

int mbpg_owner(const char *user, char *out, size_t len)
{
	size_t i, n = strlen(user);

	if (n == 0 || n >= len || strchr(user, '@') == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c < 0x20 || c == 0x7f)
			return -1;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	return 0;
}

/* ---- LISTEN: the other boxes' changes ---- */

static void on_notify(
	void *arg, const char *channel, const char *payload, int pid)
{
	struct mbox_store *st = arg;
	char user[512], name[MBOX_NAME_MAX + 1];
	const char *nl = strchr(payload, '\n');
	size_t ul;

	/* our own changes woke our watchers already */
	if (pid == st->pg->pids[0] || pid == st->pg->pids[1] || nl == NULL ||
		strcmp(channel, CHANNEL) != 0)
		return;
	ul = (size_t)(nl - payload);
	if (ul == 0 || ul >= sizeof(user) || strlen(nl + 1) >= sizeof(name))
		return;
	memcpy(user, payload, ul);
	user[ul] = '\0';
	snprintf(name, sizeof(name), "%s", nl + 1);
	if (!mb_is_inbox(name) && !mb_valid_name(name))
		return;
	mbox_changed(st, user, name);
}

static void listen_retry(void *arg);

static void listen_lost(struct mbox_store *st, const char *why)
{
	struct mbpg *g = st->pg;

	if (g->listen_fd >= 0) {
		evloop_del(st->loop, g->listen_fd);
		g->listen_fd = -1;
	}
	log_warn("mailbox store: %s: other boxes' changes reach IDLE at the "
		 "next command only; retrying every second",
		why);
	if (g->retry == NULL)
		g->retry = evloop_timer(st->loop, RETRY_MS, listen_retry, st);
}

static void listen_ready(void *arg, uint32_t events)
{
	struct mbox_store *st = arg;
	char err[256];

	if (pgdb_notifies(st->pg->listen, on_notify, st, err, sizeof(err)) < 0)
		listen_lost(st, err);
}

static int listen_start(struct mbox_store *st, char *err, size_t errlen)
{
	struct mbpg *g = st->pg;

	if (pgdb_exec(g->listen, "LISTEN " CHANNEL, err, errlen) < 0)
		return -1;
	g->listen_fd = pgdb_socket(g->listen);
	if (g->listen_fd < 0 || evloop_add(st->loop, g->listen_fd, EPOLLIN,
					listen_ready, st) < 0) {
		g->listen_fd = -1;
		snprintf(err, errlen, "cannot watch the LISTEN connection");
		return -1;
	}
	return 0;
}

static void listen_retry(void *arg)
{
	struct mbox_store *st = arg;
	struct folder *f;
	char err[256];

	st->pg->retry = NULL;
	if (pgdb_reconnect(st->pg->listen, err, sizeof(err)) < 0 ||
		listen_start(st, err, sizeof(err)) < 0) {
		st->pg->retry =
			evloop_timer(st->loop, RETRY_MS, listen_retry, st);
		return;
	}
	log_info("mailbox store: listening to the other boxes again");
	/* what they sent meanwhile is lost: every watcher looks again */
	for (f = st->folders; f; f = f->next) {
		f->stale = 1;
		mb_notify(f, NULL);
	}
}

/* The schema; a box that has to make or change it while another works
 * may be chosen as a deadlock's victim (its DDL against the other's
 * rows): tried again. */
static int make_schema(struct pgdb *db, char *err, size_t errlen)
{
	struct timespec ts = {0, 200 * 1000 * 1000};
	int i;

	for (i = 0; i < 5; i++) {
		if (pgdb_exec(db, schema, err, errlen) == 0)
			return 0;
		log_warn("mailbox store: schema: %s; trying again", err);
		nanosleep(&ts, NULL);
	}
	return -1;
}

int mbpg_open(struct mbox_store *st, const char *uri, char *err, size_t errlen)
{
	struct mbpg *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->uri = strdup(uri)) == NULL)
		log_fatal("out of memory");
	g->listen_fd = -1;
	st->pg = g;
	if ((g->db = pgdb_open(uri, err, errlen)) == NULL ||
		make_schema(g->db, err, errlen) < 0 ||
		(g->listen = pgdb_open(uri, err, errlen)) == NULL ||
		(g->deliver = pgdb_open(uri, err, errlen)) == NULL ||
		(st->loop != NULL && listen_start(st, err, errlen) < 0)) {
		mbpg_close(st);
		return -1;
	}
	g->pids[0] = pgdb_backend_pid(g->db);
	g->pids[1] = pgdb_backend_pid(g->deliver);
	return 0;
}

void mbpg_close(struct mbox_store *st)
{
	struct mbpg *g = st->pg;

	if (g == NULL)
		return;
	if (g->listen_fd >= 0)
		evloop_del(st->loop, g->listen_fd);
	if (g->retry)
		evloop_timer_cancel(st->loop, g->retry);
	pgdb_close(&g->db);
	pgdb_close(&g->listen);
	pgdb_close(&g->deliver);
	free(g->uri);
	free(g);
	st->pg = NULL;
}

/* ---- one folder ---- */

long long mbpg_folder_id(struct mbox_store *st, const char *user,
	const char *name, char *err, size_t errlen)
{
	char owner[512];
	const char *v[3];
	struct pgdb_res *r;
	long long id;

	if (mbpg_owner(user, owner, sizeof(owner)) < 0)
		return 0;
	v[0] = owner;
	v[1] = mb_is_inbox(name) ? "INBOX" : name;
	v[2] = mb_is_inbox(name) ? "t" : "f";
	r = pgdb_query(st->pg->db, "SELECT mbox_folder($1, $2, $3)", 3, v, NULL,
		0, err, errlen);
	if (r == NULL)
		return -1;
	id = pgdb_ll(r, 0, 0);
	pgdb_res_free(&r);
	return id > 0 ? id : 0;
}

/* Everything above mod-sequence $2 in one snapshot: the folder's row
 * (its name, to see a rename, and its keywords), the messages added or
 * changed, the UIDs expunged; by kind, then mod-sequence. */
static const char q_refresh[] =
	"SELECT 0, uidvalidity, uidnext, 0, 0, 0, modseq, 0, 0,"
	" name || E'\\n' || array_to_string(keywords, ' ')"
	" FROM mbox_folders WHERE id = $1"
	" UNION ALL SELECT 1, uid, flags, keywords, size, internaldate,"
	" modseq, blob, recent::int, NULL FROM mbox_messages"
	" WHERE folder = $1 AND modseq > $2"
	" UNION ALL SELECT 2, uid, 0, 0, 0, 0, modseq, 0, 0, NULL"
	" FROM mbox_expunged WHERE folder = $1 AND modseq > $2"
	" ORDER BY 1, 7";

/* The folder's row: 0, or -1 when it is no longer f (renamed). */
static int folder_row(struct folder *f, const struct pgdb_res *r, int i)
{
	const char *v = pgdb_value(r, i, 9), *p, *sp;
	long long uv = pgdb_ll(r, i, 1), next = pgdb_ll(r, i, 2);
	size_t nl, len;
	unsigned k;

	if (v == NULL || (p = strchr(v, '\n')) == NULL)
		return -1;
	nl = (size_t)(p - v);
	if (nl != strlen(f->name) || strncmp(v, f->name, nl) != 0)
		return -1;
	if (uv <= 0 || uv > UID_TOP || next <= 0 || next > UID_TOP + 1)
		return -1;
	f->uidvalidity = (uint32_t)uv;
	f->uidnext = next > UID_TOP ? (uint32_t)UID_TOP : (uint32_t)next;
	/* keywords are only ever appended: the names we hold stay (callers
	 * may hold them across a refresh), new ones are added */
	for (k = 0, p++; *p && k < MBOX_MAX_KEYWORDS; p = sp) {
		sp = strchr(p, ' ');
		if (sp == NULL)
			sp = p + strlen(p);
		len = (size_t)(sp - p);
		if (*sp)
			sp++;
		if (len == 0)
			continue;
		/* a name we would never have written keeps its place (the
		 * messages' bits count places), cut */
		if (len > MB_KEYWORD_MAX)
			len = MB_KEYWORD_MAX;
		if (k < f->nkw && strlen(f->kw[k]) == len &&
			memcmp(f->kw[k], p, len) == 0) {
			k++;
			continue;
		}
		if (k < f->nkw)
			free(f->kw[k]);
		if ((f->kw[k] = strndup(p, len)) == NULL)
			log_fatal("out of memory");
		k++;
		if (k > f->nkw)
			f->nkw = k;
	}
	return 0;
}

static void msg_row(struct folder *f, const struct pgdb_res *r, int i)
{
	long long uid = pgdb_ll(r, i, 1), size = pgdb_ll(r, i, 4);
	uint32_t kw = (uint32_t)pgdb_ll(r, i, 3);
	struct fmsg *e;
	long ix;

	if (uid <= 0 || uid > UID_TOP || size < 0)
		return;
	if (f->nkw < 32)
		kw &= (1u << f->nkw) - 1;
	ix = mb_folder_index(f, (uint32_t)uid);
	if (ix < 0) {
		e = mb_folder_insert(f, (uint32_t)uid);
		e->size = size;
		e->date = (time_t)pgdb_ll(r, i, 5);
		e->blob = pgdb_ll(r, i, 7);
		e->recent = pgdb_ll(r, i, 8) != 0;
	} else {
		e = &f->m[ix];
	}
	e->flags = (unsigned)pgdb_ll(r, i, 2) &
		   (MBOX_SEEN | MBOX_ANSWERED | MBOX_FLAGGED | MBOX_DELETED |
			   MBOX_DRAFT);
	e->keywords = kw;
	e->modseq = (uint64_t)pgdb_ll(r, i, 6);
	f->gen++;
}

/* Another box deleted or renamed f: its views see every message go. */
static void folder_lost(struct folder *f)
{
	while (f->n > 0)
		mb_folder_remove(f, f->n - 1);
	mb_notify(f, NULL);
	mb_folder_drop(f);
}

int mbpg_refresh(struct folder *f)
{
	char id[24], since[24], err[256];
	const char *v[2] = {id, since};
	uint64_t top = f->highestmodseq;
	struct pgdb_res *r;
	int i, n, found = 0;
	long long uid;
	long ix;

	if (f->gone)
		return 0;
	snprintf(id, sizeof(id), "%lld", f->dbid);
	snprintf(since, sizeof(since), "%llu",
		(unsigned long long)f->highestmodseq);
	r = pgdb_query(
		f->st->pg->db, q_refresh, 2, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	n = pgdb_rows(r);
	for (i = 0; i < n; i++) {
		long long kind = pgdb_ll(r, i, 0), ms = pgdb_ll(r, i, 6);

		if (kind == 0) {
			found = folder_row(f, r, i) == 0;
			if (!found)
				break;
		}
		if (ms > 0 && (uint64_t)ms > top)
			top = (uint64_t)ms;
		if (kind == 1) {
			msg_row(f, r, i);
		} else if (kind == 2 && (uid = pgdb_ll(r, i, 1)) > 0 &&
			   uid <= UID_TOP) {
			if ((ix = mb_folder_index(f, (uint32_t)uid)) >= 0)
				mb_folder_remove_at(f, (size_t)ix, 0);
			mb_vanished_add(f, (uint32_t)uid, (uint64_t)ms);
		}
	}
	pgdb_res_free(&r);
	if (!found) {
		folder_lost(f);
		return 0;
	}
	/* the row lock orders the commits: nothing at or below top can
	 * still appear */
	if (top != f->highestmodseq)
		f->gen++;
	f->highestmodseq = top;
	f->stale = 0;
	return 0;
}

void mbpg_claim(struct folder *f)
{
	char id[24], err[256];
	const char *v[1] = {id};
	struct pgdb_res *r;
	size_t i;
	long ix;
	int any = 0, k;

	for (i = 0; i < f->n && !any; i++)
		any = f->m[i].recent;
	if (!any || f->gone)
		return;
	snprintf(id, sizeof(id), "%lld", f->dbid);
	/* \Recent goes to the one box whose UPDATE took it */
	r = pgdb_query(f->st->pg->db,
		"UPDATE mbox_messages SET recent = false"
		" WHERE folder = $1 AND recent RETURNING uid",
		1, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return;
	}
	for (i = 0; i < f->n; i++)
		f->m[i].recent = 0;
	for (k = 0; k < pgdb_rows(r); k++) {
		long long uid = pgdb_ll(r, k, 0);

		if (uid > 0 && uid <= UID_TOP &&
			(ix = mb_folder_index(f, (uint32_t)uid)) >= 0)
			f->m[ix].recent = 1;
	}
	pgdb_res_free(&r);
}

int mbpg_read(struct folder *f, const struct fmsg *e, struct sbuf *out)
{
	struct blob_store bs;
	char owner[512], err[256];
	int rc;

	if (mbpg_owner(f->user, owner, sizeof(owner)) < 0)
		return -1;
	blob_store_pg(&bs, f->st->pg->db);
	rc = blob_get(&bs, owner, e->blob, out, err, sizeof(err));
	if (rc < 0)
		log_warn("mailbox store: %s uid %u: %s", f->name, e->uid, err);
	return rc;
}

int mbpg_set_flags(
	struct folder *f, struct fmsg *e, unsigned flags, uint32_t kw)
{
	char id[24], uid[16], fl[16], k[16], ms[24], err[256];
	const char *v[5] = {id, uid, fl, k, ms};
	struct pgdb_res *r;
	int rc = 1;

	snprintf(id, sizeof(id), "%lld", f->dbid);
	snprintf(uid, sizeof(uid), "%u", e->uid);
	snprintf(fl, sizeof(fl), "%u", flags);
	snprintf(k, sizeof(k), "%u", kw);
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)e->modseq);
	r = pgdb_query(f->st->pg->db,
		"WITH f AS (UPDATE mbox_folders SET modseq = modseq + 1"
		" WHERE id = $1 RETURNING modseq)"
		" UPDATE mbox_messages m SET flags = $3, keywords = $4,"
		" modseq = f.modseq FROM f WHERE m.folder = $1 AND"
		" m.uid = $2 AND m.modseq = $5 RETURNING m.modseq",
		5, v, NULL, 0, err, sizeof(err));
	if (r == NULL) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	if (pgdb_rows(r) == 1) {
		e->flags = flags;
		e->keywords = kw;
		e->modseq = (uint64_t)pgdb_ll(r, 0, 0);
		f->gen++;
		rc = 0;
	}
	pgdb_res_free(&r);
	return rc;
}

int mbpg_expunge(struct folder *f, size_t i)
{
	struct pgdb *db = f->st->pg->db;
	char id[24], uid[16], err[256];
	const char *v[2] = {id, uid};
	struct blob_store bs;
	struct pgdb_res *r = NULL;

	snprintf(id, sizeof(id), "%lld", f->dbid);
	snprintf(uid, sizeof(uid), "%u", f->m[i].uid);
	blob_store_pg(&bs, db);
	if (pgdb_begin(db, err, sizeof(err)) < 0 ||
		(r = pgdb_query(db,
			 "WITH f AS (UPDATE mbox_folders SET modseq ="
			 " modseq + 1 WHERE id = $1 RETURNING modseq),"
			 " d AS (DELETE FROM mbox_messages WHERE folder = $1"
			 " AND uid = $2 RETURNING blob),"
			 " x AS (INSERT INTO mbox_expunged(folder, uid,"
			 " modseq) SELECT $1, $2, f.modseq FROM f, d"
			 " ON CONFLICT (folder, uid) DO UPDATE"
			 " SET modseq = EXCLUDED.modseq) SELECT blob FROM d",
			 2, v, NULL, 0, err, sizeof(err))) == NULL ||
		(pgdb_rows(r) == 1 && blob_delete(&bs, pgdb_ll(r, 0, 0), err,
					      sizeof(err)) < 0) ||
		pgdb_commit(db, err, sizeof(err)) < 0) {
		pgdb_res_free(&r);
		pgdb_rollback(db);
		log_warn("mailbox store: expunge: %s", err);
		return -1;
	}
	pgdb_res_free(&r);
	/* the expunge's mod-sequence comes with the next refresh */
	mb_folder_remove_at(f, i, 0);
	return 0;
}

int mbpg_add(struct pgdb *db, const char *owner, long long folder,
	const char *data, size_t len, unsigned flags, uint32_t kw, time_t date,
	uint32_t *uid_r, char *err, size_t errlen)
{
	char fid[24], b[24], sz[24], dt[24], fl[16], k[16];
	const char *v[6] = {fid, b, sz, dt, fl, k};
	struct blob_store bs;
	struct pgdb_res *r;
	long long blob, uid;

	blob_store_pg(&bs, db);
	if (blob_put(&bs, owner, data, len, &blob, err, errlen) < 0)
		return -1;
	snprintf(fid, sizeof(fid), "%lld", folder);
	snprintf(b, sizeof(b), "%lld", blob);
	snprintf(sz, sizeof(sz), "%zu", len);
	snprintf(dt, sizeof(dt), "%lld", (long long)date);
	snprintf(fl, sizeof(fl), "%u", flags & ~MBOX_RECENT);
	snprintf(k, sizeof(k), "%u", kw);
	r = pgdb_query(db, "SELECT u, m FROM mbox_add($1, $2, $3, $4, $5, $6)",
		6, v, NULL, 0, err, errlen);
	if (r == NULL)
		return -1;
	uid = pgdb_rows(r) == 1 ? pgdb_ll(r, 0, 0) : 0;
	pgdb_res_free(&r);
	if (uid <= 0 || uid >= UID_TOP) {
		snprintf(err, errlen,
			uid ? "[LIMIT] no UID left in the "
			      "mailbox"
			    : "[TRYCREATE] no such mailbox");
		return -1;
	}
	*uid_r = (uint32_t)uid;
	return 0;
}

int mbpg_append(struct folder *f, const char *data, size_t len, unsigned flags,
	uint32_t kw, time_t date, uint32_t *uid_r, char *err, size_t errlen)
{
	struct pgdb *db = f->st->pg->db;
	char owner[512];

	if (mbpg_owner(f->user, owner, sizeof(owner)) < 0) {
		snprintf(err, errlen, "invalid user name");
		return -1;
	}
	if (pgdb_begin(db, err, errlen) < 0 ||
		mbpg_add(db, owner, f->dbid, data, len, flags, kw, date, uid_r,
			err, errlen) < 0 ||
		pgdb_commit(db, err, errlen) < 0) {
		pgdb_rollback(db);
		return -1;
	}
	return 0;
}

int mbpg_copy(struct folder *src, const struct fmsg *e, struct folder *d,
	uint32_t kw, uint32_t *uid_r)
{
	struct sbuf body;
	char err[256];
	int rc;

	/* through blob_get and blob_put: a body is never stored but by
	 * blob_encode() */
	sbuf_init(&body, (size_t)1 << 31);
	rc = mbpg_read(src, e, &body);
	if (rc == 0 &&
		(rc = mbpg_append(d, body.data ? body.data : "", body.len,
			 e->flags, kw, e->date, uid_r, err, sizeof(err))) < 0)
		log_warn("mailbox store: copy: %s", err);
	sbuf_free(&body);
	return rc;
}

int mbpg_keyword_add(struct folder *f, const char *name)
{
	char id[24], max[8], err[256];
	const char *v[3] = {id, name, max};

	snprintf(id, sizeof(id), "%lld", f->dbid);
	snprintf(max, sizeof(max), "%d", MBOX_MAX_KEYWORDS);
	if (pgdb_run(f->st->pg->db,
		    "UPDATE mbox_folders SET keywords ="
		    " array_append(keywords, $2), modseq = modseq + 1"
		    " WHERE id = $1 AND cardinality(keywords) < $3::int"
		    " AND NOT EXISTS (SELECT 1 FROM unnest(keywords) k"
		    " WHERE lower(k) = lower($2))",
		    3, v, err, sizeof(err)) < 0) {
		log_warn("mailbox store: %s", err);
		return -1;
	}
	return mbpg_refresh(f);
}
