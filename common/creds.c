/*
 * NAME
 *	creds - the credentials snapshot: who may log in, and how
 * DESCRIPTION
 *	The file sluicectl writes (creds_write_open()), one user per line,
 *	five fields separated by exactly one space, none of which can hold
 *	a space:
 *	  ADDRESS SCRYPT-HASH SCRAM-SECRET EXPIRES ENABLED
 *	  alice@example.test $scrypt$15$8$1$SALT$HASH
 *	      SCRAM-SHA-256$4096:SALT$STOREDKEY:SERVERKEY 0 1
 *	(one line in the file). SCRAM-SECRET is "-" when the password was
 *	set before SCRAM secrets existed; EXPIRES is seconds since the
 *	epoch, 0 for never; ENABLED is 1 or 0. Lines starting with '#' are
 *	comments. Every field is checked against its grammar, so a bent
 *	line is refused, never half-trusted. The writer (creds_write_*)
 *	lives here too, so the format has one home; sluicectl calls it with
 *	the rows of its database (store/dir/store_dir_export.c). Mail layer.
 */
#include "creds.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "directory.h"
#include "durable.h"
#include "limits_rfc.h"
#include "log.h"
#include "sbuf.h"
#include "snapwatch.h"
#include "tls.h"

#define CREDS_LINE 2048
#define CREDS_MAX_USERS 1000000

struct creds {
	struct cred *e; /* sorted by address */
	size_t n, cap;
	struct snapwatch watch; /* "changed?" */
};

/* Base64 text (RFC 4648) of exactly want bytes; want 0: any length. */
static int b64_field(const char *s, size_t n, size_t want)
{
	struct sbuf b;
	int ok;

	sbuf_init(&b, 1024);
	ok = n > 0 && tls_unbase64(s, n, &b) == 0 && b.len > 0 &&
	     (want == 0 || b.len == want);
	sbuf_free(&b);
	return ok;
}

static int digits(const char *s, size_t n, size_t maxlen)
{
	return n > 0 && n <= maxlen && strspn(s, "0123456789") >= n;
}

/* "$scrypt$LOGN$R$P$SALT$HASH", as tls_password_hash() writes it */
static int valid_scrypt(const char *s)
{
	const char *f[5], *end;
	size_t len[5];
	int i;

	if (strncmp(s, "$scrypt$", 8) != 0 || strlen(s) > 200)
		return 0;
	f[0] = s + 8;
	for (i = 0; i < 5; i++) {
		end = strchr(f[i], '$');
		if ((end == NULL) != (i == 4))
			return 0;
		len[i] = end ? (size_t)(end - f[i]) : strlen(f[i]);
		if (end)
			f[i + 1] = end + 1;
	}
	return digits(f[0], len[0], 2) && digits(f[1], len[1], 2) &&
	       digits(f[2], len[2], 2) && b64_field(f[3], len[3], 0) &&
	       b64_field(f[4], len[4], 32);
}

/* "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" (Cyrus authPassword) */
static int valid_scram(const char *s)
{
	const char *it = s + 14, *salt, *stored, *server;
	long iter;

	if (strncmp(s, "SCRAM-SHA-256$", 14) != 0 || strlen(s) > 300)
		return 0;
	salt = strchr(it, ':');
	stored = salt ? strchr(salt, '$') : NULL;
	server = stored ? strchr(stored, ':') : NULL;
	if (server == NULL || !digits(it, (size_t)(salt - it), 6))
		return 0;
	iter = strtol(it, NULL, 10);
	salt++;
	stored++;
	server++;
	/* Cyrus's own client refuses more than 65536 iterations */
	return iter >= 4096 && iter <= 65536 &&
	       b64_field(salt, (size_t)(stored - 1 - salt), 0) &&
	       b64_field(stored, (size_t)(server - 1 - stored), 32) &&
	       b64_field(server, strlen(server), 32);
}

int creds_parse_line(char *line, struct cred *e, char *err, size_t errlen)
{
	char *f[5];

	if (directory_fields(line, f, 5, err, errlen) < 0)
		return -1;
	if (!valid_scrypt(f[1])) {
		snprintf(err, errlen, "bad scrypt hash");
		return -1;
	}
	if (strcmp(f[2], "-") != 0 && !valid_scram(f[2])) {
		snprintf(err, errlen, "bad SCRAM-SHA-256 secret");
		return -1;
	}
	if (!digits(f[3], strlen(f[3]), 18) ||
	    (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0)) {
		snprintf(err, errlen, "bad expiry or enabled flag");
		return -1;
	}
	e->addr = f[0];
	e->scrypt = f[1];
	e->scram = strcmp(f[2], "-") ? f[2] : NULL;
	e->expires = strtoll(f[3], NULL, 10);
	e->enabled = f[4][0] == '1';
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(((const struct cred *)a)->addr,
		      ((const struct cred *)b)->addr);
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void creds_free(struct creds **cp)
{
	struct creds *c = *cp;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		wipe_free(c->e[i].addr);
		wipe_free(c->e[i].scrypt);
		wipe_free(c->e[i].scram);
	}
	free(c->e);
	free(c);
	*cp = NULL;
}

static int add(struct creds *c, const struct cred *e)
{
	struct cred *ne;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;

		if (c->n >= CREDS_MAX_USERS ||
		    (ne = realloc(c->e, cap * sizeof(*ne))) == NULL)
			return -1;
		c->e = ne;
		c->cap = cap;
	}
	ne = &c->e[c->n];
	ne->addr = strdup(e->addr);
	ne->scrypt = strdup(e->scrypt);
	ne->scram = e->scram ? strdup(e->scram) : NULL;
	ne->expires = e->expires;
	ne->enabled = e->enabled;
	c->n++;
	if (ne->addr == NULL || ne->scrypt == NULL ||
	    (e->scram && ne->scram == NULL))
		return -1;
	return 0;
}

struct creds *creds_load(const char *path, char *err, size_t errlen)
{
	struct creds *c = calloc(1, sizeof(*c));
	char line[CREDS_LINE], why[100];
	struct cred e;
	struct stat st;
	int lineno = 0;
	size_t i, n;
	FILE *f;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f = fopen(path, "re");
	if (f == NULL && errno == ENOENT) {
		snapwatch_read(&c->watch, NULL);
		return c;
	}
	if (f == NULL || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		goto fail;
	}
	snapwatch_read(&c->watch, &st);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line too long or not "
				 "terminated", path, lineno);
			goto fail;
		}
		line[n - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (creds_parse_line(line, &e, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto fail;
		}
		if (add(c, &e) < 0) {
			snprintf(err, errlen, "%s:%d: too many users or out "
				 "of memory", path, lineno);
			goto fail;
		}
	}
	explicit_bzero(line, sizeof(line));
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	fclose(f);
	f = NULL;
	if (c->n > 0)	/* c->e is NULL while there is nobody */
		qsort(c->e, c->n, sizeof(*c->e), cmp);
	for (i = 1; i < c->n; i++) {
		if (strcmp(c->e[i - 1].addr, c->e[i].addr) == 0) {
			snprintf(err, errlen, "%s: %s appears twice", path,
				 c->e[i].addr);
			goto fail;
		}
	}
	return c;
fail:
	explicit_bzero(line, sizeof(line));
	if (f)
		fclose(f);
	creds_free(&c);
	return NULL;
}

static void *load(const char *path, char *err, size_t errlen)
{
	return creds_load(path, err, errlen);
}

static struct snapwatch *watch(void *c)
{
	return &((struct creds *)c)->watch;
}

static size_t count(const void *c)
{
	return ((const struct creds *)c)->n;
}

static void drop(void *c)
{
	struct creds *cc = c;

	creds_free(&cc);
}

/* A removed file is read as an empty table (creds_load()): nobody logs
 * in any more. */
void creds_refresh(struct creds **cp, const char *path)
{
	static const struct snapwatch_ops ops = {
		"credentials", "users", load, watch, count, drop,
	};
	void *data = *cp;

	snapwatch_refresh(&data, path, &ops);
	*cp = data;
}

const struct cred *creds_find(const struct creds *c, const char *addr)
{
	char low[LIM_PATH + 1];
	struct cred key;
	size_t i;

	if (c == NULL || c->n == 0 || strlen(addr) >= sizeof(low))
		return NULL;
	for (i = 0; addr[i]; i++)
		low[i] = (char)tolower((unsigned char)addr[i]);
	low[i] = '\0';
	key.addr = low;
	return bsearch(&key, c->e, c->n, sizeof(*c->e), cmp);
}

int creds_usable(const struct cred *e, long long now)
{
	return e && e->enabled && (e->expires == 0 || e->expires > now);
}

size_t creds_count(const struct creds *c)
{
	return c ? c->n : 0;
}

/* ---- the writer ---- */

struct creds_writer {
	struct durable_file df;
	FILE *f;
};

struct creds_writer *creds_write_open(const char *path, uid_t uid, gid_t gid,
				      char *err, size_t errlen)
{
	struct creds_writer *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->f = durable_fopen(&w->df, path, 0600, uid, gid, err, errlen);
	if (w->f == NULL) {
		free(w);
		return NULL;
	}
	fprintf(w->f,
		"# credentials snapshot written by sluicectl; do not edit.\n"
		"# One user with a password per line, five fields separated "
		"by one space:\n"
		"#   ADDRESS SCRYPT-HASH SCRAM-SECRET EXPIRES ENABLED\n"
		"# SCRYPT-HASH: $scrypt$LOGN$R$P$SALT$HASH (Base64 fields)\n"
		"# SCRAM-SECRET: SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY "
		"(RFC 5802,\n"
		"#   Base64 fields), or - when none was set\n"
		"# EXPIRES: seconds since the epoch, 0 = never; ENABLED: 1 or "
		"0\n");
	return w;
}

int creds_write(struct creds_writer *w, const struct cred *e, char *why,
		size_t whylen)
{
	char line[1024], check[1024];
	struct cred back;
	int n, rc = -1;

	n = snprintf(line, sizeof(line), "%s %s %s %lld %d",
		     e->addr ? e->addr : "", e->scrypt ? e->scrypt : "",
		     e->scram && e->scram[0] ? e->scram : "-",
		     e->expires < 0 ? 0 : e->expires, e->enabled ? 1 : 0);
	/* the reader's own grammar: a line that would not load is left
	 * out */
	if (n < 0 || (size_t)n >= sizeof(line)) {
		snprintf(why, whylen, "too long");
	} else {
		memcpy(check, line, sizeof(check));
		if (creds_parse_line(check, &back, why, whylen) == 0) {
			fprintf(w->f, "%s\n", line);
			rc = 0;
		}
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(check, sizeof(check));
	return rc;
}

int creds_write_close(struct creds_writer **wp, int failed, char *err,
		      size_t errlen)
{
	struct creds_writer *w = *wp;
	int rc = durable_fclose(&w->df, w->f, failed, err, errlen);

	free(w);
	*wp = NULL;
	return rc;
}
