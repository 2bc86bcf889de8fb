/*
 * NAME
 *	spamd_lists_test - users' lists, message IDs, learning and
 *	forgetting by ID
 * DESCRIPTION
 *	Table-driven: which senders a message has, which list entry
 *	decides, the ID a message is learnt by; then a database in a
 *	temporary folder learns, moves and forgets messages by ID.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spamd.h"
#include "test.h"

static void test_senders(void)
{
	static const struct {
		const char *name, *from, *msg, *want;	/* want: "a b" */
	} c[] = {
		{"envelope and From", "bounce@list.test",
		 "From: Ann <ann@a.test>\r\nTo: x@y\r\n\r\nFrom: b@b.test\r\n",
		 "bounce@list.test ann@a.test"},
		{"null sender, folded From, any case", "",
		 "Subject: s\r\nfROM: Ann\r\n <ann@a.test>, bob@B.TEST\r\n"
		 "\r\nx\r\n",
		 "ann@a.test bob@b.test"},
		{"a From hiding an address counts for nothing", "e@e.test",
		 "From: \"x\" <a@a.test> <b@b.test>\r\n\r\n", "e@e.test"},
		{"no header section", "", "just text", ""},
	};
	char out[4][LIM_PATH + 1], got[4 * (LIM_PATH + 2)];
	size_t i, k, n, hl, len;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		hl = strstr(c[i].msg, "\n\n") ? (size_t)(strstr(c[i].msg,
			"\n\n") - c[i].msg) + 2 : strstr(c[i].msg, "\r\n\r\n") ?
		     (size_t)(strstr(c[i].msg, "\r\n\r\n") - c[i].msg) + 4 :
		     strlen(c[i].msg);
		n = spamd_senders(c[i].from, c[i].msg, hl, out, 4);
		got[0] = '\0';
		for (k = 0, len = 0; k < n; k++)
			len += (size_t)snprintf(got + len, sizeof(got) - len,
						"%s%s", k ? " " : "", out[k]);
		CHECK(strcmp(got, c[i].want) == 0, c[i].name);
	}
}

static void test_verdicts(void)
{
	static const struct {
		const char *name, *sender;
		int want;
	} c[] = {
		{"allowed address, any case", "Friend@Promo.TEST",
		 SPAMD_LIST_ALLOW},
		{"blocked domain", "x@annoying.test", SPAMD_LIST_BLOCK},
		{"its subdomain", "x@news.annoying.test", SPAMD_LIST_BLOCK},
		{"not a suffix on a label", "x@notannoying.test",
		 SPAMD_LIST_NONE},
		{"an address beats its domain", "pal@annoying.test",
		 SPAMD_LIST_ALLOW},
		{"a longer domain beats a shorter", "x@good.spam.test",
		 SPAMD_LIST_ALLOW},
		{"alice's, not bob's", "x@both.test", SPAMD_LIST_ALLOW},
		{"nobody", "x@other.test", SPAMD_LIST_NONE},
	};
	static const char snap[] =
		"# alice's lists\n"
		"alice@example.test allow friend@promo.test\n"
		"alice@example.test block @annoying.test\n"
		"alice@example.test allow pal@annoying.test\n"
		"alice@example.test block @spam.test\n"
		"alice@example.test allow @good.spam.test\n"
		"alice@example.test allow @both.test\n"
		"bob@example.test block @both.test\n"
		"alice@example.test block two@tie.test\n"
		"alice@example.test allow one@tie.test\n";
	char s[2][LIM_PATH + 1], err[256];
	struct senders *t = senders_parse(snap, sizeof(snap) - 1, err,
					  sizeof(err));
	size_t i;

	CHECK(t != NULL, err);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(s[0], sizeof(s[0]), "%s", c[i].sender);
		CHECK(spamd_list_verdict(t, "Alice@Example.test", s, 1) ==
		      c[i].want, c[i].name);
	}
	snprintf(s[0], sizeof(s[0]), "friend@promo.test");
	CHECK(spamd_list_verdict(t, "carol@example.test", s, 1) ==
	      SPAMD_LIST_NONE, "no rules: no lists");
	CHECK(spamd_list_verdict(NULL, "alice@example.test", s, 1) ==
	      SPAMD_LIST_NONE, "lists off");
	snprintf(s[0], sizeof(s[0]), "y@both.test");
	CHECK(spamd_list_verdict(t, "bob@example.test", s, 1) ==
	      SPAMD_LIST_BLOCK, "bob's own lists");
	/* envelope sender allowed, From blocked, both by address */
	snprintf(s[0], sizeof(s[0]), "one@tie.test");
	snprintf(s[1], sizeof(s[1]), "Two@Tie.test");
	CHECK(spamd_list_verdict(t, "alice@example.test", s, 2) ==
	      SPAMD_LIST_BLOCK, "block wins at the same rank");
	senders_unref(&t);
}

/* The snapshot is loaded again when it changes, a broken version is
 * refused (the old lists stay) and a good one after it taken. */
static void test_reload(void)
{
	char dir[] = "/tmp/spamd-lists-XXXXXX", path[64], tmp[80];
	char s[1][LIM_PATH + 1], err[256];
	struct spamd_lists l;
	struct senders *t;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL, "tmp dir");
	snprintf(path, sizeof(path), "%s/users.senders", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(s[0], sizeof(s[0]), "x@promo.test");
	CHECK(spamd_lists_init(&l, path, err, sizeof(err)) == 0, err);
	CHECK(spamd_lists_on(&l), "on, file missing");
	t = spamd_lists_get(&l);
	CHECK(spamd_list_verdict(t, "a@x.test", s, 1) == SPAMD_LIST_NONE,
	      "nobody has lists");
	senders_unref(&t);
	static const char *const versions[] = {
		"a@x.test block @promo.test\n",
		"a@x.test allow @promo.test\nbroken\n",
		"a@x.test allow x@promo.test\n",
	};
	static const int want[] = {SPAMD_LIST_BLOCK, SPAMD_LIST_BLOCK,
				   SPAMD_LIST_ALLOW};
	for (size_t i = 0; i < 3; i++) {
		f = fopen(tmp, "w");
		CHECK(f != NULL, "write");
		if (f == NULL)
			break;
		fputs(versions[i], f);
		fclose(f);
		rename(tmp, path);
		l.checked = 0;	/* as if a second went by */
		t = spamd_lists_get(&l);
		CHECK(spamd_list_verdict(t, "a@x.test", s, 1) == want[i],
		      versions[i]);
		senders_unref(&t);
	}
	spamd_lists_free(&l);
	CHECK(spamd_lists_init(&l, "", err, sizeof(err)) == 0 &&
	      !spamd_lists_on(&l) && spamd_lists_get(&l) == NULL, "off");
	spamd_lists_free(&l);
	f = fopen(path, "w");
	if (f) {
		fputs("not a rule\n", f);
		fclose(f);
	}
	CHECK(spamd_lists_init(&l, path, err, sizeof(err)) < 0,
	      "broken at start");
	spamd_lists_free(&l);
	unlink(path);
	rmdir(dir);
}

static void test_msg_id(void)
{
	char a[64], b[64];

	bayes_msg_id("Message-ID:  <x@y> \r\nSubject: 1\r\n\r\nbody\r\n", 40,
		     a, sizeof(a));
	bayes_msg_id("X-Spam-Flag: YES\nmessage-id: <x@y>\n\nother\n", 41, b,
		     sizeof(b));
	CHECK(strncmp(a, "mid:", 4) == 0 && strcmp(a, b) == 0,
	      "by Message-ID, whatever else differs");
	bayes_msg_id("Subject: a\r\n\r\nsame\r\nbody\r\n", 26, a, sizeof(a));
	bayes_msg_id("Subject: b\n\nsame\nbody\n", 22, b, sizeof(b));
	CHECK(strncmp(a, "body:", 5) == 0 && strcmp(a, b) == 0,
	      "by body, CRLF or LF");
	bayes_msg_id("Subject: b\n\nother\nbody\n", 23, b, sizeof(b));
	CHECK(strcmp(a, b) != 0, "another body");
}

/* Learn or forget text by its ID in one batch; the batch's stats. */
static struct bayes_stats learn(const char *path, const char *text, int op)
{
	struct bayes_stats st = {-1, -1, -1};
	struct bayes_writer *w;
	struct spamd_text t;
	struct spamd_tokset set;
	char err[128], id[64];

	bayes_msg_id(text, strlen(text), id, sizeof(id));
	spamd_text_extract(text, strlen(text), 65536, &t);
	spamd_tokset_build(&t, &set);
	w = bayes_train_begin(path, err, sizeof(err));
	if (w && bayes_learn(w, &set, id, op, err, sizeof(err)) == 0)
		bayes_train_end(w, &st, err, sizeof(err));
	spamd_tokset_free(&set);
	spamd_text_free(&t);
	return st;
}

static void counts(const char *path, long long *ns, long long *nh)
{
	char err[128];
	struct bayes_table *tb = bayes_load(path, err, sizeof(err));

	bayes_counts(tb, ns, nh);
	bayes_unref(tb);
}

static void test_learn_forget(void)
{
	static const char msg[] = "Message-ID: <m1@x>\r\n\r\ncheap pills\r\n";
	char dir[] = "/tmp/spamd-learn-XXXXXX", path[64];
	struct bayes_stats st;
	long long ns, nh;

	CHECK(mkdtemp(dir) != NULL, "tmp dir");
	snprintf(path, sizeof(path), "%s/b.db", dir);
	st = learn(path, msg, BAYES_SPAM);
	counts(path, &ns, &nh);
	CHECK(st.learnt == 1 && ns == 1 && nh == 0, "learnt as spam");
	st = learn(path, msg, BAYES_SPAM);
	counts(path, &ns, &nh);
	CHECK(st.same == 1 && ns == 1, "again: nothing");
	st = learn(path, msg, BAYES_HAM);
	counts(path, &ns, &nh);
	CHECK(st.learnt == 1 && ns == 0 && nh == 1, "moved to ham");
	st = learn(path, msg, BAYES_FORGET);
	counts(path, &ns, &nh);
	CHECK(st.forgot == 1 && ns == 0 && nh == 0, "forgotten");
	st = learn(path, msg, BAYES_FORGET);
	CHECK(st.same == 1 && st.forgot == 0, "never learnt: nothing");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_senders();
	test_verdicts();
	test_reload();
	test_msg_id();
	test_learn_forget();
	return test_done();
}
