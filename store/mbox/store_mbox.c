/*
 * NAME
 *	store_mbox - folder names, paths and management (Maildir++)
 * DESCRIPTION
 *	Maps IMAP names to directories (INBOX is the Maildir, "A.B" is
 *	".A.B"), checks every name that comes from the network before it
 *	touches the file system, and does LIST, CREATE, DELETE, RENAME,
 *	SUBSCRIBE and the per-user quota usage. The per-folder state is in
 *	store_mbox_uid.c, the sessions' views in store_mbox_view.c.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define USAGE_RESCAN 60		/* seconds a cached usage is trusted */

struct mbox_store *mbox_store_new(struct evloop *loop, const char *mail_root)
{
	struct mbox_store *st = calloc(1, sizeof(*st));
	size_t i;

	if (st == NULL || (st->root = strdup(mail_root)) == NULL) {
		free(st);
		return NULL;
	}
	st->loop = loop;
	if (gethostname(st->host, sizeof(st->host) - 1) < 0 || !st->host[0])
		snprintf(st->host, sizeof(st->host), "localhost");
	for (i = 0; st->host[i]; i++)
		if (st->host[i] == '/' || st->host[i] == ':' ||
		    st->host[i] <= 0x20 || st->host[i] >= 0x7f)
			st->host[i] = '_';
	return st;
}

int mbox_store_backend(struct mbox_store *st, const char *spec, char *err,
		       size_t errlen)
{
	if (spec[0] == '\0' || strcmp(spec, "maildir") == 0)
		return 0;
	if (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0)
		return mbpg_open(st, spec, err, errlen);
	snprintf(err, errlen, "not maildir nor a postgresql:// URI: %s", spec);
	return -1;
}

void mbox_defer_sync(struct mbox_store *st, int on)
{
	st->defer_sync = on;
}

unsigned long long mbox_unsynced(const struct mbox_store *st)
{
	return st->unsynced;
}

int mb_defer(struct mbox_store *st)
{
	/* the database commits each change before it returns */
	if (!st->defer_sync || st->pg)
		return 0;
	st->unsynced++;
	return 1;
}

int mb_sync_dir(struct mbox_store *st, const char *dir)
{
	return mb_defer(st) ? 0 : durable_sync_dir(dir);
}

/* Replace path through tmp (a UID list, the subscriptions): durably,
 * or when deferred (mb_defer) written and renamed, the group commit's
 * sync to come. A crash before that sync may leave the new name with no
 * data where the file system does not order them (ext4 does,
 * auto_da_alloc): a UID list is then rebuilt with a new UIDVALIDITY, no
 * message lost. 0 or -1. */
int mb_replace_file(struct mbox_store *st, const char *path, const char *tmp,
		    const char *p, size_t n)
{
	struct durable_file df;

	if (!mb_defer(st))
		return durable_replace_file(path, tmp, 0600, p, n);
	if (durable_open(&df, path, tmp, 0600, DURABLE_REPLACE_TMP) < 0)
		return -1;
	if (durable_write_all(df.fd, p, n) < 0) {
		durable_abort(&df);
		return -1;
	}
	if (close(df.fd) < 0 || rename(df.tmp, df.path) < 0) {
		df.fd = -1;
		durable_abort(&df);
		return -1;
	}
	return 0;
}

void mbox_store_free(struct mbox_store **stp)
{
	struct mbox_store *st = *stp;
	size_t i;

	if (st == NULL)
		return;
	mb_folder_cache_clear(st);
	mbpg_close(st);
	/* views still open belong to sessions that outlive us: a bug */
	if (st->folders != NULL)
		log_warn("mbox: %s still has open folders at exit",
			 st->folders->user);
	for (i = 0; i < st->nuse; i++)
		free(st->use[i].user);
	free(st->use);
	free(st->root);
	free(st);
	*stp = NULL;
}

int mb_is_inbox(const char *name)
{
	return strcasecmp(name, "INBOX") == 0;
}

int mb_valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > MBOX_NAME_MAX || name[0] == '.' ||
	    name[n - 1] == '.' || strstr(name, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		/* IMAP names are 7-bit (modified UTF-7, RFC 3501 5.1.3) */
		if (c < 0x20 || c >= 0x7f || c == '/' || c == '\\' ||
		    c == '*' || c == '%')
			return 0;
	}
	/* INBOX has no children here: "INBOX.x" would be ".INBOX.x" */
	if (strncasecmp(name, "INBOX.", 6) == 0)
		return 0;
	return 1;
}

int mbox_user_path(const char *root, const char *user, char *out,
		   size_t len)
{
	const char *at = strrchr(user, '@');
	char local[256], domain[256];
	size_t i, ll;

	if (at == NULL || (ll = (size_t)(at - user)) == 0 ||
	    ll >= sizeof(local) || strlen(at + 1) >= sizeof(domain) ||
	    at[1] == '\0')
		return -1;
	memcpy(local, user, ll);
	local[ll] = '\0';
	snprintf(domain, sizeof(domain), "%s", at + 1);
	for (i = 0; local[i]; i++) {
		if ((unsigned char)local[i] < 0x20 || local[i] == 0x7f)
			return -1;
		local[i] = (char)tolower((unsigned char)local[i]);
	}
	for (i = 0; domain[i]; i++) {
		if ((unsigned char)domain[i] < 0x20 || domain[i] == 0x7f)
			return -1;
		domain[i] = (char)tolower((unsigned char)domain[i]);
	}
	if (local[0] == '.' || domain[0] == '.' || strchr(local, '/') ||
	    strchr(domain, '/'))
		return -1;
	if ((size_t)snprintf(out, len, "%s/%s/%s/Maildir", root, domain,
			     local) >= len)
		return -1;
	return 0;
}

int mb_folder_path(struct mbox_store *st, const char *user, const char *name,
		   char *out, size_t len)
{
	size_t n;

	if (mbox_user_path(st->root, user, out, len) < 0)
		return -1;
	if (mb_is_inbox(name))
		return 0;
	if (!mb_valid_name(name))
		return -1;
	n = strlen(out);
	return (size_t)snprintf(out + n, len - n, "/.%s", name) >= len - n ?
	       -1 : 0;
}

static int mkdirs(const char *path)
{
	char p[MB_PATH];
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

int mb_make_maildir(const char *path)
{
	static const char *sub[] = {"tmp", "new", "cur"};
	char p[MB_PATH + 8];
	size_t i;

	for (i = 0; i < 3; i++)
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", path, sub[i]) >=
		    sizeof(p) || mkdirs(p) < 0)
			return -1;
	return 0;
}

void mb_unique(struct mbox_store *st, char *out, size_t len)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	/* "R" where the LMTP delivery writes "Q": never the same name */
	snprintf(out, len, "%ld.M%06ldP%ldR%lu.%s", (long)tv.tv_sec,
		 (long)tv.tv_usec, (long)getpid(), ++st->counter, st->host);
}

/* ---- usage ---- */

static long long dir_bytes(const char *path)
{
	struct dirent *de;
	struct stat sb;
	long long total = 0;
	DIR *d = opendir(path);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISREG(sb.st_mode))
			total += sb.st_size;
	closedir(d);
	return total;
}

static long long scan_usage(const char *md)
{
	char p[MB_PATH + 300];
	struct dirent *de;
	long long total;
	DIR *d;

	snprintf(p, sizeof(p), "%s/cur", md);
	total = dir_bytes(p);
	snprintf(p, sizeof(p), "%s/new", md);
	total += dir_bytes(p);
	if ((d = opendir(md)) == NULL)
		return total;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || !mb_valid_name(de->d_name + 1))
			continue;
		snprintf(p, sizeof(p), "%s/%s/cur", md, de->d_name);
		total += dir_bytes(p);
		snprintf(p, sizeof(p), "%s/%s/new", md, de->d_name);
		total += dir_bytes(p);
	}
	closedir(d);
	return total;
}

static struct mb_usage *usage_entry(struct mbox_store *st, const char *user)
{
	struct mb_usage *u;
	size_t i;

	for (i = 0; i < st->nuse; i++)
		if (strcasecmp(st->use[i].user, user) == 0)
			return &st->use[i];
	u = realloc(st->use, (st->nuse + 1) * sizeof(*u));
	if (u == NULL)
		return NULL;
	st->use = u;
	u = &st->use[st->nuse];
	memset(u, 0, sizeof(*u));
	if ((u->user = strdup(user)) == NULL)
		return NULL;
	st->nuse++;
	return u;
}

long long mbox_usage(struct mbox_store *st, const char *user)
{
	struct mb_usage *u = usage_entry(st, user);
	char md[MB_PATH];
	time_t now = time(NULL);

	/* every box's deliveries count at once */
	if (st->pg)
		return mbpg_usage(st, user);
	if (u == NULL || mbox_user_path(st->root, user, md, sizeof(md)) < 0)
		return 0;
	if (u->scanned == 0 || now - u->scanned >= USAGE_RESCAN ||
	    now < u->scanned) {
		u->bytes = scan_usage(md);
		u->scanned = now;
	}
	return u->bytes;
}

void mb_usage_add(struct mbox_store *st, const char *user, long long delta)
{
	size_t i;

	for (i = 0; i < st->nuse; i++)
		if (strcasecmp(st->use[i].user, user) == 0) {
			st->use[i].bytes += delta;
			if (st->use[i].bytes < 0)
				st->use[i].bytes = 0;
		}
}

void mb_usage_forget(struct mbox_store *st, const char *user)
{
	size_t i;

	for (i = 0; i < st->nuse; i++)
		if (strcasecmp(st->use[i].user, user) == 0)
			st->use[i].scanned = 0;
}

void mbox_usage_add(struct mbox_store *st, const char *user, long long delta)
{
	mb_usage_add(st, user, delta);
}
