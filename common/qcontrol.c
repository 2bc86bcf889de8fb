/*
 * NAME
 *	qcontrol - the queue's control socket inside a running daemon
 * DESCRIPTION
 *	See qcontrol.h. Trusts the peer only as far as the socket's file
 *	mode does; commands are bounded to one short line.
 */
#include "qcontrol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "playdead.h"
#include "queue.h"

struct qctl {
	struct evloop *loop;
	struct queue *q;
	int fd;
	void (*changed)(void *);
	void *arg;
};

struct qctl_conn {
	struct qctl *ctl;
	struct conn *c;
	int answered;
};

static void ctl_close(void *arg, enum conn_event ev)
{
	struct qctl_conn *cc = arg;

	conn_free(cc->c);
	free(cc);
}

/* The commands of the daemon rather than its queue: 1 when cmd was one
 * (answered in out), else 0. */
static int daemon_command(struct qctl *ctl, const char *cmd,
			  struct sbuf *out)
{
	char ans[256];

	if (strcmp(cmd, "reload") == 0) {
		sbuf_puts(out, daemon_reload() == 0 ? "reloaded\n" :
			  "error: configuration not reloaded (see the log)\n");
		return 1;
	}
	if (strncmp(cmd, "play-dead", 9) == 0 &&
	    (cmd[9] == ' ' || cmd[9] == '\0')) {
		playdead_command(ctl->loop, cmd + 9, ans, sizeof(ans));
		sbuf_puts(out, ans);
		return 1;
	}
	return 0;
}

static void ctl_read(void *arg)
{
	struct qctl_conn *cc = arg;
	struct sbuf out;
	char *nl;

	if (cc->answered)
		return;
	nl = memchr(cc->c->in.data, '\n', cc->c->in.len);
	if (nl == NULL) {
		if (cc->c->in.len >= cc->c->in.max)
			conn_close_after_flush(cc->c);
		return;
	}
	*nl = '\0';
	if (nl > cc->c->in.data && nl[-1] == '\r')
		nl[-1] = '\0';
	cc->answered = 1;
	sbuf_init(&out, 64u * 1024 * 1024);
	if (daemon_command(cc->ctl, cc->c->in.data, &out)) {
		/* answered */
	} else if (cc->ctl->q == NULL) {
		sbuf_puts(&out, "error: no queue here: reload and play-dead "
			  "only\n");
	} else if (queue_control(cc->ctl->q, cc->c->in.data, &out) < 0 &&
		   out.len == 0) {
		sbuf_puts(&out, "error: command failed\n");
	}
	if (cc->ctl->q && queue_dirty(cc->ctl->q) &&
	    queue_sync(cc->ctl->q) < 0) {
		sbuf_reset(&out);
		sbuf_puts(&out, "error: cannot sync the queue\n");
	}
	log_info("control: %s", cc->c->in.data);
	conn_write(cc->c, out.data ? out.data : "", out.len);
	sbuf_free(&out);
	conn_close_after_flush(cc->c);
	if (cc->ctl->changed)
		cc->ctl->changed(cc->ctl->arg);
}

static const struct conn_ops ctl_ops = {
	.on_read = ctl_read,
	.on_close = ctl_close,
};

static void ctl_accept(void *arg, uint32_t events)
{
	struct qctl *ctl = arg;
	struct qctl_conn *cc;
	int fd;

	while ((fd = accept4(ctl->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		cc = calloc(1, sizeof(*cc));
		if (cc == NULL) {
			close(fd);
			continue;
		}
		cc->ctl = ctl;
		cc->c = conn_new(ctl->loop, fd, 4096, &ctl_ops, cc);
		if (cc->c == NULL) {
			close(fd);
			free(cc);
			continue;
		}
		conn_set_timeout(cc->c, 30);
	}
}

void qcontrol_listen(struct evloop *loop, struct queue *q, const char *path,
		     void (*changed)(void *arg), void *arg)
{
	static struct qctl ctl;
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		log_fatal("control socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ctl.loop = loop;
	ctl.q = q;
	ctl.changed = changed;
	ctl.arg = arg;
	ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (ctl.fd < 0)
		log_fatal("socket: %s", strerror(errno));
	unlink(path);
	old = umask(0177);
	if (bind(ctl.fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		log_fatal("bind %s: %s", path, strerror(errno));
	umask(old);
	if (listen(ctl.fd, 16) < 0 ||
	    evloop_add(loop, ctl.fd, EPOLLIN, ctl_accept, &ctl) < 0)
		log_fatal("listen %s: %s", path, strerror(errno));
}
