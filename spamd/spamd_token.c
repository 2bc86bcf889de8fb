/*
 * NAME
 *	spamd_token - the tokens of a message, for the Bayes filter
 * DESCRIPTION
 *	Reads what spamd_mime extracted. Words of the fields that tell mail
 *	apart (Subject, From, To, Content-Type, ...) are prefixed with the
 *	field name, so "free" in a Subject and in a body are different
 *	tokens; other fields only say that they are there. Body words are
 *	lower-cased (ASCII; other bytes are kept as they are: the charset is
 *	ignored), stripped of surrounding punctuation; words of fewer than
 *	SPAMD_TOKEN_MIN bytes are dropped and longer ones than
 *	SPAMD_TOKEN_MAX become "skip:C N" (first byte, length in tens), as
 *	SpamBayes does. Links give "url:HOST" and "url:DOMAIN", addresses
 *	"email:DOMAIN". Pure; faces the network through its input; fuzzed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spamd.h"

#define TOKSET_SLOTS 8192	/* power of two, > 2 * SPAMD_MAX_TOKENS */

/* Fields whose words are tokens ("part-content-type" is spamd_mime's). */
static const char *const word_fields[] = {"subject", "from", "to", "cc",
	"reply-to", "sender", "content-type", "part-content-type",
	"x-mailer", "user-agent", "message-id", "return-path", "list-id",
	"received", "x-priority", "importance", NULL};

struct emitter {
	spamd_token_fn fn;
	void *arg;
	size_t left;	/* calls still allowed */
};

static void emit(struct emitter *em, const char *pre, const char *w,
		 size_t n)
{
	char tok[SPAMD_TOKEN_MAX + 64];
	size_t pl = strlen(pre), i;

	if (em->left == 0 || n == 0)
		return;
	if (n > SPAMD_TOKEN_MAX || pl + n >= sizeof(tok)) {
		/* "skip:x 40": keeps a trace of long words without their
		 * bytes (SpamBayes' trick) */
		i = (size_t)snprintf(tok, sizeof(tok), "%sskip:%c %zu", pre,
				     w[0], n / 10 * 10);
		em->left--;
		em->fn(em->arg, tok, i < sizeof(tok) ? i : sizeof(tok) - 1);
		return;
	}
	memcpy(tok, pre, pl);
	for (i = 0; i < n; i++)
		tok[pl + i] = (char)tolower((unsigned char)w[i]);
	em->left--;
	em->fn(em->arg, tok, pl + n);
}

static int is_sep(unsigned char c)
{
	return c <= ' ' || c == '"' || c == '<' || c == '>' || c == '(' ||
	       c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
	       c == ',' || c == ';' || c == '|' || c == '`' || c == 0x7f;
}

static int is_trim(unsigned char c)
{
	return c == '.' || c == ':' || c == '!' || c == '?' || c == '\'' ||
	       c == '*' || c == '-' || c == '=' || c == '_' || c == '#' ||
	       c == '/' || c == '~' || c == '+' || c == '&' || c == '%';
}

/* "url:HOST" and "url:DOMAIN" (the last two labels) of a URL word. */
static void url_tokens(struct emitter *em, const char *w, size_t n)
{
	const char *h = memchr(w, '/', n), *e, *dot = NULL, *dot2 = NULL;

	h = h ? h + 2 : w;	/* "http://" ends in "//" */
	if (h >= w + n)
		return;
	for (e = h; e < w + n && *e != '/' && *e != ':' && *e != '?' &&
	     *e != '#' && *e != '\'' && *e != '"'; e++)
		;
	if (e - h < 3)
		return;
	emit(em, "url:", h, (size_t)(e - h));
	for (const char *p = h; p < e; p++)
		if (*p == '.') {
			dot2 = dot;
			dot = p;
		}
	if (dot2)
		emit(em, "url:", dot2 + 1, (size_t)(e - dot2 - 1));
}

static void word(struct emitter *em, const char *pre, const char *w,
		 size_t n, size_t min)
{
	const char *at;

	while (n > 0 && is_trim((unsigned char)w[0])) {
		w++;
		n--;
	}
	while (n > 0 && is_trim((unsigned char)w[n - 1]))
		n--;
	if (n < min)
		return;
	if (pre[0] == '\0' && n > 7 && (strncasecmp(w, "http://", 7) == 0 ||
					strncasecmp(w, "https://", 8) == 0)) {
		url_tokens(em, w, n);
		return;
	}
	if (pre[0] == '\0' && n > 4 && strncasecmp(w, "www.", 4) == 0) {
		url_tokens(em, w, n);
		return;
	}
	if (pre[0] == '\0' && (at = memchr(w, '@', n)) != NULL &&
	    at + 1 < w + n) {
		emit(em, "email:", at + 1, (size_t)(w + n - at - 1));
		return;
	}
	emit(em, pre, w, n);
}

/* Split p..end into words separated by is_sep bytes. */
static void words(struct emitter *em, const char *pre, const char *p,
		  const char *end, size_t min)
{
	const char *s;

	while (p < end && em->left > 0) {
		while (p < end && is_sep((unsigned char)*p))
			p++;
		for (s = p; p < end && !is_sep((unsigned char)*p); p++)
			;
		if (p > s)
			word(em, pre, s, (size_t)(p - s), min);
	}
}

static int word_field(const char *name, size_t n)
{
	size_t i;

	for (i = 0; word_fields[i]; i++)
		if (strlen(word_fields[i]) == n &&
		    memcmp(word_fields[i], name, n) == 0)
			return 1;
	return 0;
}

void spamd_tokenize(const struct spamd_text *t, size_t max_tokens,
		    spamd_token_fn fn, void *arg)
{
	struct emitter em = {fn, arg, max_tokens};
	const char *p, *end, *nl, *colon;
	char pre[40];
	size_t n;

	p = t->hdr.data ? t->hdr.data : "";
	end = p + t->hdr.len;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon == NULL)
			continue;
		n = (size_t)(colon - p);
		if (n + 2 > sizeof(pre))
			n = sizeof(pre) - 2;
		memcpy(pre, p, n);
		pre[n] = ':';
		pre[n + 1] = '\0';
		if (word_field(p, (size_t)(colon - p)))
			words(&em, pre, colon + 1, nl, 1);
		else
			emit(&em, "header:", p, n);
	}
	p = t->body.data ? t->body.data : "";
	words(&em, "", p, p + t->body.len, SPAMD_TOKEN_MIN);
	if (t->html)
		emit(&em, "", "html:yes", 8);
}

uint64_t spamd_token_hash(const char *tok, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)tok[i];
		h *= 0x100000001b3ULL;
	}
	/* a final mix (murmur3's) spreads FNV's low bits for the tables */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static void add_token(void *arg, const char *tok, size_t n)
{
	struct spamd_tokset *set = arg;
	uint64_t h = spamd_token_hash(tok, n);
	size_t i = (size_t)h & (set->cap - 1);

	while (set->h[i] != 0) {
		if (set->h[i] == h)
			return;
		i = (i + 1) & (set->cap - 1);
	}
	if (set->n >= SPAMD_MAX_TOKENS)
		return;
	set->h[i] = h;
	set->n++;
}

int spamd_tokset_build(const struct spamd_text *t, struct spamd_tokset *set)
{
	set->n = 0;
	set->cap = TOKSET_SLOTS;
	set->h = calloc(set->cap, sizeof(*set->h));
	if (set->h == NULL) {
		set->cap = 0;
		return -1;
	}
	/* repeats are cheap, but bounded too: a few per distinct token */
	spamd_tokenize(t, 16 * SPAMD_MAX_TOKENS, add_token, set);
	return 0;
}

void spamd_tokset_free(struct spamd_tokset *set)
{
	free(set->h);
	set->h = NULL;
	set->cap = set->n = 0;
}
