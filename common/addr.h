/*
 * NAME
 *	addr - RFC 5321 paths (Reverse-path, Forward-path)
 * DESCRIPTION
 *	Pure parser for "<...>" as it follows MAIL FROM: and RCPT TO:
 *	(RFC 5321 4.1.2; RFC 6531 3.3 for UTF-8). It reports the features a
 *	relay check must refuse (source routes, %, !, quoted '@', IP
 *	literals) as flags instead of deciding policy. Faces the network.
 *	Mail layer.
 */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include "limits_rfc.h"

#define ADDR_NULL 0x01		/* <> */
#define ADDR_SOURCE_ROUTE 0x02	/* <@a,@b:user@c>, A-d-l dropped */
#define ADDR_QUOTED 0x04	/* quoted local part */
#define ADDR_ROUTING 0x08	/* '%' or '!' in the local part, or a quoted '@' */
#define ADDR_IP_LITERAL 0x10	/* domain is [1.2.3.4] or [IPv6:...] */
#define ADDR_UTF8 0x20		/* non-ASCII bytes (RFC 6531) */
#define ADDR_POSTMASTER 0x40	/* bare <Postmaster> */

#define ADDR_OPT_NULL_OK 0x01	/* accept <> (MAIL) */
#define ADDR_OPT_UTF8 0x02	/* accept UTF-8 (SMTPUTF8) */
#define ADDR_OPT_POSTMASTER 0x04 /* accept <Postmaster> (RCPT) */

struct addr {
	char mailbox[LIM_PATH + 1];	  /* local@domain, "" for <> */
	char local[LIM_LOCAL_PART * 4 + 3]; /* as written, quotes kept */
	char domain[LIM_DOMAIN + 1];	  /* lowercased when ASCII */
	unsigned flags;
};

/* Parse a path starting with '<' at s. On success returns 0, fills a
 * and sets *rest_r just after '>'. On failure returns -1 and sets *err_r
 * to a short reason. */
int addr_parse_path(const char *s, unsigned opts, struct addr *a,
		    const char **rest_r, const char **err_r);

/* Non-zero when d is a syntactically valid domain (RFC 5321 Domain, or
 * an address literal), at most 255 octets, labels at most 63. */
int addr_domain_valid(const char *d);

#endif
