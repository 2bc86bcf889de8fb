/*
 * NAME
 *	ratemap_test - windows, holds and the bound on entries
 */
#include <stdio.h>

#include "ratemap.h"
#include "test.h"

int main(void)
{
	struct ratemap *m = ratemap_new(3);
	char k[16];
	int i;

	CHECK(ratemap_hit(m, "a", 1000, 100) == 1, "first hit");
	CHECK(ratemap_hit(m, "a", 1050, 100) == 2, "same window");
	CHECK(ratemap_hit(m, "b", 1050, 100) == 1, "other key");
	CHECK(ratemap_hit(m, "a", 1100, 100) == 1, "new window");
	CHECK(!ratemap_held(m, "c", 0), "not held");
	ratemap_hold(m, "c", 5000);
	ratemap_hold(m, "c", 4000);
	CHECK(ratemap_held(m, "c", 4999) && !ratemap_held(m, "c", 5000),
	      "held until, never shortened");
	CHECK(ratemap_hit(m, "d", 1100, 100) == 0, "full: fails open");
	CHECK(ratemap_size(m) == 3, "bounded");
	/* at 2000 a and b expired: a sweep makes room */
	CHECK(ratemap_hit(m, "d", 2000, 100) == 1, "swept");
	CHECK(ratemap_held(m, "c", 2000), "a hold survives the sweep");
	for (i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		ratemap_hit(m, k, 9000, 10);
	}
	CHECK(ratemap_size(m) <= 3, "still bounded");
	ratemap_free(&m);
	CHECK(m == NULL, "freed");
	return test_done();
}
