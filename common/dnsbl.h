/*
 * NAME
 *	dnsbl - what DNS blocklists are asked and what their answers mean
 * DESCRIPTION
 *	The query name of a client address (RFC 5782) and the meaning of
 *	an answer, for every stage that asks blocklists or allowlists
 *	(spamd, mx). The lookups themselves go through dns.h. Base layer.
 */
#ifndef SLUICE_DNSBL_H
#define SLUICE_DNSBL_H

#include <stddef.h>

/* The reversed form of an IPv4 or IPv6 address for a DNSBL query
 * (RFC 5782 2.1 and 2.4), in out. 0, or -1 when addr is not one. */
int dnsbl_reverse(const char *addr, char *out, size_t outlen);

/* What an A record a of a list means: 1 listed (127.0.0.0/8), -1 an
 * error code of the list (127.255.255.0/24: Spamhaus' .254 "queried
 * through a public resolver", .255 "rate limited"), 0 an answer outside
 * 127.0.0.0/8 (not a listing: a broken or hijacked zone). */
int dnsbl_answer(const char *a);

/* Addresses never looked up: loopback, empty, not an address. */
int dnsbl_skip(const char *addr);

#endif
