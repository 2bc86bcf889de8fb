/*
 * NAME
 *	greylist_test - the life of a triplet: deferred, passed, forgotten
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greylist.h"
#include "test.h"

int main(void)
{
	char path[] = "/tmp/sluice-grey-test-XXXXXX", db[64], aux[80], err[256];
	struct greylist_cfg cfg = {1000, 10000, 50000};
	struct greylist *g;
	uint64_t wait;
	int fd = mkstemp(path);

	if (fd < 0)
		return 2;
	close(fd);
	unlink(path);
	snprintf(db, sizeof(db), "%s", path);
	g = greylist_open(db, &cfg, err, sizeof(err));
	CHECK(g != NULL, err);
	if (g == NULL)
		return test_done();
#define T(net, s, r, now) greylist_check(g, net, s, r, now, &wait)
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 100000) == GREY_DEFER &&
	      wait == 1000, "new: deferred for the delay");
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 100400) == GREY_DEFER &&
	      wait == 600, "too early: the rest of the delay");
	CHECK(T("192.0.2.0/24", "a@x", "c@y", 100400) == GREY_DEFER,
	      "another recipient is another triplet");
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 101000) == GREY_PASS_NOW,
	      "retry after the delay passes");
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 101001) == GREY_PASS,
	      "then it is known");
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 151000) == GREY_PASS,
	      "within the lifetime of its last use");
	CHECK(T("192.0.2.0/24", "a@x", "b@y", 201001) == GREY_DEFER,
	      "past the lifetime: new again");
	CHECK(T("192.0.2.0/24", "a@x", "c@y", 120000) == GREY_DEFER &&
	      wait == 1000, "pending past the retry window: starts again");
	CHECK(T("192.0.2.0/24", "a@x", "c@y", 50) == GREY_DEFER,
	      "a row from the future is not believed");
	CHECK(T("192.0.2.0/24", "it's; DROP TABLE greylist; --", "b@y",
		300000) == GREY_DEFER &&
	      T("192.0.2.0/24", "a@x", "b@y", 300000) != GREY_ERROR,
	      "bound parameters");
	greylist_close(&g);
	CHECK(g == NULL, "closed");
	/* kept across a restart */
	g = greylist_open(db, &cfg, err, sizeof(err));
	CHECK(g != NULL && T("192.0.2.0/24", "a@x", "b@y", 301500) ==
	      GREY_PASS_NOW, "state on disk");
	greylist_close(&g);
	CHECK(greylist_open("/nonexistent/dir/g.db", &cfg, err,
			    sizeof(err)) == NULL && strstr(err, "g.db"),
	      "open error named");
	snprintf(aux, sizeof(aux), "%s-wal", db);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", db);
	unlink(aux);
	unlink(db);
	return test_done();
}
