"""CHUNKING (RFC 3030) in the shared SMTP/LMTP engine: BDAT through mx into
a Maildir byte for byte, LAST, pipelining, refusals that keep the session
in step, and the same engine on the store's LMTP and msa's submission."""
import os
import smtplib

import pytest

from conftest import Lmtp, client_tls, wait_messages
from test_mx_store import body_after_trace

BIG = 50 * 1024 * 1024


@pytest.fixture
def pipe(cluster):
    st = cluster.store(extra={"max_message_size": "60m"})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"max_message_size": "60m", "timeout": "60s"})
    return mx, st


def smtp(mx):
    return Lmtp(mx.port, hello="EHLO client.remote.test")


def envelope(c, rcpt="alice@example.test"):
    assert c.cmd("MAIL FROM:<someone@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250


def message(size):
    head = (b"From: someone@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: bdat %d\r\n\r\n" % size)
    line = b".dot line, not stuffed " + b"x" * 60 + b"\r\n"
    body = line * (max(0, size - len(head)) // len(line) + 1)
    return head + body


def test_chunking_advertised_not_binarymime(pipe):
    mx, _ = pipe
    c = smtp(mx)
    assert "CHUNKING" in c.ehlo[1].split("\n")
    assert "BINARYMIME" not in c.ehlo[1]
    c.close()


@pytest.mark.parametrize("size,chunk", [(1, 1), (300, 7), (1 << 20, 65536),
                                        (BIG, 4 << 20)])
def test_bdat_byte_exact(pipe, size, chunk):
    mx, st = pipe
    msg = b"x" if size == 1 else message(size)
    c = smtp(mx)
    envelope(c)
    replies = c.bdat(msg, chunk, pipelined=size < BIG)
    assert all(r[0] == 250 for r in replies), replies[-3:]
    assert "queued as" in replies[-1][1]
    c.close()
    got = wait_messages(st, "alice@example.test", 1, timeout=60)[0]
    # DATA cannot carry a last line without CRLF: mx adds it
    assert body_after_trace(got) == (msg + b"\r\n" if size == 1 else msg)


def test_bdat_last_alone_and_empty_chunks(pipe):
    mx, st = pipe
    msg = message(500)
    c = smtp(mx)
    envelope(c)
    assert c.cmd("BDAT 0")[0] == 250
    assert c.bdat(msg, 1000, last=False)[0][0] == 250
    r = c.cmd("BDAT 0 LAST")
    assert r[0] == 250 and "queued as" in r[1], r
    # a second transaction on the same session, DATA this time
    envelope(c)
    assert c.cmd("DATA")[0] == 354
    c.s.sendall(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    assert c.reply()[0] == 250
    c.close()
    got = wait_messages(st, "alice@example.test", 2)
    assert [body_after_trace(m) for m in got] == [msg, msg]


def test_bdat_pipelined_with_envelope_and_quit(pipe):
    mx, st = pipe
    msg = message(3000)
    c = smtp(mx)
    wire = b"MAIL FROM:<someone@remote.test>\r\nRCPT TO:<bob@example.test>" \
        b"\r\nBDAT 1000\r\n" + msg[:1000] + b"BDAT %d LAST\r\n" % \
        (len(msg) - 1000) + msg[1000:] + b"QUIT\r\n"
    c.s.sendall(wire)
    codes = [c.reply()[0] for _ in range(5)]
    assert codes == [250, 250, 250, 250, 221], codes
    got = wait_messages(st, "bob@example.test", 1)[0]
    assert body_after_trace(got) == msg


def test_refused_bdat_octets_skipped(pipe):
    mx, st = pipe
    c = smtp(mx)
    # before MAIL: refused, and its octets (which look like commands)
    # are not taken for commands
    trap = b"MAIL FROM:<x@remote.test>\r\n"
    c.s.sendall(b"BDAT %d\r\n" % len(trap) + trap)
    assert c.reply()[0] == 503
    assert c.cmd("NOOP")[0] == 250
    envelope(c)  # MAIL accepted: the trap's MAIL was not taken
    c.close()
    c = smtp(mx)
    envelope(c)
    assert c.bdat(b"A: b\r\n\r\nx\r\n", 100, last=False)[0][0] == 250
    assert c.cmd("DATA")[0] == 503  # no DATA after BDAT
    # bare LF: refused at its chunk, the transaction is over
    r = c.bdat(b"bare\nLF\r\n", 100, last=False)
    assert r[0][0] == 550, r
    c.s.sendall(b"BDAT 6 LAST\r\nRSET\r\n")
    assert c.reply()[0] == 503  # need MAIL; its octets skipped
    assert c.cmd("NOOP")[0] == 250
    c.close()


def test_bdat_size_limit_and_syntax(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"max_message_size": "2k"})
    c = smtp(mx)
    envelope(c)
    r = c.bdat(b"y" * 2500 + b"\r\n", 1500)
    assert [x[0] for x in r] == [250, 552], r
    assert r[0][1] == "2.0.0 Ok: 1500 octets received"
    assert c.cmd("NOOP")[0] == 250  # the 1002 octets were skipped
    envelope(c)  # the transaction was over
    r = c.bdat(b"z" * 3000, 3000)
    assert r[0][0] == 552
    assert c.cmd("NOOP")[0] == 250
    r = c.cmd("BDAT ten")
    assert r[0] == 501
    with pytest.raises(ConnectionError):
        c.reply()
    c.s.close()


def test_chunking_off(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"chunking": "no"})
    c = smtp(mx)
    assert "CHUNKING" not in c.ehlo[1]
    envelope(c)
    assert c.cmd("BDAT 0 LAST")[0] == 502
    c.close()


def test_bdat_lmtp_per_recipient_replies(cluster):
    st = cluster.store()
    msg = message(2000)
    c = Lmtp(st.port)
    assert "CHUNKING" in c.ehlo[1]
    assert c.cmd("MAIL FROM:<someone@remote.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.test>")[0] == 250
    c.s.sendall(b"BDAT 700\r\n" + msg[:700] + b"BDAT %d LAST\r\n" %
                (len(msg) - 700) + msg[700:])
    assert c.reply()[0] == 250           # the first chunk
    assert [c.reply()[0] for _ in range(2)] == [250, 250]  # one per rcpt
    c.close()
    for rc in ("alice@example.test", "bob@example.test"):
        got = wait_messages(st, rc, 1)[0]
        assert got.endswith(msg)


def test_bdat_msa(cluster):
    from test_msa import PW, World
    w = World(cluster)
    msg = (b"From: alice@example.test\r\nTo: bob@example.test\r\n"
           b"Subject: chunked\r\n\r\nsubmitted with BDAT\r\n")
    s = smtplib.SMTP("127.0.0.1", w.msa.port, timeout=20)
    s.starttls(context=client_tls())
    s.ehlo("pc.example.test")
    assert s.has_extn("chunking")
    s.login("alice@example.test", PW["alice@example.test"])
    assert s.mail("alice@example.test")[0] == 250
    assert s.rcpt("bob@example.test")[0] == 250
    s.send(b"BDAT 20\r\n" + msg[:20] + b"BDAT %d LAST\r\n" % (len(msg) - 20)
           + msg[20:])
    assert s.getreply()[0] == 250
    assert s.getreply()[0] == 250
    s.quit()
    got = wait_messages(w.store, "bob@example.test", 1)[0]
    assert b"submitted with BDAT\r\n" in got and b"Subject: chunked" in got
