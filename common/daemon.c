/*
 * NAME
 *	daemon - what every Sluice daemon does at start-up
 * DESCRIPTION
 *	See daemon.h. Runs before any peer is heard, so failures here are
 *	fatal with a clear message.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "metrics_http.h"

char *daemon_metrics_listen;

/* What daemon_start_check() got, for reloads. */
static const struct cfg_param *d_table;
static const char *d_config;
static const char *const *d_live;
static void (*d_apply)(void *);
static void *d_apply_arg;
static int d_metrics_fd = -2;	/* -2: not bound yet */
static int d_host_defaulted;	/* hostname came from gethostname() */

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-c config] [-f] [-t] [-p]\n"
		"  -c file  configuration file (default: embedded defaults)\n"
		"  -f       run in the foreground (the default; kept for habit)\n"
		"  -t       check the configuration and exit\n"
		"  -p       print the effective configuration and exit\n",
		prog);
	exit(2);
}

void daemon_start(int argc, char **argv, const char *prog,
		  const struct cfg_param *table, struct daemon_opts *o)
{
	daemon_start_check(argc, argv, prog, table, NULL, o);
}

void daemon_start_check(int argc, char **argv, const char *prog,
			const struct cfg_param *table, daemon_check_fn check,
			struct daemon_opts *o)
{
	char err[512];
	sigset_t stop;
	int c;

	/* a stop signal during start-up waits for the event loop (which
	 * reads it from a signalfd) instead of killing us half-way */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "c:ftp")) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 't':
			o->check = 1;
			break;
		case 'p':
			o->print = 1;
			break;
		default:
			usage(prog);
		}
	}
	if (optind != argc)
		usage(prog);
	d_table = table;
	d_config = o->config;
	if (config_load(table, o->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	if (check && check(o->config, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(1);
	}
	if (o->check) {
		printf("%s: configuration %s OK\n", prog,
		       o->config ? o->config : "(embedded defaults)");
		exit(0);
	}
	if (o->print) {
		config_print(table, stdout);
		exit(0);
	}
}

static int split_hostport(const char *hp, char *host, size_t hlen,
			  char *port, size_t plen)
{
	const char *colon;
	size_t n;

	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		n = (size_t)(end - hp - 1);
		if (n >= hlen)
			return -1;
		memcpy(host, hp + 1, n);
		host[n] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - hp);
		if (n >= hlen)
			return -1;
		memcpy(host, hp, n);
		host[n] = '\0';
	}
	if (strlen(colon + 1) >= plen || colon[1] == '\0')
		return -1;
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int daemon_resolve(const char *hostport, struct sockaddr_storage *ss,
		   unsigned int *len)
{
	char host[256], port[16];
	struct addrinfo hints, *res;

	if (split_hostport(hostport, host, sizeof(host), port,
			   sizeof(port)) < 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int daemon_milter_spec(const char *hostport, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	unsigned int len;
	char host[256], port[16];

	if (daemon_resolve(hostport, &ss, &len) < 0 ||
	    split_hostport(hostport, host, sizeof(host), port,
			   sizeof(port)) < 0)
		return -1;
	return (size_t)snprintf(out, outlen, "%s:%s@%s",
				ss.ss_family == AF_INET6 ? "inet6" : "inet",
				port, host) >= outlen ? -1 : 0;
}

int daemon_session_take(atomic_long *n, long long max)
{
	if (atomic_fetch_add(n, 1) < max)
		return 0;
	atomic_fetch_sub(n, 1);
	return -1;
}

void daemon_session_give(atomic_long *n)
{
	atomic_fetch_sub(n, 1);
}

int daemon_listen(const char *hostport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (daemon_resolve(hostport, &ss, &len) < 0)
		log_fatal("bad listen address '%s' (want host:port with a "
			  "numeric IP, [v6]:port for IPv6)", hostport);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		log_fatal("socket for %s: %s", hostport, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		log_fatal("bind %s: %s", hostport, strerror(errno));
	if (listen(fd, 1024) < 0)
		log_fatal("listen %s: %s", hostport, strerror(errno));
	return fd;
}

/* The ids of the configured run user; only called as root. */
static void run_user(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	if (user == NULL || *user == '\0')
		log_fatal("running as root needs 'user' set in the "
			  "configuration");
	pw = getpwnam(user);
	if (pw == NULL)
		log_fatal("unknown user '%s' (create it, e.g. useradd "
			  "--system %s)", user, user);
	if (pw->pw_uid == 0)
		log_fatal("user '%s' is root; pick an unprivileged user", user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
}

void daemon_default_hostname(char **hostname)
{
	char host[256];

	if (**hostname != '\0')
		return;
	d_host_defaulted = 1;
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	free(*hostname);
	*hostname = strdup(host);
	if (*hostname == NULL)
		log_fatal("out of memory");
}

void daemon_state_dir(const char *dir, const char *user)
{
	char path[4096];
	size_t i, n = strlen(dir);
	uid_t uid;
	gid_t gid;

	if (n == 0 || n >= sizeof(path))
		log_fatal("bad state directory '%s'", dir);
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			log_fatal("mkdir %s: %s", path, strerror(errno));
		path[i] = dir[i];
	}
	if (chmod(dir, 0700) < 0)
		log_fatal("chmod %s: %s", dir, strerror(errno));
	daemon_metrics_fd();	/* bound while we may */
	if (geteuid() != 0)
		return;
	run_user(user, &uid, &gid);
	if (chown(dir, uid, gid) < 0)
		log_fatal("chown %s: %s", dir, strerror(errno));
}

void daemon_drop_privileges(const char *user)
{
	uid_t uid, ru, eu, su;
	gid_t gid, rg, eg, sg;

	if (geteuid() != 0)
		return;
	run_user(user, &uid, &gid);
	if (setgroups(1, &gid) < 0)
		log_fatal("setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) < 0)
		log_fatal("setresgid: %s", strerror(errno));
	if (setresuid(uid, uid, uid) < 0)
		log_fatal("setresuid: %s", strerror(errno));
	/* Verify: every id is the new one and root cannot come back. */
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		log_fatal("getresuid: %s", strerror(errno));
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		log_fatal("privilege drop to '%s' did not take", user);
	if (setuid(0) == 0 || seteuid(0) == 0)
		log_fatal("privilege drop to '%s' is reversible", user);
	log_info("running as user %s (uid %ld)", user, (long)uid);
}

int daemon_loopback(const char *hostport)
{
	struct sockaddr_storage ss;
	unsigned int len;

	if (daemon_resolve(hostport, &ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)&ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)&ss;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return 0;
}

int daemon_metrics_fd(void)
{
	const char *l = daemon_metrics_listen;

	if (d_metrics_fd != -2)
		return d_metrics_fd;
	d_metrics_fd = -1;
	if (l == NULL || l[0] == '\0')
		return -1;
	if (!daemon_loopback(l))
		log_fatal("metrics_listen %s: only a loopback address "
			  "(127.0.0.0/8 or [::1]) may serve metrics", l);
	d_metrics_fd = daemon_listen(l);
	return d_metrics_fd;
}

void daemon_metrics_start(struct evloop *loop)
{
	int fd = daemon_metrics_fd();

	if (fd < 0)
		return;
	if ((loop ? metrics_http_listen(loop, fd) : metrics_http_thread(fd)) <
	    0)
		log_fatal("cannot serve metrics on %s", daemon_metrics_listen);
	log_info("metrics on http://%s/metrics", daemon_metrics_listen);
}

static const struct cfg_param *table_row(const char *name)
{
	const struct cfg_param *p;

	for (p = d_table; p && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Take name out of the list "a, b, c" in note. */
static void note_drop(char *note, const char *name)
{
	size_t n = strlen(name);
	char *p = note;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == note || p[-1] == ' ') &&
		    (p[n] == ',' || p[n] == '\0')) {
			char *end = p + n + (p[n] == ',' ? 2 : 0);

			if (p[n] == '\0' && p > note)
				p -= 2;	/* the ", " before it */
			memmove(p, end, strlen(end) + 1);
			return;
		}
		p += n;
	}
}

int daemon_reload(void)
{
	const struct cfg_param *sl = table_row("syslog");
	int was = sl ? *(int *)sl->var : 0;
	char err[512], note[512];

	if (d_config == NULL) {
		log_info("reload: no configuration file (-c): nothing to read");
		return 0;
	}
	if (config_reload(d_table, d_config, d_live, note, sizeof(note), err,
			  sizeof(err)) < 0) {
		log_error("reload: %s: the configuration in use stays", err);
		return -1;
	}
	/* an empty hostname still means the host's name */
	if (d_host_defaulted && config_key_line(d_config, "hostname") == 0)
		note_drop(note, "hostname");
	if (note[0])
		log_warn("reload: %s changed: takes a restart, the old value "
			 "stays until then", note);
	if (sl && *(int *)sl->var != was)
		log_open(log_name(), *(int *)sl->var);
	if (d_apply)
		d_apply(d_apply_arg);
	log_info("reload: %s read", d_config);
	return 0;
}

static void on_hup(void *arg, int signo)
{
	daemon_reload();
}

void daemon_on_reload(struct evloop *loop, const char *const *live,
		      void (*apply)(void *arg), void *arg)
{
	d_live = live;
	d_apply = apply;
	d_apply_arg = arg;
	if (loop && evloop_signal(loop, SIGHUP, on_hup, NULL) < 0)
		log_fatal("cannot watch SIGHUP");
}

int daemon_become_owner(const char *prog, const char *dir,
			const struct stat *st)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (geteuid() != 0 || st->st_uid == 0)
		return 0;
	if (setgroups(1, &st->st_gid) < 0 ||
	    setresgid(st->st_gid, st->st_gid, st->st_gid) < 0 ||
	    setresuid(st->st_uid, st->st_uid, st->st_uid) < 0 ||
	    getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != st->st_uid || eu != st->st_uid || su != st->st_uid ||
	    rg != st->st_gid || eg != st->st_gid || sg != st->st_gid) {
		fprintf(stderr, "%s: cannot become uid %ld, the owner of %s: "
			"%s\n", prog, (long)st->st_uid, dir, strerror(errno));
		return -1;
	}
	return 0;
}
