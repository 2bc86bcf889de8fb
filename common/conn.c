/*
 * NAME
 *	conn - buffered non-blocking connection, plain or TLS
 * DESCRIPTION
 *	See conn.h. Every owner callback is invoked from an event-loop
 *	callback as its last action, never from inside a conn_* call the
 *	owner made; failures noticed inside such calls are reported through
 *	a zero-delay timer instead. With compression on (conn_compress),
 *	c->out and c->in hold plain bytes; the compressed ones wait in the
 *	zip streams between them and the socket (or TLS).
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "tls.h"
#include "zip.h"

#define CONN_OUT_MAX (64u * 1024 * 1024)
/* After conn_close_after_flush(): a peer that does not read its last
 * reply is dropped this much later. */
#define CONN_CLOSE_GRACE_MS 10000
#define CONN_READ_CHUNK 16384

static void io_cb(void *arg, uint32_t events);
static void close_now(struct conn *c, enum conn_event ev);

/* Bytes queued and not yet sent, compressed ones included. */
static size_t pending(const struct conn *c)
{
	return c->out.len + (c->zip ? zip_out(c->zip)->len : 0);
}

static void update_events(struct conn *c, int tls_wants_write)
{
	uint32_t ev = 0;

	if (c->dead)
		return;
	if (c->connecting || pending(c) > 0 || tls_wants_write)
		ev |= EPOLLOUT;
	if (!c->connecting && (!c->paused || c->handshaking))
		ev |= EPOLLIN;
	if (ev != c->events) {
		evloop_mod(c->loop, c->fd, ev);
		c->events = ev;
	}
}

/* When the timer must fire next (loop clock), or 0 for never. */
static uint64_t timer_due(const struct conn *c)
{
	uint64_t t = 0;

	if (c->timeout_ms > 0)
		t = c->last_active + c->timeout_ms;
	if (c->deadline > 0 && (t == 0 || c->deadline < t))
		t = c->deadline;
	return t;
}

static void timeout_cb(void *arg);

/* (Re)start the timer for timer_due(). Activity only moves the idle
 * expiry later, so the timer is not moved on every byte: when it fires
 * early it is armed again for the rest. */
static void arm_timer(struct conn *c)
{
	uint64_t due = timer_due(c), now = evloop_now(c->loop);

	if (c->timer) {
		evloop_timer_cancel(c->loop, c->timer);
		c->timer = NULL;
	}
	if (due > 0)
		c->timer = evloop_timer(c->loop, due > now ? due - now : 0,
					timeout_cb, c);
}

static void timeout_cb(void *arg)
{
	struct conn *c = arg;
	uint64_t now = evloop_now(c->loop);
	enum conn_event ev = CONN_TIMEOUT;

	c->timer = NULL;
	if (c->dead)
		return;
	if (c->closing && c->deadline > 0 && now >= c->deadline) {
		close_now(c, CONN_DEADLINE);
		return;
	}
	if (c->deadline > 0 && now >= c->deadline) {
		ev = CONN_DEADLINE;
		c->deadline = 0; /* fires once; an owner may carry on */
	} else if (c->timeout_ms == 0 ||
		   now < c->last_active + c->timeout_ms) {
		arm_timer(c);
		return;
	}
	if (c->ops->on_timeout && !c->closing) {
		c->ops->on_timeout(c->arg, ev);
		return;
	}
	close_now(c, ev);
}

static void touch(struct conn *c)
{
	c->last_active = evloop_now(c->loop);
}

/* n bytes arrived: any byte is activity, unless conn_set_min_rate()
 * said they buy only n/rate seconds (capped at now: a fast burst does
 * not bank time for a later stall). */
static void touch_read(struct conn *c, size_t n)
{
	uint64_t now = evloop_now(c->loop), earned;

	if (!c->reads_idle) {
		c->last_active = now;
		return;
	}
	if (c->min_rate <= 0)
		return;
	earned = (uint64_t)n * 1000 / (uint64_t)c->min_rate;
	if (earned >= now - c->last_active)
		c->last_active = now;
	else
		c->last_active += earned;
}

/* Deferred events: a failure found inside an owner's call, or a resume. */
enum { SOON_READ = 1, SOON_CLOSE = 2 };

struct conn_soon {
	int what;
	enum conn_event ev;
};

static void soon_cb(void *arg)
{
	struct conn *c = arg;

	c->resume_timer = NULL;
	if (c->dead) {
		c->ops->on_close(c->arg, c->err[0] ? CONN_ERROR : CONN_EOF);
		return;
	}
	io_cb(c, EPOLLIN);
}

static void schedule_soon(struct conn *c)
{
	if (c->resume_timer == NULL)
		c->resume_timer = evloop_timer(c->loop, 0, soon_cb, c);
}

static void fail_later(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	if (why)
		snprintf(c->err, sizeof(c->err), "%s", why);
	c->dead = 1;
	evloop_del(c->loop, c->fd);
	schedule_soon(c);
}

static struct conn *conn_alloc(struct evloop *loop, int fd, size_t in_max,
			       const struct conn_ops *ops, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->loop = loop;
	c->ops = ops;
	c->arg = arg;
	sbuf_init(&c->in, in_max);
	sbuf_init(&c->out, CONN_OUT_MAX);
	touch(c);
	return c;
}

struct conn *conn_new(struct evloop *loop, int fd, size_t in_max,
		      const struct conn_ops *ops, void *arg)
{
	struct conn *c;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return NULL;
	c = conn_alloc(loop, fd, in_max, ops, arg);
	if (c == NULL)
		return NULL;
	c->events = EPOLLIN;
	if (evloop_add(loop, fd, c->events, io_cb, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

struct conn *conn_connect(struct evloop *loop, const char *hostport,
			  size_t in_max, const struct conn_ops *ops, void *arg,
			  char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int len;
	struct conn *c;
	int fd;

	if (daemon_resolve(hostport, &ss, &len) < 0) {
		snprintf(err, errlen, "bad address %s", hostport);
		return NULL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect to %s: %s", hostport,
			 strerror(errno));
		close(fd);
		return NULL;
	}
	c = conn_alloc(loop, fd, in_max, ops, arg);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	c->connecting = 1;
	c->events = EPOLLOUT;
	if (evloop_add(loop, fd, c->events, io_cb, c) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		close(fd);
		free(c);
		return NULL;
	}
	return c;
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->timer)
		evloop_timer_cancel(c->loop, c->timer);
	if (c->resume_timer)
		evloop_timer_cancel(c->loop, c->resume_timer);
	zip_free(&c->zip);
	evloop_del(c->loop, c->fd);
	tls_conn_free(c->tls);
	close(c->fd);
	sbuf_free(&c->in);
	sbuf_free(&c->out);
	free(c);
}

void conn_set_timeout(struct conn *c, unsigned seconds)
{
	c->timeout_ms = (uint64_t)seconds * 1000;
	touch(c);
	arm_timer(c);
}

void conn_set_min_rate(struct conn *c, long long rate)
{
	c->reads_idle = 1;
	c->min_rate = rate > 0 ? rate : 0;
}

void conn_progress(struct conn *c)
{
	touch(c);
}

void conn_set_deadline(struct conn *c, unsigned seconds)
{
	c->deadline = seconds ? evloop_now(c->loop) + (uint64_t)seconds * 1000
			      : 0;
	arm_timer(c);
}

int conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->dead)
		return -1;
	if (sbuf_append(&c->out, p, n) < 0) {
		fail_later(c, "output buffer limit");
		return -1;
	}
	return 0;
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (c->dead)
		return -1;
	va_start(ap, fmt);
	rc = sbuf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	if (rc < 0)
		fail_later(c, "output buffer limit");
	return rc;
}

/* The bytes to send next and how many of them: c->out, or once
 * compression is on (conn_compress) what was queued before it, then
 * compressed bytes made from c->out as they are needed. NULL when
 * nothing waits, or on a compression error (*err set). */
static struct sbuf *next_out(struct conn *c, size_t *n, int *err)
{
	struct sbuf *z;

	*err = 0;
	if (c->zip == NULL || c->zip_plain > 0) {
		*n = c->zip ? c->zip_plain : c->out.len;
		return c->out.len ? &c->out : NULL;
	}
	z = zip_out(c->zip);
	if (z->len == 0 && c->out.len > 0 &&
	    zip_deflate(c->zip, &c->out, CONN_READ_CHUNK * 4) < 0) {
		snprintf(c->err, sizeof(c->err), "compression failed");
		*err = 1;
		return NULL;
	}
	*n = z->len;
	return z->len ? z : NULL;
}

/* Write what we can. Returns 0 (maybe partial), or -1 on error;
 * *tls_ww is set when TLS needs the socket writable. */
static int do_write(struct conn *c, int *tls_ww)
{
	struct sbuf *src;
	size_t len;
	ssize_t n;
	int err;

	*tls_ww = 0;
	while ((src = next_out(c, &len, &err)) != NULL) {
		if (c->tls) {
			n = tls_write(c->tls, src->data, len);
			if (n == TLS_WANT_WRITE || n == TLS_WANT_READ) {
				*tls_ww = n == TLS_WANT_WRITE;
				return 0;
			}
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "%s",
					 tls_error(c->tls));
				return -1;
			}
		} else {
			n = send(c->fd, src->data, len, MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "write: %s",
					 strerror(errno));
				return -1;
			}
		}
		sbuf_consume(src, (size_t)n);
		if (c->zip && src == &c->out)
			c->zip_plain -= (size_t)n;
		touch(c);
	}
	return err ? -1 : 0;
}

void conn_flush(struct conn *c)
{
	int ww;

	if (c->dead || c->connecting || c->handshaking)
		return;
	if (do_write(c, &ww) < 0) {
		fail_later(c, NULL);
		return;
	}
	if (pending(c) == 0 && c->closing) {
		fail_later(c, NULL);
		return;
	}
	update_events(c, ww);
}

int conn_compress(struct conn *c)
{
	struct sbuf *zin;

	if (c->zip != NULL || (c->zip = zip_new()) == NULL)
		return -1;
	/* what is queued (the reply that agreed) leaves uncompressed;
	 * input already read is compressed data */
	c->zip_plain = c->out.len;
	zin = zip_in(c->zip);
	if (c->in.len > zin->max) {
		zip_free(&c->zip);
		return -1;
	}
	sbuf_append(zin, c->in.data, c->in.len);
	sbuf_reset(&c->in);
	schedule_soon(c);
	return 0;
}

void conn_pause(struct conn *c)
{
	c->paused = 1;
	update_events(c, 0);
}

void conn_resume(struct conn *c)
{
	if (c->dead)
		return;
	c->paused = 0;
	update_events(c, 0);
	schedule_soon(c);
}

int conn_starttls(struct conn *c, struct tls_ctx *ctx, int server,
		  const char *sni)
{
	int ww;

	if (c->tls != NULL)
		return -1;
	/* the "220 ready" reply must leave in plain text first */
	if (c->out.len > 0 && (do_write(c, &ww) < 0 || c->out.len > 0))
		return -1;
	c->tls = tls_conn_new(ctx, c->fd, server, sni);
	if (c->tls == NULL)
		return -1;
	sbuf_reset(&c->in);
	c->handshaking = 1;
	update_events(c, !server);
	if (!server)
		schedule_soon(c);
	return 0;
}

void conn_close_after_flush(struct conn *c)
{
	uint64_t by = evloop_now(c->loop) + CONN_CLOSE_GRACE_MS;

	c->closing = 1;
	c->paused = 1;
	if (c->deadline == 0 || c->deadline > by) {
		c->deadline = by;
		arm_timer(c);
	}
	conn_flush(c);
}

const char *conn_error_text(const struct conn *c)
{
	return c->err[0] ? c->err : "connection closed";
}

/* Close from inside an event callback: tell the owner now. */
static void close_now(struct conn *c, enum conn_event ev)
{
	c->dead = 1;
	evloop_del(c->loop, c->fd);
	c->ops->on_close(c->arg, ev);
}

static void handshake_step(struct conn *c)
{
	int rc = tls_handshake(c->tls);

	if (rc == 1) {
		c->handshaking = 0;
		touch(c);
		update_events(c, 0);
		if (c->ops->on_tls)
			c->ops->on_tls(c->arg);
		return;
	}
	if (rc == TLS_WANT_READ || rc == TLS_WANT_WRITE) {
		update_events(c, rc == TLS_WANT_WRITE);
		return;
	}
	snprintf(c->err, sizeof(c->err), "%s", tls_error(c->tls));
	close_now(c, CONN_ERROR);
}

/* Read what is available. Returns 1 if bytes arrived, 0 if none, and sets
 * *eof / *err. */
/* Decompress what waits into c->in: 0, or -1 (broken stream). */
static int unzip(struct conn *c, int *got)
{
	long n = zip_inflate(c->zip, &c->in, c->in.max - c->in.len);

	if (n < 0) {
		snprintf(c->err, sizeof(c->err), "decompression failed");
		return -1;
	}
	if (n > 0)
		*got = 1;
	return 0;
}

static int do_read(struct conn *c, int *eof, int *err, int *ww)
{
	struct sbuf *dst = c->zip ? zip_in(c->zip) : &c->in;
	int got = 0;
	ssize_t n;
	size_t room;

	*eof = *err = *ww = 0;
	for (;;) {
		if (c->zip && unzip(c, &got) < 0) {
			*err = 1;
			break;
		}
		room = dst->max - dst->len;
		if (room == 0 || c->in.len == c->in.max)
			break;
		if (room > CONN_READ_CHUNK)
			room = CONN_READ_CHUNK;
		if (sbuf_reserve(dst, room) < 0) {
			*err = 1;
			snprintf(c->err, sizeof(c->err), "out of memory");
			break;
		}
		if (c->tls) {
			n = tls_read(c->tls, dst->data + dst->len, room);
			if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
				*ww = n == TLS_WANT_WRITE;
				break;
			}
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "%s",
					 tls_error(c->tls));
				*err = 1;
				break;
			}
		} else {
			n = recv(c->fd, dst->data + dst->len, room, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n < 0) {
				snprintf(c->err, sizeof(c->err), "read: %s",
					 strerror(errno));
				*err = 1;
				break;
			}
		}
		if (n == 0) {
			*eof = 1;
			break;
		}
		dst->len += (size_t)n;
		dst->data[dst->len] = '\0';
		if (!c->zip)
			got = 1;
		touch_read(c, (size_t)n);
	}
	return got;
}

static void io_cb(void *arg, uint32_t events)
{
	struct conn *c = arg;
	int eof = 0, err = 0, ww = 0, got = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (c->dead)
		return;
	if (c->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr != 0) {
			snprintf(c->err, sizeof(c->err), "connect: %s",
				 strerror(soerr));
			close_now(c, CONN_ERROR);
			return;
		}
		c->connecting = 0;
		touch(c);
		arm_timer(c);
		update_events(c, 0);
		if (c->ops->on_connect)
			c->ops->on_connect(c->arg);
		return;
	}
	if (c->handshaking) {
		handshake_step(c);
		return;
	}
	if (pending(c) > 0 && do_write(c, &ww) < 0) {
		close_now(c, CONN_ERROR);
		return;
	}
	if (pending(c) == 0 && c->closing) {
		close_now(c, CONN_EOF);
		return;
	}
	if (!c->paused)
		got = do_read(c, &eof, &err, &ww);
	if ((eof || err) && !got) {
		close_now(c, err ? CONN_ERROR : CONN_EOF);
		return;
	}
	if (eof || err)
		fail_later(c, err ? c->err : NULL);
	else
		update_events(c, ww);
	/* compressed input left over for when c->in has room again: the
	 * socket may have nothing new to wake us for it */
	if (c->zip && zip_in(c->zip)->len > 0 && !c->paused && !eof && !err)
		schedule_soon(c);
	/* the same for plaintext OpenSSL decrypted but c->in had no room
	 * for: when the client has sent everything (and waits for our
	 * reply) the socket never wakes us for it */
	if (c->tls && got && !c->paused && !eof && !err &&
	    tls_pending(c->tls) > 0)
		schedule_soon(c);
	if (got || (!c->paused && c->in.len > 0))
		c->ops->on_read(c->arg);
	else if (pending(c) == 0 && c->ops->on_drain && (events & EPOLLOUT))
		c->ops->on_drain(c->arg);
}

int conn_addr_text(const struct sockaddr *sa, char *ip, size_t iplen)
{
	snprintf(ip, iplen, "unknown");
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		return ntohs(in->sin_port);
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)iplen);
		return ntohs(in6->sin6_port);
	}
	return 0;
}

int conn_sock_addr(int fd, int local, char *ip, size_t iplen, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r;

	if (local)
		r = getsockname(fd, (struct sockaddr *)&ss, &len);
	else
		r = getpeername(fd, (struct sockaddr *)&ss, &len);
	if (r < 0)
		return -1;
	*port = conn_addr_text((const struct sockaddr *)&ss, ip, iplen);
	return 0;
}
