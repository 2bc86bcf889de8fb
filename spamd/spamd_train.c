/*
 * NAME
 *	spamd_train - add trained messages to the Bayes database
 * DESCRIPTION
 *	For sluice-spamtrain and spamd's learn listener (the write side:
 *	the scorers read immutable snapshots loaded from the file). Token
 *	counts of a batch are summed in memory, a logistic regression learns
 *	a weight per token from the batch's messages (kept in memory until
 *	the end), and both are written in one SQLite transaction (bound
 *	parameters, an upsert per token), so the daemons, which read the
 *	file, see the whole batch or none of it. A message learnt with an
 *	ID (bayes_learn) is remembered in seen: learnt again as the same
 *	class it changes nothing, as the other class its old counts are
 *	taken back first, and forgetting takes them back (the weights are
 *	pulled back toward neutral: the learner's passes with a target of
 *	0.5, as the exact earlier weights are not kept). The schema:
 *	    meta(id = 1, nspam, nham)    messages trained per class
 *	    tokens(h, spam, ham, w)      h: the token's 64-bit hash,
 *	                                 w: its learnt weight (log odds)
 *	    seen(id, spam)               ID of a learnt message, its class
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"
#include "sqldb.h"

struct delta {
	uint64_t h;
	long long spam, ham;
	double z, g2, w;	/* the learner's state of the token */
};

/* A message of the batch, kept for the learner's passes. */
struct sample {
	uint64_t *h;
	size_t n;
	int op;		/* BAYES_HAM, BAYES_SPAM or BAYES_FORGET */
	int sign;	/* +1: add its counts, -1: take them back, 0: skip */
	double target;	/* of the learner: 1 spam, 0 ham, 0.5 neutral */
	char *id;	/* NULL: not remembered (bayes_train) */
	int was;	/* its class in seen: -1 none */
};

struct bayes_writer {
	char *path;
	struct bayes_stats st;
	struct delta *d;
	size_t cap, n;
	long long nspam, nham;
	struct sample *s;
	size_t ns, caps;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY "
	"CHECK (id = 1), nspam INTEGER NOT NULL, nham INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES (1, 0, 0);"
	"CREATE TABLE IF NOT EXISTS tokens(h INTEGER PRIMARY KEY, "
	"spam INTEGER NOT NULL, ham INTEGER NOT NULL, w REAL NOT NULL);"
	"CREATE TABLE IF NOT EXISTS seen(id TEXT PRIMARY KEY, "
	"spam INTEGER NOT NULL);";

static int grow(struct bayes_writer *w)
{
	struct delta *old = w->d, *nd;
	size_t oldcap = w->cap, cap = oldcap ? oldcap * 2 : 65536, i, j;

	nd = calloc(cap, sizeof(*nd));
	if (nd == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].h == 0)
			continue;
		for (j = (size_t)old[i].h & (cap - 1); nd[j].h != 0;
		     j = (j + 1) & (cap - 1))
			;
		nd[j] = old[i];
	}
	free(old);
	w->d = nd;
	w->cap = cap;
	return 0;
}

struct bayes_writer *bayes_train_begin(const char *path, char *err,
				       size_t errlen)
{
	struct bayes_writer *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->path = strdup(path)) == NULL || grow(w) < 0) {
		snprintf(err, errlen, "out of memory");
		if (w)
			free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

static int keep_sample(struct bayes_writer *w, const struct spamd_tokset *set,
		       int op, const char *id, char *err, size_t errlen)
{
	struct sample *ns, *x;
	size_t i;

	if (w->ns == w->caps) {
		w->caps = w->caps ? 2 * w->caps : 1024;
		ns = realloc(w->s, w->caps * sizeof(*ns));
		if (ns == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		w->s = ns;
	}
	x = &w->s[w->ns];
	x->h = malloc((set->n + 1) * sizeof(*x->h));
	if (x->h == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->n = 0;
	x->op = op;
	x->sign = op == BAYES_FORGET ? 0 : 1;
	x->target = op == BAYES_SPAM ? 1.0 : 0.0;
	x->was = -1;
	x->id = NULL;
	if (id != NULL && (x->id = strdup(id)) == NULL) {
		free(x->h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < set->cap; i++)
		if (set->h[i] != 0 && x->n < set->n)
			x->h[x->n++] = set->h[i];
	w->ns++;
	return 0;
}

static struct delta *find_delta(struct bayes_writer *w, uint64_t h)
{
	size_t j;

	for (j = (size_t)h & (w->cap - 1); w->d[j].h != 0;
	     j = (j + 1) & (w->cap - 1))
		if (w->d[j].h == h)
			return &w->d[j];
	return NULL;
}

/* Logistic regression on the tokens' presence by FTRL-proximal
 * (McMahan et al., "Ad click prediction", 2013) without
 * regularisation: EPOCHS shuffled passes over the batch, starting from
 * the weights already in the file. alpha, the passes, L1 and L2
 * penalties, normalising by the number of tokens and weighing ham
 * errors more were cross-validated on the training sets
 * (sluice-spamtrain --cv): these did best (five passes since the
 * header structure tokens: as good as ten, better where few hard ham
 * may be flagged, and half the training time). */
#define ALPHA 0.1
#define BETA 1.0
#define EPOCHS 5

static void learn(struct bayes_writer *w)
{
	size_t i, j, k, *order, t;
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	struct delta *d;
	double z, p, g, sg;
	int e;

	order = malloc((w->ns + 1) * sizeof(*order));
	if (order == NULL)
		return;
	for (i = 0; i < w->ns; i++)
		order[i] = i;
	for (e = 0; e < EPOCHS; e++) {
		for (i = w->ns; i > 1; i--) {	/* xorshift Fisher-Yates */
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			k = (size_t)(rnd % i);
			t = order[i - 1];
			order[i - 1] = order[k];
			order[k] = t;
		}
		for (i = 0; i < w->ns; i++) {
			const struct sample *x = &w->s[order[i]];

			if (x->sign == 0)
				continue;	/* nothing new */
			z = 0;
			for (j = 0; j < x->n; j++)
				if ((d = find_delta(w, x->h[j])) != NULL)
					z += d->w;
			z = z > 35 ? 35 : z < -35 ? -35 : z;
			p = 1.0 / (1.0 + exp(-z));
			g = p - x->target;
			for (j = 0; j < x->n; j++) {
				if ((d = find_delta(w, x->h[j])) == NULL)
					continue;
				sg = (sqrt(d->g2 + g * g) - sqrt(d->g2)) /
				     ALPHA;
				d->z += g - sg * d->w;
				d->g2 += g * g;
				d->w = -d->z / ((BETA + sqrt(d->g2)) / ALPHA);
			}
		}
	}
	free(order);
}

/* The weights the file holds for the batch's tokens: the learner goes
 * on from them (its state as if they were its first step). */
static int read_weights(struct sqldb *db, struct bayes_writer *w)
{
	struct sqldb_stmt *st;
	size_t i;
	double v;

	st = sqldb_prepare(db, "SELECT w FROM tokens WHERE h = ?1");
	if (st == NULL)
		return -1;
	for (i = 0; i < w->cap; i++) {
		if (w->d[i].h == 0)
			continue;
		sqldb_bind_int64(st, 1, (long long)w->d[i].h);
		if (sqldb_step(st) == SQLDB_ROW) {
			v = sqldb_column_double(st, 0);
			if (v > -100 && v < 100) {
				w->d[i].w = v;
				w->d[i].z = -v * BETA / ALPHA;
			}
		}
		sqldb_reset(st);
	}
	sqldb_finalize(st);
	return 0;
}

/* The tokens of set into the batch's table (no counts yet). */
static int add_tokens(struct bayes_writer *w, const struct spamd_tokset *set,
		      char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < set->cap; i++) {
		if (set->h[i] == 0)
			continue;
		if (2 * (w->n + 1) > w->cap && grow(w) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		for (j = (size_t)set->h[i] & (w->cap - 1);
		     w->d[j].h != 0 && w->d[j].h != set->h[i];
		     j = (j + 1) & (w->cap - 1))
			;
		if (w->d[j].h == 0) {
			w->d[j].h = set->h[i];
			w->n++;
		}
	}
	return 0;
}

int bayes_train(struct bayes_writer *w, const struct spamd_tokset *set,
		int spam, char *err, size_t errlen)
{
	return bayes_learn(w, set, NULL, spam ? BAYES_SPAM : BAYES_HAM, err,
			   errlen);
}

int bayes_learn(struct bayes_writer *w, const struct spamd_tokset *set,
		const char *id, int op, char *err, size_t errlen)
{
	if (add_tokens(w, set, err, errlen) < 0)
		return -1;
	return keep_sample(w, set, op, id, err, errlen);
}

/* Add (sign +1) or take back (-1) the counts of x as class spam. */
static void count(struct bayes_writer *w, const struct sample *x, int spam,
		  int sign)
{
	struct delta *d;
	size_t j;

	for (j = 0; j < x->n; j++) {
		if ((d = find_delta(w, x->h[j])) == NULL)
			continue;
		if (spam)
			d->spam += sign;
		else
			d->ham += sign;
	}
	if (spam)
		w->nspam += sign;
	else
		w->nham += sign;
}

/* What each sample of the batch changes, by what seen says (and the
 * samples before it in the batch); seen is updated. 0 or -1. */
static int resolve(struct sqldb *db, struct bayes_writer *w)
{
	struct sqldb_stmt *get, *put = NULL, *del = NULL;
	struct sample *x;
	size_t i;
	int rc = -1, was, spam;

	if ((get = sqldb_prepare(db, "SELECT spam FROM seen WHERE id = ?1")) ==
	    NULL ||
	    (put = sqldb_prepare(db, "INSERT OR REPLACE INTO seen(id, spam) "
				 "VALUES (?1, ?2)")) == NULL ||
	    (del = sqldb_prepare(db, "DELETE FROM seen WHERE id = ?1")) ==
	    NULL)
		goto out;
	for (i = 0; i < w->ns; i++) {
		x = &w->s[i];
		if (x->id == NULL) {
			count(w, x, x->op == BAYES_SPAM, 1);
			w->st.learnt++;
			continue;
		}
		was = -1;
		sqldb_bind_text(get, 1, x->id);
		if (sqldb_step(get) == SQLDB_ROW)
			was = sqldb_column_int64(get, 0) != 0;
		sqldb_reset(get);
		x->was = was;
		spam = x->op == BAYES_SPAM;
		if (x->op == BAYES_FORGET) {
			x->sign = was < 0 ? 0 : -1;
			x->target = 0.5;
			if (was < 0) {
				w->st.same++;
				continue;
			}
			w->st.forgot++;
			count(w, x, was, -1);
			sqldb_bind_text(del, 1, x->id);
			if (sqldb_step(del) != SQLDB_DONE)
				goto out;
			sqldb_reset(del);
			continue;
		}
		if (was == spam) {
			x->sign = 0;	/* learnt already */
			w->st.same++;
			continue;
		}
		w->st.learnt++;
		if (was >= 0)
			count(w, x, was, -1);
		count(w, x, spam, 1);
		sqldb_bind_text(put, 1, x->id);
		sqldb_bind_int64(put, 2, spam);
		if (sqldb_step(put) != SQLDB_DONE)
			goto out;
		sqldb_reset(put);
	}
	rc = 0;
out:
	sqldb_finalize(get);
	sqldb_finalize(put);
	sqldb_finalize(del);
	return rc;
}

static int write_all(struct sqldb *db, struct bayes_writer *w)
{
	struct sqldb_stmt *st;
	size_t i;
	int rc = SQLDB_DONE;

	if (resolve(db, w) < 0 || read_weights(db, w) < 0)
		return -1;
	learn(w);
	st = sqldb_prepare(db, "INSERT INTO tokens(h, spam, ham, w) "
			   "VALUES (?1, max(?2, 0), max(?3, 0), ?4) "
			   "ON CONFLICT(h) DO UPDATE SET "
			   "spam = max(spam + ?2, 0), "
			   "ham = max(ham + ?3, 0), w = excluded.w");
	if (st == NULL)
		return -1;
	for (i = 0; i < w->cap && rc == SQLDB_DONE; i++) {
		if (w->d[i].h == 0 || (w->d[i].spam == 0 &&
					  w->d[i].ham == 0 && w->d[i].w == 0))
			continue;
		sqldb_bind_int64(st, 1, (long long)w->d[i].h);
		sqldb_bind_int64(st, 2, w->d[i].spam);
		sqldb_bind_int64(st, 3, w->d[i].ham);
		sqldb_bind_double(st, 4, w->d[i].w);
		rc = sqldb_step(st);
		sqldb_reset(st);
	}
	sqldb_finalize(st);
	if (rc != SQLDB_DONE ||
	    (st = sqldb_prepare(db, "UPDATE meta SET "
				"nspam = max(nspam + ?1, 0), "
				"nham = max(nham + ?2, 0) WHERE id = 1")) ==
	    NULL)
		return -1;
	sqldb_bind_int64(st, 1, w->nspam);
	sqldb_bind_int64(st, 2, w->nham);
	rc = sqldb_step(st);
	sqldb_finalize(st);
	return rc == SQLDB_DONE ? 0 : -1;
}

void bayes_train_abort(struct bayes_writer *w)
{
	size_t i;

	for (i = 0; i < w->ns; i++) {
		free(w->s[i].h);
		free(w->s[i].id);
	}
	free(w->s);
	free(w->d);
	free(w->path);
	free(w);
}

int bayes_train_end(struct bayes_writer *w, struct bayes_stats *st,
		    char *err, size_t errlen)
{
	struct sqldb *db;
	int rc = -1;

	db = sqldb_open(w->path, 0, 10000, err, errlen);
	if (db == NULL)
		goto out;
	if (sqldb_begin(db, 1) < 0 || sqldb_exec(db, schema) < 0 ||
	    write_all(db, w) < 0 || sqldb_commit(db) < 0) {
		snprintf(err, errlen, "%s: %s", w->path, sqldb_errmsg(db));
		sqldb_rollback(db);
		goto out;
	}
	rc = 0;
	if (st != NULL)
		*st = w->st;
out:
	sqldb_close(db);
	bayes_train_abort(w);
	return rc;
}
