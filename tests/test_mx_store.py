"""Mail from the Internet into a mailbox: mx (stage A) -> store (stage G)."""
import email
import smtplib
import ssl
import subprocess

import pytest

from conftest import messages, wait_messages, wait_for


@pytest.fixture
def pipe(cluster):
    st = cluster.store(users=("alice@example.test", "bob@example.test",
                              "jörg@example.test"))
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    return mx, st


def body_after_trace(raw):
    """The message as the client sent it: drop our Return-Path and
    Delivered-To lines and the Received and Authentication-Results
    headers mx prepended."""
    lines = raw.split(b"\r\n")
    assert lines[0].startswith(b"Return-Path: <")
    assert lines[1].startswith(b"Delivered-To: ")
    assert lines[2].startswith(b"Received: from ")
    i = 3
    while lines[i].startswith(b"\t"):
        i += 1
    assert lines[i].startswith(b"Authentication-Results: mx.example.test")
    i += 1
    while lines[i].startswith(b"\t"):
        i += 1
    return b"\r\n".join(lines[i:])


MSG = (b"From: someone@remote.test\r\nTo: alice@example.test\r\n"
       b"Subject: exact\r\nMessage-ID: <exact@remote.test>\r\n\r\n"
       b"line one\r\n.leading dot\r\n..two dots\r\n\r\n"
       b"trailing spaces   \r\n" + b"x" * 990 + b"\r\nlast\r\n")


def test_smtplib_byte_exact(pipe):
    mx, st = pipe
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        s.sendmail("someone@remote.test", ["alice@example.test"], MSG)
    got = wait_messages(st, "alice@example.test", 1)[0]
    assert body_after_trace(got) == MSG
    assert b"by mx.example.test (Sluice) with ESMTP" in got
    assert b"for <alice@example.test>" in got
    assert got.startswith(b"Return-Path: <someone@remote.test>\r\n")


def test_swaks_delivery(pipe):
    mx, st = pipe
    r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % mx.port,
                        "--to", "alice@example.test",
                        "--from", "someone@remote.test",
                        "--header", "Subject: via swaks",
                        "--body", "hello from swaks"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    got = wait_messages(st, "alice@example.test", 1)[0]
    m = email.message_from_bytes(got)
    assert m["Subject"] == "via swaks"
    assert m.get_all("Received")
    assert b"\r\n\r\nhello from swaks\r\n" in got


def test_8bitmime(pipe):
    mx, st = pipe
    msg = ("From: a@remote.test\r\nSubject: 8bit\r\nContent-Type: "
           "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
           "\r\n\r\nGrüße aus Köln — ½ € ✓\r\n").encode("utf-8")
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("8bitmime")
        s.sendmail("a@remote.test", ["bob@example.test"], msg,
                   mail_options=["BODY=8BITMIME"])
    got = wait_messages(st, "bob@example.test", 1)[0]
    assert body_after_trace(got) == msg


def test_smtputf8(pipe):
    mx, st = pipe
    msg = ("From: josé@remote.test\r\nTo: jörg@example.test\r\n"
           "Subject: ünïcödé\r\n\r\nhallo Jörg\r\n").encode("utf-8")
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("smtputf8")
        s.sendmail("josé@remote.test", ["jörg@example.test"], msg,
                   mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    got = wait_messages(st, "jörg@example.test", 1)[0]
    assert body_after_trace(got) == msg
    assert "Return-Path: <josé@remote.test>".encode() in got


def test_utf8_address_needs_smtputf8(pipe):
    mx, _ = pipe
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        s.command_encoding = "utf-8"
        code, text = s.docmd("MAIL FROM:<josé@remote.test>")
        assert (code, text[:5]) == (553, b"5.6.7")


def test_starttls_delivery(pipe):
    mx, st = pipe
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("starttls")
        s.starttls(context=ctx)
        s.ehlo("client.remote.test")
        assert not s.has_extn("starttls")
        s.sendmail("someone@remote.test", ["alice@example.test"], MSG)
    got = wait_messages(st, "alice@example.test", 1)[0]
    assert b"with ESMTPS" in got and b"(using TLSv1." in got
    assert body_after_trace(got) == MSG


def test_several_recipients_one_message(pipe):
    mx, st = pipe
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("someone@remote.test",
                   ["alice@example.test", "bob@example.test"], MSG)
    a = wait_messages(st, "alice@example.test", 1)[0]
    b = wait_messages(st, "bob@example.test", 1)[0]
    assert body_after_trace(a) == body_after_trace(b) == MSG
    assert b"Delivered-To: bob@example.test" in b


@pytest.mark.parametrize("rcpt", [
    "someone@other.test",
    "user%other.test@example.test",
    "@a.test:bob@example.test",
    "other.test!bob@example.test",
    '"bob@other.test"@example.test',
    "bob@[127.0.0.1]",
    "bob@[IPv6:::1]",
    "bob@example.test.other.test",
])
def test_relay_refused(pipe, rcpt):
    mx, st = pipe
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.remote.test")
        s.mail("someone@remote.test")
        code, text = s.docmd("RCPT TO:<%s>" % rcpt)
        assert code == 554, text
        assert text.startswith(b"5.7.1"), text
    assert "Relay access denied" in mx.log()


def test_logs_carry_queue_id(pipe):
    mx, st = pipe
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        reply = s.sendmail("someone@remote.test", ["alice@example.test"],
                           MSG)
        assert reply == {}
    wait_messages(st, "alice@example.test", 1)
    log = wait_for(lambda: "removed" in mx.log() and mx.log())
    qid = [ln for ln in log.splitlines() if "client=[127.0.0.1]" in ln][0]
    qid = qid.split("]: ", 1)[1].split(":")[0]
    assert "%s: to=<alice@example.test>, relay=127.0.0.1:%d" % (
        qid, st.port) in log
    assert "status=sent (250 2.0.0" in log
    assert "%s: removed" % qid in log


def test_implicit_tls_listener(cluster):
    from conftest import free_port
    st = cluster.store()
    port = free_port()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"smtps_listen": "127.0.0.1:%d" % port})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", port, context=ctx) as s:
        code, _ = s.ehlo("client.remote.test")
        assert code == 250 and not s.has_extn("starttls")
        s.sendmail("someone@remote.test", ["bob@example.test"], MSG)
    got = wait_messages(st, "bob@example.test", 1)[0]
    assert b"with ESMTPS" in got and b"(using TLSv1." in got
    assert body_after_trace(got) == MSG
    # a TLS handshake failure (plain text to the TLS port) is only a log
    import socket
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(b"EHLO plain\r\n")
        raw.settimeout(5)
        try:
            raw.recv(100)
        except OSError:
            pass
    wait_for(lambda: "disconnect from [127.0.0.1]" in mx.log())


def test_bare_postmaster_reaches_the_postmaster(cluster):
    st = cluster.store(users=("alice@example.test",
                              "postmaster@example.test: alice@example.test"))
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("someone@remote.test", ["Postmaster"],
                   b"Subject: hello postmaster\r\n\r\nx\r\n")
    got = wait_messages(st, "alice@example.test", 1)[0]
    assert b"Delivered-To: alice@example.test" in got
    assert b"for <postmaster@example.test>" in got
