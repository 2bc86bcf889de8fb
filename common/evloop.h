/*
 * NAME
 *	evloop - single-threaded epoll event loop with timers
 * DESCRIPTION
 *	File descriptor callbacks, one-shot timers (millisecond resolution),
 *	signal delivery through signalfd, and "turn end" hooks that run once
 *	after every batch of events: that is where group commit happens (one
 *	sync for every message completed in the same turn).
 *	Base layer.
 */
#ifndef SLUICE_EVLOOP_H
#define SLUICE_EVLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct ev_timer;

typedef void (*ev_fd_cb)(void *arg, uint32_t events);
typedef void (*ev_cb)(void *arg);
typedef void (*ev_sig_cb)(void *arg, int signo);

/* Create a loop. Exits through log_fatal() if the kernel refuses. */
struct evloop *evloop_new(void);
void evloop_free(struct evloop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT ...). One registration per fd.
 * Returns 0 or -1. */
int evloop_add(struct evloop *l, int fd, uint32_t events, ev_fd_cb cb,
	       void *arg);
int evloop_mod(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd (does not close it). Safe inside callbacks. */
void evloop_del(struct evloop *l, int fd);

/* Call cb(arg) once, ms milliseconds from now. The timer is owned by the
 * loop; cancel it with evloop_timer_cancel() before it fires, never
 * after. */
struct ev_timer *evloop_timer(struct evloop *l, uint64_t ms, ev_cb cb,
			      void *arg);
void evloop_timer_cancel(struct evloop *l, struct ev_timer *t);

/* Run cb(arg) after every batch of events. Returns 0 or -1. */
int evloop_on_turn_end(struct evloop *l, ev_cb cb, void *arg);

/* Deliver signo to cb through the loop (blocks it for normal delivery).
 * Returns 0 or -1. */
int evloop_signal(struct evloop *l, int signo, ev_sig_cb cb, void *arg);

/* Run until evloop_stop(). Returns 0. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l);

/* Monotonic milliseconds, refreshed at every turn. */
uint64_t evloop_now(struct evloop *l);

#endif
