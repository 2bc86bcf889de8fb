/*
 * NAME
 *	dns_ttl - how long a DNS answer may be kept
 * DESCRIPTION
 *	Reads the TTLs of an answer packet for the answer cache of dns.c:
 *	the least TTL of the answer section, and for negative answers the
 *	authority section's SOA (RFC 2308 5). The packet is the network's:
 *	every length is checked against the packet before it is used, and
 *	anything malformed means "do not keep". No c-ares, so it can be
 *	fuzzed alone (dns_ttl_fuzz).
 */
#include <stdint.h>
#include <stddef.h>

#include "dns.h"

/* Skip a (possibly compressed) name at *off. -1: malformed. */
static int skip_name(const unsigned char *p, size_t len, size_t *off)
{
	size_t o = *off;

	while (o < len) {
		if (p[o] == 0) {
			*off = o + 1;
			return 0;
		}
		if ((p[o] & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -1;
			*off = o + 2;
			return 0;
		}
		if (p[o] & 0xc0)
			return -1;
		o += 1u + p[o];
	}
	return -1;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* RFC 2181 8: a TTL with the top bit set counts as 0. */
static uint32_t ttl_value(uint32_t t)
{
	return t & 0x80000000u ? 0 : t;
}

/* Seconds an answer packet may be kept: the least TTL of its answer
 * records, or for a negative answer (negative != 0) the lesser of the
 * authority SOA's TTL and MINIMUM (RFC 2308 5), DNS_NEG_TTL
 * without one. 0: not to be kept (also when malformed). */
uint32_t dns_packet_ttl(const unsigned char *p, size_t len, int negative)
{
	unsigned qd, an, ns, i;
	size_t o = 12;
	uint32_t best = UINT32_MAX, t;
	int soa = 0;

	if (p == NULL || len < 12)
		return 0;
	qd = (unsigned)p[4] << 8 | p[5];
	an = (unsigned)p[6] << 8 | p[7];
	ns = (unsigned)p[8] << 8 | p[9];
	for (i = 0; i < qd; i++)
		if (skip_name(p, len, &o) < 0 || (o += 4) > len)
			return 0;
	for (i = 0; i < an + (negative ? ns : 0); i++) {
		size_t rd;
		unsigned type, rdlen;

		if (skip_name(p, len, &o) < 0 || o + 10 > len)
			return 0;
		type = (unsigned)p[o] << 8 | p[o + 1];
		t = ttl_value(get32(p + o + 4));
		rdlen = (unsigned)p[o + 8] << 8 | p[o + 9];
		rd = o + 10;
		o = rd + rdlen;
		if (o > len)
			return 0;
		if (i >= an && type != 6 /* SOA */)
			continue;
		best = t < best ? t : best;
		if (i < an)
			continue;
		if (skip_name(p, o, &rd) < 0 || skip_name(p, o, &rd) < 0 ||
			rd + 20 != o)
			return 0;
		soa = 1;
		t = ttl_value(get32(p + rd + 16));
		best = t < best ? t : best;
	}
	if (negative && !soa && best > DNS_NEG_TTL)
		best = DNS_NEG_TTL;
	return best == UINT32_MAX ? 0 : best;
}
