/*
 * NAME
 *	config - "key = value" configuration files with a typed table
 * DESCRIPTION
 *	See config.h. Read at start-up only, from a file the operator
 *	controls; still, every line and value is checked and numbers are
 *	overflow-checked, so a typo stops the daemon with a clear message.
 */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096

static const struct cfg_param *find(const struct cfg_param *t,
				    const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

/* The parameter whose former name is name, or NULL. */
/* renamed keys: {former name, name} */
static const char *old_names[CONFIG_OLD_NAMES][2];
static size_t n_old_names;

void config_old_name(const char *old_name, const char *name)
{
	if (n_old_names < CONFIG_OLD_NAMES) {
		old_names[n_old_names][0] = old_name;
		old_names[n_old_names][1] = name;
		n_old_names++;
	}
}

/* The parameter whose former name is name, or NULL. */
static const struct cfg_param *find_old(const struct cfg_param *t,
					const char *name)
{
	size_t i;

	for (i = 0; i < n_old_names; i++)
		if (strcmp(old_names[i][0], name) == 0)
			return find(t, old_names[i][1]);
	return NULL;
}

/* Multiplier for a suffix, or 0 when unknown. */
static long long suffix_mult(enum cfg_type type, const char *s)
{
	if (*s == '\0')
		return 1;
	if (s[1] != '\0')
		return 0;
	switch (tolower((unsigned char)*s)) {
	case 's':
		return type == CFG_TIME ? 1 : 0;
	case 'm':
		return type == CFG_TIME ? 60 : 1024LL * 1024;
	case 'h':
		return type == CFG_TIME ? 3600 : 0;
	case 'd':
		return type == CFG_TIME ? 86400 : 0;
	case 'w':
		return type == CFG_TIME ? 7 * 86400 : 0;
	case 'k':
		return type == CFG_SIZE ? 1024 : 0;
	case 'g':
		return type == CFG_SIZE ? 1024LL * 1024 * 1024 : 0;
	default:
		return 0;
	}
}

static int parse_number(const struct cfg_param *p, const char *value,
			long long *out, char *err, size_t errlen)
{
	const char *s = value;
	long long v = 0, mult = 1;
	int digits = 0, neg = 0;

	/* a sign only for an integer whose range goes below zero */
	if (*s == '-' && p->type == CFG_INT && p->min < 0) {
		neg = 1;
		s++;
	}
	while (isdigit((unsigned char)*s)) {
		if (v > (LLONG_MAX - (*s - '0')) / 10) {
			snprintf(err, errlen, "'%s' is too large", value);
			return -1;
		}
		v = v * 10 + (*s - '0');
		s++;
		digits++;
	}
	if (digits == 0) {
		snprintf(err, errlen, "'%s' is not a number", value);
		return -1;
	}
	if (p->type != CFG_INT)
		mult = suffix_mult(p->type, s);
	else if (*s != '\0')
		mult = 0;
	if (mult == 0) {
		snprintf(err, errlen, "'%s': bad suffix%s", value,
			 p->type == CFG_TIME ? " (use s, m, h, d or w)"
			 : p->type == CFG_SIZE ? " (use k, m or g)" : "");
		return -1;
	}
	if (v > LLONG_MAX / mult) {
		snprintf(err, errlen, "'%s' is too large", value);
		return -1;
	}
	v *= mult;
	if (neg)
		v = -v;
	if (v < p->min || v > p->max) {
		snprintf(err, errlen, "'%s' is out of range (%lld to %lld)",
			 value, p->min, p->max);
		return -1;
	}
	*out = v;
	return 0;
}

/* "a|b|c" in p->def: the index of value, or -1 listing the choices. */
static int parse_choice(const struct cfg_param *p, const char *value,
			char *err, size_t errlen)
{
	const char *c = p->def, *bar;
	size_t n, vlen = strlen(value);
	int i;

	for (i = 0;; i++) {
		bar = strchr(c, '|');
		n = bar ? (size_t)(bar - c) : strlen(c);
		if (n == vlen && strncasecmp(c, value, n) == 0) {
			*(int *)p->var = i;
			return 0;
		}
		if (bar == NULL)
			break;
		c = bar + 1;
	}
	snprintf(err, errlen, "'%s' is not one of %s", value, p->def);
	return -1;
}

/* The n-th choice of p->def into out. */
static const char *choice_name(const struct cfg_param *p, int n, char *out,
			       size_t outlen)
{
	const char *c = p->def, *bar;
	size_t len;

	for (; n > 0 && (bar = strchr(c, '|')) != NULL; n--)
		c = bar + 1;
	len = strcspn(c, "|");
	snprintf(out, outlen, "%.*s", (int)len, c);
	return out;
}

int config_parse_value(const struct cfg_param *p, const char *value,
		       char *err, size_t errlen)
{
	long long n;
	char *s;

	switch (p->type) {
	case CFG_STR:
		s = strdup(value);
		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)p->var);
		*(char **)p->var = s;
		return 0;
	case CFG_BOOL:
		if (!strcasecmp(value, "yes") || !strcasecmp(value, "true") ||
		    !strcasecmp(value, "on") || !strcmp(value, "1")) {
			*(int *)p->var = 1;
			return 0;
		}
		if (!strcasecmp(value, "no") || !strcasecmp(value, "false") ||
		    !strcasecmp(value, "off") || !strcmp(value, "0")) {
			*(int *)p->var = 0;
			return 0;
		}
		snprintf(err, errlen, "'%s' is not yes or no", value);
		return -1;
	case CFG_CHOICE:
		return parse_choice(p, value, err, errlen);
	case CFG_INT:
	case CFG_TIME:
	case CFG_SIZE:
		if (parse_number(p, value, &n, err, errlen) < 0)
			return -1;
		*(long long *)p->var = n;
		return 0;
	}
	snprintf(err, errlen, "unknown parameter type");
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			 e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int load_file(const struct cfg_param *table, const char *path,
		     char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX + 2], why[256], *key, *val, *eq;
	const struct cfg_param *p;
	unsigned char *seen;
	size_t n = 0;
	int lineno = 0, rc = -1;
	FILE *f;

	for (p = table; p->name; p++)
		n++;
	seen = calloc(n + 1, 1);
	if (seen == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(seen);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strlen(line) > CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s:%d: line too long", path,
				 lineno);
			goto out;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'",
				 path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		p = find(table, key);
		if (p == NULL && (p = find_old(table, key)) != NULL)
			log_warn("%s:%d: key '%s' is deprecated, use '%s' "
				 "(the old name goes in the next release)",
				 path, lineno, key, p->name);
		if (p == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'", path,
				 lineno, key);
			goto out;
		}
		if (seen[p - table]) {
			snprintf(err, errlen, "%s:%d: key '%s' given twice",
				 path, lineno, key);
			goto out;
		}
		seen[p - table] = 1;
		if (config_parse_value(p, val, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: bad value for '%s': %s",
				 path, lineno, key, why);
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	free(seen);
	return rc;
}

int config_load(const struct cfg_param *table, const char *path, char *err,
		size_t errlen)
{
	const struct cfg_param *p;
	char why[256];

	for (p = table; p->name; p++) {
		if (p->type == CFG_CHOICE) {
			*(int *)p->var = 0;
			continue;
		}
		if (config_parse_value(p, p->def, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "default of '%s': %s", p->name,
				 why);
			return -1;
		}
	}
	return path ? load_file(table, path, err, errlen) : 0;
}

int config_key_line(const char *path, const char *key)
{
	char line[CONFIG_LINE_MAX + 2], *k, *eq;
	int lineno = 0, found = 0;
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		k = trim(line);
		eq = strchr(k, '=');
		if (*k == '#' || eq == NULL)
			continue;
		*eq = '\0';
		found = strcmp(trim(k), key) == 0;
	}
	fclose(f);
	return found ? lineno : 0;
}

void config_print(const struct cfg_param *table, FILE *out)
{
	const struct cfg_param *p;
	char val[64], dflt[64];
	const char *v;

	for (p = table; p->name; p++) {
		switch (p->type) {
		case CFG_STR:
			v = *(char **)p->var;
			break;
		case CFG_BOOL:
			v = *(int *)p->var ? "yes" : "no";
			break;
		case CFG_CHOICE:
			v = choice_name(p, *(int *)p->var, val, sizeof(val));
			break;
		default:
			snprintf(val, sizeof(val), "%lld%s",
				 *(long long *)p->var,
				 p->type == CFG_TIME ? "s" : "");
			v = val;
			break;
		}
		if (p->help && p->type == CFG_CHOICE)
			fprintf(out, "# %s (%s; default: %s)\n", p->help,
				p->def, choice_name(p, 0, dflt, sizeof(dflt)));
		else if (p->help)
			fprintf(out, "# %s (default: %s)\n", p->help, p->def);
		fprintf(out, "%s = %s\n", p->name, v);
	}
}

char **config_list(const char *value)
{
	char **list;
	size_t n = 0, i = 0, len;
	const char *s;

	for (s = value; *s;) {
		s += strspn(s, ", \t");
		len = strcspn(s, ", \t");
		if (len)
			n++;
		s += len;
	}
	list = calloc(n + 1, sizeof(*list));
	if (list == NULL)
		return NULL;
	for (s = value; *s;) {
		s += strspn(s, ", \t");
		len = strcspn(s, ", \t");
		if (len) {
			list[i] = strndup(s, len);
			if (list[i] == NULL) {
				config_list_free(list);
				return NULL;
			}
			i++;
		}
		s += len;
	}
	return list;
}

void config_list_free(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i]; i++)
		free(list[i]);
	free(list);
}

/* ---- reload ---- */

union cfg_value {
	char *s;
	long long n;
	int i;
};

static void value_get(const struct cfg_param *p, union cfg_value *v)
{
	if (p->type == CFG_STR)
		v->s = *(char **)p->var;
	else if (p->type == CFG_BOOL || p->type == CFG_CHOICE)
		v->i = *(int *)p->var;
	else
		v->n = *(long long *)p->var;
}

static void value_set(const struct cfg_param *p, const union cfg_value *v)
{
	if (p->type == CFG_STR)
		*(char **)p->var = v->s;
	else if (p->type == CFG_BOOL || p->type == CFG_CHOICE)
		*(int *)p->var = v->i;
	else
		*(long long *)p->var = v->n;
}

static int value_same(const struct cfg_param *p, const union cfg_value *a,
		      const union cfg_value *b)
{
	if (p->type == CFG_STR)
		return strcmp(a->s ? a->s : "", b->s ? b->s : "") == 0;
	if (p->type == CFG_BOOL || p->type == CFG_CHOICE)
		return a->i == b->i;
	return a->n == b->n;
}

static int in_list(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

/* Strings replaced by reloads: others may still point at them. */
static char **retired;
static size_t nretired;

static void retire(char *s)
{
	char **r = realloc(retired, (nretired + 1) * sizeof(*r));

	if (r == NULL)
		return;	/* leaked rather than freed under a reader */
	retired = r;
	retired[nretired++] = s;
}

int config_reload(const struct cfg_param *table, const char *path,
		  const char *const *live, char *note, size_t notelen,
		  char *err, size_t errlen)
{
	struct cfg_param *shadow;
	union cfg_value *nv, old;
	const struct cfg_param *p;
	size_t n = 0, i, o = 0;
	int same, keep;

	if (notelen)
		note[0] = '\0';
	for (p = table; p->name; p++)
		n++;
	/* load into a copy: the live values change only below, each in one
	 * store, so threads reading them never see a half-made state */
	shadow = calloc(n + 1, sizeof(*shadow));
	nv = calloc(n + 1, sizeof(*nv));
	if (shadow == NULL || nv == NULL) {
		free(shadow);
		free(nv);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		shadow[i] = table[i];
		shadow[i].var = &nv[i];
	}
	if (config_load(shadow, path, err, errlen) < 0) {
		for (i = 0; i < n; i++)
			if (table[i].type == CFG_STR)
				free(nv[i].s);
		free(shadow);
		free(nv);
		return -1;
	}
	for (i = 0; i < n; i++) {
		p = &table[i];
		value_get(p, &old);
		same = value_same(p, &old, &nv[i]);
		keep = same || !in_list(live, p->name);
		if (!same && !keep)
			value_set(p, &nv[i]);
		else if (!same && o + 1 < notelen) {
			int k = snprintf(note + o, notelen - o, "%s%s",
					 o ? ", " : "", p->name);

			o = k < 0 ? o : o + (size_t)k >= notelen ?
			    notelen - 1 : o + (size_t)k;
		}
		if (p->type == CFG_STR && keep)
			free(nv[i].s);
		else if (p->type == CFG_STR)
			retire(old.s);
	}
	free(shadow);
	free(nv);
	return 0;
}
