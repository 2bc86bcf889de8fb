/*
 * NAME
 *	dmarc - DMARC records, organisational domains, alignment
 * DESCRIPTION
 *	See dmarc.h. The Public Suffix List is held as a sorted array of
 *	its rules ("com", "*.ck", "!www.ck"), searched with bsearch; the
 *	longest matching rule wins and an exception rule beats a wildcard
 *	(publicsuffix.org's algorithm). Rules in UTF-8 do not match A-labels
 *	(xn--): those domains fall back to the default rule "*".
 */
#include "dmarc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_verify.h"

#define PSL_MAX_RULES 20000

struct psl {
	char **rules;
	size_t n;
};

int dmarc_is_record(const char *txt, size_t len)
{
	size_t i = 8;

	if (len < 8 || strncmp(txt, "v=DMARC1", 8) != 0)
		return 0;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	return i == len || txt[i] == ';';
}

static int policy_of(const struct dkim_tag *t, enum dmarc_policy *p)
{
	static const char *const names[] = {"none", "quarantine", "reject"};
	int i;

	for (i = 0; i < 3; i++)
		if (t->vlen == strlen(names[i]) &&
		    strncasecmp(t->v, names[i], t->vlen) == 0) {
			*p = (enum dmarc_policy)i;
			return 0;
		}
	return -1;
}

int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r)
{
	struct dkim_tag t[DKIM_MAX_TAGS];
	const struct dkim_tag *p, *sp, *pct, *ad, *as;
	int n;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	if (!dmarc_is_record(txt, len))
		return -1;
	n = dkim_tags_parse(txt, len, t, DKIM_MAX_TAGS);
	if (n < 1)
		return -1;
	p = dkim_tag_get(t, n, "p");
	if (p == NULL || policy_of(p, &r->p) < 0) {
		/* 6.6.3: with rua=, a bad p= reads as none */
		if (dkim_tag_get(t, n, "rua") == NULL)
			return -1;
		r->p = DMARC_P_NONE;
	}
	r->sp = r->p;
	sp = dkim_tag_get(t, n, "sp");
	if (sp && policy_of(sp, &r->sp) < 0)
		r->sp = r->p;
	pct = dkim_tag_get(t, n, "pct");
	if (pct && pct->vlen > 0 && pct->vlen <= 3) {
		int v = 0;
		size_t i;

		for (i = 0; i < pct->vlen && isdigit((unsigned char)pct->v[i]);
		     i++)
			v = v * 10 + (pct->v[i] - '0');
		if (i == pct->vlen && v <= 100)
			r->pct = v;
	}
	ad = dkim_tag_get(t, n, "adkim");
	as = dkim_tag_get(t, n, "aspf");
	r->adkim_strict = ad && ad->vlen == 1 && (ad->v[0] == 's' ||
						   ad->v[0] == 'S');
	r->aspf_strict = as && as->vlen == 1 && (as->v[0] == 's' ||
						  as->v[0] == 'S');
	return 0;
}

static int cmp_rule(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct psl *psl_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct psl *p;
	char line[512];
	size_t len, i;

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open", path);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || (p->rules = calloc(PSL_MAX_RULES,
					    sizeof(char *))) == NULL) {
		free(p);
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (fgets(line, sizeof(line), f) && p->n < PSL_MAX_RULES) {
		len = strcspn(line, " \t\r\n");
		line[len] = '\0';
		if (len == 0 || strncmp(line, "//", 2) == 0)
			continue;
		for (i = 0; i < len; i++)
			line[i] = (char)tolower((unsigned char)line[i]);
		p->rules[p->n] = strdup(line);
		if (p->rules[p->n] == NULL)
			break;
		p->n++;
	}
	fclose(f);
	if (p->n == 0) {
		snprintf(err, errlen, "%s: no rules", path);
		psl_free(p);
		return NULL;
	}
	qsort(p->rules, p->n, sizeof(char *), cmp_rule);
	return p;
}

void psl_free(struct psl *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->rules[i]);
	free(p->rules);
	free(p);
}

static int has_rule(const struct psl *p, const char *pre, const char *s)
{
	char key[300];
	const char *k = key;

	if (snprintf(key, sizeof(key), "%s%s", pre, s) >= (int)sizeof(key))
		return 0;
	return bsearch(&k, p->rules, p->n, sizeof(char *), cmp_rule) != NULL;
}

void dmarc_org_domain(const struct psl *psl, const char *domain, char *out,
		      size_t outlen)
{
	char d[256];
	size_t pos[128], n = 0, i, len, ps;

	snprintf(d, sizeof(d), "%s", domain);
	len = strlen(d);
	while (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	for (i = 0; i < len; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	/* an empty label ("a..com", ".com") makes no domain name: it is
	 * its own organisational domain, else ".com" would be one (and
	 * not its own) */
	if (len == 0 || d[0] == '.' || strstr(d, "..") != NULL) {
		snprintf(out, outlen, "%s", d);
		return;
	}
	for (i = 0; i < len && n < 128; i++)
		if (i == 0 || d[i - 1] == '.')
			pos[n++] = i;
	if (n == 0) {
		snprintf(out, outlen, "%s", d);
		return;
	}
	ps = n - 1;	/* the default rule "*": the last label */
	for (i = 0; psl && i < n; i++) {
		if (has_rule(psl, "!", d + pos[i])) {
			ps = i + 1 < n ? i + 1 : i;
			break;
		}
		if (has_rule(psl, "", d + pos[i]) ||
		    (i + 1 < n && has_rule(psl, "*.", d + pos[i + 1]))) {
			ps = i;
			break;
		}
	}
	snprintf(out, outlen, "%s", d + pos[ps > 0 ? ps - 1 : 0]);
}

int dmarc_aligned(const struct psl *psl, const char *a, const char *from,
		  int strict)
{
	char oa[256], of[256];

	if (strcasecmp(a, from) == 0)
		return 1;
	if (strict)
		return 0;
	dmarc_org_domain(psl, a, oa, sizeof(oa));
	dmarc_org_domain(psl, from, of, sizeof(of));
	return strcmp(oa, of) == 0;
}

enum dmarc_policy dmarc_policy(const struct dmarc_record *r,
			       int is_subdomain, int roll)
{
	enum dmarc_policy p = is_subdomain ? r->sp : r->p;

	if (roll >= r->pct && p > DMARC_P_NONE)
		p = (enum dmarc_policy)(p - 1);
	return p;
}

const char *dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_P_REJECT ? "reject" :
	       p == DMARC_P_QUARANTINE ? "quarantine" : "none";
}
