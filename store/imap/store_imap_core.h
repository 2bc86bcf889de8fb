/*
 * NAME
 *	store_imap_core - the core of the store's IMAP4rev1/IMAP4rev2 server,
 *	as the command files see it
 * DESCRIPTION
 *	RFC 3501 and RFC 9051 (a session switches with ENABLE IMAP4rev2)
 *	with IDLE, UIDPLUS, LITERAL+, NAMESPACE, ENABLE, MOVE,
 *	SPECIAL-USE, QUOTA (read), ID, SASL-IR, CHILDREN, ESEARCH,
 *	LIST-STATUS, STATUS=SIZE, CONDSTORE, QRESYNC, SEARCHRES,
 *	MULTIAPPEND, BINARY, SORT, THREAD, LIST-EXTENDED, COMPRESS and
 *	NOTIFY, in the store daemon's event loop. Layers, each calling
 *	only the ones below it:
 *	  store_imap_server.c  listeners and the command table
 *	                       (store_imap.h, for store/main.c)
 *	commands (store_imap_cmd.h), each calling the core, never another
 *	command file:
 *	  store_imap_auth.c    CAPABILITY NOOP LOGOUT STARTTLS LOGIN
 *	                       AUTHENTICATE ID ENABLE NAMESPACE CHECK
 *	  store_imap_folder.c  SELECT EXAMINE CREATE DELETE RENAME (UN)SUBSCRIBE
 *	                       STATUS GETQUOTA(ROOT) SETQUOTA
 *	  store_imap_list.c    LIST LSUB (LIST-EXTENDED, LIST-STATUS)
 *	  store_imap_fetch.c   FETCH (and NOTIFY's fetch attributes)
 *	  store_imap_store.c   STORE
 *	  store_imap_esearch.c SEARCH (ESEARCH, SEARCHRES)
 *	  store_imap_sort.c    SORT THREAD
 *	  store_imap_copy.c    COPY MOVE EXPUNGE CLOSE
 *	  store_imap_append.c  APPEND IDLE
 *	  store_imap_compress.c  COMPRESS
 *	the core (this header), which reaches the commands only through
 *	the table in struct imap_server:
 *	  store_imap.c         sessions, reading commands and literals,
 *	                       dispatch, replies, selected-folder sync
 *	  store_imap_commit.c  replies held until the group commit syncs
 *	  store_imap_condstore.c  CONDSTORE/QRESYNC: enabling, EXPUNGE and
 *	                       VANISHED, SELECT (QRESYNC ...)
 *	  store_imap_notify.c  NOTIFY: other folders' updates
 *	  store_imap_names.c   IMAP4rev2's UTF-8 mailbox names
 *	  store_imap_flags.c   flag lists, keyword announcements, message
 *	                       sets, the saved result "$"
 *	  store_imap_mailbox.c LIST attributes, STATUS items
 *	  store_imap_search.c  search keys (SEARCH, SORT, THREAD)
 *	  store_imap_catenate.c  APPEND's CATENATE parts
 *	the parser (store_imap_parse.h): pure, fuzzed, unit-tested
 *	  store_imap_parse.c, store_imap_seq.c, store_imap_utf7.c
 *	Faces the network: every byte a client sends is hostile.
 */
#ifndef SLUICE_STORE_IMAP_CORE_H
#define SLUICE_STORE_IMAP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits_rfc.h"
#include "store_imap.h"
#include "store_imap_parse.h"

#include "conn.h"
#include "gcommit.h"
#include "sbuf.h"

struct store;
struct imap_server;
struct mbox;
struct sasl_srv;
struct sasl_async;
struct ev_timer;

enum imap_state {
	IMAP_NOTAUTH,
	IMAP_AUTH,
	IMAP_SELECTED,
	IMAP_LOGOUT,
};

/* What the session is reading: commands, SASL responses, IDLE's DONE,
 * or nothing (an answer is being delayed or output is draining). */
enum imap_mode {
	IMAP_MODE_CMD,
	IMAP_MODE_SASL,
	IMAP_MODE_IDLE,
	IMAP_MODE_WAIT,
};

struct imap_sess {
	struct imap_server *srv;
	struct imap_sess *prev, *next;
	struct conn *c;
	char id[20];
	char client_addr[64];
	int client_port;
	char local[80], remote[80];	/* "ip;port" for SASL */
	enum imap_state state;
	enum imap_mode mode;
	int tls;
	int implicit;
	int skip_line;		/* dropping input up to the next CRLF */
	size_t lit_acked;	/* offset of the literal we sent "+" for */
	int quickack;		/* "+" sent: ACK the literal promptly */
	unsigned nerrors;
	int login_counted;	/* in st->logins (store_login.c) */
	char tag[LIM_IMAP_TAG + 1];	/* of the command in progress */
	char *user;
	struct sasl_srv *sasl;
	struct sasl_async *auth_job;	/* a SASL call on a worker */
	struct ev_timer *delay;
	void (*delay_cb)(void *);
	char method[40];	/* SASL mechanism in progress */
	int fail_locked;	/* the delayed failure: user locked out */
	/* selected folder */
	struct mbox *mbox;
	char *mbox_name;
	int readonly;
	unsigned nkw_sent;	/* keywords announced in untagged FLAGS */
	int no_expunge;		/* defer EXPUNGE reports (RFC 3501 7.4.1) */
	int condstore;		/* RFC 7162: MODSEQ in FETCH responses */
	int qresync;		/* RFC 7162: VANISHED instead of EXPUNGE */
	int rev2;		/* ENABLE IMAP4rev2: RFC 9051 semantics */
	uint32_t *vanished;	/* UIDs expunged, not yet reported */
	size_t nvanished, vanishedcap;
	uint32_t *saved;	/* RFC 5182 "$": UIDs, ascending */
	size_t nsaved;
	/* a FETCH that continues when the output has drained */
	struct imap_fetch *fetch;
	struct imap_notify *notify;	/* RFC 5465; NULL: off */
	/* the reply held for the group commit (store_imap_commit.c) */
	struct sbuf held;
	enum imap_mode commit_mode;	/* the mode to go back to */
	struct imap_sess *commit_next;	/* srv->waiting or srv->syncing */
};

struct imap_server {
	struct store *st;
	struct evloop *loop;
	struct tls_ctx *tls;
	int fds[2];		/* STARTTLS, implicit TLS; -1 when off */
	struct imap_sess *sessions;
	size_t nsessions;
	unsigned long long counter;
	struct imap_parse_limits lim;
	struct imap_parse_limits lim_preauth;	/* before login */
	/* the group commit of IMAP changes (store_imap_commit.c) */
	struct gcommit gc;
	int rootfd;		/* mail_root, for syncfs */
	struct imap_sess *waiting;	/* held, for the next sync */
	struct imap_sess *syncing;	/* held, for the running sync */
	unsigned long long syncing_gen;	/* mbox_unsynced() it covers */
	unsigned long long durable_gen;	/* ... the last one covered */
	int sync_errno;		/* of the last sync: 0 or errno */
	const struct imap_commands *cmds;	/* the command table */
};

/* A session on an accepted socket (implicit: TLS from the first byte);
 * and its end (store_imap.c). */
void imap_sess_start(struct imap_server *srv, int fd, int implicit);
void imap_sess_free(struct imap_sess *s);

/* Replies. Untagged "* ..." lines; tagged OK/NO/BAD for the command
 * with tag; a BAD or NO counts as an error of the session. */
void imap_untagged(struct imap_sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_tagged(struct imap_sess *s, const char *tag, const char *status,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define imap_ok(s, tag, ...) imap_tagged((s), (tag), "OK", __VA_ARGS__)
#define imap_no(s, tag, ...) imap_tagged((s), (tag), "NO", __VA_ARGS__)
#define imap_bad(s, tag, ...) imap_tagged((s), (tag), "BAD", __VA_ARGS__)

/* Change the session state (the one place it changes). Leaving
 * SELECTED closes the folder. */
void imap_set_state(struct imap_sess *s, enum imap_state st);
/* Report what changed in the selected folder (EXPUNGE, FETCH FLAGS,
 * EXISTS, RECENT) as untagged lines; no-op without one. */
void imap_sync(struct imap_sess *s);
/* Send what is queued, then close the session. */
void imap_hangup(struct imap_sess *s);
/* The group commit (store_imap_commit.c): start its thread, stop it
 * (a running sync answers its sessions). A command runs between
 * imap_commit_begin() and imap_commit_end() with the store's syncs
 * deferred; when it changed anything, end holds its reply (what it
 * wrote since the mark) and pauses the session until the next sync
 * has returned. imap_commit_forget(): the session is going. */
struct imap_commit_mark {
	unsigned long long gen;
	size_t out;
};
void imap_commit_start(struct imap_server *srv);
void imap_commit_stop(struct imap_server *srv);
void imap_commit_begin(struct imap_sess *s, struct imap_commit_mark *m);
void imap_commit_end(struct imap_sess *s, const struct imap_commit_mark *m);
void imap_commit_forget(struct imap_sess *s);

/* Stop reading commands until imap_resume(). */
void imap_wait(struct imap_sess *s);
void imap_resume(struct imap_sess *s);
/* The store of the session. */
struct store *imap_store(struct imap_sess *s);
/* Now, monotonic ms (the loop's clock). */
uint64_t imap_now(struct imap_sess *s);
/* Arm s->delay to call cb(s) in ms milliseconds. */
void imap_delay(struct imap_sess *s, uint64_t ms, void (*cb)(void *));

/* Write s as an IMAP string (quoted or literal) to the output. */
void imap_write_string(struct imap_sess *s, const char *str, size_t n);
/* Write a stored (modified UTF-7) mailbox name: as it is, or in UTF-8
 * once IMAP4rev2 is on (store_imap_names.c). */
void imap_write_mailbox(struct imap_sess *s, const char *name);
/* IMAP4rev2 (RFC 9051 5.1): the mailbox name arguments of cmd, UTF-8,
 * turned into the stored modified UTF-7 (the new strings held in conv,
 * free with imap_mailbox_args_free). No-op without IMAP4rev2; -1 (after
 * a BAD) when a name is not UTF-8. */
struct imap_names_conv {
	char **p;
	size_t n;
};
int imap_mailbox_args(struct imap_sess *s, struct imap_cmd *cmd,
		      struct imap_names_conv *conv);
void imap_mailbox_args_free(struct imap_names_conv *conv);
/* The LIST attributes of MBOX_ATTR_* bits, \Subscribed only when
 * subscribed is set (store_imap_mailbox.c). */
void imap_list_attrs(struct imap_sess *s, unsigned attrs, int subscribed);
/* ---- flags and message sets (store_imap_flags.c) ---- */

/* RFC 3501 7.2.6: when the selected folder has keywords this session
 * was not told of yet, send untagged FLAGS and OK [PERMANENTFLAGS]
 * naming them (call before any FETCH FLAGS that may show one). */
void imap_keywords_announce(struct imap_sess *s);
/* Untagged FLAGS and OK [PERMANENTFLAGS] of the selected folder, all
 * its keywords now announced (SELECT). */
void imap_flags_lines(struct imap_sess *s);
/* Append the flag list "(\Seen ...)" of seq in the selected folder. */
void imap_flags_out(struct imap_sess *s, uint32_t seq, struct sbuf *out);
/* Parse a flag list (a LIST or a single flag atom) at args[i] into
 * MBOX_* flags and keyword bits of the selected folder (created when
 * create > 0; ignored when create < 0, as for APPEND).
 * 0, or -1 with a reason in err (-2 when the folder has no room for
 * a new keyword: then none of the list's new keywords is created). */
int imap_flags_parse(struct imap_sess *s, const struct imap_cmd *cmd,
		     size_t i, int create, unsigned *flags, uint32_t *kw,
		     char *err, size_t errlen);
/* The sequence numbers a set names (UIDs when uid is set) in the
 * selected folder, ascending, unique; "$" is the saved search result
 * (RFC 5182). NULL with *n == 0 for none; -1 when malformed. */
int imap_resolve_set(struct imap_sess *s, const char *set, int uid,
		     uint32_t **seqs, size_t *n);

/* RFC 5182: non-zero when uid is in the saved result "$"; and save the
 * messages seqs[0..n) of the view as the new "$" (n == 0: empty). */
int imap_saved_has(const struct imap_sess *s, uint32_t uid);
void imap_saved_set(struct imap_sess *s, const uint32_t *seqs, size_t n);

/* Append ascending numbers u[0..n) as a compact sequence set ("1:3,7"),
 * after a "," unless out ends in a space. */
void imap_set_write(struct sbuf *out, const uint32_t *u, size_t n);

/* ---- CONDSTORE and QRESYNC (store_imap_condstore.c) ---- */

/* A CONDSTORE enabling command (RFC 7162 3.1): from now on MODSEQ goes
 * with flag changes; in the selected state the HIGHESTMODSEQ is sent. */
void imap_condstore_on(struct imap_sess *s);
/* Report message seq (UID uid) expunged: "* seq EXPUNGE", or kept for
 * one "* VANISHED uids" once QRESYNC is on (imap_vanished_flush). */
void imap_expunged(struct imap_sess *s, uint32_t seq, uint32_t uid);
void imap_vanished_flush(struct imap_sess *s);
/* "* VANISHED (EARLIER) uids": the UIDs in known (NULL: all) expunged
 * after mod-sequence since that are no longer in the view. */
void imap_vanished_earlier(struct imap_sess *s, uint64_t since,
			   const struct imap_seqset *known);
/* SELECT/EXAMINE parameters at args[1]: (CONDSTORE) or (QRESYNC (...)).
 * Parsed before the folder is opened: 0, or -1 after a BAD. */
struct imap_qresync {
	int condstore;			/* (CONDSTORE) */
	int on;				/* (QRESYNC ...) */
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* n == 0: every UID */
};
int imap_select_params(struct imap_sess *s, struct imap_cmd *cmd,
		       struct imap_qresync *q);
/* After SELECT's untagged replies: the changes a QRESYNC asks for. */
void imap_select_qresync(struct imap_sess *s, struct imap_qresync *q);

/* ---- NOTIFY (store_imap_notify.c) ---- */

/* Hook the server into store_mbox's change reports (on) or unhook it. */
void imap_notify_setup(struct imap_server *srv, int on);
/* Send the notifications waiting for s (before a tagged reply). */
void imap_notify_flush(struct imap_sess *s);
/* Watch the selected folder as s's NOTIFY asks (after SELECT, IDLE). */
void imap_notify_rewatch(struct imap_sess *s);
void imap_notify_free(struct imap_sess *s);
/* After a sync: the FETCH of MessageNew's attributes for each message
 * of the selected folder with a UID above top (RFC 5465 5.2). */
void imap_notify_new(struct imap_sess *s, uint32_t top);
/* Session s created, deleted, renamed (from old) or (un)subscribed
 * folder name: tell the user's other sessions that asked for it. */
enum imap_notify_what {
	IMAP_NF_CREATED,
	IMAP_NF_DELETED,
	IMAP_NF_RENAMED,
	IMAP_NF_SUBSCRIBED,
	IMAP_NF_UNSUBSCRIBED,
};
void imap_notify_folder(struct imap_sess *s, enum imap_notify_what what,
			const char *name, const char *old);
/* The NOTIFY command (RFC 5465 6), in the command table. */
void imap_cmd_notify(struct imap_sess *s, struct imap_cmd *cmd);

/* ---- CATENATE (store_imap_catenate.c) ---- */

/* "CATENATE (TEXT literal / URL url ...)" at args[*i] (RFC 4469): the
 * message built into out (its max: the largest message). 0 (*i after
 * it), or -1 after a BAD or NO ([BADURL], [TOOBIG]). */
int imap_catenate(struct imap_sess *s, const struct imap_cmd *cmd,
		  size_t *i, struct sbuf *out);

/* ---- STATUS items (store_imap_mailbox.c) ---- */

/* Non-zero when args[list] is a non-empty list of STATUS items. */
int imap_status_list_ok(const struct imap_cmd *cmd, size_t list);
/* "* STATUS name (ITEM n ...)" for the items in the list args[list];
 * -1 (nothing written) when the folder does not exist. */
int imap_status_line(struct imap_sess *s, const char *name,
		     const struct imap_cmd *cmd, size_t list);

/* ---- searching (store_imap_search.c) ---- */

/* The messages of the view that match the search keys args[first..]
 * (RFC 3501 6.4.4, MODSEQ, "$"): sequence numbers, ascending, in
 * *hits (malloc'ed); *top is the highest mod-sequence among them when
 * a MODSEQ key was used, else 0. 0, -1 (malformed keys: BAD), -2 (no
 * memory: NO). Nothing is sent. */
int imap_search_keys(struct imap_sess *s, const struct imap_cmd *cmd,
		     size_t first, uint32_t **hits, size_t *nhits,
		     uint64_t *top);
/* 0 for a charset SEARCH, SORT and THREAD take (UTF-8, US-ASCII); else
 * -1 after a NO [BADCHARSET]. */
int imap_search_charset(struct imap_sess *s, const struct imap_cmd *cmd,
			const char *cs);

/* ---- the command table (filled in by store_imap_server.c) ---- */

/* Command handlers, one per command name. */
typedef void imap_cmd_fn(struct imap_sess *s, struct imap_cmd *cmd);

/* The states where a command is allowed: bits 1u << enum imap_state. */
#define IMAP_ST_N (1u << IMAP_NOTAUTH)
#define IMAP_ST_A (1u << IMAP_AUTH)
#define IMAP_ST_S (1u << IMAP_SELECTED)

struct imap_cmd_def {
	const char *name;
	imap_cmd_fn *fn;
	unsigned states;	/* IMAP_ST_* where it is allowed */
	int uid_ok;		/* may follow "UID" */
	int seq_nums;		/* without UID it names messages by sequence
				 * number: no EXPUNGE while it runs
				 * (RFC 3501 7.4.1) */
};

/* The commands and the command files' entry points that the core calls
 * (it includes no command file's header). */
struct imap_commands {
	const struct imap_cmd_def *defs;
	size_t ndefs;
	/* append our capabilities, as this session may use them now */
	void (*capabilities)(struct imap_sess *s);
	/* a SASL response line while mode is IMAP_MODE_SASL */
	void (*sasl_line)(struct imap_sess *s, const char *line);
	/* IDLE's "DONE" line while mode is IMAP_MODE_IDLE */
	void (*idle_line)(struct imap_sess *s, const char *line);
	/* continue a FETCH once output drained (the caller flushes); free
	 * it when the folder is closed */
	void (*fetch_resume)(struct imap_sess *s);
	void (*fetch_free)(struct imap_sess *s);
	/* NOTIFY MessageNew's "(fetch-att ...)" at args[i] (RFC 5465
	 * 5.2): NULL when malformed; rendered as .PEEK, for one message
	 * by seq */
	struct imap_fetch *(*fetch_att_parse)(const struct imap_cmd *cmd,
					      size_t i);
	void (*fetch_att_free)(struct imap_fetch *f);
	void (*fetch_att_send)(struct imap_sess *s, struct imap_fetch *f,
			       uint32_t seq);
};

#endif /* SLUICE_STORE_IMAP_CORE_H */
