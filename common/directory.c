/*
 * NAME
 *	directory - who exists: mailboxes, disabled mailboxes, aliases
 * DESCRIPTION
 *	Reads the directory snapshot that the store's sluicectl exports on
 *	every change (or a hand-written file in the same format), one entry
 *	per line:
 *	  alice@example.test                     a mailbox
 *	  alice@example.test quota=1048576       ... with a storage quota
 *	  -carol@example.test                    disabled or expired
 *	  postmaster@example.test: alice@example.test, bob@example.test
 *	                                         an alias (local targets)
 *	  team@example.test: alice@example.test, >carol@elsewhere.test
 *	                                         ... with a remote target
 *	  # comment
 *	Addresses compare case-insensitively and may not contain white
 *	space, ',', ':', '/', '<' or '>', so no address can bend the
 *	format. An alias target is either a mailbox of the file (local), or
 *	'>' and an address (remote, since the remote-targets change: older
 *	readers refuse such a file) whose domain is none of the domains of
 *	the file's mailboxes, disabled ones included, and which is no
 *	address of the file. One level: targets are never aliases, so loops
 *	cannot form; remote targets are handed on (mx and msa add them to
 *	the envelope, directory_expand_remote()) and never looked up again.
 *	A shared address ('=' in front, since the shared-address change:
 *	older readers take it for an alias of a name nobody writes to) is
 *	an ambiguous one (two persons' last name): it takes mail but
 *	delivers it to no one; its targets, mailboxes of the file, are the
 *	official addresses the store tells the sender (directory_shared()).
 *	No address starts with '-', '=' or '#', so the markers are
 *	unambiguous.
 *	Everything read is checked again. The writer (directory_write_*)
 *	lives here too, so the format has one home; sluicectl calls it with
 *	the rows of its database (store/dir/store_dir_export.c). Mail layer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "durable.h"
#include "limits_rfc.h"
#include "log.h"
#include "directory.h"

#define USERS_MAX_TARGETS 64

struct uent {
	char *addr;
	char **targets;	/* NULL for a mailbox */
	int disabled;	/* "-address": exists, takes no mail */
	int shared;	/* "=address: ...": targets are only named */
	long long quota; /* "address quota=BYTES"; 0: none */
};

struct directory {
	struct uent *e;
	size_t n;
	struct snapwatch watch;	/* "changed?" */
};

static struct uent *find(struct directory *u, const char *addr)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strcasecmp(u->e[i].addr, addr) == 0)
			return &u->e[i];
	return NULL;
}

int directory_valid_address(const char *a)
{
	const char *at = strrchr(a, '@');

	return at && at != a && strlen(a) <= LIM_PATH && a[0] != '-' &&
	       a[0] != '#' && a[0] != '=' && strcspn(a, " \t/<>,:\"\r\n") == strlen(a) &&
	       addr_domain_valid(at + 1);
}

int directory_fields(char *line, char **f, int n, char *err, size_t errlen)
{
	char *p = line;
	int i;

	for (i = 0; i < n; i++) {
		f[i] = p;
		p = strchr(p, ' ');
		if ((p == NULL) != (i == n - 1)) {
			snprintf(err, errlen, "want %d fields separated by one "
				 "space", n);
			return -1;
		}
		if (p)
			*p++ = '\0';
	}
	for (p = f[0]; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!directory_valid_address(f[0])) {
		snprintf(err, errlen, "bad address");
		return -1;
	}
	return 0;
}

/* A remote alias target: a valid address of a domain without mailboxes
 * in the file, and no address of the file. */
static int remote_ok(struct directory *u, const char *t)
{
	const char *dom = strrchr(t, '@'), *at;
	size_t i;

	if (!directory_valid_address(t) || find(u, t))
		return 0;
	for (i = 0; i < u->n; i++) {
		at = strrchr(u->e[i].addr, '@');
		if (u->e[i].targets == NULL && strcasecmp(at, dom) == 0)
			return 0;
	}
	return 1;
}

void directory_free(struct directory *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		free(u->e[i].addr);
		config_list_free(u->e[i].targets);
	}
	free(u->e);
	free(u);
}

static int add(struct directory *u, char *addr, char **targets,
	       int disabled)
{
	struct uent *e = realloc(u->e, (u->n + 1) * sizeof(*e));

	if (e == NULL)
		return -1;
	u->e = e;
	u->e[u->n].addr = addr;
	u->e[u->n].targets = targets;
	u->e[u->n].disabled = disabled;
	u->n++;
	return 0;
}

struct directory *directory_load(const char *path, char *err, size_t errlen)
{
	struct directory *u = calloc(1, sizeof(*u));
	char line[4096], *p, *colon, *end;
	struct stat st;
	int lineno = 0, disabled, shared;
	long long quota;
	size_t i, k;
	FILE *f;

	if (u == NULL || (f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		free(u);
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0)
		snapwatch_read(&u->watch, &st);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		p = line + strspn(line, " \t");
		end = p + strlen(p);
		while (end > p && strchr(" \t\r\n", end[-1]))
			*--end = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		end = p + strcspn(p, " \t");
		quota = 0;
		if (*end && colon == NULL) {
			char *q = end + strspn(end, " \t"), *qe;

			if (strncmp(q, "quota=", 6) != 0 ||
			    (quota = strtoll(q + 6, &qe, 10)) < 0 ||
			    qe == q + 6 || *qe != '\0') {
				snprintf(err, errlen, "%s:%d: bad attribute "
					 "'%s'", path, lineno, q);
				goto fail;
			}
		}
		*end = '\0';
		disabled = *p == '-' && colon == NULL;
		shared = *p == '=' && colon != NULL;
		if (disabled || shared)
			p++;
		if (!directory_valid_address(p) || find(u, p)) {
			snprintf(err, errlen, "%s:%d: bad or repeated address "
				 "'%s'", path, lineno, p);
			goto fail;
		}
		if (add(u, strdup(p), colon ? config_list(colon + 1) : NULL,
			disabled) < 0)
			goto fail;
		u->e[u->n - 1].quota = quota;
		u->e[u->n - 1].shared = shared;
	}
	fclose(f);
	f = NULL;
	for (i = 0; i < u->n; i++) {
		for (k = 0; u->e[i].targets && u->e[i].targets[k]; k++) {
			const char *t = u->e[i].targets[k];
			struct uent *te = find(u, t);

			if (k >= USERS_MAX_TARGETS || (*t == '>' ?
			    u->e[i].shared || !remote_ok(u, t + 1) :
			    te == NULL || te->targets != NULL)) {
				snprintf(err, errlen, "%s: alias %s: target "
					 "'%s' is %s", path, u->e[i].addr, t,
					 *t == '>' ? "not a usable remote "
					 "address" : "not a mailbox");
				goto fail;
			}
		}
	}
	return u;
fail:
	if (f)
		fclose(f);
	directory_free(u);
	return NULL;
}

static void *load(const char *path, char *err, size_t errlen)
{
	return directory_load(path, err, errlen);
}

static struct snapwatch *watch(void *d)
{
	return &((struct directory *)d)->watch;
}

static size_t count(const void *d)
{
	return ((const struct directory *)d)->n;
}

static void drop(void *d)
{
	directory_free(d);
}

void directory_refresh(struct directory **d, const char *path)
{
	static const struct snapwatch_ops ops = {
		"directory", "entries", load, watch, count, drop,
	};
	void *data = *d;

	snapwatch_refresh(&data, path, &ops);
	*d = data;
}

size_t directory_expand(struct directory *u, const char *addr, const char **out,
		    size_t max)
{
	struct uent *e = u ? find(u, addr) : NULL;
	size_t i, k;

	if (e == NULL || max == 0 || e->disabled || e->shared)
		return 0;
	if (e->targets == NULL) {
		out[0] = e->addr;
		return 1;
	}
	/* a disabled member of a list gets nothing; the others do */
	for (i = 0, k = 0; e->targets[i] && k < max; i++) {
		struct uent *t = e->targets[i][0] == '>' ? NULL :
				 find(u, e->targets[i]);

		if (t && !t->disabled)
			out[k++] = t->addr;
	}
	return k;
}

size_t directory_expand_remote(struct directory *u, const char *addr,
			       const char **out, size_t max)
{
	struct uent *e = u ? find(u, addr) : NULL;
	size_t i, k = 0;

	if (e == NULL || e->disabled || e->shared || e->targets == NULL)
		return 0;
	for (i = 0; e->targets[i] && k < max; i++)
		if (e->targets[i][0] == '>')
			out[k++] = e->targets[i] + 1;
	return k;
}

enum dir_kind directory_lookup(struct directory *u, const char *addr)
{
	struct uent *e = u ? find(u, addr) : NULL;

	if (e == NULL)
		return DIR_UNKNOWN;
	if (e->disabled)
		return DIR_DISABLED;
	if (e->shared)
		return DIR_SHARED;
	return e->targets ? DIR_ALIAS : DIR_MAILBOX;
}

size_t directory_shared(struct directory *u, const char *addr,
			const char **out, size_t max)
{
	struct uent *e = u ? find(u, addr) : NULL, *t;
	size_t i, k = 0;

	if (e == NULL || !e->shared)
		return 0;
	/* a disabled person can be written to no more */
	for (i = 0; e->targets[i] && k < max; i++)
		if ((t = find(u, e->targets[i])) != NULL && !t->disabled)
			out[k++] = t->addr;
	return k;
}

long long directory_quota(struct directory *u, const char *mailbox)
{
	struct uent *e = u ? find(u, mailbox) : NULL;

	return e ? e->quota : 0;
}

/* ---- the writer ---- */

struct directory_writer {
	struct durable_file df;
	FILE *f;
	char cur[LIM_PATH + 2];	/* the alias ("a") or shared ("=a") line
				   being written, "" when none */
	int skipped;
};

struct directory_writer *directory_write_open(const char *path, char *err,
					      size_t errlen)
{
	struct directory_writer *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->f = durable_fopen(&w->df, path, 0644, (uid_t)-1, (gid_t)-1, err,
			     errlen);
	if (w->f == NULL) {
		free(w);
		return NULL;
	}
	fprintf(w->f, "# directory snapshot written by sluicectl; do not "
		"edit\n");
	return w;
}

void directory_write_mailbox(struct directory_writer *w, const char *addr,
			     int disabled, long long quota)
{
	if (!directory_valid_address(addr))
		w->skipped++;
	else if (disabled)
		fprintf(w->f, "-%s\n", addr);
	else if (quota > 0)
		fprintf(w->f, "%s quota=%lld\n", addr, quota);
	else
		fprintf(w->f, "%s\n", addr);
}

/* One target of the line key ("a" or "=a"): a new line when key is not
 * the one being written. */
static void write_target(struct directory_writer *w, const char *key,
			 const char *mark, const char *target)
{
	if (strcmp(w->cur, key) == 0) {
		fprintf(w->f, ", %s%s", mark, target);
		return;
	}
	fprintf(w->f, "%s%s: %s%s", w->cur[0] ? "\n" : "", key, mark, target);
	snprintf(w->cur, sizeof(w->cur), "%s", key);
}

void directory_write_alias(struct directory_writer *w, const char *addr,
			   const char *target, int remote)
{
	if (!directory_valid_address(addr) || !directory_valid_address(target))
		w->skipped++;
	else
		write_target(w, addr, remote ? ">" : "", target);
}

void directory_write_shared(struct directory_writer *w, const char *addr,
			    const char *official)
{
	char key[sizeof(w->cur)];

	if (!directory_valid_address(addr) ||
	    !directory_valid_address(official)) {
		w->skipped++;
		return;
	}
	snprintf(key, sizeof(key), "=%s", addr);
	write_target(w, key, "", official);
}

int directory_write_skipped(const struct directory_writer *w)
{
	return w->skipped;
}

int directory_write_close(struct directory_writer **wp, int failed,
			  char *err, size_t errlen)
{
	struct directory_writer *w = *wp;
	int rc;

	if (w->cur[0] && !failed)
		fputc('\n', w->f);
	rc = durable_fclose(&w->df, w->f, failed, err, errlen);
	free(w);
	*wp = NULL;
	return rc;
}
