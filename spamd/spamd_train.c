/*
 * NAME
 *	spamd_train - add trained messages to the Bayes database
 * DESCRIPTION
 *	For sluice-spamtrain. Token counts of a batch are summed in memory
 *	and written in one SQLite transaction at the end (bound parameters,
 *	an upsert per token), so the daemons, which read the file, see the
 *	whole batch or none of it. The schema:
 *	    meta(id = 1, nspam, nham)    messages trained per class
 *	    tokens(h, spam, ham)         h: the token's 64-bit hash
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"

struct delta {
	uint64_t h;
	long long spam, ham;
};

struct bayes_writer {
	char *path;
	struct delta *d;
	size_t cap, n;
	long long nspam, nham;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(id INTEGER PRIMARY KEY "
	"CHECK (id = 1), nspam INTEGER NOT NULL, nham INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO meta VALUES (1, 0, 0);"
	"CREATE TABLE IF NOT EXISTS tokens(h INTEGER PRIMARY KEY, "
	"spam INTEGER NOT NULL, ham INTEGER NOT NULL);";

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

int bayes_train(struct bayes_writer *w, const struct spamd_tokset *set,
		int spam, char *err, size_t errlen)
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
		if (spam)
			w->d[j].spam++;
		else
			w->d[j].ham++;
	}
	if (spam)
		w->nspam++;
	else
		w->nham++;
	return 0;
}

static int write_all(sqlite3 *db, struct bayes_writer *w)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db, "INSERT INTO tokens(h, spam, ham) "
			       "VALUES (?1, ?2, ?3) ON CONFLICT(h) DO UPDATE "
			       "SET spam = spam + excluded.spam, "
			       "ham = ham + excluded.ham", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	for (i = 0; i < w->cap && rc == SQLITE_OK; i++) {
		if (w->d[i].h == 0)
			continue;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)w->d[i].h);
		sqlite3_bind_int64(st, 2, w->d[i].spam);
		sqlite3_bind_int64(st, 3, w->d[i].ham);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE meta SET nspam = nspam + ?1, "
			       "nham = nham + ?2 WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, w->nspam);
	sqlite3_bind_int64(st, 2, w->nham);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void bayes_train_abort(struct bayes_writer *w)
{
	free(w->d);
	free(w->path);
	free(w);
}

int bayes_train_end(struct bayes_writer *w, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open(w->path, &db) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", w->path,
			 db ? sqlite3_errmsg(db) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_exec(db, schema, NULL, NULL, NULL) !=
	    SQLITE_OK || write_all(db, w) < 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", w->path, sqlite3_errmsg(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(db);
	bayes_train_abort(w);
	return rc;
}
