/*
 * NAME
 *	spamd - stage D: antispam (Bayes, rules, DNSBL)
 * DESCRIPTION
 *	Private header of sluice-spamd and sluice-spamtrain: the message
 *	text extraction and tokenizer (pure, fuzzed), the Bayes table, the
 *	rules, the DNSBL lookups, and the scoring core that the LMTP stage
 *	and the milter share. Everything here that reads a message trusts
 *	nothing in it and works within the limits below.
 */
#ifndef SLUICE_SPAMD_H
#define SLUICE_SPAMD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "directory.h"
#include "limits_rfc.h"
#include "sbuf.h"
#include "senders.h"

/* Limits of the text extraction and the tokenizer. */
#define SPAMD_MAX_DEPTH 8	   /* nested multiparts / message/rfc822 */
#define SPAMD_MAX_PARTS 64	   /* MIME parts looked at per message */
#define SPAMD_MAX_FIELD 2048	   /* bytes kept of one header field */
#define SPAMD_MAX_FIELDS 200	   /* header fields kept per entity */
#define SPAMD_TOKEN_MIN 3	   /* shorter words are not tokens */
#define SPAMD_TOKEN_MAX 40	   /* longer ones become "skip:" tokens */
#define SPAMD_MAX_TOKENS 4000	   /* distinct tokens per message */
#define SPAMD_SCAN_DEFAULT 262144  /* bytes of a message scanned */

/* --- spamd_mime.c: what of a message is worth reading ------------------ */

/* The decoded text of a message: hdr holds "name:value\n" lines (names
 * lower case, values unfolded and RFC 2047-decoded; the top-level
 * fields, then "part-content-type:" lines of the parts), body the text
 * of its text/plain and text/html parts (transfer encoding undone, HTML
 * tags stripped; URLs of links kept as " http://host/ "). NUL bytes
 * become spaces, so both are C strings. */
struct spamd_text {
	struct sbuf hdr;
	struct sbuf body;
	int html;	/* a text/html part was seen */
	int parts;	/* MIME leaf parts seen */
};

/* Extract the text of msg (its first scan bytes at most) into t, which
 * this initialises; free with spamd_text_free(). 0, or -1 when out of
 * memory (t is then empty but valid). */
int spamd_text_extract(const char *msg, size_t len, size_t scan,
		       struct spamd_text *t);
void spamd_text_free(struct spamd_text *t);

/* Decode RFC 2047 encoded words of a header value (charset ignored) and
 * unfold it, appending to out (bounded by its max). */
void spamd_decode_header(const char *v, size_t n, struct sbuf *out);

/* --- spamd_html.c: HTML to text -------------------------------------- */

/* Append the text of HTML p (n bytes) to b, within b's max. */
void spamd_html_strip(const char *p, size_t n, struct sbuf *b);

/* Reserve room for up to n more bytes in b; returns how many may be
 * written (fewer near b's max) with spamd_put(), which takes one from
 * *lim per byte (NUL becomes a space) and keeps b NUL-terminated. */
size_t spamd_room(struct sbuf *b, size_t n);
void spamd_put(struct sbuf *b, size_t *lim, char c);

/* --- spamd_token.c: tokens of the extracted text ----------------------- */

typedef void (*spamd_token_fn)(void *arg, const char *tok, size_t n);

/* Call fn once per token of t (repeats included, at most max_tokens
 * calls): words of the selected header fields prefixed with the field
 * name ("subject:free"), "header:NAME" for other fields, body words,
 * "url:HOST" for links, "skip:C N" for over-long words. Pure. */
void spamd_tokenize(const struct spamd_text *t, size_t max_tokens,
		    spamd_token_fn fn, void *arg);

/* 64-bit hash of a token (the Bayes key). */
uint64_t spamd_token_hash(const char *tok, size_t n);

/* The distinct tokens of a message: their hashes and their text. */
#define SPAMD_TOKSET_TEXT (SPAMD_MAX_TOKENS * 24)	/* bytes of text */
struct spamd_tokset {
	uint64_t *h;	/* open addressing, 0 = empty slot */
	uint32_t *off;	/* of slot i's text in text */
	char *text;	/* NUL-terminated tokens */
	size_t cap, n, textlen;
};

/* Tokenize t into set (initialised here; free with spamd_tokset_free).
 * 0 or -1 (out of memory). */
int spamd_tokset_build(const struct spamd_text *t, struct spamd_tokset *set);
void spamd_tokset_free(struct spamd_tokset *set);
/* The text of the token in slot (a C string; "" for an empty slot). */
const char *spamd_tokset_text(const struct spamd_tokset *set, size_t slot);
/* Add one token (a feature of the message that is not a word). */
void spamd_tokset_add(struct spamd_tokset *set, const char *tok, size_t n);


/* --- spamd_shape.c: the structure of the header section ------------- */

/* Call fn once per structure token of hdr (spamd_text.hdr, len bytes):
 * the order of the fields, the hop nearest the sender, the shapes of
 * the Message-ID, the Date and the MIME boundary. Pure. */
void spamd_shapes(const char *hdr, size_t len, spamd_token_fn fn, void *arg);

/* The next "name:value" line of spamd_text.hdr from *p (before end):
 * its name and value (not terminated) into the out parameters, *p
 * moved past it; lines without a colon are skipped. 1, or 0 at the
 * end. */
int spamd_hdr_line(const char **p, const char *end, const char **name_r,
		   size_t *nlen_r, const char **val_r, size_t *vlen_r);

/* --- spamd_bayes.c: token counts and the chi-square combining ---------- */

struct bayes_table;

/* Load the counts of the SQLite file path into a new table (refcount 1).
 * A missing file gives an empty table. NULL with a reason in err. */
struct bayes_table *bayes_load(const char *path, char *err, size_t errlen);

/* Take / drop a reference; the last drop frees the table. Thread-safe. */
struct bayes_table *bayes_ref(struct bayes_table *t);
void bayes_unref(struct bayes_table *t);

/* Messages the table was trained on. */
void bayes_counts(const struct bayes_table *t, long long *nspam,
		  long long *nham);

/* What the classifier says of a message: its spam probability (-1 when
 * either class has fewer than min_count trained messages) and the slots
 * in the token set of the tokens that weighed most toward it. */
#define BAYES_CLUES 3
struct bayes_result {
	double prob;
	size_t nclues;
	size_t slot[BAYES_CLUES];
};

/* Classify a token set: 0, or -1 when out of memory. Pure (reads the
 * immutable table); safe from any thread. */
int bayes_classify(const struct bayes_table *t,
		   const struct spamd_tokset *set, long long min_count,
		   struct bayes_result *r);
/* Its probability only (-1 also when out of memory). */
double bayes_prob(const struct bayes_table *t, const struct spamd_tokset *set,
		  long long min_count);

/* The table in use, replaced when its file changes. */
struct bayes_sig {
	long long dev, ino, size, mtime_ns;
};

struct bayes_slot {
	pthread_mutex_t mu;
	struct bayes_table *cur;
	const char *path;
	long long interval;	/* seconds between looks at the file */
	struct bayes_sig sig;	/* of the file cur came from */
	time_t checked;
	int loading;
};

/* Load path into s (interval: seconds between looks at the file).
 * 0, or -1 with a reason in err. */
int bayes_slot_init(struct bayes_slot *s, const char *path,
		    long long interval, char *err, size_t errlen);

/* A reference to the current table (bayes_unref() it). Thread-safe. */
struct bayes_table *bayes_slot_get(struct bayes_slot *s);

/* When interval seconds passed since the last look and the file
 * changed, load it and make it current (one thread at a time; the others
 * go on with the old table). Blocks on SQLite: call it from a worker
 * thread. 1 (reloaded), 0, or -1 with a reason in err (old table kept). */
int bayes_slot_refresh(struct bayes_slot *s, char *err, size_t errlen);

/* Load the file now and make it current, whatever its signature and
 * the interval (after spamd's learner wrote to it). Blocks: call it
 * from a worker thread. 1, 0 when another load is running (try again
 * later), or -1 with a reason in err (old table kept). */
int bayes_slot_publish(struct bayes_slot *s, char *err, size_t errlen);

void bayes_slot_free(struct bayes_slot *s);

/* Add the tokens of one message to path's counts as spam or ham (the
 * file and its tables are created when missing). For sluice-spamtrain
 * and spamd's learn listener; batched with bayes_train_begin/end (which
 * frees w; st, unless NULL, says what the batch did). 0 or -1 with a
 * reason in err. */
struct bayes_writer;
struct bayes_writer *bayes_train_begin(const char *path, char *err,
				       size_t errlen);
int bayes_train(struct bayes_writer *w, const struct spamd_tokset *set,
		int spam, char *err, size_t errlen);
/* Learn (op BAYES_SPAM or BAYES_HAM) or forget (BAYES_FORGET) the
 * message of ID id (bayes_msg_id()): remembered in the file, so that
 * learning it again as the same class changes nothing, as the other
 * class takes its old counts back first, and forgetting takes them
 * back (nothing when it was never learnt). 0 or -1 with a reason. */
enum { BAYES_HAM = 0, BAYES_SPAM = 1, BAYES_FORGET = 2 };
int bayes_learn(struct bayes_writer *w, const struct spamd_tokset *set,
		const char *id, int op, char *err, size_t errlen);
/* What a batch did: messages learnt, forgotten, and left alone
 * (learnt already as that class, or forgetting what was never learnt). */
struct bayes_stats {
	long long learnt, forgot, same;
};
/* The ID of a message for bayes_learn(): its Message-ID, else its body
 * (a hash of either, so any bytes are safe), into out (>= 40 bytes). */
void bayes_msg_id(const char *msg, size_t len, char *out, size_t outlen);
int bayes_train_end(struct bayes_writer *w, struct bayes_stats *st,
		    char *err, size_t errlen);
/* Forget the batch (nothing is written). */
void bayes_train_abort(struct bayes_writer *w);

/* --- spamd_rules.c: header and body rules ------------------------------ */

struct spamd_rules;

/* The built-in rules, then path's (NULL or "": none; a rule of the same
 * name replaces a built-in one). NULL with "file:line: reason" in err. */
struct spamd_rules *spamd_rules_load(const char *path, char *err,
				     size_t errlen);
void spamd_rules_free(struct spamd_rules *r);
/* Number of rules. */
size_t spamd_rules_count(const struct spamd_rules *r);

struct spamd_verdict;

/* Run every rule on t (body rules on its first body_size bytes) and add
 * their hits to v. Pure; safe from any thread. */
void spamd_rules_run(const struct spamd_rules *r, const struct spamd_text *t,
		     size_t body_size, struct spamd_verdict *v);

/* --- spamd_lists.c: users' allow and block lists of senders ---------- */

enum { SPAMD_LIST_NONE = SENDERS_NONE, SPAMD_LIST_ALLOW = SENDERS_ALLOW,
       SPAMD_LIST_BLOCK = SENDERS_BLOCK };

/* The senders the lists look at: the envelope sender from (unless
 * null) and the mailboxes of the From field of the header section
 * msg[0..hlen), at most max, into out. Their number. Pure. */
size_t spamd_senders(const char *from, const char *msg, size_t hlen,
		     char out[][LIM_PATH + 1], size_t max);

/* What rcpt's lists in t (NULL: none) say of a message from senders:
 * SPAMD_LIST_ALLOW, SPAMD_LIST_BLOCK or SPAMD_LIST_NONE. Pure. */
int spamd_list_verdict(const struct senders *t, const char *rcpt,
		       char senders[][LIM_PATH + 1], size_t nsenders);

/* The sender lists snapshot (sender_lists), shared by the scoring
 * threads and reloaded when it changes. */
struct spamd_lists {
	pthread_mutex_t mu;
	struct senders *cur;	/* NULL: lists off */
	const char *path;
	time_t checked;		/* when path was last looked at */
	int loading;		/* a thread is reading path */
};

/* Load path ("" or NULL: lists off; a missing file: nobody has lists).
 * 0, or -1 with a reason in err (a broken file). */
int spamd_lists_init(struct spamd_lists *l, const char *path, char *err,
		     size_t errlen);
/* Whether lists are on (a path is configured). */
int spamd_lists_on(const struct spamd_lists *l);
/* A reference to the current table (senders_unref() it; NULL when
 * off); once a second at most, the file is looked at first and loaded
 * again when it changed. Thread-safe; may read the file: call it from
 * a worker thread. */
struct senders *spamd_lists_get(struct spamd_lists *l);
void spamd_lists_free(struct spamd_lists *l);

/* --- spamd_literal.c: what a body rule cannot match without --------- */

#define SPAMD_LIT_N 16		/* strings of a rule's set */
#define SPAMD_LIT_LEN 32	/* bytes of one */

/* Strings (lower case) of which every match of the ERE re contains one,
 * in any case, into lits; their number, or 0 when the expression has
 * no such set of strings of 3 bytes or more (it must always be run). */
size_t spamd_literals(const char *re, char lits[][SPAMD_LIT_LEN + 1]);

/* --- spamd_score.c: the scoring core ----------------------------------- */

#define SPAMD_MAX_HITS 64

struct spamd_hit {
	char name[48];
	double score;
};

#define SPAMD_CLUE_MAX 40	/* bytes of a token named in X-Spam-Status */

struct spamd_verdict {
	double score;
	double bayes;		/* probability, -1 when not used */
	size_t nhits;
	struct spamd_hit hits[SPAMD_MAX_HITS];
	/* the tokens that weighed most toward the Bayes verdict, comma
	 * separated, header-safe ("" when none) */
	char clues[BAYES_CLUES * (SPAMD_CLUE_MAX + 1) + 1];
};

/* What scoring needs; shared read-only by every thread. */
struct spamd_core {
	const struct spamd_rules *rules;
	double required;	/* required_score */
	size_t scan_size;	/* bytes of a message scanned */
	size_t body_size;	/* bytes of text the body rules see */
	long long bayes_min;	/* bayes_min_count */
};

/* Record a test that hit (ignored past SPAMD_MAX_HITS). */
void spamd_verdict_add(struct spamd_verdict *v, const char *name,
		       double score);

/* Score msg: rules, and Bayes when table is not NULL; hits already in v
 * (the DNSBL's) count too. v must be initialised with
 * spamd_verdict_init(). 0, or -1 when out of memory. */
void spamd_verdict_init(struct spamd_verdict *v);
int spamd_score(const struct spamd_core *c, struct bayes_table *table,
		const char *msg, size_t len, struct spamd_verdict *v);

/* The features of t: its tokens and "rule:NAME" for every rule that
 * hits (hits also go to v unless NULL). 0 or -1 (out of memory). */
int spamd_features(const struct spamd_core *c, const struct spamd_text *t,
		   struct spamd_tokset *set, struct spamd_verdict *v);

/* "A,B,C" (bounded: tests past the room are left out) into out. */
void spamd_tests(const struct spamd_verdict *v, char *out, size_t outlen);

/* The values of X-Spam-Score and X-Spam-Status for v. */
void spamd_score_value(const struct spamd_verdict *v, char *out,
		       size_t outlen);
void spamd_status_value(const struct spamd_core *c,
			const struct spamd_verdict *v, char *out,
			size_t outlen);

/* Append X-Spam-Score, X-Spam-Status and, when v reaches required,
 * X-Spam-Flag: YES (CRLF lines) to out. 0 or -1. */
int spamd_headers(const struct spamd_core *c, const struct spamd_verdict *v,
		  struct sbuf *out);

/* Parse a score ("5.0", "-1.5") for config key key; exits through
 * log_fatal() when it is not a number in -1000..1000. */
double spamd_parse_score(const char *key, const char *value);

#endif
