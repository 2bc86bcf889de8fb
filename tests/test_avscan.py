"""avscan (stage C): antivirus over LMTP with libclamav.

A real sluice-avscan between an LMTP client (this test, playing mx) and a
real sluice-store, or a real sluice-outmta where the envelope and its
claims must be read back (sluice-queue show). Signatures: the test
database in tests/data/clamav (EICAR and clam.exe by hash, EICAR as text).
"""
import base64
import os
import socket
import subprocess

import pytest

from conftest import BUILD, ROOT, Daemon, free_port, messages, \
    queue_tool, wait_for, wait_messages, write_conf

CLAMDB = os.path.join(ROOT, "tests", "data", "clamav")
TESTFILES = "/usr/share/clamav-testfiles"
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-"
         b"FILE!$H+H*")
ALICE = "alice@example.test"
BOB = "bob@example.test"


def avscan(cluster, hops, extra=None, milter=False, start=True):
    """An avscan on free ports; extra: more config keys."""
    d = cluster._dir("avscan")
    port, mport = free_port(), free_port()
    conf = {"listen": "127.0.0.1:%d" % port,
            "milter_listen": "127.0.0.1:%d" % mport,
            "hostname": "av.example.test",
            "next_hop": ", ".join(hops),
            "clamav_database": CLAMDB,
            "queue_dir": os.path.join(d, "queue"),
            "quarantine_dir": os.path.join(d, "quarantine"),
            "user": "sluice", "retry_min": "1s", "retry_max": "2s",
            "hop_down_time": "1s"}
    conf.update(extra or {})
    path = os.path.join(d, "avscan.conf")
    write_conf(path, conf)
    dm = Daemon("avscan", os.path.join(BUILD, "sluice-avscan"), path, d,
                mport if milter else port)
    if milter:
        dm.args = ["-m"]
    dm.queue_dir = conf["queue_dir"]
    dm.quarantine_dir = conf["quarantine_dir"]
    dm.milter_port = mport
    cluster.daemons.append(dm)
    return dm.start() if start else dm


class Lmtp:
    """A raw LMTP client (RFC 2033): one reply per recipient after DATA,
    which smtplib.LMTP does not read."""

    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout)
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()
        if self.greeting[0] == 220:
            self.cmd("LHLO mx.example.test")

    def reply(self):
        text = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed")
            text.append(line[4:].rstrip(b"\r\n").decode())
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text)

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()

    def send(self, sender, rcpts, msg, params=""):
        """The per-recipient replies to one message (list of (code,
        text)); a refused MAIL or RCPT is returned in place."""
        r = self.cmd("MAIL FROM:<%s>%s" % (sender, params))
        if r[0] != 250:
            return [r]
        ok = 0
        out = []
        for rc in rcpts:
            r = self.cmd("RCPT TO:<%s>" % rc)
            if r[0] == 250:
                ok += 1
            else:
                out.append(r)
        if ok == 0:
            self.cmd("RSET")
            return out
        r = self.cmd("DATA")
        assert r[0] == 354, r
        body = msg.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.s.sendall(body + b".\r\n")
        return out + [self.reply() for _ in range(ok)]

    def close(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.s.close()


def lmtp_send(port, rcpts, msg, sender="carol@remote.test", params=""):
    c = Lmtp(port)
    try:
        return c.send(sender, rcpts, msg, params)
    finally:
        c.close()


def mime_attachment(name, data, subject="attached"):
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: " + subject.encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
            b"--=b=\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            b"--=b=\r\nContent-Type: application/octet-stream; name=\"" +
            name.encode() + b"\"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" +
            name.encode() + b"\"\r\n\r\n" + b64 + b"--=b=--\r\n")


CLEAN = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
         b"Subject: clean\r\nMessage-ID: <clean1@remote.test>\r\n\r\n"
         b"Hello Alice,\r\n.leading dot\r\n\r\ntrailing spaces  \r\n")


def split_added(delivered, original):
    """The header lines added in front of original in delivered."""
    assert delivered.endswith(original), delivered[:600]
    return delivered[:len(delivered) - len(original)]


def quarantined(av):
    d = av.quarantine_dir
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


@pytest.fixture
def pipe(cluster):
    """store <- avscan (quarantine)."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    return st, av


def test_clean_mail_passes_byte_exact(pipe):
    st, av = pipe
    r = lmtp_send(av.port, [ALICE, BOB], CLEAN)
    assert [c for c, _ in r] == [250, 250], r
    for rcpt in (ALICE, BOB):
        got = wait_messages(st, rcpt, 1)[0]
        added = split_added(got, CLEAN)
        assert b"X-Sluice-Virus: clean (ClamAV 1." in added, added
        assert b"by av.example.test (Sluice) with LMTP" in added or \
            b"by av.example.test (Sluice) with" in added, added
    assert "clean, size=" in av.log()


def test_eicar_plain_quarantined(pipe):
    st, av = pipe
    msg = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
           b"Subject: eicar\r\n\r\n" + EICAR + b"\r\n")
    r = lmtp_send(av.port, [ALICE, BOB], msg)
    assert [c for c, _ in r] == [250, 250], r
    assert all("quarantined" in t for _, t in r), r
    files = quarantined(av)
    assert len(files) == 1
    assert files[0] in r[0][1]
    with open(os.path.join(av.quarantine_dir, files[0]), "rb") as f:
        q = f.read()
    assert q.endswith(msg)
    assert b"X-Sluice-Quarantine: virus=Sluice.Test.EICAR" in q
    assert b"X-Sluice-Quarantine-From: <carol@remote.test>" in q
    assert b"X-Sluice-Quarantine-To: <bob@example.test>" in q
    log = av.log()
    assert "virus=Sluice.Test.EICAR" in log
    assert "from=<carol@remote.test>, to=<alice@example.test>" in log
    assert "client=[127.0.0.1]" in log
    # nothing reached the store, and nothing waits in avscan's queue
    lmtp_send(av.port, [ALICE], CLEAN)
    wait_messages(st, ALICE, 1)
    assert len(messages(st, ALICE)) == 1 and messages(st, BOB) == []
    assert b"EICAR" not in messages(st, ALICE)[0]


def test_eicar_base64_attachment_quarantined(pipe):
    st, av = pipe
    r = lmtp_send(av.port, [ALICE], mime_attachment("eicar.com", EICAR))
    assert r[0][0] == 250 and "quarantined" in r[0][1], r
    assert len(quarantined(av)) == 1
    assert "virus=Sluice.Test.EICAR" in av.log()
    assert messages(st, ALICE) == []
