/*
 * NAME
 *	avscan - stage C: antivirus with libclamav
 * DESCRIPTION
 *	Private header: configuration, the scan core (avscan_clam.c, the
 *	only file that sees libclamav), the quarantine, the LMTP hooks
 *	(trusted peers only, scan on the work queue, then queue or act on
 *	the verdict) and the milter mode (avscan_milter.c, the only file
 *	that sees libmilter).
 */
#ifndef SLUICE_AVSCAN_H
#define SLUICE_AVSCAN_H

#include <stddef.h>

#include "sbuf.h"
#include "smtp_server.h"
#include "spool.h"
#include "stage.h"

struct workq;

/* infected_action, in the order of its CFG_CHOICE list */
enum avscan_infected { AV_QUARANTINE, AV_DISCARD, AV_REJECT };
/* scan_error_action */
enum avscan_on_error { AV_TEMPFAIL, AV_ACCEPT };
/* limits_exceeded_action */
enum avscan_on_limits { AV_LIM_QUARANTINE, AV_LIM_TEMPFAIL, AV_LIM_REJECT,
			AV_LIM_ACCEPT };

struct avscan_config {
	char *listen;
	char *milter_listen;
	char *hostname;
	char *trusted_peers;
	char *next_hop;
	char *next_hop_mode;
	char *next_hop_tls;
	char *user;
	int syslog;
	char *clamav_database;
	long long scan_threads;
	long long large_message_size;
	long long large_scan_threads;
	int infected_action;
	char *quarantine_dir;
	char *scan_tmp_dir;
	int scan_error_action;
	int limits_exceeded_action;
	long long max_scan_size;
	long long max_file_size;
	long long max_recursion;
	long long max_files;
	long long max_scan_time;
	long long max_message_size;
	long long max_recipients;
	long long max_sessions;
	long long timeout;
	struct session_limits sess;
	struct stage_queue queue;
};

struct avscan_engine;
struct avscan_job;

struct avscan {
	const struct avscan_config *cfg;
	const struct avscan_engine *engine;
	char **peers;			/* trusted_peers, split */
	struct workq *wq;
	struct avscan_job *jobs;	/* scans under way */
	/* engines replaced by a reload, freed when no scan runs */
	struct avscan_engine *retired[4];
	size_t nretired;
	struct spool spool;
};

extern const struct smtp_hooks avscan_hooks;

/* Reload: scans from now on use e; old (the engine in use until now) is
 * freed once the scans under way are done. 0, or -1 when too many older
 * engines are still in use (nothing changes then). */
int avscan_engine_swap(struct avscan *av, struct avscan_engine *e,
		       struct avscan_engine *old);

/* What a scan found. LIMITS: libclamav stopped at one of its limits
 * (depth, files, sizes, time), so part of the message was not scanned:
 * never clean. */
enum avscan_verdict { AVSCAN_CLEAN, AVSCAN_VIRUS, AVSCAN_LIMITS,
		      AVSCAN_ERROR };

/* Engine settings: libclamav's CL_ENGINE_MAX_* limits (max_scan_time in
 * seconds), and the folder
 * where it unpacks MIME parts and archives while scanning (NULL or "":
 * $TMPDIR, else /tmp). */
struct avscan_limits {
	long long max_scan_size;
	long long max_file_size;
	long long max_recursion;
	long long max_files;
	long long max_scan_time;
	const char *tmp_dir;
};

/* Initialise libclamav, load the signatures of path (a directory or one
 * database file), set the limits and compile. NULL with a reason in err
 * when nothing loads. The engine is read-only afterwards: any number of
 * threads may scan with it at once. */
struct avscan_engine *avscan_clam_load(const char *path,
				       const struct avscan_limits *lim,
				       char *err, size_t errlen);

/* Signatures loaded into e. */
unsigned avscan_clam_signatures(const struct avscan_engine *e);

/* Scan len bytes at data (a whole message) from memory. VIRUS puts the
 * signature name in name, LIMITS the limit (Heuristics.Limits.Exceeded.*,
 * as clamd names it), ERROR the reason. Thread-safe. */
enum avscan_verdict avscan_clam_scan(const struct avscan_engine *e,
				     const char *data, size_t len,
				     char *name, size_t namelen);

/* The same for a message in the file open on fd (read from offset 0;
 * the caller closes it). Thread-safe. */
enum avscan_verdict avscan_clam_scan_fd(const struct avscan_engine *e,
					int fd, char *name, size_t namelen);

/* libclamav's version, e.g. "1.4.6". */
const char *avscan_clam_version(void);

/* Free *ep (no scan may be running) and set it to NULL. */
void avscan_clam_free(struct avscan_engine **ep);

/* Quiet time after the last change in the database folder before the
 * reload starts: freshclam replaces several files in a row. */
#define AVSCAN_RELOAD_QUIET_MS 2000

struct evloop;
struct avscan_reload;

/* Watch cfg->clamav_database (inotify) and start the reload thread;
 * install(e) runs on the loop with each newly compiled engine. Exits
 * through log_fatal() when the thread cannot start. */
struct avscan_reload *avscan_reload_new(struct evloop *loop,
					const struct avscan_config *cfg,
					void (*install)(struct avscan_engine *));

/* Compile the signatures again on the reload thread (SIGHUP, or the
 * folder changed); one more time after a load under way. */
void avscan_reload_request(struct avscan_reload *r);

/* Wait for a load under way (installed), stop watching, free *rp. */
void avscan_reload_free(struct avscan_reload **rp);

/* Milter mode (sluice-avscan -m): serve libmilter on cfg->milter_listen
 * until a stop signal, scanning with e. Returns the exit code. */
int avscan_milter_run(const struct avscan_config *cfg,
		      const struct avscan_engine *e);

#endif
