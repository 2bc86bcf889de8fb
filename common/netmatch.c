/*
 * NAME
 *	netmatch - is a peer address in a configured list?
 * DESCRIPTION
 *	See netmatch.h. Addresses come from getpeername(), patterns from
 *	the configuration; neither faces the network directly.
 */
#include "netmatch.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int netmatch(const char *pattern, const char *addr)
{
	char net[64];
	struct in_addr a, n;
	const char *slash = strchr(pattern, '/');
	unsigned long len;
	uint32_t mask;

	if (slash == NULL)
		return strcmp(pattern, addr) == 0;
	if ((size_t)(slash - pattern) >= sizeof(net))
		return 0;
	memcpy(net, pattern, (size_t)(slash - pattern));
	net[slash - pattern] = '\0';
	len = strtoul(slash + 1, NULL, 10);
	if (len > 32 || inet_pton(AF_INET, net, &n) != 1 ||
	    inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	mask = len == 0 ? 0 : htonl(~(uint32_t)0 << (32 - len));
	return (a.s_addr & mask) == (n.s_addr & mask);
}

int netmatch_list(char *const *list, const char *addr)
{
	if (list == NULL)
		return 0;
	for (; *list; list++)
		if (netmatch(*list, addr))
			return 1;
	return 0;
}
