/*
 * NAME
 *	spool_arc - seal the ARC chain (RFC 8617) of mail a stage forwards,
 *	then queue it
 * DESCRIPTION
 *	The end-of-data step of msa and outmta when arc_seal = yes: the
 *	chain the message carries is checked (its keys looked up without
 *	blocking), the next set is put on top with the stage's prefix, and
 *	the message goes to spool_accept(). Mail layer.
 */
#ifndef SLUICE_SPOOL_ARC_H
#define SLUICE_SPOOL_ARC_H

#include "arc_seal.h"
#include "smtp_server.h"
#include "spool.h"

struct spool_arc_job;

struct spool_arc {
	struct dns *dns;
	const struct dkim_signer *key;	/* NULL: no sealing */
	const char *authserv_id;
	struct spool_arc_job *jobs;	/* checks in flight */
};

/* Queue s's message through sp with prefix pre[0..plen) (Received and
 * such) on top, sealed first when sa->key is set. resinfo ("" or
 * "; smtp.auth=...") goes into the ARC-Authentication-Results. */
void spool_arc_accept(struct spool_arc *sa, struct spool *sp,
		      struct smtp_session *s, const char *pre, size_t plen,
		      const char *resinfo);

/* s closes: forget its check in flight, if any. */
void spool_arc_closed(struct spool_arc *sa, struct smtp_session *s);

#endif
