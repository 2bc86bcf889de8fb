/*
 * NAME
 *	traffic - messages and bytes per domain and per mailbox (metrics)
 * DESCRIPTION
 *	A small table per kind (domain, mailbox) maps a name to its two
 *	counters; it is searched under a mutex (deliveries are few next to
 *	a linear scan of at most a few hundred short names), and full, it
 *	sends every new name to TRAFFIC_OTHER. Names come from envelopes
 *	and the directory: they are lowercased, bounded and escaped as
 *	label values (metrics_label()). See traffic.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "limits_rfc.h"
#include "metrics.h"
#include "traffic.h"

struct tkind {
	const char *label;		/* "domain", "mailbox" */
	const char *msgs, *bytes;	/* metric names */
	const char *help_msgs, *help_bytes;
	size_t max, n;
	struct tent {
		char name[LIM_PATH + 1];
		struct metric *msgs, *bytes;
	} *e;
	struct tent other;
};

static struct tent domains[TRAFFIC_DOMAINS_MAX];
static struct tent mailboxes[TRAFFIC_MAILBOXES_MAX];
static struct tkind kinds[2] = {
	{"domain", "sluice_domain_messages_total", "sluice_domain_bytes_total",
	 "messages per domain (store: delivered, per mailbox reached; "
	 "msa: submitted by its users)", "bytes of those messages",
	 TRAFFIC_DOMAINS_MAX, 0, domains, {"", NULL, NULL}},
	{"mailbox", "sluice_mailbox_messages_total",
	 "sluice_mailbox_bytes_total", "messages delivered per mailbox",
	 "bytes delivered per mailbox", TRAFFIC_MAILBOXES_MAX, 0, mailboxes,
	 {"", NULL, NULL}},
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Register name's two counters into t. */
static void make(struct tkind *k, struct tent *t, const char *name)
{
	char l[2 * LIM_PATH + 32];

	snprintf(t->name, sizeof(t->name), "%s", name);
	metrics_label(l, sizeof(l), k->label, name);
	t->msgs = metrics_counter(k->msgs, l, k->help_msgs);
	t->bytes = metrics_counter(k->bytes, l, k->help_bytes);
}

/* name's entry, made when there is room, else the other one. */
static struct tent *entry(struct tkind *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (strcmp(k->e[i].name, name) == 0)
			return &k->e[i];
	if (k->n < k->max) {
		make(k, &k->e[k->n], name);
		return &k->e[k->n++];
	}
	if (k->other.msgs == NULL)
		make(k, &k->other, TRAFFIC_OTHER);
	return &k->other;
}

static void count(struct tkind *k, const char *name, unsigned long long b)
{
	struct tent *t;

	pthread_mutex_lock(&lock);
	t = entry(k, name);
	pthread_mutex_unlock(&lock);
	metrics_add(t->msgs, 1);
	metrics_add(t->bytes, b);
}

void traffic_count(const char *mailbox, unsigned long long bytes,
		   int per_mailbox)
{
	char low[LIM_PATH + 1];
	const char *at;
	size_t i;

	if (mailbox == NULL || (at = strrchr(mailbox, '@')) == NULL ||
	    at[1] == '\0' || strlen(mailbox) > LIM_PATH)
		return;
	for (i = 0; mailbox[i]; i++)
		low[i] = mailbox[i] >= 'A' && mailbox[i] <= 'Z'
				 ? (char)(mailbox[i] - 'A' + 'a')
				 : mailbox[i];
	low[i] = '\0';
	count(&kinds[0], low + (at - mailbox) + 1, bytes);
	if (per_mailbox)
		count(&kinds[1], low, bytes);
}
