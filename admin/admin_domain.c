/*
 * NAME
 *	admin_domain - the pages of a domain, a mailbox, a list, a new user
 * DESCRIPTION
 *	A domain's page (its mailboxes, aliases, shared addresses and
 *	lists) is shown to its domain admins and super admins only; a
 *	list's members to the list's owners only; the welcome page (a new
 *	user's client settings, printable) to the admins of the user's
 *	domain. Anything else is 403, however the request was made. Every
 *	value from the directory is escaped on its way into the page.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "directory.h"

#include "../store/dir/store_dir.h"
#include "admin.h"
#include "admin_int.h"

struct rows {
	struct admin *a;
	struct sbuf *b;
	struct admin_sess *s;
};

/* a form of one button: op on address a, posted to action */
static void op_button(struct sbuf *b, struct admin_sess *s,
		      const char *action, const char *op, const char *a,
		      const char *label)
{
	admin_form_start(b, action, s);
	admin_hidden(b, "op", op);
	admin_hidden(b, "a", a);
	sbuf_printf(b, "<button>%s</button></form>", label);
}

static void cell(struct sbuf *b, const char *v)
{
	sbuf_puts(b, "<td>");
	admin_html(b, v);
	sbuf_puts(b, "</td>");
}

static void a_link(struct sbuf *b, const char *path, const char *arg,
		 const char *v, const char *text)
{
	sbuf_printf(b, "<a href=\"%s?%s=", path, arg);
	admin_url(b, v);
	sbuf_puts(b, "\">");
	admin_html(b, text);
	sbuf_puts(b, "</a>");
}

static void user_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;
	int i;

	sbuf_puts(x->b, "<tr><td>");
	a_link(x->b, "/user", "a", col[0], col[0]);
	sbuf_puts(x->b, "</td>");
	for (i = 1; i < n; i++)
		cell(x->b, col[i]);
	sbuf_puts(x->b, "</tr>");
}

/* address, targets; a delete button */
static void group_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;

	sbuf_puts(x->b, "<tr>");
	cell(x->b, col[0]);
	cell(x->b, col[1]);
	sbuf_puts(x->b, "<td>");
	op_button(x->b, x->s, "/alias", "del", col[0], "Delete");
	sbuf_puts(x->b, "</td></tr>");
}

static void shared_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;
	int i;

	sbuf_puts(x->b, "<tr>");
	for (i = 0; i < n; i++)
		cell(x->b, col[i]);
	sbuf_puts(x->b, "</tr>");
}

/* list, owners: members only behind the owners' link */
static void list_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;

	sbuf_puts(x->b, "<tr><td>");
	if (admin_owns_list(x->a, x->s->user, col[0]))
		a_link(x->b, "/list", "a", col[0], col[0]);
	else
		admin_html(x->b, col[0]);
	sbuf_puts(x->b, "</td>");
	cell(x->b, col[1]);
	sbuf_puts(x->b, "<td>");
	admin_form_start(x->b, "/list", x->s);
	admin_hidden(x->b, "op", "owner-add");
	admin_hidden(x->b, "a", col[0]);
	sbuf_puts(x->b, "<input name=\"owner\" placeholder=\"owner "
		  "address\"><button>Add owner</button></form>");
	op_button(x->b, x->s, "/list", "del", col[0], "Delete list");
	sbuf_puts(x->b, "</td></tr>");
}

/* the domain argument of r, when s's user may administer it */
static const char *my_domain(struct admin *a, struct admin_req *r,
			     struct admin_sess *s, const char *d,
			     struct admin_resp *o)
{
	if (d == NULL || !d[0] || strlen(d) > LIM_DOMAIN) {
		admin_error(o, 400, s, "No domain given.");
		return NULL;
	}
	if (!admin_can_domain(a, s->user, d)) {
		admin_error(o, 403, s, "You do not administer this domain.");
		return NULL;
	}
	return d;
}

void admin_domain_page(struct admin *a, struct admin_req *r,
		       struct admin_sess *s, struct admin_resp *o)
{
	const char *d = my_domain(a, r, s, admin_arg(r, "d"), o);
	struct sbuf *b = &o->body;
	struct rows x = {a, b, s};
	const char *p[2] = {d, NULL};
	char err[256];

	if (d == NULL)
		return;
	admin_page_start(b, d, s);
	sbuf_puts(b, "<h2>Mailboxes</h2><table id=\"mailboxes\"><tr><th>"
		  "Address</th><th>Name</th><th>Kind</th><th>Quota (bytes)"
		  "</th><th>Expires</th><th>State</th></tr>");
	store_dir_select(a->dir, DQ_DOMAIN_PEOPLE, p, user_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table><fieldset><legend>New person</legend>");
	admin_form_start(b, "/person", s);
	admin_hidden(b, "d", d);
	sbuf_puts(b, "<label>First name <input name=\"first\" id=\"first\">"
		  "</label><label>Last name <input name=\"last\" id=\"last\">"
		  "</label><label>Password <input type=\"password\" "
		  "name=\"password\" id=\"person-password\"></label><label>"
		  "Quota <input name=\"quota\" id=\"quota\" placeholder=\"e.g."
		  " 100m\"></label><label>Expires <input name=\"expires\" "
		  "placeholder=\"YYYY-MM-DD\"></label><button id=\"create-"
		  "person\">Create person</button></form></fieldset>"
		  "<fieldset><legend>New mailbox</legend>");
	admin_form_start(b, "/mailbox", s);
	admin_hidden(b, "d", d);
	sbuf_puts(b, "<label>Address <input name=\"local\" id=\"mb-local\">"
		  "@");
	admin_html(b, d);
	sbuf_puts(b, "</label><label>Kind <select name=\"kind\"><option>"
		  "personal</option><option>role</option></select></label>"
		  "<label>Password <input type=\"password\" name=\"password\">"
		  "</label><label>Quota <input name=\"quota\"></label><button "
		  "id=\"create-mailbox\">Create mailbox</button></form>"
		  "</fieldset><h2>Aliases and forwarding</h2><table id=\""
		  "aliases\"><tr><th>Address</th><th>Goes to</th><th></th>"
		  "</tr>");
	store_dir_select(a->dir, DQ_DOMAIN_ALIASES, p, group_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table>");
	admin_form_start(b, "/alias", s);
	admin_hidden(b, "op", "add");
	admin_hidden(b, "d", d);
	sbuf_puts(b, "<label>Alias <input name=\"local\" id=\"alias-local\">"
		  "@");
	admin_html(b, d);
	sbuf_puts(b, "</label><label>Targets (local or remote, comma "
		  "separated) <input name=\"targets\" id=\"alias-targets\" "
		  "size=\"40\"></label><button id=\"add-alias\">Add alias"
		  "</button></form><h2>Shared addresses</h2><p>An address "
		  "that could mean several people: it lists their official "
		  "addresses.</p><table id=\"shared\"><tr><th>Address</th>"
		  "<th>Official addresses</th></tr>");
	store_dir_select(a->dir, DQ_DOMAIN_SHARED, p, shared_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table><h2>Distribution lists</h2><p>Only a list's "
		  "owners see its members.</p><table id=\"lists\"><tr><th>"
		  "List</th><th>Owners</th><th></th></tr>");
	store_dir_select(a->dir, DQ_DOMAIN_LISTS, p, list_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table>");
	admin_form_start(b, "/list", s);
	admin_hidden(b, "op", "add");
	admin_hidden(b, "d", d);
	sbuf_puts(b, "<label>List <input name=\"local\" id=\"list-local\">"
		  "@");
	admin_html(b, d);
	sbuf_puts(b, "</label><label>First member <input name=\"member\" "
		  "id=\"list-member\"></label><label>Owner <input name=\""
		  "owner\" id=\"list-owner\"></label><button id=\"add-list\">"
		  "Add list</button></form>");
	admin_page_end(b);
}

static void detail_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;
	static const char *const names[] = {"Address", "Name", "Kind",
					    "Quota (bytes)", "Expires",
					    "State", "Password set"};
	int i;

	for (i = 0; i < n && i < 7; i++) {
		sbuf_printf(x->b, "<tr><th>%s</th>", names[i]);
		cell(x->b, col[i]);
		sbuf_puts(x->b, "</tr>");
	}
}

static void op_form(struct sbuf *b, struct admin_sess *s, const char *addr,
		    const char *op, const char *input, const char *button)
{
	admin_form_start(b, "/user", s);
	admin_hidden(b, "op", op);
	admin_hidden(b, "a", addr);
	sbuf_printf(b, "%s<button id=\"op-%s\">%s</button></form>", input, op,
		    button);
}

void admin_user_page(struct admin *a, struct admin_req *r,
		     struct admin_sess *s, struct admin_resp *o)
{
	const char *addr = admin_arg(r, "a");
	const char *p[] = {addr, NULL};
	struct sbuf *b = &o->body;
	struct rows x = {a, b, s};
	char err[256];

	if (addr == NULL || my_domain(a, r, s, admin_domain_of(addr), o) ==
				    NULL)
		return;
	if (admin_count(a, DQ_USER_COUNT, p) <= 0) {
		admin_error(o, 404, s, "No such mailbox.");
		return;
	}
	admin_page_start(b, addr, s);
	sbuf_puts(b, "<table id=\"details\">");
	store_dir_select(a->dir, DQ_USER_DETAIL, p, detail_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table>");
	op_form(b, s, addr, "passwd", "<input type=\"password\" name=\"value\""
		" id=\"new-password\">", "Set password");
	op_form(b, s, addr, "quota", "<input name=\"value\" placeholder=\"e.g."
		" 100m, 0 = none\">", "Set quota");
	op_form(b, s, addr, "expires", "<input name=\"value\" placeholder=\""
		"YYYY-MM-DD or never\">", "Set expiry");
	op_form(b, s, addr, "kind", "<select name=\"value\"><option>personal"
		"</option><option>role</option></select>", "Set kind");
	op_form(b, s, addr, "enable", "", "Enable");
	op_form(b, s, addr, "disable", "", "Disable");
	op_form(b, s, addr, "del", "", "Delete mailbox");
	sbuf_puts(b, "<p>");
	a_link(b, "/welcome", "a", addr, "Client settings (printable)");
	sbuf_puts(b, " | ");
	a_link(b, "/senders", "a", addr, "Sender lists");
	sbuf_puts(b, " | ");
	a_link(b, "/domain", "d", admin_domain_of(addr), "Back to the domain");
	sbuf_puts(b, "</p>");
	admin_page_end(b);
}

static void member_row(int n, const char *const *col, void *arg)
{
	struct rows *x = arg;

	sbuf_puts(x->b, "<tr>");
	cell(x->b, col[0]);
	sbuf_puts(x->b, "<td>");
	admin_form_start(x->b, "/list/member", x->s);
	admin_hidden(x->b, "op", "rm");
	admin_hidden(x->b, "a", col[1]);
	admin_hidden(x->b, "member", col[0]);
	sbuf_puts(x->b, "<button>Remove</button></form></td></tr>");
}

void admin_list_page(struct admin *a, struct admin_req *r,
		     struct admin_sess *s, struct admin_resp *o)
{
	const char *list = admin_arg(r, "a");
	const char *p[] = {list, NULL};
	struct sbuf *b = &o->body;
	struct rows x = {a, b, s};
	char err[256];

	if (list == NULL || !admin_owns_list(a, s->user, list)) {
		admin_error(o, 403, s, "Only the list's owners see its "
			    "members.");
		return;
	}
	admin_page_start(b, list, s);
	sbuf_puts(b, "<h2>Members</h2><table id=\"members\">");
	store_dir_select(a->dir, DQ_LIST_MEMBERS, p, member_row, &x, err,
			 sizeof(err));
	sbuf_puts(b, "</table>");
	admin_form_start(b, "/list/member", s);
	admin_hidden(b, "op", "add");
	admin_hidden(b, "a", list);
	sbuf_puts(b, "<label>New member <input name=\"member\" id=\"member\">"
		  "</label><button id=\"add-member\">Add member</button>"
		  "</form>");
	admin_page_end(b);
}

void admin_welcome_page(struct admin *a, struct admin_req *r,
			struct admin_sess *s, struct admin_resp *o)
{
	const char *addr = admin_arg(r, "a");
	const char *p[] = {addr, NULL};
	struct admin_cfg *c = a->cfg;
	struct sbuf *b = &o->body;

	if (addr == NULL || my_domain(a, r, s, admin_domain_of(addr), o) ==
				    NULL)
		return;
	if (admin_count(a, DQ_USER_COUNT, p) <= 0) {
		admin_error(o, 404, s, "No such mailbox.");
		return;
	}
	admin_page_start(b, "Your mail account", s);
	sbuf_puts(b, "<table id=\"settings\"><tr><th>Address and user name"
		  "</th><td id=\"address\">");
	admin_html(b, addr);
	sbuf_puts(b, "</td></tr><tr><th>Incoming (IMAP)</th><td>");
	admin_html(b, c->mail_host);
	sbuf_printf(b, " port %lld, SSL/TLS</td></tr><tr><th>Incoming (POP3)"
		    "</th><td>", c->imaps_port);
	admin_html(b, c->mail_host);
	sbuf_printf(b, " port %lld, SSL/TLS</td></tr><tr><th>Outgoing "
		    "(submission)</th><td>", c->pop3s_port);
	admin_html(b, c->mail_host);
	sbuf_printf(b, " port %lld, STARTTLS, password authentication"
		    "</td></tr></table><p>Your password is never sent in "
		    "clear: every connection is encrypted. Change it at "
		    "this site's <b>My password</b> page.</p>",
		    c->submission_port);
	admin_page_end(b);
}

void admin_audit_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	char path[4096], buf[65536];
	struct sbuf *b = &o->body;
	ssize_t n = 0;
	off_t end;
	int fd;

	if (!admin_is_super(a, s->user)) {
		admin_error(o, 403, s, "Only super admins read the audit log.");
		return;
	}
	snprintf(path, sizeof(path), "%s/audit.log", a->cfg->state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* the last 64 KiB */
		end = lseek(fd, 0, SEEK_END);
		if (end > (off_t)sizeof(buf) - 1)
			lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
		else
			lseek(fd, 0, SEEK_SET);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	admin_page_start(b, "Audit log", s);
	sbuf_puts(b, "<pre id=\"audit\">");
	admin_html(b, buf);
	sbuf_puts(b, "</pre>");
	admin_page_end(b);
}
