/*
 * NAME
 *	smtp_guard - the connection and session defences mx and msa share
 * DESCRIPTION
 *	See smtp_guard.h. The HELO name comes from the network (the engine
 *	has checked it is one printable word); the rest is counting.
 */
#include "smtp_guard.h"

#include <string.h>

#include "netmatch.h"
#include "ratemap.h"

int smtp_guard_conn_rate(struct ratemap *map, const char *addr,
			 uint64_t now, long long limit, long long window_s)
{
	char net[80];

	if (limit <= 0)
		return 0;
	netmatch_prefix(addr, 32, 64, net, sizeof(net));
	return ratemap_hit(map, net, now, (uint64_t)window_s * 1000) > limit;
}

int smtp_guard_helo_ok(const char *h)
{
	size_t label = 0, labels = 0, i;
	int alldigits = 1;

	if (h[0] == '[')
		return h[strlen(h) - 1] == ']';
	for (i = 0;; i++) {
		char ch = h[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			labels++;
			if (ch == '\0')
				break;
			label = 0;
			alldigits = 1;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)))
			return 0;
		if (ch < '0' || ch > '9')
			alldigits = 0;
		label++;
	}
	return labels >= 2 && !alldigits;
}

int smtp_guard_bad_rcpt(long long *count, long long delay_after,
			long long disconnect)
{
	++*count;
	if (disconnect > 0 && *count >= disconnect)
		return SMTP_GUARD_DISCONNECT;
	if (delay_after > 0 && *count > delay_after)
		return SMTP_GUARD_DELAY;
	return 0;
}
