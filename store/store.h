/*
 * NAME
 *	store - stage G, first cut: LMTP delivery into Maildirs
 * DESCRIPTION
 *	Private header of the store daemon: configuration, the user table
 *	(store_users.c), Maildir delivery with group commit
 *	(store_maildir.c) and the LMTP hooks (store_lmtp.c).
 */
#ifndef SLUICE_STORE_H
#define SLUICE_STORE_H

#include <stddef.h>
#include <time.h>

#include "sbuf.h"
#include "smtp_server.h"

struct store_config {
	char *lmtp_listen;
	char *hostname;
	char *users_file;
	char *mail_root;
	char *user;
	int syslog;
	long long max_message_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
};

/* ---- users (store_users.c) ---- */

struct users;

/* Load the users file (see sluice-store.8 for its format). NULL with a
 * reason in err. */
struct users *users_load(const char *path, char *err, size_t errlen);
void users_free(struct users *u);
/* Re-read the file when its mtime changed (checked at most once a
 * second). Keeps the old table when the new file is broken. */
void users_refresh(struct users **u, const char *path);
/* Expand addr to the local mailboxes it reaches (itself, or an alias's
 * targets). Fills out[] with pointers owned by u; returns how many, 0 for
 * an unknown address. */
size_t users_expand(struct users *u, const char *addr, const char **out,
		    size_t max);

/* ---- Maildir delivery with group commit (store_maildir.c) ---- */

struct maildir_batch;

struct maildir_batch *maildir_batch_new(const char *mail_root,
					const char *hostname);
/* Write the message for mailbox (local@domain) into its Maildir's tmp/
 * (creating the Maildir on first use). Returns a handle >= 0, or -1. */
long maildir_stage(struct maildir_batch *b, const char *mailbox,
		   const char *prefix, size_t plen, const char *msg,
		   size_t len);
/* Make every staged file durable (one syncfs), move them into new/,
 * sync the directories once each. Returns 0, or -1 if anything failed;
 * maildir_ok() then tells which handles made it. */
int maildir_commit(struct maildir_batch *b);
int maildir_ok(const struct maildir_batch *b, long handle);
void maildir_batch_free(struct maildir_batch *b);
/* Forget the staged files (after the replies went out). */
void maildir_reset(struct maildir_batch *b);

/* ---- LMTP (store_lmtp.c) ---- */

struct store {
	struct store_config *cfg;
	struct users *users;
	struct maildir_batch *batch;
	struct store_sess *pending; /* sessions waiting for the commit */
};

extern const struct smtp_hooks store_hooks;
/* Turn-end hook: commit the batch, answer every waiting recipient. */
void store_commit(void *arg);

#endif
