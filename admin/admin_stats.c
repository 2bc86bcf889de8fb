/*
 * NAME
 *	admin_stats - every stage's counters, hour by hour and day by day
 * DESCRIPTION
 *	Every stats_interval the main thread fetches each configured
 *	metrics URL (the loopback endpoints of metrics_listen: Prometheus
 *	text format, "name{labels} value" lines, "# TYPE name gauge"),
 *	and adds what each counter grew by since the last look to its row
 *	of the hour and of the day in stats.db (SQLite, so the tables
 *	survive restarts; the last values too, so a restart of sluice-admin
 *	loses nothing and a restart of a stage, whose counter starts again
 *	at 0, counts from there). A gauge (queue sizes) keeps the largest
 *	value seen in the period. The fetch is one HTTP/1.0 GET to a
 *	numeric loopback address, read to the end with a size and time
 *	limit; only the status line and the blank line ending the header
 *	are looked at. The only file of sluice-admin that uses SQLite
 *	(through common/sqldb.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sqldb.h"

#include "admin.h"
#include "admin_stats.h"

#define SCRAPE_MAX (4 << 20)
#define SCRAPE_TIMEOUT_MS 2000
#define METRIC_NAME_MAX 200

struct admin_stats {
	struct sqldb *db;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS last(stage TEXT NOT NULL, metric TEXT "
	"NOT NULL, value REAL NOT NULL, PRIMARY KEY(stage, metric));"
	"CREATE TABLE IF NOT EXISTS stats(period TEXT NOT NULL, slot TEXT NOT "
	"NULL, stage TEXT NOT NULL, metric TEXT NOT NULL, value REAL NOT "
	"NULL, gauge INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(period, slot, "
	"stage, metric));";

struct admin_stats *admin_stats_open(const char *path, char *err,
				     size_t errlen)
{
	struct admin_stats *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->db = sqldb_open(path, SQLDB_WAL, 2000, err, errlen);
	if (st->db == NULL || sqldb_exec(st->db, schema) < 0) {
		if (st->db != NULL)
			snprintf(err, errlen, "%s: %s", path,
				 sqldb_errmsg(st->db));
		admin_stats_close(st);
		return NULL;
	}
	return st;
}

void admin_stats_close(struct admin_stats *st)
{
	if (st == NULL)
		return;
	sqldb_close(st->db);
	free(st);
}

int admin_stats_query(struct admin_stats *st, const char *sql,
		      const char *const *p,
		      void (*row)(int n, const char *const *col, void *arg),
		      void *arg)
{
	struct sqldb_stmt *s;
	const char *col[8];
	int i, n, rc;

	if ((s = sqldb_prepare(st->db, sql)) == NULL) {
		log_warn("stats: %s", sqldb_errmsg(st->db));
		return -1;
	}
	for (i = 0; p && p[i]; i++)
		sqldb_bind_text(s, i + 1, p[i]);
	while ((rc = sqldb_step(s)) == SQLDB_ROW) {
		n = sqldb_column_count(s);
		if (n > 8)
			n = 8;
		for (i = 0; i < n; i++) {
			const char *v = sqldb_column_text(s, i);

			col[i] = v ? v : "";
		}
		row(n, col, arg);
	}
	sqldb_finalize(s);
	return rc == SQLDB_DONE ? 0 : -1;
}

/* http://127.0.0.1:PORT/PATH (a numeric IPv4 loopback address) */
static int parse_url(const char *url, struct sockaddr_in *sa, char *path,
		     size_t n)
{
	char host[64];
	unsigned port;
	int used = 0;

	if (sscanf(url, "http://%63[0-9.]:%u%n", host, &port, &used) != 2 ||
	    port == 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1 ||
	    (ntohl(sa->sin_addr.s_addr) >> 24) != 127)
		return -1;
	snprintf(path, n, "%s", url[used] == '/' ? url + used : "/metrics");
	return strcspn(path, " \r\n") == strlen(path) ? 0 : -1;
}

/* GET url; the body into out. 0, or -1 with err. */
static int fetch(const char *url, struct sbuf *out, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	char path[512], req[700], buf[8192];
	const char *body;
	ssize_t n;
	int fd, len;

	if (parse_url(url, &sa, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "not a loopback http:// URL");
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if ((connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	     errno != EINPROGRESS) ||
	    poll(&pfd, 1, SCRAPE_TIMEOUT_MS) != 1 || (pfd.revents & POLLERR)) {
		snprintf(err, errlen, "cannot connect");
		close(fd);
		return -1;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: "
		       "127.0.0.1\r\n\r\n", path);
	if (write(fd, req, (size_t)len) != len) {
		snprintf(err, errlen, "cannot send");
		close(fd);
		return -1;
	}
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, SCRAPE_TIMEOUT_MS) != 1) {
			snprintf(err, errlen, "timed out");
			close(fd);
			return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		if (sbuf_append(out, buf, (size_t)n) < 0) {
			snprintf(err, errlen, "answer too large");
			close(fd);
			return -1;
		}
	}
	close(fd);
	if (sbuf_puts(out, "") < 0 || out->data == NULL ||
	    strncmp(out->data, "HTTP/1.", 7) != 0 ||
	    strncmp(out->data + 8, " 200", 4) != 0 ||
	    (body = strstr(out->data, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "no 200 answer");
		return -1;
	}
	sbuf_consume(out, (size_t)(body + 4 - out->data));
	return 0;
}

static void exec_bound(struct admin_stats *st, const char *sql,
		       const char *const *p, double v)
{
	struct sqldb_stmt *s;
	int i;

	if ((s = sqldb_prepare(st->db, sql)) == NULL)
		return;
	for (i = 0; p[i]; i++)
		sqldb_bind_text(s, i + 1, p[i]);
	sqldb_bind_double(s, i + 1, v);
	if (sqldb_step(s) != SQLDB_DONE)
		log_warn("stats: %s", sqldb_errmsg(st->db));
	sqldb_finalize(s);
}

static double last_value(struct admin_stats *st, const char *stage,
			 const char *metric, int *found)
{
	struct sqldb_stmt *s;
	double v = 0;

	*found = 0;
	if ((s = sqldb_prepare(st->db, "SELECT value FROM last WHERE stage=? "
			       "AND metric=?")) == NULL)
		return 0;
	sqldb_bind_text(s, 1, stage);
	sqldb_bind_text(s, 2, metric);
	if (sqldb_step(s) == SQLDB_ROW) {
		v = sqldb_column_double(s, 0);
		*found = 1;
	}
	sqldb_finalize(s);
	return v;
}

/* One sample: a counter adds its growth to the hour and the day, a
 * gauge keeps the largest value of each. */
static void sample(struct admin_stats *st, const char *stage,
		   const char *metric, double v, int gauge, int known,
		   const char *const slot[2])
{
	static const char *const period[2] = {"hour", "day"};
	double d = v;
	int i, found;

	if (!gauge) {
		double old = last_value(st, stage, metric, &found);

		/* a stage seen for the first time: its history is unknown,
		 * count from here; a new counter of a known stage appeared
		 * when it first moved (stages show a counter once it is
		 * non-zero), from 0 */
		d = !found ? (known ? v : 0) : v >= old ? v - old : v;
		{
			const char *p[] = {stage, metric, NULL};

			exec_bound(st, "INSERT OR REPLACE INTO last VALUES(?, "
				   "?, ?)", p, v);
		}
	}
	for (i = 0; i < 2; i++) {
		const char *p[] = {period[i], slot[i], stage, metric, NULL};

		exec_bound(st, gauge ?
			   "INSERT INTO stats VALUES(?, ?, ?, ?, ?5, 1) ON "
			   "CONFLICT DO UPDATE SET value=max(value, ?5)" :
			   "INSERT INTO stats VALUES(?, ?, ?, ?, ?5, 0) ON "
			   "CONFLICT DO UPDATE SET value=value + ?5", p, d);
	}
}

static void count_row(int n, const char *const *col, void *arg)
{
	if (n > 0)
		*(double *)arg = atof(col[0]);
}

/* metric names whose "# TYPE" says gauge, "\n"-separated */
static int is_gauge(const char *types, const char *metric)
{
	char key[METRIC_NAME_MAX + 2];
	size_t n = strcspn(metric, "{");

	snprintf(key, sizeof(key), "\n%.*s\n", (int)n, metric);
	return strstr(types, key) != NULL;
}

/* Parse the text format of one stage into the tables. */
static size_t parse(struct admin_stats *st, const char *stage, char *text,
		    const char *const slot[2])
{
	struct sbuf types;
	char *line, *next, *sp, *end, name[64];
	size_t n = 0;
	double v;
	int known;

	{
		const char *p[] = {stage, NULL};
		double c = 0;

		known = admin_stats_query(st, "SELECT count(*) FROM last "
					  "WHERE stage=?", p, count_row,
					  &c) == 0 && c > 0;
	}

	sbuf_init(&types, 1 << 20);
	sbuf_puts(&types, "\n");
	/* first the types (a "# TYPE" line precedes its samples) */
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (sscanf(line, "# TYPE %63s gauge", name) == 1 &&
		    strncmp(line + 7 + strlen(name), " gauge", 6) == 0)
			sbuf_printf(&types, "%s\n", name);
		if (next)
			next++;
	}
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		/* the value follows the last space outside the labels */
		sp = strrchr(line, '}');
		sp = strchr(sp ? sp : line, ' ');
		if (sp == NULL || sp - line > METRIC_NAME_MAX)
			continue;
		*sp = '\0';
		v = strtod(sp + 1, &end);
		if (end == sp + 1 || v != v)
			continue;
		/* only names and labels a chart and a CSV can show; no
		 * histogram buckets */
		if (strncmp(line, "sluice_", 7) != 0 ||
		    strstr(line, "_bucket{") != NULL ||
		    strcspn(line, "\r\t,<>&") != strlen(line))
			continue;
		sample(st, stage, line, v, is_gauge(types.data, line), known,
		       slot);
		n++;
	}
	sbuf_free(&types);
	return n;
}

void admin_stats_collect(struct admin *a)
{
	char slot_h[32], slot_d[32], err[128], name[64];
	const char *const slot[2] = {slot_h, slot_d};
	time_t now = time(NULL);
	struct sbuf body;
	struct tm tm;
	size_t i, k, n;

	gmtime_r(&now, &tm);
	strftime(slot_h, sizeof(slot_h), "%Y-%m-%d %H:00", &tm);
	strftime(slot_d, sizeof(slot_d), "%Y-%m-%d", &tm);
	for (i = 0; a->metrics[i]; i++) {
		k = strcspn(a->metrics[i], "=");
		if (a->metrics[i][k] != '=' || k == 0 || k >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)k, a->metrics[i]);
		sbuf_init(&body, SCRAPE_MAX);
		if (fetch(a->metrics[i] + k + 1, &body, err, sizeof(err)) < 0) {
			log_warn("stats: %s: %s", a->metrics[i], err);
		} else {
			sqldb_begin(a->stats->db, 0);
			n = parse(a->stats, name, body.data, slot);
			sqldb_commit(a->stats->db);
			if (n == 0)
				log_warn("stats: %s: no sluice_ samples",
					 a->metrics[i]);
		}
		sbuf_free(&body);
	}
}
