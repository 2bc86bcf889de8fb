/*
 * NAME
 *	keytab_test - the table under peerlimit and ratemap: link, find,
 *	drop, sweep and walk, with long chains (few buckets)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"
#include "test.h"

struct item {
	struct keytab_entry link;
	int value;
	char key[32];
};

static int odd(const struct keytab_entry *e, void *arg)
{
	(void)arg;
	return ((const struct item *)e)->value % 2 == 1;
}

int main(void)
{
	const struct keytab_entry *e = NULL;
	struct keytab_entry **pp;
	struct keytab t;
	struct item *it;
	char key[32];
	size_t b = 0, walked = 0;
	int i, found = 0;

	CHECK(keytab_init(&t, 7, offsetof(struct item, key)) == 0, "init");
	CHECK(keytab_next(&t, &b, NULL) == NULL, "empty walk");
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		pp = keytab_slot(&t, key);
		CHECK(*pp == NULL, "new key");
		it = calloc(1, sizeof(*it));
		if (it == NULL)
			return 1;
		it->value = i;
		memcpy(it->key, key, sizeof(key));
		keytab_link(&t, pp, &it->link);
	}
	CHECK(t.n == 1000, "counted");
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
		pp = keytab_slot(&t, key);
		found += *pp != NULL && ((struct item *)*pp)->value == i;
	}
	CHECK(found == 1000, "every key found, its own entry");
	CHECK(*keytab_slot(&t, "10.0.9.9") == NULL, "unknown key");
	b = 0;
	while ((e = keytab_next(&t, &b, e)) != NULL)
		walked++;
	CHECK(walked == 1000, "walk sees all");
	keytab_sweep(&t, odd, NULL);
	CHECK(t.n == 500, "swept the odd ones");
	CHECK(*keytab_slot(&t, "10.0.0.1") == NULL &&
			*keytab_slot(&t, "10.0.0.2") != NULL,
		"the right ones");
	pp = keytab_slot(&t, "10.0.0.2");
	keytab_drop(&t, pp);
	CHECK(t.n == 499 && *keytab_slot(&t, "10.0.0.2") == NULL, "dropped");
	keytab_fini(&t);
	CHECK(t.n == 0 && t.bucket == NULL, "fini");
	return test_done();
}
