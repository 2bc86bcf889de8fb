/*
 * NAME
 *	addrlist - strict RFC 5322 address lists of header fields
 * DESCRIPTION
 *	See addrlist.h. A recursive-descent parser over a cursor, with no
 *	recursion for comments (a depth counter) and none between list
 *	members; ABNF rules named as in RFC 5322 (sections 3.2 and 3.4)
 *	and RFC 6532 3.2 (UTF8-non-ascii in atext, qtext, ctext, dtext).
 *	A run of words is read once and then classified by what follows:
 *	"@" makes it a local-part, "<" a display-name, ":" a group's name.
 */
#include "addrlist.h"

#include <string.h>

struct cur {
	const char *p, *end;
	const char *err;
	struct addrlist_mailbox *out;
	size_t max, n;
};

/* What a run of words was: enough to tell a local-part from a phrase. */
struct words {
	size_t ntok;
	int lp_ok;		/* a dot-atom-text or one quoted-string */
	int phrase_ok;		/* starts with a word (obs-phrase) */
	int quoted;		/* the local-part was a quoted-string */
	char local[LIM_LOCAL_PART + 1];
	size_t nlocal;
	int toolong;
};

static int fail(struct cur *c, const char *why)
{
	if (c->err == NULL)
		c->err = why;
	return -1;
}

/* Length of a well-formed UTF-8 sequence of 2 to 4 bytes at p (RFC 3629
 * 4: no overlongs, no surrogates, nothing past U+10FFFF), else 0. */
static size_t utf8_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = (size_t)(end - s), n, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* atext (3.2.3) at p: its length (1, or a UTF-8 sequence), else 0. */
static size_t atext(const char *p, const char *end)
{
	unsigned char ch = (unsigned char)*p;

	if (ch >= 0x80)
		return utf8_len(p, end);
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch && strchr("!#$%&'*+-/=?^_`{|}~", ch) ? 1 : 0;
}

/* Printable text other than the given excluded bytes: qtext (3.2.4),
 * ctext (3.2.2), dtext (3.4.1), VCHAR of quoted-pair (3.2.1). */
static size_t text(const char *p, const char *end, const char *excl)
{
	unsigned char ch = (unsigned char)*p;

	if (ch >= 0x80)
		return utf8_len(p, end);
	if (ch < 33 || ch > 126)
		return 0;
	return strchr(excl, ch) ? 0 : 1;
}

static int wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* FWS (3.2.2, with obs-FWS): WSP, and CRLF only when WSP follows. */
static void skip_fws(struct cur *c)
{
	while (c->p < c->end) {
		if (wsp(*c->p))
			c->p++;
		else if (c->end - c->p >= 3 && c->p[0] == '\r' &&
			 c->p[1] == '\n' && wsp(c->p[2]))
			c->p += 3;
		else
			break;
	}
}

/* quoted-pair (3.2.1) at c->p ('\\'): its character's length, else 0. */
static size_t quoted_pair(struct cur *c)
{
	if (c->end - c->p < 2)
		return 0;
	if (wsp(c->p[1]))
		return 1;
	return text(c->p + 1, c->end, "");
}

/* comment (3.2.2), c->p at '('. Nesting counted, not recursed. */
static int comment(struct cur *c)
{
	int depth = 0;
	size_t n;

	do {
		skip_fws(c);
		if (c->p >= c->end)
			return fail(c, "comment not closed");
		if (*c->p == '(') {
			if (++depth > ADDRLIST_MAX_DEPTH)
				return fail(c, "comments nested too deep");
			c->p++;
		} else if (*c->p == ')') {
			depth--;
			c->p++;
		} else if (*c->p == '\\') {
			if ((n = quoted_pair(c)) == 0)
				return fail(c, "bad quoted-pair in comment");
			c->p += 1 + n;
		} else if ((n = text(c->p, c->end, "()\\")) > 0) {
			c->p += n;
		} else {
			return fail(c, "bad character in comment");
		}
	} while (depth > 0);
	return 0;
}

/* CFWS (3.2.2). 1 when something was skipped, 0 when not, -1 on error. */
static int skip_cfws(struct cur *c)
{
	const char *start = c->p;

	for (;;) {
		skip_fws(c);
		if (c->p >= c->end || *c->p != '(')
			break;
		if (comment(c) < 0)
			return -1;
	}
	return c->p != start;
}

static void put_local(struct words *w, const char *s, size_t n)
{
	if (w->nlocal + n > LIM_LOCAL_PART) {
		w->toolong = 1;
		return;
	}
	memcpy(w->local + w->nlocal, s, n);
	w->nlocal += n;
}

/* quoted-string (3.2.4) at c->p ('"'); its content goes to w when keep
 * (folds unfolded: the CRLF goes, the WSP stays). */
static int quoted_string(struct cur *c, struct words *w, int keep)
{
	size_t n;

	c->p++;
	for (;;) {
		if (c->p >= c->end)
			return fail(c, "quoted string not closed");
		if (*c->p == '"') {
			c->p++;
			return 0;
		}
		if (*c->p == '\\') {
			if ((n = quoted_pair(c)) == 0)
				return fail(c, "bad quoted-pair");
			if (keep)
				put_local(w, c->p + 1, n);
			c->p += 1 + n;
		} else if (wsp(*c->p)) {
			if (keep)
				put_local(w, c->p, 1);
			c->p++;
		} else if (c->end - c->p >= 3 && c->p[0] == '\r' &&
			   c->p[1] == '\n' && wsp(c->p[2])) {
			c->p += 2;
		} else if ((n = text(c->p, c->end, "\"\\")) > 0) {
			if (keep)
				put_local(w, c->p, n);
			c->p += n;
		} else {
			return fail(c, "bad character in quoted string");
		}
	}
}

/* A run of words (atoms, quoted strings, and "." of obs-phrase and
 * dot-atom) with the CFWS around them, classified for the caller. */
static int words(struct cur *c, struct words *w)
{
	int sp, last_dot = 0;
	size_t n;

	memset(w, 0, sizeof(*w));
	w->lp_ok = 1;
	if (skip_cfws(c) < 0)
		return -1;
	for (;;) {
		if ((sp = skip_cfws(c)) < 0)
			return -1;
		if (c->p >= c->end)
			break;
		/* CFWS between the parts of a local part is obs-local-part */
		if (sp && w->ntok > 0 && (*c->p == '"' || *c->p == '.' ||
					  atext(c->p, c->end) > 0))
			w->lp_ok = 0;
		if (atext(c->p, c->end) > 0) {
			if (w->ntok > 0 && !last_dot)
				w->lp_ok = 0;
			while (c->p < c->end &&
			       (n = atext(c->p, c->end)) > 0) {
				put_local(w, c->p, n);
				c->p += n;
			}
			if (w->ntok == 0)
				w->phrase_ok = 1;
			last_dot = 0;
		} else if (*c->p == '"') {
			if (w->ntok > 0)
				w->lp_ok = 0;
			w->quoted = 1;
			if (quoted_string(c, w, w->ntok == 0) < 0)
				return -1;
			if (w->ntok == 0)
				w->phrase_ok = 1;
			last_dot = 0;
		} else if (*c->p == '.') {
			if (w->ntok == 0 || last_dot || w->quoted)
				w->lp_ok = 0;
			put_local(w, ".", 1);
			c->p++;
			last_dot = 1;
		} else {
			break;
		}
		w->ntok++;
	}
	if (last_dot || w->ntok == 0)
		w->lp_ok = 0;
	w->local[w->nlocal] = '\0';
	return 0;
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* dot-atom-text (3.2.3) to out, ASCII lowercased. */
static int domain_atoms(struct cur *c, char *out, size_t *o)
{
	size_t n, i;

	for (;;) {
		if (c->p >= c->end || atext(c->p, c->end) == 0)
			return fail(c, "bad domain");
		while (c->p < c->end && (n = atext(c->p, c->end)) > 0) {
			if (*o + n > LIM_DOMAIN)
				return fail(c, "domain too long");
			for (i = 0; i < n; i++)
				out[(*o)++] = lower(c->p[i]);
			c->p += n;
		}
		if (c->p >= c->end || *c->p != '.')
			return 0;
		if (*o + 1 > LIM_DOMAIN)
			return fail(c, "domain too long");
		out[(*o)++] = '.';
		c->p++;
	}
}

/* domain (3.4.1) after "@": dot-atom or domain-literal, CFWS around;
 * no obs-domain and no quoted-pair (obs-dtext) inside a literal. */
static int domain(struct cur *c, char *out)
{
	size_t o = 0, n;

	if (skip_cfws(c) < 0)
		return -1;
	if (c->p < c->end && *c->p == '[') {
		out[o++] = *c->p++;
		/* *([FWS] dtext) [FWS]: white space only next to the
		 * brackets (within, it could split what a reader shows) */
		skip_fws(c);
		while (c->p < c->end &&
		       (n = text(c->p, c->end, "[]\\")) > 0) {
			if (o + n + 1 > LIM_DOMAIN)
				return fail(c, "domain too long");
			memcpy(out + o, c->p, n);
			if (n == 1)
				out[o] = lower(out[o]);
			o += n;
			c->p += n;
		}
		skip_fws(c);
		if (c->p >= c->end || *c->p != ']')
			return fail(c, "bad domain literal");
		out[o++] = *c->p++;
	} else if (domain_atoms(c, out, &o) < 0) {
		return -1;
	}
	out[o] = '\0';
	return skip_cfws(c) < 0 ? -1 : 0;
}

/* Non-zero when s is a dot-atom-text. */
static int is_dot_atom(const char *s, size_t n)
{
	const char *end = s + n;
	size_t k;
	int last_dot = 1;

	if (n == 0)
		return 0;
	while (s < end) {
		if (*s == '.') {
			if (last_dot)
				return 0;
			last_dot = 1;
			s++;
		} else if ((k = atext(s, end)) > 0) {
			last_dot = 0;
			s += k;
		} else {
			return 0;
		}
	}
	return !last_dot;
}

/* Non-zero when s holds "=?" and then "?=": what lenient readers take
 * for an encoded-word (RFC 2047 2). */
static int encoded_word(const char *s, size_t n)
{
	const char *p = memmem(s, n, "=?", 2);

	return p && memmem(p + 2, n - (size_t)(p + 2 - s), "?=", 2);
}

/* The words w were a local-part and c->p is at "@": finish the
 * addr-spec (3.4.1) into the next mailbox. */
static int addr_spec(struct cur *c, const struct words *w, int in_group)
{
	struct addrlist_mailbox *m;
	size_t i, o = 0;
	int q;

	if (!w->lp_ok)
		return fail(c, "bad local part");
	if (w->toolong)
		return fail(c, "local part too long");
	if (c->n >= c->max)
		return fail(c, "too many mailboxes");
	m = &c->out[c->n];
	memset(m, 0, sizeof(*m));
	c->p++;
	if (domain(c, m->domain) < 0)
		return -1;
	/* RFC 2047 5: never in an addr-spec, but some readers decode it */
	if (encoded_word(w->local, w->nlocal) ||
	    encoded_word(m->domain, strlen(m->domain)))
		return fail(c, "encoded-word in an address");
	memcpy(m->local, w->local, w->nlocal + 1);
	m->in_group = in_group;
	q = !is_dot_atom(w->local, w->nlocal);
	if (q)
		m->addr[o++] = '"';
	for (i = 0; i < w->nlocal; i++) {
		if (o + 2 >= sizeof(m->addr))
			return fail(c, "address too long");
		if (q && (w->local[i] == '"' || w->local[i] == '\\'))
			m->addr[o++] = '\\';
		m->addr[o++] = w->local[i];
	}
	/* RFC 5321 4.5.3.1.3: the path, with its "<>", fits 256 octets */
	if (o + q + 1 + strlen(m->domain) + 2 > LIM_PATH)
		return fail(c, "address too long");
	if (q)
		m->addr[o++] = '"';
	m->addr[o++] = '@';
	memcpy(m->addr + o, m->domain, strlen(m->domain) + 1);
	c->n++;
	return 0;
}

/* angle-addr (3.4) with obs-route (4.4), c->p at "<". */
static int angle_addr(struct cur *c, int in_group)
{
	char skip[LIM_DOMAIN + 1];
	const char *start;
	struct words w;

	c->p++;
	start = c->p;
	/* obs-domain-list = *(CFWS / ",") "@" domain
	 *                   *("," [CFWS] ["@" domain]) */
	for (;;) {
		if (skip_cfws(c) < 0)
			return -1;
		if (c->p >= c->end || *c->p != ',')
			break;
		c->p++;
	}
	if (c->p < c->end && *c->p == '@') {
		for (;;) {
			if (c->p < c->end && *c->p == '@') {
				c->p++;
				if (domain(c, skip) < 0)
					return -1;
			}
			if (c->p >= c->end || *c->p != ',')
				break;
			c->p++;
			if (skip_cfws(c) < 0)
				return -1;
		}
		if (c->p >= c->end || *c->p != ':')
			return fail(c, "bad route");
		c->p++;
	} else {
		c->p = start;
	}
	if (words(c, &w) < 0)
		return -1;
	if (c->p >= c->end || *c->p != '@')
		return fail(c, "no addr-spec in <>");
	if (addr_spec(c, &w, in_group) < 0)
		return -1;
	if (c->p >= c->end || *c->p != '>')
		return fail(c, "addr-spec not closed by >");
	c->p++;
	return skip_cfws(c) < 0 ? -1 : 0;
}

/* One mailbox, or in an address-list a group too (3.4). */
static int address(struct cur *c, int mode, int in_group);

static int group(struct cur *c)
{
	c->p++;
	for (;;) {
		if (skip_cfws(c) < 0)
			return -1;
		if (c->p >= c->end)
			return fail(c, "group not closed by ;");
		if (*c->p == ';')
			break;
		if (*c->p == ',') { /* obs-group-list, obs-mbox-list */
			c->p++;
			continue;
		}
		if (address(c, ADDRLIST_MAILBOXES, 1) < 0)
			return -1;
		if (c->p < c->end && *c->p == ',')
			c->p++;
		else if (c->p >= c->end || *c->p != ';')
			return fail(c, "want , or ; after a group member");
	}
	c->p++;
	return skip_cfws(c) < 0 ? -1 : 0;
}

static int address(struct cur *c, int mode, int in_group)
{
	struct words w;

	if (words(c, &w) < 0)
		return -1;
	if (c->p < c->end && *c->p == '@' && w.ntok > 0)
		return addr_spec(c, &w, in_group);
	if (c->p < c->end && *c->p == '<') {
		/* name-addr = [display-name] angle-addr */
		if (w.ntok > 0 && !w.phrase_ok)
			return fail(c, "bad display name");
		return angle_addr(c, in_group);
	}
	if (c->p < c->end && *c->p == ':' && w.phrase_ok) {
		if (mode != ADDRLIST_ADDRESSES || in_group)
			return fail(c, "group where a mailbox must be");
		return group(c);
	}
	return fail(c, "not a mailbox");
}

/* Lenient readers decode RFC 2047 encoded-words wherever they see
 * "=?...?=", even across quotes, comments and angle brackets (RFC 2047
 * 5 forbids every special inside one). Such a span with a special in it
 * would make them pair quotes and brackets otherwise than we do. */
static int ambiguous_encoded_word(const char *v, const char *end)
{
	const char *p = v, *q, *close;

	while ((p = memmem(p, (size_t)(end - p), "=?", 2)) != NULL) {
		close = memmem(p + 2, (size_t)(end - p - 2), "?=", 2);
		if (close == NULL)
			return 0;
		for (q = p + 2; q < close; q++)
			if (*q && strchr("\"()<>,;:@\\[]", *q))
				return 1;
		p += 2;
	}
	return 0;
}

int addrlist_parse(const char *v, size_t len, int mode,
		   struct addrlist_mailbox *out, size_t max, size_t *n_r,
		   const char **err_r)
{
	struct cur c = {v, v + len, NULL, out, max, 0};
	size_t naddr = 0;

	*n_r = 0;
	if (len >= 2 && v[len - 2] == '\r' && v[len - 1] == '\n')
		c.end -= 2;
	if (len > ADDRLIST_MAX_INPUT) {
		*err_r = "address list too long";
		return -1;
	}
	if (ambiguous_encoded_word(v, c.end)) {
		*err_r = "special inside an encoded-word";
		return -1;
	}
	for (;;) {
		if (skip_cfws(&c) < 0)
			break;
		if (c.p >= c.end)
			break;
		if (*c.p == ',') { /* obs-addr-list: empty members */
			c.p++;
			continue;
		}
		if (address(&c, mode, 0) < 0)
			break;
		naddr++;
		if (c.p < c.end && *c.p == ',')
			c.p++;
		else if (c.p < c.end)
			fail(&c, "want , between addresses");
		if (c.err)
			break;
	}
	if (c.err == NULL && naddr == 0)
		fail(&c, "no address");
	if (c.err) {
		*err_r = c.err;
		return -1;
	}
	*n_r = c.n;
	return 0;
}
