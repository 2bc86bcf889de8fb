/*
 * NAME
 *	spamd_bayes - token counts in memory, and the chi-square combining
 * DESCRIPTION
 *	The counts live in SQLite (DESIGN.md: SQLite for Bayes state; the
 *	schema is made by spamd_train.c). They are read once into an
 *	immutable hash table; scoring only reads that table, so any number
 *	of worker threads score at once. A newer file is loaded into a new
 *	table which replaces the old one in a slot; a scorer holds a
 *	reference to the table it started with, and the last reference
 *	frees it.
 *
 *	The probability is Gary Robinson's: a token's spam probability
 *	p = (s/S) / (s/S + h/H) is shrunk toward x = 0.5 by the evidence,
 *	f = (0.45 * 0.5 + n * p) / (0.45 + n), and the strongest clues
 *	(|f - 0.5| >= 0.1, at most 150) are combined with Fisher's method:
 *	S = 1 - C(-2 ln prod(1 - f), 2n), H = 1 - C(-2 ln prod f, 2n),
 *	I = (1 + S - H) / 2, where C is the chi-square survival function.
 *	Values read back from the file are checked again.
 */
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "spamd.h"

#define UNKNOWN_STRENGTH 0.45	/* s of Robinson's f(w) */
#define UNKNOWN_PROB 0.5	/* x */
#define MIN_DEVIATION 0.1	/* clues nearer 0.5 are ignored */
#define MAX_CLUES 150
#define MAX_ROWS (1L << 26)	/* tokens a table may hold */

struct bayes_entry {
	uint64_t h;		/* 0: empty slot */
	uint32_t spam, ham;
};

struct bayes_table {
	atomic_long ref;
	long long nspam, nham;
	size_t cap;		/* power of two */
	struct bayes_entry *e;
};

static struct bayes_table *table_new(size_t rows)
{
	struct bayes_table *t = calloc(1, sizeof(*t));
	size_t cap = 1024;

	if (t == NULL)
		return NULL;
	while (cap < 2 * rows)
		cap *= 2;
	t->e = calloc(cap, sizeof(*t->e));
	if (t->e == NULL) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	atomic_init(&t->ref, 1);
	return t;
}

static void table_put(struct bayes_table *t, uint64_t h, uint32_t spam,
		      uint32_t ham)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->e[i].h != 0 && t->e[i].h != h)
		i = (i + 1) & (t->cap - 1);
	t->e[i].h = h;
	t->e[i].spam = spam;
	t->e[i].ham = ham;
}

static const struct bayes_entry *table_get(const struct bayes_table *t,
					   uint64_t h)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->e[i].h != 0) {
		if (t->e[i].h == h)
			return &t->e[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

static int one_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int fill(sqlite3 *db, struct bayes_table *t, long long rows)
{
	sqlite3_stmt *st;
	long long spam, ham, n = 0;
	uint64_t h;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT h, spam, ham FROM tokens", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		spam = sqlite3_column_int64(st, 1);
		ham = sqlite3_column_int64(st, 2);
		/* the file may have changed since the count: stay in room */
		h = (uint64_t)sqlite3_column_int64(st, 0);
		if (++n > rows || h == 0 || spam < 0 || ham < 0 ||
		    spam > UINT32_MAX || ham > UINT32_MAX ||
		    spam > t->nspam || ham > t->nham)
			continue;
		table_put(t, h, (uint32_t)spam, (uint32_t)ham);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct bayes_table *bayes_load(const char *path, char *err, size_t errlen)
{
	struct bayes_table *t = NULL;
	sqlite3 *db = NULL;
	long long rows = 0, nspam = 0, nham = 0;
	struct stat sb;

	if (path == NULL || *path == '\0' || stat(path, &sb) < 0)
		return table_new(0);	/* untrained: Bayes stays out */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db)
			 : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 10000);
	/* one read transaction: the counts and the rows agree */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    one_int(db, "SELECT nspam FROM meta", &nspam) < 0 ||
	    one_int(db, "SELECT nham FROM meta", &nham) < 0 ||
	    one_int(db, "SELECT count(*) FROM tokens", &rows) < 0) {
		snprintf(err, errlen, "%s: not a Bayes database: %s", path,
			 sqlite3_errmsg(db));
		goto out;
	}
	if (rows < 0 || rows > MAX_ROWS || nspam < 0 || nham < 0) {
		snprintf(err, errlen, "%s: bad counts (%lld tokens)", path,
			 rows);
		goto out;
	}
	t = table_new((size_t)rows);
	if (t == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	t->nspam = nspam;
	t->nham = nham;
	if (fill(db, t, rows) < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		bayes_unref(t);
		t = NULL;
	}
out:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return t;
}

struct bayes_table *bayes_ref(struct bayes_table *t)
{
	if (t)
		atomic_fetch_add(&t->ref, 1);
	return t;
}

void bayes_unref(struct bayes_table *t)
{
	if (t == NULL || atomic_fetch_sub(&t->ref, 1) != 1)
		return;
	free(t->e);
	free(t);
}

void bayes_counts(const struct bayes_table *t, long long *nspam,
		  long long *nham)
{
	*nspam = t ? t->nspam : 0;
	*nham = t ? t->nham : 0;
}

/* Upper tail of the chi-square distribution with v (even) degrees of
 * freedom at x2: exp(-m) * sum_{i < v/2} m^i / i!, m = x2 / 2. */
static double chi2q(double x2, size_t v)
{
	double m = x2 / 2.0, term, sum;
	size_t i;

	term = sum = exp(-m);
	for (i = 1; i < v / 2; i++) {
		term *= m / (double)i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

static int by_strength(const void *a, const void *b)
{
	double x = fabs(*(const double *)a - 0.5);
	double y = fabs(*(const double *)b - 0.5);

	return x < y ? 1 : x > y ? -1 : 0;
}

double bayes_prob(const struct bayes_table *t, const struct spamd_tokset *set,
		  long long min_count)
{
	const struct bayes_entry *e;
	double *clue, sr, hr, p, f, s_ln = 0, h_ln = 0, S, H;
	size_t i, n = 0;

	if (t == NULL || t->nspam < min_count || t->nham < min_count ||
	    t->nspam == 0 || t->nham == 0)
		return -1;
	clue = malloc((set->n + 1) * sizeof(*clue));
	if (clue == NULL)
		return -1;
	for (i = 0; i < set->cap; i++) {
		if (set->h[i] == 0 || (e = table_get(t, set->h[i])) == NULL)
			continue;
		sr = (double)e->spam / (double)t->nspam;
		hr = (double)e->ham / (double)t->nham;
		if (sr + hr <= 0)
			continue;
		p = sr / (sr + hr);
		f = (UNKNOWN_STRENGTH * UNKNOWN_PROB +
		     (double)(e->spam + e->ham) * p) /
		    (UNKNOWN_STRENGTH + (double)(e->spam + e->ham));
		if (fabs(f - 0.5) >= MIN_DEVIATION && n < set->n)
			clue[n++] = f;
	}
	if (n == 0) {
		free(clue);
		return 0.5;
	}
	qsort(clue, n, sizeof(*clue), by_strength);
	if (n > MAX_CLUES)
		n = MAX_CLUES;
	for (i = 0; i < n; i++) {
		s_ln += log(1.0 - clue[i]);
		h_ln += log(clue[i]);
	}
	free(clue);
	S = 1.0 - chi2q(-2.0 * s_ln, 2 * n);
	H = 1.0 - chi2q(-2.0 * h_ln, 2 * n);
	return (1.0 + S - H) / 2.0;
}

/* What identifies a version of the file: a new one differs. */
static void file_sig(const char *path, struct bayes_sig *sig)
{
	struct stat sb;

	memset(sig, 0, sizeof(*sig));
	if (path == NULL || *path == '\0' || stat(path, &sb) < 0)
		return;
	sig->dev = (long long)sb.st_dev;
	sig->ino = (long long)sb.st_ino;
	sig->size = (long long)sb.st_size;
	sig->mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL +
			sb.st_mtim.tv_nsec;
}

int bayes_slot_init(struct bayes_slot *s, const char *path,
		    long long interval, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->interval = interval;
	file_sig(path, &s->sig);
	s->cur = bayes_load(path, err, errlen);
	if (s->cur == NULL)
		return -1;
	s->checked = time(NULL);
	pthread_mutex_init(&s->mu, NULL);
	return 0;
}

struct bayes_table *bayes_slot_get(struct bayes_slot *s)
{
	struct bayes_table *t;

	pthread_mutex_lock(&s->mu);
	t = bayes_ref(s->cur);
	pthread_mutex_unlock(&s->mu);
	return t;
}

int bayes_slot_refresh(struct bayes_slot *s, char *err, size_t errlen)
{
	struct bayes_table *t, *old;
	struct bayes_sig sig;
	time_t now = time(NULL);

	pthread_mutex_lock(&s->mu);
	if (s->loading || now - s->checked < s->interval) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->checked = now;
	file_sig(s->path, &sig);
	if (memcmp(&sig, &s->sig, sizeof(sig)) == 0) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->loading = 1;
	pthread_mutex_unlock(&s->mu);
	/* the slow part runs unlocked: others keep scoring with cur */
	t = bayes_load(s->path, err, errlen);
	pthread_mutex_lock(&s->mu);
	s->loading = 0;
	if (t == NULL) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	s->sig = sig;
	old = s->cur;
	s->cur = t;
	pthread_mutex_unlock(&s->mu);
	bayes_unref(old);
	return 1;
}

void bayes_slot_free(struct bayes_slot *s)
{
	bayes_unref(s->cur);
	s->cur = NULL;
	pthread_mutex_destroy(&s->mu);
}
