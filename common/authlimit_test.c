/*
 * NAME
 *	authlimit_test - table-driven tests of the failed-login limits
 * DESCRIPTION
 *	Each case is a script of events (fail, ok, check) at given times
 *	against a fresh table; then the bounded-memory behaviour: a flood
 *	of distinct keys evicts the oldest entries and never breaks lookups.
 */
#include <stdio.h>
#include <string.h>

#include "authlimit.h"
#include "test.h"

enum op { FAIL, OK, BLOCKED, FREE, END };

struct step {
	enum op op;
	const char *key;
	uint64_t t;	/* ms */
	uint64_t delay; /* FAIL: the delay wanted */
};

struct tcase {
	const char *name;
	unsigned max_fail;
	uint64_t window, base;
	struct step s[12];
};

static const struct tcase cases[] = {
	{"fresh key is free", 3, 60000, 500, {
		{FREE, "ip:192.0.2.1", 0, 0}, {END, NULL, 0, 0}}},
	{"delay doubles", 5, 60000, 500, {
		{FAIL, "ip:a", 0, 500}, {FAIL, "ip:a", 10, 1000},
		{FAIL, "ip:a", 20, 2000}, {FAIL, "ip:a", 30, 4000},
		{END, NULL, 0, 0}}},
	{"delay capped at 8 s", 20, 60000, 3000, {
		{FAIL, "k", 0, 3000}, {FAIL, "k", 1, 6000},
		{FAIL, "k", 2, 8000}, {FAIL, "k", 3, 8000},
		{END, NULL, 0, 0}}},
	{"locked at max_fail", 3, 60000, 100, {
		{FAIL, "u", 0, 100}, {FAIL, "u", 1, 200},
		{FREE, "u", 2, 0}, {FAIL, "u", 3, 400},
		{BLOCKED, "u", 4, 0}, {BLOCKED, "u", 59999, 0},
		{END, NULL, 0, 0}}},
	{"window slides", 3, 1000, 100, {
		{FAIL, "u", 0, 100}, {FAIL, "u", 500, 200},
		{FAIL, "u", 900, 400}, {BLOCKED, "u", 999, 0},
		{FREE, "u", 1000, 0}, /* the failure at 0 left */
		{FAIL, "u", 1001, 400}, {BLOCKED, "u", 1002, 0},
		{FREE, "u", 1901, 0}, {END, NULL, 0, 0}}},
	{"old failures earn no delay", 5, 1000, 100, {
		{FAIL, "u", 0, 100}, {FAIL, "u", 10, 200},
		{FAIL, "u", 5000, 100}, {END, NULL, 0, 0}}},
	{"success forgets", 2, 60000, 100, {
		{FAIL, "u", 0, 100}, {OK, "u", 1, 0}, {FAIL, "u", 2, 100},
		{FREE, "u", 3, 0}, {FAIL, "u", 4, 200},
		{BLOCKED, "u", 5, 0}, {OK, "u", 6, 0}, {FREE, "u", 7, 0},
		{END, NULL, 0, 0}}},
	{"keys are separate", 2, 60000, 100, {
		{FAIL, "ip:1", 0, 100}, {FAIL, "ip:1", 1, 200},
		{BLOCKED, "ip:1", 2, 0}, {FREE, "ip:2", 2, 0},
		{FREE, "user:ip:1", 2, 0}, {FAIL, "ip:2", 3, 100},
		{END, NULL, 0, 0}}},
	{"zero delay", 3, 60000, 0, {
		{FAIL, "z", 0, 0}, {FAIL, "z", 1, 0}, {FAIL, "z", 2, 0},
		{BLOCKED, "z", 3, 0}, {END, NULL, 0, 0}}},
	{"ok on unknown key", 3, 60000, 10, {
		{OK, "never", 0, 0}, {FREE, "never", 0, 0},
		{END, NULL, 0, 0}}},
};

static void run_case(const struct tcase *c)
{
	struct authlimit *al = authlimit_new(c->max_fail, c->window, c->base);
	const struct step *s;
	char name[200];

	CHECK(al != NULL, c->name);
	if (al == NULL)
		return;
	for (s = c->s; s->op != END; s++) {
		snprintf(name, sizeof(name), "%s: step %d", c->name,
			 (int)(s - c->s));
		switch (s->op) {
		case FAIL:
			CHECK(authlimit_fail(al, s->key, s->t) == s->delay,
			      name);
			break;
		case OK:
			authlimit_ok(al, s->key);
			break;
		case BLOCKED:
			CHECK(authlimit_blocked(al, s->key, s->t), name);
			break;
		case FREE:
			CHECK(!authlimit_blocked(al, s->key, s->t), name);
			break;
		case END:
			break;
		}
	}
	authlimit_free(&al);
	CHECK(al == NULL, "free clears");
}

/* A flood of distinct keys: the oldest entries go, the newest stay, and
 * long keys are cut, not overflowed. */
static void test_flood(void)
{
	struct authlimit *al = authlimit_new(2, 3600000, 10);
	char key[64], longkey[2000];
	int i, still = 0;

	authlimit_fail(al, "ip:victim", 0);
	authlimit_fail(al, "ip:victim", 1);
	CHECK(authlimit_blocked(al, "ip:victim", 2), "victim blocked");
	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "ip:10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		authlimit_fail(al, key, 10 + (uint64_t)i);
		authlimit_fail(al, key, 10 + (uint64_t)i);
	}
	CHECK(!authlimit_blocked(al, "ip:victim", 200000),
	      "oldest entry evicted");
	for (i = 99000; i < 100000; i++) {
		snprintf(key, sizeof(key), "ip:10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		still += authlimit_blocked(al, key, 200000);
	}
	CHECK(still == 1000, "newest entries kept");
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	authlimit_fail(al, longkey, 300000);
	CHECK(authlimit_fail(al, longkey, 300001) == 20, "long key counted");
	CHECK(authlimit_blocked(al, longkey, 300002), "long key blocked");
	authlimit_free(&al);
}

/* Every spelling of one user gives one key; the address key is apart. */
static void test_keys(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"alice@example.test", "user:alice@example.test"},
		{"ALICE@Example.TEST", "user:alice@example.test"},
		{"aLice@example.test", "user:alice@example.test"},
		{"", "user:"},
		{"\xc3\x84x@example.test", "user:\xc3\x84x@example.test"},
	};
	char k[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		authlimit_user_key(t[i].in, k, sizeof(k));
		CHECK(strcmp(k, t[i].want) == 0, t[i].in);
	}
	authlimit_user_key("ALICE@EXAMPLE.TEST.VERY.LONG.DOMAIN.NAME.HERE", k,
			   12);
	CHECK(strcmp(k, "user:alice@") == 0, "user key truncated");
	authlimit_ip_key("192.0.2.1", k, sizeof(k));
	CHECK(strcmp(k, "ip:192.0.2.1") == 0, "ip key");
}

struct heard {
	int n, last_ok;
	char key[64];
};

static void hear(void *arg, int ok, const char *key)
{
	struct heard *h = arg;

	h->n++;
	h->last_ok = ok;
	snprintf(h->key, sizeof(h->key), "%s", key);
}

/* Another server's events count here but are not passed on again; ours
 * are, failures and successes alike. */
static void test_shared(void)
{
	struct authlimit *al = authlimit_new(3, 10000, 0);
	struct heard h = {0, 0, ""};

	authlimit_on_change(al, hear, &h);
	authlimit_note(al, 0, "user:bob", 1000);
	authlimit_note(al, 0, "user:bob", 2000);
	CHECK(h.n == 0, "notes are not passed on");
	CHECK(!authlimit_blocked(al, "user:bob", 3000), "two of three");
	authlimit_fail(al, "user:bob", 3000);
	CHECK(h.n == 1 && !h.last_ok && !strcmp(h.key, "user:bob"),
	      "a failure is passed on");
	CHECK(authlimit_blocked(al, "user:bob", 3000), "2 noted + 1 ours");
	CHECK(!authlimit_blocked(al, "user:bob", 11500), "noted ones age out");
	authlimit_note(al, 1, "user:bob", 12000);
	CHECK(!authlimit_blocked(al, "user:bob", 12000), "noted success");
	authlimit_ok(al, "user:carol");
	CHECK(h.n == 2 && h.last_ok, "a success is passed on");
	authlimit_free(&al);
}

/* The login checks every protocol makes: client and user counted, the
 * longer delay, either locking out. */
static void test_login(void)
{
	struct authlimit *al = authlimit_new(2, 10000, 100);
	uint64_t d1, d2;

	CHECK(authlimit_login_blocked(NULL, "192.0.2.1", "a", 0) == 0 &&
	      authlimit_login_failed(NULL, "192.0.2.1", "a", 0) == 0,
	      "no limits");
	if (al == NULL)
		return;
	d1 = authlimit_login_failed(al, "192.0.2.1", NULL, 0);
	CHECK(d1 > 0 && !authlimit_login_blocked(al, "192.0.2.1", NULL, 1),
	      "one failure of the client");
	/* the client's second failure, the user's first: the longer */
	d2 = authlimit_login_failed(al, "192.0.2.1", "Alice", 1);
	CHECK(d2 > d1, "the longer delay");
	CHECK(authlimit_login_blocked(al, "192.0.2.1", NULL, 2) &&
	      !authlimit_login_blocked(al, NULL, "alice", 2) &&
	      authlimit_login_blocked(al, "192.0.2.1", "alice", 2),
	      "the client locked, not the user");
	authlimit_login_failed(al, "192.0.2.9", "ALICE", 3);
	CHECK(authlimit_login_blocked(al, NULL, "alice", 4) &&
	      authlimit_login_blocked(al, "192.0.2.8", "alice", 4) &&
	      !authlimit_login_blocked(al, "192.0.2.8", NULL, 4),
	      "the user locked, any spelling, from anywhere");
	authlimit_free(&al);
}

int main(void)
{
	size_t i;

	test_login();
	test_keys();
	test_shared();

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
	test_flood();
	return test_done();
}
