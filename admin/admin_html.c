/*
 * NAME
 *	admin_html - escaping and the frame of every page
 * DESCRIPTION
 *	Everything that did not come from this file goes through
 *	admin_html() (text and attribute values) or admin_url() (query
 *	values) on its way into a page. Pages need no script and no file
 *	from elsewhere: the style is inline, charts are SVG made on the
 *	server, so they work offline.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"

void admin_html(struct sbuf *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			sbuf_puts(o, "&amp;");
			break;
		case '<':
			sbuf_puts(o, "&lt;");
			break;
		case '>':
			sbuf_puts(o, "&gt;");
			break;
		case '"':
			sbuf_puts(o, "&quot;");
			break;
		case '\'':
			sbuf_puts(o, "&#39;");
			break;
		default:
			sbuf_append(o, s, 1);
		}
	}
}

void admin_url(struct sbuf *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~@", c))
			sbuf_append(o, s, 1);
		else
			sbuf_printf(o, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

static const char style[] =
	"body{font-family:sans-serif;margin:0;color:#222}"
	"nav{background:#234;padding:.5em 1em}nav a,nav button{color:#fff;"
	"margin-right:1.2em;background:none;border:0;font:inherit;"
	"cursor:pointer;text-decoration:underline}nav form{display:inline}"
	"main{padding:1em 2em}table{border-collapse:collapse;margin:.5em 0}"
	"td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}"
	".flash{background:#e6f4e6;border:1px solid #8c8;padding:.5em}"
	".error{background:#fbe3e3;border:1px solid #c88;padding:.5em}"
	"fieldset{margin:1em 0}label{margin-right:1em}"
	"@media print{nav,form{display:none}}";

void admin_hidden(struct sbuf *o, const char *name, const char *value)
{
	sbuf_printf(o, "<input type=\"hidden\" name=\"%s\" value=\"", name);
	admin_html(o, value);
	sbuf_puts(o, "\">");
}

void admin_form_start(struct sbuf *o, const char *action,
		      struct admin_sess *s)
{
	sbuf_puts(o, "<form method=\"post\" action=\"");
	admin_html(o, action);
	sbuf_puts(o, "\"><input type=\"hidden\" name=\"csrf\" value=\"");
	admin_html(o, s ? s->csrf : "");
	sbuf_puts(o, "\">");
}

void admin_page_start(struct sbuf *o, const char *title,
		      struct admin_sess *s)
{
	sbuf_puts(o, "<!DOCTYPE html><html lang=\"en\"><head>"
		  "<meta charset=\"utf-8\"><title>");
	admin_html(o, title);
	sbuf_printf(o, " - Sluice admin</title><style>%s</style></head>"
		    "<body>", style);
	if (s && s->user[0]) {
		sbuf_puts(o, "<nav><a href=\"/\">Home</a>"
			  "<a href=\"/queues\">Queues</a>"
			  "<a href=\"/stats\">Statistics</a>"
			  "<a href=\"/password\">My password</a>"
			  "<a href=\"/senders\" id=\"my-senders\">My sender "
			  "lists</a>");
		admin_form_start(o, "/logout", s);
		sbuf_puts(o, "<button id=\"logout\">Log out (");
		admin_html(o, s->user);
		sbuf_puts(o, ")</button></form></nav>");
	}
	sbuf_puts(o, "<main><h1>");
	admin_html(o, title);
	sbuf_puts(o, "</h1>");
	if (s && s->flash[0]) {
		sbuf_puts(o, "<p class=\"flash\" id=\"flash\">");
		admin_html(o, s->flash);
		sbuf_puts(o, "</p>");
		s->flash[0] = '\0';
	}
}

void admin_page_end(struct sbuf *o)
{
	sbuf_puts(o, "</main></body></html>\n");
}

void admin_error(struct admin_resp *o, int status, struct admin_sess *s,
		 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->status = status;
	o->location[0] = '\0';
	sbuf_reset(&o->body);
	admin_page_start(&o->body, status == 403 ? "Not allowed" : "Error",
			 s);
	sbuf_puts(&o->body, "<p class=\"error\" id=\"error\">");
	admin_html(&o->body, msg);
	sbuf_puts(&o->body, "</p><p><a href=\"/\">Back</a></p>");
	admin_page_end(&o->body);
}
