/*
 * NAME
 *	traffic_test - per-domain and per-mailbox counters and their cap
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "sbuf.h"
#include "test.h"
#include "traffic.h"

/* The value of the series line (name{labels}) in page, or -1. */
static long long value(const char *page, const char *series)
{
	char key[512];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", series);
	p = strstr(page, key);
	return p ? atoll(p + strlen(key)) : -1;
}

static size_t lines(const char *page, const char *prefix)
{
	size_t n = 0;
	const char *p = page;

	while ((p = strstr(p, prefix)) != NULL) {
		n++;
		p++;
	}
	return n;
}

int main(void)
{
	struct sbuf page;
	char a[64];
	int i;

	traffic_count("Alice@Example.TEST", 100, 1);
	traffic_count("alice@example.test", 50, 1);
	traffic_count("bob@example.test", 7, 0);
	traffic_count("no-domain", 1, 1);
	traffic_count("x@", 1, 1);
	traffic_count(NULL, 1, 1);
	for (i = 0; i < 300; i++) {
		snprintf(a, sizeof(a), "u%d@d%d.test", i, i);
		traffic_count(a, 1, 1);
	}
	sbuf_init(&page, 1 << 22);
	sbuf_puts(&page, "\n");
	CHECK(metrics_render(&page) == 0 && page.data, "render");
	if (page.data == NULL)
		return test_done();
	CHECK(value(page.data, "sluice_domain_messages_total{domain="
		    "\"example.test\"}") == 3, "domain messages, lowercased");
	CHECK(value(page.data, "sluice_domain_bytes_total{domain="
		    "\"example.test\"}") == 157, "domain bytes");
	CHECK(value(page.data, "sluice_mailbox_messages_total{mailbox="
		    "\"alice@example.test\"}") == 2, "mailbox messages");
	CHECK(value(page.data, "sluice_mailbox_bytes_total{mailbox="
		    "\"alice@example.test\"}") == 150, "mailbox bytes");
	CHECK(value(page.data, "sluice_mailbox_messages_total{mailbox="
		    "\"bob@example.test\"}") == -1, "domain only");
	CHECK(strstr(page.data, "no-domain") == NULL &&
	      strstr(page.data, "\"x@\"") == NULL, "no address, no count");
	/* the cap: example.test + 49 more domains, then _other */
	CHECK(lines(page.data, "\nsluice_domain_messages_total{") ==
	      TRAFFIC_DOMAINS_MAX + 1, "domain series capped");
	CHECK(value(page.data, "sluice_domain_messages_total{domain="
		    "\"" TRAFFIC_OTHER "\"}") == 300 - (TRAFFIC_DOMAINS_MAX - 1),
	      "the rest in _other");
	CHECK(lines(page.data, "\nsluice_mailbox_messages_total{") ==
	      TRAFFIC_MAILBOXES_MAX + 1, "mailbox series capped");
	CHECK(value(page.data, "sluice_mailbox_messages_total{mailbox="
		    "\"" TRAFFIC_OTHER "\"}") ==
	      300 - (TRAFFIC_MAILBOXES_MAX - 1), "mailboxes in _other");
	CHECK(lines(page.data, "\nsluice_domain_bytes_total{") ==
	      TRAFFIC_DOMAINS_MAX + 1, "bytes capped too");
	sbuf_free(&page);
	return test_done();
}
