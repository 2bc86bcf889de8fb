/*
 * NAME
 *	mx_metrics - mx's defenses on the metrics endpoint
 * DESCRIPTION
 *	One call at start-up names every counter of mx's mechanisms for the
 *	metrics page (common/metrics.h).
 */
#ifndef SLUICE_MX_METRICS_H
#define SLUICE_MX_METRICS_H

#include "mx.h"

/* Register the counters of mx (its auth counters and mx_counters); mx
 * must live as long as the page is served. */
void mx_metrics_register(struct mx *mx);

#endif
