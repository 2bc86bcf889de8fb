/*
 * NAME
 *	admin_senders - users' allow and block lists of senders
 * DESCRIPTION
 *	GET /senders?a=ADDRESS shows a mailbox's rules (no a: the session's
 *	own) with a Remove button each and a form to add one; POST /senders
 *	(op add or remove, a, pattern, kind) changes them through the
 *	sluicectl command "senders" (store/dir/store_dir_senders.c, which
 *	parses the pattern strictly and bounds the rules per user), so the
 *	sender lists snapshot spamd reads is written at once. Who may: the
 *	user for their own mailbox, a domain admin for the mailboxes of
 *	their domains, a super admin for all. Everything posted is
 *	untrusted: the address is checked here, the pattern by the command.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "limits_rfc.h"
#include "senders.h"

#include "../store/dir/store_dir.h"
#include "admin.h"
#include "admin_int.h"

/* The mailbox a request names (a, else the session's own), lowercased
 * into out, that s's user may manage. 0, or -1 after an error page. */
static int whose(struct admin *a, struct admin_sess *s, struct admin_resp *o,
	const char *v, char out[LIM_PATH + 1])
{
	const char *p[] = {out, NULL};
	size_t i;

	if (v == NULL || !v[0])
		v = s->user;
	if (strlen(v) > LIM_PATH) {
		admin_error(o, 400, s, "The address is too long.");
		return -1;
	}
	for (i = 0; v[i]; i++)
		out[i] = v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] - 'A' + 'a')
						    : v[i];
	out[i] = '\0';
	if (!directory_valid_address(out)) {
		admin_error(o, 400, s, "'%s' is not a valid address.", v);
		return -1;
	}
	if (strcasecmp(out, s->user) != 0 &&
		!admin_can_domain(a, s->user, admin_domain_of(out))) {
		admin_error(o, 403, s,
			"You manage only your own sender lists "
			"and those of the domains you administer.");
		return -1;
	}
	if (admin_count(a, DQ_USER_COUNT, p) <= 0) {
		admin_error(o, 404, s, "No such mailbox.");
		return -1;
	}
	return 0;
}

struct rule_rows {
	struct sbuf *b;
	struct admin_sess *s;
	const char *addr;
	int n;
};

/* Columns: kind, pattern. */
static void rule_row(int n, const char *const *col, void *arg)
{
	struct rule_rows *x = arg;

	if (n < 2)
		return;
	x->n++;
	sbuf_puts(x->b, "<tr><td>");
	admin_html(x->b, col[0]);
	sbuf_puts(x->b, "</td><td class=\"pattern\">");
	admin_html(x->b, col[1]);
	sbuf_puts(x->b, "</td><td>");
	admin_form_start(x->b, "/senders", x->s);
	admin_hidden(x->b, "op", "remove");
	admin_hidden(x->b, "a", x->addr);
	admin_hidden(x->b, "pattern", col[1]);
	sbuf_puts(x->b, "<button>Remove</button></form></td></tr>");
}

void admin_senders_page(struct admin *a, struct admin_req *r,
	struct admin_sess *s, struct admin_resp *o)
{
	char addr[LIM_PATH + 1], err[256], title[LIM_PATH + 32];
	const char *p[] = {addr, NULL};
	struct sbuf *b = &o->body;
	struct rule_rows x = {b, s, addr, 0};

	if (whose(a, s, o, admin_arg(r, "a"), addr) < 0)
		return;
	snprintf(title, sizeof(title), "Sender lists of %s", addr);
	admin_page_start(b, title, s);
	sbuf_printf(b,
		"<p>Mail from a sender you <b>block</b> goes to your "
		"Junk folder; mail from one you <b>allow</b> is never "
		"treated as spam. A sender is an address "
		"(name@example.com) or a whole domain with its "
		"subdomains (@example.com); the most specific rule "
		"decides. At most %d rules.</p>",
		LIM_SENDER_RULES);
	sbuf_puts(b, "<table id=\"senders\"><tr><th>Rule</th><th>Sender"
		     "</th><th></th></tr>");
	if (store_dir_select(a->dir, DQ_SENDERS_OF, p, rule_row, &x, err,
		    sizeof(err)) < 0)
		sbuf_puts(b, "<tr><td colspan=\"3\">The rules cannot be read "
			     "now.</td></tr>");
	sbuf_puts(b, "</table>");
	admin_form_start(b, "/senders", s);
	admin_hidden(b, "op", "add");
	admin_hidden(b, "a", addr);
	sbuf_puts(b, "<label>Sender <input name=\"pattern\" id=\"sender\" "
		     "placeholder=\"name@example.com or @example.com\"></label>"
		     "<select name=\"kind\" id=\"kind\"><option>block</option>"
		     "<option>allow</option></select><button id=\"add-sender\">"
		     "Add rule</button></form>");
	admin_page_end(b);
}

void admin_post_senders(struct admin *a, struct admin_req *r,
	struct admin_sess *s, struct admin_resp *o)
{
	const char *op = admin_form(r, "op"), *pat = admin_form(r, "pattern");
	const char *kind = admin_form(r, "kind");
	char addr[LIM_PATH + 1], back[LIM_PATH * 3 + 16];
	char *argv[4];
	struct sbuf u;

	if (whose(a, s, o, admin_form(r, "a"), addr) < 0)
		return;
	if (op == NULL || pat == NULL || !pat[0] || strlen(pat) > LIM_PATH) {
		admin_error(o, 400, s, "The sender is missing or too long.");
		return;
	}
	if (strcmp(op, "remove") == 0) {
		kind = "remove";
	} else if (strcmp(op, "add") != 0 || kind == NULL ||
		   senders_kind(kind) == SENDERS_NONE) {
		admin_error(o, 400, s, "A rule is allow or block.");
		return;
	}
	sbuf_init(&u, sizeof(back) - 1);
	sbuf_puts(&u, "/senders?a=");
	admin_url(&u, addr);
	snprintf(back, sizeof(back), "%s", u.data ? u.data : "/senders");
	sbuf_free(&u);
	argv[0] = "senders";
	argv[1] = addr;
	argv[2] = (char *)kind;
	argv[3] = (char *)pat;
	admin_edit_change(a, r, s, o, 4, argv,
		kind[0] == 'r' ? "Rule removed." : "Rule added.", back, NULL);
}
