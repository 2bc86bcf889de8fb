/*
 * NAME
 *	avscan_milter - the milter mode: scanning for Postfix or Sendmail
 * DESCRIPTION
 *	sluice-avscan -m: common/milter.c talks to libmilter and collects
 *	each message (in memory up to MF_MEM_MAX, past that in an unlinked
 *	file of scan_tmp_dir, no more than max_message_size); this file
 *	scans it with the same core as the LMTP stage and maps the verdict.
 *	At end of message: infected -> 554 5.7.1 (the MTA refuses the mail
 *	at SMTP time, nothing to quarantine), clean -> X-Sluice-Virus added
 *	and any copy the message brought removed, past a libclamav limit ->
 *	limits_exceeded_action (quarantine: the MTA holds the message, as
 *	Postfix's hold queue does, marked unchecked), scan error (or a
 *	message past max_message_size) -> scan_error_action. Faces what the
 *	MTA relays from the network: names are sanitised before they go
 *	into replies or logs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "avscan.h"
#include "log.h"
#include "milter.h"
#include "tracehdr.h"

/* Messages larger than this go to a file while they arrive. */
#define MF_MEM_MAX ((size_t)1 << 20)

static const struct avscan_config *mf_cfg;
static const struct avscan_engine *mf_engine;

static int mf_is_forged(const char *name)
{
	return strcasecmp(name, TRACEHDR_VIRUS) == 0;
}

/* Pass it on with our field: forged copies go (milter.c). */
static void mf_mark(struct milter_verdict *v, const char *status)
{
	v->action = MILTER_ACCEPT;
	v->add[0].name = TRACEHDR_VIRUS;
	snprintf(v->add[0].value, sizeof(v->add[0].value), "%s (ClamAV %s)",
		status, avscan_clam_version());
	v->nadd = 1;
}

static void mf_reply(struct milter_verdict *v, enum milter_action a,
	const char *code, const char *ext)
{
	v->action = a;
	v->code = code;
	v->ext = ext;
}

/* Reply text must be plain printable ASCII without '%'. */
static void reply_safe(char *s)
{
	for (; *s; s++)
		if (*s == '%' || *s == '\\')
			*s = '?';
}

/* Past a libclamav limit: limits_exceeded_action. */
static void mf_limits(struct milter_msg *m, char *name,
	struct milter_verdict *v)
{
	static const char *const act[] = {
		"held", "deferred", "rejected", "accepted"};
	int a = mf_cfg->limits_exceeded_action;

	reply_safe(name);
	log_info("%.40s: milter: limits_exceeded=%s, action=%s, from=%s, "
		 "client=[%s]",
		m->qid, name, act[a], m->from, m->client);
	snprintf(v->text, sizeof(v->text),
		"message could not be scanned whole (%s)", name);
	switch (a) {
	case AV_LIM_QUARANTINE:
		mf_mark(v, "unchecked");
		snprintf(v->hold, sizeof(v->hold), "%s", v->text);
		break;
	case AV_LIM_TEMPFAIL:
		mf_reply(v, MILTER_TEMPFAIL, "451", "4.7.0");
		break;
	case AV_LIM_REJECT:
		mf_reply(v, MILTER_REJECT, "554", "5.7.0");
		break;
	default:
		mf_mark(v, "unchecked");
	}
}

static void mf_eom(void *arg, struct milter_msg *m, struct milter_verdict *v)
{
	enum avscan_verdict r;
	char name[256];

	name[0] = '\0';
	if (m->toobig) {
		r = AVSCAN_ERROR;
		snprintf(name, sizeof(name),
			"message larger than max_message_size");
	} else if (m->spill_err) {
		r = AVSCAN_ERROR;
		snprintf(name, sizeof(name), "cannot write %s: %s",
			mf_cfg->scan_tmp_dir, strerror(m->spill_err));
	} else if (m->fd >= 0) {
		r = avscan_clam_scan_fd(mf_engine, m->fd, name, sizeof(name));
	} else {
		r = avscan_clam_scan(mf_engine, m->data.data, m->data.len,
			name, sizeof(name));
	}
	if (r == AVSCAN_VIRUS) {
		reply_safe(name);
		log_info("%.40s: milter: virus=%s, action=rejected, from=%s, "
			 "client=[%s]",
			m->qid, name, m->from, m->client);
		snprintf(v->text, sizeof(v->text),
			"message contains a virus: %s", name);
		mf_reply(v, MILTER_REJECT, "554", "5.7.1");
	} else if (r == AVSCAN_LIMITS) {
		mf_limits(m, name, v);
	} else if (r == AVSCAN_CLEAN) {
		log_info("%.40s: milter: clean, size=%zu, from=%s, "
			 "client=[%s]",
			m->qid, m->size, m->from, m->client);
		mf_mark(v, "clean");
	} else if (mf_cfg->scan_error_action == AV_ACCEPT) {
		log_warn("%.40s: milter: scan error: %s: passed on unscanned",
			m->qid, name);
		mf_mark(v, "unchecked");
	} else {
		log_warn("%.40s: milter: scan error: %s: deferred", m->qid,
			name);
		snprintf(v->text, sizeof(v->text), "virus scan failed");
		mf_reply(v, MILTER_TEMPFAIL, "451", "4.3.0");
	}
}

static void mf_started(void *arg)
{
	log_info("milter: ClamAV %s, %u signature(s)", avscan_clam_version(),
		avscan_clam_signatures(mf_engine));
}

int avscan_milter_run(const struct avscan_config *cfg,
	const struct avscan_engine *e)
{
	struct milter_ops ops = {
		.name = "sluice-avscan",
		.listen = cfg->milter_listen,
		.user = cfg->user,
		.max_sessions = cfg->max_sessions,
		.timeout = cfg->timeout,
		.mem_max = MF_MEM_MAX,
		.spill_dir = cfg->scan_tmp_dir,
		.max_size = (size_t)cfg->max_message_size,
		.is_forged = mf_is_forged,
		.scan_forged = 1,
		.started = mf_started,
		.eom = mf_eom,
	};

	mf_cfg = cfg;
	mf_engine = e;
	return milter_run(&ops);
}
