/*
 * NAME
 *	avscan_reload - new signatures without a restart, off the loop
 * DESCRIPTION
 *	Two triggers, one path: SIGHUP (stage_reload's "more" hook) and an
 *	inotify watch of clamav_database (its folder when it names one
 *	file), where freshclam renames new .cvd/.cld files into place. A
 *	burst of changes is waited out (debounce: the reload starts when
 *	nothing changed for AVSCAN_RELOAD_QUIET_MS). libclamav compiles a
 *	full database for seconds, so the load runs on a thread of its own;
 *	the old engine keeps scanning meanwhile and the new one is put in
 *	on the loop (the caller's install). A trigger during a load runs
 *	one more load after it. Reads no input from the network.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "avscan.h"
#include "evloop.h"
#include "log.h"
#include "workq.h"

struct avscan_reload {
	struct evloop *loop;
	struct workq *wq;		/* one thread: the compile */
	const struct avscan_config *cfg;
	void (*install)(struct avscan_engine *e);
	int ifd;			/* inotify, or -1 */
	struct ev_timer *quiet;		/* debounce */
	int busy, again;
	/* the load under way: its inputs and result */
	struct avscan_limits lim;
	char *path;
	struct avscan_engine *e;
	char err[400];
};

static void load_work(void *arg)
{
	struct avscan_reload *r = arg;

	r->e = avscan_clam_load(r->path, &r->lim, r->err, sizeof(r->err));
}

static void load_done(void *arg)
{
	struct avscan_reload *r = arg;

	r->busy = 0;
	if (r->e == NULL)
		log_error("reload: clamav_database %s: %s: the signatures in "
			  "use stay", r->path, r->err);
	else
		r->install(r->e);
	r->e = NULL;
	free(r->path);
	r->path = NULL;
	if (r->again) {
		r->again = 0;
		avscan_reload_request(r);
	}
}

void avscan_reload_request(struct avscan_reload *r)
{
	const struct avscan_config *c = r->cfg;
	struct avscan_limits lim = {c->max_scan_size, c->max_file_size,
				    c->max_recursion, c->max_files,
				    c->max_scan_time, c->scan_tmp_dir};

	if (r->busy) {
		r->again = 1;
		return;
	}
	/* the thread gets a copy: a SIGHUP may change cfg meanwhile */
	r->lim = lim;
	r->path = strdup(c->clamav_database);
	if (r->path == NULL ||
	    workq_submit(r->wq, load_work, load_done, r) < 0) {
		log_error("reload: out of memory: the signatures in use stay");
		free(r->path);
		r->path = NULL;
		return;
	}
	r->busy = 1;
}

static void quiet_done(void *arg)
{
	struct avscan_reload *r = arg;

	r->quiet = NULL;
	log_info("reload: clamav_database %s changed", r->cfg->clamav_database);
	avscan_reload_request(r);
}

static void on_inotify(void *arg, uint32_t events)
{
	struct avscan_reload *r = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct
							 inotify_event))));
	ssize_t n;

	(void)events;
	do
		n = read(r->ifd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	if (r->quiet)
		evloop_timer_cancel(r->loop, r->quiet);
	r->quiet = evloop_timer(r->loop, AVSCAN_RELOAD_QUIET_MS, quiet_done,
				r);
}

/* Watch the database folder; a failure only costs the automatic
 * reload (SIGHUP still works). */
static void watch(struct avscan_reload *r)
{
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			      IN_CREATE | IN_DELETE;
	const char *db = r->cfg->clamav_database;
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	if (stat(db, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", db);
	} else {
		snprintf(dir, sizeof(dir), "%s", db);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd < 0 || inotify_add_watch(r->ifd, dir, mask) < 0 ||
	    evloop_add(r->loop, r->ifd, EPOLLIN, on_inotify, r) < 0) {
		log_warn("reload: cannot watch %s (%m): new signatures need a "
			 "SIGHUP", dir);
		if (r->ifd >= 0)
			close(r->ifd);
		r->ifd = -1;
		return;
	}
	log_info("reload: watching %s for new signatures", dir);
}

struct avscan_reload *avscan_reload_new(struct evloop *loop,
					const struct avscan_config *cfg,
					void (*install)(struct avscan_engine *))
{
	struct avscan_reload *r = calloc(1, sizeof(*r));
	char err[256];

	if (r == NULL)
		log_fatal("out of memory");
	r->loop = loop;
	r->cfg = cfg;
	r->install = install;
	r->wq = workq_new(loop, 1, err, sizeof(err));
	if (r->wq == NULL)
		log_fatal("reload thread: %s", err);
	watch(r);
	return r;
}

void avscan_reload_free(struct avscan_reload **rp)
{
	struct avscan_reload *r = *rp;

	if (r == NULL)
		return;
	r->again = 0;
	workq_free(&r->wq);	/* a load under way finishes and installs */
	if (r->quiet)
		evloop_timer_cancel(r->loop, r->quiet);
	if (r->ifd >= 0) {
		evloop_del(r->loop, r->ifd);
		close(r->ifd);
	}
	free(r);
	*rp = NULL;
}
