/*
 * NAME
 *	arc_verify - ARC chain validation (RFC 8617 5.2)
 * DESCRIPTION
 *	See arc_verify.h. The sets are found by the i= of each field: the
 *	first tag of an ARC-Authentication-Results (4.1.1), a tag of the
 *	tag-lists of the other two. An ARC-Seal signs, in relaxed form, the
 *	fields of every set up to its own in increasing instance order, AAR,
 *	AMS, AS each, its own with b= emptied and without CRLF (5.1.1).
 */
#include "arc_verify.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "sbuf.h"

const char *arc_result_name(enum arc_result r)
{
	static const char *const names[ARC_NRESULTS] = {"none", "pass",
							"fail"};

	return (unsigned)r < ARC_NRESULTS ? names[r] : "fail";
}

/* The instance of an AAR: "i=" digits, then ';' (RFC 8617 4.1.1). */
static int aar_instance(const char *v, const char *end)
{
	int n = 0, digits = 0;

	while (v < end && strchr(" \t\r\n", *v))
		v++;
	if (v == end || (*v != 'i' && *v != 'I'))
		return -1;
	v++;
	while (v < end && strchr(" \t\r\n", *v))
		v++;
	if (v == end || *v++ != '=')
		return -1;
	while (v < end && strchr(" \t\r\n", *v))
		v++;
	for (; v < end && isdigit((unsigned char)*v) && digits < 3; v++) {
		n = n * 10 + (*v - '0');
		digits++;
	}
	while (v < end && strchr(" \t\r\n", *v))
		v++;
	return digits && v < end && *v == ';' ? n : -1;
}

/* The instance of an AMS or AS: its i= tag. */
static int tag_instance(const char *v, const char *end)
{
	struct dkim_tag t[DKIM_MAX_TAGS];
	const struct dkim_tag *i;
	int nt, n = 0;
	size_t k;

	nt = dkim_tags_parse(v, (size_t)(end - v), t, DKIM_MAX_TAGS);
	i = nt < 0 ? NULL : dkim_tag_get(t, nt, "i");
	if (i == NULL || i->vlen == 0 || i->vlen > 3)
		return -1;
	for (k = 0; k < i->vlen; k++) {
		if (!isdigit((unsigned char)i->v[k]))
			return -1;
		n = n * 10 + (i->v[k] - '0');
	}
	return n;
}

int arc_sets_parse(const char *msg, size_t hlen, struct arc_sets *sets,
		   const char **why_r)
{
	static const struct {
		const char *name;
		size_t off;
	} kinds[] = {
		{"ARC-Authentication-Results", offsetof(struct arc_sets, aar)},
		{"ARC-Message-Signature", offsetof(struct arc_sets, ams)},
		{"ARC-Seal", offsetof(struct arc_sets, as)},
	};
	const char *p = msg, *end = msg + hlen, *colon;
	struct arc_field *f;
	size_t fl, k;
	int inst, n = 0, any = 0, i;

	memset(sets, 0, sizeof(*sets));
	while (p < end) {
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			break;
		fl = dkim_field_len(p, end);
		for (k = 0; k < 3; k++)
			if (dkim_field_is(p, fl, kinds[k].name,
					  strlen(kinds[k].name)))
				break;
		if (k < 3) {
			any = 1;
			colon = memchr(p, ':', fl);
			inst = k == 0 ? aar_instance(colon + 1, p + fl) :
			       tag_instance(colon + 1, p + fl);
			if (inst < 1 || inst > LIM_ARC_INSTANCE_MAX) {
				*why_r = "ARC instance missing or out of "
					 "1..50";
				return -1;
			}
			f = (struct arc_field *)((char *)sets + kinds[k].off);
			if (f[inst].p) {
				*why_r = "two ARC fields of one kind and "
					 "instance";
				return -1;
			}
			f[inst].p = p;
			f[inst].len = fl;
			if (inst > n)
				n = inst;
		}
		p += fl;
	}
	if (!any)
		return 0;
	for (i = 1; i <= n; i++)
		if (!sets->aar[i].p || !sets->ams[i].p || !sets->as[i].p) {
			*why_r = "incomplete ARC set or missing instance";
			return -1;
		}
	return n;
}

static void fail(struct arc_chain *c, const char *why)
{
	c->result = ARC_FAIL;
	snprintf(c->why, sizeof(c->why), "%s", why);
}

void arc_verify_prepare(struct arc_chain *c, const char *msg, size_t hlen,
			size_t len, time_t now)
{
	const char *why = "";
	struct dkim_sig *g;
	int i;

	c->result = ARC_NONE;
	c->oldest_pass = 0;
	c->why[0] = '\0';
	c->sigs = NULL;
	c->nsig = 0;
	c->n = arc_sets_parse(msg, hlen, &c->sets, &why);
	if (c->n < 0) {
		fail(c, why);
		return;
	}
	if (c->n == 0)
		return;
	/* the seals of 1..n, the AMS of n, then the older AMSs n-1..1 for
	 * header.oldest-pass */
	c->sigs = calloc(2 * (size_t)c->n, sizeof(*c->sigs));
	if (c->sigs == NULL) {
		fail(c, "out of memory");
		return;
	}
	c->nsig = 2 * (size_t)c->n;
	for (i = 0; i < 2 * c->n; i++) {
		const struct arc_field *f = i < c->n ? &c->sets.as[i + 1] :
					    &c->sets.ams[2 * c->n - i];

		g = &c->sigs[i];
		g->kind = i < c->n ? DKIM_KIND_SEAL : DKIM_KIND_AMS;
		g->hdr = f->p;
		g->hdr_len = f->len;
		dkim_sig_prepare(g, msg + hlen, msg + len, now);
	}
	g = &c->sigs[c->n - 1];
	/* 5.2 step 2, then the cv= of each set (step 3) */
	if (strcmp(g->cv, "fail") == 0) {
		fail(c, "the latest ARC-Seal says cv=fail");
		goto none_needed;
	}
	for (i = 0; i < c->n; i++)
		if (strcmp(c->sigs[i].cv, i == 0 ? "none" : "pass") != 0) {
			fail(c, "an ARC-Seal's cv= does not fit its instance");
			goto none_needed;
		}
	/* 4.1.2: an AMS must not sign the seals */
	if (strcasestr(c->sigs[c->n].h, "arc-seal")) {
		fail(c, "the ARC-Message-Signature signs ARC-Seal");
		goto none_needed;
	}
	c->result = ARC_PASS;	/* unless a signature fails */
	return;
none_needed:
	for (i = 0; i < 2 * c->n; i++)
		c->sigs[i].need_key = 0;
}

int arc_sets_canon(const struct arc_sets *sets, int upto, struct sbuf *out)
{
	int k;

	for (k = 1; k <= upto; k++)
		if (dkim_canon_header_relaxed(sets->aar[k].p, sets->aar[k].len,
					      out) < 0 ||
		    dkim_canon_header_relaxed(sets->ams[k].p, sets->ams[k].len,
					      out) < 0 ||
		    dkim_canon_header_relaxed(sets->as[k].p, sets->as[k].len,
					      out) < 0)
			return -1;
	return 0;
}

/* The hash data of the seal of instance inst (5.1.1). 0 or -1. */
static int seal_data(const struct arc_chain *c, int inst, struct sbuf *out)
{
	if (arc_sets_canon(&c->sets, inst - 1, out) < 0 ||
	    dkim_canon_header_relaxed(c->sets.aar[inst].p,
				      c->sets.aar[inst].len, out) < 0 ||
	    dkim_canon_header_relaxed(c->sets.ams[inst].p,
				      c->sets.ams[inst].len, out) < 0)
		return -1;
	return dkim_sig_self(&c->sigs[inst - 1], out);
}

void arc_verify_key(struct arc_chain *c, size_t i, const char *msg,
		    size_t hlen, const char *txt, size_t tlen)
{
	struct dkim_sig *g = &c->sigs[i];
	struct sbuf data;

	if (g->kind == DKIM_KIND_AMS) {
		dkim_verify_key(g, msg, hlen, txt, tlen);
		return;
	}
	sbuf_init(&data, hlen + 4096);
	if (seal_data(c, (int)i + 1, &data) < 0) {
		g->result = DKIM_PERMERROR;
		g->need_key = 0;
		snprintf(g->why, sizeof(g->why), "cannot build the seal hash");
	} else {
		dkim_verify_data(g, txt, tlen, data.data, data.len);
	}
	sbuf_free(&data);
}

enum arc_result arc_verify_result(struct arc_chain *c)
{
	size_t i, n = (size_t)c->n;

	c->oldest_pass = 0;
	if (c->result != ARC_PASS)
		return c->result;
	/* 5.2 step 4 (the latest AMS), then step 6 (every seal) */
	for (i = n + 1; i-- > 0;)
		if (c->sigs[i].result != DKIM_PASS) {
			snprintf(c->why, sizeof(c->why), "%s i=%d: %.48s",
				 c->sigs[i].kind == DKIM_KIND_SEAL ?
				 "ARC-Seal" : "ARC-Message-Signature",
				 c->sigs[i].instance, c->sigs[i].why[0] ?
				 c->sigs[i].why : dkim_result_name(
					 c->sigs[i].result));
			c->result = ARC_FAIL;
			return c->result;
		}
	/* 5.2: the older AMSs from n-1 down; the first that fails
	 * makes the one above it the oldest passing; all pass: 0 */
	for (i = n + 1; i < 2 * n; i++)
		if (c->sigs[i].result != DKIM_PASS) {
			c->oldest_pass = c->sigs[i].instance + 1;
			break;
		}
	return c->result;
}

void arc_chain_free(struct arc_chain *c)
{
	free(c->sigs);
	c->sigs = NULL;
	c->nsig = 0;
}
