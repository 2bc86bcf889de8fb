/*
 * NAME
 *	greylist - the greylisting triplets in SQLite
 * DESCRIPTION
 *	See greylist.h. Rows (net, sender, rcpt, first, last, passed);
 *	what is read back is checked again (times in range). Expired rows
 *	are deleted at open and every GREY_SWEEP checks.
 */
#include "greylist.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#define GREY_SWEEP 1000

struct greylist {
	sqlite3 *db;
	struct greylist_cfg cfg;
	sqlite3_stmt *get, *put, *pass;
	unsigned checks;
};

static const char *schema =
	"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	"CREATE TABLE IF NOT EXISTS greylist (net TEXT NOT NULL, "
	"sender TEXT NOT NULL, rcpt TEXT NOT NULL, first INTEGER NOT NULL, "
	"last INTEGER NOT NULL, passed INTEGER NOT NULL, "
	"PRIMARY KEY (net, sender, rcpt)) WITHOUT ROWID;";

static void sweep(struct greylist *g, uint64_t now)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(g->db, "DELETE FROM greylist WHERE (passed = 0 "
			       "AND first < ?1) OR last < ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(now -
			   (now > g->cfg.retry_window_ms ?
			    g->cfg.retry_window_ms : now)));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(now -
			   (now > g->cfg.lifetime_ms ? g->cfg.lifetime_ms :
			    now)));
	sqlite3_step(st);
	sqlite3_finalize(st);
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
	if (sqlite3_open(path, &g->db) != SQLITE_OK ||
	    sqlite3_busy_timeout(g->db, 200) != SQLITE_OK ||
	    sqlite3_exec(g->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "SELECT first, last, passed FROM "
			       "greylist WHERE net = ?1 AND sender = ?2 AND "
			       "rcpt = ?3", -1, &g->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "INSERT OR REPLACE INTO greylist VALUES"
			       " (?1, ?2, ?3, ?4, ?4, 0)", -1, &g->put,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(g->db, "UPDATE greylist SET last = ?4, passed "
			       "= 1 WHERE net = ?1 AND sender = ?2 AND rcpt "
			       "= ?3", -1, &g->pass, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, g->db ?
			 sqlite3_errmsg(g->db) : "out of memory");
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
	sqlite3_finalize(g->get);
	sqlite3_finalize(g->put);
	sqlite3_finalize(g->pass);
	sqlite3_close(g->db);
	free(g);
	*gp = NULL;
}

static int run(sqlite3_stmt *st, const char *net, const char *sender,
	       const char *rcpt, uint64_t now)
{
	int rc;

	sqlite3_bind_text(st, 1, net, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rcpt, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	return rc;
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
	sqlite3_int64 first = 0, last = 0;
	int rc, passed = 0, found;

	*wait_ms = 0;
	if (++g->checks % GREY_SWEEP == 1)
		sweep(g, now);
	rc = run(g->get, net, sender, rcpt, now);
	found = rc == SQLITE_ROW;
	if (found) {
		first = sqlite3_column_int64(g->get, 0);
		last = sqlite3_column_int64(g->get, 1);
		passed = sqlite3_column_int(g->get, 2) != 0;
	}
	sqlite3_reset(g->get);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
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
		sqlite3_reset(g->pass);
		return rc == SQLITE_DONE ? GREY_PASS_NOW : GREY_ERROR;
	} else {
		rc = run(g->put, net, sender, rcpt, now);
		sqlite3_reset(g->put);
		*wait_ms = g->cfg.delay_ms;
		return rc == SQLITE_DONE ? GREY_DEFER : GREY_ERROR;
	}
	sqlite3_reset(g->pass);
	return rc == SQLITE_DONE ? GREY_PASS : GREY_ERROR;
}
