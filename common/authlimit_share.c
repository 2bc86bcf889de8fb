/*
 * NAME
 *	authlimit_share - failed logins shared by the servers of a pair
 * DESCRIPTION
 *	Joins an authlimit table to a shstate (Redis) stream: every failure
 *	and success recorded here goes out as an "authfail" or "authok"
 *	event on its key (already normalised by authlimit_user_key() or
 *	authlimit_ip_key()), and every other server's event is applied
 *	here, so a user locked out on one server is locked out on all.
 *	Kept apart from authlimit.c so that only the stages that share
 *	state link hiredis. Base layer.
 */
#include "authlimit_share.h"

#include "authlimit.h"
#include "log.h"
#include "shstate.h"

static void publish(void *arg, int ok, const char *key)
{
	shstate_publish(arg, ok ? "authok" : "authfail", key, 1);
}

static void on_fail(void *arg, const char *key, long long n, uint64_t at)
{
	authlimit_note(arg, 0, key, at);
}

static void on_ok(void *arg, const char *key, long long n, uint64_t at)
{
	authlimit_note(arg, 1, key, at);
}

int authlimit_share(struct authlimit *al, struct shstate *sh)
{
	if (shstate_on(sh, "authfail", on_fail, al) < 0 ||
	    shstate_on(sh, "authok", on_ok, al) < 0)
		return -1;
	authlimit_on_change(al, publish, sh);
	return 0;
}

struct shstate *authlimit_share_start(struct evloop *l, const char *addr,
				      uint64_t window_ms,
				      struct authlimit *al)
{
	struct shstate *sh;
	char err[256];

	if (addr == NULL || addr[0] == '\0')
		return NULL;
	sh = shstate_new(l, addr, window_ms, err, sizeof(err));
	if (sh == NULL || authlimit_share(al, sh) < 0)
		log_fatal("%s", sh ? "shared state: no room" : err);
	return sh;
}
