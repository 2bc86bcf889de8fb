"""Stage B's share of Table I's connection and session defences, the
mechanisms mx has too (smtp_guard.h decides them for both): connection
rate per client network (11), greet pause with early-talker refusal
(32), HELO name rule (19), bad-recipient throttle (36). Real msa over
real sockets (raw for the protocol, smtplib with STARTTLS and AUTH for
the throttle); each mechanism's counter is read off the metrics page.
"""
import os
import smtplib
import socket
import time

from conftest import client_tls, free_port, metric
from test_msa import PW, World


def screened(cluster, extra):
    mport = free_port()
    conf = {"metrics_listen": "127.0.0.1:%d" % mport}
    conf.update(extra)
    w = World(cluster, conf)
    w.msa.metrics_port = mport
    return w


def greeting(port, source="127.0.0.1"):
    with socket.create_connection(("127.0.0.1", port), timeout=10,
                                  source_address=(source, 0)) as c:
        return c.recv(512)


def test_connection_rate_per_client(cluster):
    w = screened(cluster, {"connection_rate_limit": 3,
                           "connection_rate_window": "60s"})
    src = "127.0.0.%d" % (2 + os.getpid() % 200)   # not the start-up probe
    for _ in range(3):
        assert greeting(w.msa.port, src).startswith(b"220")
    got = greeting(w.msa.port, src)
    assert got.startswith(b"421 4.7.0"), got
    assert b"too many connections" in got
    # another client address is not affected
    assert greeting(w.msa.port, "127.0.0.250").startswith(b"220")
    assert metric(w.msa, "sluice_connection_rate_refused_total") == 1
    assert "421 4.7.0 too many connections" in w.msa.log()


def test_greet_pause_refuses_early_talker(cluster):
    w = screened(cluster, {"greet_pause_ms": 700})
    # a patient client gets the 220 after the pause
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", w.msa.port),
                                  timeout=10) as c:
        assert c.recv(512).startswith(b"220")
        assert time.monotonic() - t0 >= 0.6
    # a client that talks first is refused
    with socket.create_connection(("127.0.0.1", w.msa.port),
                                  timeout=10) as c:
        c.sendall(b"EHLO bot.example\r\n")
        got = b""
        while not got.endswith(b"\n"):
            b = c.recv(512)
            if not b:
                break
            got += b
        assert got.startswith(b"554 5.5.1"), got
        assert c.recv(512) == b"", "session not ended"
    # a real submission still works (smtplib waits for the greeting)
    s = w.smtp("alice@example.test")
    s.quit()
    # on the implicit-TLS port the pause starts after the handshake: the
    # ClientHello is not early talk
    with smtplib.SMTP_SSL("127.0.0.1", w.msa.sport, timeout=10,
                          context=client_tls()) as s:
        s.login("bob@example.test", PW["bob@example.test"])
    assert metric(w.msa, 'sluice_screen_total{result="pregreet"}') == 1
    assert metric(w.msa, 'sluice_screen_total{result="greet_paused"}') >= 3


def test_helo_must_be_fqdn(cluster):
    w = screened(cluster, {"helo_fqdn": "yes"})
    s = smtplib.SMTP("127.0.0.1", w.msa.port, timeout=10)
    code, text = s.ehlo("DESKTOP-7")
    assert code == 504 and b"5.5.2" in text, (code, text)
    code, text = s.helo("bad_name.example.test")
    assert code == 504, (code, text)
    assert s.ehlo("[127.0.0.1]")[0] == 250
    assert s.ehlo("pc.example.test")[0] == 250
    s.quit()
    assert metric(w.msa, "sluice_helo_rejected_total") == 2


def test_bad_rcpt_throttle(cluster):
    w = screened(cluster, {"rate_recipients": 2,
                           "bad_rcpt_delay_after": 1,
                           "bad_rcpt_delay_ms": 800,
                           "bad_rcpt_disconnect": 3})
    s = w.smtp("alice@example.test")
    assert s.mail("alice@example.test")[0] == 250
    assert s.rcpt("bob@example.test")[0] == 250
    assert s.rcpt("carol@example.test")[0] == 250
    t0 = time.monotonic()
    assert s.rcpt("dave@example.test")[0] == 452      # 1st refused: at once
    assert time.monotonic() - t0 < 0.6
    t0 = time.monotonic()
    assert s.rcpt("x1@remote.test")[0] == 452         # 2nd: held back
    assert time.monotonic() - t0 >= 0.7
    code, text = s.rcpt("x2@remote.test")             # 3rd: the end
    assert code == 421 and b"too many refused recipients" in text
    try:
        s.noop()
        assert False, "session still open"
    except smtplib.SMTPServerDisconnected:
        pass
    assert metric(w.msa, 'sluice_bad_rcpt_total{action="delayed"}') == 1
    assert metric(w.msa, 'sluice_bad_rcpt_total{action="disconnected"}') \
        == 1
