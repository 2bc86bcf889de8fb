/*
 * NAME
 *	store_imap_server - the IMAP listeners of the store
 * DESCRIPTION
 *	imap_listen (STARTTLS) and imaps_listen (implicit TLS) are bound
 *	before the privilege drop; a listener that would take passwords
 *	without TLS stops start-up. Accepted sockets become sessions
 *	(store_imap.c). Faces the network.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "store.h"
#include "store_imap.h"

void imap_bind(const struct store *st, int fds[2])
{
	const struct store_config *cfg = st->cfg;

	fds[0] = fds[1] = -1;
	if (cfg->imap_listen[0]) {
		store_check_listener(st, cfg->imap_listen, "imap_listen");
		fds[0] = daemon_listen(cfg->imap_listen);
	}
	if (cfg->imaps_listen[0]) {
		if (st->tls == NULL)
			log_fatal("imaps_listen %s needs tls_cert and tls_key",
				  cfg->imaps_listen);
		fds[1] = daemon_listen(cfg->imaps_listen);
	}
}

static void on_accept(struct imap_server *srv, int which)
{
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(srv->fds[which], NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("imap accept: %s", strerror(errno));
			return;
		}
		imap_sess_start(srv, fd, which);
	}
}

static void on_accept_plain(void *arg, uint32_t events)
{
	on_accept(arg, 0);
}

static void on_accept_tls(void *arg, uint32_t events)
{
	on_accept(arg, 1);
}

struct imap_server *imap_server_new(struct store *st, struct evloop *loop,
				    struct tls_ctx *tls, int fd, int fd_tls)
{
	struct imap_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->st = st;
	srv->loop = loop;
	srv->tls = tls;
	srv->fds[0] = fd;
	srv->fds[1] = fd_tls;
	srv->lim.line_max = LIM_IMAP_LINE;
	srv->lim.literal_max = LIM_IMAP_LITERAL;
	srv->lim.append_max = (size_t)st->cfg->max_message_size;
	srv->lim.args_max = LIM_IMAP_ARGS;
	srv->lim.depth_max = LIM_IMAP_DEPTH;
	srv->lim_preauth = srv->lim;
	srv->lim_preauth.literal_max = LIM_IMAP_PREAUTH_LITERAL;
	srv->lim_preauth.append_max = LIM_IMAP_PREAUTH_LITERAL;
	if ((fd >= 0 && evloop_add(loop, fd, EPOLLIN, on_accept_plain,
				   srv) < 0) ||
	    (fd_tls >= 0 && evloop_add(loop, fd_tls, EPOLLIN, on_accept_tls,
				       srv) < 0)) {
		free(srv);
		return NULL;
	}
	imap_notify_setup(srv, 1);
	imap_commit_start(srv);
	return srv;
}

void imap_server_free(struct imap_server **srvp)
{
	struct imap_server *srv = *srvp;
	int i;

	if (srv == NULL)
		return;
	imap_commit_stop(srv);
	while (srv->sessions)
		imap_sess_free(srv->sessions);
	imap_notify_setup(srv, 0);
	for (i = 0; i < 2; i++)
		if (srv->fds[i] >= 0) {
			evloop_del(srv->loop, srv->fds[i]);
			close(srv->fds[i]);
		}
	free(srv);
	*srvp = NULL;
}
