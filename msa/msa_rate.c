/*
 * NAME
 *	msa_rate - per-user message and recipient rate limits
 * DESCRIPTION
 *	Defense 34 of the paper: a stolen password must not turn a user's
 *	account into a spam cannon. Each authenticated user has a list of
 *	(time, recipients) events over a sliding window; events older than
 *	the window are dropped at every look. A user's list never holds
 *	more than the message limit allows (plus what concurrent sessions
 *	had in flight), and only authenticated users have lists, so memory
 *	is bounded by the directory. Not persistent: a restart forgets.
 *	With redis_server set, the servers of a pair count together: each
 *	message counted here goes out as a "rate" event (shstate.h) and the
 *	other servers' messages are counted here too, at the time they were
 *	sent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "msa.h"
#include "shstate.h"

struct rate_event {
	uint64_t at;
	size_t nrcpt;
};

struct rate_user {
	char *user;
	struct rate_event *ev;
	size_t n, cap;
};

struct msa_rate {
	uint64_t window;
	long long max_msgs, max_rcpts;
	struct rate_user *users;
	size_t n, cap;
	struct shstate *sh;	/* shared with the other servers, or NULL */
};

struct msa_rate *msa_rate_new(uint64_t window_ms, long long max_msgs,
			      long long max_rcpts)
{
	struct msa_rate *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->window = window_ms;
	r->max_msgs = max_msgs;
	r->max_rcpts = max_rcpts;
	return r;
}

void msa_rate_free(struct msa_rate *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free(r->users[i].user);
		free(r->users[i].ev);
	}
	free(r->users);
	free(r);
}

/* user's entry with its expired events dropped; NULL if none (and
 * create is 0, or memory ran out). */
static struct rate_user *find(struct msa_rate *r, const char *user,
			      uint64_t now, int create)
{
	struct rate_user *u = NULL, *grown;
	size_t i, keep;

	for (i = 0; i < r->n; i++)
		if (strcasecmp(r->users[i].user, user) == 0) {
			u = &r->users[i];
			break;
		}
	if (u != NULL) {
		for (keep = 0; keep < u->n; keep++)
			if (u->ev[keep].at + r->window > now)
				break;
		if (keep > 0) {
			memmove(u->ev, u->ev + keep,
				(u->n - keep) * sizeof(*u->ev));
			u->n -= keep;
		}
		return u;
	}
	if (!create)
		return NULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;

		grown = realloc(r->users, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		r->users = grown;
		r->cap = cap;
	}
	u = &r->users[r->n];
	memset(u, 0, sizeof(*u));
	u->user = strdup(user);
	if (u->user == NULL)
		return NULL;
	r->n++;
	return u;
}

int msa_rate_msg_ok(struct msa_rate *r, const char *user, uint64_t now_ms)
{
	struct rate_user *u = find(r, user, now_ms, 0);

	return r->max_msgs <= 0 || u == NULL || (long long)u->n < r->max_msgs;
}

int msa_rate_rcpt_ok(struct msa_rate *r, const char *user, size_t n,
		     uint64_t now_ms)
{
	struct rate_user *u = find(r, user, now_ms, 0);
	size_t i, sum = n;

	if (r->max_rcpts <= 0)
		return 1;
	for (i = 0; u && i < u->n; i++)
		sum += u->ev[i].nrcpt;
	return (long long)sum <= r->max_rcpts;
}

static int add_event(struct msa_rate *r, const char *user, size_t nrcpt,
		     uint64_t now_ms)
{
	struct rate_user *u;
	struct rate_event *grown;

	if (r->max_msgs <= 0 && r->max_rcpts <= 0)
		return 0;
	u = find(r, user, now_ms, 1);
	if (u == NULL)
		return -1;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;

		grown = realloc(u->ev, cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		u->ev = grown;
		u->cap = cap;
	}
	u->ev[u->n].at = now_ms;
	u->ev[u->n].nrcpt = nrcpt;
	u->n++;
	return 0;
}

int msa_rate_add(struct msa_rate *r, const char *user, size_t nrcpt,
		 uint64_t now_ms)
{
	if (r->sh && (r->max_msgs > 0 || r->max_rcpts > 0))
		shstate_publish(r->sh, "rate", user, (long long)nrcpt);
	return add_event(r, user, nrcpt, now_ms);
}

/* another server's message; events arrive in time order except the
 * replay of a reconnection, which comes before any live one */
static void on_rate(void *arg, const char *user, long long n, uint64_t at)
{
	if (add_event(arg, user, (size_t)n, at) < 0)
		log_warn("rate table full: another server's message for %s "
			 "not counted", user);
}

int msa_rate_share(struct msa_rate *r, struct shstate *sh)
{
	r->sh = sh;
	return shstate_on(sh, "rate", on_rate, r);
}
