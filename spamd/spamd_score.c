/*
 * NAME
 *	spamd_score - the scoring core the LMTP stage and the milter share
 * DESCRIPTION
 *	One message in, a verdict out: the extracted text goes through the
 *	rules, its tokens and the rules that hit ("rule:NAME": their weight
 *	is learnt, on top of their set score) through the Bayes table; the
 *	Bayes probability counts as one of the bands BAYES_00 .. BAYES_99,
 *	like rules. The DNSBL hits, found earlier, are already in the
 *	verdict. Also the X-Spam-* header values (PIPELINE.md:
 *	X-Spam-Score, X-Spam-Status: Yes|No, score=S required=R
 *	tests=A,B,C tokens=T,U,V and X-Spam-Flag: YES; tokens= names the
 *	three that weighed most toward the Bayes verdict).
 *	Pure apart from the shared, read-only tables; any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spamd.h"
#include "tracehdr.h"

/* Bands of the Bayes probability: [lo, next lo) scores score. Tuned on
 * the training sets only (sluice-spamtrain --cv: 3-fold, time ordered,
 * and time ordered with a gap; easy-ham-1, hard-ham-1 and spam-1):
 * no easy ham flagged in any split, the most spam caught for about one
 * hard ham (commercial mail) in thirty flagged. Strong evidence either
 * way decides alone; a message the classifier knows little about lands
 * in BAYES_40 (the intercept says most mail is ham) and needs 3 points
 * of rules. */
static const struct band {
	double lo;
	const char *name;
	double score;
} bands[] = {
	{0.00, "BAYES_00", -2.0}, {0.01, "BAYES_05", -1.0},
	{0.05, "BAYES_20", -0.5}, {0.20, "BAYES_40", 2.0},
	{0.40, "BAYES_50", 2.5},  {0.60, "BAYES_60", 4.5},
	{0.80, "BAYES_80", 4.5},  {0.95, "BAYES_95", 5.0},
	{0.99, "BAYES_99", 5.5},  {2.0, NULL, 0},
};

void spamd_verdict_init(struct spamd_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->bayes = -1;
}

void spamd_verdict_add(struct spamd_verdict *v, const char *name,
		       double score)
{
	if (v->nhits >= SPAMD_MAX_HITS)
		return;
	snprintf(v->hits[v->nhits].name, sizeof(v->hits[0].name), "%s",
		 name);
	v->hits[v->nhits++].score = score;
	v->score += score;
}

/* Add tok to the clues v names, as header-safe text: printable ASCII
 * but for the separators, white space as '_', other bytes as '?'. */
static void clue_name(struct spamd_verdict *v, const char *tok)
{
	size_t n = strlen(v->clues), i;
	unsigned char c;

	if (n > 0 && n + 1 < sizeof(v->clues))
		v->clues[n++] = ',';
	for (i = 0; tok[i] && i < SPAMD_CLUE_MAX && n + 1 < sizeof(v->clues);
	     i++) {
		c = (unsigned char)tok[i];
		v->clues[n++] = c == ' ' ? '_' : c > ' ' && c < 0x7f &&
				c != ',' && c != '"' && c != '\\' &&
				c != ';' ? (char)c : '?';
	}
	v->clues[n] = '\0';
}

int spamd_features(const struct spamd_core *c, const struct spamd_text *t,
		   struct spamd_tokset *set, struct spamd_verdict *v)
{
	struct spamd_verdict own;
	char tok[64];
	size_t i, n0;
	int k;

	if (v == NULL) {
		spamd_verdict_init(&own);
		v = &own;
	}
	n0 = v->nhits;
	spamd_rules_run(c->rules, t, c->body_size, v);
	if (spamd_tokset_build(t, set) < 0)
		return -1;
	for (i = n0; i < v->nhits; i++) {
		k = snprintf(tok, sizeof(tok), "rule:%s", v->hits[i].name);
		spamd_tokset_add(set, tok, (size_t)k);
	}
	return 0;
}

int spamd_score(const struct spamd_core *c, struct bayes_table *table,
		const char *msg, size_t len, struct spamd_verdict *v)
{
	struct spamd_text t;
	struct spamd_tokset set;
	struct bayes_result r;
	size_t i;

	if (spamd_text_extract(msg, len, c->scan_size, &t) < 0)
		return -1;
	if (table == NULL)
		spamd_rules_run(c->rules, &t, c->body_size, v);
	if (table) {
		if (spamd_features(c, &t, &set, v) < 0) {
			spamd_text_free(&t);
			return -1;
		}
		if (bayes_classify(table, &set, c->bayes_min, &r) < 0) {
			spamd_tokset_free(&set);
			spamd_text_free(&t);
			return -1;
		}
		v->bayes = r.prob;
		for (i = 0; i < r.nclues; i++)
			clue_name(v, spamd_tokset_text(&set, r.slot[i]));
		spamd_tokset_free(&set);
		for (i = 0; v->bayes >= 0 && bands[i + 1].name; i++)
			if (v->bayes < bands[i + 1].lo)
				break;
		if (v->bayes >= 0)
			spamd_verdict_add(v, bands[i].name, bands[i].score);
	}
	spamd_text_free(&t);
	return 0;
}

void spamd_tests(const struct spamd_verdict *v, char *out, size_t outlen)
{
	size_t i, n = 0, w;

	out[0] = '\0';
	for (i = 0; i < v->nhits; i++) {
		w = strlen(v->hits[i].name) + (n > 0);
		if (n + w + 1 > outlen)
			break;
		snprintf(out + n, outlen - n, "%s%s", n > 0 ? "," : "",
			 v->hits[i].name);
		n += w;
	}
	if (n == 0)
		snprintf(out, outlen, "none");
}

void spamd_score_value(const struct spamd_verdict *v, char *out,
		       size_t outlen)
{
	snprintf(out, outlen, "%.1f", v->score);
}

void spamd_status_value(const struct spamd_core *c,
			const struct spamd_verdict *v, char *out,
			size_t outlen)
{
	char tests[700];

	spamd_tests(v, tests, sizeof(tests));
	snprintf(out, outlen, "%s, score=%.1f required=%.1f tests=%s%s%s",
		 v->score >= c->required ? "Yes" : "No", v->score,
		 c->required, tests, v->clues[0] ? " tokens=" : "", v->clues);
}

int spamd_headers(const struct spamd_core *c, const struct spamd_verdict *v,
		  struct sbuf *out)
{
	char score[32], status[800];

	spamd_score_value(v, score, sizeof(score));
	spamd_status_value(c, v, status, sizeof(status));
	if (sbuf_printf(out, "%s: %s\r\n%s: %s\r\n", TRACEHDR_SPAM_SCORE,
			score, TRACEHDR_SPAM_STATUS, status) < 0)
		return -1;
	if (v->score >= c->required &&
	    sbuf_printf(out, "%s: YES\r\n", TRACEHDR_SPAM_FLAG) < 0)
		return -1;
	return 0;
}

double spamd_parse_score(const char *key, const char *value)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(value, &end);
	if (end == value || *end != '\0' || errno != 0 || d < -1000 ||
	    d > 1000)
		log_fatal("%s: '%s' is not a score (a number, -1000 to 1000)",
			  key, value);
	return d;
}
