"""Metrics (operations issue #12, item C): every daemon serves GET /metrics
in Prometheus text format on its own loopback port (metrics_listen), and
the counters move by exactly what went through while mail flows."""
import re
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (free_port, http_get, lmtp_send, scrape, wait_for,
                      wait_messages)
from test_avscan import EICAR, avscan, quarantined
from test_msa import World, plain
from test_spamd import spamd

ALICE = "alice@example.test"


http = http_get


def val(port, series):
    return scrape(port).get(series, 0.0)


def mport():
    return "127.0.0.1:%d" % free_port()


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def test_every_stage_counts_the_mail_that_flows(cluster):
    m = {k: mport() for k in ("store", "spamd", "avscan", "mx", "outmta")}
    st = cluster.store(extra={"metrics_listen": m["store"]})
    sd = spamd(cluster, st, extra={"metrics_listen": m["spamd"]})
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                extra={"metrics_listen": m["avscan"]})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % av.port],
                    extra={"metrics_listen": m["mx"]}, tls=False)
    out = cluster.outmta(extra={"metrics_listen": m["outmta"],
                                "next_hop": "lmtp:127.0.0.1:%d" % st.port,
                                "domain_routes": ""})
    p = {k: port_of(v) for k, v in m.items()}
    before = {k: scrape(v) for k, v in p.items()}
    n = 5
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=20) as s:
        for i in range(n):
            s.sendmail("carol@remote.test", [ALICE],
                       b"Subject: m%d\r\n\r\nhello\r\n" % i)
        # refused: relay, and then a virus further down
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("carol@remote.test", ["x@elsewhere.test"],
                       b"Subject: relay\r\n\r\nno\r\n")
        s.sendmail("carol@remote.test", [ALICE],
                   b"Subject: v\r\n\r\n" + EICAR + b"\r\n")
    wait_messages(st, ALICE, n)
    wait_for(lambda: quarantined(av), 20, "the virus in quarantine")
    with smtplib.SMTP("127.0.0.1", out.port, timeout=20) as s:
        s.sendmail("carol@example.test", [ALICE], b"Subject: o\r\n\r\nx\r\n")
    wait_messages(st, ALICE, n + 1)

    def delta(stage, series):
        return val(p[stage], series) - before[stage].get(series, 0.0)
    inn = "sluice_messages_in_total"
    assert delta("mx", inn) == n + 1          # n clean, one virus
    assert delta("mx", "sluice_relay_refused_total") == 1
    wait_for(lambda: delta("mx", "sluice_messages_out_total") == n + 1, 10,
             "mx to hand everything on")
    hop = 'sluice_recipients_total{hop="127.0.0.1:%d",status="sent"}' % \
        av.port
    assert delta("mx", hop) == n + 1, scrape(p["mx"])
    assert delta("avscan", inn) == n           # the virus is not queued
    assert delta("avscan", "sluice_virus_total") == 1
    assert delta("spamd", inn) == n
    assert delta("outmta", inn) == 1
    wait_for(lambda: delta("store", inn) == n + 1, 10, "store count")
    wait_for(lambda: delta("outmta", "sluice_messages_out_total") == 1, 10,
             "outmta count")
    page = scrape(p["mx"])
    assert page["sluice_commit_batch_messages_count"] >= 1
    assert page['sluice_commit_sync_seconds_bucket{le="+Inf"}'] == \
        page["sluice_commit_sync_seconds_count"]
    assert "sluice_queue_messages" in page
    assert "sluice_queue_oldest_seconds" in page
    assert "sluice_queue_corrupt_records_total" in page
    assert scrape(p["store"])["sluice_delivery_seconds_count"] >= n + 1


def test_queue_gauges_show_waiting_mail(cluster):
    mp = mport()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % free_port()],
                    extra={"metrics_listen": mp}, tls=False)
    lmtp_port = mx.port
    with smtplib.SMTP("127.0.0.1", lmtp_port, timeout=20) as s:
        s.sendmail("carol@remote.test", [ALICE], b"Subject: w\r\n\r\nx\r\n")
    time.sleep(1.2)
    page = scrape(port_of(mp))
    assert page["sluice_queue_messages"] == 1
    assert page["sluice_queue_oldest_seconds"] >= 1
    assert page["sluice_messages_deferred_total"] >= 1


def test_msa_counts_auth_failures_and_submissions(cluster):
    mp = mport()
    w = World(cluster, {"metrics_listen": mp})
    port = port_of(mp)
    s = w.smtp()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        plain(s, "alice@example.test", "wrong")
    s.close()
    assert val(port, "sluice_auth_failures_total") == 1
    with w.smtp("alice@example.test") as s:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   b"From: alice@example.test\r\nSubject: s\r\n\r\nx\r\n")
    assert val(port, "sluice_messages_in_total") == 1


def test_only_get_metrics_and_strict_limits(cluster):
    mp = mport()
    cluster.store(extra={"metrics_listen": mp})
    port = port_of(mp)
    assert http(port, b"GET /other HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 404 ")
    assert http(port, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 405 ")
    assert http(port, b"GET /metrics\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert http(port, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").startswith(
        b"HTTP/1.1 200 ")
    # a head of 8 KB or more: 431, then closed
    # (the unread rest may make the close a reset before it is read)
    big = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n"
    try:
        assert http(port, big).startswith(b"HTTP/1.1 431 ")
    except ConnectionResetError:
        pass
    # a client that never finishes its head is closed by the timeout
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - t < 8


def test_metrics_listen_must_be_loopback(cluster):
    st = cluster.store(extra={"metrics_listen": mport()})
    st.stop()
    conf = open(st.conf).read()
    conf = re.sub(r"metrics_listen = .*", "metrics_listen = 0.0.0.0:%d" %
                  free_port(), conf)
    open(st.conf, "w").write(conf)
    r = subprocess.run([st.binary, "-c", st.conf], cwd=st.workdir,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "only a loopback address" in r.stderr + r.stdout


def test_milter_mode_serves_metrics_from_a_thread(cluster):
    mp = mport()
    avscan(cluster, [], extra={"metrics_listen": mp}, milter=True)
    scrape(port_of(mp))
    assert http(port_of(mp), b"GET /x HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 404 ")
