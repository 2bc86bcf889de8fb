/*
 * NAME
 *	metrics_http - the one page of metrics over HTTP/1.x
 * DESCRIPTION
 *	See metrics_http.h. The request is only looked at as far as its
 *	request line (RFC 9112 3: method SP request-target SP
 *	HTTP-version); header fields are skipped up to the empty line,
 *	whatever they say.
 */
#include "metrics_http.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "evloop.h"
#include "log.h"
#include "metrics.h"
#include "sbuf.h"

#define METRICS_PAGE_MAX (8u * 1024 * 1024)

/* The end of the head (an empty line, CRLF or bare LF) or NULL. */
static const char *head_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (buf[i] == '\n' &&
		    (buf[i + 1] == '\n' ||
		     (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			return buf + i;
	return NULL;
}

int metrics_http_status(const char *buf, size_t len)
{
	const char *eol, *sp1, *sp2, *target;
	size_t tlen;

	if (head_end(buf, len) == NULL)
		return len >= METRICS_HTTP_MAX ? 431 : 0;
	if (len > METRICS_HTTP_MAX)
		return 431;
	eol = memchr(buf, '\n', len);
	if (eol > buf && eol[-1] == '\r')
		eol--;
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	if (sp1 == NULL || sp1 == buf)
		return 400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(eol - target));
	if (sp2 == NULL || sp2 == target || (size_t)(eol - sp2 - 1) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	     memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return 400;
	if ((size_t)(sp1 - buf) != 3 || memcmp(buf, "GET", 3) != 0)
		return 405;
	tlen = (size_t)(sp2 - target);
	if ((tlen == 8 || (tlen > 8 && target[8] == '?')) &&
	    memcmp(target, "/metrics", 8) == 0)
		return 200;
	return 404;
}

/* The whole answer for status into out. */
static void answer(int status, struct sbuf *out)
{
	struct sbuf body;
	const char *why = status == 200 ? "OK" : status == 404 ? "Not Found"
			  : status == 405 ? "Method Not Allowed"
			  : status == 431 ? "Request Header Fields Too Large"
			  : "Bad Request";

	sbuf_init(&body, METRICS_PAGE_MAX);
	if (status == 200 && metrics_render(&body) < 0) {
		status = 500;
		why = "Internal Server Error";
		sbuf_reset(&body);
	}
	if (status != 200)
		sbuf_printf(&body, "%d %s\n", status, why);
	sbuf_init(out, METRICS_PAGE_MAX + 512);
	sbuf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
		    status, why, status == 200 ?
		    "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
		    body.len, status == 405 ? "Allow: GET\r\n" : "");
	sbuf_append(out, body.data ? body.data : "", body.len);
	sbuf_free(&body);
}

/* ---- from the event loop ---- */

struct mhttp {
	struct evloop *loop;
	int fd;
	unsigned nconn;
};

struct mhttp_conn {
	struct mhttp *srv;
	struct conn *c;
	int answered;
};

static void mc_close(void *arg, enum conn_event ev)
{
	struct mhttp_conn *mc = arg;

	mc->srv->nconn--;
	conn_free(mc->c);
	free(mc);
}

static void mc_read(void *arg)
{
	struct mhttp_conn *mc = arg;
	struct sbuf out;
	int status;

	if (mc->answered)
		return;
	status = metrics_http_status(mc->c->in.data, mc->c->in.len);
	if (status == 0)
		return;
	mc->answered = 1;
	conn_pause(mc->c);
	answer(status, &out);
	conn_write(mc->c, out.data ? out.data : "", out.len);
	sbuf_free(&out);
	conn_close_after_flush(mc->c);
}

static const struct conn_ops mc_ops = {
	.on_read = mc_read,
	.on_close = mc_close,
};

static void mh_accept(void *arg, uint32_t events)
{
	struct mhttp *srv = arg;
	struct mhttp_conn *mc;
	int fd;

	while ((fd = accept4(srv->fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (srv->nconn >= METRICS_HTTP_CONNS ||
		    (mc = calloc(1, sizeof(*mc))) == NULL) {
			close(fd);
			continue;
		}
		mc->srv = srv;
		/* one byte over the limit tells a full head from a long one */
		mc->c = conn_new(srv->loop, fd, METRICS_HTTP_MAX + 1, &mc_ops,
				 mc);
		if (mc->c == NULL) {
			close(fd);
			free(mc);
			continue;
		}
		srv->nconn++;
		conn_set_timeout(mc->c, METRICS_HTTP_TIMEOUT);
		conn_set_deadline(mc->c, 2 * METRICS_HTTP_TIMEOUT);
	}
}

int metrics_http_listen(struct evloop *loop, int fd)
{
	static struct mhttp srv;

	srv.loop = loop;
	srv.fd = fd;
	return evloop_add(loop, fd, EPOLLIN, mh_accept, &srv);
}

/* ---- from a thread ---- */

/* Read one head from fd within the timeout and answer it. */
static void serve_one(int fd)
{
	char buf[METRICS_HTTP_MAX + 1];
	struct pollfd p = {fd, POLLIN, 0};
	struct sbuf out;
	size_t len = 0, off = 0;
	ssize_t n;
	int status = 0;

	while (status == 0 && len < sizeof(buf) &&
	       poll(&p, 1, METRICS_HTTP_TIMEOUT * 1000) == 1) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		status = metrics_http_status(buf, len);
	}
	if (status == 0)
		return;
	answer(status, &out);
	p.events = POLLOUT;
	while (off < out.len && poll(&p, 1, METRICS_HTTP_TIMEOUT * 1000) == 1) {
		n = write(fd, out.data + off, out.len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	sbuf_free(&out);
}

static void *serve_thread(void *arg)
{
	int lfd = (int)(long)arg, fd;
	struct pollfd p = {lfd, POLLIN, 0};

	for (;;) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

int metrics_http_thread(int fd)
{
	pthread_t t;
	pthread_attr_t a;
	int rc;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &a, serve_thread, (void *)(long)fd);
	pthread_attr_destroy(&a);
	if (rc != 0) {
		log_error("metrics thread: %s", strerror(rc));
		return -1;
	}
	return 0;
}
