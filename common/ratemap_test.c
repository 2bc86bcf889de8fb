/*
 * NAME
 *	ratemap_test - windows, holds and the bound on entries
 */
#include <stdio.h>

#include "ratemap.h"
#include "test.h"

/* A dump taken at 10000 on one clock, loaded 20 ms later on a clock
 * that reads 500: windows and holds keep what was left of them. */
static void dump_and_load(void)
{
	struct ratemap *m = ratemap_new(10), *n = ratemap_new(10);
	struct sbuf d;
	unsigned char bad[40] = {0, 3, 'a', 0, 'b'};

	sbuf_init(&d, 1 << 20);
	ratemap_hit(m, "a", 9950, 100);
	ratemap_hit(m, "a", 9960, 100);
	ratemap_hit(m, "gone", 9000, 100);
	ratemap_hold(m, "c", 15000);
	CHECK(ratemap_dump(m, 10000, &d) == 0, "dump");
	CHECK(ratemap_load(n, d.data, d.len, 500, 20) == 2, "two live ones");
	CHECK(ratemap_hit(n, "a", 510, 100) == 3, "count and window kept");
	CHECK(ratemap_hit(n, "a", 530, 100) == 1, "the window ends on time");
	CHECK(ratemap_held(n, "c", 5479) && !ratemap_held(n, "c", 5480),
	      "hold kept, less the time elapsed");
	CHECK(ratemap_size(n) == 2, "the expired key left out");
	CHECK(ratemap_load(n, d.data, d.len - 1, 500, 20) == -1,
	      "cut record refused");
	CHECK(ratemap_load(n, bad, sizeof(bad), 500, 20) == -1,
	      "NUL in a key refused");
	CHECK(ratemap_load(n, bad, 1, 500, 20) == -1, "half a length");
	CHECK(ratemap_load(n, "", 0, 500, 20) == 0, "empty dump");
	CHECK(ratemap_load(n, NULL, 0, 500, 20) == 0,
	      "an empty dump of an empty map (no data at all)");
	sbuf_free(&d);
	ratemap_free(&m);
	ratemap_free(&n);
}

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
	dump_and_load();
	return test_done();
}
