/*
 * NAME
 *	metrics - counters, gauges and histograms for Prometheus
 * DESCRIPTION
 *	See metrics.h. The registry is an array that only grows (under a
 *	mutex); a series, once there, never moves, so counting needs no
 *	lock. Histogram sums are kept in millionths so they can be atomic
 *	integers.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

enum metric_kind { M_COUNTER, M_HISTOGRAM, M_GAUGE };

struct metric {
	enum metric_kind kind;
	char name[96];
	char labels[160];
	const char *help;
	atomic_ullong value;		/* counter; histogram: count */
	atomic_ullong sum_micro;	/* histogram */
	size_t nb;
	double bounds[METRICS_BUCKETS_MAX];
	atomic_ullong buckets[METRICS_BUCKETS_MAX];
	double (*fn)(void *);		/* gauge */
	void *arg;
	const unsigned long long *field; /* counter kept by its owner */
};

const double metrics_seconds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
				  0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const size_t metrics_seconds_n = sizeof(metrics_seconds) /
				 sizeof(metrics_seconds[0]);

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct metric reg[METRICS_MAX];
static size_t nreg;
static struct metric overflow;	/* what counts past METRICS_MAX */

/* The series name{labels} of kind, made when missing (reg_lock held). */
static struct metric *find_or_add(enum metric_kind kind, const char *name,
				  const char *labels, const char *help)
{
	struct metric *m;
	size_t i;

	if (labels == NULL)
		labels = "";
	for (i = 0; i < nreg; i++)
		if (reg[i].kind == kind && strcmp(reg[i].name, name) == 0 &&
		    strcmp(reg[i].labels, labels) == 0)
			return &reg[i];
	if (nreg == METRICS_MAX || strlen(name) >= sizeof(m->name) ||
	    strlen(labels) >= sizeof(m->labels))
		return &overflow;
	m = &reg[nreg];
	m->kind = kind;
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->labels, sizeof(m->labels), "%s", labels);
	m->help = help;
	return m;
}

/* Publish m (made by find_or_add) once it is filled in. */
static void publish(struct metric *m)
{
	if (m != &overflow && m == &reg[nreg])
		nreg++;
}

struct metric *metrics_counter(const char *name, const char *labels,
			       const char *help)
{
	struct metric *m;

	pthread_mutex_lock(&reg_lock);
	m = find_or_add(M_COUNTER, name, labels, help);
	publish(m);
	pthread_mutex_unlock(&reg_lock);
	return m;
}

void metrics_add(struct metric *m, unsigned long long n)
{
	atomic_fetch_add_explicit(&m->value, n, memory_order_relaxed);
}

unsigned long long metrics_value(const struct metric *m)
{
	return atomic_load_explicit(&m->value, memory_order_relaxed);
}

struct metric *metrics_histogram(const char *name, const char *labels,
				 const char *help, const double *bounds,
				 size_t n)
{
	struct metric *m;

	pthread_mutex_lock(&reg_lock);
	m = find_or_add(M_HISTOGRAM, name, labels, help);
	if (m != &overflow && m == &reg[nreg]) {
		m->nb = n < METRICS_BUCKETS_MAX ? n : METRICS_BUCKETS_MAX;
		memcpy(m->bounds, bounds, m->nb * sizeof(*bounds));
	}
	publish(m);
	pthread_mutex_unlock(&reg_lock);
	return m;
}

void metrics_observe(struct metric *m, double v)
{
	size_t i;

	for (i = 0; i < m->nb; i++)
		if (v <= m->bounds[i])
			atomic_fetch_add_explicit(&m->buckets[i], 1,
						  memory_order_relaxed);
	if (v > 0)
		atomic_fetch_add_explicit(&m->sum_micro,
					  (unsigned long long)(v * 1e6),
					  memory_order_relaxed);
	atomic_fetch_add_explicit(&m->value, 1, memory_order_relaxed);
}

void metrics_counter_field(const char *name, const char *labels,
			   const char *help,
			   const unsigned long long *field)
{
	struct metric *m;

	pthread_mutex_lock(&reg_lock);
	m = find_or_add(M_COUNTER, name, labels, help);
	m->field = field;
	publish(m);
	pthread_mutex_unlock(&reg_lock);
}

void metrics_gauge(const char *name, const char *help,
		   double (*fn)(void *arg), void *arg)
{
	struct metric *m;

	pthread_mutex_lock(&reg_lock);
	m = find_or_add(M_GAUGE, name, NULL, help);
	m->fn = fn;
	m->arg = arg;
	publish(m);
	pthread_mutex_unlock(&reg_lock);
}

char *metrics_label(char *out, size_t outlen, const char *key,
		    const char *value)
{
	size_t o = 0;
	int n = snprintf(out, outlen, "%s=\"", key);

	if (n < 0 || (size_t)n >= outlen) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	o = (size_t)n;
	for (; *value && o + 4 < outlen; value++) {
		if (*value == '\\' || *value == '"' || *value == '\n') {
			out[o++] = '\\';
			out[o++] = *value == '\n' ? 'n' : *value;
		} else {
			out[o++] = *value;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static const char *type_name(enum metric_kind k)
{
	return k == M_COUNTER ? "counter" : k == M_HISTOGRAM ? "histogram"
							     : "gauge";
}

/* One histogram series: cumulative buckets, sum, count. */
static int render_histogram(struct sbuf *out, const struct metric *m)
{
	const char *sep = m->labels[0] ? "," : "";
	unsigned long long c;
	size_t i;
	int rc = 0;

	for (i = 0; i < m->nb; i++) {
		c = atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
		rc |= sbuf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n",
				  m->name, m->labels, sep, m->bounds[i], c);
	}
	c = metrics_value(m);
	rc |= sbuf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", m->name,
			  m->labels, sep, c);
	rc |= sbuf_printf(out, "%s_sum%s%s%s %.6f\n", m->name,
			  m->labels[0] ? "{" : "", m->labels,
			  m->labels[0] ? "}" : "",
			  (double)atomic_load_explicit(&m->sum_micro,
						       memory_order_relaxed) /
			  1e6);
	rc |= sbuf_printf(out, "%s_count%s%s%s %llu\n", m->name,
			  m->labels[0] ? "{" : "", m->labels,
			  m->labels[0] ? "}" : "", c);
	return rc;
}

static int render_one(struct sbuf *out, const struct metric *m)
{
	const char *lo = m->labels[0] ? "{" : "", *lc = m->labels[0] ? "}" : "";

	if (m->kind == M_HISTOGRAM)
		return render_histogram(out, m);
	if (m->kind == M_GAUGE)
		return sbuf_printf(out, "%s %.17g\n", m->name, m->fn(m->arg));
	return sbuf_printf(out, "%s%s%s%s %llu\n", m->name, lo, m->labels, lc,
			   m->field ? *m->field : metrics_value(m));
}

int metrics_render(struct sbuf *out)
{
	size_t n, i, j;
	int rc = 0;

	pthread_mutex_lock(&reg_lock);
	n = nreg;
	pthread_mutex_unlock(&reg_lock);
	/* every series of a name after its one HELP and TYPE */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(reg[j].name, reg[i].name) == 0)
				break;
		if (j < i)
			continue;
		rc |= sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
				  reg[i].name, reg[i].help ? reg[i].help : "",
				  reg[i].name, type_name(reg[i].kind));
		for (j = i; j < n; j++)
			if (strcmp(reg[j].name, reg[i].name) == 0)
				rc |= render_one(out, &reg[j]);
	}
	return rc < 0 ? -1 : 0;
}
