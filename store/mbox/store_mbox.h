/*
 * NAME
 *	store_mbox - Maildir++ folders with persistent UIDs, for IMAP and POP3
 * DESCRIPTION
 *	A user's mail is mail_root/DOMAIN/LOCAL/Maildir: INBOX is the Maildir
 *	itself, every other folder is a Maildir++ subfolder ".Name" (the
 *	hierarchy delimiter is '.', as IMAP sees it too: "Archive.2026" is
 *	".Archive.2026"). Each folder keeps its UIDVALIDITY, UIDNEXT and the
 *	UID of every file in a list file written atomically, so UIDs survive
 *	restarts, and the mod-sequence of every message's last change
 *	(RFC 7162 CONDSTORE, QRESYNC) with the expunged UIDs. Flags live in
 *	the Maildir info (":2,DFRST" plus keyword
 *	letters a..z, whose names are listed per folder).
 *
 *	Every session that selects a folder gets its own view (struct mbox):
 *	a sequence-number map that changes only when the session syncs, so
 *	the IMAP rules on when EXPUNGE and EXISTS may be sent can be kept.
 *	All views of a process share one state per folder; a change made
 *	through any view, an APPEND, or an LMTP delivery (store_lmtp calls
 *	mbox_changed) wakes the watchers of that folder (IDLE).
 *
 *	With mailbox_store = postgresql://... (mbox_store_backend) the same
 *	API, views and shared state are backed by PostgreSQL instead
 *	(store_mbox_pg.c, store_mbox_pgdir.c): each backend-specific
 *	operation branches on the store's backend in one place, so IMAP,
 *	POP3 and LMTP do not change with it.
 *
 *	Folder names come from the network: they are checked here (no '/',
 *	no leading '.', no "..", no control characters, bounded length)
 *	before they touch the file system. Mail layer; trusts the Maildir.
 */
#ifndef SLUICE_STORE_MBOX_H
#define SLUICE_STORE_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sbuf;
struct evloop;

/* System flags (RFC 3501 2.3.2); MBOX_RECENT is per session view. */
#define MBOX_SEEN 0x01u
#define MBOX_ANSWERED 0x02u
#define MBOX_FLAGGED 0x04u
#define MBOX_DELETED 0x08u
#define MBOX_DRAFT 0x10u
#define MBOX_RECENT 0x20u
/* Keywords per folder (letters a..z in the Maildir info). */
#define MBOX_MAX_KEYWORDS 26
/* Longest folder name, bytes. */
#define MBOX_NAME_MAX 200

/* Folder attributes for LIST (RFC 3501 7.2.2, RFC 6154). */
#define MBOX_ATTR_NOSELECT 0x01u
#define MBOX_ATTR_HASCHILDREN 0x02u
#define MBOX_ATTR_HASNOCHILDREN 0x04u
#define MBOX_ATTR_SENT 0x10u
#define MBOX_ATTR_DRAFTS 0x20u
#define MBOX_ATTR_TRASH 0x40u
#define MBOX_ATTR_JUNK 0x80u
#define MBOX_ATTR_SUBSCRIBED 0x100u

struct mbox_msg {
	uint32_t uid;
	unsigned flags;		/* MBOX_* */
	uint32_t keywords;	/* bit i: keyword i of the folder */
	long long size;		/* bytes of the message as stored (CRLF) */
	time_t internaldate;	/* arrival (delivery or APPEND date) */
	uint64_t modseq;	/* RFC 7162: of the last change */
};

struct mbox_status {
	uint32_t messages, recent, uidnext, uidvalidity, unseen;
	uint32_t deleted;	/* with \\Deleted (RFC 9051 STATUS DELETED) */
	long long size;		/* bytes of every message (STATUS=SIZE) */
	uint64_t highestmodseq;	/* RFC 7162 HIGHESTMODSEQ */
};

struct mbox_store;
struct mbox;

/* The process-wide store of folders under mail_root. The loop runs the
 * watchers' callbacks. NULL on ENOMEM. */
struct mbox_store *mbox_store_new(struct evloop *loop, const char *mail_root);
void mbox_store_free(struct mbox_store **st);
/* Where st keeps the folders (config mailbox_store): "maildir" (the
 * default: Maildir++ under mail_root), or a PostgreSQL URI
 * (postgresql://..., postgres://...) that several store processes
 * share: the folders, UIDs, flags and mod-sequences in tables, the
 * bodies as blobs (store/box/blob.h), the other processes' changes
 * told by LISTEN/NOTIFY on st's loop. Call once, before any other use.
 * 0, or -1 with err. */
int mbox_store_backend(struct mbox_store *st, const char *spec, char *err,
		       size_t errlen);
/* Non-zero when st keeps its folders in the database: LMTP delivers
 * through mbox_deliver() then, not into Maildirs. */
int mbox_is_db(const struct mbox_store *st);

/* One LMTP delivery of a batch (database backend). */
struct mbox_delivery {
	const char *owner;	/* local@domain, lowercased */
	const char *folder;	/* "INBOX" or a folder name (made if missing) */
	const char *head;	/* stored in front of data (trace fields) */
	size_t headlen;
	const char *data;	/* the message, CRLF line ends */
	size_t len;
	time_t date;		/* INTERNALDATE */
	int ok;			/* out: durable */
};
/* Deliver the batch d[0..n) in one transaction (a failing message under
 * its own savepoint, ok 0), on a connection only the caller's thread
 * uses: safe to call from the commit thread while the loop uses st.
 * Every ok set is committed when it returns. 0, or -1 when any failed.
 * Then call mbox_changed() from the loop. */
int mbox_deliver(struct mbox_store *st, struct mbox_delivery *d, size_t n);

/* Durability by group commit: while on, the writes of st (message
 * files, their folders, UID lists) skip their fsync and are counted;
 * the caller makes them durable (one syncfs of mail_root, off the
 * loop) before it answers. mbox_unsynced() counts the writes made so
 * far in that mode: a command that changed it must wait for the next
 * commit. Off (the default): every write is synced where it is made. */
void mbox_defer_sync(struct mbox_store *st, int on);
unsigned long long mbox_unsynced(const struct mbox_store *st);

/* Create user's Maildir and the special-use folders Sent, Drafts, Trash
 * and Junk (subscribed) when missing. 0 or -1 with err. */
int mbox_user_prepare(struct mbox_store *st, const char *user, char *err,
		      size_t errlen);

/* Every folder of user, INBOX first, with MBOX_ATTR_* bits; cb returns
 * non-zero to stop. 0 or -1. */
int mbox_list(struct mbox_store *st, const char *user,
	      int (*cb)(void *arg, const char *name, unsigned attrs),
	      void *arg);
/* Folder management (RFC 3501 6.3.3-6.3.6). Names are IMAP names
 * ("INBOX" case-insensitive). 0, or -1 with a reason fit for a NO. */
int mbox_create(struct mbox_store *st, const char *user, const char *name,
		char *err, size_t errlen);
int mbox_delete(struct mbox_store *st, const char *user, const char *name,
		char *err, size_t errlen);
int mbox_rename(struct mbox_store *st, const char *user, const char *from,
		const char *to, char *err, size_t errlen);
int mbox_subscribe(struct mbox_store *st, const char *user, const char *name,
		   int on, char *err, size_t errlen);
/* STATUS without selecting. 0, or -1 when the folder does not exist. */
int mbox_status(struct mbox_store *st, const char *user, const char *name,
		struct mbox_status *out);
/* Bytes stored across all of user's folders (for quotas; cached,
 * counted again at most once a minute). */
long long mbox_usage(struct mbox_store *st, const char *user);
/* Tell the usage cache that delta bytes were stored for user outside
 * this layer (LMTP delivery). */
void mbox_usage_add(struct mbox_store *st, const char *user,
		    long long delta);
/* mail_root/domain/local/Maildir of user (local@domain, lowercased).
 * 0, or -1 when the name is unsafe for a path or too long. */
int mbox_user_path(const char *mail_root, const char *user, char *out,
		   size_t len);

/* APPEND (RFC 3501 6.3.11, UIDPLUS): store data (CRLF line ends) in
 * folder name with flags and date (0: now), durably (fsync before
 * return, or counted for the group commit: mbox_defer_sync). Gives the folder's UIDVALIDITY and the new UID. 0, or -1
 * with err; -2 when the folder does not exist ([TRYCREATE]). */
int mbox_append(struct mbox_store *st, const char *user, const char *name,
		const char *data, size_t len, unsigned flags, time_t date,
		uint32_t *uidvalidity_r, uint32_t *uid_r, char *err,
		size_t errlen);
/* mbox_append with keywords too (nkws names, valid flag-keywords): all
 * of them are defined in the folder, or none and -1 "[LIMIT] ..." when
 * they would not fit its MBOX_MAX_KEYWORDS. */
int mbox_append_kw(struct mbox_store *st, const char *user, const char *name,
		   const char *data, size_t len, unsigned flags,
		   const char *const *kws, size_t nkws, time_t date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r, char *err,
		   size_t errlen);

/* Take the message uid out of user's folder name again (a MULTIAPPEND
 * that failed half way). 0, or -1 when it is not there. */
int mbox_remove_uid(struct mbox_store *st, const char *user,
		    const char *name, uint32_t uid);

/* Tell the watchers of user's folder name that it changed (LMTP
 * delivery into INBOX calls this after its commit). */
void mbox_changed(struct mbox_store *st, const char *user, const char *name);

/* Select a folder: a new view with every message in it (the caller
 * marks the new ones \Recent for itself unless readonly). NULL with err
 * when the folder does not exist or cannot be read. */
struct mbox *mbox_open(struct mbox_store *st, const char *user,
		       const char *name, int readonly, char *err,
		       size_t errlen);
void mbox_close(struct mbox **m);

uint32_t mbox_count(const struct mbox *m);	/* EXISTS */
uint32_t mbox_recent(const struct mbox *m);	/* RECENT */
uint32_t mbox_uidvalidity(const struct mbox *m);
uint32_t mbox_uidnext(const struct mbox *m);
/* Message seq (1..count); NULL when out of range. */
const struct mbox_msg *mbox_get(const struct mbox *m, uint32_t seq);
/* Sequence number of uid, 0 when not in the view. */
uint32_t mbox_seq(const struct mbox *m, uint32_t uid);
/* The message's bytes, appended to out. 0, -1 (expunged meanwhile), or
 * -2 (there but unreadable: a sealed body that does not open). */
int mbox_read(struct mbox *m, uint32_t seq, struct sbuf *out);

/* Keywords of the folder: name of index i (NULL past the end), and the
 * index of name (created when create is set and there is room; -1). */
const char *mbox_keyword(const struct mbox *m, unsigned i);
int mbox_keyword_index(struct mbox *m, const char *name, int create);

/* How mbox_update_flags() combines the given flags with the message's. */
enum mbox_flag_op {
	MBOX_FLAGS_REPLACE,	/* FLAGS */
	MBOX_FLAGS_ADD,		/* +FLAGS */
	MBOX_FLAGS_REMOVE,	/* -FLAGS */
};

/* Change a message's flags and keywords (MBOX_RECENT is ignored) as one
 * read-modify-write of the folder's current state, which it rereads
 * first: a change another view or process made meanwhile is kept, never
 * overwritten from this view's older copy. The view's entry then holds
 * the message's current flags (other views are told at their next
 * mbox_sync). 0, or -1 (expunged, read-only view, I/O error). */
int mbox_update_flags(struct mbox *m, uint32_t seq, enum mbox_flag_op op,
		      unsigned flags, uint32_t keywords);
/* mbox_update_flags() only when the message's mod-sequence is at most
 * unchangedsince (RFC 7162 UNCHANGEDSINCE; 0: always): -2 when it is
 * higher (nothing changed). */
int mbox_update_flags_if(struct mbox *m, uint32_t seq, enum mbox_flag_op op,
			 unsigned flags, uint32_t keywords,
			 uint64_t unchangedsince);
/* Make the flag changes of mbox_update_flags() durable (their
 * mod-sequences with them; or written for the group commit:
 * mbox_defer_sync): call before they are shown to a client (mbox_sync
 * does it too). 0 or -1. */
int mbox_commit(struct mbox *m);
/* RFC 7162 HIGHESTMODSEQ of the view's folder. */
uint64_t mbox_highestmodseq(const struct mbox *m);
/* The UIDs expunged after mod-sequence since and no longer in the view,
 * ascending (*uids malloc'ed, NULL when none). 0, or -1 when the folder
 * no longer remembers all expunges that far back (LIM_IMAP_VANISHED). */
int mbox_vanished(const struct mbox *m, uint64_t since, uint32_t **uids,
		  size_t *n);
/* mbox_update_flags(m, seq, MBOX_FLAGS_REPLACE, flags, keywords). */
int mbox_set_flags(struct mbox *m, uint32_t seq, unsigned flags,
		   uint32_t keywords);
/* COPY one message to folder dest (UIDPLUS: its new UID). 0, -1, or -2
 * when dest does not exist. Several copies in a row are made durable
 * together by mbox_copy_commit(). */
int mbox_copy(struct mbox *m, uint32_t seq, const char *dest,
	      uint32_t *uidvalidity_r, uint32_t *uid_r);
int mbox_copy_commit(struct mbox *m);
/* Remove message seq from the folder and from this view: the sequence
 * numbers above it shift down at once (send EXPUNGE seq right away).
 * 0 or -1. */
int mbox_expunge(struct mbox *m, uint32_t seq);

/* Bring the view up to date with the folder: calls expunged(seq, uid)
 * for every message gone (highest first, numbers as the session knew
 * them),
 * flags(seq) for every message whose flags another view or process
 * changed, then exists(count) and recent(n) when new messages arrived.
 * Any callback may be NULL. 0 or -1. */
struct mbox_events {
	void (*expunged)(void *arg, uint32_t seq, uint32_t uid);
	void (*flags)(void *arg, uint32_t seq);
	void (*exists)(void *arg, uint32_t count);
	void (*recent)(void *arg, uint32_t count);
};
int mbox_sync(struct mbox *m, const struct mbox_events *ev, void *arg);

/* Call cb(arg, user, name) for every change of a folder's messages or
 * flags in this process (RFC 5465 NOTIFY). It runs inside the change:
 * it may only take note and act later from the loop. */
void mbox_on_change(struct mbox_store *st,
		    void (*cb)(void *arg, const char *user, const char *name),
		    void *arg);

/* Call cb(arg) from the loop soon after the folder changes (IDLE);
 * cb NULL stops watching. */
void mbox_watch(struct mbox *m, void (*cb)(void *arg), void *arg);

#endif
