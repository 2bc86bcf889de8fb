/*
 * NAME
 *	durable_test - durable_write_file() and durable_write_all()
 * DESCRIPTION
 *	In a fresh folder under /tmp: a file written from several pieces
 *	appears whole under its name with mode 0600 and no temporary file;
 *	failures (a missing folder, a write past RLIMIT_FSIZE, a rename
 *	onto a folder, a taken temporary name) leave no file behind.
 *	Works as root too: no case relies on permissions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "test.h"

static char dir[64];

/* Number of entries in dir other than . and .. */
static int count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *de;
	int n = 0;

	if (dp == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
			strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

static char *read_file(const char *path, size_t *len)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return buf;
}

/* Files may grow to one byte (writes past it fail with EFBIG); the
 * old limit in *old. */
static void small_files(struct rlimit *old)
{
	struct rlimit small = {1, 1};

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, old);
	small.rlim_max = old->rlim_max;
	setrlimit(RLIMIT_FSIZE, &small);
}

static void test_whole(void)
{
	static char big[40000];
	struct iovec iov[3];
	char path[128];
	struct stat st;
	size_t len = 0;
	char *got;

	memset(big, 'x', sizeof(big));
	iov[0].iov_base = (void *)"Head: 1\r\n";
	iov[0].iov_len = 9;
	iov[1].iov_base = (void *)"";
	iov[1].iov_len = 0;
	iov[2].iov_base = big;
	iov[2].iov_len = sizeof(big);
	umask(022);
	CHECK(durable_write_file(dir, "one", iov, 3) == 0, "write");
	snprintf(path, sizeof(path), "%s/one", dir);
	CHECK(stat(path, &st) == 0, "exists");
	CHECK((st.st_mode & 07777) == 0600, "mode 0600");
	CHECK(st.st_size == (off_t)(9 + sizeof(big)), "size");
	got = read_file(path, &len);
	CHECK(got != NULL && len == 9 + sizeof(big) &&
			memcmp(got, "Head: 1\r\n", 9) == 0 &&
			memcmp(got + 9, big, sizeof(big)) == 0,
		"content whole");
	CHECK(count_entries(dir) == 1, "no temporary file");
	/* the same name again replaces it */
	CHECK(durable_write_file(dir, "one", iov, 1) == 0, "rewrite");
	CHECK(stat(path, &st) == 0 && st.st_size == 9, "replaced");
	unlink(path);
}

static void test_failures(void)
{
	struct iovec iov = {(void *)"data\r\n", 6};
	struct rlimit old;
	char sub[128], tmp[128];
	int fd;

	/* the folder does not exist */
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	errno = 0;
	CHECK(durable_write_file(sub, "a", &iov, 1) < 0 && errno == ENOENT,
		"missing folder");
	CHECK(count_entries(dir) == 0, "nothing after missing folder");

	/* the write fails after the temporary file exists */
	small_files(&old);
	errno = 0;
	CHECK(durable_write_file(dir, "b", &iov, 1) < 0 && errno == EFBIG,
		"write fails");
	setrlimit(RLIMIT_FSIZE, &old);
	CHECK(count_entries(dir) == 0, "no temporary file after write");

	/* the rename fails: the name is a folder that is not empty */
	snprintf(sub, sizeof(sub), "%s/c", dir);
	mkdir(sub, 0700);
	snprintf(tmp, sizeof(tmp), "%s/c/x", dir);
	fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	close(fd);
	CHECK(durable_write_file(dir, "c", &iov, 1) < 0, "rename fails");
	CHECK(count_entries(dir) == 1, "no temporary file after rename");
	unlink(tmp);
	rmdir(sub);

	/* the temporary name is taken: EEXIST, the other file kept */
	snprintf(tmp, sizeof(tmp), "%s/.d.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	close(fd);
	errno = 0;
	CHECK(durable_write_file(dir, "d", &iov, 1) < 0 && errno == EEXIST,
		"temporary name taken");
	CHECK(count_entries(dir) == 1, "only the other writer's file");
	unlink(tmp);
}

static void test_write_all(void)
{
	int p[2];
	char buf[8];

	CHECK(pipe(p) == 0, "pipe");
	CHECK(durable_write_all(p[1], "abc", 3) == 0, "write_all");
	CHECK(read(p[0], buf, sizeof(buf)) == 3 && memcmp(buf, "abc", 3) == 0,
		"write_all content");
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	CHECK(durable_write_all(p[1], "abc", 3) < 0 && errno == EPIPE,
		"write_all error");
	close(p[1]);
}

/* durable_replace_file(): a temporary a crash left is replaced, the
 * mode is the one asked for whatever the umask, the old file stays when
 * the write fails; durable_open() and durable_abort() leave nothing. */
static void test_replace(void)
{
	struct rlimit old;
	struct durable_file df;
	char path[128], tmp[128];
	struct stat st;
	size_t len = 0;
	char *got;
	int fd;

	snprintf(path, sizeof(path), "%s/list", dir);
	snprintf(tmp, sizeof(tmp), "%s/list.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, "stale", 5) == 5, "stale temporary");
	close(fd);
	umask(0277);
	CHECK(durable_replace_file(path, tmp, 0644, "one\n", 4) == 0,
		"replace over a stale temporary");
	umask(022);
	got = read_file(path, &len);
	CHECK(got && len == 4 && memcmp(got, "one\n", 4) == 0, "replaced");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
		"mode despite umask");
	CHECK(count_entries(dir) == 1, "no temporary after replace");

	small_files(&old);
	CHECK(durable_replace_file(path, tmp, 0600, "two\n", 4) < 0,
		"replace fails");
	setrlimit(RLIMIT_FSIZE, &old);
	got = read_file(path, &len);
	CHECK(got && len == 4 && memcmp(got, "one\n", 4) == 0,
		"old file kept");
	CHECK(count_entries(dir) == 1, "no temporary after failure");

	CHECK(durable_open(&df, path, tmp, 0600, DURABLE_EXCL) == 0, "open");
	CHECK(durable_open(&df, path, tmp, 0600, DURABLE_EXCL) < 0 &&
			errno == EEXIST,
		"open excl taken");
	durable_abort(&df);
	CHECK(count_entries(dir) == 1, "abort leaves nothing");
	CHECK(durable_sync_dir(dir) == 0, "sync dir");
	CHECK(durable_sync_dir(path) < 0, "sync dir of a file");
	unlink(path);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/durable_test.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_whole();
	test_failures();
	test_write_all();
	test_replace();
	rmdir(dir);
	return test_done();
}
