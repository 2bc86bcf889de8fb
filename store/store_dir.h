/*
 * NAME
 *	store_dir - the user directory (SQLite or PostgreSQL), and its snapshot
 * DESCRIPTION
 *	Domains, users (scrypt password hash, quota, expiry, enabled),
 *	aliases, distribution lists and domain administrators, in one SQLite
 *	file (WAL mode) or, for many hosts, in PostgreSQL (a directory named
 *	postgresql://...; see docs/scale-out.md). store_dir_export() writes the snapshot that mx and
 *	the store read (see directory.h), store_dir_export_auth() the
 *	credentials snapshot that SASL reads (see creds.h), atomically.
 */
#ifndef SLUICE_STORE_DIR_H
#define SLUICE_STORE_DIR_H

#include <stddef.h>

#include "sbuf.h"

struct store_dir;

/* Open the directory: a postgresql:// or postgres:// URI (libpq's
 * connection URI) is PostgreSQL, anything else the path of an SQLite
 * file. Creates the tables when missing. NULL with err on failure. */
struct store_dir *store_dir_open(const char *path, char *err, size_t errlen);
/* Is path a PostgreSQL URI? */
int store_dir_is_uri(const char *path);
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
/* Wait up to timeout_ms for a change by any writer of the directory (any
 * host's sluicectl or admin, through PostgreSQL's LISTEN/NOTIFY): 1 on a
 * change or after the connection was re-made (export again), 0 when
 * none, -1 with err when the database is unreachable (a reconnection is
 * tried at the next call) or the backend (SQLite) cannot watch. */
int store_dir_wait(struct store_dir *d, int timeout_ms, char *err,
		   size_t errlen);
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
