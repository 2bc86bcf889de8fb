/*
 * NAME
 *	playdead - a daemon plays dead for a while, for failover drills
 * DESCRIPTION
 *	See playdead.h. Refuse uses shutdown(SHUT_RD) on the listening
 *	socket: on Linux that takes it out of the LISTEN state (new
 *	connections get a reset) while it stays bound, and listen() makes it
 *	listen again, with no privilege needed to rebind.
 */
#include "playdead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"

#define PD_MAX 16

struct pd_listener {
	struct evloop *loop;
	int fd;
	ev_fd_cb cb;
	void *arg;
};

struct pd_watcher {
	void (*fn)(void *, enum playdead_mode);
	void *arg;
};

static struct pd_listener lis[PD_MAX];
static size_t nlis;
static struct pd_watcher wat[PD_MAX];
static size_t nwat;
static enum playdead_mode mode;
static unsigned delay_ms = PLAYDEAD_DELAY_MS;
static struct ev_timer *end_timer;
static struct evloop *end_loop;

static const char *const names[] = {"none", "refuse", "hang", "421",
				    "slow"};

enum playdead_mode playdead_mode(void)
{
	return mode;
}

unsigned playdead_delay_ms(void)
{
	return delay_ms;
}

void playdead_listener(struct evloop *loop, int fd, ev_fd_cb cb, void *arg)
{
	if (nlis == PD_MAX)
		log_panic("playdead: more than %d listeners", PD_MAX);
	lis[nlis].loop = loop;
	lis[nlis].fd = fd;
	lis[nlis].cb = cb;
	lis[nlis].arg = arg;
	nlis++;
}

void playdead_watch(void (*fn)(void *arg, enum playdead_mode m), void *arg)
{
	if (nwat == PD_MAX)
		log_panic("playdead: more than %d watchers", PD_MAX);
	wat[nwat].fn = fn;
	wat[nwat].arg = arg;
	nwat++;
}

/* Take the listeners out for m, or put them back (m PD_NONE) after
 * was. */
static void listeners(enum playdead_mode m, enum playdead_mode was)
{
	size_t i;

	for (i = 0; i < nlis; i++) {
		struct pd_listener *l = &lis[i];

		if (m == PD_REFUSE || m == PD_HANG) {
			evloop_del(l->loop, l->fd);
			if (m == PD_REFUSE && shutdown(l->fd, SHUT_RD) < 0)
				log_warn("play-dead: shutdown: %m");
		} else if (was == PD_REFUSE || was == PD_HANG) {
			if (was == PD_REFUSE && listen(l->fd, 1024) < 0)
				log_error("play-dead: listen again: %m");
			if (evloop_add(l->loop, l->fd, EPOLLIN, l->cb, l->arg) < 0)
				log_error("play-dead: cannot watch a listener "
					  "again");
		}
	}
}

static void set_mode(enum playdead_mode m)
{
	enum playdead_mode was = mode;
	size_t i;

	if (m == was)
		return;
	if (was == PD_REFUSE || was == PD_HANG)
		listeners(PD_NONE, was);
	mode = m;
	if (m == PD_REFUSE || m == PD_HANG)
		listeners(m, PD_NONE);
	for (i = 0; i < nwat; i++)
		wat[i].fn(wat[i].arg, m);
}

static void on_end(void *arg)
{
	end_timer = NULL;
	log_warn("play-dead: %s over, back to life", names[mode]);
	set_mode(PD_NONE);
}

int playdead_command(struct evloop *loop, const char *args, char *out,
		     size_t outlen)
{
	char what[16];
	unsigned long secs = 0, dms = PLAYDEAD_DELAY_MS;
	int n, i, m = -1;

	n = sscanf(args, "%15s %lu %lu", what, &secs, &dms);
	for (i = 0; n >= 1 && i < (int)(sizeof(names) / sizeof(names[0]));
	     i++)
		if (strcmp(what, names[i]) == 0)
			m = i;
	if (m < 0 || (m != PD_NONE && n < 2) || secs > PLAYDEAD_MAX_SECONDS ||
	    dms > PLAYDEAD_MAX_DELAY_MS) {
		snprintf(out, outlen, "error: usage: play-dead refuse|hang|421|"
			 "slow SECONDS [DELAY_MS], or play-dead none "
			 "(SECONDS up to %d)\n", PLAYDEAD_MAX_SECONDS);
		return -1;
	}
	if (end_timer)
		evloop_timer_cancel(end_loop, end_timer);
	end_timer = NULL;
	if (m == PD_NONE || secs == 0) {
		set_mode(PD_NONE);
		snprintf(out, outlen, "alive\n");
		log_warn("play-dead: ended by the operator");
		return 0;
	}
	delay_ms = (unsigned)dms;
	set_mode(PD_NONE);	/* a new mode starts from life */
	set_mode((enum playdead_mode)m);
	end_loop = loop;
	end_timer = evloop_timer(loop, (uint64_t)secs * 1000, on_end, NULL);
	log_warn("play-dead: %s for %lu s%s", names[m], secs,
		 m == PD_SLOW ? " (answers late)" : "");
	snprintf(out, outlen, "playing dead: %s for %lu s\n", names[m], secs);
	return 0;
}
