/*
 * NAME
 *	store_mbox_scan - matching a folder's state with its directories
 * DESCRIPTION
 *	Reads cur/ and new/, drops messages whose file is gone, takes flags
 *	from the file names, and gives files the list does not name the
 *	next UIDs in arrival order. A rescan happens when the directories'
 *	times changed behind our back or when mbox_changed() says so (the
 *	LMTP delivery in this process). A flag change found this way, and
 *	a message gone, takes a new mod-sequence (RFC 7162). File names are
 *	checked; anything else in the directories is ignored.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_mbox_int.h"

struct file {
	char *base;
	char *info;		/* NULL in new/ without info */
	int innew, used;
};

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct file *)a)->base,
		      ((const struct file *)b)->base);
}

/* For ordering files found without a UID: arrival time, then name. */
struct orphan {
	struct file *fl;
	long long size;
	time_t date;
};

static int orphan_cmp(const void *a, const void *b)
{
	const struct orphan *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->fl->base, y->fl->base);
}

static void read_dir(struct folder *f, const char *sub, int innew,
		     struct file **fl, size_t *n, size_t *cap)
{
	char path[MB_PATH + 8];
	struct dirent *de;
	const char *colon;
	struct file *x;
	size_t bl;
	int moved;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", f->path, sub);
	d = opendir(path);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		colon = strchr(de->d_name, ':');
		bl = colon ? (size_t)(colon - de->d_name) : strlen(de->d_name);
		if (!mb_valid_base(de->d_name, bl) ||
		    (colon && strncmp(colon, ":2,", 3) != 0))
			continue;
		moved = 0;
		if (innew && colon) {
			/* flags in new/ (not ours): it belongs in cur/ */
			char to[MB_PATH + 300];

			snprintf(to, sizeof(to), "%s/cur/%s", f->path,
				 de->d_name);
			if (renameat(dirfd(d), de->d_name, AT_FDCWD, to) < 0)
				continue;
			moved = 1;
		}
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			x = realloc(*fl, *cap * sizeof(*x));
			if (x == NULL)
				log_fatal("out of memory");
			*fl = x;
		}
		x = &(*fl)[(*n)++];
		x->base = strndup(de->d_name, bl);
		x->info = strdup(colon ? colon + 3 : "");
		if (x->base == NULL || x->info == NULL)
			log_fatal("out of memory");
		x->innew = innew && !moved;
		x->used = 0;
	}
	closedir(d);
}

static void dir_mtime(struct folder *f, const char *sub, struct timespec *t)
{
	char path[MB_PATH + 8];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", f->path, sub);
	if (stat(path, &sb) == 0)
		*t = sb.st_mtim;
	else
		memset(t, 0, sizeof(*t));
}

void mb_folder_touch(struct folder *f)
{
	if (f->st->pg)
		return;
	dir_mtime(f, "cur", &f->cur_mtime);
	dir_mtime(f, "new", &f->new_mtime);
}

/* Match the directories against the state: drop what is gone, take
 * flags from the names, give new files UIDs. */
void mb_folder_scan(struct folder *f)
{
	struct file *fl = NULL, key, *hit;
	struct orphan *orph;
	size_t n = 0, cap = 0, i, k, norph = 0;
	char path[MB_PATH + 300];
	struct stat sb;

	mb_folder_touch(f);
	read_dir(f, "cur", 0, &fl, &n, &cap);
	read_dir(f, "new", 1, &fl, &n, &cap);
	if (n > 0)
		qsort(fl, n, sizeof(*fl), file_cmp);
	for (i = k = 0; i < f->n; i++) {
		struct fmsg *e = &f->m[i];
		unsigned fl_flags;
		uint32_t kw;
		int changed;

		key.base = e->base;
		hit = n ? bsearch(&key, fl, n, sizeof(*fl), file_cmp) : NULL;
		if (hit == NULL || hit->used) {
			mb_folder_expunged(f, e->uid);
			free(e->base);
			f->gen++;
			f->dirty = 1;
			continue;
		}
		hit->used = 1;
		mb_info_parse(hit->info, f->nkw, &fl_flags, &kw);
		if (e->size == 0 && e->date == 0) {
			/* first load: size and date from the file */
			snprintf(path, sizeof(path), "%s/%s/%s%s%s", f->path,
				 hit->innew ? "new" : "cur", hit->base,
				 hit->innew && !hit->info[0] ? "" : ":2,",
				 hit->info);
			if (stat(path, &sb) == 0) {
				e->size = sb.st_size;
				e->date = sb.st_mtime;
			}
		}
		if (fl_flags != e->flags || kw != e->keywords ||
		    e->innew != hit->innew)
			f->gen++;
		changed = fl_flags != e->flags || kw != e->keywords;
		e->flags = fl_flags;
		e->keywords = kw;
		e->innew = (unsigned char)hit->innew;
		/* flags the list did not record (another program, or a
		 * crash between rename and record): a new mod-sequence;
		 * a version 1 list recorded none (modseq 0) */
		if (e->modseq == 0)
			e->modseq = f->highestmodseq;
		else if (changed)
			mb_folder_modified(f, e);
		f->m[k++] = *e;
	}
	f->n = k;
	orph = calloc(n ? n : 1, sizeof(*orph));
	if (orph == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++) {
		if (fl[i].used || (i > 0 && strcmp(fl[i].base,
						   fl[i - 1].base) == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s%s%s", f->path,
			 fl[i].innew ? "new" : "cur", fl[i].base,
			 fl[i].innew && !fl[i].info[0] ? "" : ":2,",
			 fl[i].info);
		if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
			continue;
		orph[norph].fl = &fl[i];
		orph[norph].size = sb.st_size;
		orph[norph].date = sb.st_mtime;
		norph++;
	}
	if (norph > 0)
		qsort(orph, norph, sizeof(*orph), orphan_cmp);
	for (i = 0; i < norph; i++) {
		unsigned fl_flags;
		uint32_t kw;

		mb_info_parse(orph[i].fl->info, f->nkw, &fl_flags, &kw);
		mb_folder_add(f, orph[i].fl->base, fl_flags, kw, orph[i].size,
			      orph[i].date, orph[i].fl->innew);
		f->m[f->n - 1].innew = (unsigned char)orph[i].fl->innew;
	}
	free(orph);
	for (i = 0; i < n; i++) {
		free(fl[i].base);
		free(fl[i].info);
	}
	free(fl);
	f->stale = 0;
}

int mb_folder_refresh(struct folder *f)
{
	struct timespec c, n;

	if (f->st->pg)
		return mbpg_refresh(f);
	if (f->gone)
		return 0;
	if (!f->stale) {
		dir_mtime(f, "cur", &c);
		dir_mtime(f, "new", &n);
		if (c.tv_sec != f->cur_mtime.tv_sec ||
		    c.tv_nsec != f->cur_mtime.tv_nsec ||
		    n.tv_sec != f->new_mtime.tv_sec ||
		    n.tv_nsec != f->new_mtime.tv_nsec)
			f->stale = 1;
	}
	if (f->stale) {
		mb_folder_scan(f);
		return mb_folder_save(f);
	}
	/* flag changes of ours wait for mbox_commit(), so that a STORE
	 * of many messages costs one fdatasync */
	return f->dirty || f->unsaved ? mb_folder_save(f) : 0;
}

void mb_folder_claim(struct folder *f)
{
	char from[MB_PATH + 300], to[MB_PATH + 300];
	size_t i;
	int moved = 0;

	if (f->st->pg) {
		mbpg_claim(f);
		return;
	}
	if (f->gone)
		return;
	for (i = 0; i < f->n; i++) {
		struct fmsg *e = &f->m[i];

		if (!e->innew || mb_msg_path(f, e, from, sizeof(from)) < 0 ||
		    mb_msg_path_as(f, e->base, e->flags, e->keywords, to,
				   sizeof(to)) < 0)
			continue;
		if (rename(from, to) == 0) {
			e->innew = 0;
			moved = 1;
		} else {
			f->stale = 1;
		}
	}
	if (moved)
		mb_folder_touch(f);
}

