/*
 * NAME
 *	msa_sender - which sender addresses an authenticated user may use
 * DESCRIPTION
 *	Anti-forging for the envelope sender and the From: header: a user
 *	sends as their own address, as an alias of the directory snapshot
 *	that reaches them, or as an address the operator granted them in
 *	sender_exceptions ("boss@example.test = ceo@example.test; robot@
 *	example.test = @example.test; admin@example.test = *"). The
 *	snapshot is re-read when sluicectl changes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "directory.h"
#include "msa.h"

struct msa_exception {
	char *user;
	char **addrs;	/* "*", "@domain" or an address */
};

struct msa_exceptions {
	struct msa_exception *e;
	size_t n;
};

void msa_exceptions_free(struct msa_exceptions *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->n; i++) {
		free(x->e[i].user);
		config_list_free(x->e[i].addrs);
	}
	free(x->e);
	free(x);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* One "user = addr addr" entry into x. 0, or -1 with err. */
static int parse_entry(struct msa_exceptions *x, char *entry, char *err,
		       size_t errlen)
{
	char *eq = strchr(entry, '='), *user, *p;
	struct msa_exception *e;

	if (eq == NULL) {
		snprintf(err, errlen, "sender_exceptions: '%s': want user = "
			 "addresses", entry);
		return -1;
	}
	*eq = '\0';
	user = trim(entry);
	for (p = eq + 1; *p; p++)
		if (*p == ' ' || *p == '\t')
			*p = ',';
	e = &x->e[x->n];
	e->addrs = config_list(eq + 1);
	e->user = strdup(user);
	if (e->addrs == NULL || e->user == NULL) {
		config_list_free(e->addrs);
		free(e->user);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	x->n++;
	if (strchr(user, '@') == NULL || e->addrs[0] == NULL) {
		snprintf(err, errlen, "sender_exceptions: '%s': want user@"
			 "domain = addresses", user);
		return -1;
	}
	return 0;
}

struct msa_exceptions *msa_exceptions_parse(const char *spec, char *err,
					    size_t errlen)
{
	struct msa_exceptions *x = calloc(1, sizeof(*x));
	char *copy = strdup(spec), *entry, *next;
	size_t max = 1;
	const char *p;

	for (p = spec; *p; p++)
		max += *p == ';';
	if (x == NULL || copy == NULL ||
	    (x->e = calloc(max, sizeof(*x->e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (entry = copy; entry; entry = next) {
		next = strchr(entry, ';');
		if (next)
			*next++ = '\0';
		entry = trim(entry);
		if (*entry && parse_entry(x, entry, err, errlen) < 0)
			goto fail;
	}
	free(copy);
	return x;
fail:
	free(copy);
	msa_exceptions_free(x);
	return NULL;
}

static int granted(const struct msa_exceptions *x, const char *user,
		   const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t i;
	char **a;

	for (i = 0; x && i < x->n; i++) {
		if (strcasecmp(x->e[i].user, user) != 0)
			continue;
		for (a = x->e[i].addrs; *a; a++)
			if (strcmp(*a, "*") == 0 || strcasecmp(*a, addr) == 0 ||
			    ((*a)[0] == '@' && at && strcasecmp(*a, at) == 0))
				return 1;
	}
	return 0;
}

int msa_owns(struct msa *m, const char *user, const char *addr)
{
	const char *to[64];
	size_t n, i;

	if (strcasecmp(user, addr) == 0 || granted(m->exc, user, addr))
		return 1;
	if (m->cfg->smtp.directory_file[0] == '\0')
		return 0;
	directory_refresh(&m->dir, m->cfg->smtp.directory_file);
	if (m->dir == NULL || directory_lookup(m->dir, addr) != DIR_ALIAS)
		return 0;
	n = directory_expand(m->dir, addr, to, sizeof(to) / sizeof(to[0]));
	for (i = 0; i < n; i++)
		if (strcasecmp(to[i], user) == 0)
			return 1;
	return 0;
}
