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
 *	The probability averages the log odds of two models of the same
 *	tokens (cross-validated on the training sets with sluice-spamtrain
 *	--cv: together they ranked spam above ham better than either,
 *	most of all on the later third of each set):
 *	- Gary Robinson's: a token's spam probability
 *	  p = (s/S) / (s/S + h/H) is shrunk toward x = 0.5 by the evidence,
 *	  f = (0.7 * 0.5 + n * p) / (0.7 + n), where n counts the messages
 *	  with the token as if both classes had been trained on as many
 *	  messages, n = s * (S + H) / 2S + h * (S + H) / 2H (with far fewer
 *	  spam than ham, a spam count is worth more), and the strongest
 *	  clues (|f - 0.5| >= 0.1, at most 150) are combined with Fisher's
 *	  method: S = 1 - C(-2 ln prod(1 - f), 2n), H = 1 - C(-2 ln prod f,
 *	  2n), I = (1 + S - H) / 2, where C is the chi-square survival
 *	  function; I is kept within [1e-6, 1 - 1e-6].
 *	- a logistic regression: the sum of the learnt weights w of the
 *	  tokens (spamd_train.c), "bias:" (in every message) the intercept.
 *	The tokens that pulled hardest toward the verdict (by w) are named.
 *	Values read back from the file are checked again.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "spamd.h"
#include "sqldb.h"

#define UNKNOWN_STRENGTH 0.7	/* s of Robinson's f(w), cross-validated */
#define UNKNOWN_PROB 0.5	/* x */
#define MIN_DEVIATION 0.1	/* clues nearer 0.5 are ignored */
#define MAX_CLUES 150
#define MAX_ROWS (1L << 26)	/* tokens a table may hold */
#define FISHER_FLOOR 1e-6	/* Fisher's indicator within [f, 1 - f] */

struct bayes_entry {
	uint64_t h;		/* 0: empty slot */
	uint32_t spam, ham;
	float w;
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
		      uint32_t ham, float w)
{
	size_t i = (size_t)h & (t->cap - 1);

	while (t->e[i].h != 0 && t->e[i].h != h)
		i = (i + 1) & (t->cap - 1);
	t->e[i].h = h;
	t->e[i].spam = spam;
	t->e[i].ham = ham;
	t->e[i].w = w;
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

static int fill(struct sqldb *db, struct bayes_table *t, long long rows)
{
	struct sqldb_stmt *st;
	long long spam, ham, n = 0;
	double w;
	uint64_t h;
	int rc;

	st = sqldb_prepare(db, "SELECT h, spam, ham, w FROM tokens");
	if (st == NULL)
		return -1;
	while ((rc = sqldb_step(st)) == SQLDB_ROW) {
		spam = sqldb_column_int64(st, 1);
		ham = sqldb_column_int64(st, 2);
		/* the file may have changed since the count: stay in room */
		h = (uint64_t)sqldb_column_int64(st, 0);
		if (++n > rows || h == 0 || spam < 0 || ham < 0 ||
		    spam > UINT32_MAX || ham > UINT32_MAX ||
		    spam > t->nspam || ham > t->nham)
			continue;
		w = sqldb_column_double(st, 3);
		if (!(w > -100 && w < 100))
			continue;
		table_put(t, h, (uint32_t)spam, (uint32_t)ham, (float)w);
	}
	sqldb_finalize(st);
	return rc == SQLDB_DONE ? 0 : -1;
}

struct bayes_table *bayes_load(const char *path, char *err, size_t errlen)
{
	struct bayes_table *t = NULL;
	struct sqldb *db;
	long long rows = 0, nspam = 0, nham = 0;
	struct stat sb;

	if (path == NULL || *path == '\0' || stat(path, &sb) < 0)
		return table_new(0);	/* untrained: Bayes stays out */
	db = sqldb_open(path, SQLDB_RDONLY, 10000, err, errlen);
	if (db == NULL)
		return NULL;
	/* one read transaction: the counts and the rows agree */
	if (sqldb_begin(db, 0) < 0 ||
	    sqldb_one_int64(db, "SELECT nspam FROM meta", &nspam) < 0 ||
	    sqldb_one_int64(db, "SELECT nham FROM meta", &nham) < 0 ||
	    sqldb_one_int64(db, "SELECT count(*) FROM tokens", &rows) < 0) {
		snprintf(err, errlen, "%s: not a Bayes database: %s", path,
			 sqldb_errmsg(db));
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
		snprintf(err, errlen, "%s: %s", path, sqldb_errmsg(db));
		bayes_unref(t);
		t = NULL;
	}
out:
	sqldb_commit(db);
	sqldb_close(db);
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

/* Move the k strongest clues (farthest from 0.5) of c[0..n) to its
 * front, in no order (Hoare's selection: linear on average, no sort). */
static void strongest(double *c, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1, i, j;
	double pivot, t;

	while (lo < hi) {
		pivot = fabs(c[lo + (hi - lo) / 2] - 0.5);
		i = lo;
		j = hi;
		while (i <= j) {
			while (fabs(c[i] - 0.5) > pivot)
				i++;
			while (fabs(c[j] - 0.5) < pivot)
				j--;
			if (i <= j) {
				t = c[i];
				c[i] = c[j];
				c[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k - 1 <= j)
			hi = j;
		else if (k - 1 >= i)
			lo = i;
		else
			return;
	}
}

/* Robinson/Fisher's indicator of the entries' counts, 0..1 (0.5: no
 * clues); clue has room for n. */
static double fisher(const struct bayes_table *t,
		     const struct bayes_entry *const *e, size_t n,
		     double *clue)
{
	double sr, hr, p, f, n_eff, s_ln = 0, h_ln = 0, S, H, half;
	size_t i, nc = 0;

	half = (double)(t->nspam + t->nham) / 2.0;
	for (i = 0; i < n; i++) {
		sr = (double)e[i]->spam / (double)t->nspam;
		hr = (double)e[i]->ham / (double)t->nham;
		if (sr + hr <= 0)
			continue;
		p = sr / (sr + hr);
		/* sr and hr are the rates: n_eff is their sum times half */
		n_eff = (sr + hr) * half;
		f = (UNKNOWN_STRENGTH * UNKNOWN_PROB + n_eff * p) /
		    (UNKNOWN_STRENGTH + n_eff);
		if (fabs(f - 0.5) >= MIN_DEVIATION)
			clue[nc++] = f;
	}
	if (nc == 0)
		return 0.5;
	if (nc > MAX_CLUES) {
		strongest(clue, nc, MAX_CLUES);
		nc = MAX_CLUES;
	}
	for (i = 0; i < nc; i++) {
		s_ln += log(1.0 - clue[i]);
		h_ln += log(clue[i]);
	}
	S = 1.0 - chi2q(-2.0 * s_ln, 2 * nc);
	H = 1.0 - chi2q(-2.0 * h_ln, 2 * nc);
	return (1.0 + S - H) / 2.0;
}

/* Put slot into r's clues if its weight w pulls harder toward the
 * verdict (sign) than one there. */
static void keep_clue(struct bayes_result *r, size_t slot, double w,
		      double *cw)
{
	size_t i, k;

	for (k = 0; k < r->nclues && cw[k] >= w; k++)
		;
	if (k >= BAYES_CLUES)
		return;
	if (r->nclues < BAYES_CLUES)
		r->nclues++;
	for (i = r->nclues - 1; i > k; i--) {
		cw[i] = cw[i - 1];
		r->slot[i] = r->slot[i - 1];
	}
	cw[k] = w;
	r->slot[k] = slot;
}

int bayes_classify(const struct bayes_table *t,
		   const struct spamd_tokset *set, long long min_count,
		   struct bayes_result *r)
{
	const struct bayes_entry **e, *x;
	double *clue, z = 0, f, sign, cw[BAYES_CLUES];
	size_t i, n = 0, *slot;

	memset(r, 0, sizeof(*r));
	r->prob = -1;
	if (t == NULL || t->nspam < min_count || t->nham < min_count ||
	    t->nspam == 0 || t->nham == 0)
		return 0;
	e = malloc((set->n + 1) * (sizeof(*e) + sizeof(*clue) +
				   sizeof(*slot)));
	if (e == NULL)
		return -1;
	clue = (double *)(e + set->n + 1);
	slot = (size_t *)(clue + set->n + 1);
	for (i = 0; i < set->cap && n < set->n; i++)
		if (set->h[i] != 0 && (x = table_get(t, set->h[i])) != NULL) {
			slot[n] = i;
			e[n++] = x;
			z += x->w;
		}
	f = fisher(t, e, n, clue);
	/* the two models' log odds, averaged; Fisher's is bounded so
	 * that its near-certainties leave the other a say */
	f = f < FISHER_FLOOR ? FISHER_FLOOR : f > 1 - FISHER_FLOOR ?
	    1 - FISHER_FLOOR : f;
	z = (log(f / (1.0 - f)) + z) / 2.0;
	r->prob = 1.0 / (1.0 + exp(-z));
	sign = r->prob >= 0.5 ? 1.0 : -1.0;
	for (i = 0; i < n; i++)
		if (sign * e[i]->w > 0)
			keep_clue(r, slot[i], sign * e[i]->w, cw);
	free(e);
	return 0;
}

double bayes_prob(const struct bayes_table *t, const struct spamd_tokset *set,
		  long long min_count)
{
	struct bayes_result r;

	if (bayes_classify(t, set, min_count, &r) < 0)
		return -1;
	return r.prob;
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

/* With s->loading set by the caller: load the file (sig: of the
 * version looked at) and make it current. 1, or -1 (old table kept). */
static int slot_load(struct bayes_slot *s, const struct bayes_sig *sig,
		     char *err, size_t errlen)
{
	struct bayes_table *t, *old;

	/* the slow part runs unlocked: others keep scoring with cur */
	t = bayes_load(s->path, err, errlen);
	pthread_mutex_lock(&s->mu);
	s->loading = 0;
	if (t == NULL) {
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	s->sig = *sig;
	old = s->cur;
	s->cur = t;
	pthread_mutex_unlock(&s->mu);
	bayes_unref(old);
	return 1;
}

int bayes_slot_refresh(struct bayes_slot *s, char *err, size_t errlen)
{
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
	return slot_load(s, &sig, err, errlen);
}

int bayes_slot_publish(struct bayes_slot *s, char *err, size_t errlen)
{
	struct bayes_sig sig;

	pthread_mutex_lock(&s->mu);
	if (s->loading) {
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->loading = 1;
	s->checked = time(NULL);
	/* looked at before the load: a later change is seen again */
	file_sig(s->path, &sig);
	pthread_mutex_unlock(&s->mu);
	return slot_load(s, &sig, err, errlen);
}

void bayes_slot_free(struct bayes_slot *s)
{
	bayes_unref(s->cur);
	s->cur = NULL;
	pthread_mutex_destroy(&s->mu);
}
