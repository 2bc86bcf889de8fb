/*
 * NAME
 *	playdead - a daemon plays dead for a while, for failover drills
 * DESCRIPTION
 *	Told over the control socket ("play-dead MODE SECONDS [DELAY_MS]"),
 *	a daemon looks, to the stage before it, like one of the ways real
 *	servers fail, then comes back by itself:
 *	  refuse  listeners stop listening (connections are refused) and
 *	          open sessions are dropped, as when the process died;
 *	  hang    connections are accepted by the kernel and never answered,
 *	          open sessions stop reading, as a process that froze;
 *	  421     every new and open session gets 421 4.3.2 and is closed;
 *	  slow    every answer comes DELAY_MS (default 1000) late.
 *	This module keeps the mode and the listening sockets; protocol
 *	servers watch for changes (smtp_server_dead.c). Base layer.
 */
#ifndef SLUICE_PLAYDEAD_H
#define SLUICE_PLAYDEAD_H

#include "evloop.h"

enum playdead_mode { PD_NONE, PD_REFUSE, PD_HANG, PD_421, PD_SLOW };

#define PLAYDEAD_MAX_SECONDS 3600
#define PLAYDEAD_MAX_DELAY_MS 600000
#define PLAYDEAD_DELAY_MS 1000

/* The control verb "play-dead MODE SECONDS [DELAY_MS]" (args: what
 * follows the verb): start it (replacing a mode in force; "none" or 0
 * seconds ends one) and say so in out. 0, or -1 with the reason in out. */
int playdead_command(struct evloop *loop, const char *args, char *out,
		     size_t outlen);

/* The mode in force and the delay of slow. */
enum playdead_mode playdead_mode(void);
unsigned playdead_delay_ms(void);

/* A listening socket whose events go to cb(arg) on loop: refuse and hang
 * take it out of the loop (refuse also stops it listening) and put it
 * back after. At most 16. */
void playdead_listener(struct evloop *loop, int fd, ev_fd_cb cb, void *arg);

/* fn(arg, mode) runs on every change of mode (PD_NONE: back to life). At
 * most 16 watchers. */
void playdead_watch(void (*fn)(void *arg, enum playdead_mode m), void *arg);

#endif
