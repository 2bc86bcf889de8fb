/*
 * NAME
 *	sluice-spamtrain - train and evaluate spamd's Bayes database
 * SYNOPSIS
 *	sluice-spamtrain --db F [--spam PATH...] [--ham PATH...]
 *	    [--forget PATH...]
 *	sluice-spamtrain --db F --eval-spam DIR --eval-ham DIR
 *	    [--rules F] [--required S] [--min-count N] [-v]
 *	sluice-spamtrain --db F --cv K --ham PATH... --spam PATH...
 *	    [--rules F] [--required S] [--min-count N] [-v]
 * DESCRIPTION
 *	A PATH is a Maildir (its new/ and cur/), an mbox file (one that
 *	starts with "From "), a file holding one message, or a directory
 *	of such files (not searched further down; names starting with '.'
 *	are skipped). Training adds the token counts of every message, and
 *	the weights learnt from them, in one transaction; each message is
 *	remembered by its ID (bayes_msg_id), so training it again changes
 *	nothing, training it as the other class moves it, and --forget
 *	takes back what it added (a message learnt by mistake).
 *	Evaluation scores every message exactly as sluice-spamd does (the
 *	built-in rules plus --rules, Bayes from --db, no DNSBL) and prints
 *	how many ham were flagged as spam, how many spam were missed, how
 *	many had an unsure Bayes probability (0.2 to 0.8), and the speed
 *	(messages per CPU second of the scoring thread). --cv K
 *	cross-validates on the training paths only: K folds, then in time
 *	(the last third of each path scored by a database of the first two
 *	thirds), then in time with a gap (of the first third only).
 *	Local files of the operator; each message is read up to scan size.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spamd.h"

struct opts {
	const char *db, *rules;
	double required;
	long long min_count;
	int verbose;
	size_t scan;
	int cv;		/* --cv K: folds, 0 when not cross-validating */
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
	if (n > 0)	/* names is NULL for an empty folder */
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
	const struct spamd_core *core;
	const char *db;
	struct bayes_writer *w;
	struct sbuf buf;
	size_t scan;
	int spam;	/* BAYES_SPAM, BAYES_HAM or BAYES_FORGET */
	int id;		/* remember the messages (not for --cv) */
	long long n;
};

/* Learn (c->spam: BAYES_SPAM or BAYES_HAM) or forget (BAYES_FORGET)
 * one message; c->id: with its ID (remembered, so it can be forgotten),
 * or not (the folds of --cv). */
static int train_msg(void *arg, const char *name, const char *msg,
		     size_t len)
{
	struct train_ctx *c = arg;
	struct spamd_text t;
	struct spamd_tokset set;
	char err[256], id[64];
	int rc;

	if (spamd_text_extract(msg, len, c->scan, &t) < 0 ||
	    spamd_features(c->core, &t, &set, NULL) < 0) {
		spamd_text_free(&t);
		fprintf(stderr, "sluice-spamtrain: %s: out of memory\n", name);
		return -1;
	}
	bayes_msg_id(msg, len, id, sizeof(id));
	rc = bayes_learn(c->w, &set, c->id ? id : NULL, c->spam, err,
			 sizeof(err));
	spamd_tokset_free(&set);
	spamd_text_free(&t);
	if (rc < 0)
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
	c->n++;
	return rc;
}

static int train_one(void *arg, const char *path)
{
	struct train_ctx *c = arg;

	if (read_msg(path, c->scan, &c->buf) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s: cannot read\n", path);
		return -1;
	}
	return train_msg(c, path, c->buf.data, c->buf.len);
}

/* --- Maildirs and mbox files ------------------------------------------ */

typedef int (*msg_fn)(void *arg, const char *name, const char *msg,
		      size_t len);

struct msg_walk {
	msg_fn fn;
	void *arg;
	size_t scan;
	struct sbuf buf;
};

static int walk_file(void *arg, const char *path);

/* An mbox file (RFC 4155): a message starts at a "From " line at the
 * start of the file or after an empty line; ">From " lines (any number
 * of '>') lose one '>' (mboxrd). Each message, up to scan bytes, to
 * fn. 0 or -1. */
static int walk_mbox(struct msg_walk *m, const char *path, FILE *f)
{
	char *line = NULL, name[4200];
	size_t cap = 0, k;
	ssize_t n;
	long long nr = 0;
	int blank = 1, rc = 0, open = 0;
	const char *p;

	sbuf_reset(&m->buf);
	while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
		if (blank && strncmp(line, "From ", 5) == 0) {
			if (open) {
				snprintf(name, sizeof(name), "%s#%lld", path,
					 nr);
				rc = m->fn(m->arg, name, m->buf.data,
					   m->buf.len);
			}
			sbuf_reset(&m->buf);
			open = 1;
			nr++;
			blank = 0;
			continue;
		}
		blank = n == 1 || (n == 2 && line[0] == '\r');
		p = line;
		for (k = 0; p[k] == '>'; k++)
			;
		if (k > 0 && strncmp(p + k, "From ", 5) == 0) {
			p++;
			n--;
		}
		if (open && m->buf.len + (size_t)n <= m->scan)
			sbuf_append(&m->buf, p, (size_t)n);
	}
	if (rc == 0 && open) {
		snprintf(name, sizeof(name), "%s#%lld", path, nr);
		rc = m->fn(m->arg, name, m->buf.data, m->buf.len);
	}
	free(line);
	return rc;
}

/* One file: an mbox when it starts with "From ", else one message. */
static int walk_file(void *arg, const char *path)
{
	struct msg_walk *m = arg;
	char head[5];
	FILE *f = fopen(path, "rb");
	int rc;

	if (f == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (fread(head, 1, 5, f) == 5 && memcmp(head, "From ", 5) == 0) {
		rewind(f);
		rc = walk_mbox(m, path, f);
		fclose(f);
		return rc;
	}
	fclose(f);
	if (read_msg(path, m->scan, &m->buf) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s: cannot read\n", path);
		return -1;
	}
	return m->fn(m->arg, path, m->buf.data, m->buf.len);
}

/* Every message of path: a Maildir (its new/ and cur/), an mbox file,
 * a file of one message, or a folder of such files. 0 or -1. */
static int each_message(const char *path, size_t scan, msg_fn fn, void *arg)
{
	struct msg_walk m = {fn, arg, scan, {0}};
	char sub[4096];
	struct stat sb;
	int rc = 0, maildir = 0;
	const char *const parts[] = {"new", "cur"};
	size_t i;

	sbuf_init(&m.buf, scan + 1);
	for (i = 0; i < 2; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, parts[i]);
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			maildir = 1;
			if (rc == 0)
				rc = each_file(sub, walk_file, &m);
		}
	}
	if (!maildir)
		rc = each_file(path, walk_file, &m);
	sbuf_free(&m.buf);
	return rc;
}

struct eval_ctx {
	const struct spamd_core *core;
	struct bayes_table *table;
	const struct opts *o;
	struct sbuf buf;
	struct tally tl;
	double *scores;		/* of every message scored, for --cv */
	size_t nscores, capscores;
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
	if (c->nscores == c->capscores) {
		size_t cap = c->capscores ? 2 * c->capscores : 1024;
		double *ns = realloc(c->scores, cap * sizeof(*ns));

		if (ns == NULL)
			return -1;
		c->scores = ns;
		c->capscores = cap;
	}
	c->scores[c->nscores++] = v.score;
	if (v.score >= c->core->required)
		c->tl.flagged++;
	if (v.bayes > 0.2 && v.bayes < 0.8)
		c->tl.unsure++;
	if (c->o->verbose) {
		spamd_tests(&v, tests, sizeof(tests));
		printf("%s score=%.1f bayes=%.6f tests=%s tokens=%s\n", path,
		       v.score, v.bayes, tests, v.clues);
	}
	return 0;
}

static double pct(long long a, long long n)
{
	return n ? 100.0 * (double)a / (double)n : 0.0;
}

/* CPU seconds of this thread: the speed of one core, whatever else the
 * machine is doing. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The scoring core sluice-spamd would use (core->rules NULL: failed,
 * with the reason in err). */
static void core_init(const struct opts *o, struct spamd_core *core,
		      char *err, size_t errlen)
{
	memset(core, 0, sizeof(*core));
	core->required = o->required;
	core->scan_size = o->scan;
	core->body_size = 32768;
	core->bayes_min = o->min_count;
	core->rules = spamd_rules_load(o->rules, err, errlen);
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

	core_init(o, &core, err, sizeof(err));
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
	free(c.scores);
	sbuf_free(&c.buf);
	spamd_rules_free((struct spamd_rules *)core.rules);
	return rc;
}

/* --- cross-validation (--cv K): the training sets only ----------------- */

struct path_list {
	char **p;
	size_t *pos, *of;	/* place in its own set, size of that set */
	int *set;		/* which set (path argument) */
	size_t n, cap, set0;	/* set0: where the current set starts */
	int nsets;
};

static int add_path(void *arg, const char *path)
{
	struct path_list *l = arg;
	char **np;
	size_t *pp, *op;
	int *sp;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		np = realloc(l->p, l->cap * sizeof(*np));
		if (np != NULL)
			l->p = np;
		pp = realloc(l->pos, l->cap * sizeof(*pp));
		if (pp != NULL)
			l->pos = pp;
		op = realloc(l->of, l->cap * sizeof(*op));
		if (op != NULL)
			l->of = op;
		sp = realloc(l->set, l->cap * sizeof(*sp));
		if (sp != NULL)
			l->set = sp;
		if (np == NULL || pp == NULL || op == NULL || sp == NULL)
			return -1;
	}
	l->set[l->n] = l->nsets;
	l->pos[l->n] = l->n - l->set0;
	if ((l->p[l->n] = strdup(path)) == NULL)
		return -1;
	l->n++;
	return 0;
}

/* Is message i of l in the test part of fold f of k? Time ordered
 * (k = 1): the last third of each set (names sort by time in the
 * corpus); else every k-th. */
static int in_test(const struct path_list *l, size_t i, int f, int k)
{
	if (k <= 1)
		return l->pos[i] >= l->of[i] - l->of[i] / 3;
	return (int)(i % (size_t)k) == f;
}

/* Is it in the training part? Time ordered: the first two thirds of
 * each set (k = 1), or only the first, a gap of a third in time before
 * the test part (k = 0); else the other folds. */
static int in_train(const struct path_list *l, size_t i, int f, int k)
{
	if (k == 0)
		return l->pos[i] < l->of[i] / 3;
	return !in_test(l, i, f, k);
}

/* Train a scratch database on all but one fold, score that fold, for
 * every fold. Prints per set the messages flagged, and the spam scored
 * above every ham of the first (easy) ham set and of them all. */
static int cross_validate(const struct opts *o, int k,
			  const struct path_list *hl,
			  const struct path_list *sl)
{
	const struct path_list *cls[2] = {hl, sl};
	struct train_ctx tc;
	struct eval_ctx ec;
	struct spamd_core core;
	struct opts fo = *o;
	char db[4096], err[512];
	double *sc[2], t0, dt = 0, top_easy = -1e300, top_all = -1e300;
	long long flagged[2][8] = {{0}}, seen[2][8] = {{0}}, unsure = 0;
	long long c_easy = 0, c_all = 0;
	int f, s, rc = 0;
	size_t i;

	snprintf(db, sizeof(db), "%s.cv", o->db);
	fo.db = db;
	core_init(o, &core, err, sizeof(err));
	sc[0] = calloc(hl->n + 1, sizeof(double));
	sc[1] = calloc(sl->n + 1, sizeof(double));
	if (core.rules == NULL || sc[0] == NULL || sc[1] == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		rc = 1;
	}
	for (f = 0; f < (k <= 1 ? 1 : k) && rc == 0; f++) {
		unlink(db);
		memset(&tc, 0, sizeof(tc));
		tc.core = &core;
		tc.scan = o->scan;
		sbuf_init(&tc.buf, o->scan + 1);
		tc.w = bayes_train_begin(db, err, sizeof(err));
		if (tc.w == NULL)
			break;
		for (s = 0; s < 2; s++) {
			tc.spam = s;
			for (i = 0; i < cls[s]->n && rc == 0; i++)
				if (in_train(cls[s], i, f, k))
					rc = train_one(&tc, cls[s]->p[i]);
		}
		sbuf_free(&tc.buf);
		if (rc < 0 ||
		    bayes_train_end(tc.w, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "sluice-spamtrain: fold %d: %s\n", f,
				err);
			rc = 1;
			break;
		}
		memset(&ec, 0, sizeof(ec));
		ec.core = &core;
		ec.o = &fo;
		sbuf_init(&ec.buf, o->scan + 1);
		ec.table = bayes_load(db, err, sizeof(err));
		t0 = now_s();
		for (s = 0; s < 2 && ec.table; s++) {
			for (i = 0; i < cls[s]->n && rc == 0; i++) {
				if (!in_test(cls[s], i, f, k))
					continue;
				ec.tl.unsure = 0;
				rc = eval_one(&ec, cls[s]->p[i]);
				if (rc == 0)
					sc[s][i] = ec.scores[ec.nscores - 1];
				unsure += s && ec.tl.unsure;
			}
		}
		dt += now_s() - t0;
		bayes_unref(ec.table);
		free(ec.scores);
		sbuf_free(&ec.buf);
	}
	unlink(db);
	for (s = 0; s < 2 && rc == 0; s++)
		for (i = 0; i < cls[s]->n; i++) {
			if (k <= 1 && !in_test(cls[s], i, 0, 1))
				continue;
			seen[s][cls[s]->set[i] & 7]++;
			flagged[s][cls[s]->set[i] & 7] +=
				sc[s][i] >= o->required;
			if (s == 0 && cls[s]->set[i] == 0 &&
			    sc[s][i] > top_easy)
				top_easy = sc[s][i];
			if (s == 0 && sc[s][i] > top_all)
				top_all = sc[s][i];
		}
	for (i = 0; i < sl->n && rc == 0; i++) {
		if (k <= 1 && !in_test(sl, i, 0, 1))
			continue;
		c_easy += sc[1][i] > top_easy;
		c_all += sc[1][i] > top_all;
	}
	if (rc == 0) {
		printf("cv %-7s ham flagged", k == 1 ? "time:" : k == 0 ?
		       "gap:" : "k-fold:");
		for (i = 0; i < 8 && seen[0][i]; i++)
			printf(" %lld/%lld", flagged[0][i], seen[0][i]);
		printf("; spam caught %lld/%lld (%.2f%%), %lld unsure; above "
		       "every easy ham %.2f%%, every ham %.2f%%; %.0f msg/s\n",
		       flagged[1][0], seen[1][0],
		       pct(flagged[1][0], seen[1][0]), unsure,
		       pct(c_easy, seen[1][0]), pct(c_all, seen[1][0]),
		       dt > 0 ? (double)(seen[0][0] + seen[0][1] +
					 seen[1][0]) / dt : 0.0);
	}
	free(sc[0]);
	free(sc[1]);
	spamd_rules_free((struct spamd_rules *)core.rules);
	return rc ? 1 : 0;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: sluice-spamtrain --db F [--spam PATH...] "
		"[--ham PATH...] [--forget PATH...]\n"
		"       sluice-spamtrain --db F --eval-spam DIR --eval-ham DIR "
		"[--rules F] [--required S] [--min-count N] [-v]\n"
		"       sluice-spamtrain --db F --cv K --ham PATH... "
		"--spam PATH... [--rules F] [-v]\n");
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
		    strcmp(a, "--forget") == 0 || a[0] != '-')
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
		} else if (strcmp(a, "--cv") == 0) {
			o->cv = (int)strtol(v, &end, 10);
			if (*end != '\0' || o->cv < 2 || o->cv > 20)
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

/* Call fn(arg, path, spam) for every path after --spam / --ham, until
 * it fails. Its result: 0 or -1. */
static int each_path(int argc, char **argv,
		     int (*fn)(void *, const char *, int), void *arg)
{
	int i, mode = -1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--spam") == 0 ||
		    strcmp(argv[i], "--ham") == 0 ||
		    strcmp(argv[i], "--forget") == 0) {
			mode = argv[i][2] == 's' ? BAYES_SPAM :
			       argv[i][2] == 'h' ? BAYES_HAM : BAYES_FORGET;
			continue;
		}
		if (argv[i][0] == '-') {
			i += strcmp(argv[i], "-v") != 0;
			mode = -1;
			continue;
		}
		if (mode < 0)
			usage();
		if (fn(arg, argv[i], mode) < 0)
			return -1;
	}
	return 0;
}

static int train_path(void *arg, const char *path, int spam)
{
	struct train_ctx *tc = arg;
	char err[512];

	if (tc->w == NULL) {
		tc->w = bayes_train_begin(tc->db, err, sizeof(err));
		if (tc->w == NULL) {
			fprintf(stderr, "sluice-spamtrain: %s\n", err);
			return -1;
		}
		sbuf_init(&tc->buf, tc->scan + 1);
	}
	tc->spam = spam;
	return each_message(path, tc->scan, train_msg, tc);
}

/* Train every path after --spam / --ham. -1 (nothing written), 0 (no
 * paths), or the number of messages trained. */
static long long train(int argc, char **argv, const struct opts *o)
{
	struct train_ctx tc;
	struct spamd_core core;
	struct bayes_stats st;
	char err[512];
	long long rc = -1;

	memset(&tc, 0, sizeof(tc));
	core_init(o, &core, err, sizeof(err));
	if (core.rules == NULL) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		return -1;
	}
	tc.core = &core;
	tc.db = o->db;
	tc.scan = o->scan;
	tc.id = 1;
	if (each_path(argc, argv, train_path, &tc) < 0) {
		if (tc.w)
			bayes_train_abort(tc.w);
		goto out;
	}
	rc = 0;
	if (tc.w == NULL)
		goto out;
	rc = -1;
	if (bayes_train_end(tc.w, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-spamtrain: %s\n", err);
		goto out;
	}
	printf("trained %lld message(s) into %s: %lld learnt, %lld "
	       "forgotten, %lld unchanged\n", tc.n, o->db, st.learnt,
	       st.forgot, st.same);
	rc = tc.n > 0 ? tc.n : 1;
out:
	sbuf_free(&tc.buf);
	spamd_rules_free((struct spamd_rules *)core.rules);
	return rc;
}

/* A set of messages for --cv: its paths into l[spam]. */
static int cv_path(void *arg, const char *path, int spam)
{
	struct path_list *l = (struct path_list *)arg + spam;
	size_t j;
	int rc;

	if (spam == BAYES_FORGET)
		usage();
	l->set0 = l->n;
	rc = each_file(path, add_path, l);
	for (j = l->set0; j < l->n; j++)
		l->of[j] = l->n - l->set0;
	l->nsets++;
	return rc;
}

/* --cv K: the paths after --ham and --spam, K folds, then in time. */
static int cv_main(int argc, char **argv, const struct opts *o)
{
	struct path_list l[2];
	int i, rc;
	size_t j;

	memset(l, 0, sizeof(l));
	rc = each_path(argc, argv, cv_path, l);
	if (rc == 0 && (l[0].n < 3 || l[1].n < 3)) {
		fprintf(stderr, "sluice-spamtrain: --cv needs --ham and "
			"--spam\n");
		rc = -1;
	}
	if (rc == 0)
		rc = cross_validate(o, o->cv, &l[0], &l[1]);
	if (rc == 0)
		rc = cross_validate(o, 1, &l[0], &l[1]);
	if (rc == 0)
		rc = cross_validate(o, 0, &l[0], &l[1]);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < l[i].n; j++)
			free(l[i].p[j]);
		free(l[i].p);
		free(l[i].pos);
		free(l[i].of);
		free(l[i].set);
	}
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = {NULL, NULL, 5.0, 50, 0, SPAMD_SCAN_DEFAULT, 0};
	const char *eval_spam = NULL, *eval_ham = NULL;
	long long n;

	log_open("spamtrain", 0);
	options(argc, argv, &o, &eval_spam, &eval_ham);
	if (o.cv > 0)
		return cv_main(argc, argv, &o);
	n = train(argc, argv, &o);
	if (n < 0)
		return 1;
	if (eval_spam || eval_ham)
		return evaluate(&o, eval_spam, eval_ham);
	if (n == 0)
		usage();
	return 0;
}
