/*
 * NAME
 *	admin_session - login sessions and their CSRF tokens
 * DESCRIPTION
 *	A fixed table in memory, its logged-in sessions also kept in
 *	state_dir/sessions (mode 0600, written whole through the durable
 *	writer), so a restart of sluice-admin logs nobody out. A session id
 *	and its CSRF token are 32 bytes from the CSPRNG each, in hex. Only
 *	the SHA-256 of the id is kept (in memory once the cookie is set,
 *	and in the file): a copy of the file names no cookie. A file line
 *	is "HASH<TAB>CSRF<TAB>EXPIRES<TAB>ROLE<TAB>USER", each field
 *	checked again when read; expired sessions are dropped when the
 *	file is read and whenever it is written; logout removes its line.
 *	The role is recorded for the operator: what a session may do is
 *	looked up in the directory on every request, so a revoked admin
 *	loses it at once. The cookie is Secure, HttpOnly and
 *	SameSite=Strict. A cookie the client brings is only ever looked up,
 *	never adopted: login makes a new session and ends the one of the
 *	login form (no session fixation). Hashes and tokens are compared in
 *	constant time. Used by the HTTP thread only (and by main before it
 *	starts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "log.h"
#include "tls.h"

#include "admin.h"

#define SESS_MAX 1024
#define SESS_FILE "sessions"
/* a session's expiry in the file moves on when it is used this long
 * after the last write (not on every request) */
#define SESS_SAVE_EVERY 60

static struct admin_sess table[SESS_MAX];
static char state_dir[4096];	/* "" before admin_sess_open(): no file */
static long long timeout;	/* session_timeout */

/* 1 when the n bytes at a and b are equal, in time that depends on n
 * only */
static int same_bytes(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return d == 0;
}

static int is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int random_hex(char out[65])
{
	unsigned char b[32];

	if (tls_random(b, sizeof(b)) < 0)
		return -1;
	hex_of(b, sizeof(b), out);
	explicit_bzero(b, sizeof(b));
	return 0;
}

/* Write every logged-in session to the file (the expired ended in
 * admin_sess_find() or were never read). */
static void save(void)
{
	struct sbuf b;
	struct iovec iov;
	char h[65];
	size_t i;

	if (!state_dir[0])
		return;
	sbuf_init(&b, (size_t)SESS_MAX * (LIM_PATH + 200));
	sbuf_puts(&b, "");
	for (i = 0; i < SESS_MAX; i++) {
		struct admin_sess *s = &table[i];

		if (!s->used || !s->user[0])
			continue;
		hex_of(s->hash, sizeof(s->hash), h);
		s->saved = s->seen;
		sbuf_printf(&b, "%s\t%s\t%lld\t%s\t%s\n", h, s->csrf,
			    (long long)s->seen + timeout, s->role, s->user);
	}
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	if (b.data == NULL ||
	    durable_write_file(state_dir, SESS_FILE, &iov, 1) < 0)
		log_warn("%s/%s: cannot write the sessions: %m", state_dir,
			 SESS_FILE);
	if (b.data)
		explicit_bzero(b.data, b.len);
	sbuf_free(&b);
}

/* One line of the file (newline removed) into the next free slot; 0,
 * or -1 when it is malformed. An expired session is skipped. */
static int load_line(char *line, time_t now, size_t *slot)
{
	char *f[5], *p = line, *end;
	struct admin_sess *s;
	long long exp;
	size_t i;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		if (i < 4) {
			if ((p = strchr(p, '\t')) == NULL)
				return -1;
			*p++ = '\0';
		}
	}
	errno = 0;
	exp = strtoll(f[2], &end, 10);
	if (!is_hex64(f[0]) || !is_hex64(f[1]) || end == f[2] || *end ||
	    errno || strlen(f[3]) >= sizeof(s->role) || !f[4][0] ||
	    strlen(f[4]) > LIM_PATH ||
	    strcspn(f[4], "\t\r <>\"&'") != strlen(f[4]))
		return -1;
	if (exp <= (long long)now || *slot >= SESS_MAX)
		return 0;
	s = &table[(*slot)++];
	memset(s, 0, sizeof(*s));
	for (i = 0; i < 32; i++) {
		char two[3] = {f[0][2 * i], f[0][2 * i + 1], '\0'};

		s->hash[i] = (unsigned char)strtoul(two, NULL, 16);
	}
	snprintf(s->csrf, sizeof(s->csrf), "%s", f[1]);
	snprintf(s->role, sizeof(s->role), "%s", f[3]);
	snprintf(s->user, sizeof(s->user), "%s", f[4]);
	/* seen such that seen + timeout is the expiry written */
	s->seen = s->saved = (time_t)(exp - timeout);
	s->used = 1;
	return 0;
}

void admin_sess_open(struct admin *a)
{
	char path[4200], line[LIM_PATH + 300];
	time_t now = time(NULL);
	size_t slot = 0, bad = 0, n;
	FILE *f;

	timeout = a->cfg->session_timeout;
	if ((size_t)snprintf(state_dir, sizeof(state_dir), "%s",
			     a->cfg->state_dir) >= sizeof(state_dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
			     SESS_FILE) >= sizeof(path))
		log_fatal("state_dir too long");
	/* the one writer is this process: a temporary file left by a
	 * crash would refuse every write */
	{
		char tmp[4200];

		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", state_dir, SESS_FILE);
		unlink(tmp);
	}
	f = fopen(path, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("%s: cannot read the sessions: %m", path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			bad++;
			continue;
		}
		line[n - 1] = '\0';
		if (load_line(line, now, &slot) < 0)
			bad++;
	}
	fclose(f);
	explicit_bzero(line, sizeof(line));
	if (bad)
		log_warn("%s: %zu bad line(s) left out", path, bad);
	log_info("%zu session(s) kept from %s", slot, path);
	save();		/* without the expired and the bad ones */
}

struct admin_sess *admin_sess_find(struct admin *a, struct admin_req *r)
{
	const char *id = admin_cookie(r, "sid");
	time_t now = time(NULL);
	struct admin_sess *found = NULL;
	unsigned char h[32];
	size_t i;

	if (id == NULL || !is_hex64(id))
		return NULL;
	tls_sha256(id, 64, h);
	for (i = 0; i < SESS_MAX; i++) {
		struct admin_sess *s = &table[i];

		if (!s->used)
			continue;
		if (now - s->seen > (time_t)a->cfg->session_timeout) {
			admin_sess_end(s);
			continue;
		}
		if (same_bytes(s->hash, h, sizeof(h)))
			found = s;
	}
	if (found) {
		found->seen = now;
		if (found->user[0] && now - found->saved >= SESS_SAVE_EVERY)
			save();
	}
	return found;
}

/* What user may do, as the directory says at login. */
static void set_role(struct admin *a, struct admin_sess *s)
{
	const char *p[] = {s->user, NULL};

	snprintf(s->role, sizeof(s->role), "%s",
		 admin_is_super(a, s->user) ? "super"
		 : admin_count(a, DQ_ADMIN_ROWS, p) > 0 ? "domain"
		 : "user");
}

struct admin_sess *admin_sess_new(struct admin *a, const char *user)
{
	struct admin_sess *s = NULL;
	size_t i;

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
	admin_sess_end(s);
	if (random_hex(s->id) < 0 || random_hex(s->csrf) < 0) {
		explicit_bzero(s, sizeof(*s));
		return NULL;
	}
	tls_sha256(s->id, 64, s->hash);
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->seen = time(NULL);
	s->used = 1;
	if (user[0]) {
		set_role(a, s);
		save();
	}
	return s;
}

void admin_sess_end(struct admin_sess *s)
{
	int kept = s->used && s->user[0];

	explicit_bzero(s, sizeof(*s));
	if (kept)
		save();
}

void admin_sess_cookie(const struct admin_sess *s, char *out, size_t n)
{
	if (s && s->used && s->id[0])
		snprintf(out, n, "sid=%s; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict", s->id);
	else
		snprintf(out, n, "sid=; Path=/; Secure; HttpOnly; "
			 "SameSite=Strict; Max-Age=0");
}

int admin_sess_csrf_ok(const struct admin_sess *s, const char *token)
{
	return s && s->used && token && s->csrf[0] &&
	       strlen(token) == strlen(s->csrf) &&
	       same_bytes(s->csrf, token, strlen(token));
}
