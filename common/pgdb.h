/*
 * NAME
 *	pgdb - the one adapter of libpq (PostgreSQL)
 * DESCRIPTION
 *	Connections named by a libpq URI (postgresql://user@host/db?...)
 *	with our defaults (connect timeout, TCP keepalives, application
 *	name; what the URI sets wins), statements with bound parameters
 *	(text, or binary for bytea), results read by row and column,
 *	reconnection after the server went away, and LISTEN/NOTIFY: the
 *	socket to watch and the notifications that arrived. Only pgdb.c
 *	includes libpq's header; the handles are opaque. Synchronous: a
 *	caller on an event loop accepts one round trip per call (the
 *	database is on the LAN). One connection is used by one thread at a
 *	time. Base layer: knows nothing about mail.
 */
#ifndef SLUICE_PGDB_H
#define SLUICE_PGDB_H

#include <stddef.h>

struct pgdb;
struct pgdb_res;

/* Connect to uri. NULL with "postgresql: cannot connect: why" in err. */
struct pgdb *pgdb_open(const char *uri, char *err, size_t errlen);
/* Close and clear *db (NULL: nothing). */
void pgdb_close(struct pgdb **db);

/* Run one or more statements without parameters or rows wanted; the
 * connection is made again first when it broke. 0, or -1 with err. */
int pgdb_exec(struct pgdb *db, const char *sql, char *err, size_t errlen);

/* Run q with n parameters: vals[i] NULL is SQL NULL; lens NULL or
 * lens[i] < 0 a text value, else vals[i] is lens[i] bytes in binary
 * (bytea). binary_result asks for the rows in binary (a bytea column
 * as its raw bytes; integers then in network order: read them as text
 * instead). The connection is made again first when it broke; a
 * statement that failed is not repeated (it may have committed). The
 * result, freed by pgdb_res_free(), or NULL with err. */
struct pgdb_res *pgdb_query(struct pgdb *db, const char *q, int n,
	const char *const *vals, const int *lens, int binary_result, char *err,
	size_t errlen);
/* pgdb_query in text, rows dropped. 0 or -1 with err. */
int pgdb_run(struct pgdb *db, const char *q, int n, const char *const *vals,
	char *err, size_t errlen);
int pgdb_rows(const struct pgdb_res *r);
int pgdb_cols(const struct pgdb_res *r);
/* Column col of row (NUL-terminated; NULL for SQL NULL); its length. */
const char *pgdb_value(const struct pgdb_res *r, int row, int col);
size_t pgdb_len(const struct pgdb_res *r, int row, int col);
/* Column col of row as a number (0 for NULL or not a number). */
long long pgdb_ll(const struct pgdb_res *r, int row, int col);
void pgdb_res_free(struct pgdb_res **r);

/* A transaction: BEGIN, then COMMIT or ROLLBACK. Inside it a broken
 * connection is never made again behind the caller's back (what it did
 * is lost, so every later call fails until pgdb_rollback). 0 or -1
 * with err (pgdb_commit: nothing of it was committed, or the server
 * went away at the commit and whether it committed is unknown). */
int pgdb_begin(struct pgdb *db, char *err, size_t errlen);
int pgdb_commit(struct pgdb *db, char *err, size_t errlen);
void pgdb_rollback(struct pgdb *db);

/* Non-zero while the connection is up. */
int pgdb_alive(const struct pgdb *db);
/* Make the connection again (logged once it works); after a failure
 * the next try is made a second later at the earliest (until then -1 at
 * once). 0 or -1 with err. */
int pgdb_reconnect(struct pgdb *db, char *err, size_t errlen);
/* The server process of the connection (NOTIFY tells who sent it). */
int pgdb_backend_pid(const struct pgdb *db);
/* The connection's socket for a loop to watch (-1 when down). */
int pgdb_socket(const struct pgdb *db);
/* Read what arrived on the socket and call cb for every notification
 * (channel, payload, the sender's backend pid). The number given to
 * cb, or -1 with err when the connection is lost. */
int pgdb_notifies(struct pgdb *db,
	void (*cb)(
		void *arg, const char *channel, const char *payload, int pid),
	void *arg, char *err, size_t errlen);
/* Wait up to timeout_ms for input on the connection, then as
 * pgdb_notifies. */
int pgdb_wait(struct pgdb *db, int timeout_ms,
	void (*cb)(
		void *arg, const char *channel, const char *payload, int pid),
	void *arg, char *err, size_t errlen);

#endif
