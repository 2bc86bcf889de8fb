/*
 * NAME
 *	store_dir_schema - the directory's tables and their migrations, once
 * DESCRIPTION
 *	The tables of both backends, as the tables were first made, and
 *	every column added since, oldest first. A new column is one row of
 *	DIR_ADDED: each backend adds the rows it lacks to an old database,
 *	and to a new one right after creating the tables, so both end with
 *	the same columns in the same order. A new table is one row of
 *	DIR_TABLES (PostgreSQL also gives it its NOTIFY trigger). What
 *	differs between SQLite and PostgreSQL is a macro the including
 *	backend defines first:
 *	  INT64   a 64-bit integer column type ("INTEGER", "BIGINT")
 *	  ID_KEY  an integer primary key the database numbers itself
 *	          (AUTOINCREMENT, an identity column)
 *	The backends apply the rows with their own statements (SQLite looks
 *	a column up first, PostgreSQL says IF NOT EXISTS). Included by
 *	store_dir_sqlite.c and store_dir_pg.c only.
 */
#ifndef SLUICE_STORE_DIR_SCHEMA_H
#define SLUICE_STORE_DIR_SCHEMA_H

#if !defined(INT64) || !defined(ID_KEY)
#error "the including backend defines INT64 and ID_KEY first"
#endif

/* T(table, columns) per table, in the order they are made. */
#define DIR_TABLES(T)                                                          \
	T(domains, "name TEXT PRIMARY KEY")                                    \
	T(users, "address TEXT PRIMARY KEY, domain TEXT NOT NULL, pwhash "     \
		 "TEXT, quota " INT64 " NOT NULL DEFAULT 0, expires " INT64    \
		 " NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT 1")    \
	T(aliases, "address TEXT NOT NULL, target TEXT NOT NULL, "             \
		   "PRIMARY KEY(address, target)")                             \
	T(lists, "address TEXT NOT NULL, member TEXT NOT NULL, "               \
		 "PRIMARY KEY(address, member)")                               \
	T(domain_admins, "domain TEXT NOT NULL, admin TEXT NOT NULL, "         \
			 "PRIMARY KEY(domain, admin)")                         \
	T(list_owners, "address TEXT NOT NULL, owner TEXT NOT NULL, "          \
		       "PRIMARY KEY(address, owner)")                          \
	T(shared, "address TEXT NOT NULL, official TEXT NOT NULL, "            \
		  "PRIMARY KEY(address, official)")                            \
	T(sender_lists, "address TEXT NOT NULL, pattern TEXT NOT NULL, "       \
			"kind TEXT NOT NULL, PRIMARY KEY(address, pattern)")

/* C(table, column, definition) per column added since, oldest first. */
#define DIR_ADDED(C)                                                           \
	C(users, scram, "TEXT")                                                \
	C(users, kind, "TEXT NOT NULL DEFAULT 'personal'")                     \
	C(users, first, "TEXT")                                                \
	C(users, last, "TEXT")

/* The CREATE TABLE statements of DIR_TABLES, as one text. */
#define DIR_CREATE_ONE(t, cols) "CREATE TABLE IF NOT EXISTS " #t "(" cols ");"
#define DIR_CREATE DIR_TABLES(DIR_CREATE_ONE)

#endif
