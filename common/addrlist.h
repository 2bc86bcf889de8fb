/*
 * NAME
 *	addrlist - strict RFC 5322 address lists of header fields
 * DESCRIPTION
 *	Pure parser for the body of an address field (From:, Sender:,
 *	To: ...): RFC 5322 3.4 address-list or mailbox-list, with
 *	name-addr, angle-addr, addr-spec, groups, quoted strings, nested
 *	comments and folding; RFC 6532 UTF-8 (validated) where text may
 *	be. It returns every mailbox's addr-spec, or an error: anything
 *	that is not exactly a clean list (a mailbox hidden in a display
 *	name, an empty "<>", text after an angle-addr, a control byte, a
 *	CR not part of a fold) is an error, never a best guess, so that a
 *	security decision sees what a mail reader may show. Obsolete forms
 *	(RFC 5322 4.4) are taken only where no address can hide in them:
 *	routes inside "<>", empty list members, "." in display names.
 *	CFWS inside a local part or domain (obs-local-part, obs-domain) is
 *	refused. Mail layer; the input faces the network.
 */
#ifndef SLUICE_ADDRLIST_H
#define SLUICE_ADDRLIST_H

#include <stddef.h>

#include "limits_rfc.h"

/* Input longer than this is refused (a field body, folded). */
#define ADDRLIST_MAX_INPUT 65536
/* Comments nested deeper than this are refused. */
#define ADDRLIST_MAX_DEPTH 32

/* Parse modes. */
#define ADDRLIST_MAILBOXES 0	/* mailbox-list: no groups (From:) */
#define ADDRLIST_ADDRESSES 1	/* address-list: groups allowed (To:) */

struct addrlist_mailbox {
	/* the local part as meant (quotes and quoted-pairs resolved) */
	char local[LIM_LOCAL_PART + 1];
	/* the domain, ASCII letters lowercased; "[...]" for a literal */
	char domain[LIM_DOMAIN + 1];
	/* local@domain, the local part quoted when it is not a dot-atom */
	char addr[LIM_PATH + 1];
	int in_group;		/* inside a group (ADDRLIST_ADDRESSES) */
};

/* Parse the field body v[0..len) (what follows "Name:", folds
 * included; a final CRLF is allowed) in mode. Fills out[0..max) and
 * sets *n_r to the number of mailboxes (0 is possible only for empty
 * groups). Returns 0, or -1 with a short static reason in *err_r (also
 * when there are more than max mailboxes). */
int addrlist_parse(const char *v, size_t len, int mode,
		   struct addrlist_mailbox *out, size_t max, size_t *n_r,
		   const char **err_r);

#endif
