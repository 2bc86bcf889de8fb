/*
 * NAME
 *	store_dir - the user directory (SQLite or PostgreSQL), and its snapshot
 * DESCRIPTION
 *	Domains, users (scrypt password hash, quota, expiry, enabled, kind,
 *	first and last name), aliases, shared addresses, distribution lists
 *	and their owners, domain administrators, and users' allow and block
 *	lists of senders, in one SQLite file (WAL
 *	mode) or, for many hosts, in PostgreSQL (a directory named
 *	postgresql://...; see docs/scale-out.md). Callers name statements
 *	(enum dir_q); each backend holds their SQL in its own dialect.
 *	store_dir_export() writes the snapshot that mx and the store read
 *	(see directory.h), store_dir_export_auth() the credentials snapshot
 *	that SASL reads (see creds.h), store_dir_export_senders() the
 *	sender lists snapshot that spamd reads (see senders.h), atomically.
 */
#ifndef SLUICE_STORE_DIR_H
#define SLUICE_STORE_DIR_H

#include <stddef.h>

#include "sbuf.h"

struct store_dir;

/* The statements, the same in every backend, parameter for parameter.
 * Parameters in brackets, result columns after "->"; a count is one
 * number. The views come first: store_dir_select() runs those only. */
enum dir_q {
	DQ_DOMAIN_LIST,		/* -> name */
	DQ_DOMAIN_COUNT,	/* [domain] -> domains of that name */
	DQ_DOMAIN_USERS,	/* [domain] -> users in it */
	DQ_OUR_DOMAIN,		/* [domain, domain] -> domains + users */
	DQ_USER_LIST,		/* [LIKE pattern] -> addr, state, quota, date */
	DQ_USER_SHOW,		/* [addr] -> addr, enabled, quota, expires,
				   has a password (0/1) */
	DQ_USER_COUNT,		/* [addr] -> users of that address */
	DQ_TAKEN,		/* [addr, addr, addr] -> users+aliases+lists */
	DQ_ALIAS_LIST,		/* -> alias, "t1, t2" */
	DQ_ALIAS_COUNT,		/* [addr] -> aliases rows of addr */
	DQ_SHARED_COUNT,	/* [addr] -> shared rows of addr */
	DQ_LIST_LIST,		/* -> list, "m1, m2" */
	DQ_LIST_COUNT,		/* [list] -> members */
	DQ_LIST_MEMBERS,	/* [list] -> member, list; by member */
	DQ_ADMIN_LIST,		/* -> domain, admin */
	DQ_IS_ADMIN,		/* [domain, admin] -> rows ('*': super) */
	DQ_ADMIN_ROWS,		/* [admin] -> domains (or '*') it administers */
	DQ_ADMIN_DOMAINS,	/* [admin] -> domain (not '*'), by name */
	DQ_OWNS_LIST,		/* [list, owner] -> rows */
	DQ_OWNED_LISTS,		/* [owner] -> list, by name */
	DQ_DOMAIN_PEOPLE,	/* [domain] -> addr, "first last", kind,
				   quota, date or never, state */
	DQ_DOMAIN_ALIASES,	/* [domain] -> alias, "t1, t2" */
	DQ_DOMAIN_SHARED,	/* [domain] -> address, "o1, o2" */
	DQ_DOMAIN_LISTS,	/* [domain] -> list, "owner1, owner2" */
	DQ_USER_DETAIL,		/* [addr] -> as DQ_DOMAIN_PEOPLE, then
				   has a password (yes/no) */
	DQ_SENDERS_OF,		/* [addr] -> kind, pattern; by pattern */
	DQ_SENDERS_COUNT,	/* [addr] -> its sender rules */
	DQ_VIEW_END,
	/* changes, transactions, and the snapshots' reads (which see
	 * password hashes: never a view) */
	DQ_DOMAIN_ADD = DQ_VIEW_END, /* [domain] (no-op when present) */
	DQ_DOMAIN_DEL,		/* [domain] */
	DQ_USER_ADD,		/* [addr, domain, quota, expires] */
	DQ_USER_DEL,		/* [addr] */
	DQ_USER_ENABLE,		/* [addr] */
	DQ_USER_DISABLE,	/* [addr] */
	DQ_USER_QUOTA,		/* [quota, addr] */
	DQ_USER_EXPIRES,	/* [expires, addr] */
	DQ_USER_PASSWD,		/* [scrypt hash, scram secret, addr] */
	DQ_USER_KIND,		/* [personal|role, addr] */
	DQ_USER_NAMES,		/* [first, last, addr] */
	DQ_ALIAS_ADD,		/* [alias, target] (no-op when present) */
	DQ_ALIAS_DEL,		/* [alias] */
	DQ_ALIAS_RM,		/* [alias, target] */
	DQ_LIST_ADD,		/* [list, member] (no-op when present) */
	DQ_LIST_DEL,		/* [list] */
	DQ_LIST_RM,		/* [list, member] */
	DQ_ADMIN_ADD,		/* [domain or '*', admin] (no-op when there) */
	DQ_ADMIN_DEL,		/* [domain or '*', admin] */
	DQ_OWNER_ADD,		/* [list, owner] (no-op when present) */
	DQ_OWNER_DEL,		/* [list, owner] */
	DQ_SHARED_ADD,		/* [address, official] (no-op when present) */
	DQ_SHARED_FROM_ALIAS,	/* [alias]: its targets become officials */
	DQ_SENDERS_SET,		/* [addr, allow|block, pattern, max]: added,
				   or its kind changed; not added when addr
				   has max rules already */
	DQ_SENDERS_RM,		/* [addr, pattern] */
	DQ_SENDERS_DEL_USER,	/* [addr]: all its rules */
	DQ_BEGIN,		/* a transaction that sees no other writer */
	DQ_COMMIT,
	DQ_ROLLBACK,
	DQ_EXPORT_USERS,	/* -> addr, expires, enabled, quota */
	DQ_EXPORT_DOMAINS,	/* -> domain (declared or with users) */
	DQ_EXPORT_GROUPS,	/* -> addr, target, target is a mailbox (0/1),
				   ordered by addr */
	DQ_EXPORT_AUTH,		/* -> addr, pwhash, scram, expires, enabled */
	DQ_EXPORT_SHARED,	/* -> shared address, an official address
				   that is a mailbox; by both */
	DQ_EXPORT_SENDERS,	/* -> addr (a mailbox), kind, pattern; by
				   addr and pattern */
	DQ_COUNT
};

/* Open the directory: a postgresql:// or postgres:// URI (libpq's
 * connection URI) is PostgreSQL, anything else the path of an SQLite
 * file. Creates the tables when missing. NULL with err on failure. */
struct store_dir *store_dir_open(const char *path, char *err, size_t errlen);
/* Lowercase s in place (the directory keeps addresses lowercase). */
void store_dir_lower(char *s);
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
/* When the directory changed since the last call: write the three
 * snapshots (store_dir_export(), store_dir_export_auth(),
 * store_dir_export_senders()) and clear the mark. The one way sluicectl
 * and sluice-admin publish a change. 0, or -1. */
int store_dir_publish(struct store_dir *d, const char *snap,
		      const char *auth, const char *senders, char *err,
		      size_t errlen);
/* Run view q (a read-only statement: q < DQ_VIEW_END) with text
 * parameters p (NULL-terminated, may be NULL, as many as q takes); each
 * row's columns go to row as text ("" for NULL). The SQL is the
 * backend's: callers name a view, never write SQL. 0, or -1 with err. */
int store_dir_select(struct store_dir *d, enum dir_q q,
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
/* Write the sender lists snapshot (common/senders.h) to path
 * atomically, mode 0600, owned as the credentials snapshot. 0 or -1
 * with err. */
int store_dir_export_senders(struct store_dir *d, const char *path,
			     char *err, size_t errlen);
/* sluicectl ldap-sync (store_dir_ldap.c; only sluicectl links it and
 * libldap): --uri URI --base DN --domain D [--domain D...] [--filter F]
 * [--bind-dn DN --password-file FILE] [--ca-file FILE] [--page-size N]
 * [--map key=attr,...]. Reads LDAP first, then applies in one transaction;
 * summary to out. 0, -1 with err (nothing changed), -2 usage. */
int store_dir_ldap_sync(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen);

#endif
