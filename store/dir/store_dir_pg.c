/*
 * NAME
 *	store_dir_pg - the user directory in PostgreSQL
 * DESCRIPTION
 *	The backend of store_dir_int.h for many hosts: the same tables as
 *	the SQLite file, in a PostgreSQL database named by a libpq URI
 *	(postgresql://user@host:port/db?...), through common/pgdb.c (the
 *	one adapter of libpq); the statements are store_dir_sql.h's in this backend's
 *	dialect (below), the schema and its triggers are here; every
 *	statement binds its parameters (PQexecParams, text format). Statement
 *	triggers on every table send NOTIFY sluice_directory at the commit
 *	of any change, whoever made it (sluicectl, the admin interface,
 *	psql), so the watchers (sluicectl watch, one per host) re-export
 *	the snapshots that mx, msa and the store read at once. The
 *	connection gets a connect timeout and TCP keepalives (pgdb_open)
 *	unless the URI sets its own, so a watcher notices a vanished server.
 *	Trusts the database's rows no more than SQLite's: the exporter
 *	validates them again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgdb.h"

#include "store_dir_int.h"

#define NOTIFY_CHANNEL "sluice_directory"
/* one schema change at a time, whichever host opens first */
#define SCHEMA_LOCK "7416723801"

static const char schema[] =
	"SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ");"
	"CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY,"
	" domain TEXT NOT NULL, pwhash TEXT, quota BIGINT NOT NULL DEFAULT 0,"
	" expires BIGINT NOT NULL DEFAULT 0,"
	" enabled INTEGER NOT NULL DEFAULT 1, scram TEXT);"
	"CREATE INDEX IF NOT EXISTS users_domain ON users(domain);"
	"CREATE TABLE IF NOT EXISTS aliases(address TEXT NOT NULL,"
	" target TEXT NOT NULL, PRIMARY KEY(address, target));"
	"CREATE TABLE IF NOT EXISTS lists(address TEXT NOT NULL,"
	" member TEXT NOT NULL, PRIMARY KEY(address, member));"
	"CREATE TABLE IF NOT EXISTS domain_admins(domain TEXT NOT NULL,"
	" admin TEXT NOT NULL, PRIMARY KEY(domain, admin));"
	"CREATE TABLE IF NOT EXISTS list_owners(address TEXT NOT NULL,"
	" owner TEXT NOT NULL, PRIMARY KEY(address, owner));"
	"CREATE TABLE IF NOT EXISTS shared(address TEXT NOT NULL,"
	" official TEXT NOT NULL, PRIMARY KEY(address, official));"
	/* columns added to users since the first schema */
	"ALTER TABLE users ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL"
	" DEFAULT 'personal';"
	"ALTER TABLE users ADD COLUMN IF NOT EXISTS first TEXT;"
	"ALTER TABLE users ADD COLUMN IF NOT EXISTS last TEXT;"
	"CREATE OR REPLACE FUNCTION sluice_directory_changed() RETURNS trigger"
	" LANGUAGE plpgsql AS $$ BEGIN"
	" PERFORM pg_notify('" NOTIFY_CHANNEL "', TG_TABLE_NAME);"
	" RETURN NULL; END $$;"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON domains FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON users FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON aliases FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON lists FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON domain_admins FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON list_owners FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();"
	"CREATE OR REPLACE TRIGGER sluice_notify AFTER INSERT OR UPDATE OR"
	" DELETE OR TRUNCATE ON shared FOR EACH STATEMENT"
	" EXECUTE FUNCTION sluice_directory_changed();";

/* the dialect of store_dir_sql.h */
#define P(n) "$" #n
#define DATE_OF(c) "CASE " c " WHEN 0 THEN 'never' ELSE" \
	" to_char(to_timestamp(" c ") AT TIME ZONE 'UTC', 'YYYY-MM-DD') END"
#define AGG(c) "string_agg(" c ", ', ' ORDER BY " c ")"
/* what the transaction read stays true until it commits, or the commit
 * fails (as SQLite's BEGIN IMMEDIATE) */
#define BEGIN_TX "BEGIN ISOLATION LEVEL SERIALIZABLE"
#include "store_dir_sql.h"

#define MAX_COLS 8
#define MAX_PARAMS 8

struct pg {
	struct pgdb *db;
	int listening;
};

static int pg_run(void *be, enum dir_q q, const char *const *p,
		  dir_row_fn row, void *arg, char *err, size_t errlen)
{
	struct pg *g = be;
	const char *col[MAX_COLS];
	struct pgdb_res *r;
	int np = 0, i, j, n;

	if (dir_sql[q] == NULL) {
		snprintf(err, errlen, "statement %d has no SQL", (int)q);
		return -1;
	}
	while (p && p[np])
		np++;
	if (np > MAX_PARAMS) {
		snprintf(err, errlen, "too many parameters");
		return -1;
	}
	if (!pgdb_alive(g->db))
		g->listening = 0;
	r = pgdb_query(g->db, dir_sql[q], np, p, NULL, 0, err, errlen);
	/* a connection found broken by a view (it changes nothing) is
	 * made again and the view run once more; a change is not repeated
	 * (it may have been committed), the next statement reconnects */
	if (r == NULL && q < DQ_VIEW_END && !pgdb_alive(g->db)) {
		g->listening = 0;
		if (pgdb_reconnect(g->db, err, errlen) < 0)
			return -1;
		r = pgdb_query(g->db, dir_sql[q], np, p, NULL, 0, err, errlen);
	}
	if (r == NULL)
		return -1;
	n = pgdb_cols(r);
	if (n > MAX_COLS)
		n = MAX_COLS;
	for (i = 0; row && i < pgdb_rows(r); i++) {
		for (j = 0; j < n; j++)
			col[j] = pgdb_value(r, i, j);
		row(n, col, arg);
	}
	pgdb_res_free(&r);
	return 0;
}

static int pg_wait(void *be, int timeout_ms, char *err, size_t errlen)
{
	struct pg *g = be;
	int n;

	if (!pgdb_alive(g->db)) {
		g->listening = 0;
		if (pgdb_reconnect(g->db, err, errlen) < 0)
			return -1;
	}
	if (!g->listening) {
		/* listen first, then the caller exports: no change is
		 * lost between the two */
		if (pgdb_exec(g->db, "LISTEN " NOTIFY_CHANNEL, err, errlen) < 0)
			return -1;
		g->listening = 1;
		return 1;
	}
	n = pgdb_wait(g->db, timeout_ms, NULL, NULL, err, errlen);
	if (n < 0)
		g->listening = 0;
	return n < 0 ? -1 : n > 0;
}

static void pg_close(void *be)
{
	struct pg *g = be;

	pgdb_close(&g->db);
	free(g);
}

static const struct store_dir_ops pg_ops = {pg_run, pg_wait, pg_close};

int store_dir_pg_open(const char *uri, const struct store_dir_ops **ops,
		      void **be, char *err, size_t errlen)
{
	struct pg *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((g->db = pgdb_open(uri, err, errlen)) == NULL ||
	    pgdb_exec(g->db, schema, err, errlen) < 0) {
		pg_close(g);
		return -1;
	}
	*ops = &pg_ops;
	*be = g;
	return 0;
}
