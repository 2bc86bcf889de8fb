/*
 * NAME
 *	store_mbox_folders - LIST, CREATE, DELETE, RENAME, SUBSCRIBE
 * DESCRIPTION
 *	Folder management on a Maildir++ tree (RFC 3501 6.3.3-6.3.9). A
 *	folder ".A.B" is selectable when it has cur/; a directory without
 *	cur/ is a \Noselect folder left by deleting a folder that has
 *	children (RFC 3501 6.3.4); a parent that has no directory at all is
 *	listed as \Noselect too. Subscriptions live in the Maildir's
 *	"subscriptions" file, one name per line, rewritten atomically.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sbuf.h"
#include "store_mbox_int.h"

#define SUBS_MAX (1u << 20)
#define MAX_FOLDERS 10000

static const struct {
	const char *name;
	unsigned attr;
} special[] = {
	{"Sent", MBOX_ATTR_SENT}, {"Drafts", MBOX_ATTR_DRAFTS},
	{"Trash", MBOX_ATTR_TRASH}, {"Junk", MBOX_ATTR_JUNK},
};
#define NSPECIAL (sizeof(special) / sizeof(special[0]))

struct names {
	char **v;
	unsigned *attr;
	size_t n, cap;
};

static void names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	free(ns->attr);
	memset(ns, 0, sizeof(*ns));
}

static long names_find(const struct names *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return (long)i;
	return -1;
}

static int names_add(struct names *ns, const char *name, unsigned attr)
{
	if (names_find(ns, name) >= 0 || ns->n >= MAX_FOLDERS)
		return 0;
	if (ns->n == ns->cap) {
		size_t nc = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, nc * sizeof(*v));
		unsigned *a;

		if (v == NULL)
			log_fatal("out of memory");
		ns->v = v;
		a = realloc(ns->attr, nc * sizeof(*a));
		if (a == NULL)
			log_fatal("out of memory");
		ns->attr = a;
		ns->cap = nc;
	}
	if ((ns->v[ns->n] = strdup(name)) == NULL)
		log_fatal("out of memory");
	ns->attr[ns->n++] = attr;
	return 0;
}

static int is_dir(const char *dir, const char *sub)
{
	char p[MB_PATH + 300];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static void add_name(void *arg, const char *name)
{
	names_add(arg, name, 0);
}

/* The folders on disk (without INBOX): \Noselect when cur/ is missing.
 * In the database: its rows (a parent without a row is \Noselect by
 * mbox_list). */
static int read_folders(struct mbox_store *st, const char *user,
			const char *md, struct names *ns)
{
	char sub[MB_PATH + 8];
	struct dirent *de;
	DIR *d;

	if (st->pg)
		return mbpg_names(st, user, 0, add_name, ns);
	if ((d = opendir(md)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || !mb_valid_name(de->d_name + 1) ||
		    !is_dir(md, de->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/cur", de->d_name);
		names_add(ns, de->d_name + 1,
			  is_dir(md, sub) ? 0 : MBOX_ATTR_NOSELECT);
	}
	closedir(d);
	return 0;
}

static void read_subs(struct mbox_store *st, const char *user,
		      const char *md, struct names *subs)
{
	char path[MB_PATH + 32], *buf, *line, *nl;
	ssize_t r;
	int fd;

	if (st->pg) {
		mbpg_names(st, user, 1, add_name, subs);
		return;
	}
	snprintf(path, sizeof(path), "%s/" MB_SUBS_NAME, md);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	buf = malloc(SUBS_MAX + 1);
	if (buf == NULL)
		log_fatal("out of memory");
	r = read(fd, buf, SUBS_MAX);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;	/* a truncated last line is ignored */
		*nl = '\0';
		if (mb_is_inbox(line))
			names_add(subs, "INBOX", 0);
		else if (mb_valid_name(line))
			names_add(subs, line, 0);
	}
	free(buf);
}

static int write_subs(struct mbox_store *st, const char *md,
		      const struct names *subs)
{
	char path[MB_PATH + 32], tmp[MB_PATH + 32];
	struct sbuf b;
	size_t i;
	int rc = -1;

	sbuf_init(&b, SUBS_MAX);
	for (i = 0; i < subs->n; i++)
		if (sbuf_printf(&b, "%s\n", subs->v[i]) < 0)
			break;
	snprintf(path, sizeof(path), "%s/" MB_SUBS_NAME, md);
	snprintf(tmp, sizeof(tmp), "%s/" MB_SUBS_NAME ".tmp", md);
	if (i == subs->n)
		rc = mb_replace_file(st, path, tmp, b.data ? b.data : "",
				     b.len);
	sbuf_free(&b);
	return rc;
}

struct name_attr {
	char *name;
	unsigned attr;
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct name_attr *)a)->name,
		      ((const struct name_attr *)b)->name);
}

/* Sort names, keeping each one's attributes. */
static void sort_names(struct names *ns)
{
	struct name_attr *x = malloc((ns->n ? ns->n : 1) * sizeof(*x));
	size_t i;

	if (x == NULL)
		log_fatal("out of memory");
	for (i = 0; i < ns->n; i++) {
		x[i].name = ns->v[i];
		x[i].attr = ns->attr[i];
	}
	qsort(x, ns->n, sizeof(*x), cmp_name);
	for (i = 0; i < ns->n; i++) {
		ns->v[i] = x[i].name;
		ns->attr[i] = x[i].attr;
	}
	free(x);
}

int mbox_list(struct mbox_store *st, const char *user,
	      int (*cb)(void *arg, const char *name, unsigned attrs),
	      void *arg)
{
	struct names ns = {0}, subs = {0};
	char md[MB_PATH], *p;
	size_t i, k, n, len;
	unsigned a;

	if (mbox_user_path(st->root, user, md, sizeof(md)) < 0)
		return -1;
	read_folders(st, user, md, &ns);
	read_subs(st, user, md, &subs);
	/* parents without a directory are \Noselect */
	n = ns.n;
	for (i = 0; i < n; i++) {
		char buf[MBOX_NAME_MAX + 1];

		snprintf(buf, sizeof(buf), "%s", ns.v[i]);
		while ((p = strrchr(buf, '.')) != NULL) {
			*p = '\0';
			names_add(&ns, buf, MBOX_ATTR_NOSELECT);
		}
	}
	sort_names(&ns);
	a = MBOX_ATTR_HASNOCHILDREN;
	if (names_find(&subs, "INBOX") >= 0)
		a |= MBOX_ATTR_SUBSCRIBED;
	if (cb(arg, "INBOX", a) != 0)
		goto done;
	for (i = 0; i < ns.n; i++) {
		a = ns.attr[i];
		len = strlen(ns.v[i]);
		a |= (i + 1 < ns.n && strncmp(ns.v[i + 1], ns.v[i], len) == 0 &&
		      ns.v[i + 1][len] == '.') ? MBOX_ATTR_HASCHILDREN :
		     MBOX_ATTR_HASNOCHILDREN;
		for (k = 0; k < NSPECIAL; k++)
			if (strcmp(ns.v[i], special[k].name) == 0)
				a |= special[k].attr;
		if (names_find(&subs, ns.v[i]) >= 0)
			a |= MBOX_ATTR_SUBSCRIBED;
		if (cb(arg, ns.v[i], a) != 0)
			break;
	}
done:
	names_free(&ns);
	names_free(&subs);
	return 0;
}

int mbox_subscribe(struct mbox_store *st, const char *user, const char *name,
		   int on, char *err, size_t errlen)
{
	struct names subs = {0};
	char md[MB_PATH];
	const char *canon = mb_is_inbox(name) ? "INBOX" : name;
	long i;
	int rc = 0;

	if (mbox_user_path(st->root, user, md, sizeof(md)) < 0 ||
	    (!mb_is_inbox(name) && !mb_valid_name(name))) {
		snprintf(err, errlen, "invalid mailbox name");
		return -1;
	}
	if (st->pg) {
		if ((rc = mbpg_subscribe(st, user, canon, on)) < 0)
			snprintf(err, errlen, "cannot write the subscriptions");
		return rc;
	}
	read_subs(st, user, md, &subs);
	i = names_find(&subs, canon);
	if (on && i < 0) {
		names_add(&subs, canon, 0);
		rc = write_subs(st, md, &subs);
	} else if (!on && i >= 0) {
		free(subs.v[i]);
		subs.v[i] = subs.v[--subs.n];
		rc = write_subs(st, md, &subs);
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot write the subscriptions");
	names_free(&subs);
	return rc;
}

int mbox_create(struct mbox_store *st, const char *user, const char *name,
		char *err, size_t errlen)
{
	char path[MB_PATH], buf[MBOX_NAME_MAX + 2], md[MB_PATH];
	struct folder *f;
	size_t n = strlen(name);
	int missing;

	/* "foo." asks for a folder meant to hold children: make foo */
	if (n > 1 && n <= MBOX_NAME_MAX + 1 && name[n - 1] == '.') {
		snprintf(buf, sizeof(buf), "%.*s", (int)(n - 1), name);
		name = buf;
	}
	if (mb_is_inbox(name)) {
		snprintf(err, errlen, "[ALREADYEXISTS] INBOX already exists");
		return -1;
	}
	if (mb_folder_path(st, user, name, path, sizeof(path)) < 0 ||
	    mbox_user_path(st->root, user, md, sizeof(md)) < 0) {
		snprintf(err, errlen, "invalid mailbox name");
		return -1;
	}
	if (st->pg) {
		switch (mbpg_create(st, user, name)) {
		case 0:
			return 0;
		case 1:
			snprintf(err, errlen, "[ALREADYEXISTS] mailbox already "
				 "exists");
			return -1;
		default:
			snprintf(err, errlen, "cannot create the mailbox");
			return -1;
		}
	}
	if (is_dir(path, "cur")) {
		snprintf(err, errlen, "[ALREADYEXISTS] mailbox already exists");
		return -1;
	}
	if (mb_make_maildir(path) < 0 || mb_sync_dir(st, md) < 0) {
		snprintf(err, errlen, "cannot create the mailbox: %s",
			 strerror(errno));
		return -1;
	}
	/* gives it its UIDVALIDITY now */
	f = mb_folder_get(st, user, name, &missing, err, errlen);
	if (f == NULL)
		return -1;
	mb_folder_put(f);
	return 0;
}

static int remove_files(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	return rmdir(dir) < 0 && errno != ENOENT ? -1 : 0;
}

/* Does any folder of md live under name ("name.x")? */
static int has_children(struct mbox_store *st, const char *user,
			const char *md, const char *name)
{
	struct names ns = {0};
	size_t i, len = strlen(name);
	int yes = 0;

	read_folders(st, user, md, &ns);
	for (i = 0; i < ns.n && !yes; i++)
		yes = strncmp(ns.v[i], name, len) == 0 && ns.v[i][len] == '.';
	names_free(&ns);
	return yes;
}

/* A loaded folder whose directory went away: empty it for its views. */
static void detach(struct mbox_store *st, const char *user, const char *name)
{
	struct folder *f = mb_folder_find(st, user, name);

	if (f == NULL)
		return;
	while (f->n > 0)
		mb_folder_remove(f, f->n - 1);
	f->dirty = 0;
	mb_notify(f, NULL);
	mb_folder_drop(f);
}

static int pg_delete(struct mbox_store *st, const char *user,
		     const char *name, int kids, char *err, size_t errlen)
{
	long long id = mbpg_folder_id(st, user, name, err, errlen);

	if (id == 0) {
		snprintf(err, errlen, kids ? "[HASCHILDREN] mailbox has "
			 "inferior hierarchical names" :
			 "[NONEXISTENT] no such mailbox");
		return -1;
	}
	detach(st, user, name);
	if (id < 0 || mbpg_delete(st, id) < 0) {
		snprintf(err, errlen, "cannot delete the mailbox");
		return -1;
	}
	return 0;
}

int mbox_delete(struct mbox_store *st, const char *user, const char *name,
		char *err, size_t errlen)
{
	static const char *sub[] = {"cur", "new", "tmp"};
	char path[MB_PATH], md[MB_PATH], p[MB_PATH + 32];
	struct stat sb;
	size_t i;
	int kids;

	if (mb_is_inbox(name)) {
		snprintf(err, errlen, "[CANNOT] INBOX cannot be deleted");
		return -1;
	}
	if (mb_folder_path(st, user, name, path, sizeof(path)) < 0 ||
	    mbox_user_path(st->root, user, md, sizeof(md)) < 0) {
		snprintf(err, errlen, "invalid mailbox name");
		return -1;
	}
	kids = has_children(st, user, md, name);
	if (st->pg)
		return pg_delete(st, user, name, kids, err, errlen);
	if ((stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode)) && !kids) {
		snprintf(err, errlen, "[NONEXISTENT] no such mailbox");
		return -1;
	}
	if (kids && !is_dir(path, "cur")) {
		/* RFC 3501 6.3.4: \Noselect with inferiors */
		snprintf(err, errlen, "[HASCHILDREN] mailbox has inferior "
			 "hierarchical names");
		return -1;
	}
	detach(st, user, name);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", path, sub[i]);
		if (remove_files(p) < 0)
			goto fail;
	}
	snprintf(p, sizeof(p), "%s/" MB_LIST_NAME, path);
	unlink(p);
	snprintf(p, sizeof(p), "%s/" MB_LIST_NAME ".tmp", path);
	unlink(p);
	/* with children the name stays, as \Noselect */
	if (!kids && rmdir(path) < 0)
		goto fail;
	mb_sync_dir(st, md);
	mb_usage_forget(st, user);
	return 0;
fail:
	snprintf(err, errlen, "cannot delete the mailbox: %s",
		 strerror(errno));
	return -1;
}

/* RFC 3501 6.3.5: renaming INBOX moves its messages into a new folder
 * and leaves INBOX empty. */
static int rename_inbox(struct mbox_store *st, const char *user,
			const char *to, char *err, size_t errlen)
{
	char from[MB_PATH + 300], dst[MB_PATH + 300];
	struct folder *in, *d;
	unsigned i;
	int missing;

	if (mbox_create(st, user, to, err, errlen) < 0)
		return -1;
	in = mb_folder_get(st, user, "INBOX", &missing, err, errlen);
	if (in == NULL)
		return -1;
	d = mb_folder_get(st, user, to, &missing, err, errlen);
	if (d == NULL) {
		mb_folder_put(in);
		return -1;
	}
	mb_folder_refresh(in);
	for (i = 0; i < in->nkw; i++)
		mb_keyword_index(d, in->kw[i], 1);
	while (in->n > 0) {
		struct fmsg *e = &in->m[0];

		if (mb_msg_path(in, e, from, sizeof(from)) == 0 &&
		    mb_msg_path_as(d, e->base, e->flags, e->keywords, dst,
				   sizeof(dst)) == 0 &&
		    rename(from, dst) < 0)
			log_warn("rename %s: %s", from, strerror(errno));
		mb_folder_remove(in, 0);
	}
	snprintf(dst, sizeof(dst), "%s/cur", d->path);
	mb_sync_dir(st, dst);
	d->stale = 1;
	mb_folder_refresh(d);
	in->stale = 1;
	mb_folder_refresh(in);
	mb_notify(in, NULL);
	mb_notify(d, NULL);
	mb_folder_put(d);
	mb_folder_put(in);
	return 0;
}

/* RENAME in the database: the rows (children too) in one statement;
 * the folders loaded here follow their new names. */
static int pg_rename(struct mbox_store *st, const char *user,
		     const char *from, const char *to, char *err,
		     size_t errlen)
{
	char nn[MBOX_NAME_MAX + 1];
	size_t flen = strlen(from);
	struct folder *f;
	long long id;

	if ((id = mbpg_folder_id(st, user, to, err, errlen)) != 0) {
		snprintf(err, errlen, id > 0 ? "[ALREADYEXISTS] mailbox "
			 "already exists" : "cannot rename the mailbox");
		return -1;
	}
	if (!mb_is_inbox(from) && strncmp(to, from, flen) == 0 &&
	    to[flen] == '.') {
		snprintf(err, errlen, "[CANNOT] cannot rename a mailbox into "
			 "itself");
		return -1;
	}
	if (!mb_is_inbox(from) &&
	    (id = mbpg_folder_id(st, user, from, err, errlen)) <= 0) {
		snprintf(err, errlen, id == 0 ? "[NONEXISTENT] no such "
			 "mailbox" : "cannot rename the mailbox");
		return -1;
	}
	if (mbpg_rename(st, user, from, to, err, errlen) < 0)
		return -1;
	if (mb_is_inbox(from)) {
		if ((f = mb_folder_find(st, user, "INBOX")) != NULL) {
			f->stale = 1;
			mb_notify(f, NULL);
		}
		return 0;
	}
	for (f = st->folders; f; f = f->next) {
		char *x;

		if (strcasecmp(f->user, user) != 0 ||
		    strncmp(f->name, from, flen) != 0 ||
		    (f->name[flen] != '\0' && f->name[flen] != '.') ||
		    (size_t)snprintf(nn, sizeof(nn), "%s%s", to,
				     f->name + flen) >= sizeof(nn))
			continue;
		if ((x = strdup(nn)) == NULL)
			log_fatal("out of memory");
		free(f->name);
		f->name = x;
	}
	return 0;
}

int mbox_rename(struct mbox_store *st, const char *user, const char *from,
		const char *to, char *err, size_t errlen)
{
	char md[MB_PATH], src[MB_PATH], dst[MB_PATH], nn[MBOX_NAME_MAX + 1];
	struct names ns = {0}, todo = {0};
	struct folder *f;
	size_t i, flen = strlen(from);
	int rc = -1;

	if (mb_is_inbox(to) || !mb_valid_name(to) ||
	    (!mb_is_inbox(from) && !mb_valid_name(from)) ||
	    mbox_user_path(st->root, user, md, sizeof(md)) < 0) {
		snprintf(err, errlen, "invalid mailbox name");
		return -1;
	}
	if (st->pg)
		return pg_rename(st, user, from, to, err, errlen);
	if (mb_folder_path(st, user, to, dst, sizeof(dst)) == 0 &&
	    access(dst, F_OK) == 0) {
		snprintf(err, errlen, "[ALREADYEXISTS] mailbox already exists");
		return -1;
	}
	if (mb_is_inbox(from))
		return rename_inbox(st, user, to, err, errlen);
	if (strncmp(to, from, flen) == 0 && to[flen] == '.') {
		snprintf(err, errlen, "[CANNOT] cannot rename a mailbox into itself");
		return -1;
	}
	read_folders(st, user, md, &ns);
	if (names_find(&ns, from) < 0) {
		snprintf(err, errlen, "[NONEXISTENT] no such mailbox");
		goto out;
	}
	/* the folder and its children, each checked before any move */
	for (i = 0; i < ns.n; i++) {
		if (strcmp(ns.v[i], from) != 0 &&
		    !(strncmp(ns.v[i], from, flen) == 0 &&
		      ns.v[i][flen] == '.'))
			continue;
		if ((size_t)snprintf(nn, sizeof(nn), "%s%s", to,
				     ns.v[i] + flen) >= sizeof(nn) ||
		    !mb_valid_name(nn) || names_find(&ns, nn) >= 0) {
			snprintf(err, errlen, "cannot rename %s", ns.v[i]);
			goto out;
		}
		names_add(&todo, ns.v[i], 0);
	}
	for (i = 0; i < todo.n; i++) {
		snprintf(nn, sizeof(nn), "%s%s", to, todo.v[i] + flen);
		if (mb_folder_path(st, user, todo.v[i], src, sizeof(src)) < 0 ||
		    mb_folder_path(st, user, nn, dst, sizeof(dst)) < 0 ||
		    rename(src, dst) < 0) {
			snprintf(err, errlen, "cannot rename: %s",
				 strerror(errno));
			goto out;
		}
		if ((f = mb_folder_find(st, user, todo.v[i])) != NULL) {
			char *x = strdup(nn);

			if (x == NULL)
				log_fatal("out of memory");
			free(f->name);
			f->name = x;
			snprintf(f->path, sizeof(f->path), "%s", dst);
		}
	}
	mb_sync_dir(st, md);
	rc = 0;
out:
	names_free(&ns);
	names_free(&todo);
	return rc;
}

/* The first login in the database: INBOX and the special-use folders,
 * subscribed; later the user's deletions stand. */
static int pg_prepare(struct mbox_store *st, const char *user, char *err,
		      size_t errlen)
{
	int first = mbpg_first_time(st, user);
	size_t i;

	if (first <= 0)
		goto out;
	if (mbpg_folder_id(st, user, "INBOX", err, errlen) <= 0 ||
	    mbpg_subscribe(st, user, "INBOX", 1) < 0) {
		first = -1;
		goto out;
	}
	for (i = 0; i < NSPECIAL; i++)
		if (mbpg_create(st, user, special[i].name) < 0 ||
		    mbpg_subscribe(st, user, special[i].name, 1) < 0) {
			first = -1;
			break;
		}
out:
	if (first < 0)
		snprintf(err, errlen, "cannot prepare the mailbox");
	return first < 0 ? -1 : 0;
}

int mbox_user_prepare(struct mbox_store *st, const char *user, char *err,
		      size_t errlen)
{
	struct names subs = {0};
	char md[MB_PATH], p[MB_PATH + 32];
	size_t i;
	int rc = 0;

	if (mbox_user_path(st->root, user, md, sizeof(md)) < 0) {
		snprintf(err, errlen, "invalid user name");
		return -1;
	}
	if (st->pg)
		return pg_prepare(st, user, err, errlen);
	if (mb_make_maildir(md) < 0) {
		snprintf(err, errlen, "cannot create the Maildir: %s",
			 strerror(errno));
		return -1;
	}
	/* the subscriptions file marks a user already prepared: folders
	 * the user deleted later are not brought back */
	snprintf(p, sizeof(p), "%s/" MB_SUBS_NAME, md);
	if (access(p, F_OK) == 0)
		return 0;
	names_add(&subs, "INBOX", 0);
	for (i = 0; i < NSPECIAL; i++) {
		char path[MB_PATH];

		if (mb_folder_path(st, user, special[i].name, path,
				   sizeof(path)) == 0 && !is_dir(path, "cur") &&
		    mbox_create(st, user, special[i].name, err, errlen) < 0) {
			rc = -1;
			break;
		}
		names_add(&subs, special[i].name, 0);
	}
	if (rc == 0 && write_subs(st, md, &subs) < 0) {
		snprintf(err, errlen, "cannot write the subscriptions");
		rc = -1;
	}
	names_free(&subs);
	return rc;
}
