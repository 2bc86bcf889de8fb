/*
 * NAME
 *	dsn - RFC 3464 delivery status notifications
 * DESCRIPTION
 *	Pure builder: an envelope, the recipients to report and the original
 *	message in; a complete bounce message and its envelope (null sender,
 *	one recipient: the original sender) out. Mail layer.
 */
#ifndef SLUICE_DSN_H
#define SLUICE_DSN_H

#include <stddef.h>

#include "envelope.h"
#include "sbuf.h"

enum dsn_action { DSN_FAILED, DSN_DELAYED, DSN_DELIVERED, DSN_RELAYED };

/* Report recipients which[0..n-1] of e (their last_reply says why).
 * body/len is the original message (CRLF lines); with RET=FULL it is
 * attached whole, otherwise its header section only. Returns 0 and fills
 * out_env (zeroed by the caller; free with envelope_free) and out_body;
 * -1 when e has the null sender (never bounce to <>) or on ENOMEM. */
int dsn_build(const struct envelope *e, const size_t *which, size_t n,
	      enum dsn_action action, const char *reporting_mta,
	      const char *queue_id, const char *body, size_t len,
	      struct envelope *out_env, struct sbuf *out_body);

#endif
