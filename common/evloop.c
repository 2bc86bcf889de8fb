/*
 * NAME
 *	evloop - single-threaded epoll event loop with timers
 * DESCRIPTION
 *	See evloop.h. Descriptors are kept in a table indexed by fd; timers
 *	in a binary min-heap that knows each timer's position, so
 *	cancelling is O(log n). Signals arrive through one signalfd.
 */
#include "evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct ev_fd {
	ev_fd_cb cb;
	void *arg;
	int active;
};

struct ev_timer {
	uint64_t when;
	uint64_t seq;
	size_t idx;
	ev_cb cb;
	void *arg;
};

struct ev_hook {
	ev_cb cb;
	void *arg;
};

struct ev_sig {
	int signo;
	ev_sig_cb cb;
	void *arg;
};

#define EV_MAX_HOOKS 8
#define EV_MAX_SIGS 8

struct evloop {
	int epfd;
	int stop;
	uint64_t now;
	struct ev_fd *fds;
	size_t nfds;
	struct ev_timer **heap;
	size_t nheap, capheap;
	uint64_t seq;
	struct ev_hook hooks[EV_MAX_HOOKS];
	size_t nhooks;
	int sigfd;
	sigset_t sigmask;
	struct ev_sig sigs[EV_MAX_SIGS];
	size_t nsigs;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct evloop *evloop_new(void)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		log_fatal("evloop: out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		log_fatal("epoll_create1: %s", strerror(errno));
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->now = mono_ms();
	return l;
}

void evloop_free(struct evloop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nheap; i++)
		free(l->heap[i]);
	free(l->heap);
	free(l->fds);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l);
}

static int fd_slot(struct evloop *l, int fd)
{
	size_t n;
	struct ev_fd *p;

	if (fd < 0)
		return -1;
	if ((size_t)fd < l->nfds)
		return 0;
	n = l->nfds ? l->nfds : 64;
	while (n <= (size_t)fd)
		n *= 2;
	p = realloc(l->fds, n * sizeof(*p));
	if (p == NULL)
		return -1;
	memset(p + l->nfds, 0, (n - l->nfds) * sizeof(*p));
	l->fds = p;
	l->nfds = n;
	return 0;
}

int evloop_add(struct evloop *l, int fd, uint32_t events, ev_fd_cb cb,
	       void *arg)
{
	struct epoll_event ev;

	if (fd_slot(l, fd) < 0)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	l->fds[fd].cb = cb;
	l->fds[fd].arg = arg;
	l->fds[fd].active = 1;
	return 0;
}

int evloop_mod(struct evloop *l, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
}

void evloop_del(struct evloop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfds || !l->fds[fd].active)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->fds[fd].active = 0;
	l->fds[fd].cb = NULL;
}

/* Heap helpers: order by (when, seq). */
static int t_less(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(struct evloop *l, size_t i, struct ev_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void heap_up(struct evloop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];

	while (i > 0 && t_less(t, l->heap[(i - 1) / 2])) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct evloop *l, size_t i)
{
	struct ev_timer *t = l->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && t_less(l->heap[c + 1], l->heap[c]))
			c++;
		if (!t_less(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

static void heap_remove(struct evloop *l, size_t i)
{
	struct ev_timer *last = l->heap[--l->nheap];

	if (i == l->nheap)
		return;
	heap_set(l, i, last);
	heap_down(l, i);
	heap_up(l, last->idx);
}

struct ev_timer *evloop_timer(struct evloop *l, uint64_t ms, ev_cb cb,
			      void *arg)
{
	struct ev_timer *t, **h;
	size_t n;

	if (l->nheap == l->capheap) {
		n = l->capheap ? l->capheap * 2 : 64;
		h = realloc(l->heap, n * sizeof(*h));
		if (h == NULL)
			log_fatal("evloop: out of memory");
		l->heap = h;
		l->capheap = n;
	}
	t = malloc(sizeof(*t));
	if (t == NULL)
		log_fatal("evloop: out of memory");
	t->when = mono_ms();
	/* saturate: a huge delay is "never", not a wrap to "now" */
	t->when = ms > UINT64_MAX - t->when ? UINT64_MAX : t->when + ms;
	t->seq = l->seq++;
	t->cb = cb;
	t->arg = arg;
	l->heap[l->nheap++] = t;
	heap_up(l, l->nheap - 1);
	return t;
}

void evloop_timer_cancel(struct evloop *l, struct ev_timer *t)
{
	if (t == NULL)
		return;
	if (t->idx >= l->nheap || l->heap[t->idx] != t)
		log_panic("evloop: cancel of a timer that is not armed");
	heap_remove(l, t->idx);
	free(t);
}

int evloop_on_turn_end(struct evloop *l, ev_cb cb, void *arg)
{
	if (l->nhooks == EV_MAX_HOOKS)
		return -1;
	l->hooks[l->nhooks].cb = cb;
	l->hooks[l->nhooks].arg = arg;
	l->nhooks++;
	return 0;
}

static void sig_read(void *arg, uint32_t events)
{
	struct evloop *l = arg;
	struct signalfd_siginfo si;
	size_t i;

	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (i = 0; i < l->nsigs; i++)
			if (l->sigs[i].signo == (int)si.ssi_signo)
				l->sigs[i].cb(l->sigs[i].arg,
					      (int)si.ssi_signo);
	}
}

int evloop_signal(struct evloop *l, int signo, ev_sig_cb cb, void *arg)
{
	int fd;

	if (l->nsigs == EV_MAX_SIGS)
		return -1;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -1;
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (l->sigfd < 0) {
		l->sigfd = fd;
		if (evloop_add(l, fd, EPOLLIN, sig_read, l) < 0)
			return -1;
	}
	l->sigs[l->nsigs].signo = signo;
	l->sigs[l->nsigs].cb = cb;
	l->sigs[l->nsigs].arg = arg;
	l->nsigs++;
	return 0;
}

static void run_timers(struct evloop *l)
{
	struct ev_timer *t;
	ev_cb cb;
	void *arg;

	while (l->nheap > 0 && l->heap[0]->when <= l->now) {
		t = l->heap[0];
		heap_remove(l, 0);
		cb = t->cb;
		arg = t->arg;
		free(t);
		cb(arg);
	}
}

#define EV_BATCH 256

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[EV_BATCH];
	int n, i, fd, timeout;
	size_t h;

	l->stop = 0;
	while (!l->stop) {
		l->now = mono_ms();
		timeout = -1;
		if (l->nheap > 0) {
			uint64_t w = l->heap[0]->when;

			timeout = w <= l->now ? 0
			    : (w - l->now > 60000 ? 60000 : (int)(w - l->now));
		}
		n = epoll_wait(l->epfd, evs, EV_BATCH, timeout);
		if (n < 0 && errno != EINTR)
			log_fatal("epoll_wait: %s", strerror(errno));
		l->now = mono_ms();
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			/* a callback earlier in this batch may have removed
			 * this fd (or closed and reused it: then the new
			 * owner sees a spurious wakeup, which callbacks
			 * tolerate since sockets are non-blocking) */
			if ((size_t)fd < l->nfds && l->fds[fd].active)
				l->fds[fd].cb(l->fds[fd].arg, evs[i].events);
		}
		run_timers(l);
		for (h = 0; h < l->nhooks; h++)
			l->hooks[h].cb(l->hooks[h].arg);
	}
	return 0;
}

void evloop_stop(struct evloop *l)
{
	l->stop = 1;
}

uint64_t evloop_now(struct evloop *l)
{
	return l->now;
}
