/*
 * NAME
 *	metrics_http - the one page of metrics over HTTP/1.x
 * DESCRIPTION
 *	Serves GET /metrics (metrics_render()) on a loopback socket, and
 *	nothing else: one request head of at most METRICS_HTTP_MAX bytes,
 *	one answer, then the connection is closed. Not a general HTTP
 *	server (the admin web interface will bring a real one). From the
 *	event loop, or from a thread of its own where libmilter owns the
 *	main loop. Base layer; faces local clients only.
 */
#ifndef SLUICE_METRICS_HTTP_H
#define SLUICE_METRICS_HTTP_H

#include <stddef.h>

struct evloop;

#define METRICS_HTTP_MAX 8192	/* request line and headers */
#define METRICS_HTTP_CONNS 16	/* scrapes at once; more are closed */
#define METRICS_HTTP_TIMEOUT 5	/* seconds for the request head */

/* What a request head in buf[0..len) gets (a pure function): 0 while it
 * is incomplete (no empty line yet) and under METRICS_HTTP_MAX bytes,
 * else the status: 200 for "GET /metrics" (HTTP/1.0 or 1.1, an optional
 * query), 405 another method, 404 another path, 400 a malformed request
 * line, 431 a head of METRICS_HTTP_MAX bytes or more. */
int metrics_http_status(const char *buf, size_t len);

/* Serve on the listening socket fd from loop. 0 or -1. */
int metrics_http_listen(struct evloop *loop, int fd);

/* Serve on fd from a detached thread of its own. 0 or -1. */
int metrics_http_thread(int fd);

#endif
