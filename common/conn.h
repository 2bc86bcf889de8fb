/*
 * NAME
 *	conn - buffered non-blocking connection, plain or TLS
 * DESCRIPTION
 *	Owns a socket, an input buffer with a hard maximum, an output buffer,
 *	an idle timeout and an optional TLS layer. The owner gets callbacks
 *	from the event loop; callbacks are always the last thing conn does
 *	before returning to the loop, so an owner may conn_free() inside one.
 *	conn_write() only queues; conn_flush() sends (the owner calls it once
 *	after handling a batch of input, which is how pipelined replies go
 *	out in one packet). Optional DEFLATE compression both ways (zip.h).
 *	Base layer; faces the network.
 */
#ifndef SLUICE_CONN_H
#define SLUICE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct evloop;
struct ev_timer;
struct tls_ctx;
struct tls_conn;
struct zip;

enum conn_event {
	CONN_EOF,     /* peer closed */
	CONN_ERROR,   /* I/O or TLS error; conn_error_text() says which */
	CONN_TIMEOUT, /* idle timeout expired */
	CONN_DEADLINE, /* the deadline of conn_set_deadline() passed */
};

struct conn_ops {
	/* new bytes are in c->in (may also be called with nothing new after
	 * conn_resume()) */
	void (*on_read)(void *arg);
	/* the connection is finished; the owner must conn_free() it */
	void (*on_close)(void *arg, enum conn_event ev);
	/* client side: TCP connect completed (optional) */
	void (*on_connect)(void *arg);
	/* TLS handshake completed (optional) */
	void (*on_tls)(void *arg);
	/* output buffer fully sent (optional) */
	void (*on_drain)(void *arg);
	/* idle timeout or deadline, ev says which (optional): the
	 * connection is still usable for a last reply; without this hook it
	 * is on_close(ev) */
	void (*on_timeout)(void *arg, enum conn_event ev);
};

struct conn {
	int fd;
	struct evloop *loop;
	struct tls_conn *tls;
	struct zip *zip;	/* COMPRESS=DEFLATE streams, or NULL */
	size_t zip_plain;	/* bytes of out to send uncompressed first */
	struct sbuf in;
	struct sbuf out;
	const struct conn_ops *ops;
	void *arg;
	uint64_t timeout_ms;
	uint64_t last_active;	/* idle timer runs from here */
	uint64_t deadline;	/* absolute, loop clock; 0: none */
	long long min_rate;	/* bytes/s of input that keep it alive */
	struct ev_timer *timer;
	struct ev_timer *resume_timer;
	uint32_t events;	/* currently requested epoll events */
	unsigned paused : 1;	/* owner does not want input now */
	unsigned handshaking : 1;
	unsigned connecting : 1;
	unsigned closing : 1;	/* flush, then close */
	unsigned dead : 1;	/* on_close already scheduled/called */
	unsigned reads_idle : 1; /* input counts only through min_rate */
	char err[160];
};

/* Wrap an accepted or connected socket (made non-blocking here).
 * in_max bounds the input buffer. Returns NULL on ENOMEM. */
struct conn *conn_new(struct evloop *loop, int fd, size_t in_max,
		      const struct conn_ops *ops, void *arg);

/* Connect to a numeric "host:port"; on_connect or on_close(CONN_ERROR)
 * follows. Returns NULL (reason in err) when the connect cannot start. */
struct conn *conn_connect(struct evloop *loop, const char *hostport,
			  size_t in_max, const struct conn_ops *ops, void *arg,
			  char *err, size_t errlen);

/* Free everything and close the socket. Cancels timers. */
void conn_free(struct conn *c);

/* Idle timeout in seconds (0: none), restarted now. Activity is any
 * byte in or out, until conn_set_min_rate(). */
void conn_set_timeout(struct conn *c, unsigned seconds);

/* For servers facing slow peers: from now on input alone no longer
 * restarts the idle timer; conn_progress() (a complete command) and
 * output do. Each n bytes of input buy n/rate seconds, never more than a
 * whole timeout (a minimum data rate, as Postfix's smtpd_min_data_rate);
 * rate 0: input buys nothing. May be called again to change rate. */
void conn_set_min_rate(struct conn *c, long long rate);

/* The owner made progress (a complete command line): the idle timer
 * starts again. */
void conn_progress(struct conn *c);

/* End the connection (on_timeout or on_close with CONN_DEADLINE)
 * seconds from now, busy or not; 0 removes the deadline. */
void conn_set_deadline(struct conn *c, unsigned seconds);

/* Queue bytes for output. Returns 0, or -1 when the output buffer is
 * over its limit (the connection is then closed with CONN_ERROR). */
int conn_write(struct conn *c, const void *p, size_t n);
int conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Try to send what is queued; the rest goes when the socket is writable. */
void conn_flush(struct conn *c);

/* Stop or restart reading input. Resuming calls on_read soon (from the
 * loop, not from inside this call) so buffered input gets handled. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* Start TLS (server or client side) on this connection: everything
 * already in the input buffer is discarded (RFC 3207 section 4.2: no
 * plain text may be carried into TLS). on_tls or on_close follows. */
int conn_starttls(struct conn *c, struct tls_ctx *ctx, int server,
		  const char *sni);

/* Compress both ways from now on (raw DEFLATE, RFC 4978): what is
 * queued still goes out as it is, everything after it compressed; the
 * input already read is taken as compressed. 0, or -1 (already on,
 * ENOMEM). */
int conn_compress(struct conn *c);

/* Send what is queued, then close; on_close(CONN_EOF) follows. */
void conn_close_after_flush(struct conn *c);

/* Text of the last error. */
const char *conn_error_text(const struct conn *c);

/* The IP address of sa as text into ip ("unknown" for a family other
 * than IPv4/IPv6, or NULL); returns its port (0 then). */
struct sockaddr;
int conn_addr_text(const struct sockaddr *sa, char *ip, size_t iplen);

/* The numeric address and port of socket fd's peer (or, with local set,
 * of its own end) into ip and *port: "unknown" and 0 for a family other
 * than IPv4/IPv6. Returns -1 (ip and *port untouched) when the socket
 * has no such address. */
int conn_sock_addr(int fd, int local, char *ip, size_t iplen, int *port);

#endif
