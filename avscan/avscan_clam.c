/*
 * NAME
 *	avscan_clam - the scan core: libclamav behind four functions
 * DESCRIPTION
 *	The only file that includes clamav.h (STYLE.md: one adapter per
 *	library); libclamav's return codes become avscan_verdict here. The
 *	engine is loaded and compiled once at start-up; after
 *	cl_engine_compile() libclamav allows any number of threads to scan
 *	with it at once, so the LMTP workers and libmilter's threads share
 *	it read-only. A message is scanned from memory through an fmap
 *	(cl_fmap_open_memory): no temporary file of ours. libclamav itself
 *	still writes what it decodes (every MIME part, archive members) to
 *	files in its temporary folder and removes them after the scan: that
 *	folder is scan_tmp_dir, private to the daemon's user. The bytes
 *	scanned are whatever a peer sent: libclamav's limits
 *	(max_scan_size, max_file_size, max_recursion, max_files,
 *	max_scan_time) bound the work. A scan cut short at a limit must not
 *	pass for clean (EICAR under 25 nested zips would): it is scanned
 *	with CL_SCAN_HEURISTIC_EXCEEDS_MAX, so libclamav names the limit as
 *	Heuristics.Limits.Exceeded.* (as clamd's AlertExceedsMax does; a
 *	real signature found later still wins), and that, or a limit
 *	error code, is the verdict AVSCAN_LIMITS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clamav.h>

#include "avscan.h"
#include "log.h"
#include "metrics.h"

/* libclamav 1.4 answers CL_CLEAN when it could not finish, e.g. when it
 * cannot create its temporary folder: even a bare EICAR then passes. It
 * does say so through the message callback, on the scanning thread, so
 * a scan that logged an error is a failed scan, never a clean one. */
static _Thread_local unsigned scan_errors;
static _Thread_local char scan_error[200];

struct avscan_engine {
	struct cl_engine *cl;
	unsigned signatures;
	long long max_file_size;
};

/* libclamav's own messages: errors and warnings into our log, the rest
 * (info, debug) dropped. Called from any scanning thread. */
static void clam_msg(enum cl_msg severity, const char *fullmsg,
		     const char *msg, void *context)
{
	char safe[512];
	size_t n;

	if (severity != CL_MSG_ERROR && severity != CL_MSG_WARN)
		return;
	log_safe(safe, sizeof(safe), msg ? msg : "");
	n = strlen(safe);
	while (n > 0 && (safe[n - 1] == '?' || safe[n - 1] == ' '))
		safe[--n] = '\0';	/* the message's own newline */
	if (severity == CL_MSG_ERROR) {
		scan_errors++;
		snprintf(scan_error, sizeof(scan_error), "libclamav: %.180s",
			 safe);
		log_error("libclamav: %s", safe);
	}
	else
		log_warn("libclamav: %s", safe);
}

static int set_limit(struct cl_engine *cl, enum cl_engine_field f,
		     long long v, const char *name, char *err, size_t errlen)
{
	cl_error_t rc = cl_engine_set_num(cl, f, v);

	if (rc == CL_SUCCESS)
		return 0;
	snprintf(err, errlen, "libclamav: cannot set %s to %lld: %s", name,
		 v, cl_strerror(rc));
	return -1;
}

struct avscan_engine *avscan_clam_load(const char *path,
				       const struct avscan_limits *lim,
				       char *err, size_t errlen)
{
	static int initialised;
	struct avscan_engine *e;
	cl_error_t rc;

	if (!initialised) {
		cl_set_clcb_msg(clam_msg);
		rc = cl_init(CL_INIT_DEFAULT);
		if (rc != CL_SUCCESS) {
			snprintf(err, errlen, "libclamav: cl_init: %s",
				 cl_strerror(rc));
			return NULL;
		}
		initialised = 1;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->cl = cl_engine_new()) == NULL) {
		free(e);
		snprintf(err, errlen, "libclamav: out of memory");
		return NULL;
	}
	e->max_file_size = lim->max_file_size;
	if (set_limit(e->cl, CL_ENGINE_MAX_SCANSIZE, lim->max_scan_size,
		      "max_scan_size", err, errlen) < 0 ||
	    set_limit(e->cl, CL_ENGINE_MAX_FILESIZE, lim->max_file_size,
		      "max_file_size", err, errlen) < 0 ||
	    set_limit(e->cl, CL_ENGINE_MAX_RECURSION, lim->max_recursion,
		      "max_recursion", err, errlen) < 0 ||
	    set_limit(e->cl, CL_ENGINE_MAX_FILES, lim->max_files,
		      "max_files", err, errlen) < 0 ||
	    set_limit(e->cl, CL_ENGINE_MAX_SCANTIME, lim->max_scan_time * 1000,
		      "max_scan_time", err, errlen) < 0)
		goto fail;
	if (lim->tmp_dir && lim->tmp_dir[0] &&
	    (rc = cl_engine_set_str(e->cl, CL_ENGINE_TMPDIR,
				    lim->tmp_dir)) != CL_SUCCESS) {
		snprintf(err, errlen, "libclamav: cannot set the temporary "
			 "folder %s: %s", lim->tmp_dir, cl_strerror(rc));
		goto fail;
	}
	rc = cl_load(path, e->cl, &e->signatures, CL_DB_STDOPT);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot load ClamAV signatures from "
			 "%s: %s", path, cl_strerror(rc));
		goto fail;
	}
	if (e->signatures == 0) {
		snprintf(err, errlen, "no ClamAV signatures in %s (run "
			 "freshclam, or point clamav_database at a .cvd or "
			 ".hdb file)", path);
		goto fail;
	}
	rc = cl_engine_compile(e->cl);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot compile the ClamAV signatures "
			 "of %s: %s", path, cl_strerror(rc));
		goto fail;
	}
	return e;
fail:
	avscan_clam_free(&e);
	return NULL;
}

unsigned avscan_clam_signatures(const struct avscan_engine *e)
{
	return e->signatures;
}

/* The limit libclamav names when it stops early (EXCEEDS_MAX) */
#define LIMITS_PREFIX "Heuristics.Limits.Exceeded."

/* libclamav's answer as our verdict: anything but a clean scan without
 * errors or a virus is LIMITS or ERROR, never CLEAN. */
static enum avscan_verdict verdict_of(cl_error_t rc, const char *virname,
				      char *name, size_t namelen)
{
	switch (rc) {
	case CL_CLEAN:
		if (scan_errors == 0)
			return AVSCAN_CLEAN;
		snprintf(name, namelen, "%s", scan_error);
		return AVSCAN_ERROR;
	case CL_VIRUS:
		log_safe(name, namelen, virname ? virname : "unknown");
		if (strncmp(name, LIMITS_PREFIX, strlen(LIMITS_PREFIX)) == 0)
			return AVSCAN_LIMITS;
		METRICS_COUNT(METRIC_VIRUS);
		return AVSCAN_VIRUS;
	case CL_EMAXREC:
	case CL_EMAXSIZE:
	case CL_EMAXFILES:
	case CL_ETIMEOUT:
		snprintf(name, namelen, "%s", cl_strerror(rc));
		return AVSCAN_LIMITS;
	default:
		snprintf(name, namelen, "%s", cl_strerror(rc));
		return AVSCAN_ERROR;
	}
}

/* like clamd's defaults: every parser, heuristic signatures on, and an
 * alert for content past a limit */
static void scan_options(struct cl_scan_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->general = CL_SCAN_GENERAL_HEURISTICS;
	opts->parse = ~0U;
	opts->heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
}

/* libclamav does not look into a message over max_file_size at all, and
 * libclamav 1.4 says so as CL_VIRUS with no name: a limit, named as
 * clamd names it, before libclamav is asked. */
static int too_large(const struct avscan_engine *e, unsigned long long len,
		     char *name, size_t namelen)
{
	if (e->max_file_size <= 0 ||
	    len <= (unsigned long long)e->max_file_size)
		return 0;
	snprintf(name, namelen, "%sMaxFileSize", LIMITS_PREFIX);
	return 1;
}

enum avscan_verdict avscan_clam_scan(const struct avscan_engine *e,
				     const char *data, size_t len,
				     char *name, size_t namelen)
{
	struct cl_scan_options opts;
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t rc;

	name[0] = '\0';
	if (len == 0)
		return AVSCAN_CLEAN;	/* nothing to map */
	if (too_large(e, len, name, namelen))
		return AVSCAN_LIMITS;
	scan_options(&opts);
	map = cl_fmap_open_memory(data, len);
	if (map == NULL) {
		snprintf(name, namelen, "cannot map the message");
		return AVSCAN_ERROR;
	}
	scan_errors = 0;
	rc = cl_scanmap_callback(map, NULL, &virname, &scanned, e->cl, &opts,
				 NULL);
	cl_fmap_close(map);
	return verdict_of(rc, virname, name, namelen);
}

enum avscan_verdict avscan_clam_scan_fd(const struct avscan_engine *e,
					int fd, char *name, size_t namelen)
{
	struct stat st;
	struct cl_scan_options opts;
	const char *virname = NULL;
	unsigned long scanned = 0;
	cl_error_t rc;

	name[0] = '\0';
	if (fstat(fd, &st) == 0 && too_large(e, (unsigned long long)st.st_size,
					     name, namelen))
		return AVSCAN_LIMITS;
	scan_options(&opts);
	scan_errors = 0;
	rc = cl_scandesc_callback(fd, NULL, &virname, &scanned, e->cl, &opts,
				  NULL);
	return verdict_of(rc, virname, name, namelen);
}

const char *avscan_clam_version(void)
{
	return cl_retver();
}

void avscan_clam_free(struct avscan_engine **ep)
{
	struct avscan_engine *e = *ep;

	if (e == NULL)
		return;
	if (e->cl)
		cl_engine_free(e->cl);
	free(e);
	*ep = NULL;
}
