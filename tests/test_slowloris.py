"""Slow clients cannot hold a listener (issue #20 item 6).

Every listener, over raw sockets: connections that trickle one byte every
0.2 s and never complete a line are closed when the idle timeout (or, in
DATA, the minimum data rate; before an IMAP/POP3 login, login_timeout)
runs out, while a well-behaved client is served meanwhile; the session
deadline ends even a busy session; and one client address gets at most
max_client_sessions sessions (IMAP and POP3: max_client_logins before
login) while another loopback address (127.0.0.2, the whole of 127/8 is
local on Linux) is still served.
"""
import socket
import threading
import time

import pytest

from conftest import free_port, port_open, wait_for
from test_avscan import avscan
from test_pop3 import PASSWORDS, Pop
from test_spamd import spamd

ALICE = "alice@example.test"
OK_IMAP, OK_POP3 = "* O", "+OK"
TRICKLE = 0.2  # seconds between bytes


def connect(port, source="127.0.0.1"):
    return socket.create_connection(("127.0.0.1", port), timeout=10,
                                    source_address=(source, 0))


def first_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        buf += b
    return buf.decode("latin-1")


def greeting(port, source="127.0.0.1"):
    """(socket, greeting line) of a new connection."""
    s = connect(port, source)
    return s, first_line(s)


def fresh_greeting(port, source="127.0.0.1"):
    s, g = greeting(port, source)
    s.close()
    return g


class Trickler(threading.Thread):
    """Connects, reads the greeting, sends setup (complete lines, their
    replies read), then one byte of an endless line every TRICKLE seconds
    for at most `limit` seconds. Records what the server said and when it
    closed the connection (None: it never did)."""

    def __init__(self, port, setup=(), source="127.0.0.1", limit=8.0,
                 data=b"NOOP and never an end of line "):
        super().__init__(daemon=True)
        self.port, self.setup, self.source = port, setup, source
        self.limit, self.data = limit, data
        self.said, self.closed_after = b"", None
        self.greeting = None

    def run(self):
        # the daemon may still be closing the session of the start-up
        # probe (conftest.port_open): try again while it says busy
        for _ in range(20):
            s = connect(self.port, self.source)
            self.greeting = first_line(s)
            if self.greeting[:3] in ("220", OK_IMAP, OK_POP3):
                break
            s.close()
            time.sleep(0.1)
        for line in self.setup:
            s.sendall(line)
            first_line(s)
        s.settimeout(TRICKLE)
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < self.limit:
            try:
                s.sendall(self.data[i % len(self.data):][:1])
                i += 1
                got = s.recv(4096)
                if not got:
                    self.closed_after = time.monotonic() - t0
                    break
                self.said += got
            except socket.timeout:
                continue
            except OSError:
                self.closed_after = time.monotonic() - t0
                break
        s.close()


def settle(port, ok, quit):
    """Wait until the daemon serves us and has closed the session of its
    start-up probe (conftest.port_open): a session from here greeted with
    ok, quit, the server's close seen (sessions end in order)."""
    for _ in range(50):
        s, g = greeting(port)
        if g.startswith(ok):
            s.sendall(quit)
            while s.recv(4096):
                pass
            s.close()
            return
        s.close()
        time.sleep(0.1)
    raise AssertionError("not served: " + g)


def start_tricklers(port, n, **kw):
    ts = [Trickler(port, **kw) for _ in range(n)]
    for t in ts:
        t.start()
    return ts


# ---- the SMTP/LMTP engine: every stage's listener ----

def smtp_listener(kind, cluster, extra):
    """Start a stage (inner stages take 127/8 as their peers); returns
    (port, hello verb) once the start-up probe's session has gone."""
    extra = dict(extra)
    if kind in ("outmta", "avscan", "spamd"):
        extra.setdefault("trusted_peers", "127.0.0.0/8")
    if kind == "mx":
        port, hello = cluster.mx(["lmtp:127.0.0.1:9"], extra).port, "EHLO"
    elif kind == "outmta":
        port, hello = cluster.outmta(extra).port, "EHLO"
    elif kind == "avscan":
        port, hello = avscan(cluster, ["lmtp:127.0.0.1:9"], extra).port, \
            "LHLO"
    elif kind == "spamd":
        port, hello = spamd(cluster, None, extra).port, "LHLO"
    else:
        port, hello = cluster.store(extra=extra).port, "LHLO"
    settle(port, "220 ", b"QUIT\r\n")
    return port, hello


KINDS = ["mx", "outmta", "avscan", "spamd", "store"]
# max_client_sessions defaults: mx faces the Internet, the rest our own
# stages
PER_CLIENT = {"mx": 10, "outmta": 100, "avscan": 100, "spamd": 100,
              "store": 100}


def served(port, hello, source="127.0.0.1"):
    """A well-behaved client: greeting, hello, QUIT."""
    s, g = greeting(port, source)
    try:
        assert g.startswith("220 "), g
        s.sendall(b"%s client.example.test\r\n" % hello.encode())
        line = first_line(s)
        while line[3:4] == "-":
            line = first_line(s)
        assert line.startswith("250 "), line
        s.sendall(b"QUIT\r\n")
        assert first_line(s).startswith("221 ")
    finally:
        s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_trickling_clients_cut_at_timeout(cluster, kind):
    """timeout = 2s, max_sessions = 3: three trickling connections hold
    every slot for 2 s only; then a fresh client is served."""
    port, hello = smtp_listener(kind, cluster,
                                {"timeout": "2s", "max_sessions": "3"})
    ts = start_tricklers(port, 3)
    time.sleep(1.0)
    for t in ts:
        assert t.greeting.startswith("220 "), t.greeting
    s, g = greeting(port)
    s.close()
    assert g.startswith("421 "), "slots not full: %s %r" % (
        g, [(t.closed_after, t.said) for t in ts])
    time.sleep(2.2)  # past the timeout, the tricklers still trickling
    served(port, hello)
    for t in ts:
        t.join(10)
        assert t.closed_after is not None, \
            "a byte every %.1fs kept the session for %.0fs" % (TRICKLE,
                                                              t.limit)
        assert 1.5 < t.closed_after < 4.0, t.closed_after
        assert b"421 4.4.2" in t.said, t.said


@pytest.mark.parametrize("kind", KINDS)
def test_client_session_limit(cluster, kind):
    """The default max_client_sessions: one more from the same address
    gets 421 4.7.0, another loopback address is served."""
    n = PER_CLIENT[kind]
    port, hello = smtp_listener(kind, cluster, {})
    held = []
    try:
        for _ in range(n):
            s, g = greeting(port)
            held.append(s)
            assert g.startswith("220 "), g
        s, g = greeting(port)
        s.close()
        assert g.startswith("421 4.7.0 "), g
        served(port, hello, source="127.0.0.2")
        held.pop().close()
        wait_for(lambda: fresh_greeting(port).startswith("220 "), 5,
                 "a free slot after one session left")
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("kind", ["mx", "store"])
def test_trickling_data_cut_below_min_data_rate(cluster, kind):
    """In DATA bytes count, but only at min_data_rate (default 500 B/s):
    a message trickled at 5 B/s times out after about timeout."""
    port, hello = smtp_listener(kind, cluster, {"timeout": "2s"})
    setup = [b"%s client.example.test\r\n" % hello.encode(),
             b"MAIL FROM:<carol@remote.test>\r\n",
             b"RCPT TO:<%s>\r\n" % ALICE.encode(), b"DATA\r\n"]
    t = Trickler(port, setup=setup, data=b"Subject: slow\r\n\r\nbody\r\n")
    t.run()
    assert t.closed_after is not None, "a trickled message kept the session"
    assert 1.5 < t.closed_after < 4.0, t.closed_after
    assert b"421 4.4.2" in t.said, t.said


def test_session_deadline_ends_busy_session(cluster):
    """session_deadline: a client sending a NOOP every 0.3 s (never idle)
    gets 421 4.4.2 after the deadline."""
    port = cluster.mx(["lmtp:127.0.0.1:9"],
                      {"session_deadline": "2s"}).port
    s, g = greeting(port)
    assert g.startswith("220 ")
    t0 = time.monotonic()
    reply = ""
    while time.monotonic() - t0 < 6:
        s.sendall(b"NOOP\r\n")
        reply = first_line(s)
        if not reply.startswith("250 "):
            break
        time.sleep(0.3)
    elapsed = time.monotonic() - t0
    assert reply.startswith("421 4.4.2 "), reply
    assert "session time limit" in reply
    assert 1.5 < elapsed < 3.5, elapsed
    assert s.recv(100) == b""
    s.close()


# ---- the store's IMAP and POP3 before login ----

def start_access(cluster, max_sessions=3):
    """The store with IMAP and POP3 in plain text on loopback, a short
    login_timeout and max_client_logins = 2; max_sessions per
    listener."""
    imap = free_port()
    p = Pop(cluster, {"imap_listen": "127.0.0.1:%d" % imap,
                      "plaintext_auth": "yes",
                      "max_sessions": str(max_sessions),
                      "login_timeout": "2s", "max_client_logins": "2"})
    wait_for(lambda: port_open(imap), 10, "IMAP listener")
    settle(imap, OK_IMAP, b"a LOGOUT\r\n")
    settle(p.port, OK_POP3, b"QUIT\r\n")
    p.ports = {"imap": imap, "pop3": p.port}
    return p


OK = {"imap": "* OK", "pop3": "+OK"}
REFUSED = {"imap": "* BYE", "pop3": "-ERR"}


def login(proto, s):
    """Log s in as alice in plain text (loopback, plaintext_auth)."""
    if proto == "imap":
        s.sendall(b'a LOGIN %s "%s"\r\n' % (ALICE.encode(),
                                          PASSWORDS[ALICE].encode()))
        line = first_line(s)
        while line.startswith("*"):
            line = first_line(s)
        assert line.startswith("a OK"), line
    else:
        s.sendall(b"USER %s\r\n" % ALICE.encode())
        assert first_line(s).startswith("+OK")
        s.sendall(b"PASS %s\r\n" % PASSWORDS[ALICE].encode())
        line = first_line(s)
        assert line.startswith("+OK"), line


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_access_trickling_before_login_cut(cluster, proto):
    """Three trickling connections (from three addresses) fill the
    listener's max_sessions; login_timeout ends them, and a fresh client
    logs in meanwhile."""
    port = start_access(cluster).ports[proto]
    ts = [Trickler(port, source="127.0.0.%d" % (10 + i),
                   data=b"a LOGIN and never an end of line ")
          for i in range(3)]
    for t in ts:
        t.start()
    time.sleep(1.0)
    for t in ts:
        assert t.greeting.startswith(OK[proto]), t.greeting
    s, g = greeting(port)
    s.close()
    assert g.startswith(REFUSED[proto]), "slots not full: " + g
    time.sleep(2.2)
    s, g = greeting(port)
    assert g.startswith(OK[proto]), g
    login(proto, s)
    s.close()
    for t in ts:
        t.join(10)
        assert t.closed_after is not None, "trickling kept the session"
        assert 1.5 < t.closed_after < 4.0, t.closed_after
        assert REFUSED[proto].encode() in t.said, t.said


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_access_busy_before_login_cut(cluster, proto):
    """Complete commands do not stretch the time to log in."""
    port = start_access(cluster).ports[proto]
    s, g = greeting(port)
    assert g.startswith(OK[proto]), g
    noop = b"a NOOP\r\n" if proto == "imap" else b"CAPA\r\n"
    t0 = time.monotonic()
    said = b""
    s.settimeout(0.3)
    while time.monotonic() - t0 < 6:
        try:
            s.sendall(noop)
            got = s.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            break
        if not got:
            break
        said += got
    elapsed = time.monotonic() - t0
    s.close()
    assert 1.5 < elapsed < 3.5, elapsed
    assert b"Login timeout" in said or b"Login" in said, said[-200:]


@pytest.mark.parametrize("proto", ["imap", "pop3"])
def test_access_client_login_limit(cluster, proto):
    """Two sessions from 127.0.0.1 that have not logged in: a third is
    refused, 127.0.0.2 is served; once one of them logs in it no longer
    counts."""
    port = start_access(cluster, max_sessions=100).ports[proto]
    a, ga = greeting(port)
    b, gb = greeting(port)
    assert ga.startswith(OK[proto]) and gb.startswith(OK[proto])
    c, gc = greeting(port)
    c.close()
    assert gc.startswith(REFUSED[proto]), gc
    assert "Too many connections from your address" in gc
    d, gd = greeting(port, source="127.0.0.2")
    d.close()
    assert gd.startswith(OK[proto]), gd
    login(proto, a)
    e, ge = greeting(port)
    e.close()
    assert ge.startswith(OK[proto]), ge
    a.close()
    b.close()
