/*
 * NAME
 *	sluice-quarantine - list, show, release and delete quarantined mail
 * SYNOPSIS
 *	sluice-quarantine -d quarantine_dir list | show ID |
 *	    release ID [lmtp:host:port|smtp:host:port] | delete ID |
 *	    expire AGE
 * DESCRIPTION
 *	Works on avscan's and spamd's quarantine_dir alike: one file per
 *	message, the envelope in front (quarantine.h). release sends the
 *	message, without that block, with its original sender and
 *	recipients to the given hop over LMTP or SMTP (no claims: the hop
 *	sees an untrusted local client), or without one to the next hops
 *	the stage noted in the folder (QUARANTINE_HOPS: its next_hop and
 *	domain_routes, by recipient domain, hops in order until one
 *	answers), and deletes the file once every recipient was accepted;
 *	otherwise the file stays and the replies are printed. expire
 *	deletes files older than AGE (30s, 10m, 7d), the note excepted.
 *	Started as root, the tool first becomes the owner of the folder,
 *	as sluice-queue does. The files are trusted no more than their
 *	parser checks (quarantine.c); IDs are file names without '/'.
 *	Exit 0 on success, 1 when the command failed, 2 on usage errors.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "limits_rfc.h"
#include "quarantine.h"
#include "route.h"
#include "smtp_send.h"

#define PROG "sluice-quarantine"

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " -d quarantine_dir list | show ID |\n"
		"    release ID [lmtp:host:port|smtp:host:port] | delete ID | "
		"expire AGE\n");
	exit(2);
}

/* dir/id into path, id a plain file name. 0 or -1 (message printed). */
static int id_path(const char *dir, const char *id, char *path, size_t n)
{
	if (id[0] == '\0' || id[0] == '.' || strchr(id, '/') ||
	    (size_t)snprintf(path, n, "%s/%s", dir, id) >= n) {
		fprintf(stderr, PROG ": %s: not a quarantine ID\n", id);
		return -1;
	}
	return 0;
}

/* The whole file (up to max bytes) into out. 0 or -1 (printed). */
static int slurp(const char *path, size_t max, struct sbuf *out)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 && out->len < max)
		if (sbuf_append(out, buf, (size_t)n) < 0)
			break;
	close(fd);
	if (n < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int cmd_list(const char *dir)
{
	struct dirent *de;
	struct envelope e;
	struct sbuf f;
	struct stat st;
	char path[4096], reason[200], err[256], when[32];
	size_t off, count = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    id_path(dir, de->d_name, path, sizeof(path)) < 0 ||
		    lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* the block is at the front: its first megabyte will do */
		sbuf_init(&f, (size_t)2 << 20);
		memset(&e, 0, sizeof(e));
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
			 localtime(&st.st_mtime));
		if (slurp(path, (size_t)1 << 20, &f) == 0 &&
		    quarantine_parse(f.data ? f.data : "", f.len, &e, &off,
				     reason, sizeof(reason), err,
				     sizeof(err)) == 0) {
			printf("%s %10lld %s <%s> %zu rcpt(s) %s\n", de->d_name,
			       (long long)st.st_size, when, e.from, e.nrcpt,
			       reason);
			envelope_free(&e);
		} else {
			printf("%s %10lld %s unreadable: %s\n", de->d_name,
			       (long long)st.st_size, when, err);
		}
		sbuf_free(&f);
		count++;
	}
	closedir(d);
	printf("-- %zu message(s)\n", count);
	return 0;
}

static int cmd_show(const char *dir, const char *id)
{
	char path[4096];
	struct sbuf f;
	int rc = 1;

	sbuf_init(&f, (size_t)LIM_MSG_SIZE_MAX + (64 << 20));
	if (id_path(dir, id, path, sizeof(path)) == 0 &&
	    slurp(path, f.max, &f) == 0) {
		fwrite(f.data ? f.data : "", 1, f.len, stdout);
		rc = 0;
	}
	sbuf_free(&f);
	return rc;
}

static int cmd_delete(const char *dir, const char *id)
{
	char path[4096];

	if (id_path(dir, id, path, sizeof(path)) < 0)
		return 1;
	if (unlink(path) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("%s: deleted\n", id);
	return 0;
}

static int cmd_expire(const char *dir, const char *age)
{
	struct cfg_param p = {"AGE", CFG_TIME, NULL, NULL, 0, 0, NULL};
	long long secs;
	struct dirent *de;
	struct stat st;
	char path[4096], err[256];
	time_t now = time(NULL);
	size_t n = 0;
	int rc = 0;
	DIR *d;

	p.var = &secs;
	p.min = 0;
	p.max = 100LL * 365 * 86400;
	if (config_parse_value(&p, age, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": expire: %s\n", err);
		return 2;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		/* the writers' temporary files too: a crash leaves them */
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, QUARANTINE_HOPS) == 0 ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path) ||
		    lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < secs)
			continue;
		if (unlink(path) < 0) {
			fprintf(stderr, PROG ": %s: %s\n", path,
				strerror(errno));
			rc = 1;
		} else {
			n++;
		}
	}
	closedir(d);
	printf("-- %zu message(s) older than %s deleted\n", n, age);
	return rc;
}

/* Seconds allowed for each reply of the hop. */
#define HOP_TIMEOUT 300

/* Send the message to the recipients of e that route r takes
 * (all of them when r is NULL) through hop, else r's hops in order
 * until one answers. How many accepted it; the hop used into used. */
static size_t release_to(const struct envelope *e, struct route_table *t,
			 struct route *r, const char *hop, const char *body,
			 size_t blen, char *used, size_t usedlen)
{
	struct envelope sub;
	char h[128], err[2048];
	size_t i, k;
	int got = -1;

	memset(&sub, 0, sizeof(sub));
	sub.from = e->from;
	sub.rcpts = calloc(e->nrcpt + 1, sizeof(*sub.rcpts));
	if (sub.rcpts == NULL)
		return 0;
	for (i = 0; i < e->nrcpt; i++)
		if (r == NULL || route_for(t, e->rcpts[i].addr) == r)
			sub.rcpts[sub.nrcpt++] = e->rcpts[i];
	for (k = 0; got < 0 && (hop ? k < 1 : k < r->nhops); k++) {
		if (hop == NULL)
			snprintf(h, sizeof(h), "%s:%s",
				 r->hops[k].lmtp ? "lmtp" : "smtp",
				 r->hops[k].hostport);
		snprintf(used, usedlen, "%s", hop ? hop : h);
		got = smtp_send(used, HOP_TIMEOUT, &sub, body, blen, err,
				sizeof(err));
		if (err[0])
			fprintf(stderr, PROG ": %s: %s\n", used, err);
	}
	if (r != NULL && r->dns)
		fprintf(stderr, PROG ": the next hop is mx: name a hop\n");
	free(sub.rcpts);
	return got < 0 ? 0 : (size_t)got;
}

/* The next hops the stage noted in dir (quarantine_note_hops) into t.
 * 0 or -1 (printed). */
static int noted_hops(const char *dir, struct route_table *t)
{
	char *next_hop = NULL, *routes = NULL, path[4096], err[512];
	const struct cfg_param table[] = {
		{"next_hop", CFG_STR, "", &next_hop, 0, 0, NULL},
		{"domain_routes", CFG_STR, "", &routes, 0, 0, NULL},
		{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
	};
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, QUARANTINE_HOPS);
	if (access(path, R_OK) < 0)
		fprintf(stderr, PROG ": %s: %s: no hop noted by the stage; "
			"name one\n", path, strerror(errno));
	else if (config_load(table, path, err, sizeof(err)) < 0 ||
		 route_table_init(t, next_hop, routes, "ordered", err,
				  sizeof(err)) < 0)
		fprintf(stderr, PROG ": %s: %s\n", path, err);
	else
		rc = 0;
	free(next_hop);
	free(routes);
	return rc;
}

/* Release to hop, or (NULL) to the stage's own next hops by recipient
 * domain, as it would have forwarded the message. */
static int cmd_release(const char *dir, const char *id, const char *hop)
{
	char path[4096], reason[200], err[256], used[128], hops[600] = "";
	struct route_table t = {NULL, 0};
	struct envelope e;
	struct route **done = NULL;
	struct sbuf f;
	size_t off, i, j, got = 0;
	int rc = 1;

	memset(&e, 0, sizeof(e));
	sbuf_init(&f, (size_t)LIM_MSG_SIZE_MAX + (64 << 20));
	if (id_path(dir, id, path, sizeof(path)) < 0 ||
	    slurp(path, f.max, &f) < 0)
		goto out;
	if (quarantine_parse(f.data ? f.data : "", f.len, &e, &off, reason,
			     sizeof(reason), err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", id, err);
		goto out;
	}
	if (hop != NULL) {
		got = release_to(&e, NULL, NULL, hop, f.data + off,
				 f.len - off, hops, sizeof(hops));
	} else {
		if (noted_hops(dir, &t) < 0 ||
		    (done = calloc(e.nrcpt + 1, sizeof(*done))) == NULL)
			goto out;
		/* one transaction per route the recipients take */
		for (i = 0; i < e.nrcpt; i++) {
			done[i] = route_for(&t, e.rcpts[i].addr);
			for (j = 0; j < i && done[j] != done[i]; j++)
				;
			if (j < i)
				continue;
			got += release_to(&e, &t, done[i], NULL, f.data + off,
					  f.len - off, used, sizeof(used));
			j = strlen(hops);
			snprintf(hops + j, sizeof(hops) - j, "%s%s",
				 j ? ", " : "", used);
		}
	}
	if (got == e.nrcpt) {
		if (unlink(path) < 0)
			fprintf(stderr, PROG ": %s: %s\n", path,
				strerror(errno));
		printf("%s: released to %s, %zu recipient(s)\n", id, hops,
		       e.nrcpt);
		rc = 0;
	} else {
		printf("%s: %zu of %zu recipient(s) accepted by %s; kept\n",
		       id, got, e.nrcpt, hops);
	}
out:
	free(done);
	route_table_free(&t);
	envelope_free(&e);
	sbuf_free(&f);
	return rc;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *cmd;
	struct stat st;
	int c, n;

	while ((c = getopt(argc, argv, "d:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			usage();
	}
	if (dir == NULL || optind >= argc)
		usage();
	cmd = argv[optind];
	signal(SIGPIPE, SIG_IGN);	/* a hop that hangs up: an error */
	n = argc - optind - 1;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, PROG ": %s: %s\n", dir,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (daemon_become_owner(PROG, dir, &st) < 0)
		return 1;
	if (strcmp(cmd, "list") == 0 && n == 0)
		return cmd_list(dir);
	if (strcmp(cmd, "show") == 0 && n == 1)
		return cmd_show(dir, argv[optind + 1]);
	if (strcmp(cmd, "delete") == 0 && n == 1)
		return cmd_delete(dir, argv[optind + 1]);
	if (strcmp(cmd, "expire") == 0 && n == 1)
		return cmd_expire(dir, argv[optind + 1]);
	if (strcmp(cmd, "release") == 0 && (n == 1 || n == 2))
		return cmd_release(dir, argv[optind + 1],
				   n == 2 ? argv[optind + 2] : NULL);
	usage();
	return 2;
}
