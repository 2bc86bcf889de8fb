/*
 * NAME
 *	store_dir_int - one directory interface, two backends
 * DESCRIPTION
 *	store_dir.c (the commands) and store_dir_export.c (the snapshots)
 *	know no SQL: they name a statement (enum dir_q) and pass its text
 *	parameters; the backend (store_dir_sqlite.c, store_dir_pg.c) holds
 *	the SQL of every statement in its own dialect, binds the parameters
 *	(never pastes them) and hands each row back as text columns. Every
 *	statement takes the same parameters, in the same order, in both
 *	backends. Private to the user directory.
 */
#ifndef SLUICE_STORE_DIR_INT_H
#define SLUICE_STORE_DIR_INT_H

#include <stddef.h>

/* The statements. Parameters in brackets, result columns after "->". */
enum dir_q {
	DQ_DOMAIN_LIST,		/* -> name */
	DQ_DOMAIN_ADD,		/* [domain] (no-op when present) */
	DQ_DOMAIN_DEL,		/* [domain] */
	DQ_DOMAIN_COUNT,	/* [domain] -> domains of that name */
	DQ_DOMAIN_USERS,	/* [domain] -> users in it */
	DQ_OUR_DOMAIN,		/* [domain, domain] -> domains + users */
	DQ_USER_LIST,		/* [LIKE pattern] -> addr, state, quota, date */
	DQ_USER_SHOW,		/* [addr] -> addr, enabled, quota, expires,
				   has a password (0/1) */
	DQ_USER_COUNT,		/* [addr] -> users of that address */
	DQ_TAKEN,		/* [addr, addr, addr] -> users+aliases+lists */
	DQ_USER_ADD,		/* [addr, domain, quota, expires] */
	DQ_USER_DEL,		/* [addr] */
	DQ_USER_ENABLE,		/* [addr] */
	DQ_USER_DISABLE,	/* [addr] */
	DQ_USER_QUOTA,		/* [quota, addr] */
	DQ_USER_EXPIRES,	/* [expires, addr] */
	DQ_USER_PASSWD,		/* [scrypt hash, scram secret, addr] */
	DQ_ALIAS_LIST,		/* -> alias, "t1, t2" */
	DQ_ALIAS_ADD,		/* [alias, target] (no-op when present) */
	DQ_ALIAS_DEL,		/* [alias] */
	DQ_LIST_LIST,		/* -> list, "m1, m2" */
	DQ_LIST_ADD,		/* [list, member] (no-op when present) */
	DQ_LIST_DEL,		/* [list] */
	DQ_EXPORT_USERS,	/* -> addr, expires, enabled, quota */
	DQ_EXPORT_DOMAINS,	/* -> domain (declared or with users) */
	DQ_EXPORT_GROUPS,	/* -> addr, target, target is a mailbox (0/1),
				   ordered by addr */
	DQ_EXPORT_AUTH,		/* -> addr, pwhash, scram, expires, enabled */
	DQ_COUNT
};

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

#endif
