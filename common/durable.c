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

static int fail(const char *tmp, const char *final, int fd)
{
	int e = errno;

	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	if (final)
		unlink(final);
	errno = e;
	return -1;
}

int durable_write_file(
	const char *dir, const char *name, const struct iovec *iov, int iovcnt)
{
	char tmp[4096], final[4096];
	int fd, dfd, i;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
			sizeof(tmp) ||
		(size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >=
			sizeof(final)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	for (i = 0; i < iovcnt; i++)
		if (durable_write_all(fd, iov[i].iov_base, iov[i].iov_len) < 0)
			return fail(tmp, NULL, fd);
	if (fsync(fd) < 0)
		return fail(tmp, NULL, fd);
	if (close(fd) < 0)
		return fail(tmp, NULL, -1);
	if (rename(tmp, final) < 0)
		return fail(tmp, NULL, -1);
	/* not durable until the folder is: remove it, the caller retries */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(NULL, final, -1);
	if (fsync(dfd) < 0)
		return fail(NULL, final, dfd);
	close(dfd);
	return 0;
}
