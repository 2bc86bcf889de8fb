/*
 * NAME
 *	store_mbox_int - private structures of the Maildir++ folder layer
 * DESCRIPTION
 *	Shared by store_mbox.c (names, paths, folder management, quota
 *	usage), store_mbox_folders.c (LIST, CREATE ...), store_mbox_uid.c
 *	(the UID list, keywords), store_mbox_share.c (loading, sharing,
 *	the cache, watchers), store_mbox_scan.c (the directories) and
 *	store_mbox_view.c (sessions' views, APPEND, COPY). One struct folder
 *	per loaded folder, shared by every view of it in the process; kept
 *	in a small cache after the last user lets go.
 */
#ifndef SLUICE_STORE_MBOX_INT_H
#define SLUICE_STORE_MBOX_INT_H

#include <stdint.h>
#include <time.h>

#include "durable.h"
#include "store_mbox.h"

#define MB_PATH 4096
#define MB_BASE_MAX 200		/* longest Maildir base name we accept */
#define MB_KEYWORD_MAX 64	/* longest keyword name */
#define MB_LIST_NAME "sluice-uidlist"
#define MB_SUBS_NAME "subscriptions"
#define MB_UIDV_NAME "sluice-uidvalidity"

/* One message of a folder, shared state. */
struct fmsg {
	uint32_t uid;
	unsigned flags;		/* MBOX_* system flags, never MBOX_RECENT */
	uint32_t keywords;
	long long size;
	time_t date;
	char *base;		/* file name without ":2,info" */
	unsigned char innew;	/* the file is still in new/ */
	unsigned char recent;	/* \Recent not yet claimed by a view */
	uint64_t modseq;	/* RFC 7162 mod-sequence of the last change */
	long long blob;		/* PostgreSQL: the body's id (blob.h) */
};

/* An expunged UID and the mod-sequence of its expunge (QRESYNC). */
struct fgone {
	uint32_t uid;
	uint64_t modseq;
};

struct folder {
	struct mbox_store *st;
	struct folder *next;	/* in st->folders, unless gone */
	char *user;
	char *name;		/* IMAP name; "INBOX" for the Maildir */
	char path[MB_PATH];	/* the folder's Maildir directory */
	int refs;		/* 0: only in the cache */
	unsigned long used;	/* st->clock at the last get */
	uint32_t uidvalidity, uidnext;
	struct fmsg *m;		/* by UID, ascending */
	size_t n, cap;
	char *kw[MBOX_MAX_KEYWORDS];
	unsigned nkw;
	uint64_t gen;		/* bumped on every visible change */
	uint64_t highestmodseq;	/* the highest mod-sequence given out */
	struct fgone *vanished;	/* expunges, ascending mod-sequence */
	size_t nvanished, vanishedcap;
	uint64_t vanished_floor; /* expunges at or below it are forgotten */
	char *log;		/* "M" lines not yet appended to the list */
	size_t loglen, logcap;
	size_t logged;		/* "M" lines in the list file */
	int dirty;		/* the UID list needs a rewrite */
	size_t unsaved;		/* newest entries not yet in the list file */
	int stale;		/* rescan the directories before use */
	int gone;		/* deleted: no more disk access */
	struct timespec cur_mtime, new_mtime;
	struct mbox *views;
	struct ev_timer *timer;	/* pending watcher callbacks */
	long long dbid;		/* PostgreSQL: the folder's row */
};

struct mbox {
	struct folder *f;
	struct mbox *next;	/* in f->views */
	int readonly;
	struct mbox_msg *msgs;	/* the session's sequence map */
	uint32_t n;
	size_t cap;
	uint64_t gen;		/* f->gen at the last sync */
	void (*watch)(void *arg);
	void *watch_arg;
	int poked;		/* watcher due at the next timer */
	struct folder **copies;	/* COPY targets awaiting commit */
	size_t ncopies;
	long long copied;	/* bytes copied since the last commit */
};

struct mb_usage {
	char *user;
	long long bytes;
	time_t scanned;
};

struct mbox_store {
	struct evloop *loop;
	char *root;
	char host[64];
	struct folder *folders;
	struct mb_usage *use;
	size_t nuse;
	uint32_t last_uidvalidity;
	unsigned long counter;
	size_t ncached;		/* loaded folders nobody holds */
	unsigned long clock;
	/* told of every change of a folder (mbox_on_change) */
	void (*on_change)(void *arg, const char *user, const char *name);
	void *on_change_arg;
	/* mbox_defer_sync(): writes skip their fsync and count here */
	int defer_sync;
	unsigned long long unsynced;
	/* mailbox_store = postgresql://...: the folders are in the
	 * database (store_mbox_pg.c); NULL: Maildir++ under root */
	struct mbpg *pg;
};

/* Folders kept loaded after their last user let go. */
#define MB_CACHE_MAX 64

/* ---- store_mbox.c ---- */

/* Non-zero when a write of st is to skip its sync (the caller's group
 * commit makes it durable, mbox_defer_sync()); counts it then. */
int mb_defer(struct mbox_store *st);
/* fsync the folder dir unless deferred (mb_defer). 0 or -1. */
int mb_sync_dir(struct mbox_store *st, const char *dir);
/* Replace the file path with n bytes at p through tmp, mode 0600:
 * durable_replace_file(), or when deferred (mb_defer) written and
 * renamed with no sync. 0 or -1. */
int mb_replace_file(struct mbox_store *st, const char *path, const char *tmp,
		    const char *p, size_t n);

/* Non-zero for "INBOX" in any case. */
int mb_is_inbox(const char *name);
/* Non-zero when name is a folder name we accept (see store_mbox.h). */
int mb_valid_name(const char *name);
/* The directory of folder name of user. 0, or -1 (bad user or name). */
int mb_folder_path(struct mbox_store *st, const char *user, const char *name,
		   char *out, size_t len);
/* Create path and its cur/, new/, tmp/. 0 or -1 (errno). */
int mb_make_maildir(const char *path);
/* A fresh unique Maildir base name. */
void mb_unique(struct mbox_store *st, char *out, size_t len);
/* Add delta bytes to user's cached usage (when it is cached). */
void mb_usage_add(struct mbox_store *st, const char *user, long long delta);
/* Count user's usage again at the next mbox_usage(). */
void mb_usage_forget(struct mbox_store *st, const char *user);

/* ---- store_mbox_uid.c ---- */

/* The shared state of user's folder name, loaded when needed; a
 * reference the caller gives back with mb_folder_put(). NULL with err
 * when the folder does not exist (*missing set) or cannot be read. */
struct folder *mb_folder_get(struct mbox_store *st, const char *user,
			     const char *name, int *missing, char *err,
			     size_t errlen);
void mb_folder_put(struct folder *f);
/* Its directory is gone: no more disk access, out of the store's list
 * (freed now when nobody holds it). */
void mb_folder_drop(struct folder *f);
/* Free every cached folder nobody holds. */
void mb_folder_cache_clear(struct mbox_store *st);
/* The loaded state of user's folder, or NULL (no reference taken). */
struct folder *mb_folder_find(struct mbox_store *st, const char *user,
			      const char *name);
/* Read the folder's UID list into f. 0 read, 1 missing, -1 broken. */
int mb_folder_read_list(struct folder *f);
/* Forget the messages and keywords of f. */
void mb_folder_clear(struct folder *f);
/* Read the directories again and match the state with them. */
void mb_folder_scan(struct folder *f);
/* Non-zero when s[0..n) is a Maildir base name we accept. */
int mb_valid_base(const char *s, size_t n);
/* Flags and keywords of a Maildir info ("DFRS" "ab"); letters past nkw
 * keywords are dropped. */
void mb_info_parse(const char *info, unsigned nkw, unsigned *flags,
		   uint32_t *kw);
/* Rescan the directories when they changed behind our back. 0 or -1. */
int mb_folder_refresh(struct folder *f);
/* Move the files still in new/ to cur/. */
void mb_folder_claim(struct folder *f);
/* Make the UID list durable: append the new entries and flag changes,
 * or rewrite it atomically when anything else changed. 0 or -1. */
int mb_folder_save(struct folder *f);
/* Give e the next mod-sequence after a change of its flags and note
 * the change for the list file (made durable by mb_folder_save). */
void mb_folder_modified(struct folder *f, struct fmsg *e);
/* Record a new message (its file is in cur/ already): its UID. */
uint32_t mb_folder_add(struct folder *f, const char *base, unsigned flags,
		       uint32_t keywords, long long size, time_t date,
		       int recent);
/* Index of uid in f->m, or -1. */
long mb_folder_index(const struct folder *f, uint32_t uid);
/* Remember uid as expunged, at the next mod-sequence. */
void mb_folder_expunged(struct folder *f, uint32_t uid);
/* Drop message index i from the state (not its file), remembering the
 * expunge with the next mod-sequence. */
void mb_folder_remove(struct folder *f, size_t i);
/* The file of message e: its path in cur/ or new/. 0 or -1. */
int mb_msg_path(const struct folder *f, const struct fmsg *e, char *out,
		size_t len);
/* Path the file of e would have with flags and keywords in cur/. */
int mb_msg_path_as(const struct folder *f, const char *base, unsigned flags,
		   uint32_t keywords, char *out, size_t len);
/* Index of keyword name (case-insensitive), created when create is set
 * and there is room. -1 when absent, full or invalid. */
int mb_keyword_index(struct folder *f, const char *name, int create);
/* Remember the directories' times after a change of ours. */
void mb_folder_touch(struct folder *f);
/* Wake the watchers of every view of f but except (may be NULL). */
void mb_notify(struct folder *f, const struct mbox *except);
/* A new UIDVALIDITY for a folder of user, above every one given before
 * (the last is kept in the user's Maildir). */
uint32_t mb_new_uidvalidity(struct mbox_store *st, const char *user);
/* Remember uid as expunged at mod-sequence modseq (QRESYNC). */
void mb_vanished_add(struct folder *f, uint32_t uid, uint64_t modseq);
/* A new message entry at its place by UID (zeroed but for uid); the
 * caller fills it. */
struct fmsg *mb_folder_insert(struct folder *f, uint32_t uid);
/* Drop message index i from the state, its expunge remembered at
 * modseq (given by the database). */
void mb_folder_remove_at(struct folder *f, size_t i, uint64_t modseq);

/* ---- store_mbox_pg.c, store_mbox_pgdir.c: the folders in PostgreSQL
 * (st->pg set). The same struct folder and views as Maildir; these
 * load and change them in the database. Each returns as its Maildir
 * counterpart. ---- */

struct sbuf;
struct pgdb;

struct mbpg {
	struct pgdb *db;	/* the loop's connection */
	struct pgdb *listen;	/* LISTEN sluice_mbox, watched on the loop */
	struct pgdb *deliver;	/* LMTP's commit thread's (mbox_deliver) */
	int listen_fd;		/* registered on the loop, or -1 */
	struct ev_timer *retry;	/* listener reconnecting */
	char *uri;
	int pids[2];		/* our own backends: their NOTIFYs skipped */
};

/* user (local@domain) as the database keys it: lowercased, into out.
 * 0, or -1 when it does not fit or holds control characters. */
int mbpg_owner(const char *user, char *out, size_t len);
/* Connect st to the database at uri, create the schema, LISTEN for
 * the other boxes' changes on st's loop. 0 or -1 with err. */
int mbpg_open(struct mbox_store *st, const char *uri, char *err,
	      size_t errlen);
void mbpg_close(struct mbox_store *st);
/* The row id of user's folder name (INBOX made when missing), 0 when
 * it does not exist, -1 on a database error (err). */
long long mbpg_folder_id(struct mbox_store *st, const char *user,
			 const char *name, char *err, size_t errlen);
/* Bring f up to date with the database (one round trip when nothing
 * changed). 0 or -1. */
int mbpg_refresh(struct folder *f);
/* Claim \Recent of f's new messages for this process's views. */
void mbpg_claim(struct folder *f);
/* The body of e appended to out. 0 or -1. */
int mbpg_read(struct folder *f, const struct fmsg *e, struct sbuf *out);
/* (-2: the body is there but does not open: blob_get) */
/* Set e's flags and keywords to flags, kw if its mod-sequence in the
 * database is still e->modseq: 0 (e updated), 1 (changed meanwhile:
 * refresh and retry), -1 (error or gone). */
int mbpg_set_flags(struct folder *f, struct fmsg *e, unsigned flags,
		   uint32_t kw);
/* Expunge message index i of f (body deleted). 0 or -1. */
int mbpg_expunge(struct folder *f, size_t i);
/* Inside a transaction on db: put the body of owner's message (a
 * blob) and add it to folder with the next UID and mod-sequence. 0 or
 * -1 with err. */
int mbpg_add(struct pgdb *db, const char *owner, long long folder,
	     const char *data, size_t len, unsigned flags, uint32_t kw,
	     time_t date, uint32_t *uid_r, char *err, size_t errlen);
/* Add a message to f: its UID. 0 or -1 with err. */
int mbpg_append(struct folder *f, const char *data, size_t len,
		unsigned flags, uint32_t kw, time_t date, uint32_t *uid_r,
		char *err, size_t errlen);
/* Copy message e of src into d with keywords kw. 0 or -1. */
int mbpg_copy(struct folder *src, const struct fmsg *e, struct folder *d,
	      uint32_t kw, uint32_t *uid_r);
/* Define keyword name in f (case-insensitive, at most
 * MBOX_MAX_KEYWORDS), then refresh f. 0 or -1. */
int mbpg_keyword_add(struct folder *f, const char *name);
/* Call add(arg, name) for every folder (but INBOX) of user, or every
 * subscription when subs is set. 0 or -1. */
int mbpg_names(struct mbox_store *st, const char *user, int subs,
	       void (*add)(void *arg, const char *name), void *arg);
int mbpg_subscribe(struct mbox_store *st, const char *user,
		   const char *name, int on);
/* Create folder name: 0, 1 when it exists, -1. */
int mbpg_create(struct mbox_store *st, const char *user, const char *name);
/* Delete folder id and the bodies of its messages. 0 or -1. */
int mbpg_delete(struct mbox_store *st, long long id);
/* Rename folder from (and its children) to to. 0 or -1 with err. */
int mbpg_rename(struct mbox_store *st, const char *user, const char *from,
		const char *to, char *err, size_t errlen);
/* 1 the first time user is seen (then give the default folders), 0
 * after, -1 on error. */
int mbpg_first_time(struct mbox_store *st, const char *user);
/* Bytes of every message of user. */
long long mbpg_usage(struct mbox_store *st, const char *user);

#endif
