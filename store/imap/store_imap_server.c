/*
 * NAME
 *	store_imap_server - the IMAP listeners of the store
 * DESCRIPTION
 *	imap_listen (STARTTLS) and imaps_listen (implicit TLS) are bound
 *	before the privilege drop; a listener that would take passwords
 *	without TLS stops start-up. Accepted sockets become sessions
 *	(store_imap.c). The command table lives here, above the core and
 *	the command files: the one place that knows them all. Faces the
 *	network.
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
#include "store_imap_cmd.h"

#define ST_N IMAP_ST_N
#define ST_A IMAP_ST_A
#define ST_S IMAP_ST_S

/* The commands: name, handler, states, UID prefix allowed, sequence
 * numbers (RFC 3501 7.4.1). */
static const struct imap_cmd_def commands[] = {
	{"CAPABILITY", imap_cmd_capability, ST_N | ST_A | ST_S, 0, 0},
	{"NOOP", imap_cmd_noop, ST_N | ST_A | ST_S, 0, 0},
	{"LOGOUT", imap_cmd_logout, ST_N | ST_A | ST_S, 0, 0},
	{"ID", imap_cmd_id, ST_N | ST_A | ST_S, 0, 0},
	{"STARTTLS", imap_cmd_starttls, ST_N, 0, 0},
	{"LOGIN", imap_cmd_login, ST_N, 0, 0},
	{"AUTHENTICATE", imap_cmd_authenticate, ST_N, 0, 0},
	{"ENABLE", imap_cmd_enable, ST_A | ST_S, 0, 0},
	{"NAMESPACE", imap_cmd_namespace, ST_A | ST_S, 0, 0},
	{"SELECT", imap_cmd_select, ST_A | ST_S, 0, 0},
	{"EXAMINE", imap_cmd_select, ST_A | ST_S, 0, 0},
	{"CREATE", imap_cmd_create, ST_A | ST_S, 0, 0},
	{"DELETE", imap_cmd_delete, ST_A | ST_S, 0, 0},
	{"RENAME", imap_cmd_rename, ST_A | ST_S, 0, 0},
	{"SUBSCRIBE", imap_cmd_subscribe, ST_A | ST_S, 0, 0},
	{"UNSUBSCRIBE", imap_cmd_subscribe, ST_A | ST_S, 0, 0},
	{"LIST", imap_cmd_list, ST_A | ST_S, 0, 0},
	{"LSUB", imap_cmd_list, ST_A | ST_S, 0, 0},
	{"STATUS", imap_cmd_status, ST_A | ST_S, 0, 0},
	{"APPEND", imap_cmd_append, ST_A | ST_S, 0, 0},
	{"IDLE", imap_cmd_idle, ST_A | ST_S, 0, 0},
	{"COMPRESS", imap_cmd_compress, ST_A | ST_S, 0, 0},
	{"NOTIFY", imap_cmd_notify, ST_A | ST_S, 0, 0},
	{"GETQUOTA", imap_cmd_getquota, ST_A | ST_S, 0, 0},
	{"GETQUOTAROOT", imap_cmd_getquotaroot, ST_A | ST_S, 0, 0},
	{"SETQUOTA", imap_cmd_setquota, ST_A | ST_S, 0, 0},
	{"CHECK", imap_cmd_check, ST_S, 0, 0},
	{"CLOSE", imap_cmd_close, ST_S, 0, 0},
	{"UNSELECT", imap_cmd_unselect, ST_S, 0, 0},
	{"EXPUNGE", imap_cmd_expunge, ST_S, 1, 0},
	{"SEARCH", imap_cmd_search, ST_S, 1, 1},
	{"SORT", imap_cmd_sort, ST_S, 1, 1},
	{"THREAD", imap_cmd_thread, ST_S, 1, 1},
	{"FETCH", imap_cmd_fetch, ST_S, 1, 1},
	{"STORE", imap_cmd_store, ST_S, 1, 1},
	{"COPY", imap_cmd_copy, ST_S, 1, 0},
	{"MOVE", imap_cmd_copy, ST_S, 1, 0},
};

static const struct imap_commands command_table = {
	.defs = commands,
	.ndefs = sizeof(commands) / sizeof(commands[0]),
	.capabilities = imap_capabilities,
	.sasl_line = imap_sasl_line,
	.idle_line = imap_idle_line,
	.fetch_resume = imap_fetch_resume,
	.fetch_free = imap_fetch_free,
	.fetch_att_parse = imap_fetch_att_parse,
	.fetch_att_free = imap_fetch_att_free,
	.fetch_att_send = imap_fetch_att_send,
};

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
	srv->cmds = &command_table;
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
