/*
 * NAME
 *	outmta_test - stage F's door and its next hops
 * DESCRIPTION
 *	The hooks: a peer outside trusted_peers is refused at connect (554
 *	5.7.1), <Postmaster> is refused (no local mailboxes), any other
 *	recipient is taken. The route table as outmta builds it (ordered):
 *	which route a recipient takes (exact domains, ".domain" for
 *	subdomains, the default "mx"), and the order its hops are tried
 *	in, a hop marked down skipped until its time is up.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "evloop.h"
#include "outmta.h"
#include "route.h"
#include "test.h"

static void test_hooks(void)
{
	static struct outmta_config cfg = {.hostname = "out.example.test"};
	static struct outmta om = {.cfg = &cfg};
	struct smtp_server_cfg scfg = {.hostname = "out.example.test"};
	struct evloop *loop = evloop_new();
	struct smtp_server *srv;
	struct smtp_session s;
	struct smtp_reply r;
	const char *rest, *err;
	struct addr a;

	srv = smtp_server_new(loop, &scfg, &outmta_hooks, &om);
	memset(&s, 0, sizeof(s));
	s.srv = srv;
	snprintf(s.id, sizeof(s.id), "TEST");
	snprintf(s.client_addr, sizeof(s.client_addr), "192.0.2.9");
	memset(&r, 0, sizeof(r));
	CHECK(outmta_hooks.on_connect(&s, &r) < 0 && r.code == 554 &&
			strcmp(r.ecode, "5.7.1") == 0,
		"untrusted peer refused");
	s.trusted = 1;
	CHECK(outmta_hooks.on_connect(&s, &r) == 0, "trusted peer taken");

	CHECK(addr_parse_path("<Postmaster>", ADDR_OPT_POSTMASTER, &a, &rest,
		      &err) == 0,
		"parse postmaster");
	s.path = &a;
	memset(&r, 0, sizeof(r));
	CHECK(outmta_hooks.on_rcpt(&s, a.mailbox, &r) < 0 && r.code == 550 &&
			strcmp(r.ecode, "5.1.1") == 0,
		"postmaster refused");
	CHECK(addr_parse_path("<x@remote.test>", 0, &a, &rest, &err) == 0,
		"parse remote");
	CHECK(outmta_hooks.on_rcpt(&s, a.mailbox, &r) == 0, "remote taken");
	smtp_server_free(srv);
	evloop_free(loop);
}

struct rtcase {
	const char *rcpt;
	const char *want; /* first hop, or "mx" */
};

#define ROUTES                                                                 \
	"example.test = smtp:127.0.0.1:2525, smtp:127.0.0.2:2525; "            \
	".corp.test = lmtp:127.0.0.3:2424"

static const struct rtcase rtcases[] = {
	{"a@example.test", "127.0.0.1:2525"},
	{"a@EXAMPLE.TEST", "127.0.0.1:2525"},
	{"a@sub.example.test", "mx"},
	{"a@corp.test", "mx"},
	{"a@eu.corp.test", "127.0.0.3:2424"},
	{"a@x.eu.corp.test", "127.0.0.3:2424"},
	{"a@remote.test", "mx"},
	{"\"a@example.test\"@remote.test", "mx"},
};

static void test_routes(void)
{
	struct route_table t;
	struct route *r;
	size_t order[8], n, i;
	char err[256];
	time_t now = 1000000;

	CHECK(route_table_init(&t, "mx", ROUTES, "ordered", err, sizeof(err)) ==
			0,
		"outmta's table");
	for (i = 0; i < sizeof(rtcases) / sizeof(rtcases[0]); i++) {
		r = route_for(&t, rtcases[i].rcpt);
		if (strcmp(rtcases[i].want, "mx") == 0)
			CHECK(r && r->dns, rtcases[i].rcpt);
		else
			CHECK(r && !r->dns && r->nhops > 0 &&
					strcmp(r->hops[0].hostport,
						rtcases[i].want) == 0,
				rtcases[i].rcpt);
	}

	/* active-backup: list order, a down hop left out until its time */
	r = route_for(&t, "a@example.test");
	n = route_pick(r, now, order, 8);
	CHECK(n == 2 && order[0] == 0 && order[1] == 1, "ordered");
	n = route_pick(r, now, order, 8);
	CHECK(n == 2 && order[0] == 0, "ordered stays ordered");
	route_hop_down(&r->hops[0], now, 60);
	n = route_pick(r, now, order, 8);
	CHECK(n == 1 && order[0] == 1, "first down: backup only");
	route_hop_down(&r->hops[1], now, 60);
	CHECK(route_pick(r, now + 59, order, 8) == 0, "every hop down");
	n = route_pick(r, now + 60, order, 8);
	CHECK(n == 2 && order[0] == 0 && order[1] == 1, "back up in time");
	CHECK(route_pick(r, now, order, 1) <= 1, "max respected");
	route_table_free(&t);

	CHECK(route_table_init(&t, "smtp:bad host", "", "ordered", err,
		      sizeof(err)) < 0 &&
			err[0] != '\0',
		"bad hop refused");
	route_table_free(&t); /* what was parsed before the error */
	CHECK(route_table_init(&t, "mx", "example.test", "ordered", err,
		      sizeof(err)) < 0,
		"route without hops refused");
	route_table_free(&t);
}

int main(void)
{
	test_hooks();
	test_routes();
	return test_done();
}
