/*
 * NAME
 *	arc_seal - add an ARC set (RFC 8617) to mail a stage forwards
 * DESCRIPTION
 *	A forwarding stage (msa, outmta) checks the chain the message
 *	carries (arc_verify.h, keys looked up through dns.h without
 *	blocking), then adds the next set: ARC-Authentication-Results,
 *	ARC-Message-Signature and ARC-Seal with i= one past the last set
 *	and cv= the chain's result, signed by dkim.c with a DKIM key of the
 *	stage. Messages are hostile input. Mail layer.
 */
#ifndef SLUICE_ARC_SEAL_H
#define SLUICE_ARC_SEAL_H

#include <stddef.h>
#include <time.h>

#include "arc_verify.h"
#include "dkim.h"
#include "sbuf.h"

struct dns;
struct arc_check;

/* The sealing key among a dkim_keys list: the entry for domain when
 * given and present, else the first rsa-sha256 one (RFC 8617 does not
 * define ed25519 for ARC yet). NULL when there is none. */
const struct dkim_signer *arc_seal_key(struct dkim_signer **keys,
				       const char *domain);

/* Append the next ARC set for msg (header section [0..hlen), body up
 * to len) whose chain verified as cv with n sets: the fields, ready to
 * be put on top of the message. resinfo ("" or "; smtp.auth=...")
 * follows arc=cv in the ARC-Authentication-Results. Returns 1 when
 * sealed, 0 when the chain must not be sealed (5.1.2: latest cv=fail
 * in the message, or already LIM_ARC_INSTANCE_MAX sets), -1 on error. */
int arc_seal(const struct dkim_signer *key, const char *authserv_id,
	     const char *resinfo, const struct arc_chain *chain,
	     enum arc_result cv, const char *msg, size_t hlen, size_t len,
	     time_t now, struct sbuf *out);

/* Verify the chain of msg, looking its keys up through dns, then call
 * done(arg, chain) once (chain valid during the call only). When done
 * is still due, *check_r is the check (else NULL: done already ran) and
 * msg must live until done or arc_check_cancel(). 0, or -1 when out of
 * memory (done never runs). */
int arc_check_start(struct dns *dns, const char *msg, size_t hlen,
		    size_t len,
		    void (*done)(void *arg, const struct arc_chain *chain),
		    void *arg, struct arc_check **check_r);
/* Forget a check whose done has not run; it frees itself once its
 * answers came. */
void arc_check_cancel(struct arc_check *c);

/* The header section of msg[0..len) with its empty line. */
size_t arc_header_len(const char *msg, size_t len);

#endif
