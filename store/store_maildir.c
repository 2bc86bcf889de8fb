/*
 * NAME
 *	store_maildir - Maildir delivery with group commit
 * DESCRIPTION
 *	Every message completed in one event-loop turn is written into its
 *	Maildir's tmp/ without a sync; then one syncfs(2) makes all of them
 *	durable at once, they are renamed into new/, and a second syncfs
 *	makes the renames durable. Only then does the store answer 250: a
 *	crash at any point leaves each message either in new/ (complete) or
 *	only in tmp/ (never acknowledged). Two syncs per batch instead of
 *	two per message is what lets the store keep up with mx.
 *	Mailbox names come from the user table; their paths are made by
 *	mbox_user_path() (store_mbox.c), the one place that decides them.
 *	When the folders are in a database (mailbox_store, mbox_is_db), a
 *	batch keeps the messages in memory and its commit is one
 *	transaction of mbox_deliver() instead of the two syncs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_mbox.h"
#include "store_mbox_int.h"

#define MD_PATH 4096

struct staged {
	char tmp[MD_PATH];
	char new[MD_PATH];
	int ok;
	size_t size;
	char *mailbox;		/* for the caller after the commit */
	const char *folder;	/* NULL: INBOX */
	/* database: the bytes, for the commit; the recipients of one
	 * message share one copy of it (body, owned by the first) */
	char *head;		/* Return-Path, Delivered-To */
	size_t headlen;
	char *body;
	const char *src;	/* what body was copied from */
	int own_body;
	time_t date;
};

struct maildir_batch {
	char *root;
	char *host;
	int rootfd;
	struct staged *s;
	size_t n, cap;
	unsigned long counter;
	char **known;		/* Maildirs known to exist */
	size_t nknown;
	struct mbox_store *db;	/* folders in a database, or NULL */
};

struct maildir_batch *maildir_batch_new(const char *mail_root,
					const char *hostname,
					struct mbox_store *mb)
{
	struct maildir_batch *b = calloc(1, sizeof(*b));
	size_t i;

	if (b == NULL)
		log_fatal("out of memory");
	b->db = mbox_is_db(mb) ? mb : NULL;
	b->root = strdup(mail_root);
	b->host = strdup(hostname);
	if (b->root == NULL || b->host == NULL)
		log_fatal("out of memory");
	/* '/' and ':' would break the Maildir file name */
	for (i = 0; b->host[i]; i++)
		if (b->host[i] == '/' || b->host[i] == ':')
			b->host[i] = '_';
	b->rootfd = open(mail_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->rootfd < 0)
		log_fatal("mail_root %s: %s", mail_root, strerror(errno));
	return b;
}

static int ensure_maildir(struct maildir_batch *b, const char *md)
{
	char **k;
	size_t i;

	for (i = 0; i < b->nknown; i++)
		if (strcmp(b->known[i], md) == 0)
			return 0;
	if (mb_make_maildir(md) < 0)
		return -1;
	k = realloc(b->known, (b->nknown + 1) * sizeof(*k));
	if (k == NULL)
		return -1;
	b->known = k;
	b->known[b->nknown] = strdup(md);
	if (b->known[b->nknown] == NULL)
		return -1;
	b->nknown++;
	return 0;
}

/* A free entry at the end of b->s. */
static struct staged *stage_slot(struct maildir_batch *b)
{
	struct staged *s;

	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;

		s = realloc(b->s, nc * sizeof(*s));
		if (s == NULL)
			return NULL;
		b->s = s;
		b->cap = nc;
	}
	s = &b->s[b->n];
	memset(s, 0, sizeof(*s));
	return s;
}

/* maildir_stage for a database: the bytes wait in memory for the
 * commit's transaction. */
static long stage_db(struct maildir_batch *b, const char *mailbox,
		     const char *folder, const char *prefix, size_t plen,
		     const char *msg, size_t len)
{
	struct staged *prev = b->n ? &b->s[b->n - 1] : NULL;
	struct staged *s = stage_slot(b);

	if (s == NULL || plen > SIZE_MAX - len ||
	    (s->head = malloc(plen + 1)) == NULL)
		return -1;
	memcpy(s->head, prefix, plen);
	s->headlen = plen;
	/* the next recipient of the message before (a pending session's
	 * buffer, so no other message can be at that address): shared,
	 * else a list of many would hold as many copies */
	if (prev && prev->src == msg && prev->size - prev->headlen == len) {
		s->body = prev->body;
	} else {
		if ((s->body = malloc(len + 1)) == NULL) {
			free(s->head);
			s->head = NULL;
			return -1;
		}
		memcpy(s->body, msg, len);
		s->own_body = 1;
	}
	s->src = msg;
	s->size = plen + len;
	s->date = time(NULL);
	s->folder = folder;
	if ((s->mailbox = strdup(mailbox)) == NULL)
		log_fatal("out of memory");
	return (long)b->n++;
}

/* maildir_commit for a database: one transaction (mbox_deliver). */
static int commit_db(struct maildir_batch *b)
{
	struct mbox_delivery *d = calloc(b->n, sizeof(*d));
	char (*owner)[320] = calloc(b->n, sizeof(*owner));
	size_t i, k;
	int rc;

	if (d == NULL || owner == NULL) {
		free(d);
		free(owner);
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		snprintf(owner[i], sizeof(owner[i]), "%s", b->s[i].mailbox);
		for (k = 0; owner[i][k]; k++)
			owner[i][k] = (char)tolower((unsigned char)owner[i][k]);
		d[i].owner = owner[i];
		d[i].folder = b->s[i].folder ? b->s[i].folder : "INBOX";
		d[i].head = b->s[i].head;
		d[i].headlen = b->s[i].headlen;
		d[i].data = b->s[i].body;
		d[i].len = b->s[i].size - b->s[i].headlen;
		d[i].date = b->s[i].date;
	}
	rc = mbox_deliver(b->db, d, b->n);
	for (i = 0; i < b->n; i++)
		b->s[i].ok = d[i].ok;
	free(d);
	free(owner);
	return rc;
}

long maildir_stage(struct maildir_batch *b, const char *mailbox,
		   const char *folder, const char *prefix, size_t plen,
		   const char *msg, size_t len)
{
	char md[MD_PATH], name[256];
	struct iovec iov[2];
	struct staged *s;
	struct timeval tv;
	ssize_t w;
	int fd;

	size_t n;

	if (b->db)
		return stage_db(b, mailbox, folder, prefix, plen, msg, len);
	if (mbox_user_path(b->root, mailbox, md, sizeof(md)) < 0)
		return -1;
	/* a Maildir++ folder: "/.Name" (the name was checked at start-up) */
	n = strlen(md);
	if (folder && (size_t)snprintf(md + n, sizeof(md) - n, "/.%s",
				       folder) >= sizeof(md) - n)
		return -1;
	if (ensure_maildir(b, md) < 0) {
		log_error("maildir for %s: %s", mailbox, strerror(errno));
		return -1;
	}
	if ((s = stage_slot(b)) == NULL)
		return -1;
	gettimeofday(&tv, NULL);
	snprintf(name, sizeof(name), "%ld.M%06ldP%ldQ%lu.%s", (long)tv.tv_sec,
		 (long)tv.tv_usec, (long)getpid(), ++b->counter, b->host);
	if ((size_t)snprintf(s->tmp, sizeof(s->tmp), "%s/tmp/%s", md, name) >=
	    sizeof(s->tmp) ||
	    (size_t)snprintf(s->new, sizeof(s->new), "%s/new/%s", md, name) >=
	    sizeof(s->new))
		return -1;
	fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("%s: %s", s->tmp, strerror(errno));
		return -1;
	}
	iov[0].iov_base = (void *)prefix;
	iov[0].iov_len = plen;
	iov[1].iov_base = (void *)msg;
	iov[1].iov_len = len;
	w = writev(fd, iov, 2);
	if (close(fd) < 0 || w != (ssize_t)(plen + len)) {
		log_error("%s: write failed: %s", s->tmp, strerror(errno));
		unlink(s->tmp);
		return -1;
	}
	s->ok = 0;
	s->size = plen + len;
	s->mailbox = strdup(mailbox);
	s->folder = folder;
	if (s->mailbox == NULL)
		log_fatal("out of memory");
	return (long)b->n++;
}

int maildir_commit(struct maildir_batch *b)
{
	size_t i;
	int rc = 0;

	if (b->n == 0)
		return 0;
	if (b->db)
		return commit_db(b);
	if (syncfs(b->rootfd) < 0) {
		log_error("syncfs %s: %s", b->root, strerror(errno));
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		if (rename(b->s[i].tmp, b->s[i].new) < 0) {
			log_error("rename %s: %s", b->s[i].tmp,
				  strerror(errno));
			unlink(b->s[i].tmp);
			rc = -1;
			continue;
		}
		b->s[i].ok = 1;
	}
	if (syncfs(b->rootfd) < 0) {
		log_error("syncfs %s: %s", b->root, strerror(errno));
		for (i = 0; i < b->n; i++)
			b->s[i].ok = 0;
		return -1;
	}
	return rc;
}

int maildir_ok(const struct maildir_batch *b, long handle)
{
	return handle >= 0 && (size_t)handle < b->n && b->s[handle].ok;
}

const char *maildir_mailbox(const struct maildir_batch *b, long handle,
			    long long *size, const char **folder)
{
	if (handle < 0 || (size_t)handle >= b->n || !b->s[handle].ok)
		return NULL;
	*size = (long long)b->s[handle].size;
	*folder = b->s[handle].folder ? b->s[handle].folder : "INBOX";
	return b->s[handle].mailbox;
}

long long maildir_staged_bytes(const struct maildir_batch *b,
				const char *mailbox)
{
	long long total = 0;
	size_t i;

	for (i = 0; b && i < b->n; i++)
		if (strcasecmp(b->s[i].mailbox, mailbox) == 0)
			total += (long long)b->s[i].size;
	return total;
}

void maildir_reset(struct maildir_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->s[i].mailbox);
		free(b->s[i].head);
		if (b->s[i].own_body)
			free(b->s[i].body);
	}
	b->n = 0;
}

void maildir_batch_free(struct maildir_batch *b)
{
	size_t i;

	maildir_reset(b);
	for (i = 0; i < b->nknown; i++)
		free(b->known[i]);
	free(b->known);
	free(b->s);
	close(b->rootfd);
	free(b->root);
	free(b->host);
	free(b);
}
