/*
 * NAME
 *	admin_queue - every stage's queue: list, hold, release, delete, flush
 * DESCRIPTION
 *	Talks to each running stage through the control socket that
 *	sluice-queue uses (QUEUE_DIR/control, common/qcontrol.c): one
 *	command line, the answer until the daemon closes. A stage that
 *	does not run is shown as such; its queue is not opened here. Queue
 *	ids are checked before they go into a command. Super admins only:
 *	queues hold every domain's mail.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "queue.h"

#include "admin.h"
#include "admin_int.h"

#define QUEUE_ANSWER_MAX (1 << 20)
#define QUEUE_TIMEOUT_MS 3000

/* the queue directory of the configured stage name, or NULL */
static const char *queue_dir(struct admin *a, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; a->queues[i]; i++)
		if (strncmp(a->queues[i], name, n) == 0 &&
		    a->queues[i][n] == ':')
			return a->queues[i] + n + 1;
	return NULL;
}

/* Send cmd to dir's daemon; its answer to out. 0, or -1 with err. */
static int ask(const char *dir, const char *cmd, struct sbuf *out,
	       char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct pollfd pfd;
	char buf[8192];
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", dir,
			     QUEUE_CONTROL_SOCK) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "queue path too long");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(err, errlen, "not running (%s)", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) ||
	    write(fd, "\n", 1) != 1) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, QUEUE_TIMEOUT_MS) <= 0) {
			snprintf(err, errlen, "no answer");
			close(fd);
			return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (sbuf_append(out, buf, (size_t)n) < 0) {
			snprintf(err, errlen, "answer too long");
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

/* a queue id as the queue makes them: letters and digits */
static int id_ok(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n < 64 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789") == n;
}

static void button(struct sbuf *b, struct admin_sess *s, const char *q,
		   const char *op, const char *id)
{
	admin_form_start(b, "/queue", s);
	sbuf_puts(b, "<input type=\"hidden\" name=\"q\" value=\"");
	admin_html(b, q);
	sbuf_printf(b, "\"><input type=\"hidden\" name=\"op\" value=\"%s\">",
		    op);
	if (id) {
		sbuf_puts(b, "<input type=\"hidden\" name=\"id\" value=\"");
		admin_html(b, id);
		sbuf_puts(b, "\">");
	}
	sbuf_printf(b, "<button>%s</button></form>", op);
}

/* The listing, each message's first line with its buttons. */
static void listing(struct sbuf *b, struct admin_sess *s, const char *q,
		    const char *text)
{
	char id[64], line[1024];
	const char *p = text, *nl;
	size_t n;

	sbuf_puts(b, "<table class=\"queue\">");
	while (*p) {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		sbuf_puts(b, "<tr><td><pre>");
		admin_html(b, line);
		sbuf_puts(b, "</pre></td><td>");
		if (line[0] != ' ' && line[0] != '-' &&
		    sscanf(line, "%63s", id) == 1 && id_ok(id)) {
			button(b, s, q, strstr(line, " HELD ") ? "release"
							       : "hold", id);
			button(b, s, q, "delete", id);
		}
		sbuf_puts(b, "</td></tr>");
		p += n + (nl != NULL);
	}
	sbuf_puts(b, "</table>");
}

void admin_queue_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	struct sbuf *b = &o->body, ans;
	char err[256], name[64];
	size_t i, n;

	if (!admin_is_super(a, s->user)) {
		admin_error(o, 403, s, "Only super admins see the queues.");
		return;
	}
	admin_page_start(b, "Queues", s);
	for (i = 0; a->queues[i]; i++) {
		n = strcspn(a->queues[i], ":");
		snprintf(name, sizeof(name), "%.*s", (int)n, a->queues[i]);
		if (a->queues[i][n] != ':')
			continue;
		sbuf_puts(b, "<h2>");
		admin_html(b, name);
		sbuf_puts(b, "</h2>");
		sbuf_init(&ans, QUEUE_ANSWER_MAX);
		if (ask(a->queues[i] + n + 1, "list", &ans, err,
			sizeof(err)) < 0) {
			sbuf_puts(b, "<p class=\"error\">");
			admin_html(b, err);
			sbuf_puts(b, "</p>");
		} else {
			listing(b, s, name, ans.data ? ans.data : "");
			button(b, s, name, "flush", NULL);
		}
		sbuf_free(&ans);
	}
	admin_page_end(b);
}

void admin_queue_post(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	const char *q = admin_form(r, "q"), *op = admin_form(r, "op");
	const char *id = admin_form(r, "id");
	const char *dir = q ? queue_dir(a, q) : NULL;
	char cmd[128], err[256], what[800], msg[512];
	struct sbuf ans;

	if (!admin_is_super(a, s->user)) {
		admin_error(o, 403, s, "Only super admins change the queues.");
		return;
	}
	if (dir == NULL || op == NULL) {
		admin_error(o, 400, s, "Unknown queue.");
		return;
	}
	if (strcmp(op, "flush") == 0) {
		snprintf(cmd, sizeof(cmd), "flush");
	} else if ((!strcmp(op, "hold") || !strcmp(op, "release") ||
		    !strcmp(op, "delete")) && id && id_ok(id)) {
		snprintf(cmd, sizeof(cmd), "%s %s", op, id);
	} else {
		admin_error(o, 400, s, "Unknown action or message id.");
		return;
	}
	sbuf_init(&ans, 4096);
	if (ask(dir, cmd, &ans, err, sizeof(err)) < 0 ||
	    (ans.data && strncmp(ans.data, "error:", 6) == 0)) {
		if (ans.data && strncmp(ans.data, "error:", 6) == 0)
			snprintf(err, sizeof(err), "%.200s", ans.data + 7);
		snprintf(what, sizeof(what), "what=queue %s %s, result=%s", q,
			 cmd, err);
		admin_audit(a, s->user, r->client, what);
		admin_error(o, 400, s, "%s: %s", q, err);
	} else {
		snprintf(what, sizeof(what), "what=queue %s %s, result=ok", q,
			 cmd);
		admin_audit(a, s->user, r->client, what);
		snprintf(msg, sizeof(msg), "%s: %.300s", q,
			 ans.data ? ans.data : "done");
		admin_flash(s, msg);
		admin_redirect(o, "/queues");
	}
	sbuf_free(&ans);
}
