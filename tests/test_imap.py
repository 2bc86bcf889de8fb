"""IMAP4rev1 of the store, functional: Python's imaplib against the real
store daemon over STARTTLS and implicit TLS, with mail delivered over
real LMTP and users made with sluicectl (passwords through SASL).

Covers login (and its refusal without TLS), AUTHENTICATE PLAIN (also
with SASL-IR) and SCRAM-SHA-256, lockout after failures, LIST with
special-use attributes, SELECT, FETCH of a multipart message (BODY[],
BODYSTRUCTURE, ENVELOPE), SEARCH with every key, STORE, COPY/MOVE with
COPYUID, EXPUNGE, APPEND with APPENDUID, UID commands, IDLE woken by an
LMTP delivery, two sessions on one mailbox, UIDs across a restart, quota
(GETQUOTAROOT, APPEND and COPY refused over quota), state rules and
literals, and a FETCH larger than the socket buffers. Hostile input is
in test_imap_hostile.py, a real client in test_imap_client.py.
"""
import imaplib
import os
import re
import smtplib
import socket
import time

import pytest

from conftest import Ctl, client_tls, free_port, port_open, wait_for

PW = {"alice@example.test": "alice secret 1",
      "bob@example.test": "bob secret 2",
      "small@example.test": "small secret 3"}

MULTIPART = (b"From: Carol Sender <carol@remote.test>\r\n"
             b"To: Alice <alice@example.test>\r\n"
             b"Subject: report attached\r\n"
             b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
             b"Message-ID: <m1@remote.test>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
             b"\r\n"
             b"preamble\r\n"
             b"--XX\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n"
             b"\r\n"
             b"Hello Alice, the numbers are attached.\r\n"
             b"--XX\r\n"
             b"Content-Type: application/octet-stream; name=\"n.bin\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"\r\n"
             b"AAECAwQFBgcICQ==\r\n"
             b"--XX--\r\n")


@pytest.fixture
def imap(cluster):
    """A store with IMAP on free ports and three users with passwords."""
    return make_imap(cluster)


def make_imap(cluster, extra=None):
    """The imap fixture's store; extra: more store config (test_boxes.py
    runs these tests with mailbox_store = postgresql://...)."""
    d = os.path.join(cluster.base, "dir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    ctl("user", "add", "bob@example.test")
    ctl("user", "add", "small@example.test", "--quota", "20k")
    for u, p in PW.items():
        ctl("user", "passwd", u, stdin=p + "\n")
    os.chmod(ctl.snap, 0o644)
    st = cluster.store(extra={
        "directory_file": ctl.snap, "credentials_file": ctl.auth,
        "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
        "imap_listen": "127.0.0.1:%d" % free_port(),
        "imaps_listen": "127.0.0.1:%d" % free_port(), **(extra or {})})
    conf = dict(l.split(" = ", 1) for l in
                open(st.conf).read().splitlines())
    st.imap_port = int(conf["imap_listen"].rsplit(":", 1)[1])
    st.imaps_port = int(conf["imaps_listen"].rsplit(":", 1)[1])
    st.ctl = ctl
    wait_imap(st)
    return st


def wait_imap(st):
    """The fixture waits for LMTP; the IMAP ports open just after."""
    for p in (st.imap_port, st.imaps_port):
        wait_for(lambda: port_open(p), what="IMAP port %d" % p)


def deliver(st, rcpt, msg):
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.sendmail("carol@remote.test", [rcpt], msg)


def starttls_login(st, user="alice@example.test"):
    m = imaplib.IMAP4("127.0.0.1", st.imap_port)
    m.starttls(ssl_context=client_tls())
    m.login(user, PW[user])
    return m


def ssl_login(st, user="alice@example.test"):
    m = imaplib.IMAP4_SSL("127.0.0.1", st.imaps_port, ssl_context=client_tls())
    m.login(user, PW[user])
    return m


def simple(n, subject, body=b"hello"):
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: " + subject + b"\r\nMessage-ID: <" +
            str(n).encode() + b"@remote.test>\r\n\r\n" + body + b"\r\n")


def test_login_needs_tls(imap):
    m = imaplib.IMAP4("127.0.0.1", imap.imap_port)
    caps = m.capabilities
    assert "LOGINDISABLED" in caps and "STARTTLS" in caps
    assert not [c for c in caps if c.startswith("AUTH=")]
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        m.login("alice@example.test", PW["alice@example.test"])
    typ, data = m._simple_command("AUTHENTICATE", "PLAIN")
    assert typ == "NO" and b"PRIVACYREQUIRED" in data[0]
    m.starttls(ssl_context=client_tls())
    caps = m.capabilities
    assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps
    assert "AUTH=PLAIN" in caps and "IDLE" in caps and "UIDPLUS" in caps
    typ, data = m.login("alice@example.test", PW["alice@example.test"])
    assert typ == "OK"
    m.logout()
    log = imap.log()
    assert re.search(r"IMAP\w+: login user=alice@example.test, "
                     r"method=LOGIN", log)
    assert PW["alice@example.test"] not in log


def test_bad_password_and_authenticate(imap):
    m = imaplib.IMAP4_SSL("127.0.0.1", imap.imaps_port,
                          ssl_context=client_tls())
    t0 = time.monotonic()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("alice@example.test", "wrong password")
    assert time.monotonic() - t0 >= 0.1  # failures are answered late
    u, p = "alice@example.test", PW["alice@example.test"]
    typ, _ = m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (u, p)).encode())
    assert typ == "OK"
    m.logout()
    log = imap.log()
    assert "login failed: user=alice@example.test" in log
    assert "wrong password" not in log
    assert "method=PLAIN" in log
    # SASL-IR: the initial response on the command line
    import base64
    ir = base64.b64encode(("\0%s\0%s" % (u, p)).encode()).decode()
    with socket.create_connection(("127.0.0.1", imap.imaps_port)) as raw:
        with client_tls().wrap_socket(raw) as s:
            f = s.makefile("rb")
            assert f.readline().startswith(b"* OK")
            s.sendall(b"a1 AUTHENTICATE PLAIN " + ir.encode() + b"\r\n")
            assert f.readline().startswith(b"a1 OK")


def test_list_special_use_and_folders(imap):
    m = ssl_login(imap)
    typ, data = m.list('""', "*")
    assert typ == "OK"
    lines = [l.decode() for l in data]
    names = {l.rsplit(" ", 1)[1].strip('"'): l for l in lines}
    assert set(names) >= {"INBOX", "Sent", "Drafts", "Trash", "Junk"}
    assert "\\Sent" in names["Sent"] and "\\Trash" in names["Trash"]
    assert "\\Drafts" in names["Drafts"] and "\\Junk" in names["Junk"]
    assert m.create("Archive")[0] == "OK"
    assert m.create("Archive.2026")[0] == "OK"
    assert m.rename("Archive.2026", "Archive.Old")[0] == "OK"
    typ, data = m.list("Archive.", "%")
    assert typ == "OK" and [l for l in data if b"Archive.Old" in l]
    assert m.subscribe("Archive")[0] == "OK"
    typ, data = m.lsub('""', "*")
    assert [l for l in data if l.endswith(b'"Archive"')]
    assert m.delete("Archive.Old")[0] == "OK"
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
    assert typ == "OK" and b"MESSAGES 0" in data[0]
    typ, data = m._simple_command("NAMESPACE")
    assert typ == "OK"
    typ, data = m.xatom("ID", "NIL")
    assert typ == "OK"
    m.logout()


def test_fetch_multipart(imap):
    deliver(imap, "alice@example.test", MULTIPART)
    m = starttls_login(imap)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"1"]
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[] BODYSTRUCTURE ENVELOPE "
                             "RFC822.SIZE INTERNALDATE UID)")
    assert typ == "OK"
    head, body = data[0]
    assert body.endswith(MULTIPART)  # after Return-Path/Delivered-To
    assert b"RFC822.SIZE %d" % len(body) in head or \
        b"RFC822.SIZE %d" % len(body) in data[1]
    rest = head + (data[1] if isinstance(data[1], bytes) else b"")
    assert b'"MIXED"' in rest.upper() and b'"PLAIN"' in rest.upper()
    assert b'"APPLICATION" "OCTET-STREAM"' in rest.upper()
    assert b'"report attached"' in rest
    assert b'"<m1@remote.test>"' in rest
    assert b"\\Seen" not in head  # PEEK
    typ, data = m.fetch("1", "(BODY[1] BODY[2.MIME] BODY[HEADER.FIELDS "
                             "(SUBJECT)] BODY[]<0.10>)")
    parts = [p for p in data if isinstance(p, tuple)]
    assert parts[0][1] == b"Hello Alice, the numbers are attached."
    assert b"base64" in parts[1][1]
    assert parts[2][1] == b"Subject: report attached\r\n\r\n"
    assert len(parts[3][1]) == 10
    typ, data = m.fetch("1", "FLAGS")
    assert b"\\Seen" in data[0]  # BODY[] without PEEK set it
    typ, data = m.fetch("1", "FAST")
    assert typ == "OK" and b"RFC822.SIZE" in data[0]
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m.fetch("1", "(BODY[1.2.3.X])")
    m.logout()


def test_search_store_copy_move_expunge(imap):
    for i, subj in enumerate([b"apples", b"pears", b"apples again"]):
        deliver(imap, "alice@example.test", simple(i, subj, b"fruit %d" % i))
    m = ssl_login(imap)
    assert m.select("INBOX")[1] == [b"3"]
    assert m.search(None, "SUBJECT", "apples")[1] == [b"1 3"]
    assert m.search(None, "OR", "SUBJECT", "pears", "BODY", '"fruit 2"') \
        [1] == [b"2 3"]
    assert m.search("UTF-8", "NOT", "SUBJECT", "apples")[1] == [b"2"]
    assert m.search(None, "2:*", "UNSEEN")[1] == [b"2 3"]
    typ, data = m.search("KOI8-R", "ALL")
    assert typ == "NO"
    typ, data = m.store("1:2", "+FLAGS", "(\\Flagged $Work)")
    assert typ == "OK" and b"\\Flagged" in data[0] and b"$Work" in data[0]
    assert m.search(None, "FLAGGED")[1] == [b"1 2"]
    assert m.search(None, "KEYWORD", "$Work")[1] == [b"1 2"]
    assert m.store("2", "-FLAGS.SILENT", "(\\Flagged)") == ("OK", [None])
    assert m.search(None, "UNFLAGGED")[1] == [b"2 3"]
    assert m.create("Archive")[0] == "OK"
    typ, data = m.copy("1:2", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = m.copy("1", "NoSuchFolder")
    assert typ == "NO" and b"TRYCREATE" in data[0]
    typ, data = m._simple_command("MOVE", "3", "Trash")
    assert typ == "OK"
    assert [u for u in m.untagged_responses.get("EXPUNGE", [])] == [b"3"]
    m.untagged_responses.clear()
    assert m.status("Trash", "(MESSAGES)")[1] == [b'"Trash" (MESSAGES 1)']
    assert m.status("Archive", "(MESSAGES)")[1] == [
        b'"Archive" (MESSAGES 2)']
    assert m.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
    typ, data = m.expunge()
    assert typ == "OK" and data == [b"1"]
    assert m.search(None, "ALL")[1] == [b"1"]
    assert m.close()[0] == "OK"
    typ, data = m.select("Archive", readonly=True)
    assert data == [b"2"]
    assert m.store("1", "+FLAGS", "\\Deleted")[0] == "NO"
    m.logout()


def test_append_and_uid_commands(imap):
    m = starttls_login(imap)
    msg = simple(9, b"appended", b"draft text")
    typ, data = m.append("Drafts", "(\\Draft \\Seen)",
                         imaplib.Time2Internaldate(1700000000), msg)
    assert typ == "OK"
    mt = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert mt
    uid = mt.group(2)
    typ, data = m.append("NoSuch", None, None, msg)
    assert typ == "NO" and b"TRYCREATE" in data[0]
    m.select("Drafts")
    typ, data = m.uid("FETCH", uid, "(FLAGS BODY[] INTERNALDATE)")
    assert typ == "OK" and data[0][1] == msg
    assert b"\\Draft" in data[0][0] and b"UID " + uid in data[0][0]
    assert b"14-Nov-2023 22:13:20 +0000" in data[0][0] + data[1]
    assert m.uid("SEARCH", None, "ALL")[1] == [uid]
    assert m.uid("SEARCH", None, "UID", uid)[1] == [uid]
    assert m.uid("STORE", uid, "+FLAGS", "(\\Answered)")[0] == "OK"
    typ, data = m._simple_command("UID", "COPY", uid, "INBOX")
    assert typ == "OK" and b"COPYUID" in data[0]
    assert m.uid("STORE", uid, "+FLAGS", "(\\Deleted)")[0] == "OK"
    m.untagged_responses.clear()
    typ, data = m._simple_command("UID", "EXPUNGE", uid)
    assert typ == "OK" and m.untagged_responses["EXPUNGE"] == [b"1"]
    typ, data = m.uid("FETCH", "1:*", "FLAGS")
    assert data == [None]
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS)")
    assert b"\\Answered" in data[0] and b"\\Draft" in data[0]
    m.logout()


def read_until(m, pattern, timeout=10):
    m.sock.settimeout(timeout)
    try:
        while True:
            line = m.readline()
            assert line, "connection closed"
            if re.search(pattern, line):
                return line
    finally:
        m.sock.settimeout(None)


def test_idle_woken_by_delivery(imap):
    m = ssl_login(imap)
    m.select("INBOX")
    tag = m._new_tag()
    m.send(tag + b" IDLE\r\n")
    assert m.readline().startswith(b"+")
    deliver(imap, "alice@example.test", simple(1, b"while idle"))
    assert read_until(m, rb"^\* 1 EXISTS") is not None
    m.send(b"DONE\r\n")
    assert read_until(m, re.escape(tag) + rb" OK").startswith(tag)
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: while idle\r\n\r\n"
    m.logout()


def test_two_sessions_see_each_other(imap):
    deliver(imap, "alice@example.test", simple(1, b"one"))
    deliver(imap, "alice@example.test", simple(2, b"two"))
    a, b = ssl_login(imap), starttls_login(imap)
    assert a.select("INBOX")[1] == [b"2"]
    assert b.select("INBOX")[1] == [b"2"]
    a.store("1", "+FLAGS", "(\\Deleted)")
    assert a.expunge()[1] == [b"1"]
    typ, data = b.noop()
    assert b.untagged_responses.get("EXPUNGE") == [b"1"]
    b.untagged_responses.clear()
    typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert data[0][1] == b"Subject: two\r\n\r\n"
    a.untagged_responses.clear()
    deliver(imap, "alice@example.test", simple(3, b"three"))
    b.noop()
    assert b.untagged_responses.get("EXISTS") == [b"2"]
    a.noop()
    assert a.untagged_responses.get("EXISTS") == [b"2"]
    # flags changed by one session show up in the other
    a.store("2", "+FLAGS", "(\\Flagged)")
    b.untagged_responses.clear()
    typ, data = b.noop()
    assert [d for d in b.untagged_responses.get("FETCH", [])
            if b"\\Flagged" in d]
    a.logout()
    b.logout()


def test_uids_survive_restart(imap):
    for i in range(3):
        deliver(imap, "alice@example.test", simple(i, b"keep %d" % i))
    m = ssl_login(imap)
    m.select("INBOX")
    uv = m.untagged_responses["UIDVALIDITY"][0]
    before = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
    m.logout()
    imap.stop()
    imap.start()
    wait_imap(imap)
    m = ssl_login(imap)
    m.select("INBOX")
    assert m.untagged_responses["UIDVALIDITY"][0] == uv
    after = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1]
    assert after == before
    deliver(imap, "alice@example.test", simple(9, b"later"))
    m.noop()
    typ, data = m.fetch("4", "UID")
    uids = [int(re.search(rb"UID (\d+)", x[0]).group(1))
            for x in before if isinstance(x, tuple)]
    assert int(re.search(rb"UID (\d+)", data[0]).group(1)) > max(uids)
    m.logout()


def test_quota(imap):
    m = ssl_login(imap, "small@example.test")
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ""'] and \
        re.match(rb'"" \(STORAGE \d+ 20\)', data[1][0])
    big = simple(1, b"big", b"x" * 30000)
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    typ, data = m.append("INBOX", None, None, simple(2, b"small"))
    assert typ == "OK"
    # LITERAL+: the data comes anyway, the answer is the same
    s, f = raw_session(imap)
    reply(s, f, ('a LOGIN small@example.test "%s"' %
                 PW["small@example.test"]).encode())
    out = reply(s, f, b"b APPEND INBOX {%d+}\r\n" % len(big) + big)
    assert out[-1].startswith(b"b NO [OVERQUOTA]")
    assert reply(s, f, b"c NOOP")[-1].startswith(b"c OK")
    s.close()
    # COPY counts too: a third copy of 8 KB does not fit 20 KB
    typ, data = m.append("INBOX", None, None, simple(3, b"mid",
                                                      b"m" * 8000))
    assert typ == "OK"
    m.select("INBOX")
    assert m.copy("1:*", "Drafts")[0] == "OK"
    typ, data = m.copy("1:*", "Drafts")
    assert typ == "NO" and b"OVERQUOTA" in data[0]
    typ, data = m._simple_command("SETQUOTA", '""', "(STORAGE 100)")
    assert typ == "NO"
    m.logout()
    m = ssl_login(imap)
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"  # no quota for alice: a root-less answer
    m.logout()


def raw_session(st):
    """A TLS socket to IMAPS, greeting read; returns (sock, file)."""
    s = client_tls().wrap_socket(socket.create_connection(("127.0.0.1",
                                                    st.imaps_port),
                                                   timeout=15))
    f = s.makefile("rb")
    assert f.readline().startswith(b"* OK")
    return s, f


def reply(s, f, line, tag=None):
    """Send a command line, return every line up to its tagged reply."""
    tag = tag or line.split(b" ", 1)[0]
    s.sendall(line + b"\r\n")
    out = []
    while True:
        ln = f.readline()
        assert ln, "connection closed"
        out.append(ln)
        if ln.startswith(tag + b" "):
            return out


def test_state_rules_and_logout(imap):
    s, f = raw_session(imap)
    assert reply(s, f, b"a1 SELECT INBOX")[-1].startswith(b"a1 BAD")
    assert reply(s, f, b"a2 FOO")[-1].startswith(b"a2 BAD")
    u, p = "alice@example.test", PW["alice@example.test"]
    assert reply(s, f, ('a3 LOGIN %s "%s"' % (u, p)).encode())[-1] \
        .startswith(b"a3 OK")
    assert reply(s, f, b"a4 LOGIN x y")[-1].startswith(b"a4 BAD")
    assert reply(s, f, b"a5 FETCH 1 FLAGS")[-1].startswith(b"a5 BAD")
    assert reply(s, f, b"a6 SELECT INBOX")[-1].startswith(b"a6 OK")
    assert reply(s, f, b"a7 FETCH 1:x FLAGS")[-1].startswith(b"a7 BAD")
    assert reply(s, f, b"a8 FETCH 1 (FLAGS")[-1].startswith(b"a8 BAD")
    assert reply(s, f, b"a9 UID NOOP")[-1].startswith(b"a9 BAD")
    # a literal: "+" first, then the command completes
    s.sendall(b"b1 SELECT {5}\r\n")
    assert f.readline().startswith(b"+ ")
    assert reply(s, f, b"INBOX", b"b1")[-1].startswith(b"b1 OK")
    # LITERAL+: no "+" is waited for
    assert reply(s, f, b"b2 SELECT {5+}\r\nINBOX")[-1].startswith(b"b2 OK")
    out = reply(s, f, b"b3 LOGOUT")
    assert out[0].startswith(b"* BYE") and out[-1].startswith(b"b3 OK")
    assert f.readline() == b""
    s.close()
    assert "logout user=alice@example.test" in imap.log()


def test_lockout_after_failures(cluster, imap):
    """auth_fail_max failures lock the user out, even with the right
    password; another user from the same address too (address key)."""
    st = imap
    st.stop()
    with open(st.conf, "a") as f:
        f.write("auth_fail_max = 3\n")
    st.start()
    wait_imap(st)
    m = imaplib.IMAP4_SSL("127.0.0.1", st.imaps_port, ssl_context=client_tls())
    for _ in range(3):
        with pytest.raises(imaplib.IMAP4.error,
                           match="AUTHENTICATIONFAILED"):
            m.login("bob@example.test", "not it")
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        m.login("bob@example.test", PW["bob@example.test"])
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        m.login("alice@example.test", PW["alice@example.test"])
    m.logout()
    assert "login refused: too many failures" in st.log()


def test_authenticate_scram_sha256(imap):
    """A SCRAM-SHA-256 exchange (RFC 5802/7677) over several
    continuations, the server's signature checked by the client."""
    import base64
    import hashlib
    import hmac
    u, p = "bob@example.test", PW["bob@example.test"]
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (u, nonce)
    state = {}

    def final(server_first):
        f = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert f["r"].startswith(nonce)
        salted = hashlib.pbkdf2_hmac("sha256", p.encode(),
                                     base64.b64decode(f["s"]), int(f["i"]))
        ck = hmac.new(salted, b"Client Key", "sha256").digest()
        sk = hmac.new(salted, b"Server Key", "sha256").digest()
        without = "c=biws,r=" + f["r"]
        auth = ",".join([first_bare, server_first, without]).encode()
        sig = hmac.new(hashlib.sha256(ck).digest(), auth, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(ck, sig))
        state["server_sig"] = hmac.new(sk, auth, "sha256").digest()
        return (without + ",p=" + base64.b64encode(proof).decode()).encode()

    def respond(chal):
        if "first_sent" not in state:
            state["first_sent"] = True
            return ("n,," + first_bare).encode()
        if "server_sig" not in state:
            return final(chal.decode())
        v = chal.decode()
        assert v == "v=" + base64.b64encode(state["server_sig"]).decode()
        state["verified"] = True
        return b""

    m = imaplib.IMAP4("127.0.0.1", imap.imap_port)
    m.starttls(ssl_context=client_tls())
    typ, _ = m.authenticate("SCRAM-SHA-256", respond)
    assert typ == "OK" and state.get("verified")
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    assert "login user=bob@example.test, method=SCRAM-SHA-256" in imap.log()


def test_large_fetch_streams_in_order(imap):
    """A FETCH bigger than the server's output window (about 1 MB) is
    sent as the client reads it; a command pipelined behind it waits."""
    body = b"".join(b"%06d " % i + b"z" * 90 + b"\r\n" for i in range(2000))
    for i in range(40):  # 40 x ~200 KB: more than socket buffers hold
        deliver(imap, "alice@example.test", simple(i, b"big %d" % i, body))
    s, f = raw_session(imap)
    reply(s, f, ('a LOGIN alice@example.test "%s"' %
                 PW["alice@example.test"]).encode())
    reply(s, f, b"b SELECT INBOX")
    s.sendall(b"c FETCH 1:* (BODY.PEEK[TEXT])\r\nd NOOP\r\n")
    time.sleep(1)  # let the server fill its window and wait for us
    got, lines = 0, []
    while True:
        ln = f.readline()
        assert ln, "connection closed"
        m = re.search(rb"\{(\d+)\}\r\n$", ln)
        if m:
            data = f.read(int(m.group(1)))
            assert data == body + b"\r\n"
            got += 1
            continue
        lines.append(ln)
        if ln.startswith(b"d "):
            break
    assert got == 40
    tagged = [l for l in lines if l[:2] in (b"c ", b"d ")]
    assert tagged[0].startswith(b"c OK") and tagged[1].startswith(b"d OK")
    s.close()


def test_search_every_key(imap):
    """Every search key of RFC 3501 6.4.4 on two messages."""
    a = (b"From: Carol <carol@remote.test>\r\nTo: alice@example.test\r\n"
         b"Cc: dave@remote.test\r\nBcc: eve@remote.test\r\n"
         b"Subject: old news\r\nDate: Tue, 14 Jan 2020 23:30:00 -0500\r\n"
         b"X-Color: blue\r\n\r\nshort\r\n")
    b = (b"From: frank@remote.test\r\nTo: alice@example.test\r\n"
         b"Subject: big one\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
         b"\r\n" + b"long body line\r\n" * 500)
    deliver(imap, "alice@example.test", a)
    deliver(imap, "alice@example.test", b)
    m = ssl_login(imap)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Answered \\Flagged \\Draft $Big)")
    m.store("1", "+FLAGS", "(\\Deleted \\Seen)")
    today = time.strftime("%d-%b-%Y", time.gmtime())
    cases = [
        (["ALL"], "1 2"), (["ANSWERED"], "2"), (["UNANSWERED"], "1"),
        (["BCC", "eve"], "1"), (["CC", "dave"], "1"), (["FROM", "frank"], "2"),
        (["TO", "alice"], "1 2"), (["SUBJECT", "NEWS"], "1"),
        (["HEADER", "X-Color", "blu"], "1"), (["HEADER", "X-Color", '""'], "1"),
        (["BODY", '"long body"'], "2"), (["TEXT", "frank"], "2"),
        (["TEXT", "short"], "1"),
        (["DELETED"], "1"), (["UNDELETED"], "2"), (["DRAFT"], "2"),
        (["UNDRAFT"], "1"), (["FLAGGED"], "2"), (["UNFLAGGED"], "1"),
        (["SEEN"], "1"), (["UNSEEN"], "2"), (["KEYWORD", "$Big"], "2"),
        (["UNKEYWORD", "$Big"], "1"), (["LARGER", "2000"], "2"),
        (["SMALLER", "2000"], "1"), (["NEW"], "2"), (["RECENT"], "1 2"),
        (["OLD"], ""), (["ON", today], "1 2"), (["SINCE", today], "1 2"),
        (["BEFORE", today], ""), (["SENTON", "14-Jan-2020"], "1"),
        (["SENTBEFORE", "1-Jan-2021"], "1"), (["SENTSINCE", "1-Jan-2021"], "2"),
        (["UID", "1:*"], "1 2"), (["2"], "2"), (["1,2"], "1 2"),
        (["NOT", "DELETED"], "2"), (["OR", "DELETED", "DRAFT"], "1 2"),
        (["(", "SEEN", "DELETED", ")"], "1"),
    ]
    for keys, want in cases:
        typ, data = m.search(None, *keys)
        assert typ == "OK", keys
        assert data == [want.encode()], (keys, data)
    for bad in (["FOO"], ["BEFORE", "soon"], ["LARGER", "x"], ["OR", "ALL"],
                ["NOT"], ["HEADER", "X"], ["(", ")"]):
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.search(None, *bad)
    m.logout()
