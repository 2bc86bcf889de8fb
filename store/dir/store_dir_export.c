/*
 * NAME
 *	store_dir_export - the directory, credentials and sender lists
 *	snapshots
 * DESCRIPTION
 *	The database side of the three snapshots: the rows of the export
 *	queries, handed to the formats' writers (common/directory.c,
 *	common/creds.c and common/senders.c, which write through
 *	common/durable.c, so a reader sees the old file or the new one,
 *	never half of one). The directory snapshot is world-readable; the
 *	credentials snapshot holds password hashes and SCRAM secrets, the
 *	sender lists whom each user trusts or refuses, so both are mode
 *	0600 and belong to the daemons' user. Every row read back from the
 *	database is validated again (by the writers) before it is written.
 */
#include "store_dir.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "directory.h"
#include "senders.h"

#include "store_dir_int.h"

#define DAEMON_USER "sluice"

struct export {
	struct directory_writer *dw;
	struct creds_writer *cw;
	struct senders_writer *sw;
	struct sbuf local;	/* "\ndomain\n" of every local domain */
	long long now;
};

/* column i of a row as a number (0 when NULL or missing) */
static long long num(int ncol, const char *const *col, int i)
{
	return i < ncol && col[i] ? strtoll(col[i], NULL, 10) : 0;
}

/* ---- the directory snapshot ---- */

/* Columns: address, expiry, enabled, quota. */
static void user_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *a = ncol > 3 ? col[0] : NULL;
	long long exp = num(ncol, col, 1);
	int enabled = num(ncol, col, 2) != 0;

	if (a != NULL)
		directory_write_mailbox(x->dw, a,
					!enabled || (exp != 0 && exp <= x->now),
					num(ncol, col, 3));
}

static void domain_row(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *dom = ncol > 0 ? col[0] : NULL;

	if (dom)
		sbuf_printf(&x->local, "%s\n", dom);
}

/* t's domain is in x->local (lowercase: sluicectl lowers addresses) */
static int local_domain(struct export *x, const char *t)
{
	const char *at = strrchr(t, '@');
	char key[300];

	if (at == NULL)
		return 0;
	snprintf(key, sizeof(key), "\n%s\n", at + 1);
	return x->local.data && strstr(x->local.data, key) != NULL;
}

/* Columns: address, target, target is a mailbox. A target that is no
 * mailbox is remote ('>'); one in a local domain would make the reader
 * refuse the file, so it is left out. */
static void group_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *a = ncol > 2 ? col[0] : NULL;
	const char *t = ncol > 2 ? col[1] : NULL;
	int remote = num(ncol, col, 2) == 0;

	if (a == NULL || t == NULL)
		return;
	if (remote && directory_valid_address(a) &&
	    directory_valid_address(t) && local_domain(x, t)) {
		fprintf(stderr, "sluicectl: %s: target %s not exported: no "
			"such mailbox\n", a, t);
		return;
	}
	directory_write_alias(x->dw, a, t, remote);
}

/* Columns: shared address, an official address (a mailbox). */
static void shared_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;

	if (ncol > 1 && col[0] != NULL && col[1] != NULL)
		directory_write_shared(x->dw, col[0], col[1]);
}

int store_dir_export(struct store_dir *d, const char *path, char *err,
		     size_t errlen)
{
	struct export x;
	int failed;

	x.now = (long long)time(NULL);
	x.dw = directory_write_open(path, err, errlen);
	if (x.dw == NULL)
		return -1;
	err[0] = '\0';
	sbuf_init(&x.local, 1 << 22);
	sbuf_puts(&x.local, "\n");
	failed = store_dir_run(d, DQ_EXPORT_USERS, NULL, user_line, &x, err,
			       errlen) < 0 ||
		 store_dir_run(d, DQ_EXPORT_DOMAINS, NULL, domain_row, &x, err,
			       errlen) < 0 ||
		 store_dir_run(d, DQ_EXPORT_GROUPS, NULL, group_line, &x, err,
			       errlen) < 0 ||
		 store_dir_run(d, DQ_EXPORT_SHARED, NULL, shared_line, &x, err,
			       errlen) < 0;
	sbuf_free(&x.local);
	return directory_write_close(&x.dw, failed, err, errlen);
}

/* ---- the credentials snapshot ---- */

/* Columns: address, scrypt hash, SCRAM secret, expiry, enabled. */
static void auth_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	struct cred e;
	char why[100];

	e.addr = ncol > 4 ? (char *)col[0] : NULL;
	e.scrypt = ncol > 4 ? (char *)col[1] : NULL;
	e.scram = ncol > 4 ? (char *)col[2] : NULL;
	e.expires = num(ncol, col, 3);
	e.enabled = num(ncol, col, 4) != 0;
	if (creds_write(x->cw, &e, why, sizeof(why)) < 0)
		fprintf(stderr, "sluicectl: %s: not exported: %s\n",
			e.addr ? e.addr : "?", why);
}

/* root runs sluicectl; the daemons, as "sluice", read the private
 * snapshots: NULL when they stay the writer's */
static const struct passwd *daemon_owner(void)
{
	return geteuid() == 0 ? getpwnam(DAEMON_USER) : NULL;
}

int store_dir_export_auth(struct store_dir *d, const char *path, char *err,
			  size_t errlen)
{
	const struct passwd *pw = daemon_owner();
	struct export x;
	int failed;

	x.cw = creds_write_open(path, pw ? pw->pw_uid : (uid_t)-1,
				pw ? pw->pw_gid : (gid_t)-1, err, errlen);
	if (x.cw == NULL)
		return -1;
	err[0] = '\0';
	failed = store_dir_run(d, DQ_EXPORT_AUTH, NULL, auth_line, &x, err,
			       errlen) < 0;
	return creds_write_close(&x.cw, failed, err, errlen);
}

/* ---- the sender lists snapshot ---- */

/* Columns: address, kind, pattern. */
static void senders_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	char why[100];

	if (ncol > 2 && senders_write(x->sw, col[0], col[1], col[2], why,
				      sizeof(why)) < 0)
		fprintf(stderr, "sluicectl: %s: %s not exported: %s\n",
			col[0] ? col[0] : "?", col[2] ? col[2] : "?", why);
}

int store_dir_export_senders(struct store_dir *d, const char *path,
			     char *err, size_t errlen)
{
	const struct passwd *pw = daemon_owner();
	struct export x;
	int failed;

	x.sw = senders_write_open(path, pw ? pw->pw_uid : (uid_t)-1,
				  pw ? pw->pw_gid : (gid_t)-1, err, errlen);
	if (x.sw == NULL)
		return -1;
	err[0] = '\0';
	failed = store_dir_run(d, DQ_EXPORT_SENDERS, NULL, senders_line, &x,
			       err, errlen) < 0;
	return senders_write_close(&x.sw, failed, err, errlen);
}

int store_dir_publish(struct store_dir *d, const char *snap,
		      const char *auth, const char *senders, char *err,
		      size_t errlen)
{
	if (!d->changed)
		return 0;
	if (store_dir_export(d, snap, err, errlen) < 0 ||
	    store_dir_export_auth(d, auth, err, errlen) < 0 ||
	    store_dir_export_senders(d, senders, err, errlen) < 0)
		return -1;
	d->changed = 0;
	return 0;
}
