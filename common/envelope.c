/*
 * NAME
 *	envelope - the SMTP envelope of one message, and its record format
 * DESCRIPTION
 *	Record: a version byte, then fields, each u8 tag, u32 little-endian
 *	length, bytes. Strings carry no NUL; numbers are decimal text.
 *	Recipient fields follow an ENV_RCPT marker and belong to it.
 *	Decoding trusts nothing: lengths, limits, enums and tags are checked.
 */
#include "envelope.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_rfc.h"

#define ENV_VERSION 1

enum env_tag {
	T_FROM = 1, T_ENVID, T_RET, T_BODY, T_UTF8, T_SIZE, T_CADDR, T_CNAME,
	T_HELO, T_AUTH, T_ENTERED, T_ARRIVAL, T_DELAYN,
	T_RCPT = 32, T_R_ORCPT, T_R_NOTIFY, T_R_STATE, T_R_REPLY,
};

int envelope_add_rcpt(struct envelope *e, const char *addr, const char *orcpt,
		      unsigned notify)
{
	struct rcpt *r;

	if (e->nrcpt >= LIM_RCPT_MAX)
		return -1;
	r = realloc(e->rcpts, (e->nrcpt + 1) * sizeof(*r));
	if (r == NULL)
		return -1;
	e->rcpts = r;
	r = &e->rcpts[e->nrcpt];
	memset(r, 0, sizeof(*r));
	r->addr = strdup(addr);
	r->orcpt = orcpt ? strdup(orcpt) : NULL;
	r->notify = notify;
	if (r->addr == NULL || (orcpt && r->orcpt == NULL)) {
		free(r->addr);
		free(r->orcpt);
		return -1;
	}
	return (int)e->nrcpt++;
}

static void rcpt_free(struct rcpt *r)
{
	free(r->addr);
	free(r->orcpt);
	free(r->last_reply);
}

void envelope_keep(struct envelope *e, const unsigned char *keep)
{
	size_t i, n = 0;

	for (i = 0; i < e->nrcpt; i++) {
		if (keep[i])
			e->rcpts[n++] = e->rcpts[i];
		else
			rcpt_free(&e->rcpts[i]);
	}
	e->nrcpt = n;
}

void envelope_free(struct envelope *e)
{
	size_t i;

	for (i = 0; i < e->nrcpt; i++)
		rcpt_free(&e->rcpts[i]);
	free(e->rcpts);
	free(e->from);
	free(e->envid);
	free(e->client_addr);
	free(e->client_name);
	free(e->helo);
	free(e->auth_user);
	free(e->entered_by);
	memset(e, 0, sizeof(*e));
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int envelope_copy(struct envelope *dst, const struct envelope *src)
{
	size_t i;
	int bad = 0;

	memset(dst, 0, sizeof(*dst));
	bad |= dup_opt(&dst->from, src->from ? src->from : "");
	bad |= dup_opt(&dst->envid, src->envid);
	bad |= dup_opt(&dst->client_addr, src->client_addr);
	bad |= dup_opt(&dst->client_name, src->client_name);
	bad |= dup_opt(&dst->helo, src->helo);
	bad |= dup_opt(&dst->auth_user, src->auth_user);
	bad |= dup_opt(&dst->entered_by, src->entered_by);
	dst->ret = src->ret;
	dst->body = src->body;
	dst->smtputf8 = src->smtputf8;
	dst->size = src->size;
	dst->arrival = src->arrival;
	dst->delay_notified = src->delay_notified;
	for (i = 0; i < src->nrcpt && !bad; i++) {
		const struct rcpt *r = &src->rcpts[i];
		int k = envelope_add_rcpt(dst, r->addr, r->orcpt, r->notify);

		if (k < 0) {
			bad = 1;
			break;
		}
		dst->rcpts[k].state = r->state;
		bad |= dup_opt(&dst->rcpts[k].last_reply, r->last_reply);
	}
	if (bad) {
		envelope_free(dst);
		return -1;
	}
	return 0;
}

static int put(struct sbuf *out, int tag, const void *p, size_t n)
{
	unsigned char h[5];

	if (n > UINT32_MAX)
		return -1;
	h[0] = (unsigned char)tag;
	h[1] = (unsigned char)(n & 0xff);
	h[2] = (unsigned char)((n >> 8) & 0xff);
	h[3] = (unsigned char)((n >> 16) & 0xff);
	h[4] = (unsigned char)((n >> 24) & 0xff);
	if (sbuf_append(out, h, 5) < 0)
		return -1;
	return sbuf_append(out, p, n);
}

static int put_str(struct sbuf *out, int tag, const char *s)
{
	return s ? put(out, tag, s, strlen(s)) : 0;
}

static int put_num(struct sbuf *out, int tag, long long v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld", v);

	return put(out, tag, buf, (size_t)n);
}

int envelope_encode(const struct envelope *e, struct sbuf *out)
{
	unsigned char v = ENV_VERSION;
	size_t i;
	int bad = 0;

	bad |= sbuf_append(out, &v, 1);
	bad |= put_str(out, T_FROM, e->from ? e->from : "");
	bad |= put_str(out, T_ENVID, e->envid);
	bad |= put_num(out, T_RET, e->ret);
	bad |= put_num(out, T_BODY, e->body);
	bad |= put_num(out, T_UTF8, e->smtputf8);
	bad |= put_num(out, T_SIZE, e->size);
	bad |= put_str(out, T_CADDR, e->client_addr);
	bad |= put_str(out, T_CNAME, e->client_name);
	bad |= put_str(out, T_HELO, e->helo);
	bad |= put_str(out, T_AUTH, e->auth_user);
	bad |= put_str(out, T_ENTERED, e->entered_by);
	bad |= put_num(out, T_ARRIVAL, (long long)e->arrival);
	bad |= put_num(out, T_DELAYN, e->delay_notified);
	for (i = 0; i < e->nrcpt; i++) {
		const struct rcpt *r = &e->rcpts[i];

		bad |= put_str(out, T_RCPT, r->addr);
		bad |= put_str(out, T_R_ORCPT, r->orcpt);
		bad |= put_num(out, T_R_NOTIFY, r->notify);
		bad |= put_num(out, T_R_STATE, r->state);
		bad |= put_str(out, T_R_REPLY, r->last_reply);
	}
	return bad ? -1 : 0;
}

/* Copy a field into a new string, refusing NULs and over-long values. */
static int get_str(char **dst, const char *p, size_t n, size_t max)
{
	if (n > max || memchr(p, '\0', n) != NULL || *dst != NULL)
		return -1;
	*dst = strndup(p, n);
	return *dst ? 0 : -1;
}

static int get_num(const char *p, size_t n, long long min, long long max,
		   long long *v)
{
	char buf[24];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*v = strtoll(buf, &end, 10);
	return (*end != '\0' || *v < min || *v > max) ? -1 : 0;
}

int envelope_decode(struct envelope *e, const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t off = 1, len;
	struct rcpt *r = NULL;
	long long v;
	int tag, rc = 0;

	if (n < 1 || u[0] != ENV_VERSION)
		return -1;
	while (off < n && rc == 0) {
		if (n - off < 5) {
			rc = -1;
			break;
		}
		tag = u[off];
		len = (size_t)u[off + 1] | (size_t)u[off + 2] << 8 |
		      (size_t)u[off + 3] << 16 | (size_t)u[off + 4] << 24;
		off += 5;
		if (len > n - off) {
			rc = -1;
			break;
		}
		p = (const char *)u + off;
		off += len;
		if (tag >= T_R_ORCPT && r == NULL) {
			rc = -1;
			break;
		}
		switch (tag) {
		case T_FROM:
			rc = get_str(&e->from, p, len, LIM_PATH);
			break;
		case T_ENVID:
			rc = get_str(&e->envid, p, len, LIM_ENVID);
			break;
		case T_RET:
			rc = get_num(p, len, 0, DSN_RET_HDRS, &v);
			e->ret = (enum dsn_ret)v;
			break;
		case T_BODY:
			rc = get_num(p, len, 0, BODY_8BITMIME, &v);
			e->body = (enum body_type)v;
			break;
		case T_UTF8:
			rc = get_num(p, len, 0, 1, &v);
			e->smtputf8 = (int)v;
			break;
		case T_SIZE:
			rc = get_num(p, len, 0, LIM_MSG_SIZE_MAX, &v);
			e->size = v;
			break;
		case T_CADDR:
			rc = get_str(&e->client_addr, p, len, 64);
			break;
		case T_CNAME:
			rc = get_str(&e->client_name, p, len, LIM_DOMAIN);
			break;
		case T_HELO:
			rc = get_str(&e->helo, p, len, LIM_DOMAIN);
			break;
		case T_AUTH:
			rc = get_str(&e->auth_user, p, len, LIM_PATH);
			break;
		case T_ENTERED:
			rc = get_str(&e->entered_by, p, len, 32);
			break;
		case T_ARRIVAL:
			rc = get_num(p, len, 0, INT64_MAX / 2, &v);
			e->arrival = (time_t)v;
			break;
		case T_DELAYN:
			rc = get_num(p, len, 0, 1, &v);
			e->delay_notified = (int)v;
			break;
		case T_RCPT: {
			char *a = NULL;

			rc = get_str(&a, p, len, LIM_PATH);
			if (rc == 0 && envelope_add_rcpt(e, a, NULL, 0) < 0)
				rc = -1;
			free(a);
			r = rc == 0 ? &e->rcpts[e->nrcpt - 1] : NULL;
			break;
		}
		case T_R_ORCPT:
			rc = get_str(&r->orcpt, p, len, LIM_ORCPT);
			break;
		case T_R_NOTIFY:
			rc = get_num(p, len, 0, 15, &v);
			r->notify = (unsigned)v;
			break;
		case T_R_STATE:
			rc = get_num(p, len, RCPT_PENDING, RCPT_FAILED, &v);
			r->state = (enum rcpt_state)v;
			break;
		case T_R_REPLY:
			rc = get_str(&r->last_reply, p, len, 1024);
			break;
		default:
			rc = -1;
			break;
		}
	}
	if (rc == 0 && e->from == NULL)
		rc = -1;
	if (rc < 0)
		envelope_free(e);
	return rc;
}
