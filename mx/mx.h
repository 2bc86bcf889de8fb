/*
 * NAME
 *	mx - stage A: the only entry point for mail from the Internet
 * DESCRIPTION
 *	Private header of the mx daemon: its configuration and the SMTP
 *	hooks that make it different from the common engine (local domains
 *	only, no relaying, Received header, loop detection).
 */
#ifndef SLUICE_MX_H
#define SLUICE_MX_H

#include "mx_screen.h"
#include "smtp_server.h"
#include "spool.h"
#include "stage.h"
#include "stage_smtp.h"

struct evloop;
struct queue;
struct forwarder;

struct mx_config {
	struct stage_smtp_config smtp;	/* the keys msa has too */
	char *local_domains;
	char *alias_relay;
	/* sender authentication (mx_auth.c) */
	int spf, spf_reject, dkim, dmarc, dmarc_policy, local_forgery, arc;
	int sender_domain_check;
	int sender_domain_code;	/* 0: 450, 1: 550 */
	char *authserv_id;
	char *psl_file;
	int chunking;
	struct mx_screen_config screen;	/* mx_screen.h */
};

/* What sender authentication found and did, per mechanism (on the
 * metrics endpoint: mx_metrics.c). Indexes are enum spf_result
 * and enum dkim_result (arc: enum arc_result). */
struct mx_auth_counters {
	unsigned long long spf[7];
	unsigned long long spf_rejected;	/* 550 5.7.23 at RCPT */
	unsigned long long dkim[7];		/* per signature */
	unsigned long long dmarc_pass, dmarc_fail, dmarc_none,
			   dmarc_temperror;
	unsigned long long dmarc_rejected, dmarc_quarantined;
	unsigned long long forged_local_rejected;
	unsigned long long arc[3];		/* enum arc_result */
	unsigned long long sender_domain_rejected; /* 450/550 4.1.8 */
	unsigned long long sender_null_mx_rejected; /* 550 5.7.27 */
};

struct mx {
	struct mx_config *cfg;
	char **domains;		/* local_domains, split */
	struct directory *dir;	/* recipients snapshot, or NULL */
	struct evloop *loop;
	struct spool spool;	/* queue, forwarder, group commit */
	struct dns *dns;	/* for SPF, DKIM keys and DMARC */
	struct psl *psl;	/* Public Suffix List, or NULL */
	struct mx_auth *auths;	/* per-session authentication state */
	struct mx_auth_counters counters;
	struct mx_screen screen; /* screening state (mx_screen.h) */
};

/* The recipient checks of mx_smtp.c: relaying, the directory. */
int mx_rcpt(struct smtp_session *s, const char *rcpt, struct smtp_reply *r);

/* The SMTP hooks of stage A; ctx of the server is the struct mx. */
extern const struct smtp_hooks mx_hooks;

struct route_table;
struct smtp_session;

/* The route table: next_hop and domain_routes, and with alias_relay
 * set, that as the default and the local domains on next_hop
 * (mx_alias.c). 0, or -1 with a reason in err. */
int mx_routes_init(struct mx *mx, struct route_table *t, char *err,
		   size_t errlen);

/* Add the remote targets of the envelope's aliases when alias_relay is
 * set (else warn once). 0, or -1 (out of memory, too many). */
int mx_alias_expand(struct mx *mx, struct smtp_session *s);

/* Non-zero for an alias whose targets are all remote while alias_relay
 * is not set: nothing could deliver its mail. */
int mx_alias_unroutable(struct mx *mx, const char *addr);

/* Non-zero if domain is one of local_domains. */
int mx_is_local_domain(struct mx *mx, const char *domain);

/* Hand the message to the spool with extra header fields (prefix,
 * placed under our Received): answers the DATA later. */
void mx_deliver(struct mx *mx, struct smtp_session *s, const char *prefix,
		size_t plen);

/* Sender authentication (mx_auth.c). At MAIL: start the SPF check and
 * the sender domain check. */
int mx_auth_mail(struct mx *mx, struct smtp_session *s);
/* At RCPT (after the other checks): 0, -1 with r (SPF fail, unknown
 * sender domain), or SMTP_HOOK_LATER while either still runs. */
int mx_auth_rcpt(struct mx *mx, struct smtp_session *s, const char *rcpt,
		 struct smtp_reply *r);
/* At end of data: DKIM, DMARC, our domains forged; ends in
 * mx_deliver() or a refusal, maybe later. */
void mx_auth_data(struct mx *mx, struct smtp_session *s);
/* The session closed. */
void mx_auth_close(struct mx *mx, struct smtp_session *s);
/* Non-zero when s's MAIL FROM passed SPF (greylisting skips it). */
int mx_auth_spf_pass(struct mx *mx, struct smtp_session *s);

struct mx_sender;

/* Does the domain of the sender from exist (MX, A or AAAA; mx_sender.c)?
 * Starts the lookups; done(arg) is called when the last answer comes
 * after this returns. NULL when there is nothing to check. */
struct mx_sender *mx_sender_start(struct mx *mx, const char *from,
				  void (*done)(void *arg), void *arg);
/* -1 still looking, 1 the domain is unknown, 2 it has a null MX (RFC
 * 7505), 0 it exists or the DNS failed (c NULL: 0). */
int mx_sender_result(const struct mx_sender *c);
/* Let c go; one still looking frees itself after its last answer. */
void mx_sender_free(struct mx_sender *c);

#endif
