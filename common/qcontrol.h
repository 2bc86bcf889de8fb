/*
 * NAME
 *	qcontrol - the queue's control socket inside a running daemon
 * DESCRIPTION
 *	Listens on a unix socket (mode 0600, so only the daemon's user and
 *	root may use it); each connection sends one command line ("list",
 *	"hold ID", ...), gets queue_control()'s answer after a queue_sync(),
 *	and is closed. sluice-queue is the client. "reload" and "play-dead
 *	..." are the daemon's (daemon_reload(), playdead_command()). Mail
 *	layer.
 */
#ifndef SLUICE_QCONTROL_H
#define SLUICE_QCONTROL_H

struct evloop;
struct queue;

/* Listen on path (an old socket file is replaced); q NULL: a daemon
 * without a queue (reload and play-dead only). changed(arg) runs after
 * a command that may have made mail ready (flush, release). Exits through
 * log_fatal() when the socket cannot be made. */
void qcontrol_listen(struct evloop *loop, struct queue *q, const char *path,
		     void (*changed)(void *arg), void *arg);

#endif
