/*
 * NAME
 *	store_dir_test - every directory statement runs on SQLite, with
 *	exactly its parameters
 * DESCRIPTION
 *	Table-driven over enum dir_q: each statement of store_dir_sql.h
 *	(the SQLite dialect) runs on a fresh directory with as many
 *	parameters as the table says, and fails with one fewer and with one
 *	more (the count PostgreSQL enforces too); store_dir_select() runs
 *	views only. The PostgreSQL dialect is run by tests/test_scale_pg.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_dir_int.h"
#include "test.h"

static const struct {
	enum dir_q q;
	int np;
} stmts[] = {
	{DQ_DOMAIN_LIST, 0}, {DQ_DOMAIN_COUNT, 1}, {DQ_DOMAIN_USERS, 1},
	{DQ_OUR_DOMAIN, 2}, {DQ_USER_LIST, 1}, {DQ_USER_SHOW, 1},
	{DQ_USER_COUNT, 1}, {DQ_TAKEN, 3}, {DQ_ALIAS_LIST, 0},
	{DQ_ALIAS_COUNT, 1}, {DQ_SHARED_COUNT, 1}, {DQ_LIST_LIST, 0},
	{DQ_LIST_COUNT, 1}, {DQ_LIST_MEMBERS, 1}, {DQ_ADMIN_LIST, 0},
	{DQ_IS_ADMIN, 2}, {DQ_ADMIN_ROWS, 1}, {DQ_ADMIN_DOMAINS, 1},
	{DQ_OWNS_LIST, 2}, {DQ_OWNED_LISTS, 1}, {DQ_DOMAIN_PEOPLE, 1},
	{DQ_DOMAIN_ALIASES, 1}, {DQ_DOMAIN_SHARED, 1}, {DQ_DOMAIN_LISTS, 1},
	{DQ_USER_DETAIL, 1}, {DQ_SENDERS_OF, 1}, {DQ_SENDERS_COUNT, 1},
	{DQ_DOMAIN_ADD, 1}, {DQ_DOMAIN_DEL, 1},
	{DQ_USER_ADD, 4}, {DQ_USER_DEL, 1}, {DQ_USER_ENABLE, 1},
	{DQ_USER_DISABLE, 1}, {DQ_USER_QUOTA, 2}, {DQ_USER_EXPIRES, 2},
	{DQ_USER_PASSWD, 3}, {DQ_USER_KIND, 2}, {DQ_USER_NAMES, 3},
	{DQ_ALIAS_ADD, 2}, {DQ_ALIAS_DEL, 1}, {DQ_ALIAS_RM, 2},
	{DQ_LIST_ADD, 2}, {DQ_LIST_DEL, 1}, {DQ_LIST_RM, 2},
	{DQ_ADMIN_ADD, 2}, {DQ_ADMIN_DEL, 2}, {DQ_OWNER_ADD, 2},
	{DQ_OWNER_DEL, 2}, {DQ_SHARED_ADD, 2}, {DQ_SHARED_FROM_ALIAS, 1},
	{DQ_SENDERS_SET, 4}, {DQ_SENDERS_RM, 2}, {DQ_SENDERS_DEL_USER, 1},
	{DQ_BEGIN, 0}, {DQ_COMMIT, 0}, {DQ_BEGIN, 0}, {DQ_ROLLBACK, 0},
	{DQ_EXPORT_USERS, 0}, {DQ_EXPORT_DOMAINS, 0}, {DQ_EXPORT_GROUPS, 0},
	{DQ_EXPORT_AUTH, 0}, {DQ_EXPORT_SHARED, 0}, {DQ_EXPORT_SENDERS, 0},
};

#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

static void count_row(int ncol, const char *const *col, void *arg)
{
	(void)ncol;
	(void)col;
	(*(int *)arg)++;
}

int main(void)
{
	/* numbers where a column is one: both dialects take them */
	static const char *const args[] = {"5", "7", "a@b.test", "9", "x",
					   NULL};
	char dir[] = "/tmp/store_dir_test.XXXXXX", path[64], err[256];
	const char *p[6];
	int seen[DQ_COUNT] = {0}, rows = 0, i, k;
	struct store_dir *d;
	size_t n;

	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/d.db", dir);
	d = store_dir_open(path, err, sizeof(err));
	CHECK(d != NULL, "open");
	if (d == NULL)
		return test_done();
	for (n = 0; n < NSTMTS; n++) {
		seen[stmts[n].q] = 1;
		for (k = -1; k <= 1; k++) {
			int np = stmts[n].np + k, rc;

			if (np < 0)
				continue;
			for (i = 0; i < np; i++)
				p[i] = args[i];
			p[np] = NULL;
			rc = store_dir_run(d, stmts[n].q, np ? p : NULL, NULL,
					   NULL, err, sizeof(err));
			if (k == 0 && rc != 0)
				fprintf(stderr, "statement %d: %s\n",
					(int)stmts[n].q, err);
			CHECK(k == 0 ? rc == 0 : rc < 0, "parameter count");
		}
	}
	for (i = 0; i < DQ_COUNT; i++)
		CHECK(seen[i], "every statement in the table");
	/* views only */
	p[0] = "a@b.test";
	p[1] = NULL;
	CHECK(store_dir_select(d, DQ_USER_COUNT, p, count_row, &rows, err,
			       sizeof(err)) == 0 && rows == 1, "a view");
	CHECK(store_dir_select(d, DQ_USER_DEL, p, count_row, &rows, err,
			       sizeof(err)) < 0, "a change is no view");
	CHECK(store_dir_select(d, DQ_EXPORT_AUTH, NULL, count_row, &rows,
			       err, sizeof(err)) < 0, "hashes are no view");
	store_dir_close(d);
	unlink(path);
	snprintf(path, sizeof(path), "%s/d.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/d.db-shm", dir);
	unlink(path);
	rmdir(dir);
	return test_done();
}
