/*
 * NAME
 *	store_dir_int - one directory interface, two backends
 * DESCRIPTION
 *	store_dir.c, store_dir_admin.c (the commands) and
 *	store_dir_export.c (the snapshots) know no SQL: they name a
 *	statement (enum dir_q, store_dir.h) and pass its text parameters;
 *	the backend (store_dir_sqlite.c, store_dir_pg.c) holds the SQL of
 *	every statement in its own dialect, binds the parameters (never
 *	pastes them) and hands each row back as text columns. Every
 *	statement takes the same parameters, in the same order, in both
 *	backends. Private to the user directory.
 */
#ifndef SLUICE_STORE_DIR_INT_H
#define SLUICE_STORE_DIR_INT_H

#include <stddef.h>

#include "store_dir.h"

/* One result row: ncol columns as text, NULL for SQL NULL. */
typedef void (*dir_row_fn)(int ncol, const char *const *col, void *arg);

struct store_dir_ops {
	/* Run statement q with text parameters p (NULL-terminated, may be
	 * NULL); each row to row (may be NULL). 0, or -1 with err. */
	int (*run)(void *be, enum dir_q q, const char *const *p,
		   dir_row_fn row, void *arg, char *err, size_t errlen);
	/* Wait up to timeout_ms for a change made by any writer: 1 when
	 * there was one (or the connection was re-made, so changes may
	 * have been missed), 0 when none, -1 with err (cannot watch, or
	 * the database is unreachable: call again later). */
	int (*wait)(void *be, int timeout_ms, char *err, size_t errlen);
	void (*close)(void *be);
};

struct store_dir {
	const struct store_dir_ops *ops;
	void *be;
	int changed;
};

/* Open a backend; 0 with *ops and *be set, or -1 with err. */
int store_dir_sqlite_open(const char *path, const struct store_dir_ops **ops,
			  void **be, char *err, size_t errlen);
int store_dir_pg_open(const char *uri, const struct store_dir_ops **ops,
		      void **be, char *err, size_t errlen);

/* Run statement q of d's backend (see struct store_dir_ops). */
int store_dir_run(struct store_dir *d, enum dir_q q, const char *const *p,
		  dir_row_fn row, void *arg, char *err, size_t errlen);
/* End the transaction DQ_BEGIN opened: commit when rc is 0, else roll
 * back. rc, or -1 with err when the commit failed. */
int store_dir_tx_end(struct store_dir *d, int rc, char *err, size_t errlen);
/* The number statement q counts; -1 on error. */
long long store_dir_count(struct store_dir *d, enum dir_q q,
			  const char *const *p);
/* Lowercase a and check that a snapshot can hold it. 0, or -1 with
 * err. */
int store_dir_check_addr(char *a, char *err, size_t errlen);
/* a is a mailbox; a is a mailbox, alias or list. */
int store_dir_is_mailbox(struct store_dir *d, const char *a);
int store_dir_is_taken(struct store_dir *d, const char *a);
/* "YYYY-MM-DD" or "never" into seconds since the epoch (0 = never). */
int store_dir_parse_date(const char *s, long long *out);
/* A row as tab-separated text, "-" for NULL, to the sbuf arg. */
void store_dir_print_cb(int ncol, const char *const *col, void *arg);

/* The commands of store_dir_admin.c, argv after the command's name:
 * admin add|del DOMAIN|'*' ADDRESS, admin list; owner add|del LIST
 * ADDRESS; person add DOMAIN FIRST LAST [--quota S] [--expires D]. */
int store_dir_cmd_admin(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen);
int store_dir_cmd_owner(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen);
int store_dir_cmd_person(struct store_dir *d, int argc, char **argv,
			 struct sbuf *out, char *err, size_t errlen);
/* store_dir_senders.c, argv after "senders": USER allow|block PATTERN,
 * USER remove PATTERN, USER list. */
int store_dir_cmd_senders(struct store_dir *d, int argc, char **argv,
			  struct sbuf *out, char *err, size_t errlen);

#endif
