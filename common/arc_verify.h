/*
 * NAME
 *	arc_verify - ARC chain validation (RFC 8617)
 * DESCRIPTION
 *	Groups the ARC-Authentication-Results, ARC-Message-Signature and
 *	ARC-Seal fields of a message into sets by instance (pure parsing),
 *	then validates the chain as 5.2 says: the latest ARC-Message-
 *	Signature and every ARC-Seal must verify, with the crypto and
 *	canonicalization of dkim_verify.h. Like DKIM, the keys come from the
 *	caller, who looks them up without blocking. The older
 *	ARC-Message-Signatures are checked too, for header.oldest-pass
 *	(5.2, registered by 7.2). Messages are hostile input. Mail layer.
 */
#ifndef SLUICE_ARC_VERIFY_H
#define SLUICE_ARC_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "dkim_verify.h"
#include "limits_rfc.h"
#include "sbuf.h"

/* RFC 8617 4.4 results */
enum arc_result { ARC_NONE, ARC_PASS, ARC_FAIL, ARC_NRESULTS };

const char *arc_result_name(enum arc_result r);

struct arc_field {
	const char *p;		/* the field in the message, with its CRLF */
	size_t len;
};

/* The sets by instance; [0] unused. */
struct arc_sets {
	struct arc_field aar[LIM_ARC_INSTANCE_MAX + 1];
	struct arc_field ams[LIM_ARC_INSTANCE_MAX + 1];
	struct arc_field as[LIM_ARC_INSTANCE_MAX + 1];
};

/* Find the ARC fields in the header section msg[0..hlen) and group them.
 * Returns the number of sets (0: no ARC field at all), or -1 with *why_r
 * set when the structure is broken (5.2 step 3): an i= missing or out
 * of 1..LIM_ARC_INSTANCE_MAX, two fields of one kind with one instance,
 * an incomplete set or a missing instance. */
int arc_sets_parse(const char *msg, size_t hlen, struct arc_sets *sets,
		   const char **why_r);

/* Append the relaxed AAR, AMS and AS of sets 1..upto, in that order
 * (what a seal of instance upto + 1 signs first, 5.1.1). 0 or -1. */
int arc_sets_canon(const struct arc_sets *sets, int upto, struct sbuf *out);

struct arc_chain {
	enum arc_result result;	/* final once pending is 0 */
	char why[96];		/* for logs when not pass */
	int n;			/* sets */
	int oldest_pass;	/* with result pass: the lowest instance
				 * whose AMS and every newer one verify,
				 * 0 when all do (RFC 8617 5.2) */
	struct dkim_sig *sigs;	/* seals of 1..n, the AMS of n, then the
				 * AMSs of n-1 down to 1 */
	size_t nsig;
	struct arc_sets sets;
};

/* Parse the chain of msg (header section [0..hlen), body up to len) and
 * check what needs no key: result is final when no sigs[i].need_key is
 * set. The chain points into msg, which must outlive it. */
void arc_verify_prepare(struct arc_chain *c, const char *msg, size_t hlen,
			size_t len, time_t now);

/* Finish c->sigs[i] with its key record txt[0..tlen) (NULL: none). */
void arc_verify_key(struct arc_chain *c, size_t i, const char *msg,
		    size_t hlen, const char *txt, size_t tlen);

/* The chain's result once every key came in; sets why and
 * oldest_pass. */
enum arc_result arc_verify_result(struct arc_chain *c);

/* Free what prepare allocated; c may be reused. */
void arc_chain_free(struct arc_chain *c);

#endif
