/*
 * NAME
 *	spf - SPF check_host() (RFC 7208)
 * DESCRIPTION
 *	See spf.h. The check is a stack of frames (one per record being
 *	evaluated: the sender's domain, then each include:); a frame walks
 *	its terms and stops at the first one that needs the DNS, the answer
 *	continues it. redirect= replaces the frame's record. At most one
 *	query is in flight per check, so a check freed while waiting only
 *	has to remember to free itself when that answer comes.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 2)
#define SPF_NAME_MAX 256

/* ---- the evaluation ---- */

enum want { W_RECORD, W_ADDR, W_MX, W_PTR, W_MXADDR, W_PTRADDR };

struct spf_frame {
	char domain[SPF_NAME_MAX];
	char *rec;		/* the record's text (owned), NULL: not yet */
	struct spf_record r;
	size_t i;		/* term being evaluated */
	int redirected;		/* reached through redirect= */
	char target[SPF_NAME_MAX];
	size_t nnames, sub;	/* mx, ptr: names and the one looked up */
	char names[SPF_MAX_NAMES][SPF_NAME_MAX];
};

struct spf_check {
	struct spf_dns dns;
	unsigned char ip[16];
	int v6;
	char ipstr[64];
	char sender[512];
	char helo[SPF_NAME_MAX];
	char domain[SPF_NAME_MAX];
	int lookups, voids;
	size_t depth;
	struct spf_frame *f[SPF_MAX_DEPTH];
	int result;		/* -1 while running */
	char why[600];
	enum want want;
	int pending;		/* a query is in flight */
	int orphan;		/* freed while pending */
	void (*done)(void *arg, struct spf_check *c);
	void *arg;
};

/* The result is res; fmt (NULL: keep why as it is) says why. */
static void finish(struct spf_check *c, enum spf_result res, const char *fmt,
		   ...) __attribute__((format(printf, 3, 4)));

static void finish(struct spf_check *c, enum spf_result res, const char *fmt,
		   ...)
{
	va_list ap;

	if (c->result >= 0)
		return;
	c->result = (int)res;
	if (fmt == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
}

static void query(struct spf_check *c, const char *name, enum dns_type t,
		  enum want w);
static void on_answer(void *arg, const struct dns_rr_result *r);

static int push_frame(struct spf_check *c, const char *domain, int redir)
{
	struct spf_frame *f;

	if (!redir) {
		if (c->depth == SPF_MAX_DEPTH) {
			finish(c, SPF_PERMERROR, "includes nested too deep");
			return -1;
		}
		f = calloc(1, sizeof(*f));
		if (f == NULL) {
			finish(c, SPF_TEMPERROR, "out of memory");
			return -1;
		}
		c->f[c->depth++] = f;
	} else {
		f = c->f[c->depth - 1];
		free(f->rec);
		memset(f, 0, sizeof(*f));
		f->redirected = 1;
	}
	snprintf(f->domain, sizeof(f->domain), "%s", domain);
	query(c, f->domain, DNS_T_TXT, W_RECORD);
	return 0;
}

static enum spf_result qual_result(char q)
{
	return q == '-' ? SPF_FAIL : q == '~' ? SPF_SOFTFAIL :
	       q == '?' ? SPF_NEUTRAL : SPF_PASS;
}

/* The top frame ended with res: pop it and go on in its includer. */
static void frame_result(struct spf_check *c, enum spf_result res)
{
	struct spf_frame *f = c->f[c->depth - 1], *up;

	if (res == SPF_NONE && f->redirected) {
		finish(c, SPF_PERMERROR, "redirect=%s has no SPF record",
		       f->domain);
		return;
	}
	if (res == SPF_TEMPERROR || res == SPF_PERMERROR) {
		finish(c, res, NULL);
		return;
	}
	if (c->depth == 1) {
		if (res == SPF_NEUTRAL && c->why[0] == '\0')
			finish(c, res, "no term matched in %s", f->domain);
		else
			finish(c, res, NULL);
		return;
	}
	if (res == SPF_NONE) {	/* include of a domain without SPF (5.2) */
		finish(c, SPF_PERMERROR, "include:%s has no SPF record",
		       f->domain);
		return;
	}
	free(f->rec);
	free(f);
	c->f[--c->depth] = NULL;
	up = c->f[c->depth - 1];
	if (res == SPF_PASS) {	/* include matched (5.2) */
		snprintf(c->why, sizeof(c->why), "include:%s matched",
			 up->target);
		frame_result(c, qual_result(up->r.t[up->i].qual));
		return;
	}
	c->why[0] = '\0';
	up->i++;
}

static void matched(struct spf_check *c, const struct spf_term *t)
{
	static const char *const names[] = {
		"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
	};
	struct spf_frame *f = c->f[c->depth - 1];

	snprintf(c->why, sizeof(c->why), "%c%s%s%.*s matched in %s", t->qual,
		 names[t->mech], t->arg ? ":" : "",
		 (int)(t->arglen > 80 ? 80 : t->arglen), t->arg ? t->arg : "",
		 f->domain);
	frame_result(c, qual_result(t->qual));
}

/* Does address text a fall in the client's network of prefix bits? */
static int addr_match(const struct spf_check *c, const char *a, int bits)
{
	unsigned char b[16];
	int n, full;

	if (inet_pton(c->v6 ? AF_INET6 : AF_INET, a, b) != 1)
		return 0;
	n = c->v6 ? 128 : 32;
	if (bits < 0 || bits > n)
		bits = n;
	full = bits / 8;
	if (memcmp(b, c->ip, (size_t)full) != 0)
		return 0;
	if (bits % 8) {
		unsigned char m = (unsigned char)(0xff << (8 - bits % 8));

		return (b[full] & m) == (c->ip[full] & m);
	}
	return 1;
}

/* Count a DNS-querying term (4.6.4). 0, or -1 past the limit. */
static int count_lookup(struct spf_check *c)
{
	if (++c->lookups > SPF_MAX_LOOKUPS) {
		finish(c, SPF_PERMERROR, "more than %d DNS lookups",
		       SPF_MAX_LOOKUPS);
		return -1;
	}
	return 0;
}

static int count_void(struct spf_check *c, const struct dns_rr_result *r)
{
	if ((r->status == DNS_NXDOMAIN || r->status == DNS_NODATA) &&
	    ++c->voids > SPF_MAX_VOID) {
		finish(c, SPF_PERMERROR, "more than %d void lookups",
		       SPF_MAX_VOID);
		return -1;
	}
	return 0;
}

/* The target of term t: its domain-spec expanded, or the current
 * domain. 0, or -1 (permerror set). */
static int target(struct spf_check *c, const struct spf_term *t)
{
	struct spf_frame *f = c->f[c->depth - 1];
	struct spf_macro_vars v = {c->sender, f->domain, c->ipstr, c->helo};
	char big[2048];	/* before 7.3's cut to 253 octets */

	if (t->arg == NULL) {
		snprintf(f->target, sizeof(f->target), "%s", f->domain);
		return 0;
	}
	if (spf_macro_expand(&v, t->arg, t->arglen, big, sizeof(big)) == 0 &&
	    strlen(big) < sizeof(f->target)) {
		memcpy(f->target, big, strlen(big) + 1);
	} else {
		finish(c, SPF_PERMERROR, "bad macro in %.*s",
		       (int)(t->arglen > 80 ? 80 : t->arglen), t->arg);
		return -1;
	}
	return 0;
}

/* The PTR name of the client address (RFC 1035 3.5, RFC 3596 2.5). */
static void reverse_name(const struct spf_check *c, char *out, size_t len)
{
	size_t o = 0;
	int i;

	if (!c->v6) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", c->ip[3],
			 c->ip[2], c->ip[1], c->ip[0]);
		return;
	}
	for (i = 15; i >= 0 && o + 4 < len; i--) {
		out[o++] = "0123456789abcdef"[c->ip[i] & 15];
		out[o++] = '.';
		out[o++] = "0123456789abcdef"[c->ip[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, len - o, "ip6.arpa");
}

/* Evaluate terms until a query is in flight or the result is known. */
static void run(struct spf_check *c)
{
	while (c->result < 0 && !c->pending) {
		struct spf_frame *f = c->f[c->depth - 1];
		const struct spf_term *t;

		if (f->i >= f->r.n) {
			if (f->r.redirect >= 0) {
				t = &f->r.t[f->r.redirect];
				if (count_lookup(c) < 0 || target(c, t) < 0)
					return;
				char dom[SPF_NAME_MAX];

				snprintf(dom, sizeof(dom), "%s", f->target);
				push_frame(c, dom, 1);
				continue;
			}
			frame_result(c, SPF_NEUTRAL);
			continue;
		}
		t = &f->r.t[f->i];
		switch (t->mech) {
		case SPF_M_ALL:
			matched(c, t);
			break;
		case SPF_M_IP4:
		case SPF_M_IP6: {
			char ip[64];

			snprintf(ip, sizeof(ip), "%.*s", (int)t->arglen,
				 t->arg);
			if ((t->mech == SPF_M_IP6) == c->v6 &&
			    addr_match(c, ip, c->v6 ? t->cidr6 : t->cidr4))
				matched(c, t);
			else
				f->i++;
			break;
		}
		case SPF_M_INCLUDE:
		case SPF_M_A:
		case SPF_M_MX:
		case SPF_M_PTR:
		case SPF_M_EXISTS:
			if (count_lookup(c) < 0 || target(c, t) < 0)
				return;
			if (t->mech == SPF_M_INCLUDE) {
				char dom[SPF_NAME_MAX];

				snprintf(dom, sizeof(dom), "%s", f->target);
				push_frame(c, dom, 0);
			} else if (t->mech == SPF_M_A) {
				query(c, f->target, c->v6 ? DNS_T_AAAA :
				      DNS_T_A, W_ADDR);
			} else if (t->mech == SPF_M_EXISTS) {
				query(c, f->target, DNS_T_A, W_ADDR);
			} else if (t->mech == SPF_M_MX) {
				query(c, f->target, DNS_T_MX, W_MX);
			} else {
				char rev[128];

				reverse_name(c, rev, sizeof(rev));
				query(c, rev, DNS_T_PTR, W_PTR);
			}
			break;
		default:	/* modifiers */
			f->i++;
			break;
		}
	}
}

static void query(struct spf_check *c, const char *name, enum dns_type t,
		  enum want w)
{
	c->want = w;
	c->pending = 1;
	c->dns.query(c->dns.dctx, name, t, on_answer, c);
}

/* The TXT answer for the top frame's domain (4.4, 4.5). */
static void got_record(struct spf_check *c, const struct dns_rr_result *r)
{
	struct spf_frame *f = c->f[c->depth - 1];
	char err[128];
	size_t i, found = 0, which = 0;

	if (r->status == DNS_TEMPFAIL) {
		finish(c, SPF_TEMPERROR, "DNS failure for %s", f->domain);
		return;
	}
	for (i = 0; i < r->n; i++)
		if (spf_is_record(r->rr[i], r->len[i])) {
			found++;
			which = i;
		}
	if (found > 1) {
		finish(c, SPF_PERMERROR, "%s has %zu SPF records", f->domain,
		       found);
		return;
	}
	if (found == 0) {
		snprintf(c->why, sizeof(c->why), "%s has no SPF record",
			 f->domain);
		frame_result(c, SPF_NONE);
		return;
	}
	f->rec = malloc(r->len[which] + 1);
	if (f->rec == NULL) {
		finish(c, SPF_TEMPERROR, "out of memory");
		return;
	}
	memcpy(f->rec, r->rr[which], r->len[which] + 1);
	if (spf_record_parse(f->rec, r->len[which], &f->r, err,
			     sizeof(err)) < 0)
		finish(c, SPF_PERMERROR, "%s: %s", f->domain, err);
}

static void next_name(struct spf_check *c)
{
	struct spf_frame *f = c->f[c->depth - 1];

	if (f->sub >= f->nnames) {
		f->i++;
		return;
	}
	query(c, f->names[f->sub], c->v6 ? DNS_T_AAAA : DNS_T_A,
	      c->want == W_MX ? W_MXADDR : c->want == W_PTR ? W_PTRADDR :
	      c->want);
}

static int name_in(const char *name, const char *dom)
{
	size_t nl = strlen(name), dl = strlen(dom);

	if (nl > 0 && name[nl - 1] == '.')
		nl--;
	if (dl > 0 && dom[dl - 1] == '.')
		dl--;
	if (nl == dl)
		return strncasecmp(name, dom, nl) == 0;
	return nl > dl && name[nl - dl - 1] == '.' &&
	       strncasecmp(name + nl - dl, dom, dl) == 0;
}

static void on_answer(void *arg, const struct dns_rr_result *r)
{
	struct spf_check *c = arg;
	struct spf_frame *f;
	const struct spf_term *t;
	size_t i;

	c->pending = 0;
	if (c->orphan) {
		c->orphan = 0;
		spf_check_free(c);
		return;
	}
	f = c->f[c->depth - 1];
	t = &f->r.t[f->i];
	switch (c->want) {
	case W_RECORD:
		got_record(c, r);
		break;
	case W_ADDR:	/* a, exists */
		if (r->status == DNS_TEMPFAIL) {
			finish(c, SPF_TEMPERROR, "DNS failure for %s",
			       f->target);
			break;
		}
		if (count_void(c, r) < 0)
			break;
		for (i = 0; i < r->n; i++)
			if (t->mech == SPF_M_EXISTS ||
			    addr_match(c, r->rr[i], c->v6 ? t->cidr6 :
				       t->cidr4)) {
				matched(c, t);
				break;
			}
		if (i == r->n)
			f->i++;
		break;
	case W_MX:
	case W_PTR:
		if (r->status == DNS_TEMPFAIL && c->want == W_MX) {
			finish(c, SPF_TEMPERROR, "DNS failure for %s",
			       f->target);
			break;
		}
		if (count_void(c, r) < 0)
			break;
		if (c->want == W_MX && r->n > SPF_MAX_NAMES) {
			finish(c, SPF_PERMERROR, "%s has more than %d MX",
			       f->target, SPF_MAX_NAMES);
			break;
		}
		f->nnames = f->sub = 0;
		for (i = 0; i < r->n && f->nnames < SPF_MAX_NAMES; i++) {
			/* ptr: only names within the target (5.5) */
			if (c->want == W_PTR && !name_in(r->rr[i], f->target))
				continue;
			snprintf(f->names[f->nnames++], SPF_NAME_MAX, "%s",
				 r->rr[i]);
		}
		next_name(c);
		break;
	case W_MXADDR:
	case W_PTRADDR:
		if (r->status == DNS_TEMPFAIL && c->want == W_MXADDR) {
			finish(c, SPF_TEMPERROR, "DNS failure for %s",
			       f->names[f->sub]);
			break;
		}
		for (i = 0; i < r->n; i++)
			if (addr_match(c, r->rr[i], c->want == W_PTRADDR ? -1 :
				       c->v6 ? t->cidr6 : t->cidr4)) {
				matched(c, t);
				break;
			}
		if (i < r->n)
			break;
		f->sub++;
		c->want = c->want == W_MXADDR ? W_MX : W_PTR;
		next_name(c);
		break;
	}
	run(c);
	if (c->result >= 0 && c->done)
		c->done(c->arg, c);
}

/* 4.3: a domain we can look up: labels of 1..63, not all numeric. */
static int domain_ok(const char *d)
{
	size_t len = strlen(d), lab = 0, i;
	int dots = 0;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (d[i] == '.') {
			if (lab == 0 && i + 1 < len)
				return 0;
			lab = 0;
			dots++;
		} else if (++lab > 63) {
			return 0;
		}
	}
	return dots > 0;
}

struct spf_check *spf_check_start(const struct spf_dns *dns, const char *ip,
				  const char *sender, const char *helo,
				  void (*done)(void *arg, struct spf_check *c),
				  void *arg)
{
	struct spf_check *c = calloc(1, sizeof(*c));
	const char *at;

	if (c == NULL)
		return NULL;
	c->result = -1;
	c->dns = *dns;
	c->done = done;
	c->arg = arg;
	if (inet_pton(AF_INET, ip, c->ip) != 1) {
		if (inet_pton(AF_INET6, ip, c->ip) != 1) {
			free(c);
			return NULL;
		}
		c->v6 = 1;
	}
	snprintf(c->ipstr, sizeof(c->ipstr), "%s", ip);
	snprintf(c->helo, sizeof(c->helo), "%s", helo ? helo : "");
	if (sender == NULL || sender[0] == '\0')
		snprintf(c->sender, sizeof(c->sender), "postmaster@%s",
			 c->helo);
	else if (sender[0] == '@')
		snprintf(c->sender, sizeof(c->sender), "postmaster%s", sender);
	else
		snprintf(c->sender, sizeof(c->sender), "%s", sender);
	at = strrchr(c->sender, '@');
	snprintf(c->domain, sizeof(c->domain), "%s", at ? at + 1 : c->helo);
	if (!domain_ok(c->domain)) {
		finish(c, SPF_NONE, "'%.60s' is not a domain", c->domain);
		return c;
	}
	if (push_frame(c, c->domain, 0) == 0)
		run(c);
	return c;
}

int spf_check_result(const struct spf_check *c, const char **why)
{
	if (why)
		*why = c->why;
	return c->result;
}

const char *spf_check_domain(const struct spf_check *c)
{
	return c->domain;
}

void spf_check_free(struct spf_check *c)
{
	if (c == NULL)
		return;
	if (c->pending) {
		c->orphan = 1;
		return;
	}
	while (c->depth > 0) {
		struct spf_frame *f = c->f[--c->depth];

		free(f->rec);
		free(f);
	}
	free(c);
}
