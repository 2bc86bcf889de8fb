/*
 * NAME
 *	milter - the one adapter for libmilter
 * DESCRIPTION
 *	The only file that includes libmilter's header (STYLE.md: one
 *	adapter per library). libmilter owns its threads and loop, so a
 *	milter mode is a mode of its own calling the same scan core as the
 *	LMTP stage; the MTA keeps the queue and the durability.
 *	Per connection a context collects one message: the header fields as
 *	libmilter passes them (folded lines end in LF or CRLF), rebuilt with
 *	CRLF line ends, the empty line, then the body chunks: in memory up
 *	to ops->mem_max, past that in an unlinked file of ops->spill_dir
 *	(or dropped), and no more than ops->max_size, so max_sessions
 *	connections hold at most max_sessions * mem_max of memory. Past
 *	max_sessions connections at once the MTA gets a tempfail at
 *	connect. With ops->max_rcpts the envelope sender and at most that
 *	many recipients are kept as the MTA gave them (angle brackets off,
 *	LIM_PATH bytes each; more are counted, not kept) for a stage that
 *	looks recipients up (spamd's users' sender lists). Faces what the
 *	MTA relays from the network: every byte is bounded, the sender is
 *	sanitised before it reaches a log.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "conn.h"
#include "daemon.h"
#include "durable.h"
#include "log.h"
#include "milter.h"

static const struct milter_ops *ops;
static atomic_long sessions; /* connections with a context */

static struct milter_msg *msg_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

static void msg_reset(struct milter_msg *m)
{
	sbuf_free(&m->data);
	sbuf_init(&m->data, ops->mem_max);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	m->size = 0;
	m->spill_err = 0;
	m->toobig = 0;
	m->nforged = 0;
	m->auth = 0;
	m->qid = NULL;
	m->from[0] = '\0';
	m->sender[0] = '\0';
	m->nrcpt = 0;
	m->rcpt_lost = 0;
}

/* in without its angle brackets into out; -1 when too long */
static int bare_addr(const char *in, char out[LIM_PATH + 1])
{
	size_t n = strlen(in);

	if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
		in++;
		n -= 2;
	}
	if (n > LIM_PATH) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, in, n);
	out[n] = '\0';
	return 0;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
	struct milter_msg *m;
	char client[64];

	if (daemon_session_take(&sessions, ops->max_sessions) < 0) {
		conn_addr_text(sa, client, sizeof(client));
		log_warn("milter: connect for [%s]: max_sessions (%lld) "
			 "reached: tempfail",
			client, ops->max_sessions);
		return SMFIS_TEMPFAIL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		daemon_session_give(&sessions);
		return SMFIS_TEMPFAIL;
	}
	m->fd = -1;
	msg_reset(m);
	conn_addr_text(sa, m->client, sizeof(m->client));
	smfi_setpriv(ctx, m);
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct milter_msg *m = msg_of(ctx);
	const char *a;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	msg_reset(m);
	log_safe(m->from, sizeof(m->from), argv && argv[0] ? argv[0] : "");
	if (ops->max_rcpts > 0)
		bare_addr(argv && argv[0] ? argv[0] : "", m->sender);
	a = smfi_getsymval(ctx, (char *)"{auth_authen}");
	m->auth = a != NULL && *a != '\0';
	return SMFIS_CONTINUE;
}

/* Keep the recipient (ops->max_rcpts of them); one not kept is
 * counted, so the stage knows its list is not whole. */
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct milter_msg *m = msg_of(ctx);
	char(*nr)[LIM_PATH + 1];
	size_t cap;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (ops->max_rcpts == 0)
		return SMFIS_CONTINUE;
	if (m->nrcpt == m->rcpt_cap && m->nrcpt < ops->max_rcpts) {
		cap = m->rcpt_cap ? m->rcpt_cap * 2 : 8;
		if (cap > ops->max_rcpts)
			cap = ops->max_rcpts;
		nr = realloc(m->rcpt, cap * sizeof(*nr));
		if (nr != NULL) {
			m->rcpt = nr;
			m->rcpt_cap = cap;
		}
	}
	if (m->nrcpt < m->rcpt_cap && bare_addr(argv && argv[0] ? argv[0] : "",
					      m->rcpt[m->nrcpt]) == 0)
		m->nrcpt++;
	else
		m->rcpt_lost++;
	return SMFIS_CONTINUE;
}

/* Move what is in memory to a new unlinked file in spill_dir. */
static int spill(struct milter_msg *m)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/milter.XXXXXX",
		    ops->spill_dir) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	m->fd = mkstemp(path);
	if (m->fd < 0)
		return -1;
	unlink(path);
	if (durable_write_all(m->fd, m->data.data, m->data.len) < 0)
		return -1;
	sbuf_free(&m->data);
	sbuf_init(&m->data, ops->mem_max);
	return 0;
}

static void add(struct milter_msg *m, const void *p, size_t n)
{
	size_t room;

	if (m->toobig || m->spill_err)
		return;
	if (ops->max_size > 0 && n > ops->max_size - m->size) {
		m->toobig = 1;
		return;
	}
	m->size += n;
	if (m->fd < 0 && sbuf_append(&m->data, p, n) == 0)
		return;
	if (m->fd < 0 && ops->spill_dir == NULL) {
		/* the scan reads mem_max bytes at most anyway */
		room = m->data.max - m->data.len;
		sbuf_append(&m->data, p, n < room ? n : room);
		return;
	}
	if ((m->fd < 0 && spill(m) < 0) || durable_write_all(m->fd, p, n) < 0)
		m->spill_err = errno ? errno : EIO;
}

/* Remember a forged field; 0 if there is no room (then it is ordinary). */
static int forged_note(struct milter_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nforged; i++)
		if (strcasecmp(m->forged[i].name, name) == 0) {
			m->forged[i].count++;
			return 1;
		}
	if (m->nforged >= MILTER_MAX_FORGED ||
		strlen(name) >= sizeof(m->forged[0].name))
		return 0;
	snprintf(m->forged[i].name, sizeof(m->forged[i].name), "%s", name);
	m->forged[i].count = 1;
	m->nforged++;
	return 1;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct milter_msg *m = msg_of(ctx);
	const char *v = value ? value : "", *nl;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	if (ops->is_forged(name) && forged_note(m, name) && !ops->scan_forged)
		return SMFIS_CONTINUE; /* not ours to believe or scan */
	add(m, name, strlen(name));
	add(m, ": ", 2);
	while ((nl = strchr(v, '\n')) != NULL) {
		add(m, v,
			(size_t)(nl - v) - (nl > v && nl[-1] == '\r' ? 1 : 0));
		add(m, "\r\n", 2);
		v = nl + 1;
	}
	add(m, v, strlen(v));
	add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	struct milter_msg *m = msg_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	add(m, "\r\n", 2);
	return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	struct milter_msg *m = msg_of(ctx);

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	add(m, p, n);
	return SMFIS_CONTINUE;
}

/* Forged copies out (last first: indexes count what is left), ours in,
 * then the hold. */
static sfsistat accept_with(
	SMFICTX *ctx, struct milter_msg *m, struct milter_verdict *v)
{
	size_t i;
	int n;

	for (i = 0; i < m->nforged; i++)
		for (n = m->forged[i].count; n >= 1; n--)
			if (smfi_chgheader(ctx, m->forged[i].name, n, NULL) !=
				MI_SUCCESS)
				return SMFIS_TEMPFAIL;
	for (i = 0; i < v->nadd; i++)
		if (smfi_addheader(ctx, (char *)v->add[i].name,
			    v->add[i].value) != MI_SUCCESS)
			return SMFIS_TEMPFAIL;
	if (v->hold[0] != '\0' && smfi_quarantine(ctx, v->hold) != MI_SUCCESS)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct milter_msg *m = msg_of(ctx);
	struct milter_verdict v;
	sfsistat rc;

	if (m == NULL)
		return SMFIS_TEMPFAIL;
	m->qid = smfi_getsymval(ctx, (char *)"i");
	if (m->qid == NULL)
		m->qid = "NOQUEUE";
	if (m->fd >= 0 && lseek(m->fd, 0, SEEK_SET) != 0 && !m->spill_err)
		m->spill_err = errno ? errno : EIO;
	memset(&v, 0, sizeof(v));
	v.action = MILTER_ACCEPT;
	ops->eom(ops->arg, m, &v);
	if (v.action == MILTER_ACCEPT) {
		rc = accept_with(ctx, m, &v);
	} else {
		if (v.code != NULL)
			smfi_setreply(
				ctx, (char *)v.code, (char *)v.ext, v.text);
		rc = v.action == MILTER_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	msg_reset(m);
	return rc;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct milter_msg *m = msg_of(ctx);

	if (m)
		msg_reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct milter_msg *m = msg_of(ctx);

	if (m) {
		msg_reset(m);
		sbuf_free(&m->data);
		free(m->rcpt);
		free(m);
		smfi_setpriv(ctx, NULL);
		daemon_session_give(&sessions);
	}
	return SMFIS_CONTINUE;
}

int milter_run(const struct milter_ops *o)
{
	static struct smfiDesc desc = {
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
		.xxfi_connect = on_connect,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_abort = on_abort,
		.xxfi_close = on_close,
	};
	char conn[512];

	ops = o;
	desc.xxfi_name = (char *)o->name;
	if (daemon_milter_spec(o->listen, conn, sizeof(conn)) < 0)
		log_fatal("milter_listen '%s': want host:port", o->listen);
	if (smfi_setconn(conn) != MI_SUCCESS ||
		(o->timeout > 0 &&
			smfi_settimeout((int)o->timeout) != MI_SUCCESS) ||
		smfi_register(desc) != MI_SUCCESS)
		log_fatal("libmilter: cannot set up %s", conn);
	/* bind now, as root if we are, then drop */
	if (smfi_opensocket(false) != MI_SUCCESS)
		log_fatal("libmilter: cannot listen on %s", o->listen);
	daemon_drop_privileges(o->user);
	daemon_metrics_start(NULL);
	if (o->started)
		o->started(o->arg);
	log_info("milter listening on %s", o->listen);
	if (smfi_main() != MI_SUCCESS) {
		log_error("libmilter: stopped with an error");
		return 1;
	}
	return 0;
}
