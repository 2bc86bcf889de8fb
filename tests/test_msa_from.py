"""msa's From:/Sender: check goes through the strict RFC 5322 parser
(common/addrlist.c): a mailbox a mail reader could show must never hide
from it, so anything that is not a clean list of mailboxes the user
owns is refused with 553 5.7.1. Real msa, real smtplib client."""
import smtplib

import pytest

from conftest import client_tls, messages, wait_messages
from test_msa import PW, World

HIDDEN = [
    "From: ceo@bank.test <>",
    'From: "ceo@bank.test" <>',
    "From: <alice@example.test> ceo@bank.test",
    "From: alice@example.test ceo@bank.test",
    "From: alice@example.test <ceo@bank.test>",
    "From: alice@example.test\r\nFrom: ceo@bank.test",
    "From: team: ceo@bank.test;",
    "From: =?u\"tf-8?q?x?= <ceo@bank.test>, \"?= <alice@example.test>",
    "From: alice@example.test\r\nSender: alice@example.test, "
    "sales@example.test",
    "From: alice@example.test\r\nSender: ceo@bank.test",
    "From: Alice Smith",
]
CLEAN = [
    "From: Alice <alice@example.test>",
    'From: "ceo@bank.test" <alice@example.test>',
    "From: alice@example.test (on behalf of @bank.test)",
    "From: Alice\r\n <ALICE@Example.Test>, Sales <sales@example.test>",
    "From: <@relay.test:alice@example.test>",
    "From: alice@example.test\r\nSender: sales@example.test",
]


@pytest.fixture
def world(cluster):
    return World(cluster, {"rate_messages": 1000})


def send(s, head):
    msg = (head + "\r\nTo: bob@example.test\r\nSubject: t\r\n\r\nhi\r\n")
    try:
        s.sendmail("alice@example.test", ["bob@example.test"], msg)
        return 250, b""
    except smtplib.SMTPDataError as e:
        s.rset()
        return e.smtp_code, e.smtp_error


def test_hidden_mailboxes_refused(world):
    s = smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20)
    s.starttls(context=client_tls())
    s.login("alice@example.test", PW["alice@example.test"])
    for head in HIDDEN:
        code, text = send(s, head)
        assert code == 553 and text.startswith(b"5.7.1"), (head, code, text)
    for head in CLEAN:
        code, text = send(s, head)
        assert code == 250, (head, code, text)
    s.quit()
    got = wait_messages(world.store, "bob@example.test", len(CLEAN))
    assert len(got) == len(CLEAN)
    assert not any(b"bank.test>" in m or b"ceo@bank.test\r\n" in m
                   for m in messages(world.store, "bob@example.test"))


def test_our_authres_from_a_user_removed(cluster):
    """A user must not hand another user an Authentication-Results
    field under our authserv-id (mail readers trust those): msa removes
    them, however the id is written, and keeps other providers'."""
    world = World(cluster, {"rate_messages": 1000,
                            "authserv_id": "mx.example.test"})
    forged = ["Authentication-Results: mx.example.test; dkim=pass "
              "header.d=bank.test",
              "Authentication-Results: (ok)\r\n \"MX.example.test\" 1; "
              "dmarc=pass header.from=bank.test"]
    s = smtplib.SMTP("127.0.0.1", world.msa.port, timeout=20)
    s.starttls(context=client_tls())
    s.login("alice@example.test", PW["alice@example.test"])
    for f in forged:
        code, text = send(s, f + "\r\nAuthentication-Results: other.test; "
                          "spf=pass\r\nFrom: alice@example.test")
        assert code == 250, (code, text)
    s.quit()
    got = wait_messages(world.store, "bob@example.test", len(forged))
    for m in got:
        assert b"bank.test" not in m, m
        assert b"Authentication-Results: other.test; spf=pass" in m
    assert "removed 1 Authentication-Results field" in world.msa.log()
