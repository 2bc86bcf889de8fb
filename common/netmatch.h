/*
 * NAME
 *	netmatch - is a peer address in a configured list?
 * DESCRIPTION
 *	Matches a peer IP (as text) against entries such as "10.0.0.5",
 *	"::1" or an IPv4 prefix "10.0.0.0/8": who may send through outmta,
 *	whose inter-stage claims a server believes. Base layer.
 */
#ifndef SLUICE_NETMATCH_H
#define SLUICE_NETMATCH_H

/* Does addr match pattern ("10.0.0.5", "::1" or "10.0.0.0/8")? */
int netmatch(const char *pattern, const char *addr);

/* Does addr match an entry of the NULL-terminated list (may be NULL)? */
int netmatch_list(char *const *list, const char *addr);

#include <stddef.h>

/* The network of addr as text ("192.0.2.0/24", "2001:db8::/64"): the
 * first v4bits of an IPv4 address, v6bits of an IPv6 one (not
 * IPv4-mapped); anything else is copied as it is. */
void netmatch_prefix(const char *addr, int v4bits, int v6bits, char *out,
		     size_t outlen);

#endif
