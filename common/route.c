/*
 * NAME
 *	route - next-hop lists and routes by recipient domain
 * DESCRIPTION
 *	See route.h. Configuration is validated here, at start-up.
 */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static int parse_hop(const char *s, struct hop *h, char *err, size_t errlen)
{
	const char *hp;

	memset(h, 0, sizeof(*h));
	if (strncasecmp(s, "lmtp:", 5) == 0) {
		h->lmtp = 1;
		hp = s + 5;
	} else if (strncasecmp(s, "smtp:", 5) == 0) {
		hp = s + 5;
	} else {
		snprintf(err, errlen, "next hop '%s': want lmtp:host:port or "
			 "smtp:host:port", s);
		return -1;
	}
	if (strlen(hp) >= sizeof(h->hostport) || strchr(hp, ':') == NULL) {
		snprintf(err, errlen, "next hop '%s': bad host:port", s);
		return -1;
	}
	memcpy(h->hostport, hp, strlen(hp) + 1);
	return 0;
}

static int parse_list(struct route *r, const char *list, int spread,
		      char *err, size_t errlen)
{
	char **items = config_list(list);
	size_t n = 0, i;

	if (items == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (items[n])
		n++;
	if (n == 1 && strcasecmp(items[0], "mx") == 0) {
		config_list_free(items);
		r->dns = 1;
		r->spread = spread;
		return 0;
	}
	if (n == 0) {
		config_list_free(items);
		snprintf(err, errlen, "empty next hop list");
		return -1;
	}
	r->hops = calloc(n, sizeof(*r->hops));
	if (r->hops == NULL) {
		config_list_free(items);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (parse_hop(items[i], &r->hops[i], err, errlen) < 0) {
			config_list_free(items);
			return -1;
		}
	}
	r->nhops = n;
	r->spread = spread;
	config_list_free(items);
	return 0;
}

int route_table_init(struct route_table *t, const char *next_hop,
		     const char *domain_routes, const char *mode, char *err,
		     size_t errlen)
{
	char *copy, *entry, *save = NULL, *eq;
	int spread;
	struct route *nr;

	memset(t, 0, sizeof(*t));
	if (strcmp(mode, "ordered") == 0) {
		spread = 0;
	} else if (strcmp(mode, "spread") == 0) {
		spread = 1;
	} else {
		snprintf(err, errlen, "next_hop_mode '%s': want ordered or "
			 "spread", mode);
		return -1;
	}
	t->routes = calloc(1, sizeof(*t->routes));
	if (t->routes == NULL)
		return -1;
	t->n = 1;
	if (parse_list(&t->routes[0], next_hop, spread, err, errlen) < 0)
		return -1;
	if (domain_routes == NULL || *domain_routes == '\0')
		return 0;
	copy = strdup(domain_routes);
	if (copy == NULL)
		return -1;
	for (entry = strtok_r(copy, ";", &save); entry;
	     entry = strtok_r(NULL, ";", &save)) {
		while (*entry == ' ' || *entry == '\t')
			entry++;
		if (*entry == '\0')
			continue;
		eq = strchr(entry, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "domain route '%s': want "
				 "domain = hop, hop", entry);
			free(copy);
			return -1;
		}
		*eq = '\0';
		nr = realloc(t->routes, (t->n + 1) * sizeof(*nr));
		if (nr == NULL) {
			free(copy);
			return -1;
		}
		t->routes = nr;
		memset(&nr[t->n], 0, sizeof(*nr));
		nr[t->n].domain = strndup(entry, strcspn(entry, " \t"));
		t->n++;
		if (nr[t->n - 1].domain == NULL ||
		    parse_list(&nr[t->n - 1], eq + 1, spread, err,
			       errlen) < 0) {
			free(copy);
			return -1;
		}
	}
	free(copy);
	return 0;
}

void route_table_free(struct route_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->routes[i].domain);
		free(t->routes[i].hops);
	}
	free(t->routes);
	memset(t, 0, sizeof(*t));
}

static int domain_match(const char *pattern, const char *domain)
{
	size_t pl = strlen(pattern), dl = strlen(domain);

	if (pattern[0] == '.')
		return dl > pl && strcasecmp(domain + dl - pl, pattern) == 0;
	return strcasecmp(pattern, domain) == 0;
}

struct route *route_for(struct route_table *t, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t i;

	if (at != NULL)
		for (i = 1; i < t->n; i++)
			if (domain_match(t->routes[i].domain, at + 1))
				return &t->routes[i];
	return &t->routes[0];
}

size_t route_pick(struct route *r, time_t now, size_t *order, size_t max)
{
	size_t i, k, n = 0, start = r->spread ? r->next % r->nhops : 0;

	for (k = 0; k < r->nhops && n < max; k++) {
		i = (start + k) % r->nhops;
		if (r->hops[i].down_until <= now)
			order[n++] = i;
	}
	if (r->spread)
		r->next++;
	return n;
}

void route_hop_down(struct hop *h, time_t now, long long seconds)
{
	h->down_until = now + (time_t)seconds;
}
