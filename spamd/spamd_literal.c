/*
 * NAME
 *	spamd_literal - the literals a body rule cannot match without
 * DESCRIPTION
 *	For a POSIX extended regular expression, a set of lower-case
 *	strings of which every match contains one ("(act|order) now" needs
 *	"act now" or "order now"), found from its syntax: literals,
 *	groups, alternatives, bracket expressions of a few characters,
 *	and the quantifiers ? * + {m,n}. Whatever it does not understand
 *	(a wide bracket expression, '.', a backslash class) constrains
 *	nothing, so the set it gives is always a necessary condition: a
 *	text holding none of the strings, in any case, cannot match. The
 *	rules then look for every rule's strings in one pass over the body
 *	(spamd_rules.c) and run the few expressions that can match.
 *	The expressions are the operator's; bounded all the same (depth,
 *	number and length of the strings).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "spamd.h"

#define DEPTH_MAX 16

struct lset {
	int ok;		/* 0: no such set */
	size_t n;
	char s[SPAMD_LIT_N][SPAMD_LIT_LEN + 1];
};

/* What a piece of an expression matches: exactly one of exact's strings
 * (when exact.ok), and in any case text holding one of must's (when
 * must.ok). */
struct info {
	struct lset exact, must;
};

struct parser {
	const char *p;
	int depth;
};

static void set_one(struct lset *s, const char *str, size_t n)
{
	s->ok = 1;
	s->n = 1;
	memcpy(s->s[0], str, n);
	s->s[0][n] = '\0';
}

static void set_add(struct lset *s, const char *str)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->s[i], str) == 0)
			return;
	if (s->n >= SPAMD_LIT_N) {
		s->ok = 0;
		return;
	}
	memcpy(s->s[s->n++], str, strlen(str) + 1);
}

/* a then b, every way; not ok when too many or too long */
static void set_cross(const struct lset *a, const struct lset *b,
		      struct lset *out)
{
	size_t i, j, la, lb;
	char buf[2 * SPAMD_LIT_LEN + 2];

	out->ok = a->ok && b->ok && a->n * b->n <= SPAMD_LIT_N;
	out->n = 0;
	for (i = 0; out->ok && i < a->n; i++)
		for (j = 0; out->ok && j < b->n; j++) {
			la = strlen(a->s[i]);
			lb = strlen(b->s[j]);
			if (la + lb > SPAMD_LIT_LEN) {
				out->ok = 0;
				break;
			}
			memcpy(buf, a->s[i], la);
			memcpy(buf + la, b->s[j], lb + 1);
			set_add(out, buf);
		}
}

static void set_union(struct lset *a, const struct lset *b)
{
	size_t i;

	for (i = 0; a->ok && b->ok && i < b->n; i++)
		set_add(a, b->s[i]);
	a->ok = a->ok && b->ok;
}

static size_t min_len(const struct lset *s)
{
	size_t i, m = SPAMD_LIT_LEN + 1, l;

	for (i = 0; i < s->n; i++)
		if ((l = strlen(s->s[i])) < m)
			m = l;
	return s->n ? m : 0;
}

/* The strings of s as a necessary condition (none may be empty). */
static void must_of(const struct lset *s, struct lset *out)
{
	*out = *s;
	out->ok = s->ok && s->n > 0 && min_len(s) > 0;
}

static void must_of_info(const struct info *x, struct lset *out)
{
	struct lset m;

	must_of(&x->exact, &m);
	*out = m.ok ? m : x->must;	/* out may be &x->must */
}

/* Keep in *best the more selective of it and c: longer shortest
 * string, then fewer strings. */
static void better(struct lset *best, const struct lset *c)
{
	if (!c->ok)
		return;
	if (!best->ok || min_len(c) > min_len(best) ||
	    (min_len(c) == min_len(best) && c->n < best->n))
		*best = *c;
}

static void any(struct info *x)
{
	x->exact.ok = 0;
	x->must.ok = 0;
}

static void alt(struct parser *ps, struct info *x);

/* A bracket expression after its '[': a few plain characters give
 * them, anything else (ranges, classes, negation) constrains nothing. */
static void bracket(struct parser *ps, struct info *x)
{
	const char *p = ps->p;
	int plain = *p != '^';
	char c[2] = {0, 0};

	x->exact.ok = 1;
	x->exact.n = 0;
	if (*p == '^')
		p++;
	if (*p == ']') {
		c[0] = ']';
		set_add(&x->exact, c);
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			const char *e = strstr(p + 2, p[1] == ':' ? ":]" :
					       p[1] == '=' ? "=]" : ".]");

			plain = 0;
			if (e == NULL)
				break;
			p = e + 1;
			continue;
		}
		if (p[1] == '-' && p[2] && p[2] != ']')
			plain = 0;
		c[0] = (char)tolower((unsigned char)*p);
		set_add(&x->exact, c);
	}
	ps->p = *p ? p + 1 : p;
	if (!plain || x->exact.n > 4 || !x->exact.ok)
		any(x);
	else
		x->must.ok = 0;
}

static void atom(struct parser *ps, struct info *x)
{
	char c = *ps->p;

	x->must.ok = 0;
	ps->p++;
	if (c == '(') {
		alt(ps, x);
		if (*ps->p == ')')
			ps->p++;
	} else if (c == '[') {
		bracket(ps, x);
	} else if (c == '.') {
		any(x);
	} else if (c == '^' || c == '$') {
		set_one(&x->exact, "", 0);
	} else if (c == '\\' && *ps->p) {
		c = *ps->p++;
		if (isalnum((unsigned char)c) || c == '<' || c == '>' ||
		    c == '`' || c == '\'')
			any(x);	/* \w, \b, \< ...: a class or an anchor */
		else
			set_one(&x->exact, &c, 1);
	} else {
		c = (char)tolower((unsigned char)c);
		set_one(&x->exact, &c, 1);
	}
}

/* The quantifier at ps->p, if any, applied to x. */
static void quantifier(struct parser *ps, struct info *x)
{
	struct lset m, empty;
	long lo = 0, hi = -1;
	char *end;

	if (*ps->p == '?') {
		ps->p++;
		set_one(&empty, "", 0);
		set_union(&x->exact, &empty);
		x->must.ok = 0;
		return;
	}
	if (*ps->p == '*' || *ps->p == '+') {
		lo = *ps->p++ == '+';
	} else if (*ps->p == '{' && isdigit((unsigned char)ps->p[1])) {
		lo = strtol(ps->p + 1, &end, 10);
		hi = lo;
		if (*end == ',')
			hi = isdigit((unsigned char)end[1]) ?
			     strtol(end + 1, &end, 10) : (end++, -1);
		if (*end != '}')
			return;	/* not a bound: a literal '{' follows */
		ps->p = end + 1;
		if (lo == 1 && hi == 1)
			return;
	} else {
		return;
	}
	must_of_info(x, &m);
	x->exact.ok = 0;
	x->must = m;
	if (lo == 0)
		x->must.ok = 0;
}

/* A concatenation, up to '|', ')' or the end. */
static void seq(struct parser *ps, struct info *x)
{
	struct lset run, best, t;
	struct info a;
	int broken = 0;

	set_one(&run, "", 0);
	best.ok = 0;
	while (*ps->p && *ps->p != '|' && *ps->p != ')') {
		atom(ps, &a);
		quantifier(ps, &a);
		if (a.exact.ok && run.ok) {
			set_cross(&run, &a.exact, &t);
			if (t.ok) {
				run = t;
				continue;
			}
		}
		must_of(&run, &t);
		better(&best, &t);
		must_of_info(&a, &t);
		better(&best, &t);
		broken = 1;
		if (a.exact.ok)
			run = a.exact;
		else
			set_one(&run, "", 0);
	}
	must_of(&run, &t);
	better(&best, &t);
	x->exact = run;
	x->exact.ok = run.ok && !broken;
	x->must = best;
}

static void alt(struct parser *ps, struct info *x)
{
	struct info b;
	struct lset m;

	if (++ps->depth > DEPTH_MAX) {
		any(x);
		ps->p += strlen(ps->p);
		return;
	}
	seq(ps, x);
	must_of_info(x, &x->must);
	while (*ps->p == '|') {
		ps->p++;
		seq(ps, &b);
		set_union(&x->exact, &b.exact);
		must_of_info(&b, &m);
		set_union(&x->must, &m);
	}
	ps->depth--;
}

size_t spamd_literals(const char *re, char lits[][SPAMD_LIT_LEN + 1])
{
	struct parser ps = {re, 0};
	struct info x;
	struct lset m;
	size_t i;

	alt(&ps, &x);
	must_of_info(&x, &m);
	if (*ps.p != '\0' || !m.ok || min_len(&m) < 3)
		return 0;	/* a stray ')', or nothing selective */
	for (i = 0; i < m.n; i++)
		memcpy(lits[i], m.s[i], strlen(m.s[i]) + 1);
	return m.n;
}
