"""The SMTP client engine: mx relaying to another mx over SMTP.

mx1 -> (SMTP, STARTTLS, PIPELINING) -> mx2 -> (LMTP) -> store.
"""
import smtplib
import time

from conftest import messages, queue_tool, wait_for, wait_messages


def send(mx, rcpts, subject):
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("someone@remote.test", rcpts,
                   ("From: someone@remote.test\r\nSubject: %s\r\n\r\n"
                    ".dot line\r\nbody\r\n" % subject).encode(),
                   mail_options=["RET=HDRS", "ENVID=e+2B1"],
                   rcpt_options=["NOTIFY=FAILURE",
                                 "ORCPT=rfc822;x+40example.test"])


def test_smtp_hop_with_starttls(cluster):
    st = cluster.store()
    mx2 = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    mx1 = cluster.mx(["smtp:127.0.0.1:%d" % mx2.port],
                     extra={"next_hop_tls": "encrypt"})
    send(mx1, ["alice@example.test", "bob@example.test"], "relayed")
    got = wait_messages(st, "alice@example.test", 1)[0]
    assert len(messages(st, "bob@example.test")) == 1
    # mx2's Received (on top) says the hop from mx1 was encrypted
    first = got.split(b"\r\nReceived: ")[1]
    assert b"with ESMTPS" in first and b"(using TLSv1." in first
    assert got.count(b"\r\nReceived: ") == 2
    assert b"\r\n.dot line\r\nbody\r\n" in got
    assert "TLS established" in mx2.log()
    # both recipients went in one transaction, with the DSN parameters
    assert mx2.log().count("nrcpt=2") == 1


def test_encrypt_policy_refuses_clear(cluster):
    st = cluster.store()
    mx2 = cluster.mx(["lmtp:127.0.0.1:%d" % st.port], tls=False)
    mx1 = cluster.mx(["smtp:127.0.0.1:%d" % mx2.port],
                     extra={"next_hop_tls": "encrypt"})
    send(mx1, ["alice@example.test"], "secret")
    wait_for(lambda: "TLS is required" in mx1.log(), what="the refusal")
    time.sleep(1)
    assert messages(st, "alice@example.test") == []
    assert "pending" in queue_tool(mx1, "list").stdout


def test_remote_5xx_per_recipient(cluster):
    st = cluster.store()
    mx2 = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    # mx1 routes other.test to mx2, which refuses to relay it (554 5.7.1)
    mx1 = cluster.mx(["smtp:127.0.0.1:%d" % mx2.port],
                     extra={"local_domains": "example.test, other.test"})
    send(mx1, ["alice@example.test", "carol@other.test"], "mixed")
    wait_messages(st, "alice@example.test", 1)
    wait_for(lambda: "to=<carol@other.test>" in mx1.log() and
             "status=bounced" in mx1.log(), what="the bounce")
    # the sender is remote: the bounce goes out through mx2 (refused
    # there as relaying, and that failure is not bounced again: null
    # sender)
    wait_for(lambda: "no bounce: null sender" in mx1.log(),
             what="the bounce's own failure to be dropped")
