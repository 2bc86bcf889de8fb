"""IMAP hostile input against the real store daemon (ASan/UBSan build).

Unterminated and oversized literals (synchronizing and LITERAL+), 10,000
nested parentheses, invalid sequence sets, commands before
authentication, LOGIN without TLS, pipelined garbage and binary bytes,
very long lines, tag-less lines, a flood of bad commands. Each attack
gets tagged (or untagged) BAD/NO answers or a disconnect, never a crash:
after each one the daemon is still running and serves a normal session
(login, SELECT, FETCH of a delivered message), and the cluster fixture
checks the daemon's log for sanitizer reports at teardown.
"""
import socket
import ssl

import pytest

pytest.importorskip("test_imap")  # the IMAP server (branch imap)
from test_imap import (PW, deliver, imap, raw_session,  # noqa: E402,F401
                       reply)
import test_imap as ti  # noqa: E402
from conftest import client_tls  # noqa: E402

ALICE = "alice@example.test"
MSG = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
       b"Subject: hostile\r\nMessage-ID: <h1@remote.test>\r\n\r\n"
       b"still here\r\n")


def login_line(tag=b"a1"):
    return tag + (' LOGIN %s "%s"' % (ALICE, PW[ALICE])).encode()


def plain_session(st):
    """A cleartext socket to the STARTTLS port, greeting read."""
    s = socket.create_connection(("127.0.0.1", st.imap_port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return s, f


def selected(st):
    s, f = raw_session(st)
    s.settimeout(20)
    assert reply(s, f, login_line())[-1].startswith(b"a1 OK")
    assert reply(s, f, b"a2 SELECT INBOX")[-1].startswith(b"a2 OK")
    return s, f


def still_serving(st):
    """The daemon runs and a normal session fetches the message."""
    assert st.proc.poll() is None, "store died:\n" + st.log()[-3000:]
    s, f = selected(st)
    out = reply(s, f, b"n1 FETCH 1 (BODY.PEEK[TEXT])")
    assert out[-1].startswith(b"n1 OK")
    assert b"still here" in b"".join(out)
    out = reply(s, f, b"n2 LOGOUT")
    assert out[-1].startswith(b"n2 OK")
    s.close()


def read_all(f, limit=200):
    """Lines until the server closes or stops talking (timeout)."""
    out = []
    try:
        for _ in range(limit):
            ln = f.readline()
            if not ln:
                break
            out.append(ln)
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    return out


@pytest.fixture
def st(imap):
    deliver(imap, ALICE, MSG)
    return imap


def test_unterminated_literal_then_disconnect(st):
    # before login: the literal's "+" comes, its data never does
    s, f = raw_session(st)
    s.sendall(b"a1 LOGIN {20}\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(b"only some")
    s.close()
    # after login: an APPEND whose message never ends
    s, f = selected(st)
    s.sendall(b"a3 APPEND INBOX {5000}\r\n")
    assert f.readline().startswith(b"+")
    s.sendall(b"From: x\r\n\r\npartial")
    s.close()
    # LITERAL+: no "+" at all, then the connection drops
    s, f = selected(st)
    s.sendall(b"a3 APPEND INBOX {5000+}\r\nFrom: x\r\n")
    s.close()
    still_serving(st)
    # nothing was appended by the cut APPENDs
    s, f = selected(st)
    out = reply(s, f, b"a4 STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 1" in b"".join(out)
    s.close()


@pytest.mark.parametrize("plus", [b"", b"+"])
def test_oversized_literal(st, plus):
    s, f = selected(st)
    s.sendall(b"a3 APPEND INBOX {4000000000" + plus + b"}\r\n")
    ln = f.readline()
    assert ln.startswith(b"a3 BAD") or ln.startswith(b"a3 NO") or \
        ln.startswith(b"* BYE"), ln
    if not plus:
        # a refused synchronizing literal: the session goes on
        assert reply(s, f, b"a4 NOOP")[-1].startswith(b"a4 OK")
    else:
        # the client is already sending 4 GB: the server hangs up
        s.settimeout(20)
        read_all(f)
        assert f.readline() == b""
    s.close()
    # an oversized literal in a command that takes small ones
    s, f = raw_session(st)
    s.sendall(b"a1 LOGIN {100000000}\r\n")
    ln = f.readline()
    assert ln.startswith(b"a1 BAD") or ln.startswith(b"a1 NO"), ln
    assert reply(s, f, b"a2 NOOP")[-1].startswith(b"a2 OK")
    s.close()
    still_serving(st)


def test_nested_parentheses(st):
    s, f = selected(st)
    deep = b"(" * 10000 + b")" * 10000
    out = reply(s, f, b"a3 FETCH 1 " + deep)
    assert out[-1].startswith(b"a3 BAD")
    out = reply(s, f, b"a4 SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000)
    assert out[-1].startswith(b"a4 BAD")
    out = reply(s, f, b"a5 STORE 1 +FLAGS " + b"(" * 10000)
    assert out[-1].startswith(b"a5 BAD")
    # nesting without parentheses: chains of NOT and OR
    out = reply(s, f, b"a7 SEARCH " + b"NOT " * 15000 + b"ALL")
    assert out[-1].startswith(b"a7 BAD")
    out = reply(s, f, b"a8 SEARCH " + b"OR " * 7000 + b"ALL " * 7000 +
                b"ALL")
    assert out[-1].startswith(b"a8 BAD")
    out = reply(s, f, b"a9 SEARCH " + b"NOT " * 50 + b"ALL")
    assert out[-1].startswith(b"a9 OK") and out[0] == b"* SEARCH 1\r\n"
    out = reply(s, f, b"a10 SEARCH " + b"NOT " * 51 + b"ALL")
    assert out[-1].startswith(b"a10 OK") and out[0] == b"* SEARCH\r\n"
    assert reply(s, f, b"a6 NOOP")[-1].startswith(b"a6 OK")
    s.close()
    still_serving(st)


@pytest.mark.parametrize("seq", [b"0", b"4294967296", b"1:*:2", b"garbage",
                                 b"1,,2", b"*:0", b"-1", b"1:",
                                 b"99999999999999999999", b"1:4294967296"])
def test_invalid_sequence_sets(st, seq):
    s, f = selected(st)
    for tag, cmd in ((b"b1", b" FETCH %s FLAGS"), (b"b2", b" STORE %s "
                                                    b"+FLAGS (\\Seen)"),
                     (b"b3", b" UID FETCH %s FLAGS"),
                     (b"b4", b" COPY %s INBOX"),
                     (b"b5", b" SEARCH %s")):
        out = reply(s, f, tag + cmd.replace(b"%s", seq))
        assert out[-1].startswith(tag + b" BAD"), (seq, cmd, out)
    assert reply(s, f, b"b6 NOOP")[-1].startswith(b"b6 OK")
    s.close()
    still_serving(st)


def test_commands_before_authentication(st):
    s, f = raw_session(st)
    for i, cmd in enumerate([b"SELECT INBOX", b"FETCH 1 BODY[]",
                             b"UID FETCH 1:* FLAGS", b"EXAMINE INBOX",
                             b"STATUS INBOX (MESSAGES)", b"APPEND INBOX {3+}"
                             b"\r\nabc", b"LIST \"\" *", b"EXPUNGE",
                             b"IDLE", b"GETQUOTAROOT INBOX"]):
        tag = b"p%d" % i
        out = reply(s, f, tag + b" " + cmd)
        assert out[-1].startswith(tag + b" BAD") or \
            out[-1].startswith(tag + b" NO"), (cmd, out)
        assert not any(l.startswith(b"* ") and b"EXISTS" in l for l in out)
    assert reply(s, f, b"p99 NOOP")[-1].startswith(b"p99 OK")
    s.close()
    still_serving(st)


def test_login_without_tls_refused(st):
    s, f = plain_session(st)
    out = reply(s, f, login_line(b"c1"))
    assert out[-1].startswith(b"c1 NO") or out[-1].startswith(b"c1 BAD")
    assert b"PRIVACYREQUIRED" in out[-1] or b"TLS" in out[-1].upper()
    out = reply(s, f, b"c2 AUTHENTICATE PLAIN")
    assert out[-1].startswith(b"c2 NO") or out[-1].startswith(b"c2 BAD")
    # still unauthenticated: SELECT is refused
    out = reply(s, f, b"c3 SELECT INBOX")
    assert out[-1].startswith(b"c3 BAD") or out[-1].startswith(b"c3 NO")
    s.close()
    assert PW[ALICE] not in st.log()
    still_serving(st)


def test_starttls_command_injection(st):
    """Cleartext pipelined after STARTTLS must be dropped, not run inside
    the TLS session (the CVE-2011-0411 class of bugs)."""
    s = socket.create_connection(("127.0.0.1", st.imap_port), timeout=20)
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    s.sendall(b"s1 STARTTLS\r\n" + login_line(b"s2") + b"\r\n"
              b"s3 SELECT INBOX\r\n")
    ln = f.readline()
    assert ln.startswith(b"s1 OK"), ln
    t = client_tls().wrap_socket(s)
    tf = t.makefile("rb")
    out = reply(t, tf, b"s4 CAPABILITY")
    assert not any(l.startswith(b"s2 ") or l.startswith(b"s3 ")
                   for l in out), out
    # still not logged in: the injected LOGIN did not count
    out = reply(t, tf, b"s5 SELECT INBOX")
    assert out[-1].startswith(b"s5 BAD") or out[-1].startswith(b"s5 NO")
    t.close()
    still_serving(st)


def test_pipelined_garbage_and_binary(st):
    s, f = selected(st)
    junk = (b"\x00\x01\x02 \xff\xfe FETCH\r\n"
            b"g1 \x00NOOP\r\n"
            b"g2 FETCH 1 (BODY[\x80\x81])\r\n"
            b"g3 FETCH 1 BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17."
            b"18.19.20.21.22.23.24.25.26.27.28.29.30.31.32.33.34.35.36.37."
            b"38.39.40.41.42.43.44.45.46.47.48.49.50.51.52.53.54.55.56.57."
            b"58.59.60.61.62.63.64.65.66.67.68.69.70.71.72.73.74.75.HEADER]"
            b"\r\n"
            b"g4 FETCH 1 BODY[HEADER.FIELDS (\"a\\\" b]\r\n"
            b"g5 FETCH 1 BODY[]<4294967296.1>\r\n"
            b"g6 \"quoted tag\r\n"
            b"g7 SEARCH CHARSET \xff\xff ALL\r\n"
            b"g8 SELECT \"\x01\x02/../../etc\"\r\n"
            b"bare\rcr\r\n"
            b"g9 NOOP\r\n")
    s.sendall(junk)
    lines = []
    while True:
        ln = f.readline()
        assert ln, "connection closed: %r" % lines
        lines.append(ln)
        if ln.startswith(b"g9 "):
            break
    assert lines[-1].startswith(b"g9 OK"), lines
    assert not any(l.startswith(b"g8 OK") for l in lines), lines
    s.close()
    still_serving(st)


def test_very_long_lines(st):
    s, f = selected(st)
    s.sendall(b"l1 NOOP " + b"x" * 1000000 + b"\r\n")
    out = reply(s, f, b"l2 NOOP")
    assert any(l.startswith(b"l1 BAD") or l.startswith(b"* BAD")
               for l in out), out[:3]
    assert out[-1].startswith(b"l2 OK")
    # a long atom in the tag, and a huge quoted string
    s.sendall(b"t" * 200000 + b" NOOP\r\n")
    s.sendall(b"l3 SEARCH SUBJECT \"" + b"q" * 500000 + b"\"\r\n")
    out = reply(s, f, b"l4 NOOP")
    assert out[-1].startswith(b"l4 OK")
    assert not any(l.startswith(b"l3 OK") for l in out)
    s.close()
    still_serving(st)


def test_long_line_over_the_limit_refused(st):
    # 1 MB of command text is past LIM_IMAP_LINE (64 KB): however it
    # arrives, the command must not run
    s, f = selected(st)
    s.sendall(b"l5 SEARCH SUBJECT " + b"x" * 1000000 + b"\r\n")
    out = reply(s, f, b"l6 NOOP")
    assert not any(l.startswith(b"l5 OK") for l in out), out[:3]
    s.close()
    still_serving(st)


def test_tagless_lines(st):
    s, f = selected(st)
    s.sendall(b"\r\n \r\n*\r\n+\r\n NOOP\r\n(\r\n")
    out = reply(s, f, b"m1 NOOP")
    assert out[-1].startswith(b"m1 OK")
    assert any(l.startswith(b"* BAD") for l in out), out
    assert not any(l.startswith(b"* OK") and b"NOOP" in l for l in out)
    s.close()
    still_serving(st)


def test_flood_of_errors_disconnects(st):
    s, f = selected(st)
    s.settimeout(20)
    s.sendall(b"".join(b"e%d FOO\r\n" % i for i in range(2000)))
    lines = read_all(f, limit=5000)
    assert lines, "no answer"
    bad = [l for l in lines if b" BAD" in l]
    assert bad
    # the server gave up on this client long before 2000 answers
    assert len(lines) < 2000, len(lines)
    assert any(l.startswith(b"* BYE") for l in lines) or \
        f.readline() == b""
    s.close()
    still_serving(st)


@pytest.mark.parametrize("msg", [
    b"Subject: nul\x00byte\r\nFrom: a\x00@b\r\n\r\nbody\x00\r\n",
    b"Subject: bare lf\nContent-Type: multipart/mixed; boundary=b\n\n"
    b"--b\nContent-Type: message/rfc822\n\nSubject: in\n\nx\n--b--\n",
    b"Content-Type: multipart/mixed; boundary=\"" + b"b" * 5000 + b"\"\r\n"
    b"\r\n--" + b"b" * 5000 + b"\r\n\r\npart\r\n",
    b"To: " + b"(" * 20000 + b"\r\n\r\n",
    b"From: " + b"a@b, " * 10000 + b"\r\nSubject: =?x?b?" + b"A" * 9000 +
    b"?=\r\n\r\n",
])
def test_append_hostile_message(st, msg):
    s, f = selected(st)
    s.sendall(b"h1 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    out = reply(s, f, b"h2 NOOP")
    ok = any(l.startswith(b"h1 OK") for l in out)
    assert ok or any(l.startswith(b"h1 NO") or l.startswith(b"h1 BAD")
                     for l in out), out
    if ok:
        out = reply(s, f, b"h3 FETCH 2 (ENVELOPE BODYSTRUCTURE BODY "
                    b"RFC822.SIZE BODY.PEEK[1.MIME] BODY.PEEK[HEADER])")
        assert out[-1].startswith(b"h3 OK"), out[-1]
        out = reply(s, f, b"h4 SEARCH TEXT zzz BODY zzz HEADER To x")
        assert out[-1].startswith(b"h4 OK"), out[-1]
        out = reply(s, f, b"h5 FETCH 2 BODY.PEEK[]")
        assert out[-1].startswith(b"h5 OK")
        assert msg in b"".join(out)
    s.close()
    still_serving(st)


def test_append_nul_refused(st):
    """A literal is CHAR8 (RFC 3501 9): a message with NUL octets is
    refused, not stored to be sent back in a literal later."""
    s, f = raw_session(st)
    s.settimeout(20)
    assert reply(s, f, login_line())[-1].startswith(b"a1 OK")
    before = reply(s, f, b"n0 STATUS INBOX (MESSAGES)")[0]
    msg = b"Subject: nul\x00byte\r\n\r\nbody\r\n"
    s.sendall(b"n1 APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
    out = reply(s, f, b"n2 STATUS INBOX (MESSAGES)")
    assert any(l.startswith(b"n1 NO") for l in out), out
    assert before.startswith(b"* STATUS") and before in out, (before, out)
    s.close()
    still_serving(st)


def test_plain_port_garbage_then_starttls(st):
    """The cleartext port before STARTTLS: a TLS ClientHello sent too
    early, tag-less lines and a long line are answered BAD, and the
    session can still go to TLS and log in."""
    s, f = plain_session(st)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n"
              b"\r\n*\r\n" + b"z" * 300000 + b"\r\n"
              b"q1 LOGIN {3}\r\n")
    early = []
    while not early or not early[-1].startswith(b"+"):
        early.append(f.readline())
        assert early[-1], early
    assert len([l for l in early if b"BAD" in l]) >= 2, early
    out = reply(s, f, b"abc x", tag=b"q1")
    assert out[-1].startswith(b"q1 NO") or out[-1].startswith(b"q1 BAD")
    out = reply(s, f, b"q2 NOOP")
    assert out[-1].startswith(b"q2 OK"), out
    out = reply(s, f, b"q3 STARTTLS")
    assert out[-1].startswith(b"q3 OK")
    t = client_tls().wrap_socket(s)
    tf = t.makefile("rb")
    assert reply(t, tf, login_line(b"q4"))[-1].startswith(b"q4 OK")
    t.close()
    still_serving(st)
