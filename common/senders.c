/*
 * NAME
 *	senders - the sender lists snapshot: users' allow and block lists
 * DESCRIPTION
 *	The file sluicectl writes (senders_write_open()), one rule per
 *	line, three fields separated by exactly one space, none of which
 *	can hold a space:
 *	  USER KIND PATTERN
 *	  alice@example.test allow friend@promo.test
 *	  alice@example.test block @annoying.test
 *	USER is a directory address, KIND "allow" or "block", PATTERN an
 *	address or @domain (that domain and its subdomains); all lower
 *	case (the reader lowers them anyway). Lines starting with '#' are
 *	comments; every line ends with a newline. A user has at most
 *	LIM_SENDER_RULES rules and a pattern appears once per user. Every
 *	field is checked against its grammar, so a bent line is refused,
 *	never half-trusted, and with it the file (the reader keeps its old
 *	table). The writer lives here too, so the format has one home;
 *	sluicectl calls it with the rows of its database
 *	(store/dir/store_dir_export.c). Mail layer.
 */
#include "senders.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "addr.h"
#include "directory.h"
#include "durable.h"
#include "snapwatch.h"

#define SENDERS_MAX_BYTES (256LL << 20)

struct senders {
	atomic_int ref;
	char *text;            /* the file, fields NUL-terminated in it */
	struct sender_rule *r; /* sorted by user, then pattern */
	size_t n;
	struct snapwatch watch; /* used by the loading thread only */
};

int senders_kind(const char *word)
{
	if (strcmp(word, "allow") == 0)
		return SENDERS_ALLOW;
	if (strcmp(word, "block") == 0)
		return SENDERS_BLOCK;
	return SENDERS_NONE;
}

const char *senders_kind_name(int kind)
{
	return kind == SENDERS_ALLOW   ? "allow"
	       : kind == SENDERS_BLOCK ? "block"
				       : "?";
}

int senders_pattern(
	const char *in, char out[LIM_PATH + 1], char *err, size_t errlen)
{
	size_t i, n = strlen(in);

	if (n == 0 || n > LIM_PATH) {
		snprintf(err, errlen, "a pattern is 1 to %d bytes", LIM_PATH);
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = '\0';
	if (out[0] == '@') {
		/* a domain: as it would stand in an address */
		if (strchr(out + 1, '@') != NULL ||
			strcspn(out, " \t/<>,:\"\r\n") != n ||
			!addr_domain_valid(out + 1) || out[1] == '[') {
			snprintf(err, errlen, "'%s' is not @domain", in);
			return -1;
		}
		return 0;
	}
	if (!directory_valid_address(out) || out[0] == '"' ||
		out[strlen(out) - 1] == ']') {
		snprintf(err, errlen,
			"'%s' is neither an address nor "
			"@domain",
			in);
		return -1;
	}
	return 0;
}

/* Check and split one line (modified in place: NULs, lower case). */
static int parse_line(
	char *line, struct sender_rule *r, char *err, size_t errlen)
{
	char *f[3], pat[LIM_PATH + 1];

	if (directory_fields(line, f, 3, err, errlen) < 0)
		return -1;
	if ((r->kind = senders_kind(f[1])) == SENDERS_NONE) {
		snprintf(err, errlen, "kind is allow or block");
		return -1;
	}
	if (senders_pattern(f[2], pat, err, errlen) < 0)
		return -1;
	memcpy(f[2], pat, strlen(pat)); /* lowered: the same length */
	r->user = f[0];
	r->pattern = f[2];
	return 0;
}

static int cmp(const void *a, const void *b)
{
	const struct sender_rule *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	return c ? c : strcmp(x->pattern, y->pattern);
}

static void table_free(struct senders *s)
{
	if (s == NULL)
		return;
	free(s->text);
	free(s->r);
	free(s);
}

/* The rules read: every user's at most LIM_SENDER_RULES, no pattern
 * twice. 0, or -1 with err. */
static int check_table(struct senders *s, char *err, size_t errlen)
{
	size_t i, run = 1;

	if (s->n > 0) /* s->r is NULL while there is none */
		qsort(s->r, s->n, sizeof(*s->r), cmp);
	for (i = 1; i < s->n; i++) {
		if (strcmp(s->r[i - 1].user, s->r[i].user) != 0) {
			run = 1;
			continue;
		}
		if (++run > LIM_SENDER_RULES) {
			snprintf(err, errlen, "%s has more than %d rules",
				s->r[i].user, LIM_SENDER_RULES);
			return -1;
		}
		if (strcmp(s->r[i - 1].pattern, s->r[i].pattern) == 0) {
			snprintf(err, errlen, "%s: %s appears twice",
				s->r[i].user, s->r[i].pattern);
			return -1;
		}
	}
	return 0;
}

struct senders *senders_parse(
	const char *buf, size_t len, char *err, size_t errlen)
{
	struct senders *s = calloc(1, sizeof(*s));
	struct sender_rule *nr;
	size_t cap = 0, lineno = 0;
	char *l, *nl, *end, why[100];

	if (s == NULL || (s->text = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		table_free(s);
		return NULL;
	}
	atomic_init(&s->ref, 1);
	memcpy(s->text, buf, len);
	s->text[len] = '\0';
	end = s->text + len;
	for (l = s->text; l < end; l = nl + 1) {
		lineno++;
		nl = memchr(l, '\n', (size_t)(end - l));
		if (nl == NULL || memchr(l, '\0', (size_t)(nl - l)) != NULL) {
			snprintf(err, errlen, "line %zu: %s", lineno,
				nl ? "NUL byte" : "not terminated");
			goto fail;
		}
		*nl = '\0';
		if (*l == '#' || *l == '\0')
			continue;
		if (s->n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nr = realloc(s->r, cap * sizeof(*nr))) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			s->r = nr;
		}
		if (parse_line(l, &s->r[s->n], why, sizeof(why)) < 0) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto fail;
		}
		s->n++;
	}
	if (check_table(s, err, errlen) < 0)
		goto fail;
	return s;
fail:
	table_free(s);
	return NULL;
}

struct senders *senders_load(const char *path, char *err, size_t errlen)
{
	struct senders *s;
	struct stat st;
	char *buf, why[256];
	size_t got;
	FILE *f = fopen(path, "re");

	if (f == NULL && errno == ENOENT) {
		s = senders_parse("", 0, err, errlen);
		if (s)
			snapwatch_read(&s->watch, NULL);
		return s;
	}
	if (f == NULL || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SENDERS_MAX_BYTES) {
		snprintf(err, errlen, "%s: not a file or too large", path);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	got = buf ? fread(buf, 1, (size_t)st.st_size + 1, f) : 0;
	if (buf == NULL || ferror(f) || got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: %s", path,
			buf ? "read error or "
			      "changed while read"
			    : "out of memory");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	s = senders_parse(buf, got, why, sizeof(why));
	free(buf);
	if (s == NULL) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	snapwatch_read(&s->watch, &st);
	return s;
}

int senders_changed(const struct senders *s, const char *path)
{
	return snapwatch_changed(&s->watch, path);
}

struct snapwatch *senders_watch(struct senders *s)
{
	return &s->watch;
}

struct senders *senders_ref(struct senders *s)
{
	if (s)
		atomic_fetch_add(&s->ref, 1);
	return s;
}

void senders_unref(struct senders **sp)
{
	struct senders *s = *sp;

	*sp = NULL;
	if (s && atomic_fetch_sub(&s->ref, 1) == 1)
		table_free(s);
}

size_t senders_of(const struct senders *s, const char *user,
	const struct sender_rule **out)
{
	char low[LIM_PATH + 1];
	size_t lo = 0, hi, i, n;

	*out = NULL;
	if (s == NULL || s->n == 0 || strlen(user) > LIM_PATH)
		return 0;
	for (i = 0; user[i]; i++)
		low[i] = (char)tolower((unsigned char)user[i]);
	low[i] = '\0';
	/* the first rule of low */
	hi = s->n;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		if (strcmp(s->r[i].user, low) < 0)
			lo = i + 1;
		else
			hi = i;
	}
	for (n = 0; lo + n < s->n && strcmp(s->r[lo + n].user, low) == 0; n++)
		;
	if (n > 0)
		*out = &s->r[lo];
	return n;
}

size_t senders_count(const struct senders *s)
{
	return s ? s->n : 0;
}

/* ---- the writer ---- */

struct senders_writer {
	struct durable_file df;
	FILE *f;
	char user[LIM_PATH + 1]; /* of the last row written */
	size_t run;              /* its rules so far */
};

struct senders_writer *senders_write_open(
	const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct senders_writer *w = calloc(1, sizeof(*w));

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
		"# sender lists snapshot written by sluicectl; do not edit.\n"
		"# One rule per line, three fields separated by one space:\n"
		"#   USER allow|block PATTERN\n"
		"# PATTERN: an address, or @domain (and its subdomains); at "
		"most %d rules\n# per user, each pattern once.\n",
		LIM_SENDER_RULES);
	return w;
}

int senders_write(struct senders_writer *w, const char *user, const char *kind,
	const char *pattern, char *why, size_t whylen)
{
	char line[3 * LIM_PATH + 16];
	struct sender_rule back;
	int n;

	n = snprintf(line, sizeof(line), "%s %s %s", user ? user : "",
		kind ? kind : "", pattern ? pattern : "");
	/* the reader's own grammar: a line that would not load is left
	 * out */
	if (n < 0 || (size_t)n >= sizeof(line)) {
		snprintf(why, whylen, "too long");
		return -1;
	}
	if (parse_line(line, &back, why, whylen) < 0)
		return -1;
	if (strcmp(back.user, w->user) != 0) {
		snprintf(w->user, sizeof(w->user), "%s", back.user);
		w->run = 0;
	}
	if (w->run >= LIM_SENDER_RULES) {
		snprintf(why, whylen, "more than %d rules", LIM_SENDER_RULES);
		return -1;
	}
	w->run++;
	fprintf(w->f, "%s %s %s\n", back.user, senders_kind_name(back.kind),
		back.pattern);
	return 0;
}

int senders_write_close(
	struct senders_writer **wp, int failed, char *err, size_t errlen)
{
	struct senders_writer *w = *wp;
	int rc = durable_fclose(&w->df, w->f, failed, err, errlen);

	free(w);
	*wp = NULL;
	return rc;
}
