/*
 * NAME
 *	sluice-queue - list and edit a Sluice queue
 * SYNOPSIS
 *	sluice-queue -d queue_dir list | flush | show ID | hold ID |
 *	    release ID | delete ID | reload |
 *	    play-dead refuse|hang|421|slow|none SECONDS [DELAY_MS]
 * DESCRIPTION
 *	When the daemon owning the queue runs, the command goes to it over
 *	queue_dir/control; otherwise the tool opens the queue itself (the
 *	queue lock keeps the two from meeting); reload and play-dead need
 *	the daemon (see playdead.h). list and show open it read-only: they
 *	create, truncate and unlink nothing. Started as root, the tool first
 *	becomes the owner of queue_dir, so whatever it writes stays readable
 *	by the daemon. Exit 0 on success, 1 when the command failed, 2 on
 *	usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "queue.h"

static void usage(void)
{
	fprintf(stderr, "usage: sluice-queue -d queue_dir list | flush | "
		"show ID | hold ID | release ID | delete ID | reload |\n"
		"    play-dead refuse|hang|421|slow|none SECONDS [DELAY_MS]\n");
	exit(2);
}

/* Returns the exit status, or -1 when no daemon listens. */
static int online(const char *dir, const char *cmd)
{
	struct sockaddr_un sun;
	char buf[65536];
	ssize_t n;
	int fd, first = 1, failed = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
			     QUEUE_CONTROL_SOCK) >= sizeof(sun.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
	    write(fd, "\n", 1) != 1) {
		close(fd);
		fprintf(stderr, "sluice-queue: write: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (first && n >= 6 && memcmp(buf, "error:", 6) == 0)
			failed = 1;
		first = 0;
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	return failed;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	char cmd[256], err[1024];
	struct queue *q;
	struct sbuf out;
	struct stat st;
	size_t len = 0;
	int c, rc, ro, i;

	while ((c = getopt(argc, argv, "d:")) != -1) {
		if (c == 'd')
			dir = optarg;
		else
			usage();
	}
	if (dir == NULL || optind >= argc || argc - optind > 4)
		usage();
	cmd[0] = '\0';
	for (i = optind; i < argc && len < sizeof(cmd); i++) {
		rc = snprintf(cmd + len, sizeof(cmd) - len, "%s%s",
			      i > optind ? " " : "", argv[i]);
		len += rc > 0 ? (size_t)rc : 0;
	}
	if (len >= sizeof(cmd))
		usage();
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sluice-queue: %s: %s\n", dir,
			errno ? strerror(errno) : "not a directory");
		return 1;
	}
	if (daemon_become_owner("sluice-queue", dir, &st) < 0)
		return 1;
	rc = online(dir, cmd);
	if (rc >= 0)
		return rc;
	if (strcmp(argv[optind], "reload") == 0 ||
	    strcmp(argv[optind], "play-dead") == 0) {
		fprintf(stderr, "sluice-queue: no daemon listens on %s/%s\n",
			dir, QUEUE_CONTROL_SOCK);
		return 1;
	}
	log_open("sluice-queue", 0);
	ro = strcmp(argv[optind], "list") == 0 ||
	     strcmp(argv[optind], "show") == 0;
	q = queue_open_mode(dir, ro ? QUEUE_RDONLY : 0, err, sizeof(err));
	if (q == NULL) {
		fprintf(stderr, "sluice-queue: %s\n", err);
		return 1;
	}
	sbuf_init(&out, (size_t)1 << 30);
	rc = queue_control(q, cmd, &out) < 0 ? 1 : 0;
	if (queue_sync(q) < 0)
		rc = 1;

	fwrite(out.data ? out.data : "", 1, out.len, stdout);
	sbuf_free(&out);
	queue_close(q);
	return rc;
}
