"""mx (stage A) inbound defences: greylisting, greet pause and protocol
tests, connection rate, the pass list, bad-recipient throttle, spam traps,
sender rate and lists, HELO rules, header and body checks.

The tests' clients come from 127.0.0.x; client_allow (127.0.0.0/8 by
default) is set so that 127.0.0.1 stays allowed where a test needs an
allowed client, and the screened clients connect from other loopback
addresses."""
import os
import socket
import time

import pytest

from conftest import Ctl, Lmtp, messages, metric, wait_for, wait_messages

SCREENED = "127.0.0.7"


class Client(Lmtp):
    """A raw SMTP client from a chosen source address."""

    def __init__(self, port, source=SCREENED, hello="EHLO client.remote.test",
                 timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout,
                                          source_address=(source, 0))
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()
        if self.greeting[0] == 220 and hello:
            self.ehlo = self.cmd(hello)

    def closed(self):
        try:
            return self.f.readline() == b""
        except OSError:
            return True


def mx_with(cluster, st, **extra):
    conf = {"client_allow": "127.0.0.1", "greylist": "no",
            "greylist_db": os.path.join(cluster.base, "grey%d.db" %
                                        len(cluster.daemons))}
    conf.update({k: str(v) for k, v in extra.items()})
    return cluster.mx(["lmtp:127.0.0.1:%d" % st.port], extra=conf)


def send(c, rcpt="alice@example.test", sender="someone@remote.test"):
    """MAIL and RCPT; the RCPT reply."""
    assert c.cmd("MAIL FROM:<%s>" % sender)[0] == 250
    return c.cmd("RCPT TO:<%s>" % rcpt)


MSG = b"From: someone@remote.test\r\nSubject: screened\r\n\r\nhello\r\n"


def data(c, msg=MSG):
    assert c.cmd("DATA")[0] == 354
    c.s.sendall(msg + b".\r\n")
    return c.reply()


def test_greylisting_defers_then_accepts(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, greylist="yes", greylist_delay="2s")
    c = Client(mx.port)
    r = send(c)
    assert r[0] == 451 and r[1].startswith("4.7.1 <alice@example.test>"), r
    assert "Greylisted" in r[1]
    c.cmd("RSET")
    assert send(c)[0] == 451          # too early
    c.cmd("RSET")
    # another recipient is another triplet
    assert send(c, "bob@example.test")[0] == 451
    c.close()
    time.sleep(2.1)
    c = Client(mx.port)
    assert send(c)[0] == 250
    assert data(c)[0] == 250
    c.close()
    wait_messages(st, "alice@example.test", 1)
    log = mx.log()
    assert "reject: RCPT from [%s]: 451 4.7.1 <alice@example.test>: " \
        "Recipient address rejected: Greylisted" % SCREENED in log
    assert "greylist passed: client=[%s]" % SCREENED in log
    # an allowed client and an allowed sender are not greylisted
    c = Client(mx.port, source="127.0.0.1")
    assert send(c, "bob@example.test")[0] == 250
    c.close()
    assert metric(mx, 'sluice_greylist_total{result="deferred"}') == 3
    assert metric(mx, 'sluice_greylist_total{result="passed"}') == 1
    assert metric(mx, 'sluice_greylist_total{result="skipped"}') == 1
    assert metric(mx, 'sluice_greylist_total{result="error"}') == 0


def test_greylisting_skips_allowed_sender(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, greylist="yes", greylist_delay="60s",
                 sender_allow="@friend.test")
    c = Client(mx.port)
    assert send(c, sender="pal@friend.test")[0] == 250
    c.cmd("RSET")
    assert send(c, sender="pal@other.test")[0] == 451
    c.close()


def test_greylisting_skips_spf_pass(cluster):
    """A sender whose domain's SPF record lists the client is not
    greylisted (the paper's F University); one whose SPF is neutral is."""
    from conftest import dnsmasq
    dns, addr = dnsmasq(cluster.base, [
        'txt-record=spf.test,"v=spf1 ip4:%s -all"' % SCREENED,
        'txt-record=neutral.test,"v=spf1 ?all"'])
    try:
        st = cluster.store()
        mx = mx_with(cluster, st, greylist="yes", greylist_delay="60s",
                     dns_servers=addr)
        c = Client(mx.port)
        assert send(c, sender="a@spf.test")[0] == 250
        c.cmd("RSET")
        assert send(c, sender="a@neutral.test")[0] == 451
        c.close()
        assert "spf=pass" in mx.log()
    finally:
        dns.kill()


def test_early_talker_refused_patient_client_passes_once(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, greet_pause_ms=800)
    # the early talker speaks after the "220-" line
    s = socket.create_connection(("127.0.0.1", mx.port), 5,
                                 source_address=(SCREENED, 0))
    f = s.makefile("rb")
    assert f.readline().startswith(b"220-mx.example.test")
    s.sendall(b"EHLO spam.example.net\r\n")
    rest = f.read()
    assert b"554 5.5.1" in rest and b"talked before the greeting" in rest
    assert b"220 " not in rest
    s.close()
    # a patient client from elsewhere waits for the whole banner
    t0 = time.monotonic()
    c = Client(mx.port, source="127.0.0.8")
    assert time.monotonic() - t0 >= 0.7
    assert c.ehlo[0] == 250
    assert send(c)[0] == 250
    c.close()
    # it passed: the next time, no pause
    wait_for(lambda: "disconnect from [127.0.0.8]" in mx.log())
    t0 = time.monotonic()
    c = Client(mx.port, source="127.0.0.8")
    assert time.monotonic() - t0 < 0.5
    c.close()
    assert "reject: CONNECT from [%s]: 554 5.5.1" % SCREENED in mx.log()
    assert metric(mx, 'sluice_screen_total{result="pregreet"}') == 1
    assert metric(mx, 'sluice_screen_total{result="passed"}') == 1
    assert metric(mx, 'sluice_screen_total{result="greet_skipped"}') >= 1
    assert metric(mx, 'sluice_screen_total{result="greet_paused"}') >= 2


@pytest.mark.parametrize("wire,what,series", [
    (b"EHLO a.remote.test\r\nMAIL FROM:<a@remote.test>\r\n",
     b"pipelining before EHLO", "pipelining"),
    (b"GET / HTTP/1.0\r\n", b"non-SMTP command", "non_smtp"),
    (b"Subject: hi\r\n", b"non-SMTP command", "non_smtp"),
    (b"EHLO a.remote.test\n", b"bare newline", "bare_newline"),
])
def test_protocol_tests(cluster, wire, what, series):
    st = cluster.store()
    mx = mx_with(cluster, st)
    c = Client(mx.port, hello=None)
    c.s.sendall(wire)
    rest = c.f.read()
    assert b"550 5.5.1 Error: protocol violation: " + what in rest, rest
    c.s.close()
    # the same from an allowed client is only answered
    c = Client(mx.port, source="127.0.0.1", hello=None)
    c.s.sendall(wire)
    assert c.reply()[0] in (250, 500)
    c.close()
    assert metric(mx, 'sluice_screen_total{result="%s"}' % series) == 1


def test_protocol_tests_off(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, protocol_tests="no")
    c = Client(mx.port, hello=None)
    c.s.sendall(b"GET / HTTP/1.0\r\n")
    assert c.reply()[0] == 500
    assert c.cmd("NOOP")[0] == 250
    c.close()


def test_connection_rate_limit(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, connection_rate_limit=3,
                 connection_rate_window="30s")
    for _ in range(3):
        c = Client(mx.port, hello=None)
        assert c.greeting[0] == 220
        c.close()
    c = Client(mx.port, hello=None)
    assert c.greeting[0] == 421 and c.greeting[1].startswith("4.7.0"), \
        c.greeting
    assert c.closed()
    # other clients are not affected
    c = Client(mx.port, source="127.0.0.9", hello=None)
    assert c.greeting[0] == 220
    c.close()
    assert "reject: CONNECT from [%s]: 421 4.7.0" % SCREENED in mx.log()
    assert metric(mx, "sluice_connection_rate_refused_total") == 1


def world(cluster, **extra):
    d = os.path.join(cluster.base, "dir%d" % len(cluster.daemons))
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    os.chmod(ctl.snap, 0o644)
    st = cluster.store(extra={"directory_file": ctl.snap})
    return mx_with(cluster, st, directory_file=ctl.snap, **extra), st


def test_bad_rcpt_throttle_delays_then_disconnects(cluster):
    mx, _ = world(cluster, bad_rcpt_delay_after=1, bad_rcpt_delay_ms=700,
                  bad_rcpt_disconnect=3)
    c = Client(mx.port)
    assert c.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    t0 = time.monotonic()
    assert c.cmd("RCPT TO:<nobody1@example.test>")[0] == 550
    assert time.monotonic() - t0 < 0.5          # first one: at once
    t0 = time.monotonic()
    assert c.cmd("RCPT TO:<nobody2@example.test>")[0] == 550
    assert time.monotonic() - t0 >= 0.6         # past the limit: late
    r = c.cmd("RCPT TO:<nobody3@example.test>")
    assert r[0] == 421 and "too many unknown recipients" in r[1], r
    assert c.closed()
    assert "421 4.7.0" in mx.log()
    assert metric(mx, 'sluice_bad_rcpt_total{action="delayed"}') == 1
    assert metric(mx, 'sluice_bad_rcpt_total{action="disconnected"}') == 1


def test_spam_trap_blocks_client(cluster):
    mx, st = world(cluster, spam_traps="trap@example.test",
                   spam_trap_block_time="60s")
    c = Client(mx.port)
    assert send(c)[0] == 250
    c.cmd("RSET")
    r = send(c, "trap@example.test")
    assert r[0] == 550 and "User unknown" in r[1]
    c.cmd("RSET")
    r = send(c, "alice@example.test")
    assert r[0] == 554 and "spam trap" in r[1], r
    c.close()
    c = Client(mx.port, hello=None)
    assert c.greeting[0] == 554 and "5.7.1" in c.greeting[1]
    c.s.close()
    assert "spam trap <trap@example.test> mailed by [%s]" % SCREENED in \
        mx.log()
    # other clients still get in
    c = Client(mx.port, source="127.0.0.9")
    assert send(c)[0] == 250
    c.close()
    assert metric(mx, "sluice_spam_trap_hits_total") == 1
    assert metric(mx, 'sluice_screen_total{result="trap_blocked"}') == 2


def test_sender_rate_and_block(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, sender_rate_limit=2, sender_rate_window="60s",
                 sender_block="@spam.test, bad@evil.test")
    c = Client(mx.port)
    for i in range(2):
        assert c.cmd("MAIL FROM:<Bulk@remote.test>")[0] == 250
        c.cmd("RSET")
    r = c.cmd("MAIL FROM:<bulk@remote.test>")
    assert r[0] == 450 and r[1].startswith("4.7.1"), r
    assert c.cmd("MAIL FROM:<other@remote.test>")[0] == 250
    c.cmd("RSET")
    assert c.cmd("MAIL FROM:<x@spam.test>")[0] == 554
    assert c.cmd("MAIL FROM:<bad@evil.test>")[0] == 554
    assert c.cmd("MAIL FROM:<good@evil.test>")[0] == 250
    c.close()
    # our own networks (client_allow) are not counted
    c = Client(mx.port, source="127.0.0.1")
    for i in range(3):
        assert c.cmd("MAIL FROM:<bulk@remote.test>")[0] == 250
        c.cmd("RSET")
    c.close()
    assert metric(mx, "sluice_sender_rate_refused_total") == 1
    assert metric(mx, "sluice_sender_blocked_total") == 2


def test_helo_must_be_fqdn(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st)
    for bad in ("localhost", "1.2.3.4", "-a.test", "a..test", "a_b.test"):
        c = Client(mx.port, hello="EHLO " + bad)
        assert c.ehlo[0] == 504, (bad, c.ehlo)
        c.close()
    for good in ("mail.remote.test", "[192.0.2.1]", "x1.example"):
        c = Client(mx.port, hello="EHLO " + good)
        assert c.ehlo[0] == 250, good
        c.close()
    assert metric(mx, "sluice_helo_rejected_total") == 5


def test_client_block(cluster):
    st = cluster.store()
    mx = mx_with(cluster, st, client_block="127.0.0.0/30, 127.0.0.7")
    c = Client(mx.port, hello=None)
    assert c.greeting[0] == 554
    c.s.close()
    c = Client(mx.port, source="127.0.0.9")
    assert c.greeting[0] == 220
    c.close()
    assert metric(mx, 'sluice_screen_total{result="client_blocked"}') == 1
    # the one from 127.0.0.1 (client_allow): the harness's probe
    assert metric(mx, 'sluice_screen_total{result="allowlisted"}') >= 1


def test_header_and_body_checks(cluster):
    st = cluster.store()
    hc = os.path.join(cluster.base, "header_checks")
    bc = os.path.join(cluster.base, "body_checks")
    with open(hc, "w") as f:
        f.write("# comment\n/^Subject:.*cheap +pills/ REJECT no pills\n")
    with open(bc, "w") as f:
        f.write("/click here to win/ REJECT no prizes\n")
    mx = mx_with(cluster, st, header_checks=hc, body_checks=bc)
    c = Client(mx.port)
    send(c)
    r = data(c, b"From: a@remote.test\r\nSubject: very\r\n CHEAP  pills\r\n"
             b"\r\nhi\r\n")
    assert r == (550, "5.7.1 no pills"), r
    send(c)
    r = data(c, b"Subject: hello\r\n\r\nplease Click here to win\r\n")
    assert r == (550, "5.7.1 no prizes"), r
    send(c)
    # the body text in a header, the header text in the body: no match
    assert data(c, b"X-Note: click here to win\r\n\r\nSubject: cheap pills"
                b"\r\n")[0] == 250
    c.close()
    assert len(wait_messages(st, "alice@example.test", 1)) == 1
    assert "reject: body from [%s]: 550 5.7.1 no prizes" % SCREENED in \
        mx.log()
    assert metric(mx, 'sluice_rules_rejected_total{check="header"}') == 1
    assert metric(mx, 'sluice_rules_rejected_total{check="body"}') == 1


@pytest.fixture
def lists(cluster):
    """dnsmasq serving a.test and b.test (blocklists) and wl.test (an
    allowlist) for clients 127.0.0.20-23."""
    from conftest import dnsmasq

    def rec(n, zone, a):
        return "host-record=%d.0.0.127.%s,%s" % (n, zone, a)
    p, servers = dnsmasq(cluster.base, [
        rec(20, "a.test", "127.0.0.2"),
        rec(21, "a.test", "127.0.0.2"), rec(21, "b.test", "127.0.0.3"),
        rec(22, "a.test", "127.0.0.2"), rec(22, "b.test", "127.0.0.2"),
        rec(22, "wl.test", "127.0.15.1"),
        # a list's error code and an answer outside 127/8: lookup errors
        rec(23, "a.test", "127.255.255.254"), rec(23, "b.test", "10.0.0.1"),
    ])
    yield servers, p
    p.terminate()
    p.wait()


def test_dnsbl_weights_threshold_and_allowlist(cluster, lists):
    lists, dns = lists
    st = cluster.store()
    mx = mx_with(cluster, st, dns_servers=lists, dnsbl_loopback="yes",
                 dnsbl_sites="a.test*2, b.test*2, wl.test*-5",
                 dnsbl_threshold=3, greylist="yes", greylist_delay="60s",
                 dns_timeout="2s")
    # one list (weight 2): under the threshold, greylisted as usual
    c = Client(mx.port, source="127.0.0.20")
    assert c.greeting[0] == 220
    assert send(c)[0] == 451
    c.close()
    # two lists (2 + 2): refused at connect
    c = Client(mx.port, source="127.0.0.21", hello=None)
    assert c.greeting[0] == 554, c.greeting
    assert "blocked using a.test, b.test" in c.greeting[1] or \
        "blocked using b.test, a.test" in c.greeting[1]
    assert c.closed()
    # both lists and the allowlist (2 + 2 - 5): allowed, not greylisted
    c = Client(mx.port, source="127.0.0.22")
    assert c.greeting[0] == 220
    assert send(c)[0] == 250
    c.close()
    # error codes and answers outside 127/8 weigh nothing
    c = Client(mx.port, source="127.0.0.23")
    assert c.greeting[0] == 220
    c.close()
    log = mx.log()
    assert "reject: CONNECT from [127.0.0.21]: 554 5.7.1 Service " \
        "unavailable" in log
    assert "a.test answered 127.255.255.254 for [127.0.0.23]" in log
    assert "b.test answered 10.0.0.1 for [127.0.0.23]" in log
    assert "allowed by DNS lists (score -1" in log
    assert metric(mx, 'sluice_dnsbl_total{result="rejected"}') == 1
    assert metric(mx, 'sluice_dnsbl_total{result="allowed"}') == 1
    assert metric(mx, 'sluice_dnsbl_total{result="error"}') == 2
    # verdicts are cached: with the lists gone, still refused and allowed
    dns.terminate()
    dns.wait()
    c = Client(mx.port, source="127.0.0.21", hello=None)
    assert c.greeting[0] == 554, c.greeting
    c.s.close()
    c = Client(mx.port, source="127.0.0.22")
    assert send(c, "bob@example.test")[0] == 250
    c.close()


def test_dnsbl_down_does_not_stop_mail(cluster):
    """A list whose server never answers: the greeting waits for the
    lookups' timeout, then mail flows; a client that leaves while they
    run costs nothing (the daemon stops clean: no sanitizer report)."""
    from conftest import free_port
    st = cluster.store()
    mx = mx_with(cluster, st, dns_servers="127.0.0.1:%d" % free_port(),
                 dnsbl_loopback="yes", dnsbl_sites="a.test",
                 dns_timeout="1s")
    s = socket.create_connection(("127.0.0.1", mx.port), 5,
                                 source_address=("127.0.0.30", 0))
    s.close()
    c = Client(mx.port, timeout=15)
    assert c.greeting[0] == 220
    assert send(c)[0] == 250
    c.close()
    wait_for(lambda: "lookup of [127.0.0.7] in a.test failed" in mx.log())
    assert metric(mx, 'sluice_dnsbl_total{result="error"}') >= 1


def paused(port, source, **kw):
    """(seconds the greeting took, the client)."""
    t0 = time.monotonic()
    c = Client(port, source=source, **kw)
    return time.monotonic() - t0, c


def test_screen_state_survives_restart(cluster):
    """screen_state: after a restart (SIGTERM, or kill -9 once the
    periodic write happened) a client that passed the greet pause is not
    paused again, a sender at its rate limit is still limited and a
    trapped client still refused. With screen_state empty, all three
    start afresh (the control)."""
    def run(state, interval, restart):
        mx, _ = world(cluster, greet_pause_ms=800, sender_rate_limit=2,
                      sender_rate_window="600s",
                      spam_traps="trap@example.test",
                      spam_trap_block_time="600s", screen_state=state,
                      screen_state_interval=interval)
        t, c = paused(mx.port, "127.0.0.8")
        assert t >= 0.7 and c.ehlo[0] == 250
        for i in range(2):
            assert c.cmd("MAIL FROM:<bulk@remote.test>")[0] == 250
            c.cmd("RSET")
        assert c.cmd("MAIL FROM:<bulk@remote.test>")[0] == 450
        c.close()
        t, c = paused(mx.port, "127.0.0.9")
        assert send(c, "trap@example.test")[0] == 550
        c.close()
        wait_for(lambda: "disconnect from [127.0.0.9]" in mx.log())
        # SPF answers that came after RSET named no sender (NULL)
        assert "(null)" not in mx.log()
        restart(mx)
        return mx

    def term(mx):
        mx.stop()
        mx.start()

    def crash(mx):
        time.sleep(1.5)     # one periodic write
        mx.kill9()
        mx.start()

    for restart in (crash, term):
        d = os.path.join(cluster.base, "state%d" % len(cluster.daemons))
        mx = run(os.path.join(d, "screen.state"), "1s", restart)
        # the port is bound before the state is read: wait for it
        wait_for(lambda: "1 passed client(s), 1 trapped client(s), 2 "
                 "sender counter(s)" in mx.log(), what="the state read")
        t, c = paused(mx.port, "127.0.0.8")
        assert t < 0.5, t
        r = c.cmd("MAIL FROM:<bulk@remote.test>")
        assert r[0] == 450 and r[1].startswith("4.7.1"), r
        c.close()
        c = Client(mx.port, source="127.0.0.9", hello=None)
        assert c.greeting[0] == 554 and "5.7.1" in c.greeting[1]
        c.s.close()
        mx.stop()
    mx = run("", "60s", term)
    wait_for(lambda: mx.log().count("listening on") == 2)
    t, c = paused(mx.port, "127.0.0.8")
    assert t >= 0.7
    assert c.cmd("MAIL FROM:<bulk@remote.test>")[0] == 250
    c.close()
