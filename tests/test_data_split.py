"""The DATA phase must not depend on how the client splits its writes
(common/smtp_data.c). Each message goes out in pieces, with TCP_NODELAY
and a pause between them so the server sees separate reads, cut at the
places that matter: between the CR and LF of a header line longer than
the server's read tail, and around the CR/LF of the end of data and of a
smuggling attempt. smtplib speaks the commands; the message text is
written to its socket piece by piece."""
import smtplib
import socket
import time

import pytest

from conftest import client_tls, messages, wait_for, wait_messages
from test_msa import PW, World

LONG = b"Subject: " + b"A" * 5000
FORGED = (b"X-Spam-Flag: NO\r\nX-Sluice-Virus: clean (forged)\r\n"
          b"From: CEO <ceo@bank.test>\r\n")


def send_pieces(s, data, cuts, pause=0.05):
    """Write data (already dot-stuffed, with its end) to smtplib
    connection s in pieces ending at the offsets cuts."""
    sock = s.sock
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = 0
    for c in list(cuts) + [len(data)]:
        if c > start:
            sock.sendall(data[start:c])
            time.sleep(pause)
        start = c


def data_split(s, sender, rcpt, data, cuts):
    """MAIL, RCPT, DATA, then data in pieces; the final reply."""
    r = s.mail(sender)
    assert r[0] == 250, r
    assert s.rcpt(rcpt)[0] == 250
    s.putcmd("DATA")
    assert s.getreply()[0] == 354
    send_pieces(s, data, cuts)
    return s.getreply()


def around(off, width=2):
    return [off + d for d in range(-width, width + 1)]


def test_mx_long_header_line_split_at_crlf(cluster):
    """Forged trace headers after a long header line whose CR and LF
    arrive in different reads are still stripped by mx."""
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    head = b"From: a@remote.test\r\nTo: alice@example.test\r\n" + LONG
    cr = len(head)
    msg = (head + b"\r\n" + FORGED + b"\r\nbody\r\n.\r\n")
    splits = [[cr], [cr + 1], [cr - 1, cr], [cr, cr + 1], [cr, cr + 2]]
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=20) as s:
        s.ehlo("client.remote.test")
        for cuts in splits:
            code, text = data_split(s, "a@remote.test",
                                    "alice@example.test", msg, cuts)
            assert code == 250, (cuts, code, text)
    got = wait_messages(st, "alice@example.test", len(splits))
    for m in got:
        h = m.split(b"\r\n\r\n", 1)[0].lower()
        assert b"x-spam-flag" not in h and b"x-sluice-virus" not in h, h
    wait_for(lambda: mx.log().count("removed 2 internal trace header(s)")
             == len(splits), what="every copy stripped")


@pytest.fixture
def world(cluster):
    return World(cluster)


def test_msa_from_check_with_long_line_split_at_crlf(world):
    """The From: after a long header line split between CR and LF is
    still checked: alice cannot send as the CEO."""
    head = b"To: bob@example.test\r\n" + LONG
    cr = len(head)
    msg = head + b"\r\n" + FORGED + b"\r\nbody\r\n.\r\n"
    s = smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20)
    s.starttls(context=client_tls())
    s.login("alice@example.test", PW["alice@example.test"])
    for cuts in ([cr], [cr + 1], [cr, cr + 1]):
        code, text = data_split(s, "alice@example.test",
                                "bob@example.test", msg, cuts)
        assert code == 553 and b"ceo@bank.test" in text, (cuts, code)
    s.quit()
    assert messages(world.store, "bob@example.test") == []


def test_end_of_data_and_smuggling_under_splits(cluster):
    """<CRLF>.<CRLF> ends the data however it is cut; "\\n.\\r\\n" never
    does, and a bare LF or CR gets the message refused whatever the
    cut, with the smuggled command never run as one."""
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    ok = b"From: a@remote.test\r\nSubject: ok\r\n\r\nbody\r\n.\r\n"
    end = len(ok) - 5
    smuggle = (b"From: a@remote.test\r\nSubject: smuggle\r\n\r\nbody\n.\r\n"
               b"MAIL FROM:<x@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
               b"DATA\r\nSubject: smuggled\r\n\r\n.\r\n")
    lf = smuggle.index(b"\n.\r\n")
    bare_cr = smuggle.replace(b"body\n.", b"body\r.")
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=20) as s:
        s.ehlo("client.remote.test")
        for c in range(end, len(ok)):
            code, text = data_split(s, "a@remote.test",
                                    "alice@example.test", ok, [c])
            assert code == 250, (c, code, text)
        for data in (smuggle, bare_cr):
            for c in around(lf, 3):
                code, text = data_split(s, "a@remote.test",
                                        "alice@example.test", data, [c])
                assert code == 550 and b"5.6.0" in text, (c, code, text)
    got = wait_messages(st, "alice@example.test", len(ok) - end)
    time.sleep(0.3)
    assert len(messages(st, "alice@example.test")) == len(ok) - end
    assert b"smuggled" not in b"".join(got)
    assert messages(st, "bob@example.test") == []
