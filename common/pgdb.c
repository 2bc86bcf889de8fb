/*
 * NAME
 *	pgdb - the one adapter of libpq (PostgreSQL)
 * DESCRIPTION
 *	See pgdb.h. libpq's errors become one line ("postgresql: what:
 *	libpq's first line") here; the server's notices and warnings go to
 *	our log, one line each. Trusts nothing the server sends more than
 *	its callers do: they validate the rows again.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "pgdb.h"

#define PGDB_MAX_PARAMS 16

/* after a failed reconnection, the next try waits this long: a server
 * that does not answer costs a caller connect_timeout once a second,
 * not at every call */
#define PGDB_RETRY_NS 1000000000LL

struct pgdb {
	PGconn *c;
	int in_tx;          /* between pgdb_begin and its end */
	long long next_try; /* CLOCK_MONOTONIC ns: reconnect not before */
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct pgdb_res {
	PGresult *r;
};

/* libpq's message without its trailing newline */
static void pg_error(PGconn *c, const char *what, char *err, size_t errlen)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	size_t n = strcspn(m, "\n");

	snprintf(err, errlen, "postgresql: %s%s%.*s", what, what[0] ? ": " : "",
		(int)n, m);
}

static void notice_cb(void *arg, const char *m)
{
	log_warn("postgresql: %.*s", (int)strcspn(m, "\n"), m);
}

static int exec_raw(PGconn *c, const char *q, char *err, size_t errlen)
{
	PGresult *r = PQexec(c, q);
	int ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK ||
			      PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		pg_error(c, "", err, errlen);
	PQclear(r);
	return ok ? 0 : -1;
}

struct pgdb *pgdb_open(const char *uri, char *err, size_t errlen)
{
	/* ours first: what the URI says overrides them */
	static const char *const keys[] = {"connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "application_name",
		"dbname", NULL};
	const char *vals[] = {"3", "10", "5", "3", "sluice", uri, NULL};
	struct pgdb *db = calloc(1, sizeof(*db));

	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->c = PQconnectdbParams(keys, vals, 1);
	if (db->c == NULL || PQstatus(db->c) != CONNECTION_OK) {
		pg_error(db->c, "cannot connect", err, errlen);
		pgdb_close(&db);
		return NULL;
	}
	PQsetNoticeProcessor(db->c, notice_cb, NULL);
	if (exec_raw(db->c, "SET client_min_messages = warning", err, errlen) <
		0) {
		pgdb_close(&db);
		return NULL;
	}
	return db;
}

void pgdb_close(struct pgdb **dbp)
{
	struct pgdb *db = *dbp;

	if (db == NULL)
		return;
	PQfinish(db->c);
	free(db);
	*dbp = NULL;
}

int pgdb_alive(const struct pgdb *db)
{
	return PQstatus(db->c) == CONNECTION_OK;
}

int pgdb_reconnect(struct pgdb *db, char *err, size_t errlen)
{
	if (now_ns() < db->next_try) {
		snprintf(err, errlen,
			"postgresql: unreachable (trying again "
			"within a second)");
		return -1;
	}
	PQreset(db->c);
	if (PQstatus(db->c) != CONNECTION_OK) {
		pg_error(db->c, "unreachable", err, errlen);
		db->next_try = now_ns() + PGDB_RETRY_NS;
		return -1;
	}
	db->next_try = 0;
	log_info("postgresql: connected again");
	return exec_raw(
		db->c, "SET client_min_messages = warning", err, errlen);
}

/* The connection, made again when it broke outside a transaction. */
static int ready(struct pgdb *db, char *err, size_t errlen)
{
	if (pgdb_alive(db))
		return 0;
	if (db->in_tx) {
		snprintf(err, errlen,
			"postgresql: connection lost in a "
			"transaction");
		return -1;
	}
	return pgdb_reconnect(db, err, errlen);
}

int pgdb_exec(struct pgdb *db, const char *sql, char *err, size_t errlen)
{
	if (ready(db, err, errlen) < 0)
		return -1;
	return exec_raw(db->c, sql, err, errlen);
}

int pgdb_begin(struct pgdb *db, char *err, size_t errlen)
{
	if (pgdb_exec(db, "BEGIN", err, errlen) < 0)
		return -1;
	db->in_tx = 1;
	return 0;
}

int pgdb_commit(struct pgdb *db, char *err, size_t errlen)
{
	PGresult *r;
	int ok;

	if (!db->in_tx) {
		snprintf(err, errlen, "postgresql: no transaction");
		return -1;
	}
	db->in_tx = 0;
	r = PQexec(db->c, "COMMIT");
	/* a transaction that failed answers COMMIT with ROLLBACK */
	ok = r && PQresultStatus(r) == PGRES_COMMAND_OK &&
	     strcmp(PQcmdStatus(r), "COMMIT") == 0;
	if (!ok) {
		if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
			snprintf(err, errlen,
				"postgresql: transaction "
				"rolled back");
		else
			pg_error(db->c, "commit", err, errlen);
	}
	PQclear(r);
	return ok ? 0 : -1;
}

void pgdb_rollback(struct pgdb *db)
{
	db->in_tx = 0;
	if (pgdb_alive(db))
		PQclear(PQexec(db->c, "ROLLBACK"));
}

struct pgdb_res *pgdb_query(struct pgdb *db, const char *q, int n,
	const char *const *vals, const int *lens, int binary_result, char *err,
	size_t errlen)
{
	int fmt[PGDB_MAX_PARAMS], len[PGDB_MAX_PARAMS], i, st;
	struct pgdb_res *res;
	PGresult *r;

	if (n < 0 || n > PGDB_MAX_PARAMS) {
		snprintf(err, errlen, "postgresql: too many parameters");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		fmt[i] = lens && lens[i] >= 0;
		len[i] = fmt[i] ? lens[i] : 0;
	}
	if (ready(db, err, errlen) < 0)
		return NULL;
	r = PQexecParams(db->c, q, n, NULL, vals, len, fmt, binary_result);
	st = r ? (int)PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		pg_error(db->c, "", err, errlen);
		PQclear(r);
		return NULL;
	}
	if ((res = malloc(sizeof(*res))) == NULL) {
		snprintf(err, errlen, "out of memory");
		PQclear(r);
		return NULL;
	}
	res->r = r;
	return res;
}

int pgdb_run(struct pgdb *db, const char *q, int n, const char *const *vals,
	char *err, size_t errlen)
{
	struct pgdb_res *r = pgdb_query(db, q, n, vals, NULL, 0, err, errlen);

	if (r == NULL)
		return -1;
	pgdb_res_free(&r);
	return 0;
}

int pgdb_rows(const struct pgdb_res *r)
{
	return PQntuples(r->r);
}

int pgdb_cols(const struct pgdb_res *r)
{
	return PQnfields(r->r);
}

const char *pgdb_value(const struct pgdb_res *r, int row, int col)
{
	if (row < 0 || row >= PQntuples(r->r) || col < 0 ||
		col >= PQnfields(r->r) || PQgetisnull(r->r, row, col))
		return NULL;
	return PQgetvalue(r->r, row, col);
}

size_t pgdb_len(const struct pgdb_res *r, int row, int col)
{
	return pgdb_value(r, row, col) ? (size_t)PQgetlength(r->r, row, col)
				       : 0;
}

long long pgdb_ll(const struct pgdb_res *r, int row, int col)
{
	const char *v = pgdb_value(r, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

void pgdb_res_free(struct pgdb_res **rp)
{
	if (*rp == NULL)
		return;
	PQclear((*rp)->r);
	free(*rp);
	*rp = NULL;
}

int pgdb_backend_pid(const struct pgdb *db)
{
	return PQbackendPID(db->c);
}

int pgdb_socket(const struct pgdb *db)
{
	return pgdb_alive(db) ? PQsocket(db->c) : -1;
}

int pgdb_notifies(struct pgdb *db,
	void (*cb)(
		void *arg, const char *channel, const char *payload, int pid),
	void *arg, char *err, size_t errlen)
{
	PGnotify *nt;
	int n = 0;

	if (PQconsumeInput(db->c) == 0 || !pgdb_alive(db)) {
		pg_error(db->c, "connection lost", err, errlen);
		return -1;
	}
	while ((nt = PQnotifies(db->c)) != NULL) {
		n++;
		if (cb)
			cb(arg, nt->relname, nt->extra ? nt->extra : "",
				nt->be_pid);
		PQfreemem(nt);
	}
	return n;
}

int pgdb_wait(struct pgdb *db, int timeout_ms,
	void (*cb)(
		void *arg, const char *channel, const char *payload, int pid),
	void *arg, char *err, size_t errlen)
{
	struct pollfd pfd;

	pfd.fd = pgdb_socket(db);
	pfd.events = POLLIN;
	if (pfd.fd < 0 || poll(&pfd, 1, timeout_ms) < 0) {
		pg_error(db->c, "connection lost", err, errlen);
		return -1;
	}
	return pgdb_notifies(db, cb, arg, err, errlen);
}
