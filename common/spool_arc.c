/*
 * NAME
 *	spool_arc - seal, then queue
 * DESCRIPTION
 *	See spool_arc.h. The set is computed over the message as the next
 *	hop gets it (the stage's prefix, then the data), since the prefix
 *	may hold fields the ARC-Message-Signature signs (msa adds Date: and
 *	Message-ID:). A message that cannot be sealed goes on unsealed,
 *	logged: sealing adds evidence, it never decides delivery.
 */
#include "spool_arc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct spool_arc_job {
	struct spool_arc *sa;
	struct spool *sp;
	struct smtp_session *s;
	struct sbuf full;	/* prefix, then the message */
	size_t plen;
	char *resinfo;		/* after arc=: ";\r\n\t" and a result each */
	struct arc_check *check;
	struct spool_arc_job *prev, *next;
};

static void unlink_job(struct spool_arc_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else if (j->sa->jobs == j)
		j->sa->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_free(struct spool_arc_job *j)
{
	unlink_job(j);
	sbuf_free(&j->full);
	free(j->resinfo);
	free(j);
}

static void sealed(void *arg, const struct arc_chain *chain)
{
	struct spool_arc_job *j = arg;
	struct spool_arc *sa = j->sa;
	size_t hlen = arc_header_len(j->full.data, j->full.len);
	struct sbuf pre;
	int rc;

	j->check = NULL;
	/* out of the list first: a session that closes while its message
	 * is handed on must not find (and free) the job under us */
	unlink_job(j);
	sbuf_init(&pre, j->plen + 65536);
	rc = arc_seal(sa->key, sa->authserv_id, j->resinfo, chain,
		      chain->result, j->full.data, hlen, j->full.len,
		      time(NULL), &pre);
	if (rc > 0)
		log_info("%s: ARC set added: i=%d, cv=%s, d=%s, s=%s",
			 j->s->id, chain->n + 1, chain->n == 0 ? "none" :
			 arc_result_name(chain->result), sa->key->domain,
			 sa->key->selector);
	else
		log_warn("%s: not ARC-sealed: %s", j->s->id, rc == 0 ?
			 "the chain we got is broken, failed or full" :
			 "signing failed");
	if (chain->result == ARC_FAIL && chain->why[0])
		log_info("%s: arc=fail (%s)", j->s->id, chain->why);
	if (rc < 0)
		pre.len = 0;
	if (sbuf_append(&pre, j->full.data, j->plen) < 0) {
		struct smtp_reply r;

		smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
		smtp_session_reply(j->s, &r);
	} else {
		spool_accept(j->sp, j->s, pre.data, pre.len);
	}
	sbuf_free(&pre);
	job_free(j);
}

void spool_arc_accept(struct spool_arc *sa, struct spool *sp,
		      struct smtp_session *s, const char *pre, size_t plen,
		      const char *resinfo)
{
	struct spool_arc_job *j;
	struct smtp_reply r;

	if (sa->key == NULL) {
		spool_accept(sp, s, pre, plen);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		goto nomem;
	j->sa = sa;
	j->sp = sp;
	j->s = s;
	j->plen = plen;
	sbuf_init(&j->full, plen + s->msg.len + 1);
	if ((j->resinfo = strdup(resinfo)) == NULL ||
	    sbuf_append(&j->full, pre, plen) < 0 ||
	    sbuf_append(&j->full, s->msg.data ? s->msg.data : "",
			s->msg.len) < 0) {
		sbuf_free(&j->full);
		free(j->resinfo);
		free(j);
		goto nomem;
	}
	j->next = sa->jobs;
	if (sa->jobs)
		sa->jobs->prev = j;
	sa->jobs = j;
	if (arc_check_start(sa->dns, j->full.data, arc_header_len(
				    j->full.data, j->full.len), j->full.len,
			    sealed, j, &j->check) < 0) {
		job_free(j);
		goto nomem;
	}
	return;
nomem:
	smtp_reply_set(&r, 451, "4.3.0", "Error: out of memory");
	smtp_session_reply(s, &r);
}

void spool_arc_closed(struct spool_arc *sa, struct smtp_session *s)
{
	struct spool_arc_job *j;

	for (j = sa->jobs; j; j = j->next)
		if (j->s == s) {
			arc_check_cancel(j->check);
			job_free(j);
			return;
		}
}
