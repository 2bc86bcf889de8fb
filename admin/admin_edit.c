/*
 * NAME
 *	admin_edit - the forms that change the directory
 * DESCRIPTION
 *	Each handler validates every field (a clear error when one is
 *	wrong), checks that the session's user may change what it names
 *	(super admin: domains and admins; domain admin: the addresses of
 *	their domains; list owner: the list's members), then runs the
 *	sluicectl command through admin_change(). Values travel as argv
 *	words to bound SQL parameters; none reaches a shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "directory.h"

#include "../store/dir/store_dir.h"
#include "admin.h"
#include "admin_int.h"

/* RFC 5322 3.2.3 dot-atom-text, at most LIM_LOCAL_PART bytes */
static int local_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > LIM_LOCAL_PART || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-=?^_`{|}~.",
						       c)))
			return 0;
	}
	return 1;
}

/* A field that must be there and fit; NULL after an error page. */
static const char *need(struct admin_req *r, struct admin_sess *s,
			struct admin_resp *o, const char *name,
			const char *what)
{
	const char *v = admin_form(r, name);

	if (v == NULL || !v[0]) {
		admin_error(o, 400, s, "%s is missing.", what);
		return NULL;
	}
	if (strlen(v) > LIM_PATH) {
		admin_error(o, 400, s, "%s is too long.", what);
		return NULL;
	}
	return v;
}

/* An address of ours: valid, lowercased into out, in a domain s's user
 * administers. 0, or -1 after an error page. */
static int our_address(struct admin *a, struct admin_sess *s,
		       struct admin_resp *o, const char *v, char *out,
		       size_t n)
{
	size_t i;

	snprintf(out, n, "%s", v);
	for (i = 0; out[i]; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	if (!directory_valid_address(out) || strlen(v) >= n) {
		admin_error(o, 400, s, "'%s' is not a valid address.", v);
		return -1;
	}
	if (!admin_can_domain(a, s->user, admin_domain_of(out))) {
		admin_error(o, 403, s, "You do not administer this domain.");
		return -1;
	}
	return 0;
}

/* d@local of a form's d and local fields, checked as our_address. */
static int form_address(struct admin *a, struct admin_req *r,
			struct admin_sess *s, struct admin_resp *o,
			char *out, size_t n)
{
	const char *d = need(r, s, o, "d", "The domain");
	const char *local = d ? need(r, s, o, "local", "The address") : NULL;
	char full[LIM_PATH * 2 + 2];

	if (local == NULL)
		return -1;
	if (!local_ok(local)) {
		admin_error(o, 400, s, "'%s' is not a valid local part: use "
			    "letters, digits, dots and !#$%%&'*+-=?^_`{|}~ "
			    "only.", local);
		return -1;
	}
	snprintf(full, sizeof(full), "%s@%s", local, d);
	return our_address(a, s, o, full, out, n);
}

int admin_edit_change(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o, int argc,
		      char **argv, const char *done, const char *back,
		      struct sbuf *out)
{
	char err[512];
	struct sbuf tmp;
	int rc;

	sbuf_init(&tmp, 1 << 16);
	rc = admin_change(a, r, s, argc, argv, out ? out : &tmp, err,
			  sizeof(err));
	sbuf_free(&tmp);
	if (rc < 0) {
		admin_error(o, 400, s, "%s", err);
		return -1;
	}
	admin_flash(s, done);
	admin_redirect(o, back);
	return 0;
}

static void back_to_domain(char *out, size_t n, const char *addr)
{
	struct sbuf b;

	sbuf_init(&b, n - 1);
	sbuf_puts(&b, "/domain?d=");
	admin_url(&b, admin_domain_of(addr));
	snprintf(out, n, "%s", b.data ? b.data : "/");
	sbuf_free(&b);
}

void admin_post_domain(struct admin *a, struct admin_req *r,
		       struct admin_sess *s, struct admin_resp *o)
{
	const char *d = need(r, s, o, "domain", "The domain");
	char *argv[] = {"domain", strstr(r->path, "add") ? "add" : "del",
			NULL, NULL};
	char dom[LIM_DOMAIN + 1];

	if (d == NULL)
		return;
	if (!admin_is_super(a, s->user)) {
		admin_error(o, 403, s, "Only super admins manage domains.");
		return;
	}
	snprintf(dom, sizeof(dom), "%s", d);
	argv[2] = dom;
	admin_edit_change(a, r, s, o, 3, argv, "Domain changed.", "/", NULL);
}

void admin_post_admin(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	const char *d = need(r, s, o, "domain", "The domain");
	const char *who = d ? need(r, s, o, "address", "The address") : NULL;
	char dom[LIM_DOMAIN + 1], addr[LIM_PATH + 1];
	char *argv[] = {"admin", strstr(r->path, "add") ? "add" : "del", dom,
			addr, NULL};

	if (who == NULL)
		return;
	if (!admin_is_super(a, s->user)) {
		admin_error(o, 403, s, "Only super admins name admins.");
		return;
	}
	snprintf(dom, sizeof(dom), "%s", d);
	snprintf(addr, sizeof(addr), "%s", who);
	admin_edit_change(a, r, s, o, 4, argv, "Administrators changed.", "/", NULL);
}

/* the mailbox a person command made ("mailbox\tADDRESS" in out) */
static void made_mailbox(const struct sbuf *out, char *addr, size_t n)
{
	const char *m = out->data ? strstr(out->data, "mailbox\t") : NULL;

	addr[0] = '\0';
	if (m)
		snprintf(addr, n, "%.*s", (int)strcspn(m + 8, "\n"), m + 8);
}

static int set_password(struct admin *a, struct admin_req *r,
			struct admin_sess *s, struct admin_resp *o,
			const char *addr, const char *pw)
{
	char err[256];

	if (admin_password_weak(pw, err, sizeof(err)) ||
	    admin_passwd(a, r, s, addr, pw, err, sizeof(err)) < 0) {
		admin_error(o, 400, s, "%s", err);
		return -1;
	}
	return 0;
}

/* --quota and --expires of the form, appended to argv */
static int options(struct admin_req *r, char **argv, int argc)
{
	const char *q = admin_form(r, "quota");
	const char *e = admin_form(r, "expires");

	if (q && q[0]) {
		argv[argc++] = "--quota";
		argv[argc++] = (char *)q;
	}
	if (e && e[0]) {
		argv[argc++] = "--expires";
		argv[argc++] = (char *)e;
	}
	return argc;
}

void admin_post_person(struct admin *a, struct admin_req *r,
		       struct admin_sess *s, struct admin_resp *o)
{
	const char *d = need(r, s, o, "d", "The domain");
	const char *first = d ? need(r, s, o, "first", "The first name")
			      : NULL;
	const char *last = first ? need(r, s, o, "last", "The last name")
				 : NULL;
	const char *pw = admin_form(r, "password");
	char dom[LIM_DOMAIN + 1], f[64], l[64], addr[LIM_PATH + 1];
	char msg[512], back[1024];
	char *argv[10] = {"person", "add", dom, f, l};
	struct sbuf out;
	struct sbuf u;
	int argc;

	if (last == NULL)
		return;
	if (!admin_can_domain(a, s->user, d)) {
		admin_error(o, 403, s, "You do not administer this domain.");
		return;
	}
	if (pw && pw[0] && admin_password_weak(pw, msg, sizeof(msg))) {
		admin_error(o, 400, s, "%s", msg);
		return;
	}
	snprintf(dom, sizeof(dom), "%s", d);
	snprintf(f, sizeof(f), "%s", first);
	snprintf(l, sizeof(l), "%s", last);
	if (strlen(first) >= sizeof(f) || strlen(last) >= sizeof(l)) {
		admin_error(o, 400, s, "A name has at most 30 letters.");
		return;
	}
	argc = options(r, argv, 5);
	sbuf_init(&out, 1 << 16);
	sbuf_init(&u, sizeof(back) - 1);
	if (admin_edit_change(a, r, s, o, argc, argv, "", "/", &out) == 0) {
		made_mailbox(&out, addr, sizeof(addr));
		snprintf(msg, sizeof(msg), "Created: %.400s",
			 out.data ? out.data : "");
		admin_flash(s, msg);
		sbuf_puts(&u, "/welcome?a=");
		admin_url(&u, addr);
		admin_redirect(o, u.data ? u.data : "/");
		if (pw && pw[0])
			set_password(a, r, s, o, addr, pw);
	}
	sbuf_free(&out);
	sbuf_free(&u);
}

void admin_post_mailbox(struct admin *a, struct admin_req *r,
			struct admin_sess *s, struct admin_resp *o)
{
	const char *kind = admin_form(r, "kind");
	const char *pw = admin_form(r, "password");
	char addr[LIM_PATH + 1], back[1024], err[256];
	char *argv[10] = {"user", "add", addr};
	char *kargv[] = {"user", "kind", addr, NULL, NULL};

	if (form_address(a, r, s, o, addr, sizeof(addr)) < 0)
		return;
	if (kind && strcmp(kind, "personal") && strcmp(kind, "role")) {
		admin_error(o, 400, s, "The kind is personal or role.");
		return;
	}
	if (pw && pw[0] && admin_password_weak(pw, err, sizeof(err))) {
		admin_error(o, 400, s, "%s", err);
		return;
	}
	back_to_domain(back, sizeof(back), addr);
	if (admin_edit_change(a, r, s, o, options(r, argv, 3), argv, "Mailbox created.",
		   back, NULL) < 0)
		return;
	kargv[3] = (char *)(kind ? kind : "personal");
	if (admin_edit_change(a, r, s, o, 4, kargv, "Mailbox created.", back, NULL) < 0)
		return;
	if (pw && pw[0])
		set_password(a, r, s, o, addr, pw);
}

void admin_post_user(struct admin *a, struct admin_req *r,
		     struct admin_sess *s, struct admin_resp *o)
{
	static const char *const ops[] = {"del", "enable", "disable", "quota",
					  "expires", "kind", "passwd", NULL};
	const char *v = need(r, s, o, "a", "The address");
	const char *op = v ? need(r, s, o, "op", "The action") : NULL;
	const char *value = admin_form(r, "value");
	char addr[LIM_PATH + 1], back[1024], val[LIM_PATH + 1];
	char *argv[] = {"user", NULL, addr, NULL, NULL};
	size_t i;

	if (op == NULL || our_address(a, s, o, v, addr, sizeof(addr)) < 0)
		return;
	for (i = 0; ops[i] && strcmp(ops[i], op); i++)
		;
	if (ops[i] == NULL) {
		admin_error(o, 400, s, "Unknown action.");
		return;
	}
	argv[1] = (char *)ops[i];
	snprintf(back, sizeof(back), "/user?a=");
	{
		struct sbuf b;

		sbuf_init(&b, sizeof(back) - 9);
		admin_url(&b, addr);
		snprintf(back + 8, sizeof(back) - 8, "%s",
			 b.data ? b.data : "");
		sbuf_free(&b);
	}
	if (i == 6) {
		if (value == NULL)
			value = "";
		if (set_password(a, r, s, o, addr, value) == 0) {
			admin_flash(s, "Password set.");
			admin_redirect(o, back);
		}
		return;
	}
	if (i == 0)
		back_to_domain(back, sizeof(back), addr);
	if (i >= 3) {
		if (value == NULL || !value[0] || strlen(value) > 64) {
			admin_error(o, 400, s, "A value is missing.");
			return;
		}
		snprintf(val, sizeof(val), "%s", value);
		argv[3] = val;
	}
	admin_edit_change(a, r, s, o, i >= 3 ? 4 : 3, argv, "Mailbox changed.", back,
	       NULL);
}

/* Targets of an alias, comma or space separated: each a valid address;
 * a local one (one of our domains) in a domain s's user administers. */
static int targets(struct admin *a, struct admin_sess *s,
		   struct admin_resp *o, const char *list, char **argv,
		   int argc, int max)
{
	char **t = config_list(list);
	const char *p[2] = {NULL, NULL};
	int i;

	if (t == NULL || t[0] == NULL) {
		config_list_free(t);
		admin_error(o, 400, s, "Give at least one target.");
		return -1;
	}
	for (i = 0; t[i]; i++) {
		/* lowercase, as the directory keeps them */
		store_dir_lower(t[i]);
		p[0] = admin_domain_of(t[i]);
		if (argc >= max || !directory_valid_address(t[i])) {
			admin_error(o, 400, s, "'%s' is not a valid target "
				    "address.", t[i]);
			break;
		}
		if (admin_count(a, DQ_DOMAIN_COUNT, p) > 0 &&
		    !admin_can_domain(a, s->user, p[0])) {
			admin_error(o, 403, s, "%s is in a domain you do not "
				    "administer.", t[i]);
			break;
		}
		argv[argc++] = t[i];
	}
	if (t[i] != NULL) {
		config_list_free(t);
		return -1;
	}
	/* the strings stay in t: freed by the caller through argv[argc] */
	argv[argc] = (char *)t;
	return argc;
}

void admin_post_alias(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	const char *op = need(r, s, o, "op", "The action");
	const char *v;
	char addr[LIM_PATH + 1], back[1024];
	char *argv[40] = {"alias", NULL, addr};
	int argc;

	if (op == NULL)
		return;
	if (strcmp(op, "del") == 0) {
		v = need(r, s, o, "a", "The alias");
		if (v == NULL || our_address(a, s, o, v, addr,
					     sizeof(addr)) < 0)
			return;
		argv[1] = "del";
		back_to_domain(back, sizeof(back), addr);
		admin_edit_change(a, r, s, o, 3, argv, "Alias deleted.", back, NULL);
		return;
	}
	if (strcmp(op, "add") || form_address(a, r, s, o, addr,
					      sizeof(addr)) < 0) {
		if (strcmp(op, "add"))
			admin_error(o, 400, s, "Unknown action.");
		return;
	}
	v = need(r, s, o, "targets", "The targets");
	if (v == NULL)
		return;
	argv[1] = "add";
	argc = targets(a, s, o, v, argv, 3, 38);
	if (argc < 0)
		return;
	back_to_domain(back, sizeof(back), addr);
	admin_edit_change(a, r, s, o, argc, argv, "Alias added.", back, NULL);
	config_list_free((char **)argv[argc]);
}

void admin_post_list(struct admin *a, struct admin_req *r,
		     struct admin_sess *s, struct admin_resp *o)
{
	const char *op = need(r, s, o, "op", "The action");
	const char *m, *v;
	char addr[LIM_PATH + 1], who[LIM_PATH + 1], back[1024];
	char *argv[5] = {"list", NULL, addr, who, NULL};
	char *oargv[5] = {"owner", "add", addr, who, NULL};

	if (op == NULL)
		return;
	if (strcmp(op, "add") == 0) {
		if (form_address(a, r, s, o, addr, sizeof(addr)) < 0)
			return;
		m = need(r, s, o, "member", "The first member");
		if (m == NULL || our_address(a, s, o, m, who, sizeof(who)) < 0)
			return;
		back_to_domain(back, sizeof(back), addr);
		argv[1] = "add";
		if (admin_edit_change(a, r, s, o, 4, argv, "List added.", back, NULL) < 0)
			return;
		v = admin_form(r, "owner");
		if (v == NULL || !v[0])
			return;
		if (our_address(a, s, o, v, who, sizeof(who)) == 0)
			admin_edit_change(a, r, s, o, 4, oargv, "List added.", back,
			       NULL);
		return;
	}
	v = need(r, s, o, "a", "The list");
	if (v == NULL || our_address(a, s, o, v, addr, sizeof(addr)) < 0)
		return;
	back_to_domain(back, sizeof(back), addr);
	if (strcmp(op, "del") == 0) {
		argv[1] = "del";
		admin_edit_change(a, r, s, o, 3, argv, "List deleted.", back, NULL);
	} else if (strcmp(op, "owner-add") == 0 ||
		   strcmp(op, "owner-del") == 0) {
		m = need(r, s, o, "owner", "The owner");
		if (m == NULL || our_address(a, s, o, m, who, sizeof(who)) < 0)
			return;
		oargv[1] = op[6] == 'a' ? "add" : "del";
		admin_edit_change(a, r, s, o, 4, oargv, "Owners changed.", back, NULL);
	} else {
		admin_error(o, 400, s, "Unknown action.");
	}
}

void admin_post_member(struct admin *a, struct admin_req *r,
		       struct admin_sess *s, struct admin_resp *o)
{
	const char *v = need(r, s, o, "a", "The list");
	const char *op = v ? need(r, s, o, "op", "The action") : NULL;
	const char *m = op ? need(r, s, o, "member", "The member") : NULL;
	char list[LIM_PATH + 1], who[LIM_PATH + 1];
	char *argv[5] = {"list", NULL, list, who, NULL};
	struct sbuf back;

	if (m == NULL)
		return;
	if (!admin_owns_list(a, s->user, v)) {
		admin_error(o, 403, s, "Only the list's owners change its "
			    "members.");
		return;
	}
	if (strcmp(op, "add") && strcmp(op, "rm")) {
		admin_error(o, 400, s, "Unknown action.");
		return;
	}
	snprintf(list, sizeof(list), "%s", v);
	snprintf(who, sizeof(who), "%s", m);
	argv[1] = (char *)(op[0] == 'a' ? "add" : "rm");
	sbuf_init(&back, 1000);
	sbuf_puts(&back, "/list?a=");
	admin_url(&back, list);
	admin_edit_change(a, r, s, o, 4, argv, "Members changed.",
	       back.data ? back.data : "/", NULL);
	sbuf_free(&back);
}
