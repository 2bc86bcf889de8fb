/*
 * NAME
 *	store_dir - the user directory commands, on either backend
 * DESCRIPTION
 *	See store_dir.h. The commands, with no SQL: they name statements of
 *	store_dir_int.h, which the backend (store_dir_sqlite.c or
 *	store_dir_pg.c, chosen by the directory's name) runs with bound
 *	parameters. Addresses are lowercased and validated before they
 *	reach a statement.
 */
#include "store_dir.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "directory.h"
#include "tls.h"

#include "store_dir_int.h"

struct store_dir *store_dir_open(const char *path, char *err, size_t errlen)
{
	struct store_dir *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (store_dir_is_uri(path))
		rc = store_dir_pg_open(path, &d->ops, &d->be, err, errlen);
	else
		rc = store_dir_sqlite_open(path, &d->ops, &d->be, err, errlen);
	if (rc < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void store_dir_close(struct store_dir *d)
{
	if (d == NULL)
		return;
	d->ops->close(d->be);
	free(d);
}

int store_dir_is_uri(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 ||
	       strncmp(path, "postgres://", 11) == 0;
}

int store_dir_changed(const struct store_dir *d)
{
	return d->changed;
}

int store_dir_wait(struct store_dir *d, int timeout_ms, char *err,
		   size_t errlen)
{
	return d->ops->wait(d->be, timeout_ms, err, errlen);
}

int store_dir_run(struct store_dir *d, enum dir_q q, const char *const *p,
		  dir_row_fn row, void *arg, char *err, size_t errlen)
{
	return d->ops->run(d->be, q, p, row, arg, err, errlen);
}

static void count_cb(int ncol, const char *const *col, void *arg)
{
	*(long long *)arg = ncol > 0 && col[0] ? strtoll(col[0], NULL, 10)
					       : 0;
}

struct select_arg {
	dir_row_fn row;
	void *arg;
};

#define SELECT_MAX_COLS 16

/* a view's row with "" for NULL */
static void select_cb(int ncol, const char *const *col, void *arg)
{
	struct select_arg *sa = arg;
	const char *c[SELECT_MAX_COLS];
	int i;

	if (ncol > SELECT_MAX_COLS)
		ncol = SELECT_MAX_COLS;
	for (i = 0; i < ncol; i++)
		c[i] = col[i] ? col[i] : "";
	sa->row(ncol, c, sa->arg);
}

int store_dir_select(struct store_dir *d, enum dir_q q,
		     const char *const *p,
		     void (*row)(int ncol, const char *const *col, void *arg),
		     void *arg, char *err, size_t errlen)
{
	struct select_arg sa = {row, arg};

	if ((int)q < 0 || q >= DQ_VIEW_END) {
		snprintf(err, errlen, "statement %d is not a view", (int)q);
		return -1;
	}
	return store_dir_run(d, q, p, select_cb, &sa, err, errlen);
}

int store_dir_tx_end(struct store_dir *d, int rc, char *err, size_t errlen)
{
	char e2[256];

	if (store_dir_run(d, rc == 0 ? DQ_COMMIT : DQ_ROLLBACK, NULL, NULL,
			  NULL, e2, sizeof(e2)) < 0 && rc == 0) {
		snprintf(err, errlen, "%s", e2);
		rc = -1;
	}
	return rc;
}

long long store_dir_count(struct store_dir *d, enum dir_q q,
			  const char *const *p)
{
	long long n = 0;
	char err[64];

	if (store_dir_run(d, q, p, count_cb, &n, err, sizeof(err)) < 0)
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

	return store_dir_count(d, DQ_USER_COUNT, p) > 0;
}

/* a's domain is one of ours, or has users */
static int is_our_domain(struct store_dir *d, const char *a)
{
	const char *p[] = {strrchr(a, '@') + 1, NULL, NULL};

	p[1] = p[0];
	return store_dir_count(d, DQ_OUR_DOMAIN, p) != 0;
}

int store_dir_is_taken(struct store_dir *d, const char *a)
{
	const char *p[] = {a, a, a, NULL};

	return store_dir_count(d, DQ_TAKEN, p) > 0;
}

void store_dir_print_cb(int ncol, const char *const *col, void *arg)
{
	struct sbuf *out = arg;
	int i;

	for (i = 0; i < ncol; i++)
		sbuf_printf(out, "%s%s", i ? "\t" : "", col[i] ? col[i] : "-");
	sbuf_puts(out, "\n");
}

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
		return store_dir_run(d, DQ_DOMAIN_LIST, NULL,
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
		return store_dir_run(d, DQ_DOMAIN_ADD, p, NULL, NULL, err,
				     errlen);
	}
	if (!strcmp(argv[0], "del")) {
		if (store_dir_count(d, DQ_DOMAIN_USERS, p) > 0) {
			snprintf(err, errlen, "domain %s still has users",
				 argv[1]);
			return -1;
		}
		return store_dir_run(d, DQ_DOMAIN_DEL, p, NULL, NULL, err,
				     errlen);
	}
	return -2;
}

/* The user p[0] and its sender lists, together or not at all (a new
 * user of the address starts with none). 0, or -1 with err. */
static int user_del(struct store_dir *d, const char *const *p, char *err,
		    size_t errlen)
{
	int rc;

	if (store_dir_run(d, DQ_BEGIN, NULL, NULL, NULL, err, errlen) < 0)
		return -1;
	rc = store_dir_run(d, DQ_SENDERS_DEL_USER, p, NULL, NULL, err,
			   errlen) < 0 ||
	     store_dir_run(d, DQ_USER_DEL, p, NULL, NULL, err, errlen) < 0 ?
		     -1 : 0;
	return store_dir_tx_end(d, rc, err, errlen);
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
		return store_dir_run(d, DQ_USER_LIST, p, store_dir_print_cb,
				     out, err, errlen);
	}
	if (argc < 2)
		return -2;
	if (store_dir_check_addr(argv[1], err, errlen) < 0)
		return -1;
	p[0] = argv[1];
	if (!strcmp(argv[0], "show"))
		return store_dir_run(d, DQ_USER_SHOW, p, store_dir_print_cb,
				     out, err, errlen);
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
				if (store_dir_parse_date(argv[i + 1],
							 &expires) < 0) {
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
		if (store_dir_count(d, DQ_DOMAIN_COUNT, p + 1) <= 0) {
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

			return store_dir_run(d, DQ_USER_ADD, q, NULL, NULL,
					     err, errlen);
		}
	}
	if (!store_dir_is_mailbox(d, argv[1])) {
		snprintf(err, errlen, "no user %s", argv[1]);
		return -1;
	}
	if (!strcmp(argv[0], "del") && argc == 2)
		return user_del(d, p, err, errlen);
	if ((!strcmp(argv[0], "enable") || !strcmp(argv[0], "disable")) &&
	    argc == 2)
		return store_dir_run(d, argv[0][0] == 'e' ? DQ_USER_ENABLE :
				     DQ_USER_DISABLE, p, NULL, NULL, err,
				     errlen);
	if (!strcmp(argv[0], "quota") && argc == 3) {
		struct cfg_param cp = {"quota", CFG_SIZE, "", &quota, 0,
				       1LL << 50, NULL};
		const char *q[] = {num, argv[1], NULL};

		if (config_parse_value(&cp, argv[2], err, errlen) < 0)
			return -1;
		snprintf(num, sizeof(num), "%lld", quota);
		return store_dir_run(d, DQ_USER_QUOTA, q, NULL, NULL, err,
				     errlen);
	}
	if (!strcmp(argv[0], "kind") && argc == 3) {
		const char *q[] = {argv[2], argv[1], NULL};

		if (strcmp(argv[2], "personal") && strcmp(argv[2], "role")) {
			snprintf(err, errlen, "kind is personal or role");
			return -1;
		}
		return store_dir_run(d, DQ_USER_KIND, q, NULL, NULL, err,
				     errlen);
	}
	if (!strcmp(argv[0], "expires") && argc == 3) {
		const char *q[] = {num, argv[1], NULL};

		if (store_dir_parse_date(argv[2], &expires) < 0) {
			snprintf(err, errlen, "bad date %s", argv[2]);
			return -1;
		}
		snprintf(num, sizeof(num), "%lld", expires);
		return store_dir_run(d, DQ_USER_EXPIRES, q, NULL, NULL, err,
				     errlen);
	}
	return -2;
}

/* The statements of an alias (alias = 1) or a list. */
struct group_q {
	enum dir_q list, add, del, rm;
};

static const struct group_q group_alias = {DQ_ALIAS_LIST, DQ_ALIAS_ADD,
					   DQ_ALIAS_DEL, DQ_ALIAS_RM};
static const struct group_q group_list = {DQ_LIST_LIST, DQ_LIST_ADD,
					  DQ_LIST_DEL, DQ_LIST_RM};

/* alias and list: an address and the mailboxes behind it (an alias's
 * may be remote) */
static int cmd_group(struct store_dir *d, int alias, int argc, char **argv,
		     struct sbuf *out, char *err, size_t errlen)
{
	const struct group_q *g = alias ? &group_alias : &group_list;
	int i;

	if (argc == 1 && !strcmp(argv[0], "list"))
		return store_dir_run(d, g->list, NULL, store_dir_print_cb,
				     out, err, errlen);
	if (argc < 2)
		return -2;
	if (store_dir_check_addr(argv[1], err, errlen) < 0)
		return -1;
	d->changed = 1;
	if (!strcmp(argv[0], "del") && argc == 2) {
		const char *p[] = {argv[1], NULL};

		return store_dir_run(d, g->del, p, NULL, NULL, err, errlen);
	}
	if (!strcmp(argv[0], "rm") && argc == 3) {
		const char *p[] = {argv[1], argv[2], NULL};

		if (store_dir_check_addr(argv[2], err, errlen) < 0)
			return -1;
		return store_dir_run(d, g->rm, p, NULL, NULL, err, errlen);
	}
	if (strcmp(argv[0], "add") || argc < 3)
		return -2;
	if (store_dir_is_mailbox(d, argv[1])) {
		snprintf(err, errlen, "%s is a mailbox", argv[1]);
		return -1;
	}
	for (i = 2; i < argc; i++) {
		const char *p[] = {argv[1], argv[i], NULL};

		if (store_dir_check_addr(argv[i], err, errlen) < 0)
			return -1;
		/* aliases may point out of our domains (directory.c) */
		if (!store_dir_is_mailbox(d, argv[i]) &&
		    (!alias || is_our_domain(d, argv[i]))) {
			snprintf(err, errlen, "target %s is not a local "
				 "mailbox", argv[i]);
			return -1;
		}
		if (store_dir_run(d, g->add, p, NULL, NULL, err, errlen) < 0)
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
		return cmd_group(d, 1, argc - 1, argv + 1, out, err, errlen);
	if (!strcmp(argv[0], "list"))
		return cmd_group(d, 0, argc - 1, argv + 1, out, err, errlen);
	if (!strcmp(argv[0], "admin"))
		return store_dir_cmd_admin(d, argc - 1, argv + 1, out, err,
					   errlen);
	if (!strcmp(argv[0], "owner"))
		return store_dir_cmd_owner(d, argc - 1, argv + 1, out, err,
					   errlen);
	if (!strcmp(argv[0], "senders"))
		return store_dir_cmd_senders(d, argc - 1, argv + 1, out, err,
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
		rc = store_dir_run(d, DQ_USER_PASSWD, p, NULL, NULL, err,
				   errlen);
	}
	sbuf_free(&h);
	sbuf_free(&sc);
	return rc;
}
