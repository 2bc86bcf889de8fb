/*
 * NAME
 *	avscan_milter - the milter mode: scanning for Postfix or Sendmail
 * DESCRIPTION
 *	The only file that includes libmilter's header (STYLE.md: one
 *	adapter per library). libmilter owns its threads and loop, so this
 *	is a mode of its own (sluice-avscan -m) calling the same scan core
 *	as the LMTP stage; the MTA keeps the queue and the durability.
 *	Per connection a context collects one message: the header fields as
 *	libmilter passes them, rebuilt as "Name: value" with CRLF line ends,
 *	the empty line, then the body chunks, bounded by max_message_size:
 *	in memory up to MF_MEM_MAX, past that in an unlinked file of
 *	scan_tmp_dir (private to us), so max_sessions connections hold at
 *	most max_sessions * MF_MEM_MAX of memory. Past max_sessions
 *	connections at once the MTA gets a tempfail at connect.
 *	At end of message: infected -> 554 5.7.1 (the MTA refuses the mail
 *	at SMTP time, nothing to quarantine), clean -> X-Sluice-Virus added
 *	and any copy the message brought removed, past a libclamav limit ->
 *	limits_exceeded_action (quarantine: the MTA holds the message, as
 *	Postfix's hold queue does, marked unchecked), scan error (or a
 *	message past max_message_size) -> scan_error_action. Faces what the MTA relays from
 *	the network: every byte is bounded, names are sanitised before they
 *	go into replies or logs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "avscan.h"
#include "conn.h"
#include "daemon.h"
#include "log.h"
#include "quarantine.h"
#include "tracehdr.h"

/* Messages larger than this go to a file while they arrive. */
#define MF_MEM_MAX ((size_t)1 << 20)

struct mf_msg {
	struct sbuf msg;	/* header fields, empty line, body */
	int fd;			/* or in this unlinked file (-1: none) */
	size_t size;		/* bytes collected */
	int toobig;		/* past max_message_size: not collected */
	int spill_err;		/* the file failed: errno */
	int forged;		/* X-Sluice-Virus fields it brought */
	char client[64];	/* peer address for the log */
	char from[256];		/* envelope sender for the log */
};

static const struct avscan_config *mf_cfg;
static const struct avscan_engine *mf_engine;
static atomic_long mf_sessions;	/* connections with a context */

static struct mf_msg *mf_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void mf_reset(struct mf_msg *m)
{
	sbuf_free(&m->msg);
	sbuf_init(&m->msg, MF_MEM_MAX);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->size = 0;
	m->spill_err = 0;
	m->toobig = 0;
	m->forged = 0;
	m->from[0] = '\0';
}

static sfsistat mf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct mf_msg *m;
	char client[64];

	if (daemon_session_take(&mf_sessions, mf_cfg->max_sessions) < 0) {
		conn_addr_text(sa, client, sizeof(client));
		log_warn("milter: connect for [%s]: max_sessions (%lld) "
			 "reached: tempfail", client, mf_cfg->max_sessions);
		return SMFIS_TEMPFAIL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		daemon_session_give(&mf_sessions);
		return SMFIS_TEMPFAIL;
	}
	m->fd = -1;
	mf_reset(m);
	conn_addr_text(sa, m->client, sizeof(m->client));
	smfi_setpriv(ctx, m);
	return SMFIS_CONTINUE;
}

static sfsistat mf_envfrom(SMFICTX *ctx, char **argv)
{
	struct mf_msg *m = mf_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	mf_reset(m);
	log_safe(m->from, sizeof(m->from), argv && argv[0] ? argv[0] : "");
	return SMFIS_CONTINUE;
}

/* Move what is in memory to a new unlinked file in scan_tmp_dir. */
static int mf_spill(struct mf_msg *m)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/milter.XXXXXX",
			     mf_cfg->scan_tmp_dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	m->fd = mkstemp(path);
	if (m->fd < 0)
		return -1;
	unlink(path);
	if (quarantine_write_all(m->fd, m->msg.data, m->msg.len) < 0)
		return -1;
	sbuf_free(&m->msg);
	sbuf_init(&m->msg, MF_MEM_MAX);
	return 0;
}

static void mf_add(struct mf_msg *m, const void *p, size_t n)
{
	if (m->toobig || m->spill_err)
		return;
	if (n > (size_t)mf_cfg->max_message_size - m->size) {
		m->toobig = 1;
		return;
	}
	m->size += n;
	if (m->fd < 0 && sbuf_append(&m->msg, p, n) == 0)
		return;
	if ((m->fd < 0 && mf_spill(m) < 0) ||
	    quarantine_write_all(m->fd, p, n) < 0)
		m->spill_err = errno ? errno : EIO;
}

/* The value as the MTA passes it: folded lines end in LF or CRLF. */
static sfsistat mf_header(SMFICTX *ctx, char *name, char *value)
{
	struct mf_msg *m = mf_of(ctx);
	const char *v = value ? value : "", *nl;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (strcasecmp(name, TRACEHDR_VIRUS) == 0)
		m->forged++;
	mf_add(m, name, strlen(name));
	mf_add(m, ": ", 2);
	while ((nl = strchr(v, '\n')) != NULL) {
		mf_add(m, v, (size_t)(nl - v) -
		       (nl > v && nl[-1] == '\r' ? 1 : 0));
		mf_add(m, "\r\n", 2);
		v = nl + 1;
	}
	mf_add(m, v, strlen(v));
	mf_add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat mf_eoh(SMFICTX *ctx)
{
	struct mf_msg *m = mf_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	mf_add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat mf_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct mf_msg *m = mf_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	mf_add(m, p, n);
	return SMFIS_CONTINUE;
}

/* Remove the copies the message brought, then add ours. */
static sfsistat mf_mark(SMFICTX *ctx, struct mf_msg *m, const char *status)
{
	char value[128];
	int i;

	for (i = m->forged; i >= 1; i--)
		if (smfi_chgheader(ctx, (char *)TRACEHDR_VIRUS, i, NULL) !=
		    MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	snprintf(value, sizeof(value), "%s (ClamAV %s)", status,
		 avscan_clam_version());
	if (smfi_addheader(ctx, (char *)TRACEHDR_VIRUS, value) !=
	    MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

/* Reply text must be plain printable ASCII without '%'. */
static void reply_safe(char *s)
{
	for (; *s; s++)
		if (*s == '%' || *s == '\\')
			*s = '?';
}

/* Past a libclamav limit: limits_exceeded_action. */
static sfsistat mf_limits(SMFICTX *ctx, struct mf_msg *m, const char *qid,
			  char *name)
{
	static const char *const act[] = {"held", "deferred", "rejected",
					  "accepted"};
	int a = mf_cfg->limits_exceeded_action;
	char text[400];

	reply_safe(name);
	log_info("%.40s: milter: limits_exceeded=%s, action=%s, from=%s, "
		 "client=[%s]", qid, name, act[a], m->from, m->client);
	snprintf(text, sizeof(text), "message could not be scanned whole "
		 "(%s)", name);
	switch (a) {
	case AV_LIM_QUARANTINE:
		if (smfi_quarantine(ctx, text) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
		return mf_mark(ctx, m, "unchecked");
	case AV_LIM_TEMPFAIL:
		smfi_setreply(ctx, (char *)"451", (char *)"4.7.0", text);
		return SMFIS_TEMPFAIL;
	case AV_LIM_REJECT:
		smfi_setreply(ctx, (char *)"554", (char *)"5.7.0", text);
		return SMFIS_REJECT;
	default:
		return mf_mark(ctx, m, "unchecked");
	}
}

static sfsistat mf_eom(SMFICTX *ctx)
{
	struct mf_msg *m = mf_of(ctx);
	const char *qid;
	char name[256], text[400];
	enum avscan_verdict v;
	sfsistat rc;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	name[0] = '\0';
	qid = smfi_getsymval(ctx, (char *)"i");
	qid = qid ? qid : "NOQUEUE";
	if (m->toobig) {
		v = AVSCAN_ERROR;
		snprintf(name, sizeof(name), "message larger than "
			 "max_message_size");
	} else if (m->spill_err) {
		v = AVSCAN_ERROR;
		snprintf(name, sizeof(name), "cannot write %s: %s",
			 mf_cfg->scan_tmp_dir, strerror(m->spill_err));
	} else if (m->fd >= 0) {
		v = lseek(m->fd, 0, SEEK_SET) == 0
			    ? avscan_clam_scan_fd(mf_engine, m->fd, name,
						  sizeof(name))
			    : AVSCAN_ERROR;
		if (v == AVSCAN_ERROR && name[0] == '\0')
			snprintf(name, sizeof(name), "lseek: %s",
				 strerror(errno));
	} else {
		v = avscan_clam_scan(mf_engine, m->msg.data, m->msg.len,
				     name, sizeof(name));
	}
	if (v == AVSCAN_VIRUS) {
		reply_safe(name);
		log_info("%.40s: milter: virus=%s, action=rejected, from=%s, "
			 "client=[%s]", qid, name, m->from, m->client);
		snprintf(text, sizeof(text), "message contains a virus: %s",
			 name);
		smfi_setreply(ctx, (char *)"554", (char *)"5.7.1", text);
		rc = SMFIS_REJECT;
	} else if (v == AVSCAN_LIMITS) {
		rc = mf_limits(ctx, m, qid, name);
	} else if (v == AVSCAN_CLEAN) {
		log_info("%.40s: milter: clean, size=%zu, from=%s, "
			 "client=[%s]", qid, m->size, m->from, m->client);
		rc = mf_mark(ctx, m, "clean");
	} else if (mf_cfg->scan_error_action == AV_ACCEPT) {
		log_warn("%.40s: milter: scan error: %s: passed on unscanned",
			 qid, name);
		rc = mf_mark(ctx, m, "unchecked");
	} else {
		log_warn("%.40s: milter: scan error: %s: deferred", qid, name);
		smfi_setreply(ctx, (char *)"451", (char *)"4.3.0",
			      (char *)"virus scan failed");
		rc = SMFIS_TEMPFAIL;
	}
	mf_reset(m);
	return rc;
}

static sfsistat mf_abort(SMFICTX *ctx)
{
	struct mf_msg *m = mf_of(ctx);

	if (m)
		mf_reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat mf_close(SMFICTX *ctx)
{
	struct mf_msg *m = mf_of(ctx);

	if (m) {
		mf_reset(m);
		sbuf_free(&m->msg);
		free(m);
		smfi_setpriv(ctx, NULL);
		daemon_session_give(&mf_sessions);
	}
	return SMFIS_CONTINUE;
}

int avscan_milter_run(const struct avscan_config *cfg,
		      const struct avscan_engine *e)
{
	static struct smfiDesc desc = {
		.xxfi_name = (char *)"sluice-avscan",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
		.xxfi_connect = mf_connect,
		.xxfi_envfrom = mf_envfrom,
		.xxfi_header = mf_header,
		.xxfi_eoh = mf_eoh,
		.xxfi_body = mf_body,
		.xxfi_eom = mf_eom,
		.xxfi_abort = mf_abort,
		.xxfi_close = mf_close,
	};
	char conn[512];

	mf_cfg = cfg;
	mf_engine = e;
	if (daemon_milter_spec(cfg->milter_listen, conn, sizeof(conn)) < 0)
		log_fatal("milter_listen '%s': want host:port",
			  cfg->milter_listen);
	if (smfi_setconn(conn) != MI_SUCCESS ||
	    smfi_settimeout((int)cfg->timeout) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS)
		log_fatal("libmilter: cannot set up %s", conn);
	/* bind now, as root if we are, then drop */
	if (smfi_opensocket(false) != MI_SUCCESS)
		log_fatal("libmilter: cannot listen on %s", cfg->milter_listen);
	daemon_drop_privileges(cfg->user);
	daemon_metrics_start(NULL);
	log_info("milter listening on %s, ClamAV %s, %u signature(s)",
		 cfg->milter_listen, avscan_clam_version(),
		 avscan_clam_signatures(e));
	if (smfi_main() != MI_SUCCESS) {
		log_error("libmilter: stopped with an error");
		return 1;
	}
	return 0;
}
