"""outmta's DKIM signing domain comes from the From: field read by the
strict RFC 5322 parser (common/addrlist.c): never from an '@' in a
comment or a display name, and no signature at all when From: is not
exactly one field with one mailbox. And the signer sees every header
field, however many, the way a verifier (dkimpy here) does."""
import os
import smtplib
import subprocess

import pytest

from conftest import BUILD, free_port, wait_for
from receiver import Receiver
from test_outmta import dns  # noqa: F401 (a fixture)


def keygen(cluster, domain, sel):
    path = os.path.join(cluster.base, "%s.pem" % sel)
    r = subprocess.run([os.path.join(BUILD, "sluice-dkim-keygen"), "-t",
                        "ed25519", "-d", domain, "-s", sel, "-o", path],
                       capture_output=True, text=True, check=True)
    os.chmod(path, 0o644)  # outmta reads it after dropping root
    return path, "".join(r.stdout.split('"')[1::2])


@pytest.fixture
def tenants(cluster, dns):  # noqa: F811
    mine, mine_rec = keygen(cluster, "example.test", "m1")
    victim, victim_rec = keygen(cluster, "victim.test", "v1")
    port = free_port()
    rx = Receiver("127.0.0.2", port)
    om = cluster.outmta({
        "dns_servers": dns, "smtp_port": str(port),
        "dkim_keys": "example.test:m1:%s, victim.test:v1:%s" %
                     (mine, victim)})
    yield om, rx, {"m1._domainkey.example.test.": mine_rec,
                   "v1._domainkey.victim.test.": victim_rec}
    rx.stop()


def send_all(om, rx, heads):
    """One message per head; the data as received, in order."""
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        for i, head in enumerate(heads):
            s.sendmail("alice@example.test", ["r%d@remote.test" % i],
                       head + b"\r\nTo: x@remote.test\r\nSubject: s\r\n"
                       b"\r\nbody\r\n")
    wait_for(lambda: len(rx.messages) == len(heads), what="every message")
    def rcpt(m):
        r = m[1][0]
        return (r.decode() if isinstance(r, bytes) else r).strip("<>")

    by_rcpt = {rcpt(m): m[2] for m in rx.messages}
    return [by_rcpt["r%d@remote.test" % i] for i in range(len(heads))]


def test_signing_domain_not_from_a_comment(tenants):
    om, rx, _ = tenants
    got = send_all(om, rx, [
        b"From: alice@example.test (on behalf of @victim.test)",
        b'From: "boss@victim.test" <alice@example.test>'])
    for data in got:
        assert b"d=example.test;" in data, data[:400]
        assert b"d=victim.test" not in data


def test_no_signature_when_from_is_unclear(tenants):
    om, rx, _ = tenants
    heads = [b"From: ceo@victim.test <>",
             b"From: <alice@example.test> ceo@victim.test",
             b"From: alice@example.test\r\nFrom: ceo@victim.test",
             b"From: alice@example.test, ceo@victim.test",
             b"From: alice@example.test (unclosed",
             b"Sender: alice@example.test"]
    for data in send_all(om, rx, heads):
        assert b"DKIM-Signature" not in data, data[:400]
    wait_for(lambda: om.log().count("not DKIM-signed") == len(heads),
             what="each refusal logged")


def test_signature_verifies_past_1000_fields(tenants):
    dkim = pytest.importorskip("dkim")
    om, rx, records = tenants
    filler = b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(1100))
    head = (b"From: alice@example.test\r\nSubject: first\r\n" + filler +
            b"Subject: late")
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("alice@example.test", ["bob@remote.test"],
                   head + b"\r\n\r\nbody\r\n")
    wait_for(lambda: rx.messages, what="the signed message")
    data = rx.messages[0][2]
    assert b"d=example.test;" in data

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return records.get(n, "").encode()

    assert dkim.verify(data, dnsfunc=dnsfunc)
