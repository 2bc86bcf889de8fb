/*
 * NAME
 *	durable - files that survive a crash once written
 * SUMMARY
 *	durable_write_all(), durable_write_file(), durable_open(),
 *	durable_commit(), durable_abort(), durable_sync_dir(),
 *	durable_fopen(), durable_fclose()
 * DESCRIPTION
 *	One writer for every file a stage promises to keep (quarantine,
 *	the store's folder indexes and subscriptions, the directory and
 *	credentials snapshots): a temporary name in the same folder,
 *	created exclusively, written whole, synced, renamed into place and
 *	the folder synced. Base layer: knows nothing about mail.
 */
#ifndef SLUICE_DURABLE_H
#define SLUICE_DURABLE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Write the n bytes at p to fd, again after EINTR and short writes.
 * 0, or -1 with errno set (EIO if write returned 0). */
int durable_write_all(int fd, const void *p, size_t n);

/* Write the iovcnt pieces of iov to the new file dir/name, mode 0600,
 * through the temporary dir/.name.tmp, then fsync, rename and fsync of
 * dir. 0 once the file and its name are durable; -1 with errno set and
 * neither the temporary nor the final file left (EEXIST: the temporary
 * name is taken, try another name). An existing dir/name is replaced. */
int durable_write_file(
	const char *dir, const char *name, const struct iovec *iov, int iovcnt);

/* A file being replaced: written at tmp, renamed onto path. */
struct durable_file {
	int fd;		/* the temporary file, -1 once closed */
	int renamed;	/* durable_commit() got as far as the rename */
	char tmp[4096], path[4096];
};

#define DURABLE_EXCL 0		/* tmp taken: fail with EEXIST */
#define DURABLE_REPLACE_TMP 1	/* tmp taken (a crash left it): remove it */

/* Create the temporary file tmp for path, mode (umask not applied),
 * created exclusively; how says what a taken tmp means (DURABLE_*).
 * The caller writes df->fd, then durable_commit() or durable_abort().
 * 0, or -1 with errno set and nothing created. */
int durable_open(struct durable_file *df, const char *path, const char *tmp,
		 mode_t mode, int how);

/* fsync and close the temporary file, rename it onto path (replacing
 * it) and fsync path's folder. 0 once the file and its name are
 * durable; -1 with errno set, the temporary removed, and df->renamed
 * set when only the folder's sync failed (path is then the new file,
 * its name maybe not durable yet). */
int durable_commit(struct durable_file *df);

/* Give up a durable_open()ed file: close and remove the temporary. */
void durable_abort(struct durable_file *df);

/* Replace path with the n bytes at p through the temporary tmp (one a
 * crash left behind is removed first), mode: durable_open(), a whole
 * write, durable_commit(). 0, or -1 with errno set and no temporary
 * left (path is then the old file or, when only the folder's sync
 * failed, the new one). */
int durable_replace_file(const char *path, const char *tmp, mode_t mode,
			 const void *p, size_t n);

/* durable_open() of path through "path.tmp.PID" (one a crash left
 * behind is removed first), given to uid:gid unless uid is (uid_t)-1,
 * with a stdio stream to write it. The stream, or NULL with
 * "TMP: cannot create" in err and nothing left behind. */
FILE *durable_fopen(struct durable_file *df, const char *path, mode_t mode,
		    uid_t uid, gid_t gid, char *err, size_t errlen);

/* Close f (opened by durable_fopen()) and durable_commit() df; when
 * failed is set or the write failed, durable_abort() instead. 0 once
 * path is the new file (even when only its folder's sync failed), or
 * -1 with a reason in err and path left as it was. */
int durable_fclose(struct durable_file *df, FILE *f, int failed, char *err,
		   size_t errlen);

/* fsync the folder dir (after a rename, link or unlink in it). 0 or -1
 * with errno set. */
int durable_sync_dir(const char *dir);

#endif
