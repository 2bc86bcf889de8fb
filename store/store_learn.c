/*
 * NAME
 *	store_learn - users' moves into and out of Junk, sent to spamd
 * DESCRIPTION
 *	A user who moves a message into spam_folder (MOVE, or COPY then
 *	EXPUNGE), or sets $Junk on it, says it is spam; out of spam_folder
 *	into another folder (those of learn_skip_folders, Trash, excepted)
 *	or $NotJunk says it is ham. The IMAP command reads the message
 *	(as FETCH would, its first learn_max_size bytes) and hands it to
 *	this file's one thread; the loop never waits for spamd.
 *
 *	That thread writes it to learn_spool_dir (durable.h: synced, so a
 *	crash or spamd being down loses nothing); another sends every
 *	spooled file, oldest first, to spamd's learn listener (learn_hop:
 *	LMTP, MAIL FROM the user, RCPT TO spam@ or ham@, smtp_send.h), and
 *	deletes each one spamd answered 250 for (spamd has it on disk
 *	then), so a spamd that hangs delays no spooling. When spamd does not answer, the rest waits for the timer,
 *	every learn_retry; a file older than learn_max_age is dropped with
 *	a log line, and past learn_max_spool messages new ones are. The
 *	spool record is NUL-separated: "spam" or "ham", the user, then the
 *	message; a file that does not parse is dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "durable.h"
#include "evloop.h"
#include "log.h"
#include "smtp_send.h"
#include "store.h"
#include "store_imap_core.h"
#include "store_learn.h"
#include "store_mbox.h"
#include "workq.h"

#define LEARN_TIMEOUT 15	/* seconds for each reply of spamd */
#define LEARN_NAME 64		/* bytes of a spool file's name */

struct learn_job {
	struct store_learn *l;
	int spam;		/* a message: 1 spam, 0 ham */
	unsigned long long seq;	/* of its spool file's name */
	char *user;		/* NULL: a flush of the spool only */
	struct sbuf msg;
	/* results, for the loop's log lines */
	long long sent, old, bad, left;
	int wrote;		/* the message is in the spool */
	char err[1024];
};

struct store_learn {
	const struct store_config *cfg;
	struct evloop *loop;
	struct workq *wq;	/* one thread: writes the spool */
	struct workq *sender;	/* one thread: sends and deletes */
	struct ev_timer *timer;
	char **hops;
	long long spooled;	/* files in the spool, as last counted */
	unsigned long long seq;	/* for unique names (the loop's) */
	int flushing;		/* a flush job is queued */
	int again;		/* spooled since it started: flush again */
	int stopping;
};

/* --- the spool (on the thread) --------------------------------------- */

/* Parse a spool record: op, user, message. 0 or -1. */
static int parse_record(const struct sbuf *b, int *spam, const char **user,
			size_t *off)
{
	const char *p = b->data, *nul1, *nul2;

	if (p == NULL || (nul1 = memchr(p, '\0', b->len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', b->len - (size_t)(nul1 + 1 - p)))
	    == NULL || nul2 == nul1 + 1)
		return -1;
	if (strcmp(p, "spam") == 0)
		*spam = 1;
	else if (strcmp(p, "ham") == 0)
		*spam = 0;
	else
		return -1;
	*user = nul1 + 1;
	*off = (size_t)(nul2 + 1 - p);
	return 0;
}

static int read_all(const char *path, size_t max, struct sbuf *b)
{
	char buf[65536];
	ssize_t n;
	FILE *f = fopen(path, "rb");

	sbuf_reset(b);
	if (f == NULL)
		return -1;
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf), f)) > 0)
		if (sbuf_append(b, buf, (size_t)n) < 0)
			break;
	n = ferror(f) || b->len >= max ? -1 : 0;
	fclose(f);
	return (int)n;
}

/* Send one spooled file to spamd: 1 sent, 0 not now (spamd down or
 * busy), -1 unreadable. */
static int send_file(struct learn_job *j, const char *path, struct sbuf *b)
{
	const struct store_learn *l = j->l;
	struct envelope e;
	struct rcpt r;
	const char *user;
	char rcpt[16], err[512];
	size_t off, i;
	int spam, got = -1;

	if (read_all(path, (size_t)l->cfg->learn_max_size + 4096, b) < 0 ||
	    parse_record(b, &spam, &user, &off) < 0)
		return -1;
	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	snprintf(rcpt, sizeof(rcpt), "%s@learn", spam ? "spam" : "ham");
	r.addr = rcpt;
	e.from = (char *)user;
	e.rcpts = &r;
	e.nrcpt = 1;
	for (i = 0; got < 0 && l->hops[i]; i++) {
		got = smtp_send(l->hops[i], LEARN_TIMEOUT, &e, b->data + off,
				b->len - off, err, sizeof(err));
		if (got != 1)
			snprintf(j->err, sizeof(j->err), "%s: %s", l->hops[i],
				 err);
	}
	return got == 1 ? 1 : 0;
}

/* A temporary file a crash left behind (durable.h's .NAME.tmp) goes
 * when it is as old as a spooled message may be. */
static void stale_tmp(const struct store_config *cfg, const char *name,
		      time_t now)
{
	char path[4096];
	struct stat sb;
	size_t n = strlen(name);

	if (n < 6 || strcmp(name + n - 4, ".tmp") != 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s",
			     cfg->learn_spool_dir, name) >= sizeof(path))
		return;
	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    now - sb.st_mtime > cfg->learn_max_age)
		unlink(path);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Every file of the spool, oldest first (names start with the time),
 * sent or dropped, until spamd does not take one. */
static void flush(struct learn_job *j)
{
	const struct store_config *cfg = j->l->cfg;
	char (*names)[LEARN_NAME] = NULL, (*nn)[LEARN_NAME], path[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct sbuf b;
	time_t now = time(NULL);
	int stop = 0, rc;
	DIR *d = opendir(cfg->learn_spool_dir);

	if (d == NULL) {
		snprintf(j->err, sizeof(j->err), "%s: %s",
			 cfg->learn_spool_dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			stale_tmp(cfg, de->d_name, now);
			continue;
		}
		if (strlen(de->d_name) >= LEARN_NAME)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL)
				break;
			names = nn;
		}
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	sbuf_init(&b, (size_t)cfg->learn_max_size + 8192);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", cfg->learn_spool_dir,
			 names[i]);
		if (now - (time_t)strtoll(names[i], NULL, 10) >
		    cfg->learn_max_age) {
			j->old += unlink(path) == 0;
			continue;
		}
		if (stop) {
			j->left++;
			continue;
		}
		rc = send_file(j, path, &b);
		if (rc > 0)
			j->sent += unlink(path) == 0;
		else if (rc < 0)
			j->bad += unlink(path) == 0;
		else {
			stop = 1;	/* spamd is down: the timer retries */
			j->left++;
		}
	}
	sbuf_free(&b);
	free(names);
}

static void learn_work(void *arg)
{
	struct learn_job *j = arg;
	struct store_learn *l = j->l;
	const char *op = j->spam ? "spam" : "ham";
	char name[LEARN_NAME];
	struct iovec iov[3];

	if (j->user != NULL) {
		snprintf(name, sizeof(name), "%lld.%ld.%llu",
			 (long long)time(NULL), (long)getpid(), j->seq);
		iov[0].iov_base = (void *)op;
		iov[0].iov_len = strlen(op) + 1;
		iov[1].iov_base = j->user;
		iov[1].iov_len = strlen(j->user) + 1;
		iov[2].iov_base = j->msg.data ? j->msg.data : (char *)"";
		iov[2].iov_len = j->msg.len;
		if (durable_write_file(l->cfg->learn_spool_dir, name, iov, 3)
		    == 0)
			j->wrote = 1;
		else
			snprintf(j->err, sizeof(j->err), "%s/%s: %s",
				 l->cfg->learn_spool_dir, name,
				 strerror(errno));
		sbuf_free(&j->msg);
		return;
	}
	flush(j);
}

/* --- on the loop ------------------------------------------------------ */

static void submit(struct store_learn *l, struct learn_job *j);

/* Send the spool on the sender thread (once more after the running
 * send when one runs). */
static void start_flush(struct store_learn *l)
{
	struct learn_job *j;

	if (l->stopping)
		return;
	if (l->flushing) {
		l->again = 1;
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;		/* the timer tries again */
	j->l = l;
	l->flushing = 1;
	l->again = 0;
	submit(l, j);
}

static void tick(void *arg)
{
	struct store_learn *l = arg;

	l->timer = NULL;
	if (l->spooled > 0)
		start_flush(l);
	if (!l->stopping)
		l->timer = evloop_timer(l->loop, (uint64_t)l->cfg->learn_retry *
					1000, tick, l);
}

static void learn_done(void *arg)
{
	struct learn_job *j = arg;
	struct store_learn *l = j->l;
	char safe[300];

	if (j->user != NULL) {
		if (j->wrote) {
			l->spooled++;
			start_flush(l);
		} else {
			log_safe(safe, sizeof(safe), j->user);
			log_error("learn: user=%s, op=%s: dropped: cannot "
				  "spool: %s", safe, j->spam ? "spam" : "ham",
				  j->err);
		}
		free(j->user);
		sbuf_free(&j->msg);
		free(j);
		return;
	}
	l->flushing = 0;
	l->spooled = j->left;
	if (l->again)	/* spooled meanwhile: it may go now */
		start_flush(l);
	if (j->sent)
		log_info("learn: %lld message(s) sent to spamd", j->sent);
	if (j->old)
		log_warn("learn: %lld message(s) dropped: spamd did not take "
			 "them within learn_max_age", j->old);
	if (j->bad)
		log_warn("learn: %lld unreadable spool file(s) dropped",
			 j->bad);
	if (j->left)
		log_warn("learn: %lld message(s) wait for spamd: %s", j->left,
			 j->err);
	free(j->user);
	sbuf_free(&j->msg);
	free(j);
}

static void submit(struct store_learn *l, struct learn_job *j)
{
	if (workq_submit(j->user ? l->wq : l->sender, learn_work, learn_done,
			 j) == 0)
		return;
	if (j->user == NULL)
		l->flushing = 0;
	snprintf(j->err, sizeof(j->err), "out of memory");
	j->left = l->spooled;
	learn_done(j);
}

/* Hand message seq of s's folder to the spooling thread as spam or
 * ham. */
static void learn_one(struct imap_sess *s, uint32_t seq, int spam)
{
	struct store_learn *l = imap_store(s)->learn;
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	struct learn_job *j;
	char safe[300];

	if (l == NULL || m == NULL)
		return;
	log_safe(safe, sizeof(safe), s->user);
	if (l->spooled + (long long)workq_pending(l->wq) >=
	    l->cfg->learn_max_spool) {
		log_warn("%s: learn: user=%s, op=%s: dropped: learn_max_spool "
			 "(%lld) reached", s->id, safe, spam ? "spam" : "ham",
			 l->cfg->learn_max_spool);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->user = strdup(s->user)) == NULL) {
		free(j);
		log_error("%s: learn: out of memory", s->id);
		return;
	}
	j->l = l;
	j->spam = spam;
	/* as FETCH reads it; spamd reads no more than its scan_size */
	sbuf_init(&j->msg, (size_t)m->size * 2 + 65536);
	if (mbox_read(s->mbox, seq, &j->msg) < 0) {
		log_warn("%s: learn: user=%s, uid=%u: cannot read the message",
			 s->id, safe, m->uid);
		free(j->user);
		sbuf_free(&j->msg);
		free(j);
		return;
	}
	if (j->msg.len > (size_t)l->cfg->learn_max_size)
		j->msg.len = (size_t)l->cfg->learn_max_size;
	log_info("%s: learn: user=%s, uid=%u, op=%s", s->id, safe, m->uid,
		 spam ? "spam" : "ham");
	j->seq = ++l->seq;
	submit(l, j);
}

/* Is name one of the comma separated folders of list? */
static int in_list(const char *list, const char *name)
{
	char **v = config_list(list);
	size_t i;
	int found = 0;

	for (i = 0; v && v[i] && !found; i++)
		found = strcmp(v[i], name) == 0;
	config_list_free(v);
	return found;
}

void store_learn_copy(struct imap_sess *s, const uint32_t *seqs, size_t n,
		      const char *dest)
{
	const struct store_config *cfg = imap_store(s)->cfg;
	const char *junk = cfg->spam_folder;
	int from_junk, to_junk, spam;
	size_t i;

	if (imap_store(s)->learn == NULL || *junk == '\0' ||
	    s->mbox_name == NULL)
		return;
	from_junk = strcmp(s->mbox_name, junk) == 0;
	to_junk = strcmp(dest, junk) == 0;
	if (from_junk == to_junk ||
	    (from_junk && in_list(cfg->learn_skip_folders, dest)))
		return;
	spam = to_junk;
	for (i = 0; i < n; i++)
		learn_one(s, seqs[i], spam);
}

/* What a keyword says: 1 spam, 0 ham, -1 nothing. */
static int keyword_verdict(const char *kw)
{
	if (kw == NULL)
		return -1;
	if (strcasecmp(kw, "$Junk") == 0 || strcasecmp(kw, "Junk") == 0)
		return 1;
	if (strcasecmp(kw, "$NotJunk") == 0 ||
	    strcasecmp(kw, "NotJunk") == 0 || strcasecmp(kw, "NonJunk") == 0)
		return 0;
	return -1;
}

void store_learn_flags(struct imap_sess *s, uint32_t seq, uint32_t before)
{
	const struct mbox_msg *m = mbox_get(s->mbox, seq);
	uint32_t added;
	unsigned i;
	int v, verdict = -1;

	if (imap_store(s)->learn == NULL || m == NULL)
		return;
	added = m->keywords & ~before;
	for (i = 0; i < MBOX_MAX_KEYWORDS && added; i++)
		if ((added & (1u << i)) &&
		    (v = keyword_verdict(mbox_keyword(s->mbox, i))) >= 0)
			verdict = verdict == 1 ? 1 : v;	/* both: spam */
	if (verdict >= 0)
		learn_one(s, seq, verdict);
}

/* Count the spool's files (what a previous run left). */
static long long count_spool(const char *dir)
{
	struct dirent *de;
	long long n = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

void store_learn_dir(const struct store *st)
{
	if (*st->cfg->learn_hop)
		daemon_state_dir(st->cfg->learn_spool_dir, st->cfg->user);
}

struct store_learn *store_learn_start(struct store *st, struct evloop *loop)
{
	struct store_learn *l;
	char err[256];

	if (*st->cfg->learn_hop == '\0')
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL || (l->hops = config_list(st->cfg->learn_hop)) == NULL)
		log_fatal("out of memory");
	if (l->hops[0] == NULL)
		log_fatal("learn_hop: no hop");
	l->cfg = st->cfg;
	l->loop = loop;
	l->wq = workq_new(loop, 1, err, sizeof(err));
	if (l->wq == NULL ||
	    (l->sender = workq_new(loop, 1, err, sizeof(err))) == NULL)
		log_fatal("learn: %s", err);
	l->spooled = count_spool(st->cfg->learn_spool_dir);
	log_info("learn: moves into and out of %s go to %s (%lld spooled)",
		 *st->cfg->spam_folder ? st->cfg->spam_folder : "(no folder)",
		 st->cfg->learn_hop, l->spooled);
	tick(l);	/* what a previous run left goes now */
	return l;
}

void store_learn_stop(struct store_learn **lp)
{
	struct store_learn *l = *lp;

	if (l == NULL)
		return;
	l->stopping = 1;
	if (l->timer)
		evloop_timer_cancel(l->loop, l->timer);
	workq_free(&l->wq);
	workq_free(&l->sender);
	config_list_free(l->hops);
	free(l);
	*lp = NULL;
}
