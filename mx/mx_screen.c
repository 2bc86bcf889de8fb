/*
 * NAME
 *	mx_screen - connection screening of stage A, postscreen-style
 * DESCRIPTION
 *	At connect, in this order: client_allow (everything below is
 *	skipped), client_block and the spam-trap holds (554 5.7.1), the
 *	connection rate per client network (421 4.7.0), then the greet
 *	pause, skipped for a client on the temporary pass list. The
 *	engine reports protocol violations (early talk, unasked
 *	pipelining, HTTP or header lines as commands, bare LF); with
 *	protocol_tests each ends the session. A client that sat out the
 *	pause and broke no test is put on the pass list for
 *	screen_pass_time when its session ends, so good clients pay the
 *	pause once. Also the helpers the other screening files share.
 *	Faces the network through the hooks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "daemon.h"
#include "evloop.h"
#include "greylist.h"
#include "greylist_share.h"
#include "shstate.h"
#include "log.h"
#include "mx.h"
#include "netmatch.h"
#include "ratemap.h"
#include "smtp_guard.h"

/* Clients and senders remembered at once, per map. */
#define MX_MAP_ENTRIES 100000

struct mx_counters mx_counters;

struct mx *mx_screen_mx(struct smtp_session *s)
{
	return smtp_server_ctx(s->srv);
}

uint64_t mx_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int mx_reject(struct smtp_session *s, const char *what, const char *rcpt,
	      struct smtp_reply *r, int code, const char *ecode,
	      const char *fmt, ...)
{
	char text[sizeof(r->text)], sfrom[300], sto[300], shelo[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_reply_set(r, code, ecode, "%s", text);
	log_safe(sfrom, sizeof(sfrom), s->env.from ? s->env.from : "");
	log_safe(sto, sizeof(sto), rcpt ? rcpt : "");
	log_safe(shelo, sizeof(shelo), s->helo ? s->helo : "");
	log_safe(text, sizeof(text), r->text);
	log_info("%s: reject: %s from [%s]: %d %s %s; from=<%s> to=<%s> "
		 "helo=<%s>", s->id, what, s->client_addr, code, ecode, text,
		 sfrom, sto, shelo);
	return -1;
}

int mx_addr_listed(char *const *list, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *domain = at ? at + 1 : addr;

	for (; list && *list; list++) {
		if ((*list)[0] == '@' ? strcasecmp(*list + 1, domain) == 0 :
		    strchr(*list, '@') ? strcasecmp(*list, addr) == 0 :
		    strcasecmp(*list, domain) == 0)
			return 1;
	}
	return 0;
}

static char **list_or_die(const char *key, const char *value)
{
	char **l = config_list(value);

	if (l == NULL)
		log_fatal("%s: out of memory", key);
	return l;
}

static struct ratemap *map_or_die(void)
{
	struct ratemap *m = ratemap_new(MX_MAP_ENTRIES);

	if (m == NULL)
		log_fatal("out of memory");
	return m;
}

/* The folder of a state file, made now (as root: owned by the user). */
static void state_dir(const char *path, const char *user)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return;
	if ((size_t)(slash - path) >= sizeof(dir))
		log_fatal("%s: path too long", path);
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	daemon_state_dir(dir, user);
}

void mx_screen_init(struct mx *mx)
{
	const struct mx_screen_config *c = &mx->cfg->screen;
	struct mx_screen *x = &mx->screen;

	x->client_allow = list_or_die("client_allow", c->client_allow);
	x->client_block = list_or_die("client_block", c->client_block);
	x->sender_allow = list_or_die("sender_allow", c->sender_allow);
	x->sender_block = list_or_die("sender_block", c->sender_block);
	x->spam_traps = list_or_die("spam_traps", c->spam_traps);
	x->conn_rate = map_or_die();
	x->passed = map_or_die();
	x->trapped = map_or_die();
	x->senders = map_or_die();
	x->header_checks = mx_checks_load(c->header_checks);
	x->body_checks = mx_checks_load(c->body_checks);
	if (c->greylist && c->greylist_db[0])
		state_dir(c->greylist_db, mx->cfg->smtp.user);
	if (c->screen_state[0])
		state_dir(c->screen_state, mx->cfg->smtp.user);
	mx_dnsbl_init(mx);
}

void mx_screen_open(struct mx *mx)
{
	const struct mx_screen_config *c = &mx->cfg->screen;
	struct greylist_cfg gc;
	char err[512];

	if (mx->cfg->smtp.redis_server[0] != '\0') {
		mx->screen.sh = shstate_new(mx->loop,
					    mx->cfg->smtp.redis_server,
					    mx_share_window(mx), err,
					    sizeof(err));
		if (mx->screen.sh == NULL)
			log_fatal("%s", err);
		if (mx_share_start(mx) < 0)
			log_fatal("shared state: no room");
	}
	mx_dnsbl_open(mx);
	mx_state_start(mx);
	if (!c->greylist)
		return;
	if (c->greylist_db[0] == '\0')
		log_fatal("greylist = yes needs greylist_db");
	gc.delay_ms = (uint64_t)c->greylist_delay * 1000;
	gc.retry_window_ms = (uint64_t)c->greylist_retry_window * 1000;
	gc.lifetime_ms = (uint64_t)c->greylist_lifetime * 1000;
	mx->screen.grey = greylist_open(c->greylist_db, &gc, err, sizeof(err));
	if (mx->screen.grey == NULL)
		log_fatal("greylist_db: %s", err);
	if (mx->screen.sh == NULL)
		return;
	mx->screen.grey_share = greylist_share_new(mx->screen.sh, &gc,
						   mx->screen.grey);
	if (mx->screen.grey_share == NULL)
		log_fatal("out of memory");
}

void mx_screen_free(struct mx *mx)
{
	struct mx_screen *x = &mx->screen;

	config_list_free(x->client_allow);
	config_list_free(x->client_block);
	config_list_free(x->sender_allow);
	config_list_free(x->sender_block);
	config_list_free(x->spam_traps);
	mx_state_stop(mx);
	ratemap_free(&x->conn_rate);
	ratemap_free(&x->passed);
	ratemap_free(&x->trapped);
	ratemap_free(&x->senders);
	/* first: answers on their way come back (from the local store) */
	shstate_free(&x->sh);
	greylist_share_free(&x->grey_share);
	greylist_close(&x->grey);
	mx_checks_free(&x->header_checks);
	mx_checks_free(&x->body_checks);
	mx_dnsbl_free(mx);
}

int mx_screen_connect(struct smtp_session *s, struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	const struct smtp_guard_config *g = &mx->cfg->smtp.guard;
	struct mx_screen *x = &mx->screen;
	struct mx_screen_sess *ss = calloc(1, sizeof(*ss));
	uint64_t now = evloop_now(mx->loop);
	int hold;

	s->screen = ss;
	if (ss == NULL)
		return smtp_reply_set(r, 421, "4.3.0", "%s Error: out of "
				      "memory", mx->cfg->smtp.hostname);
	if (netmatch_list(x->client_allow, s->client_addr)) {
		mx_counters.allowlisted++;
		ss->allowed = 1;
		s->greet_pause_ms = 0;
		return 0;
	}
	if (netmatch_list(x->client_block, s->client_addr)) {
		mx_counters.client_blocked++;
		return mx_reject(s, "CONNECT", NULL, r, 554, "5.7.1", "Client "
				 "host [%s] blocked using client_block",
				 s->client_addr);
	}
	if (ratemap_held(x->trapped, s->client_addr, now)) {
		mx_counters.trap_blocked++;
		return mx_reject(s, "CONNECT", NULL, r, 554, "5.7.1", "Client "
				 "host [%s] blocked: mail to a spam trap",
				 s->client_addr);
	}
	if (smtp_guard_conn_rate(x->conn_rate, s->client_addr, now,
				 g->connection_rate_limit,
				 g->connection_rate_window)) {
		mx_share_conn(mx, s->client_addr);
		mx_counters.connection_rate++;
		return mx_reject(s, "CONNECT", NULL, r, 421, "4.7.0", "%s Error:"
				 " too many connections from [%s]",
				 mx->cfg->smtp.hostname, s->client_addr);
	}
	if (g->connection_rate_limit > 0)
		mx_share_conn(mx, s->client_addr);
	if ((hold = mx_dnsbl_start(s, r)) < 0)
		return -1;
	if (s->greet_pause_ms > 0 && ratemap_held(x->passed, s->client_addr,
						  now)) {
		mx_counters.greet_skipped++;
		s->greet_pause_ms = 0;
	} else if (s->greet_pause_ms > 0) {
		mx_counters.greet_paused++;
		ss->paused = 1;
	}
	return hold;
}

int mx_screen_violation(struct smtp_session *s, enum smtp_violation v,
			struct smtp_reply *r)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;
	const char *what = "bare newline";

	if (ss == NULL || ss->allowed)
		return 0;
	ss->violated = 1;
	switch (v) {
	case SMTP_V_PREGREET:
		mx_counters.pregreet++;
		what = "talked before the greeting";
		break;
	case SMTP_V_PIPELINING:
		mx_counters.pipelining++;
		what = "pipelining before EHLO's reply";
		break;
	case SMTP_V_NON_SMTP:
		mx_counters.non_smtp++;
		what = "non-SMTP command";
		break;
	case SMTP_V_BARE_NEWLINE:
		mx_counters.bare_newline++;
		break;
	}
	if (!mx->cfg->screen.protocol_tests) {
		log_info("%s: [%s]: %s (protocol_tests = no)", s->id,
			 s->client_addr, what);
		return 0;
	}
	return mx_reject(s, "CONNECT", NULL, r, v == SMTP_V_PREGREET ? 554 :
			 550, "5.5.1", "Error: protocol violation: %s",
			 what);
}

void mx_screen_close(struct smtp_session *s)
{
	struct mx *mx = mx_screen_mx(s);
	struct mx_screen_sess *ss = s->screen;
	const struct mx_screen_config *c = &mx->cfg->screen;

	if (ss == NULL)
		return;
	mx_dnsbl_detach(s);
	mx_grey_detach(s);
	if (ss->paused && ss->helo_seen && !ss->violated &&
	    c->screen_pass_time > 0 &&
	    !ratemap_held(mx->screen.trapped, s->client_addr,
			  evloop_now(mx->loop))) {
		mx_counters.screen_passed++;
		ratemap_hold(mx->screen.passed, s->client_addr,
			     evloop_now(mx->loop) +
			     (uint64_t)c->screen_pass_time * 1000);
		mx_share_pass(mx, s->client_addr, c->screen_pass_time);
	}
	free(ss);
	s->screen = NULL;
}
