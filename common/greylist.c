/*
 * NAME
 *	greylist - the greylisting triplets in SQLite
 * DESCRIPTION
 *	See greylist.h. Rows (net, sender, rcpt, first, last, passed);
 *	what is read back is checked again (times in range). Expired rows
 *	are deleted at open and every GREY_SWEEP checks.
 */
#include "greylist.h"

#include <stdio.h>
#include <stdlib.h>

#include "sqldb.h"

#define GREY_SWEEP 1000

struct greylist {
	struct sqldb *db;
	struct greylist_cfg cfg;
	struct sqldb_stmt *get, *put, *pass;
	unsigned checks;
};

static const char *schema =
	"CREATE TABLE IF NOT EXISTS greylist (net TEXT NOT NULL, "
	"sender TEXT NOT NULL, rcpt TEXT NOT NULL, first INTEGER NOT NULL, "
	"last INTEGER NOT NULL, passed INTEGER NOT NULL, "
	"PRIMARY KEY (net, sender, rcpt)) WITHOUT ROWID;";

static void sweep(struct greylist *g, uint64_t now)
{
	struct sqldb_stmt *st;

	st = sqldb_prepare(g->db, "DELETE FROM greylist WHERE (passed = 0 "
			   "AND first < ?1) OR last < ?2");
	if (st == NULL)
		return;
	sqldb_bind_int64(st, 1, (long long)(now -
			 (now > g->cfg.retry_window_ms ?
			  g->cfg.retry_window_ms : now)));
	sqldb_bind_int64(st, 2, (long long)(now -
			 (now > g->cfg.lifetime_ms ? g->cfg.lifetime_ms :
			  now)));
	sqldb_step(st);
	sqldb_finalize(st);
}

struct greylist *greylist_open(const char *path,
			       const struct greylist_cfg *cfg, char *err,
			       size_t errlen)
{
	struct greylist *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->cfg = *cfg;
	g->db = sqldb_open(path, SQLDB_WAL | SQLDB_SYNC_NORMAL, 200, err,
			   errlen);
	if (g->db == NULL) {
		greylist_close(&g);
		return NULL;
	}
	if (sqldb_exec(g->db, schema) < 0 ||
	    (g->get = sqldb_prepare(g->db, "SELECT first, last, passed FROM "
				    "greylist WHERE net = ?1 AND sender = ?2 "
				    "AND rcpt = ?3")) == NULL ||
	    (g->put = sqldb_prepare(g->db, "INSERT OR REPLACE INTO greylist "
				    "VALUES (?1, ?2, ?3, ?4, ?4, 0)")) ==
	    NULL ||
	    (g->pass = sqldb_prepare(g->db, "UPDATE greylist SET last = ?4, "
				     "passed = 1 WHERE net = ?1 AND sender = "
				     "?2 AND rcpt = ?3")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, sqldb_errmsg(g->db));
		greylist_close(&g);
		return NULL;
	}
	return g;
}

void greylist_close(struct greylist **gp)
{
	struct greylist *g = *gp;

	if (g == NULL)
		return;
	sqldb_finalize(g->get);
	sqldb_finalize(g->put);
	sqldb_finalize(g->pass);
	sqldb_close(g->db);
	free(g);
	*gp = NULL;
}

static int run(struct sqldb_stmt *st, const char *net, const char *sender,
	       const char *rcpt, uint64_t now)
{
	sqldb_bind_text(st, 1, net);
	sqldb_bind_text(st, 2, sender);
	sqldb_bind_text(st, 3, rcpt);
	if (sqldb_param_count(st) >= 4)
		sqldb_bind_int64(st, 4, (long long)now);
	return sqldb_step(st);
}

static uint64_t touch_ms(const struct greylist *g)
{
	uint64_t t = g->cfg.lifetime_ms / 100;

	return t < 60000 ? t : 60000;
}

enum grey_verdict greylist_check(struct greylist *g, const char *net,
				 const char *sender, const char *rcpt,
				 uint64_t now, uint64_t *wait_ms)
{
	long long first = 0, last = 0;
	int rc, passed = 0, found;

	*wait_ms = 0;
	if (++g->checks % GREY_SWEEP == 1)
		sweep(g, now);
	rc = run(g->get, net, sender, rcpt, now);
	found = rc == SQLDB_ROW;
	if (found) {
		first = sqldb_column_int64(g->get, 0);
		last = sqldb_column_int64(g->get, 1);
		passed = sqldb_column_int64(g->get, 2) != 0;
	}
	sqldb_reset(g->get);
	if (rc == SQLDB_ERROR)
		return GREY_ERROR;
	/* read back: a row from the future or a bad time starts again */
	if (found && (first < 0 || last < first || (uint64_t)last > now))
		found = 0;
	if (found && passed && now - (uint64_t)last <= g->cfg.lifetime_ms) {
		/* last use is kept to a minute (or 1% of the lifetime): no
		 * disk write per message of a known triplet */
		if (now - (uint64_t)last < touch_ms(g))
			return GREY_PASS;
		rc = run(g->pass, net, sender, rcpt, now);
	}
	else if (found && !passed &&
		 now - (uint64_t)first <= g->cfg.retry_window_ms) {
		if (now - (uint64_t)first < g->cfg.delay_ms) {
			*wait_ms = g->cfg.delay_ms - (now - (uint64_t)first);
			return GREY_DEFER;
		}
		rc = run(g->pass, net, sender, rcpt, now);
		sqldb_reset(g->pass);
		return rc == SQLDB_DONE ? GREY_PASS_NOW : GREY_ERROR;
	} else {
		rc = run(g->put, net, sender, rcpt, now);
		sqldb_reset(g->put);
		*wait_ms = g->cfg.delay_ms;
		return rc == SQLDB_DONE ? GREY_DEFER : GREY_ERROR;
	}
	sqldb_reset(g->pass);
	return rc == SQLDB_DONE ? GREY_PASS : GREY_ERROR;
}
