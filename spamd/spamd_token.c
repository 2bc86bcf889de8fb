/*
 * NAME
 *	spamd_token - the tokens of a message, for the Bayes filter
 * DESCRIPTION
 *	Reads what spamd_mime extracted. Words of the fields that tell mail
 *	apart (Subject, From, To, Content-Type, ...) are prefixed with the
 *	field name, so "free" in a Subject and in a body are different
 *	tokens; other fields only count through the header's structure
 *	(spamd_shape: the fields' order and shapes, which say which
 *	software wrote the message; a token per field name let list mail,
 *	whose dozen list fields all said "ham", outvote a spam body). Body
 *	words are lower-cased (ASCII; other bytes are kept as they are: the
 *	charset is ignored), stripped of surrounding punctuation; words of
 *	fewer than SPAMD_TOKEN_MIN bytes are dropped and longer ones than
 *	SPAMD_TOKEN_MAX become "skip:C N" (first byte, length in tens), as
 *	SpamBayes does. Links give "url:HOST" and "url:DOMAIN", addresses
 *	"email:DOMAIN". Received fields give their hosts, domains, IP
 *	prefixes ("received:ip:192.0") and plain words, never dates, times,
 *	time zones or queue ids (those say when, and drift); a Message-ID
 *	gives only its domain; addresses in From, To, Reply-To, ... also
 *	"from:@DOMAIN".
 *	Adjacent body words also make pairs ("click here"); links their
 *	shape ("url-shape:ip", ":port", ":at", ":query", ":escaped",
 *	"url-depth:N", "url-tld:TLD"); the text its shape ("shape:size:N",
 *	":caps:N" tenths of capitals, ":links:N", ":parts:N"); every
 *	message has "bias:", the classifier's intercept. The tokens of a
 *	message are its set (spamd_tokset), hashes and text, the first
 *	SPAMD_MAX_TOKENS distinct ones of its first 3 * SPAMD_MAX_TOKENS.
 *	Pure; faces the network through its input; fuzzed.
 */
#include <ctype.h>
#include <pthread.h>
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
	"received", "x-priority", "importance", "x-msmail-priority",
	"content-transfer-encoding", "precedence", "organization",
	"errors-to", NULL};

/* Fields holding addresses: their words with an '@' also give
 * "FIELD:@DOMAIN". */
static const char *const addr_fields[] = {"from", "to", "cc", "reply-to",
	"sender", "return-path", "errors-to", NULL};

struct emitter {
	spamd_token_fn fn;
	void *arg;
	size_t left;	/* calls still allowed */
	/* the previous body word, lower case, for the word pairs */
	char prev[SPAMD_TOKEN_MAX];
	size_t prevn;
	size_t urls;	/* links seen */
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

/* Bytes that separate words, and bytes trimmed off their ends. */
static const char sep_bytes[] = "\"<>()[]{},;|`\x7f";
static const char trim_bytes[] = ".:!?'*-=_#/~+&%";

static unsigned char byte_class[256];	/* 1: separator, 2: trimmed */
static pthread_once_t byte_class_once = PTHREAD_ONCE_INIT;

static void byte_class_init(void)
{
	const char *p;
	int c;

	for (c = 0; c <= ' '; c++)
		byte_class[c] = 1;
	for (p = sep_bytes; *p; p++)
		byte_class[(unsigned char)*p] = 1;
	for (p = trim_bytes; *p; p++)
		byte_class[(unsigned char)*p] = 2;
}

static int is_sep(unsigned char c)
{
	return byte_class[c] == 1;
}

static int is_trim(unsigned char c)
{
	return byte_class[c] == 2;
}

static int is_ipv4(const char *w, size_t n);

/* What a link looks like, whoever it points to: a bare IP address, a
 * port, an address before the host, an encoded or a deep path, a
 * query, the top-level domain. */
static void url_shape(struct emitter *em, const char *h, const char *e,
		      const char *end)
{
	const char *p, *tld = NULL;
	size_t depth = 0;
	char tok[16];

	for (p = h; p < e; p++)
		if (*p == '.')
			tld = p + 1;
	if (is_ipv4(h, (size_t)(e - h)))
		emit(em, "", "url-shape:ip", 12);
	else if (tld && e - tld >= 2 && e - tld <= 6)
		emit(em, "url-tld:", tld, (size_t)(e - tld));
	if (memchr(h, '@', (size_t)(e - h)))
		emit(em, "", "url-shape:at", 12);
	if (e < end && *e == ':')
		emit(em, "", "url-shape:port", 14);
	for (p = e; p < end; p++) {
		depth += *p == '/';
		if (*p == '?')
			emit(em, "", "url-shape:query", 15);
		if (*p == '%')
			emit(em, "", "url-shape:escaped", 17);
		if (*p == '?' || *p == '%')
			break;
	}
	snprintf(tok, sizeof(tok), "url-depth:%zu", depth > 4 ? 4 : depth);
	emit(em, "", tok, strlen(tok));
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
	em->urls++;
	url_shape(em, h, e, w + n);
	emit(em, "url:", h, (size_t)(e - h));
	for (const char *p = h; p < e; p++)
		if (*p == '.') {
			dot2 = dot;
			dot = p;
		}
	if (dot2)
		emit(em, "url:", dot2 + 1, (size_t)(e - dot2 - 1));
}

/* The dotted-quad IPv4 address w (n bytes), or 0. */
static int is_ipv4(const char *w, size_t n)
{
	size_t i, dots = 0, digits = 0;

	for (i = 0; i < n; i++) {
		if (w[i] == '.') {
			if (digits == 0 || digits > 3)
				return 0;
			dots++;
			digits = 0;
		} else if (isdigit((unsigned char)w[i])) {
			digits++;
		} else {
			return 0;
		}
	}
	return dots == 3 && digits > 0 && digits <= 3;
}

/* Month and day names: Received dates say when, not who. */
static int is_date_word(const char *w, size_t n)
{
	static const char names[] = "jan feb mar apr may jun jul aug sep "
		"oct nov dec mon tue wed thu fri sat sun ";
	size_t i;

	if (n != 3)
		return 0;
	for (i = 0; names[i]; i += 4)
		if (strncasecmp(names + i, w, 3) == 0)
			return 1;
	return 0;
}

/* Time zone names: "EDT" in a Received field says summer, not who. */
static int is_zone_word(const char *w, size_t n)
{
	static const char names[] = " est edt cst cdt mst mdt pst pdt gmt bst "
		"ist utc cet cest eet eest wet west met mest jst kst hkt sgt "
		"ast adt nzst nzdt aest aedt ";
	char k[8];
	size_t i;

	if (n < 3 || n > 4)
		return 0;
	k[0] = ' ';
	for (i = 0; i < n; i++)
		k[i + 1] = (char)tolower((unsigned char)w[i]);
	k[n + 1] = ' ';
	k[n + 2] = '\0';
	return strstr(names, k) != NULL;
}

/* A word of a Received field: hosts and their domains, IP prefixes
 * ("received:ip:10.1" ...) and plain words; dates, times and queue ids
 * change with every message and are left out. */
static void received_word(struct emitter *em, const char *pre, const char *w,
			  size_t n)
{
	const char *dot = NULL, *dot2 = NULL, *p;
	char ip[64];
	size_t i, alpha = 0, digit = 0;

	if (is_ipv4(w, n)) {
		for (i = 0, p = w; i < 3; i++, p++) {
			p = memchr(p, '.', (size_t)(w + n - p));
			snprintf(ip, sizeof(ip), "%sip:", pre);
			emit(em, ip, w, (size_t)(p - w));
		}
		return;
	}
	for (i = 0; i < n; i++) {
		alpha += isalpha((unsigned char)w[i]) != 0;
		digit += isdigit((unsigned char)w[i]) != 0;
		if (w[i] == '.') {
			dot2 = dot;
			dot = w + i;
		}
	}
	if (dot && alpha > 0) {
		emit(em, pre, w, n);
		if (dot2 && memchr(w, '@', n) == NULL)
			emit(em, pre, dot2 + 1, (size_t)(w + n - dot2 - 1));
		return;
	}
	if (digit == 0 && alpha == n && !is_date_word(w, n) &&
	    !is_zone_word(w, n))
		emit(em, pre, w, n);
}

static int in_list(const char *const *list, const char *name, size_t n)
{
	size_t i;

	for (i = 0; list[i]; i++)
		if (strlen(list[i]) == n && memcmp(list[i], name, n) == 0)
			return 1;
	return 0;
}

/* A word of a header field pre ("subject:"). */
static void header_word(struct emitter *em, const char *pre, const char *w,
			size_t n)
{
	size_t pl = strlen(pre) - 1;
	const char *at = memchr(w, '@', n);
	char dom[48];

	if (pl == 8 && memcmp(pre, "received", 8) == 0) {
		received_word(em, pre, w, n);
		return;
	}
	if (pl == 10 && memcmp(pre, "message-id", 10) == 0) {
		/* the local part is unique: only the domain tells */
		if (at && at + 1 < w + n)
			emit(em, "message-id:@", at + 1,
			     (size_t)(w + n - at - 1));
		return;
	}
	emit(em, pre, w, n);
	if (at && at + 1 < w + n && in_list(addr_fields, pre, pl)) {
		snprintf(dom, sizeof(dom), "%s@", pre);
		emit(em, dom, at + 1, (size_t)(w + n - at - 1));
	}
}

/* Word pairs: "a b" of adjacent body words (pairs of words one apart,
 * OSB's "a * c", did worse in cross-validation), then w becomes the
 * previous word. Long words break the chain. */
static void pair(struct emitter *em, const char *w, size_t n)
{
	char tok[2 * SPAMD_TOKEN_MAX + 2];
	size_t i, l = em->prevn;

	if (n > SPAMD_TOKEN_MAX) {
		em->prevn = 0;
		return;
	}
	if (l > 0 && em->left > 0) {
		memcpy(tok, em->prev, l);
		tok[l++] = ' ';
		for (i = 0; i < n; i++)
			tok[l + i] = (char)tolower((unsigned char)w[i]);
		em->left--;
		em->fn(em->arg, tok, l + n);
	}
	for (i = 0; i < n; i++)
		em->prev[i] = (char)tolower((unsigned char)w[i]);
	em->prevn = n;
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
	if (pre[0] != '\0')
		header_word(em, pre, w, n);
	else {
		emit(em, pre, w, n);
		pair(em, w, n);
	}
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


/* Size class of n: 0, 1, 2-3, 4-7, ... as its bit length. */
static unsigned log2_class(size_t n)
{
	unsigned b = 0;

	while (n > 0 && b < 20) {
		b++;
		n >>= 1;
	}
	return b;
}

/* The shape of the text: its size, its share of capitals, its links,
 * its MIME parts. */
static void body_shape(struct emitter *em, const struct spamd_text *t)
{
	size_t i, up = 0, letters = 0, n = t->body.len;
	char tok[32];
	int k;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t->body.data[i];

		up += c >= 'A' && c <= 'Z';
		letters += (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
	}
	k = snprintf(tok, sizeof(tok), "shape:size:%u", log2_class(n));
	emit(em, "", tok, (size_t)k);
	k = snprintf(tok, sizeof(tok), "shape:caps:%zu",
		     letters ? 10 * up / letters : 0);
	emit(em, "", tok, (size_t)k);
	k = snprintf(tok, sizeof(tok), "shape:links:%u",
		     log2_class(em->urls));
	emit(em, "", tok, (size_t)k);
	k = snprintf(tok, sizeof(tok), "shape:parts:%d",
		     t->parts > 9 ? 9 : t->parts);
	emit(em, "", tok, (size_t)k);
}

/* A structure token from spamd_shapes(), within the emitter's count. */
static void shape_token(void *arg, const char *tok, size_t n)
{
	struct emitter *em = arg;

	if (em->left == 0)
		return;
	em->left--;
	em->fn(em->arg, tok, n);
}

void spamd_tokenize(const struct spamd_text *t, size_t max_tokens,
		    spamd_token_fn fn, void *arg)
{
	struct emitter em;
	const char *p, *end, *name, *val;
	char pre[40];
	size_t n, nlen, vlen;

	pthread_once(&byte_class_once, byte_class_init);
	memset(&em, 0, sizeof(em));
	em.fn = fn;
	em.arg = arg;
	em.left = max_tokens;
	p = t->hdr.data ? t->hdr.data : "";
	end = p + t->hdr.len;
	while (spamd_hdr_line(&p, end, &name, &nlen, &val, &vlen)) {
		if (!in_list(word_fields, name, nlen))
			continue;
		n = nlen + 2 > sizeof(pre) ? sizeof(pre) - 2 : nlen;
		memcpy(pre, name, n);
		pre[n] = ':';
		pre[n + 1] = '\0';
		words(&em, pre, val, val + vlen, 1);
	}
	spamd_shapes(t->hdr.data ? t->hdr.data : "", t->hdr.len, shape_token,
		     &em);
	p = t->body.data ? t->body.data : "";
	words(&em, "", p, p + t->body.len, SPAMD_TOKEN_MIN);
	body_shape(&em, t);
	if (t->html)
		emit(&em, "", "html:yes", 8);
	emit(&em, "", "bias:", 5);	/* in every message: the intercept */
}

static void add_token(void *arg, const char *tok, size_t n);

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

void spamd_tokset_add(struct spamd_tokset *set, const char *tok, size_t n)
{
	add_token(set, tok, n);
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
	if (set->n >= SPAMD_MAX_TOKENS ||
	    set->textlen + n + 1 > SPAMD_TOKSET_TEXT)
		return;
	set->h[i] = h;
	set->off[i] = (uint32_t)set->textlen;
	memcpy(set->text + set->textlen, tok, n);
	set->text[set->textlen + n] = '\0';
	set->textlen += n + 1;
	set->n++;
}

int spamd_tokset_build(const struct spamd_text *t, struct spamd_tokset *set)
{
	memset(set, 0, sizeof(*set));
	set->cap = TOKSET_SLOTS;
	set->h = calloc(set->cap, sizeof(*set->h));
	set->off = malloc(set->cap * sizeof(*set->off));
	set->text = malloc(SPAMD_TOKSET_TEXT);
	if (set->h == NULL || set->off == NULL || set->text == NULL) {
		spamd_tokset_free(set);
		return -1;
	}
	/* repeats are cheap, but bounded too: a message of 100 KB of text
	 * is judged on its first tens of kilobytes */
	spamd_tokenize(t, 3 * SPAMD_MAX_TOKENS, add_token, set);
	return 0;
}

const char *spamd_tokset_text(const struct spamd_tokset *set, size_t slot)
{
	return slot < set->cap && set->h[slot] != 0 ? set->text +
	       set->off[slot] : "";
}

void spamd_tokset_free(struct spamd_tokset *set)
{
	free(set->h);
	free(set->off);
	free(set->text);
	memset(set, 0, sizeof(*set));
}
