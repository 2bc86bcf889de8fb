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

#include "directory.h"
#include "gcommit.h"
#include "sbuf.h"
#include "smtp_server.h"
#include "spool.h"
#include "stage.h"

struct store_config {
	char *lmtp_listen;
	char *hostname;
	char *directory_file;
	char *mail_root;
	char *mailbox_store;	/* "maildir" or a postgresql:// URI */
	char *user;
	int syslog;
	long long max_message_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	int quota_permanent;
	char *spam_folder;
	char *tls_cert;
	char *tls_key;
	char *credentials_file;
	char *redis_server;
	char *control_dir;
	int plaintext_auth;
	long long auth_fail_max;
	long long auth_fail_window;
	char *imap_listen;
	char *imaps_listen;
	char *pop3_listen;
	char *pop3s_listen;
	long long pop3_timeout;
	long long login_timeout;
	long long max_client_logins;
	char *next_hop;		/* the store's own mail (notices) */
	struct stage_queue queue;	/* ... and its queue */
	char *autoreply_dir;	/* who was told today (store_notice.c) */
	char *learn_hop;
	char *learn_spool_dir;
	long long learn_retry;
	long long learn_max_age;
	long long learn_max_spool;
	long long learn_max_size;
	char *learn_skip_folders;
	char *box_key_file;	/* the access boxes' deployment key */
};

/* ---- Maildir delivery with group commit (store_maildir.c) ---- */

struct maildir_batch;
struct mbox_store;

/* A batch for the folders of mb: Maildirs under mail_root, or, when mb
 * keeps them in a database (mbox_is_db), messages held in memory and
 * committed by mbox_deliver() in one transaction. */
struct maildir_batch *maildir_batch_new(const char *mail_root,
					const char *hostname,
					struct mbox_store *mb);
/* Write the message for mailbox (local@domain) into the tmp/ of its
 * Maildir or of its Maildir++ folder (NULL: INBOX; the string must live
 * until maildir_reset()), creating them on first use (database: keep a
 * copy for the commit). Returns a handle >= 0, or -1. */
long maildir_stage(struct maildir_batch *b, const char *mailbox,
		   const char *folder, const char *prefix, size_t plen,
		   const char *msg, size_t len);
/* Make every staged file durable (one syncfs), move them into new/,
 * sync the directories once each (database: one transaction). Returns 0, or -1 if anything failed;
 * maildir_ok() then tells which handles made it. */
int maildir_commit(struct maildir_batch *b);
int maildir_ok(const struct maildir_batch *b, long handle);
/* After the commit: the mailbox of a delivered handle, its size in
 * *size and its folder in *folder; NULL when the handle did not make
 * it. */
const char *maildir_mailbox(const struct maildir_batch *b, long handle,
			    long long *size, const char **folder);
void maildir_batch_free(struct maildir_batch *b);
/* Bytes staged for mailbox in b (NULL: none) and not yet counted in
 * its usage: what the quota must add until the commit is answered.
 * Reads only what the commit thread never writes. */
long long maildir_staged_bytes(const struct maildir_batch *b,
			       const char *mailbox);
/* Forget the staged files (after the replies went out). */
void maildir_reset(struct maildir_batch *b);

/* ---- LMTP (store_lmtp.c) ---- */

struct tls_ctx;
struct authlimit;
struct mbox_store;

struct store {
	struct store_config *cfg;
	struct directory *users;
	struct maildir_batch *batch; /* files written, not committing */
	struct store_sess *pending; /* their sessions */
	struct maildir_batch *committing; /* the batch being committed */
	struct store_sess *syncing; /* its sessions */
	struct maildir_batch *spare; /* the next batch, empty */
	struct gcommit gc;	/* the commits, one thread */
	int commit_rc;		/* maildir_commit() of the running one */
	struct tls_ctx *tls;	/* NULL: no certificate, no TLS */
	struct authlimit *authlimit; /* failed logins (IMAP, POP3) */
	struct mbox_store *mbox; /* the folders, shared by every session */
	struct peerlimit *logins; /* IMAP and POP3 sessions before login */
	struct spool notices;	/* q NULL: no next_hop, no notices */
	struct store_learn *learn; /* users' verdicts to spamd, or NULL */
	struct box_keys *box_keys; /* bodies sealed in PostgreSQL, or NULL */
};

extern const struct smtp_hooks store_hooks;
/* Turn-end hook: unless a commit is running, commit the batch on the
 * syncer thread (the loop goes on filling the next one) and answer its
 * recipients when it is durable. */
void store_commit(void *arg);
/* Start and stop the commit thread (stop waits for a running commit). */
void store_syncer_start(struct store *st, struct evloop *loop);
void store_syncer_stop(struct store *st);

/* ---- the answer of a shared address (store_notice.c) ---- */

/* Mail of s reached the shared address shared: queue the RFC 3834
 * notice listing its official addresses to the sender, unless a rule
 * says no (logged and counted). 1 queued, 0 not sent (rightly), -1
 * when it could not be recorded or queued (answer 4xx: a retry may
 * tell). Needs st->notices.q. */
int store_notice_shared(struct store *st, struct smtp_session *s,
			const char *shared);

/* ---- start-up helpers (main.c) ---- */

/* Stop start-up (log_fatal) unless a password-taking listener (IMAP,
 * POP3) on hostport may run: it needs TLS, unless plaintext_auth is set
 * and hostport is on loopback; plaintext_auth on a non-loopback address
 * is refused too. what names the listener in the message. */
void store_check_listener(const struct store *st, const char *hostport,
			  const char *what);
/* Non-zero when hostport ("host:port", "[v6]:port") is 127.0.0.0/8 or
 * ::1. */
int store_loopback(const char *hostport);

/* ---- IMAP and POP3 before login (store_login.c) ---- */

struct conn;
struct peerlimit;

/* A new IMAP or POP3 session (id, for the log) from addr on c: 0 when
 * it may go on (then counted against max_client_logins, with *counted
 * set), -1 when its address has too many sessions that have not logged
 * in (logged; refuse it).
 * The session must log in within login_timeout (c's deadline); until
 * then input that completes no command does not keep it alive. */
int store_login_start(struct store *st, struct conn *c, const char *id,
		      const char *addr, int *counted);
/* The session logged in or ends: it no longer counts against its
 * address, and the login deadline is lifted. */
void store_login_done(struct store *st, struct conn *c, const char *addr,
		      int *counted);

/* ---- quotas (store_quota.c) ---- */

/* Would storing extra more bytes put user (local@domain) over the quota
 * of the directory? 1 over quota, 0 fine (or no quota). The usage is
 * mbox_usage(), the one count LMTP and IMAP APPEND share, plus what
 * LMTP has staged and not yet committed (earlier recipients of the
 * same message, other messages of the batch, the batch committing). */
int store_quota_check(struct store *st, const char *user, long long extra);

/* ---- POP3 (store_pop3.c) ---- */

struct evloop;
struct pop3_server;

/* Serve POP3 (RFC 1939, 2449, 2595, 5034) on the listening socket fd;
 * implicit: TLS from the first byte (POP3S, RFC 8314). */
struct pop3_server *pop3_server_new(struct store *st, struct evloop *loop,
				    int fd, int implicit);
/* Close the listener and every session (no UPDATE state); *p = NULL. */
void pop3_server_free(struct pop3_server **p);

#endif
