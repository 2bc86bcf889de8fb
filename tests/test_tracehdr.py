"""Internal trace headers (common/tracehdr.h): mx strips forged ones from
outside mail, and the store files spamd's X-Spam-Flag: YES into Junk,
which IMAP then shows."""
import os
import smtplib
import subprocess

import pytest

from conftest import BUILD, free_port, messages, wait_for, wait_messages
from test_imap import imap, ssl_login  # noqa: F401 (a fixture)

FORGED = (b"From: someone@remote.test\r\nTo: alice@example.test\r\n"
          b"X-Spam-Flag: YES\r\nX-Spam-Status: No, score=-100\r\n"
          b"X-Sluice-Virus: clean (forged)\r\n"
          b"x-spam-score:\r\n -100\r\n"
          b"Subject: forged verdicts\r\n\r\n"
          b"X-Spam-Flag: YES in the body stays\r\n")


def junk(store, rcpt):
    local, domain = rcpt.split("@")
    d = os.path.join(store.mail_root, domain, local, "Maildir", ".Junk",
                     "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def lmtp_send(port, msg, rcpt="alice@example.test"):
    with smtplib.LMTP("127.0.0.1", port) as c:
        c.sendmail("sender@remote.test", [rcpt], msg)


def test_mx_strips_forged_trace_headers(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    with smtplib.SMTP("127.0.0.1", mx.port) as c:
        c.sendmail("someone@remote.test", ["alice@example.test"], FORGED)
    got = wait_messages(st, "alice@example.test", 1)[0]
    head, body = got.split(b"\r\n\r\n", 1)
    assert b"x-spam" not in head.lower()
    assert b"x-sluice" not in head.lower()
    assert b"Subject: forged verdicts" in head
    assert body == b"X-Spam-Flag: YES in the body stays\r\n"
    assert junk(st, "alice@example.test") == []
    wait_for(lambda: "removed 4 internal trace header(s)" in mx.log(),
             what="strip logged")


def test_store_files_spam_into_junk(imap):
    st = imap
    spam = (b"From: a@remote.test\r\nX-Spam-Flag: YES\r\n"
            b"Subject: cheap\r\n\r\nbuy\r\n")
    # before the first login (LMTP makes the folder) and after it
    lmtp_send(st.port, spam)
    lmtp_send(st.port, spam.replace(b"YES", b"NO"))
    wait_for(lambda: len(junk(st, "alice@example.test")) == 1,
             what="one message in Junk")
    assert len(messages(st, "alice@example.test")) == 1
    assert "spam: filed into Junk" in st.log()
    m = ssl_login(st)
    try:
        typ, data = m.list()
        junk_line = [x for x in data if x.endswith(b'"Junk"') or
                     x.endswith(b" Junk")]
        assert junk_line and b"\\Junk" in junk_line[0]
        lmtp_send(st.port, spam.replace(b"cheap", b"second"))
        typ, data = m.select("Junk")
        assert typ == "OK" and data == [b"2"]
        typ, data = m.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects = b"".join(x[1] for x in data if isinstance(x, tuple))
        assert b"cheap" in subjects and b"second" in subjects
        typ, data = m.select("INBOX")
        assert data == [b"1"]
    finally:
        m.logout()


def test_spam_folder_empty_keeps_inbox(cluster):
    st = cluster.store(extra={"spam_folder": ""})
    lmtp_send(st.port, b"X-Spam-Flag: YES\r\nSubject: s\r\n\r\nb\r\n")
    wait_messages(st, "alice@example.test", 1)
    assert junk(st, "alice@example.test") == []


@pytest.mark.parametrize("name", ["../etc", "INBOX", "a.b", "a/b"])
def test_spam_folder_must_be_a_folder_name(tmp_path, name):
    conf = tmp_path / "store.conf"
    conf.write_text("lmtp_listen = 127.0.0.1:%d\nspam_folder = %s\n"
                    "imap_listen =\nimaps_listen =\npop3_listen =\n"
                    "pop3s_listen =\nmail_root = %s\n"
                    % (free_port(), name, tmp_path / "mail"))
    r = subprocess.run([os.path.join(BUILD, "sluice-store"), "-c",
                        str(conf), "-f"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0
    assert "spam_folder: not a folder name" in r.stderr
