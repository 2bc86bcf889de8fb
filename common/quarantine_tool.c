/*
 * NAME
 *	sluice-quarantine - list, show, release and delete quarantined mail
 * SYNOPSIS
 *	sluice-quarantine -d quarantine_dir list | show ID |
 *	    release ID lmtp:host:port|smtp:host:port | delete ID | expire AGE
 * DESCRIPTION
 *	Works on avscan's and spamd's quarantine_dir alike: one file per
 *	message, the envelope in front (quarantine.h). release sends the
 *	message, without that block, with its original sender and
 *	recipients to the given hop over LMTP or SMTP (no claims: the hop
 *	sees an untrusted local client) and deletes the file once every
 *	recipient was accepted; otherwise the file stays and the replies
 *	are printed. expire deletes files older than AGE (30s, 10m, 7d).
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "limits_rfc.h"
#include "quarantine.h"

#define PROG "sluice-quarantine"

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " -d quarantine_dir list | show ID |\n"
		"    release ID lmtp:host:port|smtp:host:port | delete ID | "
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

/* One reply (multi-line joined to its last line) into line; its code,
 * or -1 when the connection ended or the reply was malformed. */
static int reply(FILE *in, char *line, size_t n)
{
	size_t len;

	for (;;) {
		if (fgets(line, (int)n, in) == NULL)
			return -1;
		len = strlen(line);
		if (len < 4 || line[len - 1] != '\n')
			return -1;
		while (len > 0 && (line[len - 1] == '\n' ||
				   line[len - 1] == '\r'))
			line[--len] = '\0';
		if (line[3] != '-')
			return atoi(line);
	}
}

/* Write the message dot-stuffed (RFC 5321 4.5.2), then ".". 0 or -1. */
static int send_data(FILE *out, const char *p, size_t len)
{
	const char *eol;
	size_t n;

	while (len > 0) {
		eol = memchr(p, '\n', len);
		n = eol ? (size_t)(eol - p) + 1 : len;
		if (p[0] == '.' && fputc('.', out) == EOF)
			return -1;
		if (fwrite(p, 1, n, out) != n)
			return -1;
		if (eol == NULL && fputs("\r\n", out) == EOF)
			return -1;
		p += n;
		len -= n;
	}
	return fputs(".\r\n", out) == EOF || fflush(out) == EOF ? -1 : 0;
}

/* Connect to "lmtp:host:port" / "smtp:host:port"; *lmtp set. fd or -1. */
static int hop_connect(const char *hop, int *lmtp)
{
	struct sockaddr_storage ss;
	unsigned int sl;
	int fd;

	if (strncmp(hop, "lmtp:", 5) == 0)
		*lmtp = 1;
	else if (strncmp(hop, "smtp:", 5) == 0)
		*lmtp = 0;
	else
		return -1;
	if (daemon_resolve(hop + 5, &ss, &sl) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The SMTP/LMTP dialogue for e and body on in/out: how many recipients
 * the hop accepted in the end, or -1 when the transaction failed. */
static int transact(FILE *in, FILE *out, int lmtp, const struct envelope *e,
		    const char *body, size_t blen)
{
	char line[1024];
	size_t i, ok = 0;
	int *acc = calloc(e->nrcpt, sizeof(int));
	int code, done = -1;

	if (acc == NULL || reply(in, line, sizeof(line)) != 220)
		goto out;
	fprintf(out, "%s localhost\r\n", lmtp ? "LHLO" : "EHLO");
	fflush(out);
	if (reply(in, line, sizeof(line)) != 250)
		goto out;
	fprintf(out, "MAIL FROM:<%s>\r\n", e->from);
	fflush(out);
	if ((code = reply(in, line, sizeof(line))) != 250) {
		fprintf(stderr, PROG ": MAIL: %s\n", line);
		goto out;
	}
	for (i = 0; i < e->nrcpt; i++) {
		fprintf(out, "RCPT TO:<%s>\r\n", e->rcpts[i].addr);
		fflush(out);
		code = reply(in, line, sizeof(line));
		acc[i] = code / 100 == 2;
		ok += (size_t)acc[i];
		if (!acc[i])
			fprintf(stderr, PROG ": <%s>: %s\n", e->rcpts[i].addr,
				line);
	}
	if (ok == 0)
		goto out;
	fputs("DATA\r\n", out);
	fflush(out);
	if (reply(in, line, sizeof(line)) != 354 ||
	    send_data(out, body, blen) < 0)
		goto out;
	/* LMTP: one reply per accepted recipient (RFC 2033 4.2) */
	for (i = 0, done = 0; i < e->nrcpt && (lmtp || i == 0); i++) {
		if (lmtp && !acc[i])
			continue;
		if (reply(in, line, sizeof(line)) / 100 == 2) {
			done += lmtp ? 1 : (int)ok;
		} else {
			fprintf(stderr, PROG ": end of data: %s\n", line);
		}
	}
	fputs("QUIT\r\n", out);
	fflush(out);
out:
	free(acc);
	return done;
}

static int cmd_release(const char *dir, const char *id, const char *hop)
{
	char path[4096], reason[200], err[256];
	struct envelope e;
	struct sbuf f;
	size_t off;
	FILE *in = NULL, *out = NULL;
	int fd = -1, fd2, lmtp, got, rc = 1;

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
	errno = 0;
	if ((fd = hop_connect(hop, &lmtp)) < 0) {
		fprintf(stderr, PROG ": %s: cannot connect: %s\n", hop,
			errno ? strerror(errno) : "not lmtp: or smtp:");
		goto out;
	}
	fd2 = dup(fd);
	if (fd2 < 0 || (in = fdopen(fd2, "r")) == NULL ||
	    (out = fdopen(fd, "w")) == NULL) {
		if (fd2 >= 0 && in == NULL)
			close(fd2);
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		goto out;
	}
	fd = -1;	/* out has it */
	got = transact(in, out, lmtp, &e, f.data + off, f.len - off);
	if (got == (int)e.nrcpt) {
		if (unlink(path) < 0)
			fprintf(stderr, PROG ": %s: %s\n", path,
				strerror(errno));
		printf("%s: released to %s, %zu recipient(s)\n", id, hop,
		       e.nrcpt);
		rc = 0;
	} else {
		printf("%s: %d of %zu recipient(s) accepted by %s; kept\n", id,
		       got < 0 ? 0 : got, e.nrcpt, hop);
	}
out:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
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
	if (strcmp(cmd, "release") == 0 && n == 2)
		return cmd_release(dir, argv[optind + 1], argv[optind + 2]);
	usage();
	return 2;
}
