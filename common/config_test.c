/*
 * NAME
 *	config_test - tests of the configuration reader
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char *s_str;
static long long s_int, s_time, s_size, s_signed;
static int s_bool, s_mode;

static const struct cfg_param table[] = {
	{"name", CFG_STR, "def", &s_str, 0, 0, "a string"},
	{"count", CFG_INT, "5", &s_int, 1, 100, "an int"},
	{"wait", CFG_TIME, "1m", &s_time, 1, 86400 * 7, "a time"},
	{"size", CFG_SIZE, "1k", &s_size, 0, 1LL << 40, "a size"},
	{"flag", CFG_BOOL, "no", &s_bool, 0, 0, "a bool"},
	{"mode", CFG_CHOICE, "keep|drop|bounce", &s_mode, 0, 0, "a choice"},
	{"weight", CFG_INT, "-1", &s_signed, -10, 10, "a signed int"},
	{NULL, CFG_STR, NULL, NULL, 0, 0, NULL},
};

struct fcase {
	const char *name;
	const char *text;
	const char *err;	/* substring of the error, NULL = ok */
};

static const struct fcase files[] = {
	{"empty", "", NULL},
	{"comments", "# hi\n\n   # indented\n", NULL},
	{"all types", "name = x y  \ncount=7\nwait = 2h\nsize = 3M\nflag = yes\n"
	 "mode = Bounce\n", NULL},
	{"unknown", "count = 2\nbogus = 1\n", ":2: unknown key 'bogus'"},
	{"repeat", "count = 2\ncount = 3\n", ":2: key 'count' given twice"},
	{"no equals", "count 2\n", ":1: expected 'key = value'"},
	{"range", "count = 101\n", ":1: bad value for 'count'"},
	{"not number", "count = ten\n", "not a number"},
	{"bad suffix", "wait = 3y\n", "bad suffix"},
	{"size suffix on time", "wait = 3k\n", "bad suffix"},
	{"overflow", "size = 99999999999999999999\n", "too large"},
	{"overflow mult", "size = 9999999999999g\n", "too large"},
	{"bool", "flag = maybe\n", "not yes or no"},
	{"choice", "\nmode = dro\n", ":2: bad value for 'mode': 'dro' is not "
	 "one of keep|drop|bounce"},
	{"choice prefix", "mode = keep|drop\n", "not one of"},
	{"negative", "weight = -10\n", NULL},
	{"negative out of range", "weight = -11\n", "out of range"},
	{"no sign where min >= 0", "count = -2\n", "not a number"},
	{"no sign on a time", "wait = -2s\n", "not a number"},
	{"lone sign", "weight = -\n", "not a number"},
};

int main(void)
{
	char path[] = "/tmp/sluice-config-test-XXXXXX";
	char err[512];
	size_t i;
	int fd, rc;
	char **l;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fd = mkstemp(path);
		if (fd < 0)
			return 2;
		if (write(fd, files[i].text, strlen(files[i].text)) < 0)
			return 2;
		close(fd);
		err[0] = '\0';
		rc = config_load(table, path, err, sizeof(err));
		if (files[i].err == NULL)
			CHECK(rc == 0, files[i].name);
		else
			CHECK(rc < 0 && strstr(err, files[i].err) != NULL &&
			      strstr(err, path) != NULL, files[i].name);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
		if (i == 2)
			CHECK(strcmp(s_str, "x y") == 0 && s_int == 7 &&
			      s_time == 7200 && s_size == 3 << 20 && s_bool &&
			      s_mode == 2, "values");
	}
	CHECK(config_load(table, NULL, err, sizeof(err)) == 0 &&
	      s_int == 5 && s_time == 60 && s_size == 1024 && !s_bool &&
	      s_mode == 0 && strcmp(s_str, "def") == 0, "defaults");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, "# mode = x\n\ncount = 2\n  mode= drop\n",
			    35) != 35)
		return 2;
	close(fd);
	CHECK(config_key_line(path, "mode") == 4, "key line");
	CHECK(config_key_line(path, "count") == 3, "key line 3");
	CHECK(config_key_line(path, "wait") == 0, "key line: unset");
	CHECK(config_key_line(NULL, "mode") == 0, "key line: no file");
	unlink(path);
	CHECK(config_load(table, "/nonexistent/x.conf", err, sizeof(err)) < 0,
	      "missing file");
	l = config_list(" a, b ,c  d,,");
	CHECK(l && l[0] && !strcmp(l[0], "a") && !strcmp(l[1], "b") &&
	      !strcmp(l[2], "c") && !strcmp(l[3], "d") && l[4] == NULL,
	      "list");
	config_list_free(l);
	free(s_str);
	return test_done();
}
