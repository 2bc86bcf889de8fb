/*
 * NAME
 *	store_imap - private header of the store's IMAP4rev1/IMAP4rev2 server
 * DESCRIPTION
 *	RFC 3501 and RFC 9051 (a session switches with ENABLE IMAP4rev2)
 *	with IDLE, UIDPLUS, LITERAL+, NAMESPACE, ENABLE, MOVE,
 *	SPECIAL-USE, QUOTA (read), ID, SASL-IR, CHILDREN, ESEARCH,
 *	LIST-STATUS, STATUS=SIZE, CONDSTORE, QRESYNC, SEARCHRES,
 *	MULTIAPPEND, BINARY, SORT, THREAD, LIST-EXTENDED, COMPRESS and
 *	NOTIFY, in the store daemon's event loop. Files by topic:
 *	  store_imap_parse.c   the command parser (pure; fuzzed, unit-tested)
 *	  store_imap_seq.c     sequence sets and dates (pure)
 *	  store_imap.c         sessions, dispatch, replies, untagged updates
 *	  store_imap_server.c  listeners
 *	  store_imap_auth.c    CAPABILITY NOOP LOGOUT STARTTLS LOGIN
 *	                       AUTHENTICATE ID ENABLE NAMESPACE
 *	  store_imap_folder.c  SELECT EXAMINE CREATE DELETE RENAME (UN)SUBSCRIBE
 *	                       STATUS GETQUOTA(ROOT) SETQUOTA
 *	  store_imap_list.c    LIST LSUB (LIST-EXTENDED, LIST-STATUS)
 *	  store_imap_fetch.c   FETCH
 *	  store_imap_store.c   STORE, flag lists
 *	  store_imap_search.c  SEARCH
 *	  store_imap_sort.c    SORT THREAD
 *	  store_imap_copy.c    COPY MOVE EXPUNGE CLOSE CHECK
 *	  store_imap_commit.c  replies held until the group commit syncs
 *	  store_imap_append.c  APPEND IDLE
 *	  store_imap_catenate.c  APPEND's CATENATE parts
 *	  store_imap_compress.c  COMPRESS
 *	  store_imap_condstore.c  CONDSTORE/QRESYNC: enabling, VANISHED,
 *	                       SELECT (QRESYNC ...)
 *	  store_imap_notify.c  NOTIFY
 *	  store_imap_names.c   IMAP4rev2's UTF-8 mailbox names
 *	  store_imap_utf7.c    modified UTF-7 <-> UTF-8 (pure)
 *	Faces the network: every byte a client sends is hostile.
 */
#ifndef SLUICE_STORE_IMAP_H
#define SLUICE_STORE_IMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "limits_rfc.h"

/* ---- the parser (store_imap_parse.c, store_imap_seq.c): pure ---- */

enum imap_arg_type {
	IMAP_ARG_ATOM,	  /* atom, number, flag, sequence set, BODY[..]<..> */
	IMAP_ARG_QUOTED,  /* "quoted" (unescaped) */
	IMAP_ARG_LITERAL, /* {n} or {n+} */
	IMAP_ARG_LIST,	  /* ( ... ): the next nsub args are inside it */
};

struct imap_arg {
	enum imap_arg_type type;
	const char *s;	/* NUL-terminated (literals may hold NULs) */
	size_t len;
	size_t nsub;	/* LIST: args inside it, at every depth */
	unsigned char bin;	/* LITERAL: a literal8 "~{n}" (RFC 3516) */
};

struct imap_cmd {
	char tag[LIM_IMAP_TAG + 1];
	char name[24];		/* upper-cased; "FETCH" for "UID FETCH" */
	int uid;		/* the UID prefix was given */
	struct imap_arg *args;	/* flat, in order; lists hold nsub args */
	size_t nargs;
	char *arena;		/* the bytes the args point into */
};

enum imap_parse_res {
	IMAP_P_OK,	/* cmd filled; out->used bytes form the command */
	IMAP_P_MORE,	/* incomplete; out->lit_off > 0 when a synchronizing
			 * literal of out->lit_len octets (0 too) waits for
			 * "+" (its data at out->lit_off; cmd->tag and
			 * cmd->name hold what was read) */
	IMAP_P_BAD,	/* answer BAD (tag in cmd->tag when out->has_tag),
			 * drop out->used bytes; out->skip_line: also drop
			 * input up to the next CRLF (over-long line) */
	IMAP_P_FATAL,	/* answer BAD and disconnect (a non-synchronizing
			 * literal too large to skip) */
};

struct imap_parse_limits {
	size_t line_max;	/* text of a command, literals not counted */
	size_t literal_max;	/* literal size for most commands */
	size_t append_max;	/* literal size for APPEND */
	size_t args_max;
	unsigned depth_max;
};

struct imap_parse_out {
	size_t used;
	size_t lit_off, lit_len;
	int has_tag;
	int skip_line;
	char err[120];
};

/* Parse one command from buf[0..len) (RFC 3501 section 9, command).
 * On IMAP_P_OK cmd owns memory: free with imap_cmd_free(). */
enum imap_parse_res imap_parse(const char *buf, size_t len,
			       const struct imap_parse_limits *lim,
			       struct imap_cmd *cmd,
			       struct imap_parse_out *out);
void imap_cmd_free(struct imap_cmd *cmd);

/* Index of the argument after args[i] (skipping a list's contents). */
size_t imap_arg_next(const struct imap_cmd *cmd, size_t i);
/* An astring (atom, quoted or literal, not literal8) or NULL. */
const char *imap_arg_str(const struct imap_cmd *cmd, size_t i);
/* Non-zero when args[i] is the atom word (case-insensitive). */
int imap_arg_is(const struct imap_cmd *cmd, size_t i, const char *word);

/* A sequence set (RFC 3501 9, sequence-set) as ranges lo..hi with
 * lo <= hi; "*" is max (the largest number in use). */
struct imap_seqset {
	uint32_t (*r)[2];
	size_t n;
};

/* Parse s with "*" standing for star. 0, or -1 when malformed, has 0, or
 * has more than LIM_IMAP_SEQ_RANGES ranges. Free with imap_seqset_free. */
int imap_seqset_parse(const char *s, uint32_t star, struct imap_seqset *out);
void imap_seqset_free(struct imap_seqset *set);
/* Non-zero when n is in the set. */
int imap_seqset_has(const struct imap_seqset *set, uint32_t n);

/* RFC 7162 mod-sequence-value (1*DIGIT, at most 2^63-1; zero only
 * when zero_ok, as for mod-sequence-valzer). 0 or -1. */
int imap_parse_modseq(const char *s, int zero_ok, uint64_t *out);

/* date (RFC 3501 9: "d-Mon-yyyy" or dd-Mon-yyyy) as the UTC midnight;
 * -1 when malformed. */
time_t imap_parse_date(const char *s);
/* date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (APPEND); -1 when malformed. */
time_t imap_parse_datetime(const char *s);
/* Write t as an IMAP date-time (27 characters + NUL) in UTC. */
void imap_format_datetime(time_t t, char out[32]);

/* Mailbox names (RFC 3501 5.1.3, RFC 9051 5.1): modified UTF-7 in to
 * UTF-8 out (decode), or back (encode), NUL-terminated in out. 0, or -1
 * when in is malformed or the result does not fit outlen. */
int imap_mutf7_decode(const char *in, char *out, size_t outlen);
int imap_mutf7_encode(const char *in, char *out, size_t outlen);

/* ---- the server (store_imap.c) ---- */

#ifndef IMAP_PARSE_ONLY

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
};

/* Open the listeners imap_listen (STARTTLS) and imaps_listen (implicit
 * TLS) of the configuration, before privileges are dropped; -1 for one
 * that is off. Stops start-up (log_fatal) when a listener would take
 * passwords without TLS. */
void imap_bind(const struct store *st, int fds[2]);
/* Start the listeners imap_listen / imaps_listen (fds from
 * daemon_listen, -1 when disabled). NULL on error. */
struct imap_server *imap_server_new(struct store *st, struct evloop *loop,
				    struct tls_ctx *tls, int fd, int fd_tls);
void imap_server_free(struct imap_server **srv);

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
 * subscribed is set (store_imap_list.c). */
void imap_list_attrs(struct imap_sess *s, unsigned attrs, int subscribed);
/* RFC 3501 7.2.6: when the selected folder has keywords this session
 * was not told of yet, send untagged FLAGS and OK [PERMANENTFLAGS]
 * naming them (call before any FETCH FLAGS that may show one). */
void imap_keywords_announce(struct imap_sess *s);
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

/* ---- CATENATE (store_imap_catenate.c) ---- */

/* "CATENATE (TEXT literal / URL url ...)" at args[*i] (RFC 4469): the
 * message built into out (its max: the largest message). 0 (*i after
 * it), or -1 after a BAD or NO ([BADURL], [TOOBIG]). */
int imap_catenate(struct imap_sess *s, const struct imap_cmd *cmd,
		  size_t *i, struct sbuf *out);

/* ---- STATUS (store_imap_folder.c) ---- */

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

/* Append our capabilities, as this session may use them now. */
void imap_capabilities(struct imap_sess *s);

/* Command handlers, one per command name. */
typedef void imap_cmd_fn(struct imap_sess *s, struct imap_cmd *cmd);
imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout,
	imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate,
	imap_cmd_id, imap_cmd_enable, imap_cmd_namespace;
imap_cmd_fn imap_cmd_select, imap_cmd_create, imap_cmd_delete,
	imap_cmd_rename, imap_cmd_subscribe, imap_cmd_list, imap_cmd_status,
	imap_cmd_getquota, imap_cmd_getquotaroot, imap_cmd_setquota;
imap_cmd_fn imap_cmd_fetch, imap_cmd_store, imap_cmd_search;
imap_cmd_fn imap_cmd_sort, imap_cmd_thread;
imap_cmd_fn imap_cmd_copy, imap_cmd_expunge, imap_cmd_close,
	imap_cmd_check, imap_cmd_unselect;
imap_cmd_fn imap_cmd_append, imap_cmd_idle, imap_cmd_compress;
imap_cmd_fn imap_cmd_notify;

/* SASL responses while mode is IMAP_MODE_SASL (store_imap_auth.c). */
void imap_sasl_line(struct imap_sess *s, const char *line);
/* IDLE's "DONE" line (store_imap_append.c). */
void imap_idle_line(struct imap_sess *s, const char *line);
/* Continue a FETCH once output drained (store_imap_fetch.c); frees it
 * when the session goes. The caller flushes the output. */
void imap_fetch_resume(struct imap_sess *s);
void imap_fetch_free(struct imap_sess *s);
/* NOTIFY MessageNew's "(fetch-att ...)" at args[i] (RFC 5465 5.2):
 * NULL when malformed; rendered as .PEEK, for one message by seq. */
struct imap_fetch *imap_fetch_att_parse(const struct imap_cmd *cmd,
					size_t i);
void imap_fetch_att_free(struct imap_fetch *f);
void imap_fetch_att_send(struct imap_sess *s, struct imap_fetch *f,
			 uint32_t seq);

#endif /* IMAP_PARSE_ONLY */

#endif
