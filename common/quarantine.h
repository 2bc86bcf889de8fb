/*
 * NAME
 *	quarantine - the file format of avscan's and spamd's quarantine
 * DESCRIPTION
 *	A quarantined message is one file: a block of header fields
 *	naming why and the envelope, then the message as it arrived:
 *
 *	  X-Sluice-Quarantine: REASON; DATE
 *	  X-Sluice-Quarantine-From: <sender>
 *	  X-Sluice-Quarantine-To: <rcpt>          (one per recipient)
 *	  X-Sluice-Quarantine-Client: [addr] helo=... entered=... ...
 *	  message...
 *
 *	The -Client field ends the block. Any mail tool reads it;
 *	sluice-quarantine parses the leading block
 *	back into an envelope (quarantine_parse) to release the message.
 *	Addresses come from the SMTP engine (no CR, LF or '>' in them,
 *	at most LIM_PATH bytes); the parser checks that again. Mail layer.
 */
#ifndef SLUICE_QUARANTINE_H
#define SLUICE_QUARANTINE_H

#include <stddef.h>

#include "envelope.h"
#include "sbuf.h"
#include "smtp_server.h"

#define QUARANTINE_HDR "X-Sluice-Quarantine"

/* Append the From, To and Client fields of s's envelope to out. 0 or -1
 * (out full). */
int quarantine_summary(const struct smtp_session *s, struct sbuf *out);

/* Write the block's first field (X-Sluice-Quarantine: reason; date),
 * summary and the message durably (fsync of file and folder) to a new
 * file in dir; its name goes to name. 0, or -1 with err set. */
int quarantine_write(const char *dir, const char *reason,
		     const struct sbuf *summary, const char *msg, size_t len,
		     char *name, size_t namelen, char *err, size_t errlen);

/* Parse the leading X-Sluice-Quarantine* block of a file of len bytes:
 * the sender and recipients go to e (zeroed by the caller; free with
 * envelope_free), *body_off to where the message starts, the reason
 * (the first field's value up to ';') to reason. 0, or -1 with err set
 * when the block is missing or malformed. */
int quarantine_parse(const char *p, size_t len, struct envelope *e,
		     size_t *body_off, char *reason, size_t reasonlen,
		     char *err, size_t errlen);

/* The file of dir where the stage notes its next hops for a release
 * without a hop: "next_hop = ..." and "domain_routes = ..." lines, read
 * with the configuration grammar (config.h). */
#define QUARANTINE_HOPS ".next_hop"

/* Write the stage's next_hop and domain_routes (as in its
 * configuration, after a reload too) to dir/QUARANTINE_HOPS durably.
 * Failures are logged: a release then needs a hop. */
void quarantine_note_hops(const char *dir, const char *next_hop,
			  const char *domain_routes);

#endif
