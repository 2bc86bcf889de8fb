/*
 * NAME
 *	admin_pages - routing, login, the home page, own password
 * DESCRIPTION
 *	Every POST must carry the session's CSRF token and, when the
 *	browser sends Origin, come from this site; anything else is 403
 *	before any handler runs. Login checks the password through Cyrus
 *	SASL against the credentials snapshot (common/sasl.c, as IMAP
 *	does) and counts failures per client address and per user in the
 *	same authlimit table as IMAP: a failure is answered after a
 *	growing delay, a locked-out client or user is refused unchecked.
 *	A successful login always starts a new session. Pages other than
 *	/login need a logged-in session; what each may show or change is
 *	checked again in its handler (admin_domain.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authlimit.h"
#include "log.h"
#include "sasl.h"

#include "../store/dir/store_dir.h"
#include "admin.h"
#include "admin_int.h"

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void admin_redirect(struct admin_resp *o, const char *to)
{
	snprintf(o->location, sizeof(o->location), "%s", to);
}

void admin_flash(struct admin_sess *s, const char *msg)
{
	snprintf(s->flash, sizeof(s->flash), "%s", msg);
}

static void login_page(struct admin *a, struct admin_req *r,
		       struct admin_sess *s, struct admin_resp *o,
		       const char *error)
{
	struct sbuf *b = &o->body;

	if (s == NULL || s->user[0]) {
		s = admin_sess_new(a, "");
		if (s == NULL) {
			admin_error(o, 500, NULL, "no session available");
			return;
		}
	}
	admin_sess_cookie(s, o->cookie, sizeof(o->cookie));
	admin_page_start(b, "Log in", NULL);
	if (error) {
		sbuf_puts(b, "<p class=\"error\" id=\"error\">");
		admin_html(b, error);
		sbuf_puts(b, "</p>");
	}
	admin_form_start(b, "/login", s);
	sbuf_puts(b, "<p><label>Address <input name=\"user\" id=\"user\" "
		  "autocomplete=\"username\" maxlength=\"256\"></label></p>"
		  "<p><label>Password <input type=\"password\" "
		  "name=\"password\" id=\"password\" maxlength=\"1000\" "
		  "autocomplete=\"current-password\"></label></p>"
		  "<p><button id=\"login\">Log in</button></p></form>");
	admin_page_end(b);
}

static void key(char *out, size_t n, const char *kind, const char *v)
{
	size_t i;

	snprintf(out, n, "%s:%s", kind, v);
	for (i = 0; out[i]; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

static void do_login(struct admin *a, struct admin_req *r,
		     struct admin_sess *s, struct admin_resp *o)
{
	const char *user = admin_form(r, "user");
	const char *pw = admin_form(r, "password");
	char kip[128], kuser[LIM_PATH + 8], safe[LIM_PATH + 1];
	struct sasl_srv *ss;
	enum sasl_res res;
	uint64_t now = mono_ms(), d, d2;
	struct admin_sess *ns;

	if (user == NULL || pw == NULL || !user[0] || !pw[0] ||
	    strlen(user) > LIM_PATH) {
		login_page(a, r, s, o, "Give your address and password.");
		o->status = 400;
		return;
	}
	key(kip, sizeof(kip), "ip", r->client);
	key(kuser, sizeof(kuser), "user", user);
	log_safe(safe, sizeof(safe), user);
	if (authlimit_blocked(a->authlimit, kip, now) ||
	    authlimit_blocked(a->authlimit, kuser, now)) {
		log_warn("login refused: user=%s, client=[%s]: too many "
			 "failures", safe, r->client);
		login_page(a, r, s, o, "Too many failed logins: try again "
			   "later.");
		o->status = 429;
		return;
	}
	ss = sasl_srv_new("http", NULL, NULL, 1);
	res = ss ? sasl_srv_check_plain(ss, user, pw) : SASL_RES_TEMP;
	if (res == SASL_RES_OK) {
		authlimit_ok(a->authlimit, kip);
		authlimit_ok(a->authlimit, kuser);
		/* a fresh session: the login form's id (which a third party
		 * may have planted) ends here */
		ns = admin_sess_new(a, sasl_srv_user(ss));
		admin_sess_end(s);
		sasl_srv_free(&ss);
		if (ns == NULL) {
			admin_error(o, 500, NULL, "no session available");
			return;
		}
		log_info("login user=%s, client=[%s]", ns->user, r->client);
		admin_sess_cookie(ns, o->cookie, sizeof(o->cookie));
		admin_redirect(o, "/");
		return;
	}
	sasl_srv_free(&ss);
	if (res == SASL_RES_TEMP) {
		admin_error(o, 503, NULL, "Logins are not possible now.");
		return;
	}
	d = authlimit_fail(a->authlimit, kip, now);
	d2 = authlimit_fail(a->authlimit, kuser, now);
	log_info("login failed: user=%s, client=[%s]", safe, r->client);
	login_page(a, r, s, o, "Wrong address or password.");
	o->status = 403;
	o->delay_ms = d2 > d ? d2 : d;
}

static void do_logout(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	log_info("logout user=%s, client=[%s]", s->user, r->client);
	admin_sess_end(s);
	admin_sess_cookie(NULL, o->cookie, sizeof(o->cookie));
	admin_redirect(o, "/login");
}

static void domain_link(int n, const char *const *col, void *arg)
{
	struct sbuf *b = arg;

	sbuf_puts(b, "<li><a href=\"/domain?d=");
	admin_url(b, col[0]);
	sbuf_puts(b, "\">");
	admin_html(b, col[0]);
	sbuf_puts(b, "</a></li>");
}

static void list_link(int n, const char *const *col, void *arg)
{
	struct sbuf *b = arg;

	sbuf_puts(b, "<li><a href=\"/list?a=");
	admin_url(b, col[0]);
	sbuf_puts(b, "\">");
	admin_html(b, col[0]);
	sbuf_puts(b, "</a></li>");
}

struct admin_row_ctx {
	struct sbuf *b;
	struct admin_sess *s;
};

static void admin_row(int n, const char *const *col, void *arg)
{
	struct admin_row_ctx *c = arg;

	sbuf_puts(c->b, "<tr><td>");
	admin_html(c->b, col[0]);
	sbuf_puts(c->b, "</td><td>");
	admin_html(c->b, col[1]);
	sbuf_puts(c->b, "</td><td>");
	admin_form_start(c->b, "/admin/del", c->s);
	sbuf_puts(c->b, "<input type=\"hidden\" name=\"domain\" value=\"");
	admin_html(c->b, col[0]);
	sbuf_puts(c->b, "\"><input type=\"hidden\" name=\"address\" "
		  "value=\"");
	admin_html(c->b, col[1]);
	sbuf_puts(c->b, "\"><button>Remove</button></form></td></tr>");
}

static void home(struct admin *a, struct admin_req *r, struct admin_sess *s,
		 struct admin_resp *o)
{
	struct sbuf *b = &o->body;
	const char *p[] = {s->user, NULL};
	char err[256];
	int super = admin_is_super(a, s->user);

	admin_page_start(b, "Sluice administration", s);
	sbuf_printf(b, "<p>Logged in as <b id=\"me\">");
	admin_html(b, s->user);
	sbuf_printf(b, "</b>%s.</p>", super ? " (super admin)" : "");
	sbuf_puts(b, "<h2>Domains</h2><ul id=\"domains\">");
	if (super)
		store_dir_select(a->dir, DQ_DOMAIN_LIST, NULL, domain_link, b,
				 err, sizeof(err));
	else
		store_dir_select(a->dir, DQ_ADMIN_DOMAINS, p, domain_link, b,
				 err, sizeof(err));
	sbuf_puts(b, "</ul>");
	if (super) {
		struct admin_row_ctx c = {b, s};

		admin_form_start(b, "/domain/add", s);
		sbuf_puts(b, "<label>New domain <input name=\"domain\" "
			  "id=\"new-domain\"></label><button>Add domain"
			  "</button></form><h2>Administrators</h2><table>"
			  "<tr><th>Domain (* = all)</th><th>Admin</th><th>"
			  "</th></tr>");
		store_dir_select(a->dir, DQ_ADMIN_LIST, NULL, admin_row, &c,
				 err, sizeof(err));
		sbuf_puts(b, "</table>");
		admin_form_start(b, "/admin/add", s);
		sbuf_puts(b, "<label>Domain (or *) <input name=\"domain\">"
			  "</label><label>Address <input name=\"address\">"
			  "</label><button>Name admin</button></form>"
			  "<p><a href=\"/audit\">Audit log</a></p>");
	}
	sbuf_puts(b, "<h2>Lists you own</h2><ul id=\"owned\">");
	store_dir_select(a->dir, DQ_OWNED_LISTS, p, list_link, b, err,
			 sizeof(err));
	sbuf_puts(b, "</ul>");
	admin_page_end(b);
}

static void password_page(struct admin *a, struct admin_req *r,
			  struct admin_sess *s, struct admin_resp *o)
{
	struct sbuf *b = &o->body;

	admin_page_start(b, "My password", s);
	admin_form_start(b, "/password", s);
	sbuf_puts(b, "<p><label>Current password <input type=\"password\" "
		  "name=\"old\" id=\"old\"></label></p><p><label>New password"
		  " <input type=\"password\" name=\"new\" id=\"new\"></label>"
		  "</p><p><label>Again <input type=\"password\" name=\"new2\""
		  " id=\"new2\"></label></p><button id=\"change\">Change"
		  "</button></form>");
	admin_page_end(b);
}

static void do_password(struct admin *a, struct admin_req *r,
			struct admin_sess *s, struct admin_resp *o)
{
	const char *old = admin_form(r, "old"), *pw = admin_form(r, "new");
	const char *pw2 = admin_form(r, "new2");
	struct sasl_srv *ss;
	enum sasl_res res;
	char err[256];

	if (old == NULL || pw == NULL || pw2 == NULL || strcmp(pw, pw2)) {
		admin_error(o, 400, s, "The new passwords differ.");
		return;
	}
	if (admin_password_weak(pw, err, sizeof(err))) {
		admin_error(o, 400, s, "%s", err);
		return;
	}
	ss = sasl_srv_new("http", NULL, NULL, 1);
	res = ss ? sasl_srv_check_plain(ss, s->user, old) : SASL_RES_TEMP;
	sasl_srv_free(&ss);
	if (res != SASL_RES_OK) {
		admin_error(o, 403, s, "The current password is wrong.");
		return;
	}
	if (admin_passwd(a, r, s, s->user, pw, err, sizeof(err)) < 0) {
		admin_error(o, 400, s, "%s", err);
		return;
	}
	admin_flash(s, "Your password was changed.");
	admin_redirect(o, "/");
}

int admin_password_weak(const char *pw, char *err, size_t errlen)
{
	size_t i, n = strlen(pw);

	for (i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			break;
	if (n < 8 || n > 512 || i < n) {
		snprintf(err, errlen, "A password has 8 to 512 characters, "
			 "no control characters.");
		return 1;
	}
	return 0;
}

struct route {
	const char *method;
	const char *path;
	void (*fn)(struct admin *a, struct admin_req *r, struct admin_sess *s,
		   struct admin_resp *o);
};

static const struct route routes[] = {
	{"GET", "/", home},
	{"GET", "/password", password_page},
	{"POST", "/password", do_password},
	{"POST", "/logout", do_logout},
	{"GET", "/domain", admin_domain_page},
	{"GET", "/user", admin_user_page},
	{"GET", "/list", admin_list_page},
	{"GET", "/welcome", admin_welcome_page},
	{"GET", "/audit", admin_audit_page},
	{"GET", "/senders", admin_senders_page},
	{"POST", "/senders", admin_post_senders},
	{"POST", "/domain/add", admin_post_domain},
	{"POST", "/domain/del", admin_post_domain},
	{"POST", "/admin/add", admin_post_admin},
	{"POST", "/admin/del", admin_post_admin},
	{"POST", "/person", admin_post_person},
	{"POST", "/mailbox", admin_post_mailbox},
	{"POST", "/user", admin_post_user},
	{"POST", "/alias", admin_post_alias},
	{"POST", "/list", admin_post_list},
	{"POST", "/list/member", admin_post_member},
	{"GET", "/queues", admin_queue_page},
	{"POST", "/queue", admin_queue_post},
	{"GET", "/stats", admin_stats_page},
	{"GET", "/stats.csv", admin_stats_page},
	{NULL, NULL, NULL},
};

/* The browser's Origin, when sent, names this site. */
static int same_origin(struct admin_req *r)
{
	const char *origin = admin_header(r, "Origin");
	const char *host = admin_header(r, "Host");

	if (origin == NULL)
		return 1;
	return host && strncmp(origin, "https://", 8) == 0 &&
	       strcasecmp(origin + 8, host) == 0;
}

void admin_route(struct admin *a, struct admin_req *r, struct admin_resp *o)
{
	struct admin_sess *s = admin_sess_find(a, r);
	int post = strcmp(r->method, "POST") == 0;
	size_t i;

	if (post && r->form_bad) {
		admin_error(o, 400, s, "The form is malformed or too large.");
		return;
	}
	if (post && (!admin_sess_csrf_ok(s, admin_form(r, "csrf")) ||
		     !same_origin(r))) {
		log_warn("refused POST %s from [%s]: CSRF check failed (%s)",
			 r->path, r->client,
			 s == NULL ? "no session"
			 : !same_origin(r) ? "foreign Origin" : "bad token");
		admin_error(o, 403, s && s->user[0] ? s : NULL,
			    "This form has expired or was not sent from this "
			    "site (CSRF check failed). Reload the page and "
			    "try again.");
		return;
	}
	if (strcmp(r->path, "/login") == 0) {
		if (post)
			do_login(a, r, s, o);
		else if (s && s->user[0])
			admin_redirect(o, "/");
		else
			login_page(a, r, s, o, NULL);
		return;
	}
	if (s == NULL || !s->user[0]) {
		if (post)
			admin_error(o, 403, NULL, "Log in first.");
		else
			admin_redirect(o, "/login");
		return;
	}
	for (i = 0; routes[i].path; i++)
		if (!strcmp(routes[i].method, r->method) &&
		    !strcmp(routes[i].path, r->path)) {
			routes[i].fn(a, r, s, o);
			return;
		}
	admin_error(o, 404, s, "No such page.");
}
