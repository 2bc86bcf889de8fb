/*
 * NAME
 *	sqldb - the one adapter of SQLite
 * DESCRIPTION
 *	The SQLite files of Sluice (greylist, Bayes counts, sluice-admin's
 *	stats, the directory's backend store/dir/store_dir_sqlite.c) are
 *	opened and used through this: open with the pragmas its user asks
 *	for and a busy timeout, prepared statements with bound parameters,
 *	columns, transactions, the last error's text. Only sqldb.c includes
 *	SQLite's header; the handles here are opaque. sqldb_bind_text binds a
 *	text parameter without a copy: it must stay valid for every
 *	sqldb_step until it is bound again; sqldb_bind_text_copy takes a
 *	copy, for a caller whose strings may change or go first. Base
 *	layer.
 */
#ifndef SLUICE_SQLDB_H
#define SLUICE_SQLDB_H

#include <stddef.h>

struct sqldb;
struct sqldb_stmt;

/* flags of sqldb_open */
#define SQLDB_RDONLY 1		/* read only; the file must exist */
#define SQLDB_WAL 2		/* PRAGMA journal_mode=WAL */
#define SQLDB_SYNC_NORMAL 4	/* PRAGMA synchronous=NORMAL */

/* what sqldb_step answers */
#define SQLDB_DONE 0
#define SQLDB_ROW 1
#define SQLDB_ERROR (-1)

/* Open (without SQLDB_RDONLY: create) path, serialised for threads,
 * waiting up to busy_ms for a lock. NULL with "path: reason" in err. */
struct sqldb *sqldb_open(const char *path, int flags, int busy_ms, char *err,
			 size_t errlen);
void sqldb_close(struct sqldb *db);		/* NULL: nothing */
/* Run one or more statements without parameters. 0 or -1. */
int sqldb_exec(struct sqldb *db, const char *sql);
/* the text of the last error of db */
const char *sqldb_errmsg(struct sqldb *db);
/* BEGIN (immediate: take the write lock now), COMMIT, ROLLBACK. 0/-1 */
int sqldb_begin(struct sqldb *db, int immediate);
int sqldb_commit(struct sqldb *db);
int sqldb_rollback(struct sqldb *db);
/* The first column of the first row of sql into *out (kept without a
 * row). 0, or -1 on an error. */
int sqldb_one_int64(struct sqldb *db, const char *sql, long long *out);

/* NULL on an error (sqldb_errmsg says which). */
struct sqldb_stmt *sqldb_prepare(struct sqldb *db, const char *sql);
void sqldb_finalize(struct sqldb_stmt *st);	/* NULL: nothing */
/* to step again; the bindings stay */
void sqldb_reset(struct sqldb_stmt *st);
/* parameters from 1 */
int sqldb_bind_int64(struct sqldb_stmt *st, int i, long long v);
int sqldb_bind_double(struct sqldb_stmt *st, int i, double v);
int sqldb_bind_text(struct sqldb_stmt *st, int i, const char *s);
int sqldb_bind_text_copy(struct sqldb_stmt *st, int i, const char *s);
int sqldb_param_count(struct sqldb_stmt *st);
/* SQLDB_ROW, SQLDB_DONE or SQLDB_ERROR */
int sqldb_step(struct sqldb_stmt *st);
/* columns of the row, from 0 */
int sqldb_column_count(struct sqldb_stmt *st);
long long sqldb_column_int64(struct sqldb_stmt *st, int i);
double sqldb_column_double(struct sqldb_stmt *st, int i);
/* NULL for SQL NULL; valid until the next step, reset or finalize */
const char *sqldb_column_text(struct sqldb_stmt *st, int i);

#endif
