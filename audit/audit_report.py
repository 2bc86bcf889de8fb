"""audit_report: the matrix of sluice-audit as text, JSON and one
self-contained HTML page (every cell links to its checks and their
transcripts). Several JSON results side by side: compare().
"""
import html
import json

from audit_core import FAULT_NAMES, MECH, mechs_text

SHORT = {"solved": "SOLVED", "mitigated": "mitigated", "open": "OPEN",
         "untested": "untested"}


def result(a, name):
    """The whole run as one JSON-ready dict."""
    return {"name": name, "run_id": a.run_id, "started": a.started,
            "roles": {r: "%s:%d" % ep for r, ep in a.roles.items()},
            "verdicts": a.verdicts(), "checks": a.checks,
            "transcripts": {t.id: {"title": t.title, "lines": t.lines}
                            for t in a.trs},
            "mechanisms": {str(k): v for k, v in MECH.items()}}


def counts(res):
    out = {"solved": 0, "mitigated": 0, "open": 0, "untested": 0}
    for v in res["verdicts"].values():
        out[v["verdict"]] += 1
    return out


def mech_ids(ms):
    return ",".join(str(m) for m in ms) or "-"


def text(res, verbose=False):
    """The matrix of one result as terminal text."""
    out = ["sluice-audit %s (%s), run %s" % (res["name"], res["started"],
                                             res["run_id"]),
           "roles: " + ", ".join("%s %s" % kv for kv in
                                 sorted(res["roles"].items())), "",
           "%-28s %-10s %-22s %s" % ("fault", "verdict", "seen acting",
                                     "missing"),
           "-" * 78]
    for f in FAULT_NAMES:
        v = res["verdicts"][f]
        out.append("%-28s %-10s %-22s %s" % (
            f, SHORT[v["verdict"]], mech_ids(v["seen"])[:22],
            mech_ids(v["missing"])))
    c = counts(res)
    out += ["-" * 78, "solved %d, mitigated %d, open %d, untested %d" % (
        c["solved"], c["mitigated"], c["open"], c["untested"]), "",
        "mechanisms (Table I): " + "; ".join(
            "%s %s" % kv for kv in sorted(res["mechanisms"].items(),
                                          key=lambda kv: int(kv[0])))]
    out.append("")
    for f in FAULT_NAMES:
        for ck in res["checks"]:
            if ck["fault"] != f:
                continue
            if verbose or ck["status"] != "pass":
                out.append("  [%-7s] %s: %s%s" % (
                    ck["status"], f, ck["title"],
                    " -- " + ck["detail"] if ck["detail"] else ""))
    return "\n".join(out)


def compare(results):
    """Several results side by side: one column per deployment."""
    w = 24
    out = ["%-28s" % "fault" + "".join("%-*s" % (w, r["name"][:w - 1])
                                       for r in results), "-" * (28 + w *
                                                                len(results))]
    for f in FAULT_NAMES:
        row = "%-28s" % f
        for r in results:
            v = r["verdicts"][f]
            row += "%-*s" % (w, ("%s (%s)" % (SHORT[v["verdict"]],
                                             mech_ids(v["seen"])))[:w - 1])
        out.append(row)
    out.append("-" * (28 + w * len(results)))
    row = "%-28s" % "solved/mitigated/open"
    for r in results:
        c = counts(r)
        row += "%-*s" % (w, "%d / %d / %d" % (c["solved"], c["mitigated"],
                                              c["open"]))
    out.append(row)
    return "\n".join(out)


CSS = """body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px;
vertical-align:top}th{background:#eee}.solved{background:#bfe8bf}
.mitigated{background:#fbe9a6}.open{background:#f4b4b4}.untested{background:
#ddd}.pass{color:#176f17}.fail{color:#a01010;font-weight:bold}.partial{color:
#8a6d00}pre{background:#f6f6f6;padding:6px;font-size:85%;overflow-x:auto}
a{color:#1a4f9c}small{color:#555}"""


def page(results):
    """One self-contained HTML page for one or more results."""
    e = html.escape
    h = ["<!doctype html><html><head><meta charset=\"utf-8\">"
         "<title>sluice-audit</title><style>%s</style></head><body>" % CSS,
         "<h1>sluice-audit: the faults of Internet mail</h1>",
         "<p>Faults and mechanisms of Maraboli &amp; Vallejos (Table I/II). "
         "A cell is <b>solved</b> when every probe saw its defense act, "
         "<b>mitigated</b> when some did, <b>open</b> when none did; spam, "
         "fraud, phishing, slammer and mail bombing are at best mitigated."
         " Numbers are Table I mechanisms.</p><table><tr><th>fault</th>"]
    for i, r in enumerate(results):
        h.append("<th>%s<br><small>%s</small></th>" % (e(r["name"]),
                                                       e(r["started"])))
    h.append("</tr>")
    for fi, f in enumerate(FAULT_NAMES):
        h.append("<tr><td>%s</td>" % e(f))
        for i, r in enumerate(results):
            v = r["verdicts"][f]
            h.append('<td class="%s"><a href="#r%d-f%d">%s</a><br><small>'
                     'seen: %s<br>missing: %s</small></td>' % (
                         v["verdict"], i, fi, SHORT[v["verdict"]],
                         e(mech_ids(v["seen"])), e(mech_ids(v["missing"]))))
        h.append("</tr>")
    h.append("<tr><td>solved / mitigated / open</td>")
    for r in results:
        c = counts(r)
        h.append("<td>%d / %d / %d</td>" % (c["solved"], c["mitigated"],
                                            c["open"]))
    h.append("</tr></table><h2>Mechanisms (Table I)</h2><p>%s</p>" % e(
        "; ".join("%s %s" % kv for kv in sorted(
            results[0]["mechanisms"].items(), key=lambda kv: int(kv[0])))))
    for i, r in enumerate(results):
        h.append("<h2>%s</h2><p>roles: %s</p>" % (e(r["name"]), e(", ".join(
            "%s %s" % kv for kv in sorted(r["roles"].items())))))
        for fi, f in enumerate(FAULT_NAMES):
            h.append('<h3 id="r%d-f%d">%s: %s</h3><ul>' % (
                i, fi, e(f), r["verdicts"][f]["verdict"]))
            for ck in r["checks"]:
                if ck["fault"] != f:
                    continue
                links = " ".join('<a href="#r%d-%s">transcript</a>' % (i, t)
                                 for t in ck["transcripts"])
                h.append('<li><span class="%s">%s</span> %s <small>%s '
                         '[%s]</small> %s</li>' % (
                             ck["status"].replace("/", ""), ck["status"],
                             e(ck["title"]), e(ck["detail"]),
                             e(mechs_text(ck["mechanisms"])), links))
            h.append("</ul>")
        h.append("<h3>Transcripts</h3>")
        for tid, t in r["transcripts"].items():
            h.append('<h4 id="r%d-%s">%s</h4><pre>%s</pre>' % (
                i, tid, e(t["title"]), e("\n".join(t["lines"]))))
    h.append("</body></html>")
    return "\n".join(h)


def dump(res, path):
    with open(path, "w") as f:
        json.dump(res, f, indent=1)


def load(path):
    with open(path) as f:
        return json.load(f)
