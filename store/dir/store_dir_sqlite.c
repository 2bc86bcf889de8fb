/*
 * NAME
 *	store_dir_sqlite - the user directory in one SQLite file
 * DESCRIPTION
 *	The embedded backend of store_dir_int.h, the default: one file in
 *	WAL mode, used through common/sqldb.h (the one adapter of
 *	SQLite); the statements are store_dir_sql.h's in this backend's dialect (below),
 *	the schema and its migration are here; every statement binds its
 *	parameters. The file holds password hashes and SCRAM secrets: it is
 *	created 0600 before SQLite opens it (SQLite gives its -wal, -shm and
 *	-journal files the database's mode), and one found readable by
 *	others is made 0600 again, with a log line. SQLite cannot tell other
 *	processes of a change: sluicectl writes the snapshots itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sqldb.h"

#include "store_dir_int.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY,"
	" domain TEXT NOT NULL, pwhash TEXT, quota INTEGER NOT NULL DEFAULT 0,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" enabled INTEGER NOT NULL DEFAULT 1, scram TEXT);"
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
	"CREATE TABLE IF NOT EXISTS sender_lists(address TEXT NOT NULL,"
	" pattern TEXT NOT NULL, kind TEXT NOT NULL,"
	" PRIMARY KEY(address, pattern));";

/* columns added to users since the first schema, and how */
static const char *const added_columns[][2] = {
	{"scram", "ALTER TABLE users ADD COLUMN scram TEXT"},
	{"kind", "ALTER TABLE users ADD COLUMN kind TEXT NOT NULL "
		 "DEFAULT 'personal'"},
	{"first", "ALTER TABLE users ADD COLUMN first TEXT"},
	{"last", "ALTER TABLE users ADD COLUMN last TEXT"},
};

/* the dialect of store_dir_sql.h */
#define P(n) "?" #n
#define DATE_OF(c) "CASE " c " WHEN 0 THEN 'never' ELSE" \
	" date(" c ", 'unixepoch') END"
#define AGG(c) "group_concat(" c ", ', ')"
/* IMMEDIATE: the writer's lock from the start */
#define BEGIN_TX "BEGIN IMMEDIATE"
#include "store_dir_sql.h"

#define MAX_COLS 8

static int run_sql(struct sqldb *db, const char *q, const char *const *p,
		   dir_row_fn row, void *arg, char *err, size_t errlen)
{
	const char *col[MAX_COLS];
	struct sqldb_stmt *st;
	int rc, i, n;

	if ((st = sqldb_prepare(db, q)) == NULL) {
		snprintf(err, errlen, "%s", sqldb_errmsg(db));
		return -1;
	}
	/* copied: a row callback may change what the caller passed */
	for (i = 0; p && p[i]; i++)
		sqldb_bind_text_copy(st, i + 1, p[i]);
	/* as many as the statement takes: PostgreSQL refuses any other
	 * count, so a mismatch shows here too */
	if (i != sqldb_param_count(st)) {
		snprintf(err, errlen, "%d parameters for a statement of %d", i,
			 sqldb_param_count(st));
		sqldb_finalize(st);
		return -1;
	}
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		if (row == NULL)
			continue;
		n = sqldb_column_count(st);
		if (n > MAX_COLS)
			n = MAX_COLS;
		for (i = 0; i < n; i++)
			col[i] = sqldb_column_text(st, i);
		row(n, col, arg);
	}
	sqldb_finalize(st);
	if (rc != SQLDB_DONE) {
		snprintf(err, errlen, "%s", sqldb_errmsg(db));
		return -1;
	}
	return 0;
}

static int lite_run(void *be, enum dir_q q, const char *const *p,
		    dir_row_fn row, void *arg, char *err, size_t errlen)
{
	if (dir_sql[q] == NULL) {
		snprintf(err, errlen, "statement %d has no SQL", (int)q);
		return -1;
	}
	return run_sql(be, dir_sql[q], p, row, arg, err, errlen);
}

static int lite_wait(void *be, int timeout_ms, char *err, size_t errlen)
{
	snprintf(err, errlen, "an SQLite directory cannot be watched "
		 "(watch needs a postgresql:// directory)");
	return -1;
}

static void lite_close(void *be)
{
	sqldb_close(be);
}

static const struct store_dir_ops lite_ops = {lite_run, lite_wait,
					      lite_close};

struct column_probe {
	const char *name;
	int found;
};

static void column_cb(int ncol, const char *const *col, void *arg)
{
	struct column_probe *cp = arg;

	if (ncol > 1 && col[1] && strcmp(col[1], cp->name) == 0)
		cp->found = 1;
}

/* Directories made by older versions lack some columns of users. */
static int migrate(struct sqldb *db, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]);
	     i++) {
		struct column_probe cp = {added_columns[i][0], 0};

		if (run_sql(db, "PRAGMA table_info(users)", NULL, column_cb,
			    &cp, err, errlen) < 0)
			return -1;
		if (!cp.found && run_sql(db, added_columns[i][1], NULL, NULL,
					 NULL, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* path (and the files SQLite keeps beside it) private to its owner:
 * create it 0600 when missing, take group and other bits off one that
 * has them. 0, or -1 with err. */
static int make_private(const char *path, char *err, size_t errlen)
{
	static const char *const side[] = {"", "-wal", "-shm", "-journal"};
	char p[4096];
	struct stat st;
	size_t i;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, side[i]) >=
		    sizeof(p)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 077) == 0)
			continue;
		if (chmod(p, st.st_mode & 0700) < 0) {
			snprintf(err, errlen, "%s: mode %03o, chmod: %s", p,
				 (unsigned)(st.st_mode & 0777),
				 strerror(errno));
			return -1;
		}
		log_warn("%s was mode %03o (readable by others): made %03o", p,
			(unsigned)(st.st_mode & 0777),
			(unsigned)(st.st_mode & 0700));
	}
	return 0;
}

int store_dir_sqlite_open(const char *path, const struct store_dir_ops **ops,
			  void **be, char *err, size_t errlen)
{
	struct sqldb *db;

	if (make_private(path, err, errlen) < 0)
		return -1;
	if ((db = sqldb_open(path, 0, 5000, err, errlen)) == NULL)
		return -1;
	if (sqldb_exec(db, schema) < 0) {
		snprintf(err, errlen, "%s: %s", path, sqldb_errmsg(db));
		sqldb_close(db);
		return -1;
	}
	if (migrate(db, err, errlen) < 0) {
		sqldb_close(db);
		return -1;
	}
	*ops = &lite_ops;
	*be = db;
	return 0;
}
