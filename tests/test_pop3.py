"""POP3 at the store (RFC 1939, 2449, 2595, 5034) with real clients.

Python's poplib over STLS (port pop3_listen) and implicit TLS
(pop3s_listen) against messages delivered over LMTP; SASL PLAIN, LOGIN and
SCRAM-SHA-256 over a raw TLS socket (the SCRAM proof computed here with
hashlib and hmac); wrong passwords, lockout, and hostile input.
"""
import base64
import hashlib
import hmac
import os
import poplib
import smtplib
import socket
import time

import pytest

from conftest import client_tls, free_port, sluicectl, wait_for

PASSWORDS = {"alice@example.test": "alice secret 1",
             "bob@example.test": "bob-secret-2",
             "carol@example.test": "carol-secret-3"}


class Pop:
    """The store with POP3 listeners and a directory made by sluicectl."""

    def __init__(self, cluster, extra=None):
        d = os.path.join(cluster.base, "pop3dir")
        os.makedirs(d)
        os.chmod(d, 0o755)
        self.db = os.path.join(d, "directory.db")
        self.snap = os.path.join(d, "users")
        self.ctl("domain", "add", "example.test")
        for a, pw in PASSWORDS.items():
            self.ctl("user", "add", a)
            self.ctl("user", "passwd", a, stdin=pw + "\n")
        os.chmod(self.snap, 0o644)
        self.port, self.sport = free_port(), free_port()
        conf = {"directory_file": self.snap,
                "credentials_file": self.snap + ".auth",
                "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
                "pop3_listen": "127.0.0.1:%d" % self.port,
                "pop3s_listen": "127.0.0.1:%d" % self.sport,
                "auth_fail_max": "4"}
        conf.update(extra or {})
        self.st = cluster.store(extra=conf)
        wait_for(lambda: "POP3 on" in self.st.log(), 10, "POP3 listeners")

    def ctl(self, *args, stdin=None):
        sluicectl(self.db, self.snap, *args, stdin=stdin)

    def deliver(self, rcpt, body):
        with smtplib.LMTP("127.0.0.1", self.st.port) as s:
            s.sendmail("sender@remote.test", [rcpt], body)

    def stls(self, user=None):
        p = poplib.POP3("127.0.0.1", self.port, timeout=20)
        p.stls(client_tls())
        if user:
            p.user(user)
            p.pass_(PASSWORDS[user])
        return p

    def pop3s(self, user=None):
        p = poplib.POP3_SSL("127.0.0.1", self.sport, context=client_tls(),
                            timeout=20)
        if user:
            p.user(user)
            p.pass_(PASSWORDS[user])
        return p


class Raw:
    """A line-level POP3 client over plain TCP, then TLS (STLS or POP3S)."""

    def __init__(self, port, implicit=False, tls=True, source="127.0.0.1"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20,
                                          source_address=(source, 0))
        if implicit:
            self.s = client_tls().wrap_socket(self.s)
        self.f = self.s.makefile("rb")
        assert self.line().startswith(b"+OK")
        if tls and not implicit:
            assert self.cmd(b"STLS").startswith(b"+OK")
            self.s = client_tls().wrap_socket(self.s)
            self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        return self.f.readline(65536).rstrip(b"\r\n")

    def cmd(self, c):
        self.send(c + b"\r\n")
        return self.line()

    def multi(self):
        out = []
        while True:
            l = self.line()
            if l == b".":
                return out
            out.append(l)

    def close(self):
        self.f.close()
        self.s.close()


@pytest.fixture
def pop(cluster):
    return Pop(cluster)


MSGS = [
    b"From: a@remote.test\r\nSubject: first\r\n\r\nline one\r\nline two\r\n"
    b"line three\r\n",
    b"From: b@remote.test\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\n"
    b".\r\nend\r\n",
    b"From: c@remote.test\r\nSubject: third\r\n\r\n" +
    b"".join(b"body line %d\r\n" % i for i in range(200)),
]


def body_of(lines):
    """poplib's RETR lines, without the store's trace headers."""
    text = b"\r\n".join(lines) + b"\r\n"
    return text[text.index(b"From: "):]


def test_transaction_over_stls(pop):
    for m in MSGS:
        pop.deliver("alice@example.test", m)
    p = pop.stls("alice@example.test")
    n, size = p.stat()
    assert n == 3
    resp, listing, _ = p.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sum(sizes) == size and len(sizes) == 3
    assert p.list(2).split()[2] == str(sizes[1]).encode()
    resp, uidl, _ = p.uidl()
    uids = [l.split()[1] for l in uidl]
    assert len(set(uids)) == 3
    # RETR: exact bytes back, byte-stuffing undone by the client
    for i, m in enumerate(MSGS, 1):
        resp, lines, octets = p.retr(i)
        assert resp.startswith(b"+OK")
        assert body_of(lines) == m
    # TOP: headers, blank line, n body lines
    resp, lines, _ = p.top(3, 2)
    assert lines[-3:] == [b"", b"body line 0", b"body line 1"]
    resp, lines, _ = p.top(1, 0)
    assert lines[-1] == b"" and b"Subject: first" in lines
    # DELE, RSET, DELE again; deleted messages vanish from the listings
    p.dele(1)
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    p.rset()
    assert p.stat()[0] == 3
    p.dele(2)
    assert p.noop().startswith(b"+OK")
    assert b"1 message deleted" in p.quit()
    # a new session: message 2 is gone, UIDs of the others unchanged
    p = pop.pop3s("alice@example.test")
    resp, uidl, _ = p.uidl()
    assert [l.split()[1] for l in uidl] == [uids[0], uids[2]]
    assert p.uidl(2).split()[2] == uids[2]
    assert body_of(p.retr(2)[1]) == MSGS[2]
    p.quit()
    log = pop.st.log()
    assert "pop3 logout: user=alice@example.test, messages=3, deleted=1" \
        in log
    # RETR marked the two that are left \Seen (for IMAP clients)
    cur = os.path.join(pop.st.mail_root, "example.test", "alice",
                       "Maildir", "cur")
    assert sorted(f.rsplit(":2,", 1)[1] for f in os.listdir(cur)) == \
        ["S", "S"]


def test_deletions_need_quit(pop):
    pop.deliver("bob@example.test", MSGS[0])
    p = pop.stls("bob@example.test")
    p.dele(1)
    p.close()  # no QUIT: no UPDATE state
    wait_for(lambda: "pop3 disconnect" in pop.st.log(), 10, "disconnect")
    p = pop.pop3s("bob@example.test")
    assert p.stat()[0] == 1
    p.quit()


def test_capabilities_and_clear_text_refused(pop):
    p = poplib.POP3("127.0.0.1", pop.port, timeout=20)
    caps = p.capa()
    assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
    assert "UIDL" in caps and "TOP" in caps and "RESP-CODES" in caps
    with pytest.raises(poplib.error_proto) as e:
        p.user("alice@example.test")
    assert b"[AUTH]" in e.value.args[0]
    with pytest.raises(poplib.error_proto):
        p.pass_(PASSWORDS["alice@example.test"])
    p.stls(client_tls())
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps
    assert set(caps["SASL"]) == {"PLAIN", "LOGIN", "SCRAM-SHA-256"}
    p.quit()
    r = Raw(pop.port, tls=False)
    assert r.cmd(b"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB4").startswith(
        b"-ERR [AUTH]")
    assert r.cmd(b"STAT").startswith(b"-ERR")
    r.close()


def test_wrong_password_delayed_and_locked(pop):
    p = pop.pop3s()
    p.user("alice@example.test")
    t = time.monotonic()
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("wrong")
    assert e.value.args[0].startswith(b"-ERR [AUTH]")
    assert time.monotonic() - t >= 0.4  # the first failure's delay
    with pytest.raises(poplib.error_proto):
        p.pass_("x")  # PASS without USER
    p.quit()
    # unknown user and disabled user look the same
    p = pop.pop3s()
    p.user("nobody@example.test")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("whatever")
    assert b"[AUTH]" in e.value.args[0]
    p.quit()
    # auth_fail_max = 4 per client address: now locked out, even with the
    # right password
    p = pop.pop3s()
    p.user("bob@example.test")
    with pytest.raises(poplib.error_proto):
        p.pass_("bad")
    p.user("bob@example.test")
    with pytest.raises(poplib.error_proto):
        p.pass_("bad again")
    p.user("bob@example.test")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(PASSWORDS["bob@example.test"])
    assert b"Too many failed logins" in e.value.args[0]
    p.quit()
    log = pop.st.log()
    assert "pop3 login failed: client=[127.0.0.1], user=alice@example.test" \
        in log
    assert "wrong" not in log and "bad again" not in log
    assert PASSWORDS["bob@example.test"] not in log


def test_sasl_failures_count_per_user(pop):
    """Failures with AUTH count against the user too, whatever the
    client address: spread over addresses they still lock the user."""
    user = b"bob@example.test"
    bad = b64(b"\0" + user + b"\0wrong")
    for src in ("127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"):
        r = Raw(pop.sport, implicit=True, source=src)
        assert r.cmd(b"AUTH PLAIN " + bad).startswith(b"-ERR [AUTH]")
        r.close()
    r = Raw(pop.sport, implicit=True, source="127.0.0.4")
    good = b64(b"\0" + user + b"\0" +
               PASSWORDS["bob@example.test"].encode())
    assert r.cmd(b"AUTH PLAIN " + good).startswith(b"-ERR [SYS/TEMP]")
    ok = b64(b"\0alice@example.test\0" +
             PASSWORDS["alice@example.test"].encode())
    assert r.cmd(b"AUTH PLAIN " + ok).startswith(b"+OK")
    r.close()
    assert "user=bob@example.test, method=PLAIN" in pop.st.log()


def test_disabled_user_cannot_log_in(pop):
    p = pop.pop3s("carol@example.test")
    p.quit()
    pop.ctl("user", "disable", "carol@example.test")
    time.sleep(1.2)  # the credentials are re-read at most once a second
    p = pop.pop3s()
    p.user("carol@example.test")
    with pytest.raises(poplib.error_proto):
        p.pass_(PASSWORDS["carol@example.test"])
    p.quit()


def test_maildrop_locked(pop):
    a = pop.stls("alice@example.test")
    b = pop.pop3s()
    b.user("alice@example.test")
    with pytest.raises(poplib.error_proto) as e:
        b.pass_(PASSWORDS["alice@example.test"])
    assert b"[IN-USE]" in e.value.args[0]
    a.quit()
    b.user("alice@example.test")
    assert b.pass_(PASSWORDS["alice@example.test"]).startswith(b"+OK")
    b.quit()


def b64(data):
    return base64.b64encode(data)


def test_auth_plain_and_login(pop):
    pop.deliver("alice@example.test", MSGS[0])
    user, pw = "alice@example.test", PASSWORDS["alice@example.test"]
    r = Raw(pop.sport, implicit=True)
    ir = b64(b"\0" + user.encode() + b"\0" + pw.encode())
    assert r.cmd(b"AUTH PLAIN " + ir).startswith(b"+OK")
    assert r.cmd(b"STAT").startswith(b"+OK 1 ")
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()
    # PLAIN without an initial response: empty challenge first
    r = Raw(pop.port)
    assert r.cmd(b"AUTH PLAIN") == b"+ "
    assert r.cmd(ir).startswith(b"+OK")
    r.close()
    wait_for(lambda: pop.st.log().count("pop3 disconnect") >= 2, 10,
             "disconnects")
    # LOGIN
    r = Raw(pop.port)
    assert r.cmd(b"AUTH LOGIN") == b"+ " + b64(b"Username:")
    assert r.cmd(b64(user.encode())) == b"+ " + b64(b"Password:")
    assert r.cmd(b64(pw.encode())).startswith(b"+OK")
    r.close()
    # the RFC 1734 listing
    r = Raw(pop.port)
    assert r.cmd(b"AUTH") == b"+OK Mechanisms follow"
    assert set(r.multi()) == {b"PLAIN", b"LOGIN", b"SCRAM-SHA-256"}
    # wrong password, cancel, bad Base64, unknown mechanism
    bad = b64(b"\0" + user.encode() + b"\0nope")
    assert r.cmd(b"AUTH PLAIN " + bad).startswith(b"-ERR [AUTH]")
    assert r.cmd(b"AUTH LOGIN").startswith(b"+ ")
    assert r.cmd(b"*").startswith(b"-ERR")
    assert r.cmd(b"AUTH PLAIN %%%").startswith(b"-ERR")
    assert r.cmd(b"AUTH CRAM-MD5").startswith(b"-ERR")
    assert r.cmd(b"AUTH X" * 30).startswith(b"-ERR")
    assert r.cmd(b"NOOP").startswith(b"-ERR")  # still not logged in
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()


def scram(r, user, pw, initial=True):
    """RFC 5802 client; returns the server's last line."""
    nonce = b64(os.urandom(18))
    bare = b"n=" + user.encode() + b",r=" + nonce
    if initial:
        line = r.cmd(b"AUTH SCRAM-SHA-256 " + b64(b"n,," + bare))
    else:
        assert r.cmd(b"AUTH SCRAM-SHA-256") == b"+ "
        line = r.cmd(b64(b"n,," + bare))
    if not line.startswith(b"+ "):
        return line
    first = base64.b64decode(line[2:])
    at = dict(kv.split(b"=", 1) for kv in first.split(b","))
    assert at[b"r"].startswith(nonce) and int(at[b"i"]) >= 4096
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(),
                                 base64.b64decode(at[b"s"]), int(at[b"i"]))
    ck = hmac.new(salted, b"Client Key", "sha256").digest()
    sk = hashlib.sha256(ck).digest()
    final = b"c=biws,r=" + at[b"r"]
    auth = bare + b"," + first + b"," + final
    sig = hmac.new(sk, auth, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    line = r.cmd(b64(final + b",p=" + b64(proof)))
    if not line.startswith(b"+ "):
        return line
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    want = b"v=" + b64(hmac.new(server_key, auth, "sha256").digest())
    assert base64.b64decode(line[2:]) == want  # the server knows it too
    return r.cmd(b"")


def test_auth_scram_sha_256(pop):
    pop.deliver("bob@example.test", MSGS[1])
    r = Raw(pop.port)
    assert scram(r, "bob@example.test", PASSWORDS["bob@example.test"]) \
        .startswith(b"+OK")
    assert r.cmd(b"RETR 1").startswith(b"+OK")
    assert body_of(r.multi()) == MSGS[1].replace(b"\r\n.", b"\r\n..")
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()
    r = Raw(pop.sport, implicit=True)
    assert scram(r, "bob@example.test", "not it").startswith(b"-ERR [AUTH]")
    assert scram(r, "bob@example.test", PASSWORDS["bob@example.test"],
                 initial=False).startswith(b"+OK")
    r.close()
    assert "method=SCRAM-SHA-256" in pop.st.log()


def test_hostile_input(pop):
    pop.deliver("alice@example.test", MSGS[0])
    r = Raw(pop.port, tls=False)
    # an over-long line is answered once and skipped; the session goes on
    assert r.cmd(b"NOOP " + b"x" * 300).startswith(b"-ERR Line too long")
    assert r.cmd(b"X" * 100000).startswith(b"-ERR Line too long")
    assert r.cmd(b"CAPA").startswith(b"+OK")
    assert b"STLS" in r.multi()
    assert r.cmd(b"US\0ER x").startswith(b"-ERR")
    assert r.cmd(b"STAT\rX").startswith(b"-ERR")
    r.send(b"NOOP\n")
    assert r.line().startswith(b"-ERR")
    assert r.cmd(b"\xff\xfe\x00\x01garbage").startswith(b"-ERR")
    assert r.cmd(b"RETR 1").startswith(b"-ERR Not logged in")
    assert r.cmd(b"LIST 1 2 3").startswith(b"-ERR")
    r.close()
    # after login: commands of the wrong state, bad numbers, pipelining
    r = Raw(pop.port)
    assert r.cmd(b"USER alice@example.test").startswith(b"+OK")
    assert r.cmd(b"PASS " + PASSWORDS["alice@example.test"].encode()) \
        .startswith(b"+OK")
    for c in (b"USER x", b"PASS y", b"AUTH PLAIN", b"STLS", b"APOP a b",
              b"RETR 0", b"RETR 2", b"RETR 4294967295", b"RETR 4294967296",
              b"RETR -1", b"TOP 1", b"DELE x", b"LIST 99", b"UIDL 0"):
        assert r.cmd(c).startswith(b"-ERR"), c
    r.send(b"STAT\r\nNOOP\r\nLIST 1\r\nTOP 1 99999999\r\n")
    assert r.line().startswith(b"+OK 1 ")
    assert r.line() == b"+OK"
    assert r.line().startswith(b"+OK 1 ")
    assert r.line().startswith(b"+OK")
    assert body_of(r.multi()) == MSGS[0]
    # twenty errors end the session
    r.send(b"BOGUS\r\n" * 25)
    for i in range(26):
        l = r.line()
        assert l.startswith(b"-ERR"), l
        if l.startswith(b"-ERR Too many errors"):
            break
    else:
        raise AssertionError("never hung up")
    assert r.line() == b""  # closed
    r.close()
    # binary flood without a line end, then the connection just closes
    s = socket.create_connection(("127.0.0.1", pop.port), timeout=20)
    s.recv(100)
    s.sendall(os.urandom(300000).replace(b"\n", b"x"))
    s.close()
    # the store is still fine, and deletions were not applied
    p = pop.pop3s("alice@example.test")
    assert p.stat()[0] == 1
    p.quit()


def test_idle_timeout(cluster):
    pop = Pop(cluster, extra={"pop3_timeout": "2s"})
    r = Raw(pop.port)
    assert r.cmd(b"USER alice@example.test").startswith(b"+OK")
    t = time.monotonic()
    assert r.line().startswith(b"-ERR Idle timeout")
    assert 1.5 < time.monotonic() - t < 10
    assert r.line() == b""
    r.close()


def test_plaintext_auth_for_loopback_tests(cluster):
    """plaintext_auth = yes: USER/PASS and PLAIN without TLS."""
    pop = Pop(cluster, extra={"plaintext_auth": "yes",
                              "pop3s_listen": ""})
    p = poplib.POP3("127.0.0.1", pop.port, timeout=20)
    caps = p.capa()
    assert "USER" in caps and "PLAIN" in caps["SASL"]
    p.user("alice@example.test")
    assert p.pass_(PASSWORDS["alice@example.test"]).startswith(b"+OK")
    p.quit()
