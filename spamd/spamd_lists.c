/*
 * NAME
 *	spamd_lists - users' own allow and block lists of senders
 * DESCRIPTION
 *	The lists live in the user directory (sluicectl senders, the
 *	admin's pages) and reach spamd as the sender lists snapshot
 *	(common/senders.c, the one reader of the format), the file
 *	sender_lists: looked at once a second at most by the thread that
 *	scores a message, loaded again when it changed, without a restart
 *	(the old table serves until the new one is read; a broken file is
 *	refused whole, with a log line, and the old table kept). A table
 *	is immutable and reference-counted: any thread may use the one it
 *	got while another is loaded.
 *	A message's senders are its envelope sender and the mailboxes of
 *	its From field (spamd_hdr.c). The most specific pattern that
 *	matches one of them decides: an address before a domain, a longer
 *	domain before a shorter one, block before allow at the same rank.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "snapwatch.h"
#include "spamd.h"

/* How specifically pattern p (an address, or @domain) matches address
 * a: 0 not at all, a domain match ranks 1 + its length, an address
 * 100000. */
static long rank(const char *p, const char *a)
{
	const char *at = strrchr(a, '@'), *d;
	size_t pl, dl;

	if (p[0] != '@')
		return strcasecmp(p, a) == 0 ? 100000 : 0;
	if (at == NULL)
		return 0;
	p++;
	d = at + 1;
	pl = strlen(p);
	dl = strlen(d);
	if (pl == 0 || pl > dl || strcasecmp(d + dl - pl, p) != 0 ||
	    (pl < dl && d[dl - pl - 1] != '.'))
		return 0;
	return 1 + (long)pl;
}

int spamd_list_verdict(const struct senders *t, const char *rcpt,
		       char senders[][LIM_PATH + 1], size_t nsenders)
{
	const struct sender_rule *r;
	size_t i, k, n = senders_of(t, rcpt, &r);
	long best = 0, rk;
	int verdict = SPAMD_LIST_NONE, block;

	for (k = 0; k < n; k++) {
		block = r[k].kind == SENDERS_BLOCK;
		for (i = 0; i < nsenders; i++) {
			rk = rank(r[k].pattern, senders[i]);
			if (rk > best || (rk == best && rk > 0 && block)) {
				best = rk;
				verdict = block ? SPAMD_LIST_BLOCK :
					  SPAMD_LIST_ALLOW;
			}
		}
	}
	return verdict;
}

int spamd_lists_init(struct spamd_lists *l, const char *path, char *err,
		     size_t errlen)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->path = path;
	if (path == NULL || *path == '\0')
		return 0;
	l->cur = senders_load(path, err, errlen);
	l->checked = time(NULL);
	return l->cur ? 0 : -1;
}

struct senders *spamd_lists_get(struct spamd_lists *l)
{
	struct senders *s, *fresh = NULL, *old = NULL;
	time_t now = time(NULL);
	char err[512];

	pthread_mutex_lock(&l->mu);
	s = senders_ref(l->cur);
	if (l->cur == NULL || l->loading || now == l->checked) {
		pthread_mutex_unlock(&l->mu);
		return s;
	}
	l->checked = now;
	l->loading = 1;
	pthread_mutex_unlock(&l->mu);
	/* the slow part unlocked: the others go on with the old table;
	 * s's watch is this thread's while l->loading is set, and
	 * l->checked limits the looks to one a second */
	if (snapwatch_look(senders_watch(s), l->path)) {
		fresh = senders_load(l->path, err, sizeof(err));
		if (fresh == NULL)
			snapwatch_refused(senders_watch(s), "sender_lists",
					  err);
		else
			log_info("sender_lists %s reloaded: %zu rules",
				 l->path, senders_count(fresh));
	}
	pthread_mutex_lock(&l->mu);
	if (fresh != NULL) {
		old = l->cur;
		l->cur = senders_ref(fresh);
	}
	l->loading = 0;
	pthread_mutex_unlock(&l->mu);
	if (fresh != NULL) {
		senders_unref(&s);
		senders_unref(&old);
		return fresh;
	}
	return s;
}

int spamd_lists_on(const struct spamd_lists *l)
{
	return l->path != NULL && *l->path != '\0';
}

void spamd_lists_free(struct spamd_lists *l)
{
	senders_unref(&l->cur);
	pthread_mutex_destroy(&l->mu);
}
