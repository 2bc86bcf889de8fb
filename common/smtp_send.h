/*
 * NAME
 *	smtp_send - one message to one hop, blocking, for tools and threads
 * SUMMARY
 *	smtp_send()
 * DESCRIPTION
 *	The client side of one SMTP or LMTP transaction over a plain TCP
 *	connection, written for what may block: sluice-quarantine and
 *	worker threads (the store's learn spool). The stages' own
 *	forwarding goes through the event-driven smtp_client. Every read
 *	and write has a timeout. Mail layer.
 */
#ifndef SLUICE_SMTP_SEND_H
#define SLUICE_SMTP_SEND_H

#include <stddef.h>

#include "envelope.h"

/* Send msg (len bytes; bare LF line ends go as CRLF, lines are
 * dot-stuffed) from e->from to e's recipients through hop,
 * "lmtp:host:port" or "smtp:host:port" (numeric), each reply awaited
 * at most timeout seconds. Returns how many recipients the hop accepted
 * at end of data (every one that took it: e->nrcpt), or -1 when the
 * connection or the transaction failed; why, and the replies of the
 * recipients refused, go to err. */
int smtp_send(const char *hop, int timeout, const struct envelope *e,
	      const char *msg, size_t len, char *err, size_t errlen);

#endif
