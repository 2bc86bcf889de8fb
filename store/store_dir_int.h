/*
 * NAME
 *	store_dir_int - what store_dir.c shares with store_dir_export.c
 * DESCRIPTION
 *	The SQLite handle and the one statement runner (bound text
 *	parameters only). Private to the user directory.
 */
#ifndef SLUICE_STORE_DIR_INT_H
#define SLUICE_STORE_DIR_INT_H

#include <stddef.h>

#include <sqlite3.h>

struct store_dir {
	sqlite3 *db;
	int changed;
};

/* Run sql with text parameters (NULL-terminated list, may be NULL);
 * each row goes to cb. 0, or -1 with the SQLite message in err. */
int store_dir_run(struct store_dir *d, const char *sql,
		  const char *const *p,
		  void (*cb)(sqlite3_stmt *st, void *arg), void *arg,
		  char *err, size_t errlen);

#endif
