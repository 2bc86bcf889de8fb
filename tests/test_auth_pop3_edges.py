"""Edges of the authentication exchanges and of POP3 sessions (ASan build).

SMTP AUTH (msa): pipelined AUTH lines across a delayed 535, the "="
empty initial response, sessions that close while a failure's delay is
pending or mid-exchange, one SASL context reused across mechanisms.
POP3: TOP with the biggest line counts, DELE twice, RSET, QUIT, a session
closing with an AUTH exchange or a delayed failure pending. The cluster
fixture checks every daemon's log for sanitizer reports at teardown.
"""
import socket
import time

import pytest

from conftest import client_tls
from test_msa import PW, World, b64
from test_pop3 import MSGS, PASSWORDS, Pop, Raw, body_of

ALICE = "alice@example.test"


def good_plain(user=ALICE, pw=None):
    return b64("\0%s\0%s" % (user, pw or PW[user])).encode()


def smtp_raw(w):
    """A STARTTLS session after EHLO, as a raw TLS socket and file."""
    s = socket.create_connection(("127.0.0.1", w.msa.port), timeout=20)
    f = s.makefile("rb")

    def resp(ff):
        while True:
            ln = ff.readline()
            assert ln, "closed"
            if ln[3:4] != b"-":
                return ln
    assert resp(f).startswith(b"220")
    s.sendall(b"EHLO pc.example.test\r\n")
    resp(f)
    s.sendall(b"STARTTLS\r\n")
    assert resp(f).startswith(b"220")
    s = client_tls().wrap_socket(s)
    f = s.makefile("rb")
    s.sendall(b"EHLO pc.example.test\r\n")
    resp(f)
    return s, f, resp


@pytest.fixture
def world(cluster):
    # these tests open and drop sessions quickly: msa may not have seen
    # the last ones go when the next arrive, so the per-client session
    # limit (4 in test_msa's World) would answer 421
    return World(cluster, {"max_client_sessions": 100})


def test_smtp_pipelined_auth_across_delay(world):
    s, f, resp = smtp_raw(world)
    t = time.monotonic()
    s.sendall(b"AUTH PLAIN " + good_plain(pw="wrong") + b"\r\n"
              b"AUTH PLAIN " + good_plain() + b"\r\n"
              b"NOOP\r\n")
    assert resp(f).startswith(b"535")
    assert time.monotonic() - t >= 0.9
    assert resp(f).startswith(b"235")
    assert resp(f).startswith(b"250")
    s.close()


def test_smtp_empty_initial_response(world):
    s, f, resp = smtp_raw(world)
    s.sendall(b"AUTH PLAIN =\r\n")
    code = resp(f)[:3]
    assert code in (b"334", b"535", b"501"), code
    if code == b"334":
        s.sendall(b"*\r\n")
        assert resp(f).startswith(b"501")
    s.sendall(b"AUTH LOGIN =\r\n")
    assert resp(f)[:3] in (b"334", b"535", b"501")
    s.close()


def test_smtp_close_during_delay_and_exchange(world):
    for i in range(4):
        s, f, resp = smtp_raw(world)
        s.sendall(b"AUTH PLAIN " + good_plain(pw="wrong") + b"\r\n")
        s.close()
        s, f, resp = smtp_raw(world)
        s.sendall(b"AUTH LOGIN\r\n")
        assert resp(f).startswith(b"334")
        s.close()
    time.sleep(2.5)     # the delays fire after their sessions are gone
    s = world.smtp()
    s.login(ALICE, PW[ALICE])
    s.quit()


def test_smtp_sasl_context_reused(world):
    s, f, resp = smtp_raw(world)
    s.sendall(b"AUTH LOGIN\r\n")
    assert resp(f).startswith(b"334")
    s.sendall(b64(ALICE).encode() + b"\r\n")
    assert resp(f).startswith(b"334")
    s.sendall(b"*\r\n")
    assert resp(f).startswith(b"501")
    s.sendall(b"AUTH PLAIN\r\n")
    assert resp(f).startswith(b"334")
    s.sendall(good_plain() + b"\r\n")
    assert resp(f).startswith(b"235")
    s.sendall(b"AUTH PLAIN " + good_plain() + b"\r\n")
    assert resp(f).startswith(b"503")
    s.close()


@pytest.fixture
def pop(cluster):
    return Pop(cluster)


def test_pop3_top_dele_rset_quit(pop):
    pop.deliver(ALICE, MSGS[0])
    pop.deliver(ALICE, MSGS[2])
    r = Raw(pop.port)
    assert r.cmd(b"USER " + ALICE.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS " + PASSWORDS[ALICE].encode()).startswith(b"+OK")
    assert r.cmd(b"TOP 2 4294967295").startswith(b"+OK")
    assert body_of(r.multi()) == MSGS[2]
    assert r.cmd(b"TOP 2 0").startswith(b"+OK")
    assert body_of(r.multi()).endswith(b"Subject: third\r\n\r\n")
    for c in (b"TOP 1 4294967296", b"TOP 1 -1", b"TOP 1 +1", b"TOP 0 1",
              b"TOP 1 1 1", b"TOP 1 18446744073709551617"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd(b"DELE 1").startswith(b"+OK")
    assert r.cmd(b"DELE 1").startswith(b"-ERR")
    assert r.cmd(b"RETR 1").startswith(b"-ERR")
    assert r.cmd(b"STAT").startswith(b"+OK 1 ")
    assert r.cmd(b"RSET").startswith(b"+OK")
    assert r.cmd(b"STAT").startswith(b"+OK 2 ")
    assert r.cmd(b"DELE 2").startswith(b"+OK")
    r.send(b"QUIT\r\nSTAT\r\n")
    assert r.line().startswith(b"+OK")
    assert r.line() == b""
    r.close()
    p = pop.pop3s(ALICE)
    assert p.stat()[0] == 1
    p.quit()


def test_pop3_close_with_auth_pending(cluster):
    pop = Pop(cluster, extra={"auth_fail_max": "100"})
    for i in range(3):
        r = Raw(pop.port)
        assert r.cmd(b"AUTH PLAIN").startswith(b"+")
        r.close()
        r = Raw(pop.port)
        r.send(b"AUTH PLAIN " + b64("\0%s\0wrong" % ALICE).encode()
               + b"\r\n")
        r.close()
        r = Raw(pop.port)
        r.send(b"USER " + ALICE.encode() + b"\r\nPASS nope\r\n")
        r.close()
    time.sleep(2.5)
    p = pop.pop3s("bob@example.test")
    p.quit()
    assert pop.st.proc.poll() is None
