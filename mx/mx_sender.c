/*
 * NAME
 *	mx_sender - the MAIL FROM domain must exist (RFC 2505 2.9)
 * DESCRIPTION
 *	As Postfix's reject_unknown_sender_domain: the domain of a non-null
 *	sender needs an MX, A or AAAA record. The three lookups start at
 *	MAIL, run beside SPF, and the first RCPT waits for them (mx_auth.c).
 *	One answer with records passes; all three NXDOMAIN or empty is
 *	"unknown"; a temporary failure with no record found passes (the
 *	sender's DNS being down is no reason to lose mail). A check outlives
 *	its transaction until its last answer came. A null MX (RFC 7505: one
 *	MX of preference 0 and exchanger ".") says the domain takes no mail,
 *	so no reply to that sender can ever be delivered: refused (4.2) even
 *	when the domain has addresses. Faces the network.
 */
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "mx.h"

struct mx_sender {
	void (*done)(void *arg);
	void *arg;		/* NULL once the owner let go */
	int left;		/* answers due */
	int found, tempfail, null_mx;
};

static void one_more(struct mx_sender *c)
{
	if (--c->left > 0)
		return;
	if (c->arg == NULL)
		free(c);
	else
		c->done(c->arg);
}

static void answer(void *arg, const struct dns_rr_result *r)
{
	struct mx_sender *c = arg;

	if (r->status == DNS_OK && r->n > 0)
		c->found = 1;
	else if (r->status == DNS_TEMPFAIL)
		c->tempfail = 1;
	one_more(c);
}

/* The MX answer: dns_mx() keeps a null MX (host ""), dns_query() drops
 * it. RFC 7505 3: a null MX is the only MX of its domain. */
static void mx_answer(void *arg, const struct dns_mx_result *r)
{
	struct mx_sender *c = arg;

	if (r->status == DNS_OK && r->n == 1 && r->mx[0].host[0] == '\0')
		c->null_mx = 1;
	else if (r->status == DNS_OK && r->n > 0)
		c->found = 1;
	else if (r->status == DNS_TEMPFAIL)
		c->tempfail = 1;
	one_more(c);
}

struct mx_sender *mx_sender_start(struct mx *mx, const char *from,
				  void (*done)(void *arg), void *arg)
{
	static const enum dns_type types[] = {DNS_T_A, DNS_T_AAAA};
	const char *at = strrchr(from, '@');
	struct mx_sender *c;
	size_t i;

	/* an address literal has no domain to look up */
	if (at == NULL || at[1] == '\0' || at[1] == '[' || mx->dns == NULL)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->done = done;
	c->arg = arg;
	c->left = (int)(sizeof(types) / sizeof(types[0])) + 2;
	dns_mx(mx->dns, at + 1, mx_answer, c);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		dns_query(mx->dns, at + 1, types[i], answer, c);
	c->left--;	/* 0 now if every answer came at once */
	return c;
}

int mx_sender_result(const struct mx_sender *c)
{
	if (c == NULL)
		return 0;
	if (c->left > 0)
		return -1;
	if (c->null_mx)
		return 2;
	return !c->found && !c->tempfail;
}

void mx_sender_free(struct mx_sender *c)
{
	if (c == NULL)
		return;
	if (c->left > 0)
		c->arg = NULL;	/* the last answer frees it */
	else
		free(c);
}
