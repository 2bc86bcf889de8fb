/*
 * NAME
 *	alias - remote alias targets added to an envelope where mail enters
 * DESCRIPTION
 *	See alias.h. Only the recipients that were in the envelope before
 *	the call are looked up, so a remote target is never expanded again
 *	(and the directory forbids remote targets that are entries of it).
 *	Mail layer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alias.h"
#include "directory.h"
#include "limits_rfc.h"
#include "log.h"
#include "smtp_parse.h"

#define ALIAS_MAX_REMOTE 64

static int has_rcpt(const struct envelope *e, const char *addr)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		if (strcasecmp(e->rcpts[i].addr, addr) == 0)
			return 1;
	return 0;
}

/* Remove recipient i, keeping the order of the others. */
static void drop_rcpt(struct envelope *e, size_t i)
{
	free(e->rcpts[i].addr);
	free(e->rcpts[i].orcpt);
	free(e->rcpts[i].last_reply);
	memmove(&e->rcpts[i], &e->rcpts[i + 1],
		(e->nrcpt - i - 1) * sizeof(e->rcpts[0]));
	e->nrcpt--;
}

/* Add a's remote targets t[0..n-1] behind the envelope. */
static int add_targets(struct envelope *e, size_t i, const char **t,
		       size_t n, const char *id, size_t max)
{
	char orcpt[LIM_ORCPT + 1], safe_a[300], safe_t[300];
	const char *o = e->rcpts[i].orcpt;
	size_t k;
	int added = 0;

	if (o == NULL) {
		memcpy(orcpt, "rfc822;", 7);
		if (xtext_encode(e->rcpts[i].addr, orcpt + 7,
				 sizeof(orcpt) - 7) == 0)
			o = orcpt;
	}
	log_safe(safe_a, sizeof(safe_a), e->rcpts[i].addr);
	for (k = 0; k < n; k++) {
		if (has_rcpt(e, t[k]))
			continue;
		/* o stays valid: only the rcpts array moves */
		if (e->nrcpt >= max ||
		    envelope_add_rcpt(e, t[k], o, e->rcpts[i].notify) < 0)
			return -1;
		log_safe(safe_t, sizeof(safe_t), t[k]);
		log_info("%s: alias=<%s> expanded to=<%s>", id, safe_a,
			 safe_t);
		added++;
	}
	return added;
}

int alias_expand_remote(struct directory *d, struct envelope *e,
			const char *id, size_t max)
{
	const char *t[ALIAS_MAX_REMOTE], *l[1];
	size_t i, n, n0 = e->nrcpt;
	char *drop;
	int total = 0, rc = 0, k;

	if (d == NULL || n0 == 0)
		return 0;
	drop = calloc(n0, 1);
	if (drop == NULL)
		return -1;
	for (i = 0; i < n0 && rc == 0; i++) {
		if (directory_lookup(d, e->rcpts[i].addr) != DIR_ALIAS)
			continue;
		n = directory_expand_remote(d, e->rcpts[i].addr, t,
					    ALIAS_MAX_REMOTE);
		if (n == 0)
			continue;
		k = add_targets(e, i, t, n, id, max);
		if (k < 0)
			rc = -1;
		else
			total += k;
		drop[i] = directory_expand(d, e->rcpts[i].addr, l, 1) == 0;
	}
	/* from the end, so the indexes still to look at do not move */
	for (i = n0; i-- > 0;)
		if (drop[i] && rc == 0)
			drop_rcpt(e, i);
	free(drop);
	return rc < 0 ? -1 : total;
}
