/*
 * NAME
 *	peerlimit_test - table-driven tests of the per-client session count
 * DESCRIPTION
 *	Each case is a script of enter/leave steps against a fresh table
 *	with the wanted result; then a table emptied again holds nothing.
 */
#include <stdio.h>
#include <string.h>

#include "peerlimit.h"
#include "test.h"

enum op { ENTER, LEAVE, COUNT, END };

struct step {
	enum op op;
	const char *addr;
	long long want; /* ENTER: 0 or -1; COUNT: the count */
};

struct tcase {
	const char *name;
	long long max;
	struct step s[12];
};

static const struct tcase cases[] = {
	{"up to max, then refused", 2, {
		{ENTER, "192.0.2.1", 0}, {ENTER, "192.0.2.1", 0},
		{ENTER, "192.0.2.1", -1}, {COUNT, "192.0.2.1", 2},
		{END, NULL, 0}}},
	{"other addresses are apart", 1, {
		{ENTER, "127.0.0.1", 0}, {ENTER, "127.0.0.2", 0},
		{ENTER, "127.0.0.1", -1}, {ENTER, "::1", 0},
		{END, NULL, 0}}},
	{"leave makes room", 1, {
		{ENTER, "192.0.2.1", 0}, {ENTER, "192.0.2.1", -1},
		{LEAVE, "192.0.2.1", 0}, {COUNT, "192.0.2.1", 0},
		{ENTER, "192.0.2.1", 0}, {END, NULL, 0}}},
	{"IPv6 counts per /64", 2, {
		{ENTER, "2001:db8:1:2::1", 0}, {ENTER, "2001:db8:1:2::ff", 0},
		{ENTER, "2001:db8:1:2:aaaa::1", -1},
		{ENTER, "2001:db8:1:3::1", 0},
		{COUNT, "2001:db8:1:2:ffff:ffff:ffff:ffff", 2},
		{END, NULL, 0}}},
	{"IPv4-mapped stays per address", 1, {
		{ENTER, "::ffff:192.0.2.1", 0}, {ENTER, "::ffff:192.0.2.2", 0},
		{ENTER, "::ffff:192.0.2.1", -1}, {END, NULL, 0}}},
	{"0 is no limit", 0, {
		{ENTER, "192.0.2.1", 0}, {ENTER, "192.0.2.1", 0},
		{ENTER, "192.0.2.1", 0}, {COUNT, "192.0.2.1", 0},
		{LEAVE, "192.0.2.1", 0}, {END, NULL, 0}}},
	{"leave of unknown is harmless", 3, {
		{LEAVE, "unknown", 0}, {COUNT, "unknown", 0},
		{ENTER, "unknown", 0}, {COUNT, "unknown", 1},
		{END, NULL, 0}}},
};

static void run(const struct tcase *tc)
{
	struct peerlimit *pl = peerlimit_new(tc->max);
	const struct step *st;

	CHECK(pl != NULL, tc->name);
	if (pl == NULL)
		return;
	for (st = tc->s; st->op != END; st++) {
		switch (st->op) {
		case ENTER:
			CHECK(peerlimit_enter(pl, st->addr) == st->want,
			      tc->name);
			break;
		case LEAVE:
			peerlimit_leave(pl, st->addr);
			break;
		case COUNT:
			CHECK(peerlimit_count(pl, st->addr) ==
			      (size_t)st->want, tc->name);
			break;
		case END:
			break;
		}
	}
	peerlimit_free(&pl);
	CHECK(pl == NULL, tc->name);
}

/* Many addresses in and out again: every count back to zero. */
static void churn(void)
{
	struct peerlimit *pl = peerlimit_new(3);
	char a[32];
	int i, ok = 1;

	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 250, i % 250);
		ok &= peerlimit_enter(pl, a) == 0;
		ok &= peerlimit_enter(pl, a) == 0;
	}
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 250, i % 250);
		peerlimit_leave(pl, a);
		peerlimit_leave(pl, a);
		ok &= peerlimit_count(pl, a) == 0;
	}
	CHECK(ok, "churn");
	peerlimit_free(&pl);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i]);
	churn();
	return test_done();
}
