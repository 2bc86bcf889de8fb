/*
 * NAME
 *	smtp_guard - the connection and session defences mx and msa share
 * DESCRIPTION
 *	Judgements both SMTP stages make the same way: the connection
 *	rate per client network (Table I, 11), the HELO name rule (19) and
 *	the bad-recipient throttle (36), and the names of their counters on
 *	the metrics page. Each stage keeps its own state (maps, per-session
 *	counts), configuration and log lines; these decide. Mail layer.
 */
#ifndef SLUICE_SMTP_GUARD_H
#define SLUICE_SMTP_GUARD_H

#include <stdint.h>

struct ratemap;

/* The settings of these defences (stage_smtp.h declares their keys). */
struct smtp_guard_config {
	long long greet_pause_ms;
	long long connection_rate_limit;
	long long connection_rate_window;
	int helo_fqdn;
	long long bad_rcpt_delay_after;
	long long bad_rcpt_delay_ms;
	long long bad_rcpt_disconnect;
};

/* Counters (metrics.h's name, labels, help triples) that mx and msa
 * both show. */
#define METRIC_CONN_RATE "sluice_connection_rate_refused_total", NULL,       \
	"connections refused over connection_rate_limit"
#define METRIC_HELO_REJECTED "sluice_helo_rejected_total", NULL,             \
	"HELO/EHLO names refused (not a FQDN)"
#define METRIC_BAD_RCPT_DELAYED "sluice_bad_rcpt_total",                    \
	"action=\"delayed\"",                                                \
	"refused recipients past bad_rcpt_delay_after: replies held back or " \
	"sessions ended"
#define METRIC_BAD_RCPT_DISCONNECT "sluice_bad_rcpt_total",                 \
	"action=\"disconnected\"", NULL
#define METRIC_GREET_PAUSED "sluice_screen_total", "result=\"greet_paused\"", \
	"connections judged by screening, per outcome"
#define METRIC_PREGREET "sluice_screen_total", "result=\"pregreet\"", NULL

/* Count a connection from addr (an IPv6 address counts as its /64) in
 * map at now: non-zero when that makes more than limit within
 * window_s seconds (limit 0: never). */
int smtp_guard_conn_rate(struct ratemap *map, const char *addr,
			 uint64_t now, long long limit, long long window_s);

/* Non-zero when a HELO/EHLO name is a fully-qualified host name
 * (letters, digits and hyphens in dot-separated labels, a top label
 * not all digits) or an address literal (RFC 5321 4.1.3). */
int smtp_guard_helo_ok(const char *name);

/* The bad-recipient throttle, after one more refused recipient
 * (*count is incremented): SMTP_GUARD_DISCONNECT when it makes
 * disconnect (0: never), SMTP_GUARD_DELAY when past delay_after (0:
 * never), else 0. */
#define SMTP_GUARD_DELAY 1
#define SMTP_GUARD_DISCONNECT 2
int smtp_guard_bad_rcpt(long long *count, long long delay_after,
			long long disconnect);

#endif
