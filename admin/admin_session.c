/*
 * NAME
 *	admin_session - login sessions and their CSRF tokens
 * DESCRIPTION
 *	A fixed table in memory (a restart logs everyone out). A session id
 *	and its CSRF token are 32 bytes from the CSPRNG each, in hex. The
 *	cookie is Secure, HttpOnly and SameSite=Strict. A cookie the
 *	client brings is only ever looked up, never adopted: login makes a
 *	new session and ends the one of the login form (no session
 *	fixation). Ids and tokens are compared in constant time. Used by
 *	the HTTP thread only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tls.h"

#include "admin.h"

#define SESS_MAX 1024

static struct admin_sess table[SESS_MAX];

/* 1 when a and b (NUL-terminated) are equal, in time that depends on
 * their lengths only */
static int same(const char *a, const char *b)
{
	size_t i, n = strlen(a);
	unsigned char d = 0;

	if (n != strlen(b))
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int random_hex(char out[65])
{
	unsigned char b[32];
	size_t i;

	if (tls_random(b, sizeof(b)) < 0)
		return -1;
	for (i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	explicit_bzero(b, sizeof(b));
	return 0;
}

struct admin_sess *admin_sess_find(struct admin *a, struct admin_req *r)
{
	const char *id = admin_cookie(r, "sid");
	time_t now = time(NULL);
	struct admin_sess *found = NULL;
	size_t i;

	if (id == NULL || strlen(id) != 64)
		return NULL;
	for (i = 0; i < SESS_MAX; i++) {
		struct admin_sess *s = &table[i];

		if (!s->used)
			continue;
		if (now - s->seen > (time_t)a->cfg->session_timeout) {
			admin_sess_end(s);
			continue;
		}
		if (same(s->id, id))
			found = s;
	}
	if (found)
		found->seen = now;
	return found;
}

struct admin_sess *admin_sess_new(struct admin *a, const char *user)
{
	struct admin_sess *s = NULL;
	size_t i;

	(void)a;
	for (i = 0; i < SESS_MAX; i++)
		if (!table[i].used) {
			s = &table[i];
			break;
		}
	/* full: the session idle longest makes room */
	if (s == NULL) {
		s = &table[0];
		for (i = 1; i < SESS_MAX; i++)
			if (table[i].seen < s->seen)
				s = &table[i];
		log_warn("session table full: the oldest session ends");
	}
	memset(s, 0, sizeof(*s));
	if (random_hex(s->id) < 0 || random_hex(s->csrf) < 0) {
		memset(s, 0, sizeof(*s));
		return NULL;
	}
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->seen = time(NULL);
	s->used = 1;
	return s;
}

void admin_sess_end(struct admin_sess *s)
{
	explicit_bzero(s, sizeof(*s));
}

void admin_sess_cookie(const struct admin_sess *s, char *out, size_t n)
{
	if (s && s->used)
		snprintf(out, n, "sid=%s; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict", s->id);
	else
		snprintf(out, n, "sid=; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict; Max-Age=0");
}

int admin_sess_csrf_ok(const struct admin_sess *s, const char *token)
{
	return s && s->used && token && s->csrf[0] && same(s->csrf, token);
}
