/*
 * NAME
 *	sqldb - the one adapter of SQLite
 * DESCRIPTION
 *	See sqldb.h. The opaque handles are SQLite's own pointers, cast:
 *	nothing is allocated beside them.
 */
#include "sqldb.h"

#include <sqlite3.h>
#include <stdio.h>

static sqlite3 *H(struct sqldb *db)
{
	return (sqlite3 *)(void *)db;
}

static sqlite3_stmt *S(struct sqldb_stmt *st)
{
	return (sqlite3_stmt *)(void *)st;
}

struct sqldb *sqldb_open(const char *path, int flags, int busy_ms, char *err,
			 size_t errlen)
{
	sqlite3 *db = NULL;
	int of = SQLITE_OPEN_FULLMUTEX | ((flags & SQLDB_RDONLY) ?
		 SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE |
		 SQLITE_OPEN_CREATE);

	if (sqlite3_open_v2(path, &db, of, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, busy_ms) != SQLITE_OK ||
	    ((flags & SQLDB_WAL) && sqlite3_exec(db, "PRAGMA journal_mode="
						 "WAL", NULL, NULL, NULL) !=
	     SQLITE_OK) ||
	    ((flags & SQLDB_SYNC_NORMAL) && sqlite3_exec(db, "PRAGMA "
							 "synchronous=NORMAL",
							 NULL, NULL, NULL) !=
	     SQLITE_OK)) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db)
			 : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	return (struct sqldb *)(void *)db;
}

void sqldb_close(struct sqldb *db)
{
	sqlite3_close(H(db));
}

int sqldb_exec(struct sqldb *db, const char *sql)
{
	return sqlite3_exec(H(db), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 :
	       -1;
}

const char *sqldb_errmsg(struct sqldb *db)
{
	return db ? sqlite3_errmsg(H(db)) : "no database";
}

int sqldb_begin(struct sqldb *db, int immediate)
{
	return sqldb_exec(db, immediate ? "BEGIN IMMEDIATE" : "BEGIN");
}

int sqldb_commit(struct sqldb *db)
{
	return sqldb_exec(db, "COMMIT");
}

int sqldb_rollback(struct sqldb *db)
{
	return sqldb_exec(db, "ROLLBACK");
}

int sqldb_one_int64(struct sqldb *db, const char *sql, long long *out)
{
	struct sqldb_stmt *st = sqldb_prepare(db, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqldb_step(st);
	if (rc == SQLDB_ROW)
		*out = sqldb_column_int64(st, 0);
	sqldb_finalize(st);
	return rc == SQLDB_ERROR ? -1 : 0;
}

struct sqldb_stmt *sqldb_prepare(struct sqldb *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(H(db), sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	return (struct sqldb_stmt *)(void *)st;
}

void sqldb_finalize(struct sqldb_stmt *st)
{
	sqlite3_finalize(S(st));
}

void sqldb_reset(struct sqldb_stmt *st)
{
	sqlite3_reset(S(st));
}

int sqldb_bind_int64(struct sqldb_stmt *st, int i, long long v)
{
	return sqlite3_bind_int64(S(st), i, (sqlite3_int64)v) == SQLITE_OK ?
	       0 : -1;
}

int sqldb_bind_double(struct sqldb_stmt *st, int i, double v)
{
	return sqlite3_bind_double(S(st), i, v) == SQLITE_OK ? 0 : -1;
}

int sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(S(st), i, s, -1, SQLITE_STATIC) ==
	       SQLITE_OK ? 0 : -1;
}

int sqldb_bind_text_copy(struct sqldb_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(S(st), i, s, -1, SQLITE_TRANSIENT) ==
	       SQLITE_OK ? 0 : -1;
}

int sqldb_param_count(struct sqldb_stmt *st)
{
	return sqlite3_bind_parameter_count(S(st));
}

int sqldb_step(struct sqldb_stmt *st)
{
	int rc = sqlite3_step(S(st));

	return rc == SQLITE_ROW ? SQLDB_ROW : rc == SQLITE_DONE ? SQLDB_DONE :
	       SQLDB_ERROR;
}

int sqldb_column_count(struct sqldb_stmt *st)
{
	return sqlite3_column_count(S(st));
}

long long sqldb_column_int64(struct sqldb_stmt *st, int i)
{
	return (long long)sqlite3_column_int64(S(st), i);
}

double sqldb_column_double(struct sqldb_stmt *st, int i)
{
	return sqlite3_column_double(S(st), i);
}

const char *sqldb_column_text(struct sqldb_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(S(st), i);
}
