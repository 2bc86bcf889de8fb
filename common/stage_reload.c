/*
 * NAME
 *	stage_reload - what a reload (SIGHUP) changes in a running stage
 * DESCRIPTION
 *	See stage_reload.h.
 */
#include "stage_reload.h"

#include <string.h>

#include "directory.h"
#include "forward.h"
#include "log.h"
#include "route.h"
#include "smtp_server.h"
#include "tls.h"

static void limits(struct stage_live *sl)
{
	struct smtp_server_cfg sc;
	size_t i;

	memset(&sc, 0, sizeof(sc));
	sc.max_size = *sl->max_size;
	sc.max_rcpts = *sl->max_rcpts;
	sc.max_sessions = *sl->max_sessions;
	sc.timeout = *sl->timeout;
	sc.max_header = sl->max_header ? *sl->max_header : 0;
	sc.sess = *sl->sess;
	for (i = 0; i < 2; i++)
		if (sl->srv[i])
			smtp_server_set_limits(sl->srv[i], &sc);
}

static void certificate(struct stage_live *sl)
{
	char err[512];

	if (sl->tls == NULL)
		return;
	if (tls_server_reload(sl->tls, *sl->tls_cert, *sl->tls_key, err,
			      sizeof(err)) < 0)
		log_error("reload: TLS: %s: the certificate in use stays", err);
	else
		log_info("reload: certificate %s read", *sl->tls_cert);
}

static void routes(struct stage_live *sl)
{
	struct route_table t;
	char err[512];

	if (sl->fwd == NULL || sl->routes == NULL)
		return;
	memset(&t, 0, sizeof(t));
	if (sl->routes(&t, err, sizeof(err)) < 0) {
		log_error("reload: next hops: %s: the hops in use stay", err);
		route_table_free(&t);
		return;
	}
	forward_set_routes(sl->fwd, &t);
}

static void snapshot(struct stage_live *sl)
{
	struct directory *d;
	char err[512];

	if (sl->dir == NULL || (*sl->dir_path)[0] == '\0')
		return;
	d = directory_load(*sl->dir_path, err, sizeof(err));
	if (d == NULL) {
		log_error("reload: directory: %s: the snapshot in use stays",
			  err);
		return;
	}
	directory_free(*sl->dir);
	*sl->dir = d;
	log_info("reload: directory %s read", *sl->dir_path);
}

static void apply(void *arg)
{
	struct stage_live *sl = arg;

	limits(sl);
	certificate(sl);
	routes(sl);
	snapshot(sl);
	if (sl->more)
		sl->more(sl->arg);
}

void stage_reload_start(struct evloop *loop, const char *const *live,
			struct stage_live *sl)
{
	daemon_on_reload(loop, live, apply, sl);
}
