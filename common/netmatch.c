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
#include <stdio.h>
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

void netmatch_prefix(const char *addr, int v4bits, int v6bits, char *out,
		     size_t outlen)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0,
						   0, 0, 0xff, 0xff};
	char net[INET6_ADDRSTRLEN];
	unsigned char a[16];
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET, bits, i;

	if (inet_pton(fam, addr, a) != 1 || (fam == AF_INET6 &&
	    memcmp(a, v4mapped, sizeof(v4mapped)) == 0)) {
		snprintf(out, outlen, "%s", addr);
		return;
	}
	bits = fam == AF_INET6 ? v6bits : v4bits;
	for (i = 0; i < (fam == AF_INET6 ? 16 : 4); i++)
		if (i * 8 >= bits)
			a[i] = 0;
		else if (i * 8 + 8 > bits)
			a[i] &= (unsigned char)(0xff << (8 - (bits - i * 8)));
	if (inet_ntop(fam, a, net, sizeof(net)) == NULL)
		snprintf(out, outlen, "%s", addr);
	else
		snprintf(out, outlen, "%s/%d", net, bits);
}
