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
 *	Mailbox names come from the user table, are lowercased and must not
 *	contain '/' or start with '.'.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define MD_PATH 4096

struct staged {
	char tmp[MD_PATH];
	char new[MD_PATH];
	int ok;
	size_t size;
	long usage;		/* index in b->use, or -1 */
};

/* Bytes in a Maildir (new/ and cur/), scanned at most once a minute and
 * kept up to date with our own deliveries in between. */
struct usage {
	char md[MD_PATH];
	long long bytes;
	time_t scanned;
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
	struct usage *use;
	size_t nuse;
};

struct maildir_batch *maildir_batch_new(const char *mail_root,
					const char *hostname)
{
	struct maildir_batch *b = calloc(1, sizeof(*b));
	size_t i;

	if (b == NULL)
		log_fatal("out of memory");
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

/* mail_root/domain/local/Maildir for mailbox, or -1 if unsafe. */
static int maildir_path(struct maildir_batch *b, const char *mailbox,
			char *out, size_t len)
{
	const char *at = strrchr(mailbox, '@');
	char local[256], domain[256];
	size_t i, ll;

	if (at == NULL || (ll = (size_t)(at - mailbox)) == 0 ||
	    ll >= sizeof(local) || strlen(at + 1) >= sizeof(domain))
		return -1;
	memcpy(local, mailbox, ll);
	local[ll] = '\0';
	snprintf(domain, sizeof(domain), "%s", at + 1);
	for (i = 0; local[i]; i++)
		local[i] = (char)tolower((unsigned char)local[i]);
	for (i = 0; domain[i]; i++)
		domain[i] = (char)tolower((unsigned char)domain[i]);
	if (local[0] == '.' || domain[0] == '.' || strchr(local, '/') ||
	    strchr(domain, '/'))
		return -1;
	if ((size_t)snprintf(out, len, "%s/%s/%s/Maildir", b->root, domain,
			     local) >= len)
		return -1;
	return 0;
}

static int mkdirs(const char *path)
{
	char p[MD_PATH];
	size_t i, n = strlen(path);

	if (n >= sizeof(p))
		return -1;
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -1;
		p[i] = path[i];
	}
	return 0;
}

static int ensure_maildir(struct maildir_batch *b, const char *md)
{
	static const char *sub[] = {"tmp", "new", "cur"};
	char p[MD_PATH];
	char **k;
	size_t i;

	for (i = 0; i < b->nknown; i++)
		if (strcmp(b->known[i], md) == 0)
			return 0;
	for (i = 0; i < 3; i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", md, sub[i]) >=
		    sizeof(p) || mkdirs(p) < 0)
			return -1;
	}
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

static long long scan(const char *md)
{
	static const char *sub[] = {"new", "cur"};
	char p[MD_PATH + 300];
	struct dirent *de;
	struct stat st;
	long long total = 0;
	size_t i;
	DIR *d;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/%s", md, sub[i]);
		d = opendir(p);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (fstatat(dirfd(d), de->d_name, &st, 0) == 0)
				total += st.st_size;
		}
		closedir(d);
	}
	return total;
}

static long usage_of(struct maildir_batch *b, const char *md)
{
	time_t now = time(NULL);
	struct usage *u;
	size_t i;

	for (i = 0; i < b->nuse && strcmp(b->use[i].md, md) != 0; i++)
		;
	if (i == b->nuse) {
		u = realloc(b->use, (b->nuse + 1) * sizeof(*u));
		if (u == NULL)
			return -1;
		b->use = u;
		memset(&b->use[i], 0, sizeof(*u));
		snprintf(b->use[i].md, sizeof(b->use[i].md), "%s", md);
		b->nuse++;
	}
	if (now - b->use[i].scanned >= 60) {
		b->use[i].bytes = scan(md);
		b->use[i].scanned = now;
	}
	return (long)i;
}

long long maildir_usage(struct maildir_batch *b, const char *mailbox)
{
	char md[MD_PATH];
	long i;

	if (maildir_path(b, mailbox, md, sizeof(md)) < 0 ||
	    (i = usage_of(b, md)) < 0)
		return 0;
	return b->use[i].bytes;
}

long maildir_stage(struct maildir_batch *b, const char *mailbox,
		   const char *prefix, size_t plen, const char *msg,
		   size_t len)
{
	char md[MD_PATH], name[256];
	struct iovec iov[2];
	struct staged *s;
	struct timeval tv;
	ssize_t w;
	int fd;

	if (maildir_path(b, mailbox, md, sizeof(md)) < 0 ||
	    ensure_maildir(b, md) < 0) {
		log_error("maildir for %s: %s", mailbox, strerror(errno));
		return -1;
	}
	if (b->n == b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 64;

		s = realloc(b->s, nc * sizeof(*s));
		if (s == NULL)
			return -1;
		b->s = s;
		b->cap = nc;
	}
	s = &b->s[b->n];
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
	s->usage = usage_of(b, md);
	return (long)b->n++;
}

int maildir_commit(struct maildir_batch *b)
{
	size_t i;
	int rc = 0;

	if (b->n == 0)
		return 0;
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
		if (b->s[i].usage >= 0)
			b->use[b->s[i].usage].bytes += (long long)b->s[i].size;
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

void maildir_reset(struct maildir_batch *b)
{
	b->n = 0;
}

void maildir_batch_free(struct maildir_batch *b)
{
	size_t i;

	for (i = 0; i < b->nknown; i++)
		free(b->known[i]);
	free(b->known);
	free(b->use);
	free(b->s);
	close(b->rootfd);
	free(b->root);
	free(b->host);
	free(b);
}
