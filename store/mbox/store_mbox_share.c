/*
 * NAME
 *	store_mbox_share - one loaded state per folder, shared and cached
 * DESCRIPTION
 *	Every view, APPEND, STATUS and COPY of a folder in this process
 *	works on the same struct folder, loaded on first use (UID list, then
 *	a scan) and kept in a small LRU cache after the last user lets go,
 *	so that the next APPEND or STATUS needs no scan. Watchers (IDLE) are
 *	called from the event loop through one 0 ms timer per folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "evloop.h"
#include "log.h"
#include "store_mbox_int.h"

static int same_folder(const struct folder *f, const char *user,
		       const char *name)
{
	if (strcasecmp(f->user, user) != 0)
		return 0;
	if (mb_is_inbox(name))
		return strcmp(f->name, "INBOX") == 0;
	return strcmp(f->name, name) == 0;
}

struct folder *mb_folder_find(struct mbox_store *st, const char *user,
			      const char *name)
{
	struct folder *f;

	for (f = st->folders; f; f = f->next)
		if (same_folder(f, user, name))
			return f;
	return NULL;
}

static void folder_free(struct folder *f)
{
	struct folder **pp;

	for (pp = &f->st->folders; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	if (f->timer)
		evloop_timer_cancel(f->st->loop, f->timer);
	mb_folder_clear(f);
	free(f->m);
	free(f->user);
	free(f->name);
	free(f);
}

/* A new shared state for user's folder name, referenced once. */
static struct folder *folder_new(struct mbox_store *st, const char *user,
				 const char *name)
{
	struct folder *f = calloc(1, sizeof(*f));

	if (f == NULL)
		log_fatal("out of memory");
	f->st = st;
	f->user = strdup(user);
	f->name = strdup(mb_is_inbox(name) ? "INBOX" : name);
	if (f->user == NULL || f->name == NULL)
		log_fatal("out of memory");
	f->refs = 1;
	f->used = ++st->clock;
	f->next = st->folders;
	st->folders = f;
	return f;
}

/* mb_folder_get in the database: its row (INBOX made when missing),
 * then every message. */
static struct folder *pg_folder_get(struct mbox_store *st, const char *user,
				    const char *name, int *missing, char *err,
				    size_t errlen)
{
	struct folder *f;
	long long id;

	if (!mb_is_inbox(name) && !mb_valid_name(name)) {
		snprintf(err, errlen, "invalid mailbox name");
		*missing = 1;
		return NULL;
	}
	id = mbpg_folder_id(st, user, name, err, errlen);
	if (id <= 0) {
		if (id == 0)
			snprintf(err, errlen, "[NONEXISTENT] no such mailbox");
		else
			snprintf(err, errlen, "[UNAVAILABLE] mailbox store "
				 "unreachable");
		*missing = id == 0;
		return NULL;
	}
	f = folder_new(st, user, name);
	f->dbid = id;
	if (mbpg_refresh(f) < 0 || f->gone) {
		snprintf(err, errlen, "[UNAVAILABLE] cannot read the mailbox");
		folder_free(f);
		return NULL;
	}
	return f;
}

struct folder *mb_folder_get(struct mbox_store *st, const char *user,
			     const char *name, int *missing, char *err,
			     size_t errlen)
{
	char cur[MB_PATH + 8], path[MB_PATH];
	struct folder *f;
	struct stat sb;
	int rc;

	*missing = 0;
	if ((f = mb_folder_find(st, user, name)) != NULL) {
		if (f->refs++ == 0)
			st->ncached--;
		f->used = ++st->clock;
		return f;
	}
	if (st->pg)
		return pg_folder_get(st, user, name, missing, err, errlen);
	if (mb_folder_path(st, user, name, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "invalid mailbox name");
		*missing = 1;
		return NULL;
	}
	snprintf(cur, sizeof(cur), "%s/cur", path);
	if (mb_is_inbox(name) && stat(cur, &sb) < 0)
		mb_make_maildir(path);
	if (stat(cur, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "[NONEXISTENT] no such mailbox");
		*missing = 1;
		return NULL;
	}
	f = folder_new(st, user, name);
	memcpy(f->path, path, sizeof(path));
	rc = mb_folder_read_list(f);
	if (rc != 0) {
		mb_folder_clear(f);
		f->uidvalidity = mb_new_uidvalidity(st, user);
		if (rc < 0)
			log_warn("%s/" MB_LIST_NAME ": broken; new "
				 "UIDVALIDITY, UIDs assigned again", f->path);
		f->uidnext = 1;
		f->highestmodseq = 1;
		f->dirty = 1;
	}
	mb_folder_scan(f);
	if (mb_folder_save(f) < 0) {
		snprintf(err, errlen, "cannot write the UID list");
		folder_free(f);
		return NULL;
	}
	return f;
}

/* Free the least recently used folders nobody holds, beyond the cache
 * size. */
static void trim_cache(struct mbox_store *st, size_t keep)
{
	struct folder *f, *old;

	while (st->ncached > keep) {
		old = NULL;
		for (f = st->folders; f; f = f->next)
			if (f->refs == 0 && (old == NULL || f->used < old->used))
				old = f;
		if (old == NULL)
			break;
		st->ncached--;
		folder_free(old);
	}
}

void mb_folder_put(struct folder *f)
{
	struct mbox_store *st;

	if (f == NULL || --f->refs > 0)
		return;
	mb_folder_save(f);
	st = f->st;
	if (f->gone) {
		folder_free(f);
		return;
	}
	/* kept loaded: the next APPEND or STATUS needs no scan */
	st->ncached++;
	trim_cache(st, MB_CACHE_MAX);
}

void mb_folder_cache_clear(struct mbox_store *st)
{
	trim_cache(st, 0);
}

void mb_folder_drop(struct folder *f)
{
	struct folder **pp;

	for (pp = &f->st->folders; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	f->next = NULL;
	f->gone = 1;
	if (f->refs == 0) {
		f->st->ncached--;
		folder_free(f);
	}
}

static void fire(void *arg)
{
	struct folder *f = arg;
	struct mbox *v;

	f->timer = NULL;
	/* a callback may close the last view: hold the folder meanwhile
	 * (it may already be only in the cache) */
	if (f->refs++ == 0)
		f->st->ncached--;
again:
	for (v = f->views; v; v = v->next) {
		if (!v->poked)
			continue;
		v->poked = 0;
		if (v->watch) {
			v->watch(v->watch_arg);
			goto again;
		}
	}
	mb_folder_put(f);
}

void mb_notify(struct folder *f, const struct mbox *except)
{
	struct mbox *v;
	int any = 0;

	if (f->st->on_change)
		f->st->on_change(f->st->on_change_arg, f->user, f->name);
	for (v = f->views; v; v = v->next)
		if (v != except && v->watch) {
			v->poked = 1;
			any = 1;
		}
	if (any && f->timer == NULL && f->st->loop != NULL)
		f->timer = evloop_timer(f->st->loop, 0, fire, f);
}

void mbox_on_change(struct mbox_store *st,
		    void (*cb)(void *arg, const char *user, const char *name),
		    void *arg)
{
	st->on_change = cb;
	st->on_change_arg = cb ? arg : NULL;
}
