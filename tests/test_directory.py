"""The user directory: sluicectl (SQLite) -> snapshot -> mx and store.

mx refuses unknown recipients at RCPT time (no backscatter) and picks up
a user added with sluicectl within seconds, without a restart; aliases
and lists expand at the store; disabled and expired users get 550 5.2.1.
"""
import os
import smtplib
import sqlite3
import subprocess
import time

import pytest

from conftest import BUILD, messages, wait_for, wait_messages


class Ctl:
    def __init__(self, d):
        self.db = os.path.join(d, "directory.db")
        self.snap = os.path.join(d, "snapshot")

    def __call__(self, *args, stdin=None, ok=True):
        r = subprocess.run([os.path.join(BUILD, "sluicectl"), "-d",
                            self.db, "-s", self.snap, *args],
                           input=stdin, capture_output=True, text=True)
        if ok:
            assert r.returncode == 0, r.stderr
        return r


@pytest.fixture
def world(cluster):
    d = os.path.join(cluster.base, "dir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test", "--quota", "50m")
    ctl("user", "add", "bob@example.test")
    ctl("user", "add", "old@example.test", "--expires", "2020-01-01")
    ctl("user", "add", "carol@example.test")
    ctl("user", "disable", "carol@example.test")
    ctl("alias", "add", "postmaster@example.test", "alice@example.test")
    ctl("list", "add", "team@example.test", "alice@example.test",
        "bob@example.test", "carol@example.test")
    os.chmod(ctl.snap, 0o644)
    st = cluster.store(extra={"users_file": ctl.snap})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"recipients": ctl.snap})
    return ctl, mx, st


def rcpt(mx, addr):
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        s.mail("someone@remote.test")
        return s.rcpt(addr)


def test_unknown_recipient_refused_at_rcpt(world):
    ctl, mx, st = world
    code, text = rcpt(mx, "nobody@example.test")
    assert code == 550 and text.startswith(b"5.1.1")
    assert rcpt(mx, "alice@example.test")[0] == 250
    assert "550 5.1.1 <nobody@example.test>: user unknown" in mx.log()


def test_disabled_and_expired_refused(world):
    ctl, mx, st = world
    for a in ("carol@example.test", "old@example.test"):
        code, text = rcpt(mx, a)
        assert code == 550 and text.startswith(b"5.2.1"), a


def test_new_user_without_restart(world):
    ctl, mx, st = world
    assert rcpt(mx, "dave@example.test")[0] == 550
    ctl("user", "add", "dave@example.test")
    wait_for(lambda: rcpt(mx, "dave@example.test")[0] == 250, 10,
             "mx to see the new user")
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("someone@remote.test", ["dave@example.test"],
                   b"Subject: welcome\r\n\r\nhi dave\r\n")
    wait_messages(st, "dave@example.test", 1)


def test_alias_and_list_expand_at_store(world):
    ctl, mx, st = world
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("someone@remote.test",
                   ["postmaster@example.test", "team@example.test"],
                   b"Subject: to the team\r\n\r\nhello\r\n")
    wait_messages(st, "alice@example.test", 2)
    wait_messages(st, "bob@example.test", 1)
    time.sleep(0.5)
    assert messages(st, "carol@example.test") == []  # disabled member


def test_password_hashed_never_in_argv(world):
    ctl, mx, st = world
    ctl("user", "passwd", "alice@example.test", stdin="correct horse\n")
    db = sqlite3.connect(ctl.db)
    h = db.execute("SELECT pwhash FROM users WHERE address=?",
                   ("alice@example.test",)).fetchone()[0]
    assert h.startswith("$scrypt$15$8$1$") and "correct" not in h
    r = ctl("user", "passwd", "alice@example.test", "extra", ok=False)
    assert r.returncode != 0  # no password on the command line


def test_bad_input_refused(world):
    ctl, mx, st = world
    for args in (("user", "add", "x@nosuch.test"),
                 ("user", "add", "bad,addr@example.test"),
                 ("user", "add", "a\nb@example.test"),
                 ("alias", "add", "x@example.test", "remote@else.test"),
                 ("user", "add", "alice@example.test")):
        assert ctl(*args, ok=False).returncode == 1, args


def lmtp_send(st, rcpts, size):
    body = b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * (size // 1000)
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        try:
            s.sendmail("someone@remote.test", rcpts, body)
            return {}
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients
        except smtplib.SMTPDataError as e:
            return {"data": (e.smtp_code, e.smtp_error)}


@pytest.mark.parametrize("permanent", [False, True])
def test_quota_enforced_at_delivery(cluster, permanent):
    d = os.path.join(cluster.base, "qdir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "small@example.test", "--quota", "20k")
    ctl("user", "add", "big@example.test")
    os.chmod(ctl.snap, 0o644)
    st = cluster.store(extra={"users_file": ctl.snap,
                              "quota_permanent": "yes" if permanent
                              else "no"})
    assert lmtp_send(st, ["small@example.test"], 10000) == {}
    # LMTP: one reply per recipient; the full mailbox alone is refused
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.ehlo("mx.example.test")
        s.mail("someone@remote.test")
        s.rcpt("small@example.test")
        s.rcpt("big@example.test")
        s.putcmd("data")
        assert s.getreply()[0] == 354
        s.send(b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 15 +
               b".\r\n")
        r1, r2 = s.getreply(), s.getreply()
    want = (552, b"5.2.2") if permanent else (452, b"4.2.2")
    assert (r1[0], r1[1][:5]) == want, r1
    assert r2[0] == 250
    assert len(messages(st, "small@example.test")) == 1
    assert len(messages(st, "big@example.test")) == 1
