/*
 * NAME
 *	admin_chart - the statistics pages: SVG charts and CSV
 * DESCRIPTION
 *	/stats?by=day (the last 14 days) or by=hour (the last 48 hours):
 *	one bar chart per stage and counter that moved, drawn here as
 *	inline SVG (no script, nothing fetched: the page works offline);
 *	each bar carries its period and value (data-slot, data-value and a
 *	tooltip). The traffic per domain (store: delivered, msa: sent by
 *	its users) is charted too; the traffic per mailbox, which may be
 *	hundreds of series (traffic.h caps them), is a table of totals for
 *	the period instead (id "traffic", with the domains). /stats.csv?by=
 *	gives every row as CSV. Counters are the stages' (admin_stats.c),
 *	so every admin may see them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "admin_int.h"
#include "admin_stats.h"

#define CHART_W 640
#define CHART_H 150
#define CHART_TOP 20
#define CHART_BOTTOM 30

struct bars {
	char slot[64][20];
	double value[64];
	int n;
};

static void bar_row(int n, const char *const *col, void *arg)
{
	struct bars *b = arg;

	if (n < 2 || b->n >= 64)
		return;
	snprintf(b->slot[b->n], sizeof(b->slot[0]), "%s", col[0]);
	b->value[b->n++] = atof(col[1]);
}

struct chart_ctx {
	struct admin *a;
	struct sbuf *o;
	const char *by;
	const char *since;
};

/* one chart: stage col[0], metric col[1] */
static void chart(int n, const char *const *col, void *arg)
{
	struct chart_ctx *c = arg;
	const char *p[] = {c->by, col[0], col[1], c->since, NULL};
	struct sbuf *o = c->o;
	struct bars b;
	double max = 0, h;
	int i, w, x;

	memset(&b, 0, sizeof(b));
	admin_stats_query(c->a->stats, "SELECT slot, value FROM stats WHERE "
			  "period=? AND stage=? AND metric=? AND slot>=? "
			  "ORDER BY slot", p, bar_row, &b);
	for (i = 0; i < b.n; i++)
		if (b.value[i] > max)
			max = b.value[i];
	sbuf_puts(o, "<figure><figcaption>");
	admin_html(o, col[0]);
	sbuf_puts(o, ": <code>");
	admin_html(o, col[1]);
	sbuf_printf(o, "</code></figcaption><svg class=\"chart\" xmlns=\"http:"
		    "//www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		    "data-stage=\"", CHART_W, CHART_H);
	admin_html(o, col[0]);
	sbuf_puts(o, "\" data-metric=\"");
	admin_html(o, col[1]);
	sbuf_printf(o, "\"><rect width=\"%d\" height=\"%d\" fill=\"#f6f8fa\"/>"
		    "<text x=\"4\" y=\"14\" font-size=\"11\">max %.15g</text>",
		    CHART_W, CHART_H, max);
	w = b.n ? (CHART_W - 10) / b.n : 0;
	if (w > 60)
		w = 60;
	for (i = 0; i < b.n; i++) {
		h = max > 0 ? b.value[i] / max *
				      (CHART_H - CHART_TOP - CHART_BOTTOM)
			    : 0;
		x = 5 + i * w;
		sbuf_printf(o, "<rect class=\"bar\" x=\"%d\" y=\"%.1f\" "
			    "width=\"%d\" height=\"%.1f\" fill=\"#3a6ea5\" "
			    "data-slot=\"", x, CHART_H - CHART_BOTTOM - h,
			    w > 2 ? w - 2 : 1, h);
		admin_html(o, b.slot[i]);
		sbuf_printf(o, "\" data-value=\"%.15g\"><title>", b.value[i]);
		admin_html(o, b.slot[i]);
		sbuf_printf(o, ": %.15g</title></rect><text x=\"%d\" y=\"%d\" "
			    "font-size=\"9\">", b.value[i], x,
			    CHART_H - CHART_BOTTOM + 12 + (i % 2) * 10);
		/* the day, or the hour, under its bar */
		admin_html(o, strlen(b.slot[i]) > 10 ? b.slot[i] + 11
						     : b.slot[i] + 5);
		sbuf_puts(o, "</text>");
	}
	sbuf_puts(o, "</svg></figure>");
}

static void csv_field(struct sbuf *o, const char *s)
{
	/* quoted, quotes doubled; a leading = + - @ cannot start a formula */
	sbuf_puts(o, "\"");
	if (strchr("=+-@", s[0]) && s[0])
		sbuf_puts(o, "'");
	for (; *s; s++)
		sbuf_puts(o, *s == '"' ? "\"\"" : (char[2]){*s, 0});
	sbuf_puts(o, "\"");
}

static void csv_row(int n, const char *const *col, void *arg)
{
	struct sbuf *o = arg;
	int i;

	for (i = 0; i < n; i++) {
		if (i)
			sbuf_puts(o, ",");
		csv_field(o, col[i]);
	}
	sbuf_puts(o, "\n");
}

/* one row of the traffic table: stage, kind, label value, messages,
 * bytes */
static void traffic_row(int n, const char *const *col, void *arg)
{
	struct sbuf *o = arg;
	int i;

	if (n < 5)
		return;
	sbuf_puts(o, "<tr>");
	for (i = 0; i < 5; i++) {
		sbuf_puts(o, i >= 3 ? "<td class=\"num\">" : "<td>");
		admin_html(o, col[i]);
		sbuf_puts(o, "</td>");
	}
	sbuf_puts(o, "</tr>");
}

/* The series of traffic.h: the label's value sits between '="' and the
 * final '"}' of the metric. */
#define TRAFFIC_MSGS(kind)                                                   \
	"m.metric LIKE 'sluice\\_" kind "\\_messages\\_total{%' ESCAPE '\\'"

static void traffic_table(struct admin *a, const char *const *p,
			  struct sbuf *o)
{
	sbuf_puts(o, "<h2>Traffic per domain and mailbox</h2><table "
		  "id=\"traffic\"><tr><th>Stage</th><th>Per</th><th>Name</th>"
		  "<th>Messages</th><th>Bytes</th></tr>");
	admin_stats_query(a->stats,
			  "SELECT m.stage, CASE WHEN m.metric LIKE "
			  "'sluice\\_domain%' ESCAPE '\\' THEN 'domain' ELSE "
			  "'mailbox' END AS kind, substr(m.metric, "
			  "instr(m.metric, '=\"') + 2, length(m.metric) - "
			  "instr(m.metric, '=\"') - 3) AS name, "
			  "printf('%.0f', sum(m.value)), printf('%.0f', "
			  "(SELECT sum(b.value) FROM stats b WHERE "
			  "b.period=m.period AND b.slot>=?2 AND "
			  "b.stage=m.stage AND b.metric=replace(m.metric, "
			  "'_messages_total{', '_bytes_total{'))) FROM stats m "
			  "WHERE m.period=?1 AND m.slot>=?2 AND (" TRAFFIC_MSGS(
				  "domain") " OR " TRAFFIC_MSGS("mailbox") ") "
			  "GROUP BY m.stage, m.metric ORDER BY 1, 2, "
			  "sum(m.value) DESC, 3",
			  p, traffic_row, o);
	sbuf_puts(o, "</table>");
}

void admin_stats_page(struct admin *a, struct admin_req *r,
		      struct admin_sess *s, struct admin_resp *o)
{
	const char *by = admin_arg(r, "by");
	struct chart_ctx c = {a, &o->body, NULL, NULL};
	char since[32];
	time_t t = time(NULL);
	struct tm tm;
	const char *p[3];

	if (by == NULL || strcmp(by, "hour") != 0)
		by = "day";
	t -= strcmp(by, "day") == 0 ? 13 * 86400 : 47 * 3600;
	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), strcmp(by, "day") == 0 ? "%Y-%m-%d"
							      : "%Y-%m-%d %H:00",
		 &tm);
	p[0] = by;
	p[1] = since;
	p[2] = NULL;
	c.by = by;
	c.since = since;
	if (strcmp(r->path, "/stats.csv") == 0) {
		o->ctype = "text/csv; charset=utf-8";
		snprintf(o->filename, sizeof(o->filename), "sluice-%s.csv", by);
		sbuf_puts(&o->body, "period,slot,stage,metric,value\n");
		admin_stats_query(a->stats, "SELECT period, slot, stage, "
				  "metric, value FROM stats WHERE period=? "
				  "AND slot>=? ORDER BY slot, stage, metric", p,
				  csv_row, &o->body);
		return;
	}
	admin_page_start(&o->body, "Statistics", s);
	sbuf_printf(&o->body, "<p>Per <a href=\"/stats?by=day\">day</a> | "
		    "<a href=\"/stats?by=hour\">hour</a> (UTC), since %s. "
		    "<a href=\"/stats.csv?by=%s\" id=\"csv\">CSV</a></p>"
		    "<div id=\"charts\">", since, by);
	admin_stats_query(a->stats, "SELECT stage, metric FROM stats WHERE "
			  "period=? AND slot>=? AND metric NOT LIKE "
			  "'sluice\\_mailbox\\_%' ESCAPE '\\' GROUP BY stage, "
			  "metric HAVING max(value) > 0 ORDER BY stage, metric",
			  p, chart, &c);
	sbuf_puts(&o->body, "</div>");
	traffic_table(a, p, &o->body);
	admin_page_end(&o->body);
}
