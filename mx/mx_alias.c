/*
 * NAME
 *	mx_alias - remote alias targets of Internet mail
 * DESCRIPTION
 *	With alias_relay set, the remote targets of an alias (directory.h)
 *	are added to the envelope at end of data (alias.h) and routed to
 *	alias_relay (normally outmta): the route table gets the local
 *	domains on next_hop and alias_relay as its default, after the
 *	configured domain_routes. Without it, remote targets are logged
 *	once and left out; the store delivers the alias's local targets,
 *	and an alias with remote targets only is refused at RCPT.
 *	Mail layer.
 */
#include <stdio.h>
#include <string.h>

#include "alias.h"
#include "directory.h"
#include "limits_rfc.h"
#include "log.h"
#include "mx.h"
#include "route.h"
#include "sbuf.h"

int mx_routes_init(struct mx *mx, struct route_table *t, char *err,
		   size_t errlen)
{
	const struct stage_smtp_config *c = &mx->cfg->smtp;
	struct sbuf dr;
	char **d;
	int rc;

	if (mx->cfg->alias_relay[0] == '\0')
		return route_table_init(t, c->next_hop, c->domain_routes,
					c->next_hop_mode, err, errlen);
	sbuf_init(&dr, 1 << 20);
	sbuf_puts(&dr, c->domain_routes);
	for (d = mx->domains; *d; d++)
		sbuf_printf(&dr, "; %s = %s", *d, c->next_hop);
	if (dr.data == NULL || dr.len + 1 >= dr.max) {
		sbuf_free(&dr);
		snprintf(err, errlen, "domain_routes: too long");
		return -1;
	}
	rc = route_table_init(t, mx->cfg->alias_relay, dr.data,
			      c->next_hop_mode, err, errlen);
	sbuf_free(&dr);
	return rc;
}

int mx_alias_expand(struct mx *mx, struct smtp_session *s)
{
	static int warned;
	const char *t[1];
	size_t i;

	if (mx->dir == NULL)
		return 0;
	if (mx->cfg->alias_relay[0])
		return alias_expand_remote(mx->dir, &s->env, s->id,
					   LIM_RCPT_MAX) < 0 ? -1 : 0;
	for (i = 0; i < s->env.nrcpt && !warned; i++)
		if (directory_expand_remote(mx->dir, s->env.rcpts[i].addr, t,
					    1) > 0) {
			log_warn("%s: alias %s has remote targets and "
				 "alias_relay is not set: not expanded (logged "
				 "once)", s->id, s->env.rcpts[i].addr);
			warned = 1;
		}
	return 0;
}

int mx_alias_unroutable(struct mx *mx, const char *addr)
{
	const char *t[1];

	return mx->cfg->alias_relay[0] == '\0' &&
	       directory_expand_remote(mx->dir, addr, t, 1) > 0 &&
	       directory_expand(mx->dir, addr, t, 1) == 0;
}
