/*
 * NAME
 *	spamd_rules - header and body rules with POSIX regular expressions
 * DESCRIPTION
 *	A small SpamAssassin-like rule language, one rule per line:
 *	    header NAME Field =~ /ERE/i SCORE   (or !~: hits when no match)
 *	    body NAME /ERE/i SCORE
 *	    describe NAME free text
 *	'#' starts a comment line. The expression runs from the first '/'
 *	to the last one before the flags and the score, so it needs no
 *	escaping; the only flag is i (REG_ICASE). Expressions are compiled
 *	with REG_EXTENDED | REG_NOSUB (glibc's matcher does not backtrack).
 *	A header rule sees each decoded, unfolded value of its field (an
 *	absent field reads as ""), a body rule the first body_size bytes of
 *	the decoded text. The built-in set below is read by the same parser;
 *	a file rule of the same name replaces a built-in one. Errors name
 *	file:line. The rules file is the operator's; messages are not.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spamd.h"

#define RULES_MAX 1000
#define LINE_MAX_LEN 4096

static const char builtin[] =
	"body GTUBE /XJS\\*C4JDBQADN1\\.NSBN3\\*2IDNEN\\*GTUBE-STANDARD-ANTI-UBE-"
	"TEST-EMAIL\\*C\\.34X/ 1000\n"
	"describe GTUBE The Generic Test for Unsolicited Bulk Email\n"
	"header MISSING_DATE Date !~ /./ 1.0\n"
	"describe MISSING_DATE Missing Date: header\n"
	"header MISSING_MID Message-ID !~ /./ 0.5\n"
	"describe MISSING_MID Missing Message-ID: header\n"
	"header MISSING_SUBJECT Subject !~ /./ 0.5\n"
	"describe MISSING_SUBJECT Missing or empty Subject: header\n"
	"header SUBJ_ALL_CAPS Subject =~ /^[^a-z]*[A-Z]{4,}[^a-z]*$/ 0.8\n"
	"describe SUBJ_ALL_CAPS Subject is all capitals\n"
	"header SUBJ_SHOUTS Subject =~ /(\\$\\$|!!!|100%|^adv:|free!)/i 0.8\n"
	"describe SUBJ_SHOUTS Subject shouts money or exclamations\n"
	"header TO_UNDISCLOSED To =~ /undisclosed.recipients/i 1.0\n"
	"describe TO_UNDISCLOSED To: undisclosed recipients\n"
	"header MIME_HTML_ONLY Content-Type =~ /^[ ]*text\\/html/i 0.5\n"
	"describe MIME_HTML_ONLY Message has only an HTML body\n"
	"body LOTS_OF_MONEY /[0-9,.]+ ?(million|billion) (us )?(dollars|usd)/i"
	" 0.5\n"
	"describe LOTS_OF_MONEY Huge sums of money\n"
	"body GUARANTEE_100 /100% (guaranteed|free|satisfaction)/i 1.0\n"
	"describe GUARANTEE_100 One hundred percent guaranteed\n"
	"body REMOVE_ME /(to be removed from|removed? from (our|this|the) "
	"(mailing |e-?mail )?list|reply with .?remove|remove in the subject)/i"
	" 1.5\n"
	"describe REMOVE_ME Tells how to be removed from a list\n"
	"body NOT_SPAM_CLAIM /(this (e-?mail |message )?is not (a )?spam|"
	"not unsolicited|s\\.? ?1618|section 301)/i 1.5\n"
	"describe NOT_SPAM_CLAIM Claims not to be spam\n"
	"body YOU_RECEIVED /you (are receiving|received) this "
	"(e-?mail|message) because/i 0.8\n"
	"describe YOU_RECEIVED Explains why you got it\n"
	"body DEAR_FRIEND /dear (friend|sir or madam|valued (customer|member))"
	"/i 0.8\n"
	"describe DEAR_FRIEND Dear friend\n"
	"body ACT_NOW /(act now|order now|limited time (offer|only)|call now|"
	"don'?t delay|while supplies last|apply now)/i 1.0\n"
	"describe ACT_NOW Urges to act now\n"
	"body FREE_OFFER /(absolutely free|free (gift|trial|quote|"
	"consultation)|no (cost|obligation)|risk[- ]free)/i 0.3\n"
	"describe FREE_OFFER Something for free\n"
	"body MONEY_MAKING /(make money|extra (cash|income)|financial freedom|"
	"work(ing)? from home|credit card debt|lower your (mortgage|rate)|"
	"refinanc)/i 1.2\n"
	"describe MONEY_MAKING Money making, debt, mortgages\n"
	"header CHARSET_FARAWAY Content-Type =~ /charset=\"?(ks_c_5601|"
	"euc-kr|gb2312|gbk|big5|iso-2022|euc-jp|shift_jis|koi8|windows-1251)"
	"/i 1.0\n"
	"describe CHARSET_FARAWAY Asian or Cyrillic character set\n"
	"header SUBJ_MONEY Subject =~ /\\$[0-9]/ 0.8\n"
	"describe SUBJ_MONEY Subject names a sum of dollars\n"
	"header SUBJ_TRAIL_ID Subject =~ /[ ]{3,}[^ ]+$|[ ]{5,}$/ 0.8\n"
	"describe SUBJ_TRAIL_ID Subject ends in a tracking id after blanks\n"
	"header FROM_DIGITS From =~ /[a-z][0-9]{3,}@/i 0.6\n"
	"describe FROM_DIGITS From: address ends in digits\n"
	"header MSGID_NO_AT Message-ID =~ /^[^@]+$/ 0.5\n"
	"describe MSGID_NO_AT Message-ID without a domain\n"
	"header REPLYTO_FREEMAIL Reply-To =~ /@(hotmail|yahoo|aol|msn|excite|"
	"netscape|lycos|juno|email)\\./i 1.0\n"
	"describe REPLYTO_FREEMAIL Replies go to a free mail service\n"
	"header FROM_FREEMAIL From =~ /@(hotmail|yahoo|aol|msn|excite|"
	"netscape|lycos|juno)\\./i 0.3\n"
	"describe FROM_FREEMAIL From a free mail service\n"
	"header PRIORITY_HIGH X-Priority =~ /^[ ]*1/ 1.0\n"
	"describe PRIORITY_HIGH X-Priority: 1\n"
	"header MSPRIORITY_HIGH X-MSMail-Priority =~ /high/i 0.5\n"
	"describe MSPRIORITY_HIGH X-MSMail-Priority: High\n"
	"body SPAM_PHRASES /(one[- ]time (mailing|e-?mail|offer|message)|"
	"this (is a|message is sent in) compliance|bulk e-?mail|next of kin|"
	"transfer (of|the) (fund|sum)|confidential business|beneficiary|"
	"foreign (partner|account)|credit (report|rating|repair|card offers)|"
	"debt consolidation|mortgage|low interest|home loan|"
	"insurance (quote|rate))/i 1.0\n"
	"describe SPAM_PHRASES One-time and bulk mail, advance fee fraud, "
	"credit and loans\n"
	"body EXCL_MANY /!!!/ 0.8\n"
	"describe EXCL_MANY Three exclamation marks in a row\n";

enum rule_kind { RULE_HEADER, RULE_BODY };

struct rule {
	char name[48];
	enum rule_kind kind;
	char field[64];		/* lower case */
	int negate;		/* !~ */
	double score;
	regex_t re;
	char lits[SPAMD_LIT_N][SPAMD_LIT_LEN + 1];	/* spamd_literals() */
	size_t nlits;
};

/* A literal of a body rule, in the index by its first two bytes. */
struct anchor {
	const char *s;
	size_t len, rule;
	int next;		/* in its list, -1 at the end */
};

struct spamd_rules {
	struct rule *r;
	size_t n;
	struct anchor *a;
	size_t na;
	int *head;		/* [65536]: first anchor by two bytes, or -1 */
	uint64_t seen[1024];	/* bit per two bytes: head is not -1 */
};

static int name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!isupper((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return i > 0 && i < 48;
}

/* Next white-space separated word of *p (at most outlen - 1 bytes). */
static int next_word(const char **p, char *out, size_t outlen)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != ' ' && *s != '\t') {
		if (n + 1 >= outlen)
			return -1;
		out[n++] = *s++;
	}
	out[n] = '\0';
	*p = s;
	return n > 0 ? 0 : -1;
}

/* "/ERE/flags SCORE" at p into r. */
static int parse_re(const char *p, struct rule *r, char *err, size_t errlen)
{
	const char *first, *last, *sc;
	char *end, *re;
	int flags = REG_EXTENDED | REG_NOSUB, rc;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	for (sc = p + n; sc > p && sc[-1] != ' ' && sc[-1] != '\t';)
		sc--;
	errno = 0;
	r->score = strtod(sc, &end);
	if (sc == p + n || end != p + n || errno != 0 || r->score < -1000 ||
	    r->score > 1000) {
		snprintf(err, errlen, "missing or bad score");
		return -1;
	}
	for (last = sc; last > p && last[-1] != '/';)
		last--;
	first = *p == '/' ? p : NULL;
	if (first == NULL || last <= first + 1) {
		snprintf(err, errlen, "expected /regular expression/");
		return -1;
	}
	for (const char *f = last; f < sc; f++) {
		if (*f == 'i')
			flags |= REG_ICASE;
		else if (*f != ' ' && *f != '\t') {
			snprintf(err, errlen, "unknown flag '%c'", *f);
			return -1;
		}
	}
	re = strndup(first + 1, (size_t)(last - 1 - (first + 1)));
	if (re == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = regcomp(&r->re, re, flags);
	r->nlits = rc == 0 ? spamd_literals(re, r->lits) : 0;
	free(re);
	if (rc != 0) {
		char msg[128];

		regerror(rc, &r->re, msg, sizeof(msg));
		snprintf(err, errlen, "bad regular expression: %s", msg);
		return -1;
	}
	return 0;
}

static struct rule *find(struct spamd_rules *rs, const char *name)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (strcmp(rs->r[i].name, name) == 0)
			return &rs->r[i];
	return NULL;
}

static int parse_line(struct spamd_rules *rs, const char *line, char *err,
		      size_t errlen)
{
	char kw[16], name[64], op[8];
	struct rule r, *old;
	const char *p = line;
	size_t i;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	memset(&r, 0, sizeof(r));
	if (next_word(&p, kw, sizeof(kw)) < 0 ||
	    next_word(&p, name, sizeof(name)) < 0 || !name_ok(name)) {
		snprintf(err, errlen, "expected: header|body|describe NAME "
			 "(NAME: A-Z, 0-9, _)");
		return -1;
	}
	if (strcmp(kw, "describe") == 0)
		return 0;	/* documentation only */
	memcpy(r.name, name, strlen(name) + 1);	/* name_ok(): < 48 */
	if (strcmp(kw, "header") == 0) {
		r.kind = RULE_HEADER;
		if (next_word(&p, r.field, sizeof(r.field)) < 0 ||
		    next_word(&p, op, sizeof(op)) < 0 ||
		    (strcmp(op, "=~") != 0 && strcmp(op, "!~") != 0)) {
			snprintf(err, errlen, "expected: header NAME Field =~ "
				 "/ERE/ SCORE");
			return -1;
		}
		r.negate = op[0] == '!';
		for (i = 0; r.field[i]; i++)
			r.field[i] = (char)tolower((unsigned char)r.field[i]);
	} else if (strcmp(kw, "body") == 0) {
		r.kind = RULE_BODY;
	} else {
		snprintf(err, errlen, "unknown keyword '%s'", kw);
		return -1;
	}
	if (parse_re(p, &r, err, errlen) < 0)
		return -1;
	if ((old = find(rs, r.name)) != NULL) {
		regfree(&old->re);
		*old = r;
		return 0;
	}
	if (rs->n >= RULES_MAX) {
		regfree(&r.re);
		snprintf(err, errlen, "more than %d rules", RULES_MAX);
		return -1;
	}
	rs->r[rs->n++] = r;
	return 0;
}

/* Every line of text (name: for errors). */
static int parse_text(struct spamd_rules *rs, const char *name,
		      const char *text, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN], why[256];
	const char *p = text, *nl;
	size_t n;
	int lineno = 0;

	while (*p) {
		lineno++;
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", name,
				 lineno);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if (parse_line(rs, line, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			return -1;
		}
		p = nl ? nl + 1 : p + n;
	}
	return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	struct sbuf b;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	sbuf_init(&b, 4 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (sbuf_append(&b, chunk, n) < 0) {
			snprintf(err, errlen, "%s: too big", path);
			fclose(f);
			sbuf_free(&b);
			return NULL;
		}
	fclose(f);
	return sbuf_steal(&b);
}

/* Index the literals of the body rules (after the last rule is in). */
static int index_literals(struct spamd_rules *rs)
{
	size_t i, j, k, n = 0;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].kind == RULE_BODY)
			n += rs->r[i].nlits;
	rs->a = calloc(n + 1, sizeof(*rs->a));
	rs->head = malloc(65536 * sizeof(*rs->head));
	if (rs->a == NULL || rs->head == NULL)
		return -1;
	memset(rs->head, 0xff, 65536 * sizeof(*rs->head));	/* -1 */
	for (i = 0; i < rs->n; i++) {
		if (rs->r[i].kind != RULE_BODY)
			continue;
		for (j = 0; j < rs->r[i].nlits; j++) {
			struct anchor *a = &rs->a[rs->na];

			a->s = rs->r[i].lits[j];
			a->len = strlen(a->s);
			a->rule = i;
			k = (size_t)(unsigned char)a->s[0] << 8 |
			    (unsigned char)a->s[1];
			a->next = rs->head[k];
			rs->head[k] = (int)rs->na++;
			rs->seen[k >> 6] |= 1ULL << (k & 63);
		}
	}
	return 0;
}

struct spamd_rules *spamd_rules_load(const char *path, char *err,
				     size_t errlen)
{
	struct spamd_rules *rs = calloc(1, sizeof(*rs));
	char *text = NULL;

	if (rs == NULL || (rs->r = calloc(RULES_MAX, sizeof(*rs->r))) ==
	    NULL) {
		free(rs);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_text(rs, "built-in rules", builtin, err, errlen) < 0) {
		spamd_rules_free(rs);
		return NULL;
	}
	if (path != NULL && *path != '\0' &&
	    ((text = read_file(path, err, errlen)) == NULL ||
	     parse_text(rs, path, text, err, errlen) < 0)) {
		free(text);
		spamd_rules_free(rs);
		return NULL;
	}
	free(text);
	if (index_literals(rs) < 0) {
		snprintf(err, errlen, "out of memory");
		spamd_rules_free(rs);
		return NULL;
	}
	return rs;
}

void spamd_rules_free(struct spamd_rules *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		regfree(&rs->r[i].re);
	free(rs->r);
	free(rs->a);
	free(rs->head);
	free(rs);
}

size_t spamd_rules_count(const struct spamd_rules *rs)
{
	return rs ? rs->n : 0;
}

/* Does a header rule match (any value of its field; "" when absent)? */
static int header_match(const struct rule *r, const struct sbuf *hdr)
{
	const char *p = hdr->data ? hdr->data : "", *end = p + hdr->len;
	const char *nl;
	char val[SPAMD_MAX_FIELD + 1];
	size_t fl = strlen(r->field), n;
	int seen = 0;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) <= fl || p[fl] != ':' ||
		    memcmp(p, r->field, fl) != 0)
			continue;
		seen = 1;
		n = (size_t)(nl - p) - fl - 1;
		if (n > SPAMD_MAX_FIELD)
			n = SPAMD_MAX_FIELD;
		memcpy(val, p + fl + 1, n);
		val[n] = '\0';
		/* drop the space after the colon, as readers expect */
		if (regexec(&r->re, val[0] == ' ' ? val + 1 : val, 0, NULL,
			    0) == 0)
			return 1;
	}
	return !seen && regexec(&r->re, "", 0, NULL, 0) == 0;
}

/* Mark in cand the body rules that may match lower-case text lb (n
 * bytes): one pass, looking up every two bytes in the literal index. */
static void candidates(const struct spamd_rules *rs, const char *lb,
		       size_t n, unsigned char *cand)
{
	const struct anchor *a;
	size_t i, k;
	int j;

	for (i = 0; i < rs->n; i++)
		cand[i] = rs->r[i].kind == RULE_BODY && rs->r[i].nlits == 0;
	for (i = 0; i + 1 < n; i++) {
		k = (size_t)(unsigned char)lb[i] << 8 |
		    (unsigned char)lb[i + 1];
		if (!(rs->seen[k >> 6] >> (k & 63) & 1))
			continue;
		for (j = rs->head[k]; j >= 0; j = a->next) {
			a = &rs->a[j];
			if (!cand[a->rule] && a->len <= n - i &&
			    memcmp(lb + i, a->s, a->len) == 0)
				cand[a->rule] = 1;
		}
	}
}

void spamd_rules_run(const struct spamd_rules *rs, const struct spamd_text *t,
		     size_t body_size, struct spamd_verdict *v)
{
	const struct rule *r;
	char *body = NULL, *lower = NULL;
	unsigned char *cand = NULL;
	size_t i, n = 0;
	int hit;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++) {
		r = &rs->r[i];
		if (r->kind == RULE_HEADER) {
			hit = header_match(r, &t->hdr);
		} else {
			if (body == NULL) {
				n = t->body.len < body_size ? t->body.len :
				    body_size;
				body = strndup(t->body.data ? t->body.data :
					       "", n);
				lower = malloc(n + 1);
				cand = malloc(rs->n);
				if (body == NULL || lower == NULL ||
				    cand == NULL)
					break;
				n = strlen(body);
				for (size_t k = 0; k < n; k++)
					lower[k] = (char)tolower(
						(unsigned char)body[k]);
				candidates(rs, lower, n, cand);
			}
			hit = cand[i] && regexec(&r->re, body, 0, NULL, 0) ==
					 0;
		}
		if (hit != r->negate)
			spamd_verdict_add(v, r->name, r->score);
	}
	free(body);
	free(lower);
	free(cand);
}
