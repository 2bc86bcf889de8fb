/*
 * NAME
 *	store_dir - the user directory in SQLite, and its snapshot
 * DESCRIPTION
 *	Domains, users (scrypt password hash, quota, expiry, enabled),
 *	aliases, distribution lists and domain administrators, in one SQLite
 *	file (WAL mode). store_dir_export() writes the snapshot that mx and
 *	the store read (see directory.h), store_dir_export_auth() the
 *	credentials snapshot that SASL reads (see creds.h), atomically.
 */
#ifndef SLUICE_STORE_DIR_H
#define SLUICE_STORE_DIR_H

#include <stddef.h>

#include "sbuf.h"

struct store_dir;

struct store_dir *store_dir_open(const char *path, char *err, size_t errlen);
void store_dir_close(struct store_dir *d);
/* Run one sluicectl command (argv without the program name); output to
 * out. 0, -1 with err, or -2 for a usage error. */
int store_dir_command(struct store_dir *d, int argc, char **argv,
		      struct sbuf *out, char *err, size_t errlen);
/* Set a user's password (hashed here). 0 or -1 with err. */
int store_dir_passwd(struct store_dir *d, const char *addr, const char *pw,
		     char *err, size_t errlen);
/* Did a command change anything? */
int store_dir_changed(const struct store_dir *d);
/* When the directory changed since the last call: write both snapshots
 * (store_dir_export(), store_dir_export_auth()) and clear the mark. The
 * one way sluicectl and sluice-admin publish a change. 0, or -1. */
int store_dir_publish(struct store_dir *d, const char *snap,
		      const char *auth, char *err, size_t errlen);
/* Run one read-only statement sql with text parameters p (NULL-
 * terminated, may be NULL); each row's columns go to row as text ("" for
 * NULL). The caller's SQL never holds data: data goes in p only.
 * 0, or -1 with err. */
int store_dir_select(struct store_dir *d, const char *sql,
		     const char *const *p,
		     void (*row)(int ncol, const char *const *col, void *arg),
		     void *arg, char *err, size_t errlen);
/* Write the snapshot to path atomically. 0 or -1 with err. */
int store_dir_export(struct store_dir *d, const char *path, char *err,
		     size_t errlen);
/* Write the credentials snapshot (common/creds.h: scrypt hashes and
 * SCRAM-SHA-256 secrets, never a clear password) to path atomically,
 * mode 0600, owned by the user "sluice" when run as root and that user
 * exists. 0 or -1 with err. */
int store_dir_export_auth(struct store_dir *d, const char *path, char *err,
			  size_t errlen);

#endif
