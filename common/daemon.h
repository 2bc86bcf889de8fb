/*
 * NAME
 *	daemon - what every Sluice daemon does at start-up
 * DESCRIPTION
 *	Command line (-c config, -f foreground, -t check config and exit,
 *	-p print effective configuration), listening sockets, privilege drop
 *	(setgroups, setresgid, setresuid, then verified), state directories.
 *	Base layer.
 */
#ifndef SLUICE_DAEMON_H
#define SLUICE_DAEMON_H

#include <stdatomic.h>

#include "config.h"
#include "limits_rfc.h"

/* metrics_listen of every daemon (DAEMON_PARAMS). */
extern char *daemon_metrics_listen;

/* Table rows every daemon has: the run user, where logs go, and the
 * metrics endpoint. */
#define DAEMON_PARAMS(user, syslog)                                         \
	{"user", CFG_STR, "sluice", &(user), 0, 0,                          \
	 "unprivileged user to run as when started as root"},              \
	{"syslog", CFG_BOOL, "no", &(syslog), 0, 0,                         \
	 "log to syslog (facility mail) instead of stderr"},                \
	{"metrics_listen", CFG_STR, "", &daemon_metrics_listen, 0, 0,       \
	 "loopback address and port serving GET /metrics in Prometheus "    \
	 "text format (empty: off)"}

/* What limits one client's hold on a listener (every SMTP/LMTP
 * listener; see smtp_server.h and conn.h). */
struct session_limits {
	long long max_client_sessions;	/* per client address; 0: none */
	long long session_deadline;	/* seconds from connect to 421 */
	long long min_data_rate;	/* bytes/s in DATA; 0: none counted */
};

/* Table rows of an SMTP/LMTP listener's limits; sessions is the default
 * of max_sessions, per_client that of max_client_sessions (strings),
 * sl a struct session_limits. */
/* The header section limit of the stages that read headers from outside
 * (mx, msa): 552 5.3.4 at the end of data past it. */
#define HEADER_LIMIT_PARAM(var)                                            \
	{"max_header_size", CFG_SIZE, "1m", &(var), 1024, LIM_MSG_SIZE_MAX, \
	 "largest header section accepted (552 5.3.4 past it)"}

#define SMTP_LIMIT_PARAMS(size, rcpts, maxsess, sessions, timeout, sl,      \
			  per_client)                                       \
	{"max_message_size", CFG_SIZE, "25m", &(size), 1024,                \
	 LIM_MSG_SIZE_MAX, "largest message accepted (SIZE)"},              \
	{"max_recipients", CFG_INT, "1000", &(rcpts), 1, LIM_RCPT_MAX,      \
	 "recipients per message"},                                         \
	{"max_sessions", CFG_INT, sessions, &(maxsess), 1, 100000,          \
	 "concurrent sessions"},                                            \
	{"max_client_sessions", CFG_INT, per_client,                        \
	 &(sl).max_client_sessions, 0, 100000,                              \
	 "concurrent sessions per client address (IPv6: per /64) and "      \
	 "listener; more get 421 4.7.0 (0: no limit)"},                     \
	{"timeout", CFG_TIME, "300s", &(timeout), 1, 3600,                  \
	 "a command must be complete within this long of the last one "     \
	 "(RFC 5321 4.5.3.2); bytes alone do not count, in DATA see "       \
	 "min_data_rate"},                                                  \
	{"min_data_rate", CFG_INT, LIM_STR(LIM_MIN_DATA_RATE),              \
	 &(sl).min_data_rate, 0, 1LL << 30,                                 \
	 "in DATA, each byte received buys 1/min_data_rate seconds of "     \
	 "timeout: a message slower than this (bytes/s) times out "         \
	 "(0: the whole message within timeout)"},                          \
	{"session_deadline", CFG_TIME, LIM_STR(LIM_SESSION_DEADLINE) "s",   \
	 &(sl).session_deadline, 1, LIM_SESSION_DEADLINE_MAX,               \
	 "a session ends (421 4.4.2) this long after connect, busy or not; " \
	 "a message already complete is answered first"}

/* Table rows of a daemon's TLS certificate and key (the same files for
 * every daemon); the help texts say what they serve. */
#define TLS_KEY_PARAMS(cert, key, cert_help, key_help)                      \
	{"tls_cert", CFG_STR, "var/tls/cert.pem", &(cert), 0, 0, cert_help}, \
	{"tls_key", CFG_STR, "var/tls/key.pem", &(key), 0, 0, key_help}

/* Table rows of the failed-login lockout (authlimit.h); the help texts
 * are the daemon's. */
#define AUTH_FAIL_PARAMS(max, window, max_help, window_help)               \
	{"auth_fail_max", CFG_INT, "10", &(max), 1, 100000, max_help},       \
	{"auth_fail_window", CFG_TIME, "15m", &(window), 1, 86400,          \
	 window_help}

struct daemon_opts {
	const char *config;	/* -c path, or NULL for embedded defaults */
	int foreground;		/* -f: don't detach (we never fork; kept for
				 * operators' habits, always foreground) */
	int check;		/* -t */
	int print;		/* -p */
};

/* Block SIGTERM, SIGINT and SIGHUP (the event loop takes them through a
 * signalfd), parse argv; on usage error print usage naming prog and exit 2.
 * Loads config with table, prints errors and exits 1 on bad config; with
 * -t prints "config OK" and exits 0; with -p prints the configuration and
 * exits 0. */
void daemon_start(int argc, char **argv, const char *prog,
		  const struct cfg_param *table, struct daemon_opts *o);

/* A stage's own checks of its loaded configuration (config: the -c path
 * or NULL): 0, or -1 with "file:line: ..." in err (config_key_line()). */
typedef int (*daemon_check_fn)(const char *config, char *err, size_t errlen);

/* daemon_start(), then check (before -t answers): on failure print err
 * naming prog and exit 1. */
void daemon_start_check(int argc, char **argv, const char *prog,
			const struct cfg_param *table, daemon_check_fn check,
			struct daemon_opts *o);

struct evloop;

/* The listening socket of metrics_listen, bound on the first call (the
 * privilege drop makes that call), or -1 when metrics_listen is empty.
 * Exits through log_fatal() when it is not a loopback address or cannot
 * be bound. */
int daemon_metrics_fd(void);

/* Serve the metrics page from loop (or, loop NULL, from a thread of its
 * own) when metrics_listen is set. Exits through log_fatal() on failure. */
void daemon_metrics_start(struct evloop *loop);

/* 1 when hostport is a numeric loopback address (127.0.0.0/8, ::1). */
int daemon_loopback(const char *hostport);

/* The keys every daemon can change on a reload (with DAEMON_PARAMS and
 * SMTP_LIMIT_PARAMS, TLS_KEY_PARAMS): the log destination, a listener's
 * limits (new sessions), the TLS certificate and key. */
#define DAEMON_LIVE_KEYS                                                    \
	"syslog", "max_message_size", "max_recipients", "max_sessions",     \
	"max_client_sessions", "timeout", "min_data_rate",                  \
	"session_deadline", "tls_cert", "tls_key"

/* On SIGHUP (and the control socket's "reload"): read the -c file again
 * (config_reload(): on a bad file the old configuration stays and the
 * error is logged; only the keys in live, NULL-terminated, change, the
 * others are logged as needing a restart), switch syslog when it
 * changed, then apply(arg) puts the new values to work. Exits through
 * log_fatal() when the signal cannot be watched. */
void daemon_on_reload(struct evloop *loop, const char *const *live,
		      void (*apply)(void *arg), void *arg);

/* What daemon_on_reload() does on SIGHUP; 0, or -1 when the file was
 * bad (logged). */
int daemon_reload(void);

/* When *hostname is empty, replace it with the host's name (malloc'ed). */
void daemon_default_hostname(char **hostname);

/* Open a non-blocking listening TCP socket on "host:port" ("[v6]:port"
 * for IPv6). Exits through log_fatal() on failure, naming the address. */
int daemon_listen(const char *hostport);

/* Parse a numeric "host:port" / "[v6]:port" into ss. Returns 0 or -1. */
struct sockaddr_storage;
int daemon_resolve(const char *hostport, struct sockaddr_storage *ss,
		   unsigned int *len);

/* A numeric "host:port" / "[v6]:port" as libmilter names a socket,
 * "inet:port@host" or "inet6:port@host", into out. Returns 0 or -1. */
int daemon_milter_spec(const char *hostport, char *out, size_t outlen);

/* A milter session starts (libmilter's connect callback, any thread):
 * 0 and *n counted up, or -1 when max are under way already (the caller
 * tempfails it, libmilter having no limit of its own). */
int daemon_session_take(atomic_long *n, long long max);
/* That session ended: *n counted down. */
void daemon_session_give(atomic_long *n);

/* Create dir (and parents) if missing, mode 0700; when running as root,
 * chown it to user. Exits through log_fatal() on failure. */
void daemon_state_dir(const char *dir, const char *user);

/* When running as root: drop to user (setgroups, setresgid, setresuid) and
 * verify that root cannot be regained. Not root: do nothing. Exits through
 * log_fatal() on failure. */
void daemon_drop_privileges(const char *user);

/* A tool run as root becomes the owner of dir (stat in st; a daemon's
 * user), so the files it makes stay the daemon's; verified. Not root, or
 * dir owned by root: nothing. 0, or -1 with a message naming prog on
 * stderr. */
struct stat;
int daemon_become_owner(const char *prog, const char *dir,
			const struct stat *st);

#endif
