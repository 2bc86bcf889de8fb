/*
 * NAME
 *	durable - files that survive a crash once written
 * DESCRIPTION
 *	The temporary file is created with O_EXCL in the target folder, so
 *	the rename is atomic and two writers never share a temporary file.
 *	The folder is synced after the rename: until then the new name may
 *	be lost in a crash (DESIGN.md "Durability"). On any failure what
 *	was created is removed, so the caller can answer 451 and a later
 *	try writes again. Trusts its caller for dir and name; thread-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"

int durable_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int durable_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int durable_open(struct durable_file *df, const char *path, const char *tmp,
		 mode_t mode, int how)
{
	df->fd = -1;
	df->renamed = 0;
	if ((size_t)snprintf(df->tmp, sizeof(df->tmp), "%s", tmp) >=
			sizeof(df->tmp) ||
		(size_t)snprintf(df->path, sizeof(df->path), "%s", path) >=
			sizeof(df->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (how == DURABLE_REPLACE_TMP && unlink(df->tmp) < 0 &&
		errno != ENOENT)
		return -1;
	df->fd = open(df->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (df->fd < 0)
		return -1;
	if (fchmod(df->fd, mode) < 0) {
		durable_abort(df);
		return -1;
	}
	return 0;
}

void durable_abort(struct durable_file *df)
{
	int e = errno;

	if (df->fd >= 0)
		close(df->fd);
	df->fd = -1;
	unlink(df->tmp);
	errno = e;
}

int durable_commit(struct durable_file *df)
{
	char dir[sizeof(df->path)];
	char *slash;
	int fd = df->fd;

	df->fd = -1;
	if (fsync(fd) < 0) {
		df->fd = fd;
		durable_abort(df);
		return -1;
	}
	if (close(fd) < 0 || rename(df->tmp, df->path) < 0) {
		durable_abort(df);
		return -1;
	}
	df->renamed = 1;
	memcpy(dir, df->path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return durable_sync_dir(slash ? dir : ".");
}

int durable_replace_file(const char *path, const char *tmp, mode_t mode,
			 const void *p, size_t n)
{
	struct durable_file df;

	if (durable_open(&df, path, tmp, mode, DURABLE_REPLACE_TMP) < 0)
		return -1;
	if (durable_write_all(df.fd, p, n) < 0) {
		durable_abort(&df);
		return -1;
	}
	return durable_commit(&df);
}

int durable_write_file(
	const char *dir, const char *name, const struct iovec *iov, int iovcnt)
{
	struct durable_file df;
	char tmp[4096], final[4096];
	int i;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
			sizeof(tmp) ||
		(size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >=
			sizeof(final)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (durable_open(&df, final, tmp, 0600, DURABLE_EXCL) < 0)
		return -1;
	for (i = 0; i < iovcnt; i++)
		if (durable_write_all(df.fd, iov[i].iov_base, iov[i].iov_len) <
			0) {
			durable_abort(&df);
			return -1;
		}
	if (durable_commit(&df) == 0)
		return 0;
	/* not durable until the folder is: remove it, the caller retries */
	if (df.renamed) {
		i = errno;
		unlink(final);
		errno = i;
	}
	return -1;
}

FILE *durable_fopen(struct durable_file *df, const char *path, mode_t mode,
		    uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char tmp[sizeof(df->tmp)];
	FILE *f = NULL;
	int fd = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "snapshot path too long");
		return NULL;
	}
	if (durable_open(df, path, tmp, mode, DURABLE_REPLACE_TMP) < 0) {
		snprintf(err, errlen, "%s: cannot create", tmp);
		return NULL;
	}
	if ((uid != (uid_t)-1 && fchown(df->fd, uid, gid) < 0) ||
	    (fd = dup(df->fd)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		durable_abort(df);
		snprintf(err, errlen, "%s: cannot create", tmp);
		return NULL;
	}
	return f;
}

int durable_fclose(struct durable_file *df, FILE *f, int failed, char *err,
		   size_t errlen)
{
	int bad = failed || fflush(f) != 0;

	if (fclose(f) != 0 || bad) {
		if (!failed)
			snprintf(err, errlen, "%s: write failed", df->tmp);
		durable_abort(df);
		return -1;
	}
	/* a folder that cannot be synced does not undo the file */
	if (durable_commit(df) < 0 && !df->renamed) {
		snprintf(err, errlen, "%s: write or rename to %s failed",
			 df->tmp, df->path);
		return -1;
	}
	return 0;
}
