/*
 * NAME
 *	store_dir_export - the directory and credentials snapshots
 * DESCRIPTION
 *	Both files are written the same way: a temporary file beside the
 *	target, fsync, rename over the target, fsync of the directory, so a
 *	reader sees the old file or the new one, never half of one. The
 *	directory snapshot (common/directory.c) is world-readable; the
 *	credentials snapshot (common/creds.c) holds password hashes and
 *	SCRAM secrets, so it is mode 0600 and belongs to the daemons' user.
 *	Every row read back from the database is validated again before it
 *	is written.
 */
#include "store_dir.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "directory.h"
#include "durable.h"

#include "store_dir_int.h"

#define DAEMON_USER "sluice"

struct export {
	FILE *f;
	struct sbuf local;	/* "\ndomain\n" of every local domain */
	long long now;
	char cur[300];
	int skipped;
};

typedef int (*fill_fn)(struct store_dir *d, struct export *x, char *err,
		       size_t errlen);

/* Write path through fill: temporary file, fsync, rename, dir fsync
 * (durable.c). */
static int atomic_write(struct store_dir *d, const char *path, mode_t mode,
			int own, fill_fn fill, struct export *x, char *err,
			size_t errlen)
{
	struct durable_file df;
	char tmp[4096];
	struct passwd *pw;
	int fd = -1, bad;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "snapshot path too long");
		return -1;
	}
	if (durable_open(&df, path, tmp, mode, DURABLE_REPLACE_TMP) < 0) {
		snprintf(err, errlen, "%s: cannot create", tmp);
		return -1;
	}
	/* root runs sluicectl; the daemons, as "sluice", read the file */
	if ((own && geteuid() == 0 && (pw = getpwnam(DAEMON_USER)) != NULL &&
	     fchown(df.fd, pw->pw_uid, pw->pw_gid) < 0) ||
	    (fd = dup(df.fd)) < 0 || (x->f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		durable_abort(&df);
		snprintf(err, errlen, "%s: cannot create", tmp);
		return -1;
	}
	x->now = (long long)time(NULL);
	x->cur[0] = '\0';
	x->skipped = 0;
	err[0] = '\0';
	bad = fill(d, x, err, errlen) < 0 || fflush(x->f) != 0;
	if (fclose(x->f) != 0 || bad) {
		if (!err[0])
			snprintf(err, errlen, "%s: write failed", tmp);
		durable_abort(&df);
		return -1;
	}
	/* a folder that cannot be synced does not undo the snapshot */
	if (durable_commit(&df) < 0 && !df.renamed) {
		snprintf(err, errlen, "%s: write or rename to %s failed", tmp,
			 path);
		return -1;
	}
	return 0;
}

/* ---- the directory snapshot (common/directory.c) ---- */

/* column i of a row as a number (0 when NULL or missing) */
static long long num(int ncol, const char *const *col, int i)
{
	return i < ncol && col[i] ? strtoll(col[i], NULL, 10) : 0;
}

static void user_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *a = ncol > 3 ? col[0] : NULL;
	long long exp = num(ncol, col, 1);
	int enabled = num(ncol, col, 2) != 0;
	long long quota = num(ncol, col, 3);

	if (a == NULL || !directory_valid_address(a))
		return;
	if (!enabled || (exp != 0 && exp <= x->now))
		fprintf(x->f, "-%s\n", a);
	else if (quota > 0)
		fprintf(x->f, "%s quota=%lld\n", a, quota);
	else
		fprintf(x->f, "%s\n", a);
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
	char key[300];

	snprintf(key, sizeof(key), "\n%s\n", strrchr(t, '@') + 1);
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

	if (a == NULL || t == NULL || !directory_valid_address(a) ||
	    !directory_valid_address(t))
		return;
	if (remote && local_domain(x, t)) {
		fprintf(stderr, "sluicectl: %s: target %s not exported: no "
			"such mailbox\n", a, t);
		return;
	}
	if (strcmp(x->cur, a) != 0) {
		fprintf(x->f, "%s%s:", x->cur[0] ? "\n" : "", a);
		snprintf(x->cur, sizeof(x->cur), "%s", a);
		fprintf(x->f, " %s%s", remote ? ">" : "", t);
	} else {
		fprintf(x->f, ", %s%s", remote ? ">" : "", t);
	}
}

/* Columns: shared address, an official address (a mailbox). Written
 * "=address: official, official" (common/directory.c). */
static void shared_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *a = ncol > 1 ? col[0] : NULL;
	const char *t = ncol > 1 ? col[1] : NULL;
	char key[sizeof(x->cur)];

	if (a == NULL || t == NULL || !directory_valid_address(a) ||
	    !directory_valid_address(t))
		return;
	snprintf(key, sizeof(key), "=%s", a);
	if (strcmp(x->cur, key) == 0) {
		fprintf(x->f, ", %s", t);
		return;
	}
	fprintf(x->f, "%s%s: %s", x->cur[0] ? "\n" : "", key, t);
	snprintf(x->cur, sizeof(x->cur), "%s", key);
}

static int fill_users(struct store_dir *d, struct export *x, char *err,
		      size_t errlen)
{
	int rc;

	fprintf(x->f, "# directory snapshot written by sluicectl; do not "
		"edit\n");
	sbuf_init(&x->local, 1 << 22);
	sbuf_puts(&x->local, "\n");
	rc = store_dir_run(d, DQ_EXPORT_USERS, NULL, user_line, x, err,
			   errlen) < 0 ||
	     store_dir_run(d, DQ_EXPORT_DOMAINS, NULL, domain_row, x, err,
			   errlen) < 0 ||
	     store_dir_run(d, DQ_EXPORT_GROUPS, NULL, group_line, x, err,
			   errlen) < 0 ||
	     store_dir_run(d, DQ_EXPORT_SHARED, NULL, shared_line, x, err,
			   errlen) < 0;
	sbuf_free(&x->local);
	if (rc)
		return -1;
	if (x->cur[0])
		fputc('\n', x->f);
	return 0;
}

int store_dir_export(struct store_dir *d, const char *path, char *err,
		     size_t errlen)
{
	struct export x;

	return atomic_write(d, path, 0644, 0, fill_users, &x, err, errlen);
}

/* ---- the credentials snapshot (common/creds.c) ---- */

static void auth_line(int ncol, const char *const *col, void *arg)
{
	struct export *x = arg;
	const char *a = ncol > 4 ? col[0] : NULL;
	const char *h = ncol > 4 ? col[1] : NULL;
	const char *sc = ncol > 4 ? col[2] : NULL;
	long long exp = num(ncol, col, 3);
	int enabled = num(ncol, col, 4) != 0;
	char line[1024], check[1024], why[100];
	struct cred e;
	int n;

	n = snprintf(line, sizeof(line), "%s %s %s %lld %d", a ? a : "",
		     h ? h : "", sc && sc[0] ? sc : "-", exp < 0 ? 0 : exp,
		     enabled);
	memcpy(check, line, sizeof(check));
	/* the reader's own grammar: a row that would not load is left out */
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    creds_parse_line(check, &e, why, sizeof(why)) < 0) {
		fprintf(stderr, "sluicectl: %s: not exported: %s\n",
			a ? a : "?", n > 0 && (size_t)n < sizeof(line) ? why
								  : "too long");
		x->skipped++;
	} else {
		fprintf(x->f, "%s\n", line);
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(check, sizeof(check));
}

static int fill_auth(struct store_dir *d, struct export *x, char *err,
		     size_t errlen)
{
	fprintf(x->f,
		"# credentials snapshot written by sluicectl; do not edit.\n"
		"# One user with a password per line, five fields separated "
		"by one space:\n"
		"#   ADDRESS SCRYPT-HASH SCRAM-SECRET EXPIRES ENABLED\n"
		"# SCRYPT-HASH: $scrypt$LOGN$R$P$SALT$HASH (Base64 fields)\n"
		"# SCRAM-SECRET: SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY "
		"(RFC 5802,\n"
		"#   Base64 fields), or - when none was set\n"
		"# EXPIRES: seconds since the epoch, 0 = never; ENABLED: 1 or "
		"0\n");
	return store_dir_run(d, DQ_EXPORT_AUTH, NULL, auth_line, x, err,
			     errlen);
}

int store_dir_export_auth(struct store_dir *d, const char *path, char *err,
			  size_t errlen)
{
	struct export x;

	return atomic_write(d, path, 0600, 1, fill_auth, &x, err, errlen);
}

int store_dir_publish(struct store_dir *d, const char *snap,
		      const char *auth, char *err, size_t errlen)
{
	if (!d->changed)
		return 0;
	if (store_dir_export(d, snap, err, errlen) < 0 ||
	    store_dir_export_auth(d, auth, err, errlen) < 0)
		return -1;
	d->changed = 0;
	return 0;
}
