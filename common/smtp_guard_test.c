/*
 * NAME
 *	smtp_guard_test - connection rate, HELO names and the bad-recipient
 *	throttle at their edges
 */
#include "ratemap.h"
#include "smtp_guard.h"
#include "test.h"

static void conn_rate(void)
{
	struct ratemap *m = ratemap_new(100);
	int i;

	for (i = 0; i < 3; i++)
		CHECK(!smtp_guard_conn_rate(m, "192.0.2.1", 1000, 3, 60),
		      "within the limit");
	CHECK(smtp_guard_conn_rate(m, "192.0.2.1", 1000, 3, 60), "4th over");
	CHECK(!smtp_guard_conn_rate(m, "192.0.2.2", 1000, 3, 60),
	      "another address");
	CHECK(!smtp_guard_conn_rate(m, "192.0.2.1", 62000, 3, 60),
	      "a new window");
	for (i = 0; i < 3; i++)
		smtp_guard_conn_rate(m, "2001:db8::1", 1000, 3, 60);
	CHECK(smtp_guard_conn_rate(m, "2001:db8::ffff", 1000, 3, 60),
	      "IPv6 counts per /64");
	CHECK(!smtp_guard_conn_rate(m, "2001:db8:0:1::1", 1000, 3, 60),
	      "another /64");
	for (i = 0; i < 10; i++)
		CHECK(!smtp_guard_conn_rate(m, "192.0.2.9", 1000, 0, 60),
		      "limit 0: none");
	ratemap_free(&m);
}

static void helo(void)
{
	static const char *const good[] = {"mail.example.test", "a.b",
		"x-1.example.test", "[192.0.2.1]", "[IPv6:::1]", "9a.example"};
	static const char *const bad[] = {"localhost", "DESKTOP-7",
		"bad_name.example", "a..b", ".a.b", "a.b.", "-a.b", "a-.b",
		"192.0.2.1", "a.123", "", "["};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(smtp_guard_helo_ok(good[i]), good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!smtp_guard_helo_ok(bad[i]), bad[i]);
}

static void bad_rcpt(void)
{
	long long n = 0;

	CHECK(smtp_guard_bad_rcpt(&n, 2, 4) == 0 && n == 1, "1st");
	CHECK(smtp_guard_bad_rcpt(&n, 2, 4) == 0, "2nd: at delay_after");
	CHECK(smtp_guard_bad_rcpt(&n, 2, 4) == SMTP_GUARD_DELAY, "3rd");
	CHECK(smtp_guard_bad_rcpt(&n, 2, 4) == SMTP_GUARD_DISCONNECT, "4th");
	n = 0;
	CHECK(smtp_guard_bad_rcpt(&n, 0, 0) == 0, "both off");
	n = 100;
	CHECK(smtp_guard_bad_rcpt(&n, 0, 0) == 0, "off at any count");
}

int main(void)
{
	conn_rate();
	helo();
	bad_rcpt();
	return test_done();
}
