"""A stage that owns a resolver stops cleanly (SIGTERM, exit 0, no abort
or sanitizer report) while its lookups are still in flight: the DNS
server here is a UDP socket on 127.0.0.1 that reads nothing and never
answers, so every MX, address and ARC key lookup is pending when the
signal comes. outmta forwards (MX lookups) and seals (ARC key lookups);
msa seals with arc_seal on."""
import smtplib
import socket
import threading
import time

import pytest


# an ARC set whose key (s1._domainkey.fwd.test) must be looked up
ARC_MSG = (b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=fwd.test; s=s1;"
           b" t=1700000000; b=AAAA\r\n"
           b"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;"
           b" d=fwd.test; s=s1; t=1700000000; h=from:to:subject;"
           b" bh=AAAA; b=AAAA\r\n"
           b"ARC-Authentication-Results: i=1; fwd.test; spf=pass\r\n"
           b"From: carol@fwd.test\r\nTo: bob@slow.test\r\n"
           b"Subject: pending\r\n\r\nhello\r\n")


@pytest.fixture
def silent_dns():
    """A 'DNS server' that never answers: queries wait for the timeout."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    yield "127.0.0.1:%d" % s.getsockname()[1]
    s.close()


def send_async(port, rcpts, msg, sender="carol@fwd.test"):
    """Send in a thread: with ARC sealing the reply to the message waits
    for the key lookups, which never end before the stage stops."""
    def run():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                s.sendmail(sender, rcpts, msg)
        except (smtplib.SMTPException, OSError):
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_outmta_stops_with_mx_lookups_pending(cluster, silent_dns):
    om = cluster.outmta({"dns_servers": silent_dns, "dns_timeout": "20s",
                         "retry_min": "1s"})
    for i in range(3):
        with smtplib.SMTP("127.0.0.1", om.port) as s:
            s.sendmail("alice@example.test",
                       ["bob@slow%d.test" % i, "carol@other%d.test" % i],
                       b"From: alice@example.test\r\nSubject: out\r\n\r\n"
                       b"hello\r\n")
    time.sleep(0.5)     # the forwarder asks for the MX records
    om.stop()           # exit 0, no abort, no sanitizer report
    # the shutdown is not recorded as a DNS failure of every message
    assert "status=deferred" not in om.log(), om.log()
    om.start()          # ... and every message is still queued
    assert "3 message(s) in the queue" in om.log()


def test_outmta_sealing_stops_with_key_lookups_pending(cluster, cert,
                                                       silent_dns):
    import test_arc_seal
    k, _ = test_arc_seal.keygen(cluster, "hop1.test", "a1")
    om = cluster.outmta({"dns_servers": silent_dns, "dns_timeout": "20s",
                         "arc_seal": "yes", "trusted_peers": "127.0.0.0/8",
                         "dkim_keys": "hop1.test:a1:%s" % k})
    # one message queued (MX lookup pending), one waiting on its ARC key
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("alice@example.test", ["bob@slow.test"],
                   b"From: alice@example.test\r\nSubject: a\r\n\r\nhi\r\n")
    send_async(om.port, ["bob@slow.test"], ARC_MSG)
    time.sleep(0.5)
    om.stop()


def test_msa_sealing_stops_with_key_lookups_pending(cluster, silent_dns):
    import test_arc_seal
    import test_msa
    k, _ = test_arc_seal.keygen(cluster, "sub.test", "m1")
    w = test_msa.World(cluster, {"arc_seal": "yes",
                                 "dns_servers": silent_dns,
                                 "dns_timeout": "20s",
                                 "arc_keys": "sub.test:m1:%s" % k})
    s = w.smtp("alice@example.test")
    done = []

    def run():
        try:
            s.sendmail("alice@example.test", ["bob@example.test"],
                       ARC_MSG.replace(b"carol@fwd.test",
                                       b"alice@example.test"))
        except (smtplib.SMTPException, OSError):
            pass
        done.append(1)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.7)
    assert not done, "the message did not wait for its ARC key lookup"
    w.msa.stop()

