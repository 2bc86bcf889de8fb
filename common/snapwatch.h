/*
 * NAME
 *	snapwatch - reload a snapshot file when it changes
 * DESCRIPTION
 *	The one "has the file changed, and if so read it again" mechanism
 *	of the snapshots the daemons read (directory, credentials, sender
 *	lists). A file's version is its mtime (with nanoseconds), inode and
 *	size, so an atomic replacement (a new inode) and an edit in place
 *	within the same second (a new size) are both seen. A look costs
 *	one stat() and happens at most once a second. The loader decides
 *	what a missing file means (an empty table, or an error): removal is
 *	a version like any other. A version the loader refuses (broken,
 *	or missing where that is an error) is logged once and not tried
 *	again until the file changes; the data read before stays.
 *	Base layer: knows nothing of the formats. Not thread-safe: one
 *	thread at a time looks at a given watch.
 */
#ifndef SLUICE_SNAPWATCH_H
#define SLUICE_SNAPWATCH_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct stat;

/* What says whether a snapshot file changed: mtime, inode and size. */
struct file_stamp {
	struct timespec mtime;
	ino_t ino;
	off_t size;
	int present; /* 0: the file was absent */
};

struct snapwatch {
	struct file_stamp cur;  /* the version the data was read from */
	struct file_stamp seen; /* the version the last look found */
	struct file_stamp bad;  /* the last version refused */
	int have_bad;
	time_t checked; /* when the file was last looked at */
};

/* Record in w the version a loader read: st from fstat() of the file
 * it opened, or NULL when the file was absent. */
void snapwatch_read(struct snapwatch *w, const struct stat *st);
/* Whether path is now another version than the one read (absent or
 * present), without the once-a-second limit and ignoring refusals. A
 * stat() error other than ENOENT is no change (nothing to compare). */
int snapwatch_changed(const struct snapwatch *w, const char *path);
/* Whether path should be loaded again: it is neither the version read
 * nor the last one refused (one stat(); for a caller that limits the
 * looks itself, as threads sharing a table under a lock do). */
int snapwatch_look(struct snapwatch *w, const char *path);
/* snapwatch_look() at most once a second: 0 when w was looked at
 * during the second now already. */
int snapwatch_due(struct snapwatch *w, const char *path, time_t now);
/* The version snapwatch_look() found could not be loaded (err says
 * why): one warning, "WHAT not reloaded (the old data stays): ERR",
 * and it is not tried again until the file changes. */
void snapwatch_refused(struct snapwatch *w, const char *what, const char *err);

/* A snapshot type, for snapwatch_refresh(). */
struct snapwatch_ops {
	const char *what; /* in log lines: "directory" */
	const char *unit; /* what count() counts: "entries" */
	/* NULL with a reason in err; on success the data's watch has had
	 * snapwatch_read() */
	void *(*load)(const char *path, char *err, size_t errlen);
	struct snapwatch *(*watch)(void *data);
	size_t (*count)(const void *data);
	void (*drop)(void *data);
};

/* The whole cycle for data held by one thread: when snapwatch_due(),
 * load path; on success free the old data, put the new one in *data
 * and log it; on failure keep *data (snapwatch_refused()). *data may be
 * NULL (nothing loaded yet: loaded now). 1 when *data was replaced. */
int snapwatch_refresh(
	void **data, const char *path, const struct snapwatch_ops *ops);

#endif
