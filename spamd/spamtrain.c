/*
 * NAME
 *	sluice-spamtrain - train and evaluate spamd's Bayes database
 * SYNOPSIS
 *	sluice-spamtrain --db F [--spam PATH...] [--ham PATH...]
 *	sluice-spamtrain --db F --eval-spam DIR --eval-ham DIR
 *	    [--rules F] [--required S] [--min-count N] [-v]
 * DESCRIPTION
 *	A PATH is a file holding one message or a directory of such files
 *	(not searched further down; names starting with '.' are skipped).
 *	Training adds the token counts of every message in one transaction.
 *	Evaluation scores every message exactly as sluice-spamd does (the
 *	built-in rules plus --rules, Bayes from --db, no DNSBL) and prints
 *	how many ham were flagged as spam, how many spam were missed, how
 *	many had an unsure Bayes probability (0.2 to 0.8), and the speed.
 *	Local files of the operator; each message is read up to scan size.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "spamd.h"

struct opts {
	const char *db, *rules;
	double required;
	long long min_count;
	int verbose;
	size_t scan;
};

struct tally {
	long long n, flagged, unsure;
};

/* The first o->scan bytes of path into b. 0 or -1. */
static int read_msg(const char *path, size_t scan, struct sbuf *b)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n, want;

	sbuf_reset(b);
	if (f == NULL)
		return -1;
	while (b->len < scan) {
		want = scan - b->len < sizeof(chunk) ? scan - b->len :
		       sizeof(chunk);
		if ((n = fread(chunk, 1, want, f)) == 0)
			break;
		if (sbuf_append(b, chunk, n) < 0)
			break;
	}
	fclose(f);
	return sbuf_puts(b, "");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Call fn for path, or for every file in directory path (sorted). */
static int each_file(const char *path, int (*fn)(void *, const char *),
		     void *arg)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	char **names = NULL, **nn, full[4096];
	size_t n = 0, cap = 0, i;
	int rc = 0;

	if (stat(path, &sb) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return fn(arg, path);
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (rc == 0 && stat(full, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = fn(arg, full);
		free(names[i]);
	}
	free(names);
	return rc;
}

struct train_ctx {
	struct bayes_writer *w;
	struct sbuf buf;
	size_t scan;
	int spam;
	long long n;
};

static int train_one(void *arg, const char *path)
{
	struct train_ctx *c = arg;
	struct spamd_text t;
	struct spamd_tokset set;
	char err[256];
	int rc;

	if (read_msg(path, c->scan, &c->buf) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s: cannot read\n", path);
		return -1;
	}
	if (spamd_text_extract(c->buf.data, c->buf.len, c->scan, &t) < 0 ||
	    spamd_tokset_build(&t, &set) < 0) {
		spamd_text_free(&t);
		fprintf(stderr, "sluice-spamtrain: out of memory\n");
		return -1;
	}
	rc = bayes_train(c->w, &set, c->spam, err, sizeof(err));
	spamd_tokset_free(&set);
	spamd_text_free(&t);
	if (rc < 0)
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
	c->n++;
	return rc;
}

struct eval_ctx {
	const struct spamd_core *core;
	struct bayes_table *table;
	const struct opts *o;
	struct sbuf buf;
	struct tally tl;
};

static int eval_one(void *arg, const char *path)
{
	struct eval_ctx *c = arg;
	struct spamd_verdict v;
	char tests[700];

	if (read_msg(path, c->o->scan, &c->buf) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s: cannot read\n", path);
		return -1;
	}
	spamd_verdict_init(&v);
	if (spamd_score(c->core, c->table, c->buf.data, c->buf.len, &v) < 0) {
		fprintf(stderr, "sluice-spamtrain: out of memory\n");
		return -1;
	}
	c->tl.n++;
	if (v.score >= c->core->required)
		c->tl.flagged++;
	if (v.bayes > 0.2 && v.bayes < 0.8)
		c->tl.unsure++;
	if (c->o->verbose) {
		spamd_tests(&v, tests, sizeof(tests));
		printf("%s score=%.1f bayes=%.4f tests=%s\n", path, v.score,
		       v.bayes, tests);
	}
	return 0;
}

static double pct(long long a, long long n)
{
	return n ? 100.0 * (double)a / (double)n : 0.0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int evaluate(const struct opts *o, const char *spam_dir,
		    const char *ham_dir)
{
	struct spamd_core core;
	struct eval_ctx c;
	struct tally spam = {0}, ham = {0};
	char err[512];
	double t0, dt;
	int rc = 0;

	memset(&core, 0, sizeof(core));
	core.required = o->required;
	core.scan_size = o->scan;
	core.body_size = 32768;
	core.bayes_min = o->min_count;
	core.rules = spamd_rules_load(o->rules, err, sizeof(err));
	if (core.rules == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	c.core = &core;
	c.o = o;
	sbuf_init(&c.buf, o->scan + 1);
	c.table = bayes_load(o->db, err, sizeof(err));
	if (c.table == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		rc = 1;
		goto out;
	}
	t0 = now_s();
	if (ham_dir && each_file(ham_dir, eval_one, &c) < 0)
		rc = 1;
	ham = c.tl;
	memset(&c.tl, 0, sizeof(c.tl));
	if (spam_dir && each_file(spam_dir, eval_one, &c) < 0)
		rc = 1;
	spam = c.tl;
	dt = now_s() - t0;
	printf("required_score %.1f\n", o->required);
	printf("ham:  %lld messages, %lld flagged as spam (%.2f%%), "
	       "%lld unsure\n", ham.n, ham.flagged, pct(ham.flagged, ham.n),
	       ham.unsure);
	printf("spam: %lld messages, %lld caught (%.2f%%), %lld missed "
	       "(%.2f%%), %lld unsure\n", spam.n, spam.flagged,
	       pct(spam.flagged, spam.n), spam.n - spam.flagged,
	       pct(spam.n - spam.flagged, spam.n), spam.unsure);
	printf("speed: %.0f messages/s on one core\n",
	       dt > 0 ? (double)(ham.n + spam.n) / dt : 0.0);
out:
	bayes_unref(c.table);
	sbuf_free(&c.buf);
	spamd_rules_free((struct spamd_rules *)core.rules);
	return rc;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: sluice-spamtrain --db F [--spam PATH...] "
		"[--ham PATH...]\n"
		"       sluice-spamtrain --db F --eval-spam DIR --eval-ham DIR "
		"[--rules F] [--required S] [--min-count N] [-v]\n");
	exit(2);
}

/* The options of argv; paths are left for train(). */
static void options(int argc, char **argv, struct opts *o,
		    const char **eval_spam, const char **eval_ham)
{
	const char *a, *v;
	char *end;
	int i;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (strcmp(a, "--spam") == 0 || strcmp(a, "--ham") == 0 ||
		    a[0] != '-')
			continue;
		if (strcmp(a, "-v") == 0) {
			o->verbose = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		v = argv[++i];
		if (strcmp(a, "--db") == 0)
			o->db = v;
		else if (strcmp(a, "--rules") == 0)
			o->rules = v;
		else if (strcmp(a, "--eval-spam") == 0)
			*eval_spam = v;
		else if (strcmp(a, "--eval-ham") == 0)
			*eval_ham = v;
		else if (strcmp(a, "--required") == 0) {
			o->required = strtod(v, &end);
			if (*end != '\0' || end == v)
				usage();
		} else if (strcmp(a, "--min-count") == 0) {
			o->min_count = strtoll(v, &end, 10);
			if (*end != '\0' || o->min_count < 1)
				usage();
		} else {
			usage();
		}
	}
	if (o->db == NULL)
		usage();
}

/* Train every path after --spam / --ham. -1 (nothing written), 0 (no
 * paths), or the number of messages trained. */
static long long train(int argc, char **argv, const struct opts *o)
{
	struct train_ctx tc;
	char err[512];
	int i, mode = -1;

	memset(&tc, 0, sizeof(tc));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--spam") == 0 ||
		    strcmp(argv[i], "--ham") == 0) {
			mode = argv[i][2] == 's';
			continue;
		}
		if (argv[i][0] == '-') {
			i += strcmp(argv[i], "-v") != 0;
			mode = -1;
			continue;
		}
		if (mode < 0)
			usage();
		if (tc.w == NULL) {
			tc.w = bayes_train_begin(o->db, err, sizeof(err));
			if (tc.w == NULL) {
				fprintf(stderr, "sluice-spamtrain: %s\n", err);
				return -1;
			}
			tc.scan = o->scan;
			sbuf_init(&tc.buf, o->scan + 1);
		}
		tc.spam = mode;
		if (each_file(argv[i], train_one, &tc) < 0) {
			bayes_train_abort(tc.w);
			sbuf_free(&tc.buf);
			return -1;
		}
	}
	if (tc.w == NULL)
		return 0;
	sbuf_free(&tc.buf);
	if (bayes_train_end(tc.w, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		return -1;
	}
	printf("trained %lld message(s) into %s\n", tc.n, o->db);
	return tc.n > 0 ? tc.n : 1;
}

int main(int argc, char **argv)
{
	struct opts o = {NULL, NULL, 5.0, 50, 0, SPAMD_SCAN_DEFAULT};
	const char *eval_spam = NULL, *eval_ham = NULL;
	long long n;

	log_open("spamtrain", 0);
	options(argc, argv, &o, &eval_spam, &eval_ham);
	n = train(argc, argv, &o);
	if (n < 0)
		return 1;
	if (eval_spam || eval_ham)
		return evaluate(&o, eval_spam, eval_ham);
	if (n == 0)
		usage();
	return 0;
}
