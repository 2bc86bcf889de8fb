"""A real IMAP client fetches a whole mailbox from the store.

mbsync (Debian package isync) pulls alice's INBOX over implicit TLS into a
local Maildir, trusting the test's self-signed certificate explicitly
(CertificateFile; the certificate names "localhost"), and the messages it
wrote are compared byte for byte with the files in the store's Maildir
(mbsync writes LF line ends, so CRLF is turned into LF on our side); each
one ends with the message delivered over LMTP. Then a second run,
after more deliveries and a flag change, fetches only what is new.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import maildir

pytest.importorskip("test_imap")  # the IMAP server (branch imap)
from test_imap import PW, deliver, imap, ssl_login  # noqa: E402,F401

ALICE = "alice@example.test"
MBSYNC = shutil.which("mbsync")


def messages():
    """Messages of several shapes: plain, multipart, 8-bit, a large one,
    lines starting with dots and "From ", no final CRLF."""
    big = b"".join(b"line %06d " % i + b"x" * 60 + b"\r\n"
                   for i in range(20000))
    out = [
        b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
        b"Subject: plain\r\nMessage-ID: <c1@remote.test>\r\n\r\n"
        b"hello\r\n.\r\n..dots\r\nFrom the start\r\n",
        b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <c2@remote.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"Gr\xc3\xbc\xc3\x9fe\r\n"
        b"--zz\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n"
        b"--zz--\r\n",
        b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
        b"Subject: big\r\nMessage-ID: <c3@remote.test>\r\n\r\n" + big,
        b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
        b"Subject: empty body\r\nMessage-ID: <c4@remote.test>\r\n\r\n",
    ]
    return out


def write_config(path, st, local):
    with open(path, "w") as f:
        f.write("""IMAPAccount store
Host localhost
Port %d
User %s
Pass "%s"
SSLType IMAPS
CertificateFile %s
AuthMechs LOGIN
PipelineDepth 1

IMAPStore store-remote
Account store

MaildirStore store-local
Path %s/
Inbox %s/INBOX

Channel store
Far :store-remote:
Near :store-local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""" % (st.imaps_port, ALICE, PW[ALICE], st.cert_file, local, local))


def run_mbsync(conf):
    r = subprocess.run([MBSYNC, "-c", conf, "-a"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def fetched(local):
    """Contents of every message file mbsync wrote into INBOX, without
    the one X-TUID field mbsync adds at the end of the header (its own
    bookkeeping, isync(1) "X-TUID")."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(local, "INBOX", sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            head, sep, body = data.partition(b"\n\n")
            head, n = re.subn(rb"\nX-TUID: [^\n]*$", b"", head)
            assert n == 1, data[:500]
            out.append(head + sep + body)
    return out


def stored(st):
    """The files of alice's INBOX in the store's Maildir."""
    d = os.path.dirname(maildir(st, ALICE))
    out = []
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(d, sub)):
            with open(os.path.join(d, sub, name), "rb") as f:
                out.append(f.read())
    return out


@pytest.mark.skipif(MBSYNC is None, reason="mbsync (isync) not installed")
def test_mbsync_fetches_everything(imap, cluster, tmp_path):
    imap.cert_file = cluster.cert[0]
    sent = messages()
    for m in sent:
        deliver(imap, ALICE, m)
    local = str(tmp_path / "mail")
    os.makedirs(local)
    conf = str(tmp_path / "mbsyncrc")
    write_config(conf, imap, local)
    run_mbsync(conf)
    # byte for byte what the store holds (its trace fields included)
    want = sorted(m.replace(b"\r\n", b"\n") for m in stored(imap))
    got = sorted(fetched(local))
    assert len(got) == len(want) == len(sent)
    for g, w in zip(got, want):
        assert g == w, (g[:300], w[:300])
    # and each delivered message is the end of one of them
    for m in sent:
        lf = m.replace(b"\r\n", b"\n")
        assert len([g for g in got if g.endswith(b"\n" + lf)]) == 1, m[:80]
    # mbsync marks nothing; the store still has 4 messages, unseen
    m = ssl_login(imap)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"4"
    typ, data = m.search(None, "UNSEEN")
    assert len(data[0].split()) == 4
    m.store("1", "+FLAGS", "\\Flagged")
    m.logout()

    # an incremental run fetches only the new message
    extra = (b"From: dave@remote.test\r\nTo: alice@example.test\r\n"
             b"Subject: later\r\nMessage-ID: <c5@remote.test>\r\n\r\n"
             b"one more\r\n")
    deliver(imap, ALICE, extra)
    run_mbsync(conf)
    got = sorted(fetched(local))
    assert got == sorted(m.replace(b"\r\n", b"\n") for m in stored(imap))
    assert len(got) == 5
    assert [g for g in got if g.endswith(extra.replace(b"\r\n", b"\n"))]
    # the flag set on the server reached the local copy (Maildir "F")
    flagged = [n for n in os.listdir(os.path.join(local, "INBOX", "cur"))
               + os.listdir(os.path.join(local, "INBOX", "new"))
               if ":2," in n and "F" in n.split(":2,")[1]]
    assert len(flagged) == 1
