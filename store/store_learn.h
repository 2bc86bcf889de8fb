/*
 * NAME
 *	store_learn - users' moves into and out of Junk, sent to spamd
 * DESCRIPTION
 *	What the IMAP commands call when a user says a message is spam or
 *	ham (store_learn.c), and its start and stop.
 */
#ifndef SLUICE_STORE_LEARN_H
#define SLUICE_STORE_LEARN_H

#include <stddef.h>
#include <stdint.h>

struct evloop;
struct imap_sess;
struct store;
struct store_learn;

/* Start learning when learn_hop is set (else NULL): the spool folder
 * (made before the privilege drop with store_learn_dir), its thread and
 * retry timer. Exits through log_fatal() when it cannot start. */
void store_learn_dir(const struct store *st);
struct store_learn *store_learn_start(struct store *st, struct evloop *loop);
/* After the loop ended: waits for the send in progress (its timeout at
 * most); what is spooled stays for the next start. Sets *l to NULL. */
void store_learn_stop(struct store_learn **l);

/* COPY or MOVE of the messages seqs[0..n) of s's folder to dest was
 * committed: into Junk learns spam, out of it (not into a folder of
 * learn_skip_folders) ham. Never blocks on spamd. */
void store_learn_copy(struct imap_sess *s, const uint32_t *seqs, size_t n,
		      const char *dest);

/* STORE changed message seq's keywords from before: $Junk (or Junk)
 * set learns spam, $NotJunk (NotJunk, NonJunk) set learns ham. */
void store_learn_flags(struct imap_sess *s, uint32_t seq, uint32_t before);

#endif
