/*
 * NAME
 *	store_dir - the user directory in SQLite, and its snapshot
 * DESCRIPTION
 *	See store_dir.h. Only this file includes SQLite. Addresses are
 *	lowercased and validated before they reach a statement, and every
 *	statement binds its parameters. The file holds password hashes and
 *	SCRAM secrets: it is created 0600 before SQLite opens it (SQLite
 *	gives its -wal, -shm and -journal files the database's mode), and
 *	one found readable by others is made 0600 again, with a log line.
 */
#include "store_dir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "directory.h"
#include "log.h"
#include "tls.h"

#include "store_dir_int.h"

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS domains(name TEXT PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS users(address TEXT PRIMARY KEY,"
	" domain TEXT NOT NULL, pwhash TEXT, quota INTEGER NOT NULL DEFAULT 0,"
	" expires INTEGER NOT NULL DEFAULT 0,"
	" enabled INTEGER NOT NULL DEFAULT 1, scram TEXT);"
	"CREATE TABLE IF NOT EXISTS aliases(address TEXT NOT NULL,"
	" target TEXT NOT NULL, PRIMARY KEY(address, target));"
	"CREATE TABLE IF NOT EXISTS lists(address TEXT NOT NULL,"
	" member TEXT NOT NULL, PRIMARY KEY(address, member));"
	"CREATE TABLE IF NOT EXISTS domain_admins(domain TEXT NOT NULL,"
	" admin TEXT NOT NULL, PRIMARY KEY(domain, admin));"
	"CREATE TABLE IF NOT EXISTS list_owners(address TEXT NOT NULL,"
	" owner TEXT NOT NULL, PRIMARY KEY(address, owner));"
	"CREATE TABLE IF NOT EXISTS shared(address TEXT NOT NULL,"
	" official TEXT NOT NULL, PRIMARY KEY(address, official));";

/* columns added to users since the first schema, and how */
static const char *const added_columns[][2] = {
	{"scram", "ALTER TABLE users ADD COLUMN scram TEXT"},
	{"kind", "ALTER TABLE users ADD COLUMN kind TEXT NOT NULL "
		 "DEFAULT 'personal'"},
	{"first", "ALTER TABLE users ADD COLUMN first TEXT"},
	{"last", "ALTER TABLE users ADD COLUMN last TEXT"},
};

struct column_probe {
	const char *name;
	int found;
};

static void column_cb(sqlite3_stmt *st, void *arg)
{
	struct column_probe *cp = arg;
	const unsigned char *name = sqlite3_column_text(st, 1);

	if (name && strcmp((const char *)name, cp->name) == 0)
		cp->found = 1;
}

/* Directories made by older versions lack some columns of users. */
static int migrate(struct store_dir *d, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]);
	     i++) {
		struct column_probe cp = {added_columns[i][0], 0};

		if (store_dir_run(d, "PRAGMA table_info(users)", NULL,
				  column_cb, &cp, err, errlen) < 0)
			return -1;
		if (!cp.found && store_dir_run(d, added_columns[i][1], NULL,
					       NULL, NULL, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* path (and the files SQLite keeps beside it) private to its owner:
 * create it 0600 when missing, take group and other bits off one that
 * has them. 0, or -1 with err. */
static int make_private(const char *path, char *err, size_t errlen)
{
	static const char *const side[] = {"", "-wal", "-shm", "-journal"};
	char p[4096];
	struct stat st;
	size_t i;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, side[i]) >=
		    sizeof(p)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & 077) == 0)
			continue;
		if (chmod(p, st.st_mode & 0700) < 0) {
			snprintf(err, errlen, "%s: mode %03o, chmod: %s", p,
				 (unsigned)(st.st_mode & 0777),
				 strerror(errno));
			return -1;
		}
		log_warn("%s was mode %03o (readable by others): made %03o", p,
			(unsigned)(st.st_mode & 0777),
			(unsigned)(st.st_mode & 0700));
	}
	return 0;
}

struct store_dir *store_dir_open(const char *path, char *err, size_t errlen)
{
	struct store_dir *d;
	char *msg = NULL;

	if (make_private(path, err, errlen) < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	if (sqlite3_open(path, &d->db) != SQLITE_OK ||
	    sqlite3_exec(d->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 msg ? msg : sqlite3_errmsg(d->db));
		sqlite3_free(msg);
		store_dir_close(d);
		return NULL;
	}
	sqlite3_busy_timeout(d->db, 5000);
	if (migrate(d, err, errlen) < 0) {
		store_dir_close(d);
		return NULL;
	}
	return d;
}

void store_dir_close(struct store_dir *d)
{
	if (d == NULL)
		return;
	sqlite3_close(d->db);
	free(d);
}

int store_dir_changed(const struct store_dir *d)
{
	return d->changed;
}

int store_dir_run(struct store_dir *d, const char *sql,
		  const char *const *p,
		  void (*cb)(sqlite3_stmt *st, void *arg), void *arg,
		  char *err, size_t errlen)
{
	sqlite3_stmt *st;
	int rc, i;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(d->db));
		return -1;
	}
	for (i = 0; p && p[i]; i++)
		sqlite3_bind_text(st, i + 1, p[i], -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb)
			cb(st, arg);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(d->db));
		return -1;
	}
	return 0;
}

static void count_cb(sqlite3_stmt *st, void *arg)
{
	*(long long *)arg = sqlite3_column_int64(st, 0);
}

long long store_dir_count(struct store_dir *d, const char *sql,
		       const char *const *p)
{
	long long n = 0;
	char err[64];

	if (store_dir_run(d, sql, p, count_cb, &n, err, sizeof(err)) < 0)
		return -1;
	return n;
}

void store_dir_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int store_dir_check_addr(char *a, char *err, size_t errlen)
{
	store_dir_lower(a);
	if (!directory_valid_address(a)) {
		snprintf(err, errlen, "'%s' is not a usable address", a);
		return -1;
	}
	return 0;
}

int store_dir_is_mailbox(struct store_dir *d, const char *a)
{
	const char *p[] = {a, NULL};

	return store_dir_count(d, "SELECT count(*) FROM users WHERE address=?", p) > 0;
}

/* a's domain is one of ours, or has users */
static int is_our_domain(struct store_dir *d, const char *a)
{
	const char *p[] = {strrchr(a, '@') + 1, NULL, NULL};

	p[1] = p[0];
	return store_dir_count(d, "SELECT (SELECT count(*) FROM domains WHERE name=?)"
		     " + (SELECT count(*) FROM users WHERE domain=?)", p) != 0;
}

int store_dir_is_taken(struct store_dir *d, const char *a)
{
	const char *p[] = {a, a, a, NULL};

	return store_dir_count(d, "SELECT (SELECT count(*) FROM users WHERE address=?)"
		     " + (SELECT count(*) FROM aliases WHERE address=?)"
		     " + (SELECT count(*) FROM lists WHERE address=?)", p) > 0;
}

void store_dir_print_cb(sqlite3_stmt *st, void *arg)
{
	struct sbuf *out = arg;
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++) {
		const unsigned char *v = sqlite3_column_text(st, i);

		sbuf_printf(out, "%s%s", i ? "\t" : "", v ? (const char *)v
							  : "-");
	}
	sbuf_puts(out, "\n");
}

/* "YYYY-MM-DD" or "never" into seconds since the epoch (0 = never). */
int store_dir_parse_date(const char *s, long long *out)
{
	struct tm tm;
	char *end;

	if (strcmp(s, "never") == 0) {
		*out = 0;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*out = (long long)timegm(&tm);
	return 0;
}

static int cmd_domain(struct store_dir *d, int argc, char **argv,
		      struct sbuf *out, char *err, size_t errlen)
{
	const char *p[2] = {NULL, NULL};

	if (argc == 1 && !strcmp(argv[0], "list"))
		return store_dir_run(d, "SELECT name FROM domains ORDER BY name", NULL,
			   store_dir_print_cb, out, err, errlen);
	if (argc != 2)
		return -2;
	store_dir_lower(argv[1]);
	p[0] = argv[1];
	d->changed = 1;
	if (!strcmp(argv[0], "add")) {
		char probe[300];

		snprintf(probe, sizeof(probe), "x@%s", argv[1]);
		if (!directory_valid_address(probe)) {
			snprintf(err, errlen, "'%s' is not a domain", argv[1]);
			return -1;
		}
		return store_dir_run(d, "INSERT OR IGNORE INTO domains VALUES(?)", p,
			   NULL, NULL, err, errlen);
	}
	if (!strcmp(argv[0], "del")) {
		if (store_dir_count(d, "SELECT count(*) FROM users WHERE domain=?",
			  p) > 0) {
			snprintf(err, errlen, "domain %s still has users",
				 argv[1]);
			return -1;
		}
		return store_dir_run(d, "DELETE FROM domains WHERE name=?", p, NULL,
			   NULL, err, errlen);
	}
	return -2;
}

static int cmd_user(struct store_dir *d, int argc, char **argv,
		    struct sbuf *out, char *err, size_t errlen)
{
	const char *p[4] = {NULL, NULL, NULL, NULL};
	char num[32], num2[32];
	long long quota = 0, expires = 0;
	char *at;
	int i;

	if (argc >= 1 && !strcmp(argv[0], "list")) {
		if (argc == 2)
			store_dir_lower(argv[1]);
		p[0] = argc == 2 ? argv[1] : "%";
		return store_dir_run(d, "SELECT address, CASE enabled WHEN 1 THEN "
			   "'enabled' ELSE 'disabled' END, quota, CASE expires "
			   "WHEN 0 THEN 'never' ELSE date(expires, 'unixepoch')"
			   " END FROM users WHERE domain LIKE ? ORDER BY "
			   "address", p, store_dir_print_cb, out, err, errlen);
	}
	if (argc < 2)
		return -2;
	if (store_dir_check_addr(argv[1], err, errlen) < 0)
		return -1;
	p[0] = argv[1];
	if (!strcmp(argv[0], "show"))
		return store_dir_run(d, "SELECT address, enabled, quota, expires, "
			   "pwhash IS NOT NULL FROM users WHERE address=?", p,
			   store_dir_print_cb, out, err, errlen);
	d->changed = 1;
	if (!strcmp(argv[0], "add")) {
		for (i = 2; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--quota")) {
				struct cfg_param cp = {"quota", CFG_SIZE, "",
						       &quota, 0, 1LL << 50,
						       NULL};
				if (config_parse_value(&cp, argv[i + 1], err,
						       errlen) < 0)
					return -1;
			} else if (!strcmp(argv[i], "--expires")) {
				if (store_dir_parse_date(argv[i + 1], &expires) < 0) {
					snprintf(err, errlen, "bad date %s",
						 argv[i + 1]);
					return -1;
				}
			} else {
				return -2;
			}
		}
		if (i != argc)
			return -2;
		at = strrchr(argv[1], '@');
		p[1] = at + 1;
		if (store_dir_count(d, "SELECT count(*) FROM domains WHERE name=?",
			  p + 1) <= 0) {
			snprintf(err, errlen, "unknown domain %s (add it "
				 "first)", at + 1);
			return -1;
		}
		if (store_dir_is_taken(d, argv[1])) {
			snprintf(err, errlen, "%s exists already", argv[1]);
			return -1;
		}
		snprintf(num, sizeof(num), "%lld", quota);
		snprintf(num2, sizeof(num2), "%lld", expires);
		{
			const char *q[] = {argv[1], at + 1, num, num2, NULL};

			return store_dir_run(d, "INSERT INTO users(address, domain, quota,"
				   " expires) VALUES(?, ?, ?, ?)", q, NULL,
				   NULL, err, errlen);
		}
	}
	if (!store_dir_is_mailbox(d, argv[1])) {
		snprintf(err, errlen, "no user %s", argv[1]);
		return -1;
	}
	if (!strcmp(argv[0], "del") && argc == 2)
		return store_dir_run(d, "DELETE FROM users WHERE address=?", p, NULL,
			   NULL, err, errlen);
	if ((!strcmp(argv[0], "enable") || !strcmp(argv[0], "disable")) &&
	    argc == 2)
		return store_dir_run(d, argv[0][0] == 'e' ?
			   "UPDATE users SET enabled=1 WHERE address=?" :
			   "UPDATE users SET enabled=0 WHERE address=?", p,
			   NULL, NULL, err, errlen);
	if (!strcmp(argv[0], "quota") && argc == 3) {
		struct cfg_param cp = {"quota", CFG_SIZE, "", &quota, 0,
				       1LL << 50, NULL};
		const char *q[] = {num, argv[1], NULL};

		if (config_parse_value(&cp, argv[2], err, errlen) < 0)
			return -1;
		snprintf(num, sizeof(num), "%lld", quota);
		return store_dir_run(d, "UPDATE users SET quota=? WHERE address=?", q,
			   NULL, NULL, err, errlen);
	}
	if (!strcmp(argv[0], "kind") && argc == 3) {
		const char *q[] = {argv[2], argv[1], NULL};

		if (strcmp(argv[2], "personal") && strcmp(argv[2], "role")) {
			snprintf(err, errlen, "kind is personal or role");
			return -1;
		}
		return store_dir_run(d, "UPDATE users SET kind=? WHERE "
				     "address=?", q, NULL, NULL, err, errlen);
	}
	if (!strcmp(argv[0], "expires") && argc == 3) {
		const char *q[] = {num, argv[1], NULL};

		if (store_dir_parse_date(argv[2], &expires) < 0) {
			snprintf(err, errlen, "bad date %s", argv[2]);
			return -1;
		}
		snprintf(num, sizeof(num), "%lld", expires);
		return store_dir_run(d, "UPDATE users SET expires=? WHERE address=?", q,
			   NULL, NULL, err, errlen);
	}
	return -2;
}

/* alias and list: an address and the mailboxes behind it (an alias's
 * may be remote) */
static int cmd_group(struct store_dir *d, const char *table, int argc,
		     char **argv, struct sbuf *out, char *err, size_t errlen)
{
	const char *col = strcmp(table, "aliases") ? "member" : "target";
	char sql[200];
	int i;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		snprintf(sql, sizeof(sql), "SELECT address, group_concat(%s, "
			 "', ') FROM %s GROUP BY address ORDER BY address",
			 col, table);
		return store_dir_run(d, sql, NULL, store_dir_print_cb, out, err, errlen);
	}
	if (argc < 2)
		return -2;
	if (store_dir_check_addr(argv[1], err, errlen) < 0)
		return -1;
	d->changed = 1;
	if (!strcmp(argv[0], "del") && argc == 2) {
		const char *p[] = {argv[1], NULL};

		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE address=?",
			 table);
		return store_dir_run(d, sql, p, NULL, NULL, err, errlen);
	}
	if (!strcmp(argv[0], "rm") && argc == 3) {
		const char *p[] = {argv[1], argv[2], NULL};

		if (store_dir_check_addr(argv[2], err, errlen) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE address=? "
			 "AND %s=?", table, col);
		return store_dir_run(d, sql, p, NULL, NULL, err, errlen);
	}
	if (strcmp(argv[0], "add") || argc < 3)
		return -2;
	if (store_dir_is_mailbox(d, argv[1])) {
		snprintf(err, errlen, "%s is a mailbox", argv[1]);
		return -1;
	}
	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO %s VALUES(?, ?)",
		 table);
	for (i = 2; i < argc; i++) {
		const char *p[] = {argv[1], argv[i], NULL};

		if (store_dir_check_addr(argv[i], err, errlen) < 0)
			return -1;
		/* aliases may point out of our domains (directory.c) */
		if (!store_dir_is_mailbox(d, argv[i]) && (strcmp(table, "aliases") ||
		    is_our_domain(d, argv[i]))) {
			snprintf(err, errlen, "target %s is not a local "
				 "mailbox", argv[i]);
			return -1;
		}
		if (store_dir_run(d, sql, p, NULL, NULL, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int store_dir_command(struct store_dir *d, int argc, char **argv,
		      struct sbuf *out, char *err, size_t errlen)
{
	if (argc < 1)
		return -2;
	if (!strcmp(argv[0], "domain"))
		return cmd_domain(d, argc - 1, argv + 1, out, err, errlen);
	if (!strcmp(argv[0], "user"))
		return cmd_user(d, argc - 1, argv + 1, out, err, errlen);
	if (!strcmp(argv[0], "alias"))
		return cmd_group(d, "aliases", argc - 1, argv + 1, out, err,
				 errlen);
	if (!strcmp(argv[0], "list"))
		return cmd_group(d, "lists", argc - 1, argv + 1, out, err,
				 errlen);
	if (!strcmp(argv[0], "admin"))
		return store_dir_cmd_admin(d, argc - 1, argv + 1, out, err,
					   errlen);
	if (!strcmp(argv[0], "owner"))
		return store_dir_cmd_owner(d, argc - 1, argv + 1, out, err,
					   errlen);
	if (!strcmp(argv[0], "person"))
		return store_dir_cmd_person(d, argc - 1, argv + 1, out, err,
					    errlen);
	if (!strcmp(argv[0], "export") && argc == 1) {
		d->changed = 1;
		return 0;
	}
	return -2;
}

int store_dir_passwd(struct store_dir *d, const char *addr, const char *pw,
		     char *err, size_t errlen)
{
	struct sbuf h, sc;
	char a[300];
	int rc = -1;

	snprintf(a, sizeof(a), "%s", addr);
	if (store_dir_check_addr(a, err, errlen) < 0)
		return -1;
	if (!store_dir_is_mailbox(d, a)) {
		snprintf(err, errlen, "no user %s", a);
		return -1;
	}
	sbuf_init(&h, 512);
	sbuf_init(&sc, 512);
	if (tls_password_hash(pw, &h) < 0 || tls_scram_secret(pw, &sc) < 0) {
		snprintf(err, errlen, "cannot hash the password");
	} else {
		const char *p[] = {h.data, sc.data, a, NULL};

		d->changed = 1;
		rc = store_dir_run(d, "UPDATE users SET pwhash=?, scram=? "
				   "WHERE address=?", p, NULL, NULL, err,
				   errlen);
	}
	sbuf_free(&h);
	sbuf_free(&sc);
	return rc;
}
