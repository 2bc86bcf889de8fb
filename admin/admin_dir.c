/*
 * NAME
 *	admin_dir - changes to the directory, roles, and the audit log
 * DESCRIPTION
 *	Every change goes through store_dir_command() or store_dir_passwd()
 *	(the code sluicectl runs) and store_dir_publish() (the snapshots
 *	mx, msa and the store read), then one line in state_dir/audit.log:
 *	when (UTC), who, from where, what, and whether it worked. Roles come
 *	from the directory: domain_admins rows ('*' is a super admin) and
 *	list_owners rows. Values reach SQL as bound parameters only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#include "../store/dir/store_dir.h"
#include "admin.h"

static void count_row(int n, const char *const *col, void *arg)
{
	if (n > 0)
		*(long long *)arg = atoll(col[0]);
}

long long admin_count(struct admin *a, enum dir_q q, const char *const *p)
{
	long long n = 0;
	char err[256];

	if (store_dir_select(a->dir, q, p, count_row, &n, err,
			     sizeof(err)) < 0) {
		log_warn("directory: %s", err);
		return -1;
	}
	return n;
}

int admin_is_super(struct admin *a, const char *user)
{
	const char *p[] = {"*", user, NULL};

	return user && user[0] && admin_count(a, DQ_IS_ADMIN, p) > 0;
}

int admin_can_domain(struct admin *a, const char *user, const char *domain)
{
	const char *p[] = {domain, user, NULL};

	if (user == NULL || domain == NULL || !user[0] || !domain[0])
		return 0;
	return admin_is_super(a, user) ||
	       admin_count(a, DQ_IS_ADMIN, p) > 0;
}

int admin_owns_list(struct admin *a, const char *user, const char *list)
{
	const char *p[] = {list, user, NULL};

	return user && list && user[0] &&
	       admin_count(a, DQ_OWNS_LIST, p) > 0;
}

const char *admin_domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : "";
}

void admin_audit(struct admin *a, const char *who, const char *client,
		 const char *what)
{
	char path[4096], when[32], line[2048], safe[1500];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_safe(safe, sizeof(safe), what);
	n = snprintf(line, sizeof(line), "%s user=%s client=%s %s\n", when,
		     who[0] ? who : "-", client, safe);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	log_info("audit: user=%s, client=[%s], %s", who[0] ? who : "-",
		 client, safe);
	snprintf(path, sizeof(path), "%s/audit.log", a->cfg->state_dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		log_error("%s: cannot append the audit line", path);
	if (fd >= 0)
		close(fd);
}

static void what_of(int argc, char **argv, const char *result,
		    char *out, size_t n)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < argc && len + 1 < n; i++) {
		int k = snprintf(out + len, n - len, "%s%s",
				 i ? " " : "what=", argv[i]);

		len = k < 0 || (size_t)k >= n - len ? n : len + (size_t)k;
	}
	if (len + 1 < n)
		snprintf(out + len, n - len, ", result=%s", result);
}

int admin_change(struct admin *a, struct admin_req *r,
		 struct admin_sess *s, int argc, char **argv, struct sbuf *out,
		 char *err, size_t errlen)
{
	char what[1500];
	int rc;

	err[0] = '\0';
	rc = store_dir_command(a->dir, argc, argv, out, err, errlen);
	if (rc == -2)
		snprintf(err, errlen, "not a valid request");
	if (rc == 0 && store_dir_publish(a->dir, a->cfg->snapshot, a->creds,
					 a->senders, err, errlen) < 0)
		rc = -1;
	what_of(argc, argv, rc == 0 ? "ok" : err, what, sizeof(what));
	admin_audit(a, s->user, r->client, what);
	return rc == 0 ? 0 : -1;
}

int admin_passwd(struct admin *a, struct admin_req *r, struct admin_sess *s,
		 const char *addr, const char *pw, char *err, size_t errlen)
{
	char what[600];
	int rc;

	err[0] = '\0';
	rc = store_dir_passwd(a->dir, addr, pw, err, errlen);
	if (rc == 0 && store_dir_publish(a->dir, a->cfg->snapshot, a->creds,
					 a->senders, err, errlen) < 0)
		rc = -1;
	snprintf(what, sizeof(what), "what=user passwd %s, result=%s", addr,
		 rc == 0 ? "ok" : err);
	admin_audit(a, s->user, r->client, what);
	return rc;
}
