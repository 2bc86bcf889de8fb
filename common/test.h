/*
 * NAME
 *	test - tiny helpers for table-driven unit tests (foo_test.c)
 * DESCRIPTION
 *	CHECK(cond, name) records a failure without stopping; test_done()
 *	prints "N passed, N failed" and returns the exit status.
 */
#ifndef SLUICE_TEST_H
#define SLUICE_TEST_H

#include <stdio.h>

static int test_passed, test_failed;

#define CHECK(cond, name)                                                  \
	do {                                                               \
		if (cond) {                                                \
			test_passed++;                                     \
		} else {                                                   \
			test_failed++;                                     \
			fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__,  \
				__LINE__, (name), #cond);                  \
		}                                                          \
	} while (0)

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
