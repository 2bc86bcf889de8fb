/*
 * NAME
 *	snapwatch_test - the snapshot file watcher: an atomic replacement,
 *	an edit in place within the same second (same mtime, another
 *	size), a broken file (the old data stays, tried once), a removed
 *	file (kept or read as empty, as the loader says), once a second
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapwatch.h"
#include "test.h"

/* A toy snapshot: one decimal number and a newline. */
struct toy {
	struct snapwatch watch;
	long value;
};

static int loads, missing_is_empty;

static void *toy_load(const char *path, char *err, size_t errlen)
{
	struct toy *t;
	struct stat st;
	char buf[32], *end;
	size_t n;
	FILE *f;

	loads++;
	f = fopen(path, "re");
	if (f == NULL && errno == ENOENT && missing_is_empty) {
		t = calloc(1, sizeof(*t));
		if (t)
			snapwatch_read(&t->watch, NULL);
		return t;
	}
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	t = calloc(1, sizeof(*t));
	if (t == NULL || fstat(fileno(f), &st) < 0 || n == 0 ||
		buf[n - 1] != '\n' || (t->value = strtol(buf, &end, 10)) < 0 ||
		end != buf + n - 1) {
		snprintf(err, errlen, "%s: broken", path);
		free(t);
		fclose(f);
		return NULL;
	}
	fclose(f);
	snapwatch_read(&t->watch, &st);
	return t;
}

static struct snapwatch *toy_watch(void *d)
{
	return &((struct toy *)d)->watch;
}

static size_t toy_count(const void *d)
{
	return (size_t)((const struct toy *)d)->value;
}

static void toy_drop(void *d)
{
	free(d);
}

static const struct snapwatch_ops ops = {
	"toy",
	"units",
	toy_load,
	toy_watch,
	toy_count,
	toy_drop,
};

static int put(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Write text beside path and rename it over path (a new inode). */
static int replace(const char *path, const char *text)
{
	char tmp[300];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	return put(tmp, text) == 0 ? rename(tmp, path) : -1;
}

/* Set path's mtime to exactly when (whole seconds). */
static void set_mtime(const char *path, time_t when)
{
	struct timespec ts[2] = {{when, 0}, {when, 0}};

	utimensat(AT_FDCWD, path, ts, 0);
}

/* One refresh, as if a second had passed since the last look. */
static long refresh(void **data, const char *path)
{
	if (*data)
		toy_watch(*data)->checked = 0;
	snapwatch_refresh(data, path, &ops);
	return *data ? ((struct toy *)*data)->value : -1;
}

int main(void)
{
	char path[256];
	void *data = NULL;
	struct snapwatch *w;
	time_t t0 = time(NULL);

	snprintf(path, sizeof(path), "/tmp/snapwatch_test.%ld", (long)getpid());
	unlink(path);

	CHECK(put(path, "1\n") == 0, "write");
	CHECK(refresh(&data, path) == 1 && loads == 1, "first load");
	CHECK(refresh(&data, path) == 1 && loads == 1, "unchanged: not read");

	/* once a second at most */
	CHECK(replace(path, "2\n") == 0, "replace");
	w = toy_watch(data);
	w->checked = t0;
	CHECK(!snapwatch_due(w, path, t0), "same second: no look");
	CHECK(snapwatch_due(w, path, t0 + 1), "next second: changed");

	/* replaced atomically, same size and mtime: the inode tells */
	set_mtime(path, t0 - 10);
	CHECK(refresh(&data, path) == 2 && loads == 2, "atomic replace");
	CHECK(replace(path, "3\n") == 0, "replace");
	set_mtime(path, t0 - 10);
	CHECK(refresh(&data, path) == 3 && loads == 3,
		"replaced, same mtime and size");

	/* edited in place within the same second: the size tells */
	CHECK(put(path, "42\n") == 0, "edit");
	set_mtime(path, t0 - 10);
	CHECK(refresh(&data, path) == 42 && loads == 4,
		"edit in place, same mtime");

	/* broken: the old data stays, the version is tried once */
	CHECK(replace(path, "x\n") == 0, "broken");
	CHECK(refresh(&data, path) == 42 && loads == 5, "broken: old kept");
	CHECK(refresh(&data, path) == 42 && loads == 5, "broken: once");
	CHECK(replace(path, "7\n") == 0, "fixed");
	CHECK(refresh(&data, path) == 7 && loads == 6, "fixed: read");

	/* removed, the loader refusing a missing file: the old data stays */
	unlink(path);
	CHECK(refresh(&data, path) == 7 && loads == 7, "removed: old kept");
	CHECK(refresh(&data, path) == 7 && loads == 7, "removed: once");
	CHECK(put(path, "8\n") == 0, "back");
	CHECK(refresh(&data, path) == 8 && loads == 8, "back: read");

	/* removed, the loader reading a missing file as empty */
	missing_is_empty = 1;
	unlink(path);
	CHECK(refresh(&data, path) == 0 && loads == 9, "removed: empty");
	CHECK(refresh(&data, path) == 0 && loads == 9, "still missing");
	CHECK(!snapwatch_changed(toy_watch(data), path), "not changed");
	CHECK(put(path, "9\n") == 0, "appears");
	CHECK(snapwatch_changed(toy_watch(data), path), "appeared");
	CHECK(refresh(&data, path) == 9 && loads == 10, "appeared: read");

	free(data);
	unlink(path);
	return test_done();
}
