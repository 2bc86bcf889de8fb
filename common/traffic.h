/*
 * NAME
 *	traffic - messages and bytes per domain and per mailbox (metrics)
 * DESCRIPTION
 *	Counters for the statistics pages: what the store delivered to
 *	each domain and mailbox, what users of each domain submitted.
 *	Label cardinality is bounded: the first TRAFFIC_DOMAINS_MAX
 *	domains and TRAFFIC_MAILBOXES_MAX mailboxes seen since start get
 *	a series of their own, every later one counts into the value
 *	"_other", so a stage shows at most 2 * (TRAFFIC_DOMAINS_MAX + 1)
 *	+ 2 * (TRAFFIC_MAILBOXES_MAX + 1) such series whatever the mail
 *	says (metrics.h keeps METRICS_MAX in all). Names are lowercased.
 *	Any thread. Mail layer.
 */
#ifndef SLUICE_TRAFFIC_H
#define SLUICE_TRAFFIC_H

#define TRAFFIC_DOMAINS_MAX 50
#define TRAFFIC_MAILBOXES_MAX 200
#define TRAFFIC_OTHER "_other"

/* One message of bytes for mailbox (an address): its domain's
 * sluice_domain_messages_total / sluice_domain_bytes_total{domain=...},
 * and with per_mailbox its sluice_mailbox_messages_total /
 * sluice_mailbox_bytes_total{mailbox=...}. */
void traffic_count(const char *mailbox, unsigned long long bytes,
		   int per_mailbox);

#endif
