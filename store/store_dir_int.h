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

/* The first column of the first row of sql as a number; -1 on error. */
long long store_dir_count(struct store_dir *d, const char *sql,
			  const char *const *p);
/* Lowercase s in place. */
void store_dir_lower(char *s);
/* Lowercase a and check that a snapshot can hold it. 0, or -1 with
 * err. */
int store_dir_check_addr(char *a, char *err, size_t errlen);
/* a is a mailbox; a is a mailbox, alias or list. */
int store_dir_is_mailbox(struct store_dir *d, const char *a);
int store_dir_is_taken(struct store_dir *d, const char *a);
/* "YYYY-MM-DD" or "never" into seconds since the epoch (0 = never). */
int store_dir_parse_date(const char *s, long long *out);
/* A row as tab-separated text, "-" for NULL, to the sbuf arg. */
void store_dir_print_cb(sqlite3_stmt *st, void *arg);

struct sbuf;
/* The commands of store_dir_admin.c, argv after the command's name:
 * admin add|del DOMAIN|'*' ADDRESS, admin list; owner add|del LIST
 * ADDRESS; person add DOMAIN FIRST LAST [--quota S] [--expires D]. */
int store_dir_cmd_admin(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen);
int store_dir_cmd_owner(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen);
int store_dir_cmd_person(struct store_dir *d, int argc, char **argv,
			 struct sbuf *out, char *err, size_t errlen);

#endif
