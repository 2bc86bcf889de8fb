/*
 * NAME
 *	avscan_clam_test - the scan core against the test signatures
 * DESCRIPTION
 *	Loads tests/data/clamav/test.hdb (run from the top of the tree, or
 *	name the file as the first argument) and scans messages from
 *	memory: clean ones, EICAR in the body and in base64 and
 *	MIME parts, behind unusual first headers. Then the same message
 *	scanned by several threads at once, and a scan libclamav cannot
 *	finish (no temporary folder), which must be an error.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avscan.h"
#include "test.h"

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-" \
	"FILE!$H+H*"
/* EICAR, base64 (RFC 2045 6.8), in 76-column lines */
#define EICAR_B64 "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJE" \
	"LUFOVElWSVJVUy1URVNU\r\nLUZJTEUhJEgrSCo=\r\n"

struct scase {
	const char *name;
	const char *msg;
	enum avscan_verdict want;
	const char *virus;	/* signature name wanted for VIRUS */
};

static const struct scase cases[] = {
	{"empty", "", AVSCAN_CLEAN, NULL},
	{"clean", "From: a@example.test\r\nSubject: hi\r\n\r\nhello\r\n",
	 AVSCAN_CLEAN, NULL},
	{"eicar in the body",
	 "From: a@example.test\r\nSubject: x\r\n\r\n" EICAR "\r\n",
	 AVSCAN_VIRUS, "Sluice.Test.EICAR"},
	{"eicar alone", EICAR, AVSCAN_VIRUS, "Sluice.Test.EICAR"},
	{"eicar base64 attachment",
	 "Received: from x by y; Mon, 23 Nov 2026 06:00:00 +0000\r\n"
	 "From: a@example.test\r\nMIME-Version: 1.0\r\n"
	 "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	 "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
	 "--b1\r\nContent-Type: application/octet-stream; name=e.com\r\n"
	 "Content-Transfer-Encoding: base64\r\n"
	 "Content-Disposition: attachment; filename=e.com\r\n\r\n"
	 EICAR_B64 "--b1--\r\n",
	 AVSCAN_VIRUS, "Sluice.Test.EICAR"},
	{"eicar base64, odd first header",
	 "X-Seq: 7\r\nFrom: a@example.test\r\nMIME-Version: 1.0\r\n"
	 "Content-Type: multipart/mixed; boundary=b2\r\n\r\n"
	 "--b2\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	 EICAR_B64 "--b2--\r\n",
	 AVSCAN_VIRUS, "Sluice.Test.EICAR"},
	{"base64 of something else",
	 "From: a@example.test\r\nMIME-Version: 1.0\r\n"
	 "Content-Type: multipart/mixed; boundary=b3\r\n\r\n"
	 "--b3\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	 "aGVsbG8gd29ybGQK\r\n--b3--\r\n",
	 AVSCAN_CLEAN, NULL},
};

static const struct avscan_engine *shared;

static void *scan_many(void *arg)
{
	const char *msg = cases[4].msg;
	char name[128];
	int i, *bad = arg;

	for (i = 0; i < 50; i++)
		if (avscan_clam_scan(shared, msg, strlen(msg), name,
				     sizeof(name)) != AVSCAN_VIRUS)
			(*bad)++;
	return NULL;
}

int main(int argc, char **argv)
{
	const char *db = argc > 1 ? argv[1] : "tests/data/clamav";
	struct avscan_limits lim = {100 << 20, 25 << 20, 16, 10000, 120, NULL};
	struct avscan_engine *e;
	pthread_t th[4];
	int bad[4] = {0};
	char name[128], err[512];
	size_t i;

	e = avscan_clam_load(db, &lim, err, sizeof(err));
	CHECK(e != NULL, err);
	if (e == NULL)
		return test_done();
	CHECK(avscan_clam_signatures(e) >= 2, "signature count");
	CHECK(strchr(avscan_clam_version(), '.') != NULL, "version");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum avscan_verdict v = avscan_clam_scan(
			e, cases[i].msg, strlen(cases[i].msg), name,
			sizeof(name));

		CHECK(v == cases[i].want, cases[i].name);
		if (cases[i].virus)
			CHECK(strncmp(name, cases[i].virus,
				      strlen(cases[i].virus)) == 0,
			      cases[i].name);
	}
	shared = e;
	for (i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, scan_many, &bad[i]) == 0,
		      "thread");
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(bad[i] == 0, "concurrent scans");
	}
	avscan_clam_free(&e);
	CHECK(e == NULL, "free clears");
	/* libclamav cannot unpack: an error, never "clean" */
	lim.tmp_dir = "/nonexistent/tmp";
	e = avscan_clam_load(db, &lim, err, sizeof(err));
	CHECK(e != NULL, err);
	if (e) {
		CHECK(avscan_clam_scan(e, cases[4].msg, strlen(cases[4].msg),
				       name, sizeof(name)) == AVSCAN_ERROR &&
		      strstr(name, "libclamav") != NULL, "unpack error");
		avscan_clam_free(&e);
	}
	e = avscan_clam_load("/nonexistent/clamav", &lim, err, sizeof(err));
	CHECK(e == NULL && strstr(err, "/nonexistent/clamav") != NULL,
	      "missing database");
	return test_done();
}
