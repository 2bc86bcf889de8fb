/*
 * NAME
 *	store_dir_senders - users' allow and block lists of senders
 * DESCRIPTION
 *	The command that sluicectl and sluice-admin run through
 *	store_dir_command():
 *	  senders USER allow|block PATTERN   add a rule (or change its kind)
 *	  senders USER remove PATTERN        take it away
 *	  senders USER list                  kind and pattern, tab separated
 *	USER is a mailbox of the directory; PATTERN an address or @domain
 *	(that domain and its subdomains), checked strictly and lowercased
 *	by common/senders.c, the snapshot's format, so nothing stored here
 *	could be refused by spamd's reader. A user has at most
 *	LIM_SENDER_RULES rules (the bound is in the statement too, so two
 *	writers at once cannot pass it). The rules reach spamd through the
 *	sender lists snapshot (store_dir_export_senders()). No SQL here.
 */
#include <stdio.h>
#include <string.h>

#include "limits_rfc.h"
#include "senders.h"

#include "store_dir.h"
#include "store_dir_int.h"

struct find {
	const char *pattern;
	int found;
};

/* Columns: kind, pattern. */
static void find_cb(int ncol, const char *const *col, void *arg)
{
	struct find *f = arg;

	if (ncol > 1 && col[1] && strcmp(col[1], f->pattern) == 0)
		f->found = 1;
}

int store_dir_cmd_senders(struct store_dir *d, int argc, char **argv,
	struct sbuf *out, char *err, size_t errlen)
{
	char pat[LIM_PATH + 1], max[16];
	const char *p[5] = {NULL, NULL, NULL, NULL, NULL};
	struct find f = {NULL, 0};
	long long have;
	int kind;

	if (argc < 2 || argc > 3)
		return -2;
	if (store_dir_check_addr(argv[0], err, errlen) < 0)
		return -1;
	if (!store_dir_is_mailbox(d, argv[0])) {
		snprintf(err, errlen, "no user %s", argv[0]);
		return -1;
	}
	p[0] = argv[0];
	if (argc == 2)
		return strcmp(argv[1], "list")
			       ? -2
			       : store_dir_run(d, DQ_SENDERS_OF, p,
					 store_dir_print_cb, out, err, errlen);
	kind = senders_kind(argv[1]);
	if (kind == SENDERS_NONE && strcmp(argv[1], "remove") != 0)
		return -2;
	if (senders_pattern(argv[2], pat, err, errlen) < 0)
		return -1;
	d->changed = 1;
	if (kind == SENDERS_NONE) {
		p[1] = pat;
		return store_dir_run(
			d, DQ_SENDERS_RM, p, NULL, NULL, err, errlen);
	}
	have = store_dir_count(d, DQ_SENDERS_COUNT, p);
	f.pattern = pat;
	if (have < 0 || store_dir_run(d, DQ_SENDERS_OF, p, find_cb, &f, err,
				errlen) < 0) {
		snprintf(err, errlen, "cannot read the rules of %s", argv[0]);
		return -1;
	}
	/* a new pattern needs room; a known one may change its kind */
	if (have >= LIM_SENDER_RULES && !f.found) {
		snprintf(err, errlen,
			"%s has %d rules already (the most a "
			"user may have): remove one first",
			argv[0], LIM_SENDER_RULES);
		return -1;
	}
	p[1] = senders_kind_name(kind);
	p[2] = pat;
	snprintf(max, sizeof(max), "%d", LIM_SENDER_RULES);
	p[3] = max;
	return store_dir_run(d, DQ_SENDERS_SET, p, NULL, NULL, err, errlen);
}
