/*
 * NAME
 *	smtp_server_dead - the SMTP/LMTP server playing dead
 * DESCRIPTION
 *	What playdead.h's modes look like on an SMTP or LMTP session (the
 *	listeners are playdead.c's): refuse drops every session, hang stops
 *	reading, 421 answers "421 4.3.2" and closes, slow holds every batch
 *	of input (and the greeting) back for the delay. A session waiting
 *	for its message to be committed is left to get its answer: it meets
 *	the mode at its next command. Servers live until the loop ends, so
 *	the watcher is never removed. Mail layer.
 */
#include <stdlib.h>

#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "playdead.h"
#include "smtp_server_int.h"

static void say_421(struct srv_session *ss)
{
	srv_reply(ss, 421, "4.3.2", "%s Service not available, closing "
		  "transmission channel", ss->pub.srv->cfg.hostname);
	srv_hangup(ss);
	conn_flush(ss->c);
}

static void on_change(void *arg, enum playdead_mode m)
{
	struct smtp_server *srv = arg;
	struct srv_session *ss, *next;

	for (ss = srv->sessions; ss; ss = next) {
		next = ss->next;
		if (m == PD_REFUSE) {
			srv_session_free(ss);
		} else if (m == PD_421 && ss->state != ST_WAIT &&
			   ss->state != ST_QUIT) {
			say_421(ss);
		} else if (m == PD_NONE && ss->dead_paused &&
			   ss->slow_timer == NULL) {
			ss->dead_paused = 0;
			conn_resume(ss->c);
		}
	}
}

void srv_dead_init(struct smtp_server *srv)
{
	playdead_watch(on_change, srv);
}

static void slow_over(void *arg)
{
	struct srv_session *ss = arg;

	ss->slow_timer = NULL;
	ss->dead_paused = 0;
	ss->slow_ok = 1;
	conn_resume(ss->c);
}

/* Hold ss's input back for the delay of slow. */
static void hold(struct srv_session *ss)
{
	conn_pause(ss->c);
	ss->dead_paused = 1;
	if (ss->slow_timer == NULL)
		ss->slow_timer = evloop_timer(ss->pub.srv->loop,
					      playdead_delay_ms(), slow_over,
					      ss);
}

static void greet_late(void *arg)
{
	struct srv_session *ss = arg;

	ss->slow_timer = NULL;
	ss->dead_paused = 0;
	srv_greet(ss);
	conn_flush(ss->c);
	conn_resume(ss->c);
}

int srv_dead_accept(struct srv_session *ss)
{
	switch (playdead_mode()) {
	case PD_421:
		say_421(ss);
		return 1;
	case PD_SLOW:
		if (ss->pub.srv->cfg.implicit_tls)
			return 0;
		conn_pause(ss->c);
		ss->dead_paused = 1;
		ss->slow_timer = evloop_timer(ss->pub.srv->loop,
					      playdead_delay_ms(), greet_late,
					      ss);
		return 1;
	default:
		return 0;
	}
}

int srv_dead_read(struct srv_session *ss)
{
	if (ss->state == ST_QUIT)
		return 0;
	switch (playdead_mode()) {
	case PD_HANG:
		conn_pause(ss->c);
		ss->dead_paused = 1;
		return 1;
	case PD_421:
		if (ss->state == ST_WAIT)
			return 0;
		say_421(ss);
		return 1;
	case PD_SLOW:
		if (ss->slow_ok || ss->c->in.len == 0) {
			ss->slow_ok = 0;
			return 0;
		}
		hold(ss);
		return 1;
	default:
		return 0;
	}
}

void srv_dead_free(struct srv_session *ss)
{
	if (ss->slow_timer)
		evloop_timer_cancel(ss->pub.srv->loop, ss->slow_timer);
	ss->slow_timer = NULL;
}
