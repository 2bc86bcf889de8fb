"""A shared address (smith@ when two Smiths exist) takes mail, delivers it
to no one and answers the sender with an RFC 3834 notice listing the
official addresses: once per sender and address per day (kept across a
restart of the store), never to the null sender, to automatic, list or
bulk mail, or to spam. The notice leaves through the store's own queue to
its next hop, outmta, with the null sender (a receiver behind outmta
stands for the Internet).
Real clients: smtplib through mx, raw LMTP to the store.
"""
import os
import smtplib
import subprocess
import time

import pytest

from conftest import Ctl, Lmtp, free_port, lmtp_send, messages, wait_for
from receiver import Receiver

OFFICIAL = ["jane.smith@example.test", "john.smith@example.test"]


def smiths(cluster):
    """A directory where John and Jane Smith share smith@ and j.smith@."""
    ctl = Ctl(cluster.base)
    ctl("domain", "add", "example.test")
    for first in ("John", "Jane"):
        ctl("person", "add", "example.test", first, "Smith")
    subprocess.run(["chown", "-R", "sluice", cluster.base], check=True)
    return ctl


@pytest.fixture
def world(cluster):
    ctl = smiths(cluster)
    rport = free_port()
    recv = Receiver("127.0.0.1", rport, name="mx.remote.test")
    # the store's own mail leaves by outmta, as in make run; outmta's
    # smarthost stands for the Internet
    out = cluster.outmta(extra={"next_hop": "smtp:127.0.0.1:%d" % rport,
                                "retry_min": "1s"})
    qdir = os.path.join(cluster.base, "storeq")
    store = cluster.store(extra={
        "directory_file": ctl.snap,
        "next_hop": "smtp:127.0.0.1:%d" % out.port,
        "queue_dir": qdir, "retry_min": "1s", "retry_max": "2s",
        "autoreply_dir": os.path.join(cluster.base, "autoreply")})
    store.queue_dir = qdir
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % store.port],
                    {"directory_file": ctl.snap}, tls=False)
    w = type("World", (), {})()
    w.ctl, w.store, w.mx, w.recv, w.base = ctl, store, mx, recv, cluster.base
    yield w
    recv.stop()


def msg(subject="Hello", extra=""):
    return ("From: Carol <carol@remote.test>\r\nTo: smith@example.test\r\n"
            "Subject: %s\r\nMessage-ID: <m%f@remote.test>\r\n"
            "References: <older@remote.test>\r\n%s\r\nHi Smith.\r\n"
            % (subject, time.time(), extra)).encode()


def notices(w, n, timeout=15):
    return wait_for(lambda: len(w.recv.messages) >= n and w.recv.messages,
                    timeout, "%d notice(s)" % n)


def test_notice_through_mx_once_per_day(world):
    w = world
    assert "=smith@example.test: " + ", ".join(OFFICIAL) in \
        open(w.ctl.snap).read()
    m = msg("Lunch?")
    with smtplib.SMTP("127.0.0.1", w.mx.port, timeout=10) as s:
        s.ehlo("client.remote.test")
        s.sendmail("carol@remote.test", ["smith@example.test"], m)
    got = notices(w, 1)
    frm, rcpts, data = got[0]
    text = data.decode()
    assert frm == b"<>" and rcpts == [b"<carol@remote.test>"], (frm, rcpts)
    head, body = text.split("\r\n\r\n", 1)
    assert "\r\nAuto-Submitted: auto-replied\r\n" in head + "\r\n"
    mid = [l for l in m.decode().split("\r\n")
           if l.startswith("Message-ID:")][0].split(" ", 1)[1]
    assert "In-Reply-To: %s" % mid in head
    assert "References: <older@remote.test> %s" % mid in head
    assert "Subject: Auto: Lunch?" in head
    assert "From: <smith@example.test>" in head
    for a in OFFICIAL:
        assert "  %s\r\n" % a in body
    # delivered to no one
    for a in OFFICIAL:
        assert messages(w.store, a) == []
    # the same sender again: no second notice, today or after a restart
    for restart in (False, True):
        if restart:
            w.store.stop()
            w.store.start()
        r = lmtp_send(w.store.port, ["smith@example.test"], msg(),
                      sender="carol@remote.test")
        assert r[0][0] == 250 and "shared address" in r[0][1], r
    assert w.store.log().count("no notice: sender told today already") == 2
    # another sender, another address: told
    r = lmtp_send(w.store.port, ["j.smith@example.test",
                                 "john.smith@example.test"], msg(),
                  sender="dave@remote.test")
    assert [c for c, _ in r] == [250, 250], r
    got = notices(w, 2)
    assert got[1][0] == b"<>" and got[1][1] == [b"<dave@remote.test>"]
    assert "<j.smith@example.test>" in got[1][2].decode()
    assert len(messages(w.store, "john.smith@example.test")) == 1
    time.sleep(1)
    assert len(w.recv.messages) == 2


NO_NOTICE = [
    ("", "", "null_sender"),
    ("carol@remote.test", "Auto-Submitted: auto-generated\r\n",
     "auto_submitted"),
    ("carol@remote.test", "Auto-Submitted: auto-replied; owner=x\r\n",
     "auto_submitted"),
    ("carol@remote.test", "List-Id: <talk.remote.test>\r\n", "list"),
    ("carol@remote.test", "Precedence: bulk\r\n", "list"),
    ("carol@remote.test", "Precedence: junk\r\n", "list"),
    ("carol@remote.test", "Precedence: list\r\n", "list"),
    ("owner-talk@remote.test", "", "list_sender"),
    ("talk-request@remote.test", "", "list_sender"),
    ("MAILER-DAEMON@remote.test", "", "list_sender"),
    ("carol@remote.test", "X-Spam-Flag: YES\r\n", "spam"),
]


def test_no_notice(world):
    w = world
    for i, (sender, extra, why) in enumerate(NO_NOTICE):
        r = lmtp_send(w.store.port, ["smith@example.test"],
                      msg(extra=extra), sender=sender)
        assert r[0][0] == 250, r
        said = [l for l in w.store.log().splitlines()
                if "shared address, no notice: " in l]
        assert len(said) == i + 1 and said[-1].endswith(
            "no notice: " + why), (sender, why, said[-1:])
    # Auto-Submitted: no is a person's mail: told (the control)
    r = lmtp_send(w.store.port, ["smith@example.test"],
                  msg(extra="Auto-Submitted: no\r\nPrecedence: first-class"
                      "\r\n"), sender="erin@remote.test")
    got = notices(w, 1)
    time.sleep(0.5)
    assert len(w.recv.messages) == 1 and got[0][1] == [b"<erin@remote.test>"]


def test_without_next_hop_refused_naming_them(cluster):
    ctl = smiths(cluster)
    store = cluster.store(extra={"directory_file": ctl.snap})
    c = Lmtp(store.port)
    try:
        assert c.cmd("MAIL FROM:<carol@remote.test>")[0] == 250
        code, text = c.cmd("RCPT TO:<smith@example.test>")
    finally:
        c.close()
    assert code == 550 and "shared" in text, (code, text)
    assert ", ".join(OFFICIAL) in text
