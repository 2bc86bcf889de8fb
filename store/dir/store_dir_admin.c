/*
 * NAME
 *	store_dir_admin - roles, list owners and persons in the directory
 * DESCRIPTION
 *	The commands that delegated administration (sluice-admin) needs,
 *	run by sluicectl and the admin daemon alike through
 *	store_dir_command():
 *	  admin add|del DOMAIN|'*' ADDRESS   a domain admin ('*': super)
 *	  admin list
 *	  owner add|del LIST ADDRESS         who may see and edit a list
 *	  person add DOMAIN FIRST LAST [--quota SIZE] [--expires DATE]
 *	A person is the mailbox first.last@domain with the aliases
 *	f.last@domain and last@domain. An alias that another person holds
 *	already is ambiguous: it becomes a shared address (table shared)
 *	that lists the official addresses of everyone it could mean, and
 *	it is no longer delivered to any one of them. Names are restricted
 *	to letters, digits and '-' (after lowercasing), so nothing typed
 *	can bend an address. No SQL here: statements are named (enum
 *	dir_q) and the backend binds their parameters.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "limits_rfc.h"
#include "sbuf.h"

#include "store_dir.h"
#include "store_dir_int.h"

int store_dir_cmd_admin(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen)
{
	char probe[LIM_PATH + 8];
	const char *p[3] = {NULL, NULL, NULL};
	const char *p1[2] = {NULL, NULL};

	if (argc == 1 && !strcmp(argv[0], "list"))
		return store_dir_run(d, DQ_ADMIN_LIST, NULL, store_dir_print_cb,
				     out, err, errlen);
	if (argc != 3 || (strcmp(argv[0], "add") && strcmp(argv[0], "del")))
		return -2;
	store_dir_lower(argv[1]);
	if (store_dir_check_addr(argv[2], err, errlen) < 0)
		return -1;
	p[0] = p1[0] = argv[1];
	p[1] = argv[2];
	d->changed = 1;
	if (!strcmp(argv[0], "del"))
		return store_dir_run(d, DQ_ADMIN_DEL, p, NULL, NULL,
				     err, errlen);
	if (strcmp(argv[1], "*") != 0) {
		snprintf(probe, sizeof(probe), "x@%s", argv[1]);
		if (!directory_valid_address(probe) ||
		    store_dir_count(d, DQ_DOMAIN_COUNT, p1) <= 0) {
			snprintf(err, errlen, "unknown domain %s", argv[1]);
			return -1;
		}
	}
	/* an admin logs in with the credentials of a mailbox */
	if (!store_dir_is_mailbox(d, argv[2])) {
		snprintf(err, errlen, "no user %s", argv[2]);
		return -1;
	}
	return store_dir_run(d, DQ_ADMIN_ADD, p, NULL, NULL, err, errlen);
}

int store_dir_cmd_owner(struct store_dir *d, int argc, char **argv,
			struct sbuf *out, char *err, size_t errlen)
{
	const char *p[3] = {NULL, NULL, NULL};
	const char *p1[2] = {NULL, NULL};

	(void)out;
	if (argc != 3 || (strcmp(argv[0], "add") && strcmp(argv[0], "del")))
		return -2;
	if (store_dir_check_addr(argv[1], err, errlen) < 0 ||
	    store_dir_check_addr(argv[2], err, errlen) < 0)
		return -1;
	p[0] = p1[0] = argv[1];
	p[1] = argv[2];
	d->changed = 1;
	if (!strcmp(argv[0], "del"))
		return store_dir_run(d, DQ_OWNER_DEL, p, NULL, NULL,
				     err, errlen);
	if (store_dir_count(d, DQ_LIST_COUNT, p1) <= 0) {
		snprintf(err, errlen, "no list %s", argv[1]);
		return -1;
	}
	if (!store_dir_is_mailbox(d, argv[2])) {
		snprintf(err, errlen, "no user %s", argv[2]);
		return -1;
	}
	return store_dir_run(d, DQ_OWNER_ADD, p, NULL, NULL, err, errlen);
}

/* A name part: lowercased in place; letters, digits and inner '-'. */
static int check_name(char *s, const char *what, char *err, size_t errlen)
{
	size_t i, n = strlen(s);

	store_dir_lower(s);
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) ||
		      isdigit((unsigned char)s[i]) ||
		      (s[i] == '-' && i > 0 && i + 1 < n)))
			break;
	if (n == 0 || n > 30 || i < n) {
		snprintf(err, errlen, "%s: use 1 to 30 letters (a-z), digits "
			 "or inner '-'", what);
		return -1;
	}
	return 0;
}

/* One alias of a new person: free, it points to primary; an alias
 * already (another person's), it becomes a shared address listing both
 * official addresses; shared already, primary joins the list. A
 * mailbox or list of that name is left alone. */
static int person_alias(struct store_dir *d, const char *alias,
			const char *primary, struct sbuf *out, char *err,
			size_t errlen)
{
	const char *p[] = {alias, primary, NULL};
	const char *p1[] = {alias, NULL};

	if (store_dir_count(d, DQ_SHARED_COUNT, p1) > 0) {
		sbuf_printf(out, "shared\t%s\n", alias);
		return store_dir_run(d, DQ_SHARED_ADD, p, NULL, NULL, err,
				     errlen);
	}
	if (store_dir_count(d, DQ_ALIAS_COUNT, p1) > 0) {
		sbuf_printf(out, "shared\t%s\n", alias);
		return store_dir_run(d, DQ_SHARED_FROM_ALIAS, p1, NULL, NULL,
				     err, errlen) < 0 ||
			       store_dir_run(d, DQ_ALIAS_DEL, p1, NULL, NULL,
					     err, errlen) < 0 ||
			       store_dir_run(d, DQ_SHARED_ADD, p, NULL, NULL,
					     err, errlen) < 0
			   ? -1
			   : 0;
	}
	if (store_dir_is_taken(d, alias)) {
		sbuf_printf(out, "skipped\t%s\n", alias);
		return 0;
	}
	sbuf_printf(out, "alias\t%s\n", alias);
	return store_dir_run(d, DQ_ALIAS_ADD, p, NULL,
			     NULL, err, errlen);
}

static int person_add(struct store_dir *d, int argc, char **argv,
		      struct sbuf *out, char *err, size_t errlen)
{
	char primary[LIM_PATH + 1], initial[LIM_PATH + 1], last[LIM_PATH + 1];
	char *uargv[8];
	int i, uargc = 0;

	store_dir_lower(argv[0]);
	if (check_name(argv[1], "first name", err, errlen) < 0 ||
	    check_name(argv[2], "last name", err, errlen) < 0)
		return -1;
	snprintf(primary, sizeof(primary), "%s.%s@%s", argv[1], argv[2],
		 argv[0]);
	snprintf(initial, sizeof(initial), "%c.%s@%s", argv[1][0], argv[2],
		 argv[0]);
	snprintf(last, sizeof(last), "%s@%s", argv[2], argv[0]);
	if (store_dir_check_addr(primary, err, errlen) < 0)
		return -1;
	uargv[uargc++] = "user";
	uargv[uargc++] = "add";
	uargv[uargc++] = primary;
	for (i = 3; i < argc && uargc < 7; i++)
		uargv[uargc++] = argv[i];
	if (i < argc)
		return -2;
	uargv[uargc] = NULL;
	if (store_dir_command(d, uargc, uargv, out, err, errlen) < 0)
		return -1;
	{
		const char *p[] = {argv[1], argv[2], primary, NULL};

		if (store_dir_run(d, DQ_USER_NAMES, p, NULL, NULL, err,
				  errlen) < 0)
			return -1;
	}
	sbuf_printf(out, "mailbox\t%s\n", primary);
	if (person_alias(d, initial, primary, out, err, errlen) < 0 ||
	    person_alias(d, last, primary, out, err, errlen) < 0)
		return -1;
	return 0;
}

int store_dir_cmd_person(struct store_dir *d, int argc, char **argv,
			 struct sbuf *out, char *err, size_t errlen)
{
	int rc;

	if (argc < 4 || strcmp(argv[0], "add"))
		return -2;
	/* the mailbox and its aliases come together or not at all */
	if (store_dir_run(d, DQ_BEGIN, NULL, NULL, NULL, err,
			  errlen) < 0)
		return -1;
	rc = store_dir_tx_end(d, person_add(d, argc - 1, argv + 1, out, err,
					    errlen), err, errlen);
	if (rc == 0)
		d->changed = 1;
	return rc;
}
