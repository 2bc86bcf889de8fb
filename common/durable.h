/*
 * NAME
 *	durable - files that survive a crash once written
 * SUMMARY
 *	durable_write_all(), durable_write_file()
 * DESCRIPTION
 *	One writer for every file a stage promises to keep (quarantine):
 *	a temporary name in the same folder, created exclusively with
 *	mode 0600, written whole, synced, renamed into place and the
 *	folder synced. Base layer: knows nothing about mail.
 */
#ifndef SLUICE_DURABLE_H
#define SLUICE_DURABLE_H

#include <stddef.h>
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

#endif
