"""COMPRESS=DEFLATE (RFC 4978) on the real store daemon (issue #19).

A Python client speaks raw DEFLATE (zlib, wbits -15, a sync flush after
each command) over the IMAPS socket after COMPRESS DEFLATE: FETCH of a
message larger than the server's output high-water mark (the FETCH pauses
and resumes through the compressed stream), APPEND with a synchronizing
literal, IDLE woken by an LMTP delivery, a second COMPRESS refused, and a
broken stream ending the session.
"""
import re
import smtplib
import zlib

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, imap, raw_session, reply  # noqa: F401

ALICE = "alice@example.test"


class Zsess:
    """An IMAPS session that turns on COMPRESS DEFLATE after login."""

    def __init__(self, st, pipelined=False):
        self.s, f = raw_session(st)
        self.s.settimeout(20)
        out = reply(self.s, f, ('a LOGIN %s "%s"' % (ALICE, PW[ALICE]))
                    .encode())
        assert out[-1].startswith(b"a OK"), out
        assert b"COMPRESS=DEFLATE" in b"".join(out)
        self.comp = zlib.compressobj(wbits=-15)
        self.dec = zlib.decompressobj(wbits=-15)
        self.buf = b""
        self.n = 0
        # the plain reply is read byte by byte, so no compressed byte
        # behind it lands in a plain buffer
        if pipelined:
            # not allowed to a client, but must not confuse the server:
            # compressed bytes right behind the command
            self.s.sendall(b"z COMPRESS DEFLATE\r\n" +
                           self.z(b"p NOOP\r\n"))
        else:
            self.s.sendall(b"z COMPRESS DEFLATE\r\n")
        ok = b""
        while not ok.endswith(b"\r\n"):
            ok += self.s.recv(1)
        assert ok == b"z OK DEFLATE active\r\n", ok
        self.raw = 0
        if pipelined:
            assert self.line().startswith(b"p OK")

    def z(self, data):
        return self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)

    def send(self, data):
        self.s.sendall(self.z(data))

    def fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise EOFError
        self.raw += len(chunk)
        self.buf += self.dec.decompress(chunk)

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln + b"\r\n"

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd(self, line):
        """Send a command; its lines, literals inline."""
        self.n += 1
        tag = b"c%d" % self.n
        self.send(tag + b" " + line + b"\r\n")
        return self.until(tag)

    def until(self, tag):
        out = []
        while True:
            ln = self.line()
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            if m:
                ln += self.read(int(m.group(1)))
            out.append(ln)
            if ln.startswith(tag + b" "):
                return out


def big_message():
    body = b"".join(b"line %07d " % i + b"abcdefghij" * 7 + b"\r\n"
                    for i in range(30000))
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: big\r\n\r\n" + body)


def deliver(st, msg):
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.sendmail("carol@remote.test", [ALICE], msg)


def test_fetch_append_over_deflate(imap):
    big = big_message()
    deliver(imap, big)
    deliver(imap, big)
    z = Zsess(imap)
    out = z.cmd(b"SELECT INBOX")
    assert out[-1].split()[1] == b"OK" and b"* 2 EXISTS\r\n" in out
    # 5 MB: the FETCH waits for the client between messages
    out = z.cmd(b"FETCH 1:2 BODY.PEEK[]")
    # each literal line, then ")" on a line of its own
    assert len(out) == 5 and out[1] == out[3] == b")\r\n", \
        [x[:40] for x in out]
    for i in (0, 1):
        m = re.match(rb"\* %d FETCH \(BODY\[\] \{(\d+)\}\r\n" % (i + 1),
                     out[2 * i])
        # the store adds Return-Path and Delivered-To in front
        assert m and out[2 * i].endswith(big) and \
            len(out[2 * i]) == m.end() + int(m.group(1)), out[2 * i][:80]
    assert out[-1].startswith(b"c2 OK")
    # the repetitive text really went compressed
    assert z.raw < 2 * len(big) / 3
    # APPEND with a synchronizing literal: "+" comes compressed too
    msg = b"Subject: zipped\r\n\r\nhello\r\n"
    z.n += 1
    z.send(b"c%d APPEND INBOX {%d}\r\n" % (z.n, len(msg)))
    assert z.line().startswith(b"+")
    z.send(msg + b"\r\n")
    out = z.until(b"c%d" % z.n)
    assert re.search(rb"OK \[APPENDUID \d+ 3\]", out[-1]), out
    out = z.cmd(b"FETCH 3 BODY.PEEK[]")
    assert msg in out[0]
    out = z.cmd(b"COMPRESS DEFLATE")
    assert out[-1].split()[1] == b"NO" and b"COMPRESSIONACTIVE" in out[-1]
    out = z.cmd(b"LOGOUT")
    assert out[0].startswith(b"* BYE")


def test_idle_and_pipelined_start(imap):
    z = Zsess(imap, pipelined=True)
    z.cmd(b"SELECT INBOX")
    z.n += 1
    z.send(b"c%d IDLE\r\n" % z.n)
    assert z.line().startswith(b"+")
    deliver(imap, b"Subject: wake\r\n\r\nup\r\n")
    assert z.line() == b"* 1 EXISTS\r\n"
    z.send(b"DONE\r\n")
    out = z.until(b"c%d" % z.n)
    assert out[-1].split()[1] == b"OK"


def test_broken_stream_ends_session(imap):
    z = Zsess(imap)
    z.s.sendall(b"\xff" * 64)      # not a valid deflate block
    with pytest.raises((EOFError, ConnectionError)):
        for _ in range(10):
            z.fill()
