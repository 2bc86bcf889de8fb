/*
 * NAME
 *	dmarc_fuzz - libFuzzer target for DMARC records and org domains
 * DESCRIPTION
 *	_dmarc TXT records come from any DNS zone and the domains of From:
 *	from any sender. The input is parsed as a record; a parsed record
 *	must hold values in range and survive a round trip through its
 *	text form (written here: there is no writer in the tree). The input
 *	is also taken as a domain: its organisational domain, with a small
 *	Public Suffix List (a plain rule, a wildcard, an exception), must be
 *	a suffix of the lowercased domain at a label boundary, be its own
 *	organisational domain, and be aligned with the domain.
 *	Build and run with `make fuzz`.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct psl *load_psl(void)
{
	static const char rules[] = "// test list\ncom\nco.uk\nuk\n*.ck\n"
				    "!www.ck\nxn--p1ai\n";
	char path[] = "/tmp/dmarc_fuzz_psl.XXXXXX";
	char err[128];
	struct psl *p;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, rules, sizeof(rules) - 1) !=
			      (ssize_t)(sizeof(rules) - 1))
		abort();
	close(fd);
	p = psl_load(path, err, sizeof(err));
	unlink(path);
	if (p == NULL)
		abort();
	return p;
}

static void check_record(const char *txt, size_t len)
{
	static const char flag[] = "rs";
	struct dmarc_record r, back;
	char text[160];
	int roll, n;

	if (dmarc_record_parse(txt, len, &r) < 0)
		return;
	if (!dmarc_is_record(txt, len) || r.p > DMARC_P_REJECT ||
		r.sp > DMARC_P_REJECT || r.pct < 0 || r.pct > 100 ||
		(r.adkim_strict != 0 && r.adkim_strict != 1) ||
		(r.aspf_strict != 0 && r.aspf_strict != 1))
		abort();
	for (roll = 0; roll < 100; roll++)
		if (dmarc_policy(&r, 0, roll) > r.p ||
			dmarc_policy(&r, 1, roll) > r.sp ||
			(roll < r.pct && dmarc_policy(&r, 0, roll) != r.p))
			abort();
	n = snprintf(text, sizeof(text),
		"v=DMARC1; p=%s; sp=%s; pct=%d; adkim=%c; aspf=%c",
		dmarc_policy_name(r.p), dmarc_policy_name(r.sp), r.pct,
		flag[r.adkim_strict], flag[r.aspf_strict]);
	if (n < 0 || (size_t)n >= sizeof(text) ||
		dmarc_record_parse(text, (size_t)n, &back) < 0 ||
		memcmp(&r, &back, sizeof(r)) != 0)
		abort();
}

static void check_domain(const struct psl *psl, const char *dom)
{
	char low[256], org[256], again[256];
	size_t len, olen;

	snprintf(low, sizeof(low), "%s", dom);
	len = strlen(low);
	while (len > 0 && low[len - 1] == '.')
		low[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	dmarc_org_domain(psl, dom, org, sizeof(org));
	olen = strlen(org);
	if (olen > len || strcmp(low + len - olen, org) != 0 ||
		(olen < len && low[len - olen - 1] != '.'))
		abort();
	dmarc_org_domain(psl, org, again, sizeof(again));
	if (strcmp(org, again) != 0 || !dmarc_aligned(psl, dom, dom, 1) ||
		!dmarc_aligned(psl, dom, org, 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct psl *psl;
	char dom[300];
	size_t n = size < sizeof(dom) - 1 ? size : sizeof(dom) - 1;

	if (psl == NULL)
		psl = load_psl();
	check_record((const char *)data, size);
	memcpy(dom, data, n);
	dom[n] = '\0';
	check_domain(psl, dom);
	check_domain(NULL, dom);
	return 0;
}
