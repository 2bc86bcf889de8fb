/*
 * NAME
 *	metrics - counters, gauges and histograms for Prometheus
 * DESCRIPTION
 *	A series is registered once by name and label set (e.g.
 *	`hop="lmtp:10.0.0.5:2424"`) and then counted lock-free (relaxed
 *	atomics), so worker threads count as cheaply as the loop. Gauges
 *	are functions run when the page is rendered. metrics_render()
 *	writes the text exposition format 0.0.4; metrics_http.c serves it.
 *	Names follow DESIGN.md "Operations": one counter per mechanism,
 *	prefixed sluice_. The registry is bounded (METRICS_MAX series):
 *	past it, new series count into nothing. Base layer.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

#include "sbuf.h"

#define METRICS_MAX 1024	/* series in the registry */
#define METRICS_BUCKETS_MAX 16	/* histogram bounds */

/* The counters named per mechanism (DESIGN.md "Operations"), as
 * name, labels, help for METRICS_COUNT(): the module that meets the event
 * counts it there; METRIC_QUEUE_CORRUPT counts the records the queue's
 * recovery set aside when the stage opened it (queue_damaged()). */
#define METRIC_MESSAGES_IN "sluice_messages_in_total", NULL,                 \
	"messages accepted (durable, answered 250)"
#define METRIC_RELAY_REFUSED "sluice_relay_refused_total", NULL,              \
	"RCPT refused: relay access denied (554 5.7.1)"
#define METRIC_UNKNOWN_RCPT "sluice_unknown_recipient_total", NULL,          \
	"RCPT refused: no such user in the directory (550 5.1.1)"
#define METRIC_VIRUS "sluice_virus_total", NULL,                             \
	"messages found infected"
#define METRIC_SPAM "sluice_spam_total", NULL,                               \
	"messages classified as spam (tagged, quarantined or refused)"
#define METRIC_AUTH_FAIL "sluice_auth_failures_total", NULL,                 \
	"failed logins (SMTP AUTH, IMAP, POP3)"
#define METRIC_RATE_LIMIT "sluice_rate_limited_total", NULL,                 \
	"MAIL or RCPT refused by a per-user rate limit"
#define METRIC_SESSION_LIMIT(reason)                                         \
	"sluice_session_limits_total", "reason=\"" reason "\"",               \
	"sessions refused or ended by a limit (421): per_client, busy, "     \
	"deadline, errors"
#define METRIC_QUEUE_CORRUPT "sluice_queue_corrupt_records_total", NULL,     \
	"damaged queue records set aside at recovery (see the log)"
#define METRIC_DISK_FULL "sluice_queue_disk_full_total", NULL,               \
	"messages refused with 452 4.3.1: the queue's disk is full"

struct metric;

/* The counter name{labels} (labels: NULL or "" for none, else
 * `key="value",...` already escaped), registered on first use. Help is
 * printed once per name. Never NULL. Any thread. */
struct metric *metrics_counter(const char *name, const char *labels,
			       const char *help);
void metrics_add(struct metric *m, unsigned long long n);
/* A counter's value (tests, the gauges of other modules). */
unsigned long long metrics_value(const struct metric *m);

/* A counter name{labels} whose value lives in *field, a plain field the
 * owner increments on the thread that renders the page (the loop): read
 * at every render. Registering it again points it at field. */
void metrics_counter_field(const char *name, const char *labels,
			   const char *help,
			   const unsigned long long *field);

/* A histogram with n ascending upper bounds (at most
 * METRICS_BUCKETS_MAX; +Inf is implied). Never NULL. Any thread. */
struct metric *metrics_histogram(const char *name, const char *labels,
				 const char *help, const double *bounds,
				 size_t n);
void metrics_observe(struct metric *m, double v);

/* A gauge: fn(arg) at every render, on the rendering thread (the loop,
 * for a daemon that serves from its loop). */
void metrics_gauge(const char *name, const char *help,
		   double (*fn)(void *arg), void *arg);

/* Escape value for a label ("\\", "\"", "\n") into out as
 * key="value". Returns out. */
char *metrics_label(char *out, size_t outlen, const char *key,
		    const char *value);

/* The whole page into out. 0, or -1 when out is full. */
int metrics_render(struct sbuf *out);

/* Count one event of the counter name{labels} (registered on first use,
 * then a relaxed atomic add): METRICS_COUNT(METRIC_VIRUS). */
#define METRICS_COUNT(...) METRICS_COUNT_(__VA_ARGS__)
#define METRICS_COUNT_(name, labels, help)                                   \
	do {                                                                 \
		static struct metric *_Atomic metrics_m_;                    \
		struct metric *metrics_p_ = atomic_load_explicit(            \
			&metrics_m_, memory_order_relaxed);                  \
		if (metrics_p_ == NULL) {                                    \
			metrics_p_ = metrics_counter(name, labels, help);    \
			atomic_store_explicit(&metrics_m_, metrics_p_,       \
					      memory_order_relaxed);         \
		}                                                            \
		metrics_add(metrics_p_, 1);                                  \
	} while (0)
/* Register it at 0 (so it shows before the first event). */
#define METRICS_DECLARE(...) METRICS_DECLARE_(__VA_ARGS__)
#define METRICS_DECLARE_(name, labels, help)                                 \
	((void)metrics_counter(name, labels, help))

/* Buckets for durations in seconds, 1 ms to 60 s. */
extern const double metrics_seconds[];
extern const size_t metrics_seconds_n;

#endif
