/*
 * NAME
 *	mx_metrics - mx's defenses on the metrics endpoint
 * DESCRIPTION
 *	Every mechanism of mx counts into plain fields (struct mx_counters
 *	for screening, greylisting, rules and DNS lists, struct
 *	mx_auth_counters for sender authentication); this file names them
 *	for the metrics page, one sluice_* counter per mechanism with its
 *	outcome as a label, read at each render on the loop that counts
 *	them. The names are listed in sluice-mx(8), METRICS. No network
 *	input.
 */
#include "mx_metrics.h"

#include <stddef.h>

#include "arc_verify.h"
#include "dns.h"
#include "dkim_verify.h"
#include "metrics.h"
#include "mx_screen.h"
#include "smtp_guard.h"
#include "spf.h"

struct mx_series {
	const char *name;
	const char *labels;	/* NULL: none */
	const char *help;
	size_t off;		/* of the field in struct mx_counters */
};

#define MXC(f) offsetof(struct mx_counters, f)

static const struct mx_series screen_series[] = {
	{"sluice_screen_total", "result=\"allowlisted\"",
	 "connections judged by screening, per outcome", MXC(allowlisted)},
	{"sluice_screen_total", "result=\"client_blocked\"", NULL,
	 MXC(client_blocked)},
	{"sluice_screen_total", "result=\"trap_blocked\"", NULL,
	 MXC(trap_blocked)},
	{METRIC_GREET_PAUSED, MXC(greet_paused)},
	{"sluice_screen_total", "result=\"greet_skipped\"", NULL,
	 MXC(greet_skipped)},
	{METRIC_PREGREET, MXC(pregreet)},
	{"sluice_screen_total", "result=\"pipelining\"", NULL,
	 MXC(pipelining)},
	{"sluice_screen_total", "result=\"non_smtp\"", NULL, MXC(non_smtp)},
	{"sluice_screen_total", "result=\"bare_newline\"", NULL,
	 MXC(bare_newline)},
	{"sluice_screen_total", "result=\"passed\"", NULL,
	 MXC(screen_passed)},
	{METRIC_CONN_RATE, MXC(connection_rate)},
	{METRIC_HELO_REJECTED, MXC(helo_rejected)},
	{"sluice_sender_blocked_total", NULL,
	 "MAIL FROM refused by sender_block", MXC(sender_blocked)},
	{"sluice_sender_rate_refused_total", NULL,
	 "MAIL FROM refused over sender_rate_limit", MXC(sender_rate)},
	{"sluice_spam_trap_hits_total", NULL,
	 "RCPT to a spam trap address", MXC(trap_hits)},
	{METRIC_BAD_RCPT_DELAYED, MXC(bad_rcpt_delayed)},
	{METRIC_BAD_RCPT_DISCONNECT, MXC(bad_rcpt_disconnect)},
	{"sluice_greylist_total", "result=\"deferred\"",
	 "greylisting, per outcome", MXC(greylist_deferred)},
	{"sluice_greylist_total", "result=\"passed\"", NULL,
	 MXC(greylist_passed)},
	{"sluice_greylist_total", "result=\"skipped\"", NULL,
	 MXC(greylist_skipped)},
	{"sluice_greylist_total", "result=\"error\"", NULL,
	 MXC(greylist_errors)},
	{"sluice_rules_rejected_total", "check=\"header\"",
	 "messages refused by header_checks and body_checks",
	 MXC(header_rejected)},
	{"sluice_rules_rejected_total", "check=\"body\"", NULL,
	 MXC(body_rejected)},
	{"sluice_dnsbl_total", "result=\"rejected\"",
	 "DNS list judgements: refused, allowed by a DNSWL, lookup errors",
	 MXC(dnsbl_rejected)},
	{"sluice_dnsbl_total", "result=\"allowed\"", NULL,
	 MXC(dnswl_allowed)},
	{"sluice_dnsbl_total", "result=\"error\"", NULL, MXC(dnsbl_errors)},
};

/* name{key="value"} for each of n results named by name_of. */
static void per_result(const char *name, const char *help,
		       const unsigned long long *field, size_t n,
		       const char *(*name_of)(int))
{
	char l[64];
	size_t i;

	for (i = 0; i < n; i++) {
		metrics_label(l, sizeof(l), "result", name_of((int)i));
		metrics_counter_field(name, l, i == 0 ? help : NULL,
				      &field[i]);
	}
}

static const char *spf_name(int r)
{
	return spf_result_name((enum spf_result)r);
}

static const char *dkim_name(int r)
{
	return dkim_result_name((enum dkim_result)r);
}

static const char *arc_name(int r)
{
	return arc_result_name((enum arc_result)r);
}

void mx_metrics_register(struct mx *mx)
{
	struct mx_auth_counters *k = &mx->counters;
	const char *base = (const char *)&mx_counters;
	size_t i;

	for (i = 0; i < sizeof(screen_series) / sizeof(screen_series[0]);
	     i++) {
		const struct mx_series *s = &screen_series[i];

		metrics_counter_field(s->name, s->labels, s->help,
				      (const unsigned long long *)
				      (const void *)(base + s->off));
	}
	per_result("sluice_spf_total", "SPF results of MAIL FROM (RFC 7208)",
		   k->spf, SPF_NRESULTS, spf_name);
	metrics_counter_field("sluice_spf_rejected_total", NULL,
			      "RCPT refused for an SPF fail (550 5.7.23)",
			      &k->spf_rejected);
	per_result("sluice_dkim_total", "DKIM results, per signature "
		   "(none: unsigned message)", k->dkim, DKIM_NRESULTS,
		   dkim_name);
	per_result("sluice_arc_total", "ARC chain results (RFC 8617)",
		   k->arc, ARC_NRESULTS, arc_name);
	metrics_counter_field("sluice_dmarc_total", "result=\"pass\"",
			      "DMARC results (RFC 7489)", &k->dmarc_pass);
	metrics_counter_field("sluice_dmarc_total", "result=\"fail\"", NULL,
			      &k->dmarc_fail);
	metrics_counter_field("sluice_dmarc_total", "result=\"none\"", NULL,
			      &k->dmarc_none);
	metrics_counter_field("sluice_dmarc_total", "result=\"temperror\"",
			      NULL, &k->dmarc_temperror);
	metrics_counter_field("sluice_dmarc_policy_total",
			      "action=\"reject\"", "DMARC policies applied: "
			      "messages refused or quarantined",
			      &k->dmarc_rejected);
	metrics_counter_field("sluice_dmarc_policy_total",
			      "action=\"quarantine\"", NULL,
			      &k->dmarc_quarantined);
	metrics_counter_field("sluice_forged_local_rejected_total", NULL,
			      "messages refused for forging one of our "
			      "domains", &k->forged_local_rejected);
	metrics_counter_field("sluice_sender_domain_rejected_total", NULL,
			      "RCPT refused: the MAIL FROM domain has no MX, "
			      "A or AAAA (4.1.8)", &k->sender_domain_rejected);
	metrics_counter_field("sluice_sender_null_mx_rejected_total", NULL,
			      "RCPT refused: the MAIL FROM domain has a null "
			      "MX (550 5.7.27)", &k->sender_null_mx_rejected);
	if (mx->dns) {
		const struct dns_cache_stats *c = dns_cache_stats(mx->dns);

		metrics_counter_field("sluice_dns_cache_total",
				      "result=\"hit\"", "DNS lookups answered "
				      "from the cache (dns_cache_size) or not",
				      &c->hits);
		metrics_counter_field("sluice_dns_cache_total",
				      "result=\"miss\"", NULL, &c->misses);
	}
}
