/*
 * NAME
 *	dnsbl - what DNS blocklists are asked and what their answers mean
 * DESCRIPTION
 *	See dnsbl.h. Shared by spamd (scores) and mx (weights and a
 *	threshold at connect). Answers come from the network and are only
 *	compared with 127.0.0.0/8. Base layer.
 */
#include "dnsbl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int dnsbl_reverse(const char *addr, char *out, size_t outlen)
{
	unsigned char a[16];
	size_t i, n = 0;
	static const char hex[] = "0123456789abcdef";

	if (inet_pton(AF_INET, addr, a) == 1)
		return snprintf(out, outlen, "%u.%u.%u.%u", a[3], a[2], a[1],
				a[0]) < (int)outlen ? 0 : -1;
	if (inet_pton(AF_INET6, addr, a) != 1 || outlen < 64)
		return -1;
	/* an IPv4-mapped address is looked up as IPv4 (RFC 4291 2.5.5.2) */
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		return snprintf(out, outlen, "%u.%u.%u.%u", a[15], a[14],
				a[13], a[12]) < (int)outlen ? 0 : -1;
	for (i = 16; i-- > 0;) {
		out[n++] = hex[a[i] & 15];
		out[n++] = '.';
		out[n++] = hex[a[i] >> 4];
		out[n++] = '.';
	}
	out[n - 1] = '\0';
	return 0;
}

int dnsbl_skip(const char *addr)
{
	unsigned char a[16];

	if (addr == NULL || *addr == '\0')
		return 1;
	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return 1;
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
		return 1;
	return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
	       a[12] == 127;
}

int dnsbl_answer(const char *a)
{
	unsigned char b[4];

	if (inet_pton(AF_INET, a, b) != 1 || b[0] != 127)
		return 0;
	return b[1] == 255 && b[2] == 255 ? -1 : 1;
}
