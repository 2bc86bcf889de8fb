/*
 * NAME
 *	spamd_learn - the learn listener: users' verdicts into Bayes
 * DESCRIPTION
 *	An LMTP listener of its own (learn_listen), for the peers of
 *	learn_peers only (554 5.7.1 at connect for others): the store sends
 *	a message a user moved into or out of Junk (store_learn.c) with
 *	MAIL FROM the user and one recipient whose local part says what to
 *	do: spam, ham or forget. A listener apart from the mail one keeps
 *	the two allow lists apart (a stage that may hand us mail may not
 *	teach the classifier) and can be reached from the store's host,
 *	which the control socket, a local Unix socket, cannot.
 *
 *	The write side: one worker thread learns each message into bayes_db
 *	(spamd_train.c: one SQLite transaction, the message remembered by
 *	its ID, so a move back out of Junk takes the spam counts back
 *	before adding ham) and only then answers 250, so the store drops
 *	its spool copy once the verdict is on disk. The scorers never see
 *	the writes: they go on with their immutable table until the same
 *	thread publishes a new one (bayes_slot_publish), every
 *	learn_publish_count messages learnt or learn_publish_interval after
 *	the first one not yet published. Faces the trusted store only; the
 *	message is parsed as any other (spamd_mime.c limits).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "spamd_stage.h"
#include "tracehdr.h"
#include "workq.h"

struct learn_job {
	struct spamd_learn *l;
	struct smtp_session *s;	/* NULL once the session closed */
	struct learn_job *next;
	struct sbuf msg;
	int op;			/* BAYES_SPAM, BAYES_HAM, BAYES_FORGET */
	int publish;		/* not a message: 1 publish, 2 refresh */
	int rc;			/* bayes_slot_publish() or 0 / -1 */
	struct bayes_stats st;
	char id[64];
	char err[256];
};

struct spamd_learn {
	struct spamd *sd;
	struct evloop *loop;
	struct smtp_server *srv;
	char **peers;
	struct workq *wq;	/* one thread: the only writer */
	struct ev_timer *timer;
	struct learn_job *jobs;
	long long unpublished;	/* messages learnt since the last publish */
	int publishing;
	int stopping;		/* no new jobs or timers */
};

static const char *const op_names[] = {"ham", "spam", "forget"};

static struct spamd_learn *learn_of(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

static void job_free(struct learn_job *j)
{
	struct learn_job **pp;

	for (pp = &j->l->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	sbuf_free(&j->msg);
	free(j);
}

static void publish(struct spamd_learn *l, int how);

static void arm(struct spamd_learn *l);

/* The timer: learnt messages wait at most this long; else the file is
 * looked at here (every bayes_check_interval: sluice-spamtrain may have
 * written it), not on a scoring thread, which would wait for the load. */
static void tick(void *arg)
{
	struct spamd_learn *l = arg;

	l->timer = NULL;
	publish(l, l->unpublished > 0 ? 1 : 2);
	arm(l);
}

static void arm(struct spamd_learn *l)
{
	if (l->timer == NULL && !l->stopping)
		l->timer = evloop_timer(l->loop, (uint64_t)
			l->sd->cfg->learn_publish_interval * 1000, tick, l);
}

/* On the learner thread: a new table for the scorers (publish), or the
 * file looked at for a change (refresh). */
static void publish_work(void *arg)
{
	struct learn_job *j = arg;
	struct bayes_slot *slot = &j->l->sd->bayes;

	if (j->publish == 1)
		j->rc = bayes_slot_publish(slot, j->err, sizeof(j->err));
	else
		j->rc = bayes_slot_refresh(slot, j->err, sizeof(j->err));
}

/* On the learner thread: learn one message into bayes_db. */
static void learn_work(void *arg)
{
	struct learn_job *j = arg;
	struct spamd *sd = j->l->sd;
	struct spamd_text t;
	struct spamd_tokset set;
	struct bayes_writer *w;
	const char *msg = j->msg.data ? j->msg.data : "";

	j->rc = -1;
	bayes_msg_id(msg, j->msg.len, j->id, sizeof(j->id));
	if (spamd_text_extract(msg, j->msg.len, sd->core.scan_size, &t) < 0 ||
	    spamd_features(&sd->core, &t, &set, NULL) < 0) {
		spamd_text_free(&t);
		snprintf(j->err, sizeof(j->err), "out of memory");
		return;
	}
	w = bayes_train_begin(sd->cfg->bayes_db, j->err, sizeof(j->err));
	if (w != NULL && bayes_learn(w, &set, j->id, j->op, j->err,
				     sizeof(j->err)) < 0) {
		bayes_train_abort(w);
		w = NULL;
	}
	if (w != NULL &&
	    bayes_train_end(w, &j->st, j->err, sizeof(j->err)) == 0)
		j->rc = 0;
	spamd_tokset_free(&set);
	spamd_text_free(&t);
}

/* Back on the loop: the table is the scorers' now. */
static void publish_done(void *arg)
{
	struct learn_job *j = arg;
	struct spamd_learn *l = j->l;
	long long nspam, nham;
	struct bayes_table *t;

	l->publishing = 0;
	if (j->rc > 0) {
		t = bayes_slot_get(&l->sd->bayes);
		bayes_counts(t, &nspam, &nham);
		bayes_unref(t);
		log_info("learn: bayes_db %s %s: %lld spam, %lld ham",
			 l->sd->cfg->bayes_db, j->publish == 1 ? "published" :
			 "reloaded", nspam, nham);
	} else if (j->rc < 0) {
		/* the next learnt message tries again */
		log_error("learn: bayes_db: %s (the old counts stay)", j->err);
	} else if (j->publish == 1) {
		/* another load was running: the timer tries again */
		l->unpublished = l->unpublished > 0 ? l->unpublished : 1;
	}
	job_free(j);
}

static void publish(struct spamd_learn *l, int how)
{
	struct learn_job *j;

	if (l->publishing || l->stopping ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return;		/* the timer tries again */
	j->l = l;
	j->publish = how;
	j->next = l->jobs;
	l->jobs = j;
	if (workq_submit(l->wq, publish_work, publish_done, j) < 0) {
		job_free(j);
		return;
	}
	l->publishing = 1;
	if (how == 1)
		l->unpublished = 0;
}

static void learn_done(void *arg)
{
	struct learn_job *j = arg;
	struct spamd_learn *l = j->l;
	struct smtp_reply r;
	char safe[300];

	log_safe(safe, sizeof(safe), j->s ? j->s->env.from : "");
	if (j->rc < 0) {
		log_error("%s: learn failed: user=%s, op=%s: %s",
			  j->s ? j->s->id : "-", safe, op_names[j->op],
			  j->err);
		smtp_reply_set(&r, 451, "4.3.0", "Error: cannot learn now");
	} else {
		log_info("%s: learn: user=%s, op=%s, id=%s, learnt=%lld, "
			 "forgotten=%lld, unchanged=%lld", j->s ? j->s->id :
			 "-", safe, op_names[j->op], j->id, j->st.learnt,
			 j->st.forgot, j->st.same);
		smtp_reply_set(&r, 250, "2.0.0", "Ok: %s %s", op_names[j->op],
			       j->st.same ? "known already" : "learnt");
		l->unpublished += j->st.learnt + j->st.forgot;
	}
	if (j->s != NULL)
		smtp_session_reply_all(j->s, &r);
	job_free(j);
	if (l->unpublished >= l->sd->cfg->learn_publish_count)
		publish(l, 1);
}

static int learn_connect(struct smtp_session *s, struct smtp_reply *r)
{
	if (s->trusted)
		return 0;
	log_warn("%s: reject: learn connect from [%s]: not in learn_peers",
		 s->id, s->client_addr);
	return smtp_reply_set(r, 554, "5.7.1", "%s: not a learn peer",
			      learn_of(s)->sd->cfg->hostname);
}

/* The recipient's local part says what to do with the message. */
static int op_of(const char *addr)
{
	size_t n = strcspn(addr, "@"), i;

	for (i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strlen(op_names[i]) == n &&
		    strncasecmp(addr, op_names[i], n) == 0)
			return (int)i;
	return -1;
}

static int learn_rcpt(struct smtp_session *s, const char *addr,
		      struct smtp_reply *r)
{
	(void)s;
	if (op_of(addr) >= 0)
		return 0;
	return smtp_reply_set(r, 550, "5.1.1", "Recipient is not spam, ham "
			      "or forget");
}

static void learn_data(struct smtp_session *s)
{
	struct spamd_learn *l = learn_of(s);
	struct learn_job *j = calloc(1, sizeof(*j));
	struct smtp_reply r;

	if (j == NULL || s->env.nrcpt != 1) {
		free(j);
		smtp_reply_set(&r, 451, "4.3.0", "Error: %s", j ? "one "
			       "recipient per message" : "out of memory");
		smtp_session_reply_all(s, &r);
		return;
	}
	/* our own verdict from when it passed is no evidence */
	tracehdr_strip(&s->msg, &s->header_len, spamd_strip_prefixes());
	j->l = l;
	j->s = s;
	j->op = op_of(s->env.rcpts[0].addr);
	j->msg = s->msg;	/* moved, not copied */
	sbuf_init(&s->msg, j->msg.max);
	j->next = l->jobs;
	l->jobs = j;
	if (workq_submit(l->wq, learn_work, learn_done, j) < 0) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "out of memory");
		learn_done(j);
	}
}

static void learn_close(struct smtp_session *s)
{
	struct spamd_learn *l = learn_of(s);
	struct learn_job *j;

	for (j = l->jobs; j; j = j->next)
		if (j->s == s)
			j->s = NULL;
}

static const struct smtp_hooks learn_hooks = {
	.on_connect = learn_connect,
	.on_rcpt = learn_rcpt,
	.on_data = learn_data,
	.on_close = learn_close,
};

struct spamd_learn *spamd_learn_start(struct spamd *sd, struct evloop *loop,
				      int fd)
{
	const struct spamd_config *cfg = sd->cfg;
	struct smtp_server_cfg sc;
	struct spamd_learn *l = calloc(1, sizeof(*l));
	char err[256];

	if (l == NULL || (l->peers = config_list(cfg->learn_peers)) == NULL)
		log_fatal("out of memory");
	l->sd = sd;
	l->loop = loop;
	l->wq = workq_new(loop, 1, err, sizeof(err));
	if (l->wq == NULL)
		log_fatal("learn: %s", err);
	memset(&sc, 0, sizeof(sc));
	sc.lmtp = 1;
	sc.hostname = cfg->hostname;
	sc.max_size = cfg->max_message_size;
	sc.max_rcpts = 1;
	sc.max_sessions = cfg->max_sessions;
	sc.timeout = cfg->timeout;
	sc.sess = cfg->sess;
	sc.trusted_peers = l->peers;
	l->srv = smtp_server_new(loop, &sc, &learn_hooks, l);
	if (l->srv == NULL || smtp_server_listen(l->srv, fd) < 0)
		log_fatal("learn_listen: cannot watch the listening socket");
	log_info("learning on %s from %s into %s", cfg->learn_listen,
		 cfg->learn_peers, cfg->bayes_db);
	sd->learning = 1;	/* the file is looked at by tick() */
	arm(l);
	return l;
}

void spamd_learn_stop(struct spamd_learn **lp)
{
	struct spamd_learn *l = *lp;

	if (l == NULL)
		return;
	smtp_server_free(l->srv);	/* the jobs let go of the sessions */
	l->stopping = 1;
	workq_free(&l->wq);		/* the done functions free the jobs */
	if (l->timer)
		evloop_timer_cancel(l->loop, l->timer);
	config_list_free(l->peers);
	free(l);
	*lp = NULL;
}
