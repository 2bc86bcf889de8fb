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

from conftest import BUILD, Ctl, messages, wait_for, wait_messages


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
    st = cluster.store(extra={"directory_file": ctl.snap})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"directory_file": ctl.snap})
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


def test_disabled_and_expired_refused_at_lmtp(world):
    """The store itself refuses them too (a hop that skips mx's check),
    and a user disabled after the store started is refused within
    seconds."""
    ctl, mx, st = world
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.ehlo("mx.example.test")
        s.mail("someone@remote.test")
        for a in ("carol@example.test", "old@example.test"):
            code, text = s.rcpt(a)
            assert code == 550 and text.startswith(b"5.2.1"), (a, text)
        code, text = s.rcpt("nobody@example.test")
        assert code == 550 and text.startswith(b"5.1.1"), text
        assert s.rcpt("bob@example.test")[0] == 250
    ctl("user", "disable", "bob@example.test")

    def refused():
        with smtplib.LMTP("127.0.0.1", st.port) as s:
            s.ehlo("mx.example.test")
            s.mail("someone@remote.test")
            return s.rcpt("bob@example.test")[0] == 550
    wait_for(refused, 10, "the store to see bob disabled")
    assert "550 5.2.1 mailbox disabled" in st.log()


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


def test_removed_or_broken_snapshot_keeps_the_table(world):
    """A snapshot that disappears or is broken (a hand edit) is refused
    with one warning per version of the file (common/snapwatch.c); mx
    goes on with the table it has and takes the next good file."""
    ctl, mx, st = world
    with open(ctl.snap, "rb") as f:
        good = f.read()

    def sessions(seconds):
        # mx looks at the file at most once a second, on a session
        end = time.time() + seconds
        while time.time() < end:
            assert rcpt(mx, "alice@example.test")[0] == 250
            assert rcpt(mx, "nobody@example.test")[0] == 550
            time.sleep(0.3)

    os.unlink(ctl.snap)
    sessions(2.5)
    assert mx.log().count("directory not reloaded") == 1, mx.log()
    tmp = ctl.snap + ".tmp"
    with open(tmp, "wb") as f:
        f.write(good + b"not an address\n")
    os.rename(tmp, ctl.snap)
    sessions(2.5)
    assert mx.log().count("directory not reloaded") == 2, mx.log()
    assert "bad attribute" in mx.log()
    with open(tmp, "wb") as f:
        f.write(good + b"dave@example.test\n")
    os.rename(tmp, ctl.snap)
    wait_for(lambda: rcpt(mx, "dave@example.test")[0] == 250, 10,
             "mx to take the good file")


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
                 # in our domain a target must be a mailbox (remote
                 # targets: test_alias.py)
                 ("alias", "add", "x@example.test", "nobody@example.test"),
                 ("alias", "add", "x@example.test", ">remote@else.test"),
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
    st = cluster.store(extra={"directory_file": ctl.snap,
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


def auth_lines(path):
    with open(path) as f:
        return [l.rstrip("\n").split(" ") for l in f
                if l.strip() and not l.startswith("#")]


def scram_ok(secret, password):
    """Check a SCRAM-SHA-256 secret (RFC 5802) against password."""
    import base64
    import hashlib
    import hmac
    mech, rest = secret.split("$", 1)
    it, rest = rest.split(":", 1)
    salt, keys = rest.split("$")
    stored, server = keys.split(":")
    assert mech == "SCRAM-SHA-256" and int(it) >= 4096
    sp = hashlib.pbkdf2_hmac("sha256", password.encode(),
                             base64.b64decode(salt), int(it))
    ck = hmac.new(sp, b"Client Key", "sha256").digest()
    sk = hmac.new(sp, b"Server Key", "sha256").digest()
    return (base64.b64decode(stored) == hashlib.sha256(ck).digest() and
            base64.b64decode(server) == sk)


def test_credentials_snapshot(tmp_path):
    ctl = Ctl(str(tmp_path))
    auth = ctl.snap + ".auth"
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    ctl("user", "add", "bob@example.test", "--expires", "2031-02-03")
    ctl("user", "add", "nopass@example.test")
    ctl("user", "passwd", "alice@example.test", stdin="correct horse\n")
    ctl("user", "passwd", "bob@example.test", stdin="battery staple\n")
    st = os.stat(auth)
    assert st.st_mode & 0o777 == 0o600
    if os.geteuid() == 0:
        import pwd
        try:
            want = pwd.getpwnam("sluice").pw_uid
        except KeyError:
            want = 0
        assert st.st_uid == want
    text = open(auth).read()
    assert "correct" not in text and "horse" not in text
    assert "battery" not in text
    lines = {l[0]: l for l in auth_lines(auth)}
    assert sorted(lines) == ["alice@example.test", "bob@example.test"]
    a = lines["alice@example.test"]
    assert len(a) == 5 and a[1].startswith("$scrypt$15$8$1$")
    assert a[3:] == ["0", "1"]
    assert scram_ok(a[2], "correct horse")
    assert not scram_ok(a[2], "correct horsE")
    assert lines["bob@example.test"][3] == "1927843200"
    # every change exports, atomically, with the same mode
    ctl("user", "disable", "alice@example.test")
    assert {l[0]: l for l in auth_lines(auth)}[
        "alice@example.test"][4] == "0"
    assert os.stat(auth).st_mode & 0o777 == 0o600
    assert not [f for f in os.listdir(str(tmp_path)) if ".tmp." in f]
    ctl("user", "del", "bob@example.test")
    assert [l[0] for l in auth_lines(auth)] == ["alice@example.test"]
    # -a puts it elsewhere
    other = str(tmp_path / "elsewhere.auth")
    r = subprocess.run([os.path.join(BUILD, "sluicectl"), "-d", ctl.db,
                        "-s", ctl.snap, "-a", other, "user", "enable",
                        "alice@example.test"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert auth_lines(other)[0][4] == "1"


def test_old_directory_migrated(tmp_path):
    """A directory made before SCRAM secrets gets the column added."""
    ctl = Ctl(str(tmp_path))
    db = sqlite3.connect(ctl.db)
    db.executescript(
        "CREATE TABLE domains(name TEXT PRIMARY KEY);"
        "CREATE TABLE users(address TEXT PRIMARY KEY, domain TEXT NOT NULL,"
        " pwhash TEXT, quota INTEGER NOT NULL DEFAULT 0,"
        " expires INTEGER NOT NULL DEFAULT 0,"
        " enabled INTEGER NOT NULL DEFAULT 1);"
        "INSERT INTO domains VALUES('example.test');"
        "INSERT INTO users(address, domain, pwhash) VALUES("
        "'old@example.test', 'example.test', '$scrypt$15$8$1$"
        "c2FsdHNhbHRzYWx0c2FsdA==$"
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=');")
    db.commit()
    db.close()
    ctl("export")
    # a password set before SCRAM: exported with "-" for the secret
    assert auth_lines(ctl.snap + ".auth")[0][2] == "-"
    ctl("user", "passwd", "old@example.test", stdin="new one\n")
    cols = [r[1] for r in sqlite3.connect(ctl.db).execute(
        "PRAGMA table_info(users)")]
    assert "scram" in cols
    assert scram_ok(auth_lines(ctl.snap + ".auth")[0][2], "new one")
    # every column added since (store_dir_schema.h's DIR_ADDED) is there,
    # in the order a new directory has them, and the old row took the
    # defaults
    fresh = Ctl(str(tmp_path / "fresh"))
    os.makedirs(str(tmp_path / "fresh"))
    fresh("domain", "add", "example.test")

    def columns(path):
        db = sqlite3.connect(path)
        return {t: [r[1:] for r in db.execute("PRAGMA table_info(%s)" % t)]
                for (t,) in db.execute("SELECT name FROM sqlite_master "
                                       "WHERE type='table'")}
    new = columns(fresh.db)
    assert [c[0] for c in new["users"]] == [
        "address", "domain", "pwhash", "quota", "expires", "enabled",
        "scram", "kind", "first", "last"]
    assert columns(ctl.db) == new
    assert sqlite3.connect(ctl.db).execute(
        "SELECT kind, first, last FROM users").fetchall() == [
        ("personal", None, None)]
    ctl("user", "kind", "old@example.test", "role")
    assert sqlite3.connect(ctl.db).execute(
        "SELECT kind, first, last FROM users").fetchall() == [
        ("role", None, None)]
