/*
 * NAME
 *	sqldb_test - the SQLite adapter: open with pragmas, bound
 *	parameters, columns, transactions, read only, errors
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqldb.h"
#include "test.h"

static long long count(struct sqldb *db)
{
	long long n = -1;

	if (sqldb_one_int64(db, "SELECT count(*) FROM t", &n) < 0)
		return -1;
	return n;
}

int main(void)
{
	char path[] = "/tmp/sluice-sqldb-test-XXXXXX", aux[96], err[256];
	char buf[16];
	struct sqldb *db, *ro;
	struct sqldb_stmt *st;
	const char *evil = "x'); DROP TABLE t; --";
	long long v = 7;
	int fd = mkstemp(path);

	if (fd < 0)
		return 2;
	close(fd);
	unlink(path);
	db = sqldb_open(path, SQLDB_WAL | SQLDB_SYNC_NORMAL, 200, err,
			sizeof(err));
	CHECK(db != NULL, err);
	if (db == NULL)
		return test_done();
	CHECK(sqldb_one_int64(db, "PRAGMA synchronous", &v) == 0 && v == 1,
	      "synchronous=NORMAL");
	snprintf(aux, sizeof(aux), "%s-wal", path);
	CHECK(sqldb_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, n INTEGER,"
			 " d REAL)") == 0 && access(aux, F_OK) == 0,
	      "WAL: the -wal file exists after a write");
	st = sqldb_prepare(db, "INSERT INTO t VALUES (?1, ?2, ?3)");
	CHECK(st != NULL && sqldb_param_count(st) == 3, "prepared, 3 params");
	CHECK(sqldb_bind_text(st, 1, evil) == 0 &&
	      sqldb_bind_int64(st, 2, 1LL << 40) == 0 &&
	      sqldb_bind_double(st, 3, 0.25) == 0 &&
	      sqldb_step(st) == SQLDB_DONE, "insert with bound parameters");
	sqldb_reset(st);
	CHECK(sqldb_step(st) == SQLDB_ERROR, "a duplicate key is an error");
	CHECK(strstr(sqldb_errmsg(db), "UNIQUE") != NULL, sqldb_errmsg(db));
	/* a copied text parameter survives its buffer's change */
	snprintf(buf, sizeof(buf), "copied");
	sqldb_reset(st);
	CHECK(sqldb_bind_text_copy(st, 1, buf) == 0, "bind with a copy");
	snprintf(buf, sizeof(buf), "changed");
	CHECK(sqldb_step(st) == SQLDB_DONE, "insert the copy");
	sqldb_finalize(st);
	CHECK(sqldb_one_int64(db, "SELECT count(*) FROM t WHERE k = "
			     "'copied'", &v) == 0 && v == 1 &&
	      sqldb_exec(db, "DELETE FROM t WHERE k = 'copied'") == 0,
	      "the copy's value, not the buffer's");
	st = sqldb_prepare(db, "SELECT k, n, d, NULL FROM t");
	CHECK(st != NULL && sqldb_step(st) == SQLDB_ROW &&
	      sqldb_column_count(st) == 4 &&
	      strcmp(sqldb_column_text(st, 0), evil) == 0 &&
	      sqldb_column_int64(st, 1) == 1LL << 40 &&
	      sqldb_column_double(st, 2) == 0.25 &&
	      sqldb_column_text(st, 3) == NULL, "columns read back");
	CHECK(sqldb_step(st) == SQLDB_DONE, "one row");
	sqldb_finalize(st);
	CHECK(sqldb_prepare(db, "SELECT nope FROM t") == NULL &&
	      strstr(sqldb_errmsg(db), "nope") != NULL, "bad SQL: NULL");
	sqldb_finalize(NULL);
	v = 7;
	CHECK(sqldb_one_int64(db, "SELECT n FROM t WHERE 0", &v) == 0 &&
	      v == 7, "no row: kept");
	/* transactions */
	CHECK(sqldb_begin(db, 1) == 0 &&
	      sqldb_exec(db, "INSERT INTO t VALUES ('b', 2, 0)") == 0 &&
	      sqldb_rollback(db) == 0 && count(db) == 1, "rolled back");
	CHECK(sqldb_begin(db, 0) == 0 &&
	      sqldb_exec(db, "INSERT INTO t VALUES ('b', 2, 0)") == 0 &&
	      sqldb_commit(db) == 0 && count(db) == 2, "committed");
	/* a second connection read only: sees it, cannot write */
	ro = sqldb_open(path, SQLDB_RDONLY, 200, err, sizeof(err));
	CHECK(ro != NULL && count(ro) == 2, "read only sees the rows");
	CHECK(ro != NULL && sqldb_exec(ro, "DELETE FROM t") < 0 &&
	      count(db) == 2, "read only cannot write");
	/* a transaction of the writer is not seen before its commit */
	CHECK(ro != NULL && sqldb_begin(db, 1) == 0 &&
	      sqldb_exec(db, "INSERT INTO t VALUES ('c', 3, 0)") == 0 &&
	      count(ro) == 2 && sqldb_commit(db) == 0 && count(ro) == 3,
	      "readers see committed rows only");
	sqldb_close(ro);
	sqldb_close(db);
	sqldb_close(NULL);
	CHECK(sqldb_open("/nonexistent/dir/x.db", 0, 200, err,
			 sizeof(err)) == NULL &&
	      strncmp(err, "/nonexistent/dir/x.db: ", 23) == 0, err);
	unlink(path);
	CHECK(sqldb_open(path, SQLDB_RDONLY, 200, err, sizeof(err)) == NULL,
	      "read only does not create");
	CHECK(access(path, F_OK) != 0, "no file made");
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	return test_done();
}
