"""sluice-admin's statistics: counters scraped from a real stage's
metrics endpoint (metrics_listen) into hourly and daily tables that
survive a restart, drawn as SVG whose bars carry the numbers, and CSV.
"""
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, Ctl, Daemon, free_port, wait_for, write_conf
from test_admin import Https, PW, browser, by_id, login, shot  # noqa: F401

pytestmark = pytest.mark.xdist_group("admin")


# the mx whose metrics endpoint is scraped: this build's, or one named
# by SLUICE_METRICS_MX (a build of a branch that has metrics_listen)
MX = os.environ.get("SLUICE_METRICS_MX", os.path.join(BUILD, "sluice-mx"))


def has_metrics():
    r = subprocess.run([MX, "-p"], capture_output=True, text=True)
    return "metrics_listen" in r.stdout


def metric(port, name):
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^%s(?:\{[^}]*\})? (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0.0


def metric_series(port, series):
    """The value of one series line name{labels} of a metrics page."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split(" ")[-1])
    return 0.0


def bars(html, stage, name):
    """{slot: value} of the chart of stage's metric name."""
    m = re.search(r'<svg class="chart"[^>]*data-stage="%s" data-metric="%s"'
                  r'.*?</svg>' % (stage, re.escape(name)), html, re.S)
    assert m, "no chart for %s %s" % (stage, name)
    return {s: float(v) for s, v in re.findall(
        r'data-slot="([^"]+)" data-value="([^"]+)"', m.group(0))}


@pytest.mark.skipif(not has_metrics(),
                    reason="this build's stages have no metrics_listen yet")
def test_stats_from_metrics_endpoint(cert, browser):
    base = tempfile.mkdtemp(prefix="sluice-stats-")
    os.chmod(base, 0o755)
    ctl = Ctl(base)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "admin@example.test")
    ctl("user", "passwd", "admin@example.test",
        stdin=PW["admin@example.test"] + "\n")
    ctl("admin", "add", "*", "admin@example.test")
    subprocess.run(["chown", "-R", "sluice", base], check=True)
    daemons = []
    try:
        mport, mxport = free_port(), free_port()
        d = os.path.join(base, "mx")
        os.makedirs(d)
        write_conf(os.path.join(d, "mx.conf"), {
            "listen": "127.0.0.1:%d" % mxport, "hostname": "mx.example.test",
            "local_domains": "example.test", "directory_file": ctl.snap,
            "next_hop": "lmtp:127.0.0.1:1", "queue_dir": d + "/queue",
            "tls_cert": "", "tls_key": "", "retry_min": "1h",
            "metrics_listen": "127.0.0.1:%d" % mport})
        mx = Daemon("mx", MX,
                    os.path.join(d, "mx.conf"), d, mxport)
        daemons.append(mx.start())
        aport = free_port()
        ad = os.path.join(base, "admin")
        os.makedirs(ad)
        write_conf(os.path.join(ad, "admin.conf"), {
            "listen": "127.0.0.1:%d" % aport, "tls_cert": cert[0],
            "tls_key": cert[1], "directory": ctl.db, "snapshot": ctl.snap,
            "state_dir": ad + "/state", "queues": "mx:%s/queue" % d,
            "metrics": "mx=http://127.0.0.1:%d/metrics" % mport,
            "stats_interval": "1s"})

        def admin():
            a = Daemon("admin", os.path.join(BUILD, "sluice-admin"),
                       os.path.join(ad, "admin.conf"), ad, aport)
            daemons.append(a.start())
            return a
        adm = admin()
        name = "sluice_unknown_recipient_total"
        # the first look takes the counters as they are
        time.sleep(1.5)
        before = metric(mport, name)
        with smtplib.SMTP("127.0.0.1", mxport, timeout=10) as s:
            s.ehlo("client.remote.test")
            s.mail("a@remote.test")
            for i in range(3):
                assert s.rcpt("nobody%d@example.test" % i)[0] == 550
        grown = metric(mport, name) - before
        assert grown == 3

        h = Https(aport).login("admin@example.test")

        def total(by):
            st, text, _, _ = h.req("GET", "/stats?by=" + by)
            assert st == 200
            try:
                return sum(bars(text, "mx", name).values())
            except AssertionError:
                return 0
        wait_for(lambda: total("day") == grown and total("hour") == grown,
                 10, "the counter in the charts")
        st, csv, r, _ = h.req("GET", "/stats.csv?by=day")
        assert r.getheader("Content-Type").startswith("text/csv")
        assert re.search(r'^"day","\d{4}-\d\d-\d\d","mx","%s","3(\.0)?"$'
                         % name, csv, re.M), csv
        # a restart loses nothing and counts nothing twice
        adm.stop()
        daemons.remove(adm)
        adm = admin()
        time.sleep(2.5)
        h = Https(aport).login("admin@example.test")
        assert total("day") == grown
        login(browser, type("W", (), {"url": "https://127.0.0.1:%d" % aport}),
              "admin@example.test")
        browser.get("https://127.0.0.1:%d/stats?by=hour" % aport)
        assert by_id(browser, "charts").text
        shot(browser, "stats")
    finally:
        errors = []
        for dm in daemons:
            try:
                dm.stop()
            except AssertionError as e:
                errors.append(str(e))
        shutil.rmtree(base, ignore_errors=True)
        assert not errors, "\n".join(errors)


def test_traffic_per_domain_and_mailbox(cert, browser, cluster):
    """Messages and bytes per domain (store: delivered, msa: sent by its
    logged-in users) and per mailbox (store), scraped from both stages
    into the tables, charted (the bars' data) and tabled, and in the
    CSV."""
    from selenium.webdriver.common.by import By
    from conftest import client_tls, lmtp_send
    base = cluster.base
    ctl = Ctl(base)
    ctl("domain", "add", "example.test")
    for u in ("admin@example.test", "carol@example.test",
              "bob@example.test"):
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=PW[u] + "\n")
    ctl("admin", "add", "*", "admin@example.test")
    subprocess.run(["chown", "-R", "sluice", base], check=True)
    sm, mm = free_port(), free_port()
    store = cluster.store(extra={
        "directory_file": ctl.snap, "credentials_file": ctl.auth,
        "metrics_listen": "127.0.0.1:%d" % sm})
    d = cluster._dir("msa")
    mport = free_port()
    write_conf(os.path.join(d, "msa.conf"), {
        "listen": "127.0.0.1:%d" % mport, "smtps_listen": "",
        "hostname": "msa.example.test",
        "next_hop": "smtp:127.0.0.1:%d" % free_port(),
        "domain_routes": "example.test = lmtp:127.0.0.1:%d" % store.port,
        "queue_dir": os.path.join(d, "queue"), "user": "sluice",
        "tls_cert": cert[0], "tls_key": cert[1],
        "credentials_file": ctl.auth, "directory_file": ctl.snap,
        "retry_min": "1s", "metrics_listen": "127.0.0.1:%d" % mm})
    msa = Daemon("msa", os.path.join(BUILD, "sluice-msa"),
                 os.path.join(d, "msa.conf"), d, mport)
    cluster.daemons.append(msa.start())
    ad = cluster._dir("admin")
    aport = free_port()
    write_conf(os.path.join(ad, "admin.conf"), {
        "listen": "127.0.0.1:%d" % aport, "tls_cert": cert[0],
        "tls_key": cert[1], "directory": ctl.db, "snapshot": ctl.snap,
        "state_dir": ad + "/state", "queues": "msa:%s/queue" % d,
        "metrics": "store=http://127.0.0.1:%d/metrics, "
                   "msa=http://127.0.0.1:%d/metrics" % (sm, mm),
        "stats_interval": "1s"})
    adm = Daemon("admin", os.path.join(BUILD, "sluice-admin"),
                 os.path.join(ad, "admin.conf"), ad, aport)
    cluster.daemons.append(adm.start())
    h = Https(aport)
    h.login("admin@example.test")

    def csv():
        return h.req("GET", "/stats.csv?by=hour")[1]
    # both stages known to the tables before mail flows: their new
    # series then count from 0
    wait_for(lambda: '"store","sluice_' in csv() and
             '"msa","sluice_' in csv(), 10, "the first scrape")
    # carol sends two messages to bob through msa (logged in)
    sent = []
    for i in range(2):
        m = ("From: carol@example.test\r\nTo: bob@example.test\r\n"
             "Subject: %d\r\n\r\n%s\r\n" % (i, "x" * (100 * (i + 1))))
        with smtplib.SMTP("127.0.0.1", mport, timeout=20) as s:
            s.starttls(context=client_tls())
            s.login("carol@example.test", PW["carol@example.test"])
            s.sendmail("carol@example.test", ["bob@example.test"], m)
        sent.append(m)
    # and one straight into the store for carol
    assert lmtp_send(store.port, ["carol@example.test"],
                     b"Subject: lmtp\r\n\r\nhello\r\n")[0][0] == 250
    dom = 'sluice_domain_messages_total{domain="example.test"}'
    domb = 'sluice_domain_bytes_total{domain="example.test"}'
    bob = 'sluice_mailbox_messages_total{mailbox="bob@example.test"}'
    wait_for(lambda: metric(sm, "sluice_messages_in_total") >= 3, 15,
             "the store to deliver")
    want = {("store", dom): 3, ("msa", dom): 2,
            ("store", domb): metric_series(sm, domb),
            ("msa", domb): metric_series(mm, domb)}
    assert want[("msa", domb)] >= sum(len(m) for m in sent)
    assert metric_series(sm, bob) == 2

    b = browser
    login(b, type("W", (), {"url": "https://127.0.0.1:%d" % aport}),
          "admin@example.test")

    def charted():
        b.get("https://127.0.0.1:%d/stats?by=hour" % aport)
        got = {}
        for svg in b.find_elements(By.CSS_SELECTOR, "svg.chart"):
            key = (svg.get_attribute("data-stage"),
                   svg.get_attribute("data-metric"))
            if key in want:
                got[key] = sum(float(r.get_attribute("data-value"))
                               for r in svg.find_elements(
                                   By.CSS_SELECTOR, "rect.bar"))
        return got == want or None
    wait_for(charted, 15, "the traffic in the charts")
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in by_id(b, "traffic").find_elements(By.TAG_NAME, "tr")]
    assert ["store", "mailbox", "bob@example.test", "2",
            "%d" % metric_series(sm, bob.replace("messages", "bytes"))] \
        in rows, rows
    assert ["store", "mailbox", "carol@example.test", "1"] in \
        [r[:4] for r in rows]
    assert ["msa", "domain", "example.test", "2",
            "%d" % want[("msa", domb)]] in rows, rows
    # no chart per mailbox: the table has them
    assert not b.find_elements(
        By.CSS_SELECTOR, 'svg[data-metric^="sluice_mailbox_"]')
    shot(b, "stats-traffic")
    assert re.search(r'^"hour","[^"]+","store","sluice_mailbox_messages_'
                     r'total\{mailbox=""bob@example.test""\}","2(\.0)?"$',
                     csv(), re.M)
