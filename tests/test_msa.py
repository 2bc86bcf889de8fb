"""Stage B, submission: TLS + SMTP AUTH, anti-forging, limits, next hops.

Real daemons: msa (both listeners), the store (LMTP, Maildir) for the
local domain and outmta for everything else; users, passwords and aliases
made with the real sluicectl, so the credentials snapshot msa reads is the
one an operator gets. Clients: smtplib (STARTTLS and implicit TLS, PLAIN
and LOGIN), a SCRAM-SHA-256 client written here (RFC 5802/7677), swaks,
and openssl s_client.
"""
import base64
import hashlib
import hmac
import imaplib
import os
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (BUILD, Daemon, client_tls, free_port, messages,
                      queue_tool, sluicectl, wait_for, wait_messages,
                      write_conf)

PW = {"alice@example.test": "alice secret 1",
      "bob@example.test": "bob pw 22",
      "carol@example.test": "carol pw 333",
      "dave@example.test": "dave pw 4444"}
RATE_MESSAGES = 3
RATE_RECIPIENTS = 8
RATE_WINDOW = 4


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def plain(s, user, pw):
    """AUTH PLAIN only (smtplib.login would try LOGIN too on failure)."""
    s.user, s.password = user, pw
    return s.auth("PLAIN", s.auth_plain)


def msg(sender, rcpt, subject="hi", extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n%s\r\nbody line\r\n" %
            (sender, rcpt, subject, extra))


class World:
    def __init__(self, cluster, extra=None):
        base = os.path.join(cluster.base, "dir%d" % free_port())
        os.makedirs(base)
        os.chmod(base, 0o755)
        self.snap = os.path.join(base, "users")
        self.db = os.path.join(base, "directory.db")
        self.ctl("domain", "add", "example.test")
        for u, pw in PW.items():
            self.ctl("user", "add", u)
            self.ctl("user", "passwd", u, stdin=pw + "\n")
        self.ctl("alias", "add", "sales@example.test", "alice@example.test")
        os.chmod(self.snap, 0o644)
        assert os.path.exists(self.snap + ".auth"), "no credentials snapshot"
        # the store serves IMAPS too, so what msa delivered is read back
        # the way bob's mail client reads it
        self.imaps = free_port()
        self.store = cluster.store(extra={
            "directory_file": self.snap,
            "credentials_file": self.snap + ".auth",
            "imaps_listen": "127.0.0.1:%d" % self.imaps,
            "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1]})
        # outmta's next hop never answers: remote mail stays in its queue
        self.out = cluster.outmta(extra={"next_hop": "smtp:127.0.0.1:%d" %
                                         free_port(), "retry_min": "1h"})
        self.msa = self.start_msa(cluster, extra)

    def ctl(self, *args, stdin=None):
        return sluicectl(self.db, self.snap, *args, stdin=stdin)

    def start_msa(self, cluster, extra):
        d = cluster._dir("msa")
        port, sport = free_port(), free_port()
        conf = {"listen": "127.0.0.1:%d" % port,
                "smtps_listen": "127.0.0.1:%d" % sport,
                "hostname": "msa.example.test",
                "next_hop": "smtp:127.0.0.1:%d" % self.out.port,
                "domain_routes": "example.test = lmtp:127.0.0.1:%d" %
                                 self.store.port,
                "queue_dir": os.path.join(d, "queue"), "user": "sluice",
                "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
                "credentials_file": self.snap + ".auth",
                "directory_file": self.snap,
                "sender_exceptions": "bob@example.test = @partner.test",
                "rate_messages": RATE_MESSAGES,
                "rate_recipients": RATE_RECIPIENTS,
                "rate_window": "%ds" % RATE_WINDOW,
                "max_client_sessions": 4,
                "retry_min": "1s", "hop_down_time": "1s"}
        conf.update(extra or {})
        write_conf(os.path.join(d, "msa.conf"), conf)
        dm = Daemon("msa", os.path.join(BUILD, "sluice-msa"),
                    os.path.join(d, "msa.conf"), d, port)
        dm.sport = sport
        dm.queue_dir = conf["queue_dir"]
        cluster.daemons.append(dm)
        return dm.start()

    def smtp(self, user=None, source="127.0.0.1"):
        """A STARTTLS session, logged in as user when given."""
        s = smtplib.SMTP("127.0.0.1", self.msa.port, timeout=20,
                         source_address=(source, 0))
        s.starttls(context=client_tls())
        s.ehlo("pc.example.test")
        if user:
            s.login(user, PW[user])
        return s

    def outmta_queue(self):
        r = queue_tool(self.out, "list")
        return r.stdout


@pytest.fixture
def world(cluster):
    return World(cluster)


def test_starttls_login_reaches_bobs_maildir(world):
    s = smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20)
    s.ehlo("pc.example.test")
    assert not s.has_extn("auth"), "AUTH offered before TLS"
    s.starttls(context=client_tls())
    s.ehlo("pc.example.test")
    mechs = s.esmtp_features["auth"].upper().split()
    for m in ("PLAIN", "LOGIN", "SCRAM-SHA-256"):
        assert m in mechs
    s.login("alice@example.test", PW["alice@example.test"])
    s.sendmail("alice@example.test", ["bob@example.test"],
               msg("Alice <alice@example.test>", "bob@example.test"))
    s.quit()
    data = wait_messages(world.store, "bob@example.test", 1)[0]
    head = data.split(b"\r\n\r\n", 1)[0]
    # RFC 6409 8: Message-ID and Date added; Received records ESMTPSA
    assert b"\nMessage-ID: <" in head and b"@msa.example.test>" in head
    assert b"\nDate: " in head
    assert b"with ESMTPSA" in head
    assert b"authenticated sender: alice@example.test" in head
    assert b"from pc.example.test ([127.0.0.1])" in head
    for pw in PW.values():
        assert pw.encode() not in data
        assert b64(pw).encode() not in data
    assert b"body line" in data
    assert "AUTH LOGIN ok: user=alice@example.test" in world.msa.log() or \
        "AUTH PLAIN ok: user=alice@example.test" in world.msa.log()
    # bob reads it over IMAPS: the same bytes the store wrote
    with imaplib.IMAP4_SSL("127.0.0.1", world.imaps,
                           ssl_context=client_tls()) as im:
        im.login("bob@example.test", PW["bob@example.test"])
        im.select("INBOX")
        typ, got = im.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK"
        assert got[0][1] == data


def test_forged_trace_headers_removed(world):
    """A user cannot mark their own mail as scanned or not spam."""
    s = smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20)
    s.starttls(context=client_tls())
    s.login("alice@example.test", PW["alice@example.test"])
    s.sendmail("alice@example.test", ["bob@example.test"],
               msg("alice@example.test", "bob@example.test",
                   extra="X-Spam-Flag: NO\r\nX-Sluice-Virus: clean\r\n"))
    s.quit()
    data = wait_messages(world.store, "bob@example.test", 1)[0]
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert b"x-spam-flag" not in head and b"x-sluice-virus" not in head
    assert "removed 2 internal trace header(s)" in world.msa.log()


def test_smtp_ssl_implicit_tls(world):
    with smtplib.SMTP_SSL("127.0.0.1", world.msa.sport, timeout=20,
                          context=client_tls()) as s:
        s.ehlo("pc.example.test")
        assert not s.has_extn("starttls")
        s.login("bob@example.test", PW["bob@example.test"])
        s.sendmail("bob@example.test", ["alice@example.test"],
                   msg("bob@example.test", "alice@example.test",
                       extra="Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
                       "Message-ID: <own@pc.example.test>\r\n"))
    data = wait_messages(world.store, "alice@example.test", 1)[0]
    # the client's own Date and Message-ID stay, nothing is added
    assert data.count(b"\nMessage-ID:") + data.count(b"\nMessage-Id:") == 1
    assert b"<own@pc.example.test>" in data
    assert data.count(b"\nDate:") == 1


def scram_login(s, user, pw):
    """SCRAM-SHA-256 (RFC 5802, RFC 7677) over AUTH, checking the server."""
    nonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (user, nonce)
    code, resp = s.docmd("AUTH", "SCRAM-SHA-256 " + b64("n,," + first_bare))
    assert code == 334, (code, resp)
    server_first = base64.b64decode(resp).decode()
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    assert attrs["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac("sha256", pw.encode(),
                                 base64.b64decode(attrs["s"]), int(attrs["i"]))
    ckey = hmac.new(salted, b"Client Key", "sha256").digest()
    without_proof = "c=biws,r=" + attrs["r"]
    auth_msg = ",".join([first_bare, server_first, without_proof]).encode()
    sig = hmac.new(hashlib.sha256(ckey).digest(), auth_msg, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(ckey, sig))
    code, resp = s.docmd(b64(without_proof + ",p=" + b64(proof)))
    if code != 334:
        return code, resp, False
    # RFC 4954 4: the server-final message (the server proves it knows
    # the secret too) in a 334, answered with an empty line
    skey = hmac.new(salted, b"Server Key", "sha256").digest()
    want = b"v=" + base64.b64encode(hmac.new(skey, auth_msg,
                                             "sha256").digest())
    assert base64.b64decode(resp) == want
    return s.docmd("") + (True,)


def test_scram_sha256(world):
    s = world.smtp()
    code, resp, verified = scram_login(s, "carol@example.test",
                                       PW["carol@example.test"])
    assert code == 235 and verified, resp
    assert "AUTH SCRAM-SHA-256 ok: user=carol@example.test" in world.msa.log()
    s.sendmail("carol@example.test", ["bob@example.test"],
               msg("carol@example.test", "bob@example.test", "scram"))
    s.quit()
    assert b"Subject: scram" in wait_messages(world.store,
                                              "bob@example.test", 1)[0]
    s = world.smtp()
    code, _, _ = scram_login(s, "carol@example.test", "wrong")
    assert code == 535
    s.close()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_tls_auth(world, mech):
    r = subprocess.run(["swaks", "--server", "127.0.0.1",
                        "--port", str(world.msa.port), "--tls",
                        "--auth", mech, "--auth-user", "alice@example.test",
                        "--auth-password", PW["alice@example.test"],
                        "--from", "alice@example.test",
                        "--to", "bob@example.test",
                        "--header", "Subject: swaks " + mech],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout
    data = wait_messages(world.store, "bob@example.test", 1)[0]
    assert ("Subject: swaks " + mech).encode() in data


def test_openssl_s_client_starttls(world):
    script = ("EHLO pc.example.test\r\n"
              "AUTH PLAIN " + b64("\0alice@example.test\0" +
                                  PW["alice@example.test"]) + "\r\n"
              "MAIL FROM:<alice@example.test>\r\n"
              "RCPT TO:<bob@example.test>\r\n"
              "DATA\r\n"
              "From: alice@example.test\r\nSubject: via s_client\r\n\r\n"
              "hello\r\n.\r\nQUIT\r\n")
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp",
                        "-connect", "127.0.0.1:%d" % world.msa.port,
                        "-quiet", "-ign_eof"], input=script,
                       capture_output=True, text=True, timeout=60)
    assert "235 2.7.0" in r.stdout, r.stdout + r.stderr
    assert "Ok: queued as" in r.stdout, r.stdout
    data = wait_messages(world.store, "bob@example.test", 1)[0]
    assert b"Subject: via s_client" in data


def test_wrong_password_535(world):
    s = world.smtp()
    t = time.monotonic()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        plain(s, "alice@example.test", "not the password")
    assert e.value.smtp_code == 535
    assert e.value.smtp_error.startswith(b"5.7.8")
    assert time.monotonic() - t >= 0.9, "failed login answered at once"
    # the session goes on: the right password still works
    s.login("alice@example.test", PW["alice@example.test"])
    s.quit()
    s = world.smtp()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        plain(s, "nobody@example.test", "x")
    s.close()


def test_auth_before_starttls_refused(world):
    with smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20) as s:
        s.ehlo("pc.example.test")
        code, text = s.docmd("AUTH", "PLAIN " + b64(
            "\0alice@example.test\0" + PW["alice@example.test"]))
        assert (code, text[:6]) == (538, b"5.7.11")
        code, text = s.docmd("MAIL", "FROM:<alice@example.test>")
        assert (code, text[:5]) == (530, b"5.7.0")


def test_mail_without_auth_refused(world):
    s = world.smtp()
    code, text = s.mail("alice@example.test")
    assert (code, text[:5]) == (530, b"5.7.0")
    code, _ = s.rcpt("bob@example.test")
    assert code == 503
    s.quit()


def test_auth_protocol_errors(world):
    s = world.smtp()
    assert s.docmd("AUTH", "PLAIN")[0] == 334
    code, text = s.docmd("*")          # RFC 4954 4: cancelled
    assert (code, text[:5]) == (501, b"5.0.0")
    assert s.docmd("AUTH", "NOSUCH")[0] == 504
    assert s.docmd("AUTH", "PLAIN")[0] == 334
    code, text = s.docmd("A" * 13000)  # past LIM_AUTH_LINE
    assert (code, text[:5]) == (500, b"5.5.6")
    assert s.docmd("AUTH", "PLAIN")[0] == 334
    code, _ = s.docmd("not base64!")
    assert code == 501
    s.login("alice@example.test", PW["alice@example.test"])
    code, _ = s.docmd("AUTH", "PLAIN")  # RFC 4954 4: once per session
    assert code == 503
    s.quit()


def test_alice_as_bob_refused(world):
    s = world.smtp("alice@example.test")
    code, text = s.mail("bob@example.test")
    assert (code, text[:5]) == (553, b"5.7.1")
    # own envelope, someone else's From: refused at end of data
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   msg("Bob <bob@example.test>", "bob@example.test"))
    assert e.value.smtp_code == 553 and e.value.smtp_error[:5] == b"5.7.1"
    with pytest.raises(smtplib.SMTPDataError):
        s.sendmail("alice@example.test", ["bob@example.test"],
                   msg("alice@example.test", "bob@example.test",
                       extra="Sender: bob@example.test\r\n"))
    s.quit()
    time.sleep(0.5)
    assert messages(world.store, "bob@example.test") == []


def test_alias_and_exception_accepted(world):
    s = world.smtp("alice@example.test")
    s.sendmail("sales@example.test", ["bob@example.test"],
               msg("Sales <sales@example.test>", "bob@example.test",
                   "alias"))
    # an alias that reaches someone else is not alice's
    world.ctl("alias", "add", "help@example.test", "dave@example.test")
    code, _ = s.mail("help@example.test")
    assert code == 553
    s.quit()
    # sender_exceptions: bob may use any @partner.test address
    s = world.smtp("bob@example.test")
    s.sendmail("bob@partner.test", ["alice@example.test"],
               msg("bob@partner.test", "alice@example.test", "exception"))
    s.quit()
    assert b"Subject: alias" in wait_messages(world.store,
                                              "bob@example.test", 1)[0]
    assert b"Subject: exception" in wait_messages(world.store,
                                                  "alice@example.test", 1)[0]


def test_message_rate_limit_window(world):
    user = "dave@example.test"
    s = world.smtp(user)
    t0 = time.monotonic()
    for i in range(RATE_MESSAGES):
        s.sendmail(user, ["bob@example.test"], msg(user, "bob", "n%d" % i))
    code, text = s.mail(user)
    assert code // 100 == 4 and text[:5] == b"4.7.1", (code, text)
    s.rset()
    # another user is not affected
    s2 = world.smtp("alice@example.test")
    s2.sendmail("alice@example.test", ["bob@example.test"],
                msg("alice@example.test", "bob", "other user"))
    s2.quit()
    time.sleep(max(0, RATE_WINDOW + 0.5 - (time.monotonic() - t0)))
    s.sendmail(user, ["bob@example.test"], msg(user, "bob", "after"))
    s.quit()
    wait_messages(world.store, "bob@example.test", RATE_MESSAGES + 2)


def test_recipient_rate_limit(world):
    user = "carol@example.test"
    s = world.smtp(user)
    s.mail(user)
    rcpts = ["bob+%d@example.test" % i for i in range(RATE_RECIPIENTS + 1)]
    codes = [s.rcpt(r) for r in rcpts]
    assert all(c == 250 for c, _ in codes[:RATE_RECIPIENTS])
    code, text = codes[RATE_RECIPIENTS]
    assert code == 452 and text[:5] == b"4.7.1"
    s.rset()
    s.quit()


def test_remote_recipient_queued_for_outmta(world):
    s = world.smtp("alice@example.test")
    s.sendmail("alice@example.test", ["someone@remote.test"],
               msg("alice@example.test", "someone@remote.test", "out"))
    s.quit()
    out = wait_for(lambda: "someone@remote.test" in world.outmta_queue() and
                   world.outmta_queue(), what="outmta queue")
    qid = out.split()[0]
    show = queue_tool(world.out, "show", qid).stdout
    # the trusted channel carried who sent it and where it entered
    assert "entered_by: msa" in show, show
    assert "auth: alice@example.test" in show, show
    assert "client: 127.0.0.1" in show
    assert "Subject: out" in show
    time.sleep(0.5)
    assert messages(world.store, "someone@remote.test") == []
    assert messages(world.store, "alice@example.test") == []


def test_forged_claims_refused(world):
    s = world.smtp("alice@example.test")
    for param in ("XENTERED=mx", "XADDR=192.0.2.1", "XHELO=trusted"):
        code, text = s.docmd("MAIL", "FROM:<alice@example.test> " + param)
        assert (code, text[:5]) == (550, b"5.7.1"), param
    # AUTH= from a client is not believed: the session's user counts
    code, _ = s.docmd("MAIL", "FROM:<alice@example.test> "
                      "AUTH=bob@example.test")
    assert code == 250
    assert s.rcpt("far@remote.test")[0] == 250
    code, _ = s.data(msg("alice@example.test", "far@remote.test", "f"))
    assert code == 250
    s.quit()
    out = wait_for(lambda: "far@remote.test" in world.outmta_queue() and
                   world.outmta_queue(), what="outmta queue")
    show = queue_tool(world.out, "show", out.split()[0]).stdout
    assert "auth: alice@example.test" in show
    # the store trusts nobody: an LMTP client cannot claim either
    with smtplib.LMTP("127.0.0.1", world.store.port) as lm:
        lm.ehlo("evil.test")
        assert not lm.has_extn("xtrust")
        code, text = lm.docmd("MAIL", "FROM:<x@remote.test> XENTERED=msa "
                              "AUTH=alice@example.test")
        assert (code, text[:5]) == (550, b"5.7.1")


def test_claims_from_untrusted_address_refused(world):
    """outmta offers XTRUST to msa's address (trusted_peers 127.0.0.1)
    and refuses anyone else outright."""
    with smtplib.SMTP("127.0.0.1", world.out.port, timeout=10) as s:
        s.ehlo("msa.example.test")
        assert s.has_extn("xtrust")
    with pytest.raises(smtplib.SMTPConnectError) as e:
        smtplib.SMTP("127.0.0.1", world.out.port, timeout=10,
                     source_address=("127.0.0.2", 0))
    assert e.value.smtp_code == 554


def idle(msa):
    """No session open (the start-up probe is gone)."""
    log = msa.log()
    # the probe must have been accepted first: a log with no session at
    # all only means msa has not got to the probe in its backlog yet
    opened = log.count(": connect from")
    return opened >= 1 and opened == (
        log.count(": lost connection from") + log.count(": disconnect from"))


def test_concurrent_sessions_per_client(world):
    wait_for(lambda: idle(world.msa), what="msa idle")
    socks = []
    try:
        for _ in range(4):
            c = socket.create_connection(("127.0.0.1", world.msa.port))
            socks.append(c)
            got = c.recv(512)
            assert got.startswith(b"220"), (len(socks), got)
        c = socket.create_connection(("127.0.0.1", world.msa.port))
        socks.append(c)
        assert c.recv(512).startswith(b"421 4.7.0")
    finally:
        for c in socks:
            c.close()
    # the others going away frees the slots again
    wait_for(lambda: smtp_greets(world.msa.port), what="a new session")


def smtp_greets(port):
    with socket.create_connection(("127.0.0.1", port)) as c:
        return c.recv(512).startswith(b"220")


def test_failed_logins_lock_out(cluster):
    w = World(cluster, {"auth_fail_max": 3, "auth_fail_delay": "0s",
                        "auth_fail_window": "60s"})
    s = w.smtp()
    for _ in range(3):
        with pytest.raises(smtplib.SMTPAuthenticationError):
            plain(s, "bob@example.test", "guess")
    # locked out: even the right password is refused now
    with pytest.raises(smtplib.SMTPAuthenticationError):
        plain(s, "bob@example.test", PW["bob@example.test"])
    s.close()
    # from another address: bob stays locked out (per-user limit) but
    # alice logs in (that address has no failures)
    s = w.smtp(source="127.0.0.2")
    with pytest.raises(smtplib.SMTPAuthenticationError):
        plain(s, "bob@example.test", PW["bob@example.test"])
    s.close()
    s = w.smtp(source="127.0.0.2")
    assert plain(s, "alice@example.test", PW["alice@example.test"])[0] == 235
    s.close()
    # and the first address is locked out for everyone (per-address)
    s = w.smtp()
    with pytest.raises(smtplib.SMTPAuthenticationError):
        plain(s, "alice@example.test", PW["alice@example.test"])
    s.close()
    assert "locked out" in w.msa.log()


def test_policy_options(cluster):
    """received_client/received_user off, a small max_message_size, and
    a message without From:."""
    w = World(cluster, {"received_client": "no", "received_user": "no",
                        "max_message_size": "2k"})
    s = w.smtp("alice@example.test")
    assert s.esmtp_features["size"] == "2048"
    code, text = s.docmd("MAIL", "FROM:<alice@example.test> SIZE=4096")
    assert (code, text[:5]) == (552, b"5.3.4")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   "Subject: no from\r\n\r\nx\r\n")
    assert e.value.smtp_code == 550
    s.sendmail("alice@example.test", ["bob@example.test"],
               msg("alice@example.test", "bob@example.test", "private"))
    s.quit()
    data = wait_messages(w.store, "bob@example.test", 1)[0]
    rcvd = [h for h in data.split(b"\r\n\r\n")[0].split(b"\r\nReceived:")
            if b"msa.example.test" in h]
    assert rcvd and b"ESMTPSA" in rcvd[-1], data
    assert b"pc.example.test" not in data and b"[127.0.0.1]" not in rcvd[-1]
    assert b"authenticated sender" not in data


def test_header_section_limit(cluster):
    """A header section over max_header_size gets 552 5.3.4 at the end of
    data, as at mx; one just under it is delivered."""
    w = World(cluster, extra={"max_header_size": "64k"})
    big = "".join("X-Filler-%05d: %s\r\n" % (i, "y" * 60)
                  for i in range(1200))     # ~90 KB of header fields
    s = w.smtp("alice@example.test")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   msg("alice@example.test", "bob@example.test", extra=big))
    assert e.value.smtp_code == 552 and b"5.3.4" in e.value.smtp_error
    small = big[:40000]
    s.sendmail("alice@example.test", ["bob@example.test"],
               msg("alice@example.test", "bob@example.test", extra=small))
    s.quit()
    assert b"X-Filler-00001" in wait_messages(w.store, "bob@example.test",
                                              1)[0]


def test_header_section_limit_after_reload(cluster):
    """A reload (SIGHUP) keeps the header section limit, and may change
    it as at mx: a reload used to leave msa's listeners with no limit."""
    w = World(cluster, extra={"max_header_size": "64k"})
    big = "".join("X-Filler-%05d: %s\r\n" % (i, "y" * 60)
                  for i in range(1200))     # ~90 KB of header fields

    def reload():
        n = w.msa.log().count("reload: ")
        w.msa.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: w.msa.log().count("reload: ") > n, 10,
                 "the reload")

    def send():
        s = w.smtp("alice@example.test")
        try:
            s.sendmail("alice@example.test", ["bob@example.test"],
                       msg("alice@example.test", "bob@example.test",
                           extra=big))
        finally:
            s.close()

    reload()
    with pytest.raises(smtplib.SMTPDataError) as e:
        send()
    assert e.value.smtp_code == 552 and b"5.3.4" in e.value.smtp_error
    conf = open(w.msa.conf).read()
    assert "max_header_size = 64k\n" in conf
    open(w.msa.conf, "w").write(conf.replace("max_header_size = 64k",
                                             "max_header_size = 1m"))
    reload()
    assert "restart" not in w.msa.log().split("reload")[-1]
    send()
    assert b"X-Filler-00001" in wait_messages(w.store, "bob@example.test",
                                              1)[0]
