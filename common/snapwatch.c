/*
 * NAME
 *	snapwatch - reload a snapshot file when it changes
 * DESCRIPTION
 *	See snapwatch.h. Trusts nothing of the file: it only stat()s it;
 *	the loaders check every byte. Base layer.
 */
#include "snapwatch.h"

#include <errno.h>
#include <sys/stat.h>

#include "log.h"

static void stamp_set(struct file_stamp *fs, const struct stat *st)
{
	fs->present = st != NULL;
	if (st == NULL) {
		fs->mtime.tv_sec = 0;
		fs->mtime.tv_nsec = 0;
		fs->ino = 0;
		fs->size = 0;
		return;
	}
	fs->mtime = st->st_mtim;
	fs->ino = st->st_ino;
	fs->size = st->st_size;
}

static int stamp_same(const struct file_stamp *a, const struct file_stamp *b)
{
	if (a->present != b->present)
		return 0;
	return !a->present || (a->mtime.tv_sec == b->mtime.tv_sec &&
				      a->mtime.tv_nsec == b->mtime.tv_nsec &&
				      a->ino == b->ino && a->size == b->size);
}

/* The version of path now into fs; -1 when stat() failed other than
 * with ENOENT (nothing known). */
static int look(const char *path, struct file_stamp *fs)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		stamp_set(fs, &st);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	stamp_set(fs, NULL);
	return 0;
}

void snapwatch_read(struct snapwatch *w, const struct stat *st)
{
	stamp_set(&w->cur, st);
	w->seen = w->cur;
}

int snapwatch_changed(const struct snapwatch *w, const char *path)
{
	struct file_stamp now;

	return look(path, &now) == 0 && !stamp_same(&now, &w->cur);
}

int snapwatch_look(struct snapwatch *w, const char *path)
{
	if (look(path, &w->seen) < 0 || stamp_same(&w->seen, &w->cur))
		return 0;
	return !(w->have_bad && stamp_same(&w->seen, &w->bad));
}

int snapwatch_due(struct snapwatch *w, const char *path, time_t now)
{
	if (w->checked == now)
		return 0;
	w->checked = now;
	return snapwatch_look(w, path);
}

void snapwatch_refused(struct snapwatch *w, const char *what, const char *err)
{
	log_warn("%s not reloaded (the old data stays): %s", what, err);
	w->bad = w->seen;
	w->have_bad = 1;
}

int snapwatch_refresh(
	void **data, const char *path, const struct snapwatch_ops *ops)
{
	struct snapwatch none = {.checked = (time_t)-1}, *w;
	time_t now = time(NULL);
	char err[512];
	void *nd;

	w = *data ? ops->watch(*data) : &none;
	if (*data && !snapwatch_due(w, path, now))
		return 0;
	nd = ops->load(path, err, sizeof(err));
	if (nd == NULL) {
		snapwatch_refused(w, ops->what, err);
		return 0;
	}
	ops->watch(nd)->checked = now;
	log_info("%s %s reloaded: %zu %s", ops->what, path, ops->count(nd),
		ops->unit);
	if (*data)
		ops->drop(*data);
	*data = nd;
	return 1;
}
