"""outmta (stage F): delivery to the loopback Internet through real DNS.

dnsmasq on 127.0.0.1 serves the test domains; their mail exchangers are
receivers on other 127.x addresses, all on one port, which outmta uses as
its smtp_port.
"""
import os
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import BUILD, free_port, queue_tool, send_retrying, \
    wait_for
from receiver import Receiver

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


@pytest.fixture
def dns(cluster):
    port = free_port()
    conf = os.path.join(cluster.base, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "port=%d" % port, "listen-address=127.0.0.1",
            "bind-interfaces", "no-resolv", "no-hosts", "local=/test/",
            "mx-host=remote.test,mx1.remote.test,10",
            "mx-host=remote.test,mx2.remote.test,20",
            "host-record=mx1.remote.test,127.0.0.2",
            "host-record=mx2.remote.test,127.0.0.3",
            "host-record=implicit.test,127.0.0.4",
            # RFC 7505 null MX: preference 0, exchange "."
            "dns-rr=nullmx.test,15,000000",
            "host-record=nullmx.test,127.0.0.5",
            # a CNAME on the way to the exchanger, and an IPv6-only one
            "mx-host=cnamed.test,alias.remote.test,10",
            "cname=alias.remote.test,mx1.remote.test",
            "mx-host=v6.test,v6mx.remote.test,10",
            "host-record=v6mx.remote.test,::1",
        ]) + "\n")
    p = subprocess.Popen([DNSMASQ, "-k", "-C", conf, "--user=root"],
                         stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    assert p.poll() is None, "dnsmasq did not start"
    yield "127.0.0.1:%d" % port
    p.terminate()
    p.wait()


@pytest.fixture
def net(cluster, dns):
    """outmta plus receivers for mx1 (127.0.0.2), mx2 (.3), implicit (.4)."""
    port = free_port()
    rx = {ip: Receiver(ip, port) for ip in
          ("127.0.0.2", "127.0.0.3", "127.0.0.4")}
    om = cluster.outmta({
        "dns_servers": dns,
        "smtp_port": str(port),
        "retry_min": "1s",
        "retry_max": "1s",
        "hop_down_time": "1s",
        "trusted_peers": "127.0.0.0/8"})
    yield om, rx
    for r in rx.values():
        r.stop()


def send(om, rcpts, sender="alice@example.test"):
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail(sender, rcpts, b"From: alice@example.test\r\n"
                   b"Subject: out\r\n\r\nhello Internet\r\n")


def test_preferred_mx(net):
    om, rx = net
    send(om, ["bob@remote.test"])
    wait_for(lambda: rx["127.0.0.2"].messages, what="delivery to mx1")
    mail, rcpts, data = rx["127.0.0.2"].messages[0]
    assert rcpts == [b"<bob@remote.test>"]
    assert b"hello Internet" in data and b"by out.example.test" in data
    assert rx["127.0.0.3"].messages == []
    # the receiver has the message before outmta has its 250 and logs it
    wait_for(lambda: "relay=127.0.0.2:" in om.log() and
             "status=sent" in om.log(), what="the delivery's log line")


def test_backup_mx_then_wait_then_deliver(net):
    om, rx = net
    rx["127.0.0.2"].stop()
    send(om, ["carol@remote.test"])
    wait_for(lambda: rx["127.0.0.3"].messages, what="delivery to mx2")
    rx["127.0.0.3"].stop()
    send(om, ["dave@remote.test"])
    wait_for(lambda: "status=deferred" in om.log(), what="a deferral")
    assert "pending" in queue_tool(om, "list").stdout
    port = int(om.log().split("relay=127.0.0.3:")[1].split(",")[0])
    back = Receiver("127.0.0.3", port)
    try:
        wait_for(lambda: back.messages, 20, "delivery once mx2 returns")
    finally:
        back.stop()


def test_implicit_mx(net):
    om, rx = net
    send(om, ["erin@implicit.test"])
    wait_for(lambda: rx["127.0.0.4"].messages, what="implicit MX delivery")


def test_tempfail_then_success_delivered_once(net):
    om, rx = net
    rx["127.0.0.2"].script = ["451 4.3.0 try again later"]
    send(om, ["frank@remote.test"])
    wait_for(lambda: rx["127.0.0.2"].messages, 20, "the retry")
    time.sleep(1.5)
    assert len(rx["127.0.0.2"].messages) == 1
    assert "status=deferred (451 4.3.0 try again later)" in om.log()


def test_null_mx_bounces_at_once(net, cluster):
    """RFC 7505 4.1: 556 5.1.10 at the first try, the domain's own
    address (127.0.0.5, the implicit MX a null MX replaces) never
    tried."""
    om, rx = net
    a = Receiver("127.0.0.5", rx["127.0.0.2"].server.server_address[1])
    try:
        send(om, ["nobody@nullmx.test"], sender="alice@remote.test")
        wait_for(lambda: "does not accept mail (null MX)" in om.log(),
                 what="the null MX failure")
        assert "status=bounced" in om.log()
        # the bounce goes back to alice@remote.test through the same path
        dsn = wait_for(lambda: [m[2] for m in rx["127.0.0.2"].messages
                                if b"multipart/report" in m[2]],
                       what="the DSN at remote.test")[0]
        assert b"Status: 5.1.10" in dsn and b"556 5.1.10" in dsn, dsn
        assert a.connections == 0
    finally:
        a.stop()


def test_unknown_domain_bounces(net):
    om, rx = net
    send(om, ["x@nosuchdomain.test"], sender="")
    wait_for(lambda: "Host or domain name not found" in om.log())


def test_untrusted_peer_refused(cluster, dns):
    om = cluster.outmta({
        "dns_servers": dns,
        "trusted_peers": "10.9.9.9"})
    with pytest.raises(smtplib.SMTPConnectError) as e:
        smtplib.SMTP("127.0.0.1", om.port)
    assert e.value.smtp_code == 554


def keygen(cluster, typ, sel):
    path = os.path.join(cluster.base, "%s.pem" % sel)
    r = subprocess.run([os.path.join(BUILD, "sluice-dkim-keygen"), "-t",
                        typ, "-d", "example.test", "-s", sel, "-o", path],
                       capture_output=True, text=True, check=True)
    # 0600 as made, owned by root: outmta reads it before dropping root
    assert os.stat(path).st_mode & 0o077 == 0
    record = "".join(r.stdout.split('"')[1::2])
    assert record.startswith("v=DKIM1; k=%s; p=" % typ)
    return path, record


@pytest.fixture
def signed_net(cluster, dns):
    rsa, rsa_rec = keygen(cluster, "rsa", "r1")
    ed, ed_rec = keygen(cluster, "ed25519", "e1")
    port = free_port()
    rx = Receiver("127.0.0.2", port)
    om = cluster.outmta({
        "dns_servers": dns,
        "smtp_port": str(port),
        "dkim_keys": "example.test:r1:%s, example.test:e1:%s" % (rsa, ed)})
    yield om, rx, {"r1._domainkey.example.test.": rsa_rec,
                   "e1._domainkey.example.test.": ed_rec}
    rx.stop()


def test_dkim_rsa_and_ed25519_verify(signed_net):
    dkim = pytest.importorskip("dkim")
    om, rx, records = signed_net
    msg = (b"From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\n"
           b"Subject:   folded\r\n  subject line\r\n"
           b"Date: Sun, 22 Nov 2026 16:00:00 +0000\r\n"
           b"Message-ID: <dkim1@example.test>\r\n\r\n"
           b"body  with   spaces \r\n\r\n.dot line\r\n\r\n\r\n")
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("alice@example.test", ["bob@remote.test"], msg)
    wait_for(lambda: rx.messages, what="the signed message")
    data = rx.messages[0][2]
    assert data.count(b"DKIM-Signature:") == 2
    assert b"a=rsa-sha256" in data and b"a=ed25519-sha256" in data

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return records.get(n, "").encode()

    # verify each signature on its own: remove the other one
    for keep in (b"a=rsa-sha256", b"a=ed25519-sha256"):
        lines, out, skip = data.split(b"\r\n"), [], False
        for ln in lines:
            if ln.startswith(b"DKIM-Signature:"):
                skip = keep not in ln
            elif not ln.startswith((b"\t", b" ")):
                skip = False
            if not skip:
                out.append(ln)
        one = b"\r\n".join(out)
        assert dkim.verify(one, dnsfunc=dnsfunc), keep
    # a changed body breaks the signature
    assert not dkim.verify(data.replace(b"body  with", b"b0dy with"),
                           dnsfunc=dnsfunc)


def test_kill9_under_load_loses_nothing(net):
    import re
    import threading
    om, rx = net
    accepted, lock = set(), threading.Lock()

    def client(seqs):
        for seq in seqs:
            msg = ("From: alice@example.test\r\nX-Seq: %d\r\n\r\n%s\r\n" %
                   (seq, "x" * 500)).encode()
            if send_retrying(om.port, "alice@example.test",
                             ["bob@remote.test"], msg):
                with lock:
                    accepted.add(seq)

    threads = [threading.Thread(target=client, args=(range(i, 300, 10),))
               for i in range(10)]
    for t in threads:
        t.start()
    wait_for(lambda: len(accepted) >= 120, 60, "120 accepted")
    om.kill9()
    om.start()
    for t in threads:
        t.join(120)
    assert len(accepted) == 300

    def delivered():
        got = {}
        for _, _, data in list(rx["127.0.0.2"].messages):
            m = re.search(rb"X-Seq: (\d+)", data)
            assert m, data[:600]
            s = int(m.group(1))
            got[s] = got.get(s, 0) + 1
        return got
    wait_for(lambda: accepted <= set(delivered()), 60, "every message")
    got = delivered()
    print("\noutmta crash: %d accepted, %d delivered, %d duplicates" % (
        len(accepted), len(got), sum(n - 1 for n in got.values())))


def report_parts(data):
    import email
    m = email.message_from_bytes(data)
    assert m.get_content_type() == "multipart/report"
    st = [p for p in m.walk()
          if p.get_content_type() == "message/delivery-status"][0]
    return m, st.get_payload()


def test_notify_success_relayed_notice(net):
    om, rx = net
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("alice@implicit.test", ["bob@remote.test"],
                   b"From: alice@implicit.test\r\nSubject: tell me\r\n\r\nx"
                   b"\r\n", mail_options=["ENVID=track+2B1"],
                   rcpt_options=["NOTIFY=SUCCESS"])
    wait_for(lambda: rx["127.0.0.2"].messages, what="the delivery")
    # the receiver does not offer DSN: outmta reports "relayed" itself
    dsn = wait_for(lambda: rx["127.0.0.4"].messages, what="the notice")
    m, groups = report_parts(dsn[0][2])
    assert dsn[0][0] == b"<>"
    assert groups[0]["Original-Envelope-Id"] == "track+2B1"
    assert groups[1]["Action"] == "relayed"
    assert groups[1]["Final-Recipient"] == "rfc822; bob@remote.test"


def test_delay_warning_once(cluster, dns):
    port = free_port()
    rx = Receiver("127.0.0.4", port)  # implicit.test: the sender's domain
    om = cluster.outmta({
        "dns_servers": dns,
        "smtp_port": str(port),
        "retry_min": "1s",
        "retry_max": "1s",
        "hop_down_time": "1s",
        "delay_warning_time": "2s"})
    try:
        # remote.test's exchangers (127.0.0.2/3) are not listening
        with smtplib.SMTP("127.0.0.1", om.port) as s:
            s.sendmail("alice@implicit.test", ["bob@remote.test"],
                       b"From: alice@implicit.test\r\nSubject: slow\r\n\r\n"
                       b"x\r\n")
        dsn = wait_for(lambda: rx.messages, 20, "the delay notice")
        m, groups = report_parts(dsn[0][2])
        assert groups[1]["Action"] == "delayed"
        assert "Delayed Mail" in m["Subject"]
        time.sleep(3)
        assert len(rx.messages) == 1, "one delay notice only"
        assert "pending" in queue_tool(om, "list").stdout
    finally:
        rx.stop()


def test_cname_chain_to_exchanger(net):
    om, rx = net
    send(om, ["gina@cnamed.test"])
    wait_for(lambda: rx["127.0.0.2"].messages, what="delivery via CNAME")
    assert rx["127.0.0.2"].messages[0][1] == [b"<gina@cnamed.test>"]


def test_ipv6_only_exchanger(net):
    import socketserver
    om, rx = net
    # the receivers share one port: find it from the fixture's receiver
    port = rx["127.0.0.2"].server.server_address[1]
    socketserver.ThreadingTCPServer.address_family = __import__(
        "socket").AF_INET6
    try:
        v6 = Receiver("::1", port)
    finally:
        import socket as _s
        socketserver.ThreadingTCPServer.address_family = _s.AF_INET
    try:
        send(om, ["hank@v6.test"])
        wait_for(lambda: v6.messages, what="delivery over IPv6")
        wait_for(lambda: "relay=[::1]:%d" % port in om.log(),
                 what="the delivery's log line")
    finally:
        v6.stop()


def test_dns_failure_defers_never_bounces(cluster):
    dead = free_port()  # nothing answers DNS there
    om = cluster.outmta({
        "dns_servers": "127.0.0.1:%d" % dead,
        "dns_timeout": "1s",
        "retry_min": "1s",
        "retry_max": "1s"})
    send(om, ["ivy@remote.test"])
    wait_for(lambda: "failed temporarily" in om.log(), 20, "a deferral")
    time.sleep(2)
    assert "status=bounced" not in om.log()
    assert "pending" in queue_tool(om, "list").stdout


def test_local_domain_routed_to_store(cluster, dns):
    from conftest import wait_messages
    st = cluster.store()
    om = cluster.outmta({
        "dns_servers": dns,
        "domain_routes": "example.test = lmtp:127.0.0.1:%d" % st.port})
    send(om, ["bob@example.test"])
    got = wait_messages(st, "bob@example.test", 1)[0]
    assert b"hello Internet" in got


def test_connection_reused_for_later_messages(net):
    om, rx = net
    for i in range(6):
        send(om, ["user%d@remote.test" % i])
        wait_for(lambda: len(rx["127.0.0.2"].messages) == i + 1,
                 what="message %d" % i)
    # one after the other, all through the same (idle, pooled) connection
    assert rx["127.0.0.2"].connections == 1


def test_dsn_boundary_random_and_ret_hdrs_headers_only(net):
    """RET=HDRS returns the header section only, even when the message
    has no blank line; the report's MIME boundary is not guessable (a
    predictable one lets the returned text forge parts of the report)."""
    import email
    om, rx = net
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        for i in range(2):
            s.sendmail("alice@remote.test", ["nobody@nullmx.test"],
                       b"Subject: hdrs %d\r\nX-Long: folded\r\n  on\r\n"
                       b"This is the secret body, no blank line\r\n"
                       b"Second: body line\r\n" % i,
                       mail_options=["RET=HDRS"])
    dsns = wait_for(lambda: len(rx["127.0.0.2"].messages) >= 2 and
                    rx["127.0.0.2"].messages, what="two bounces")
    boundaries = set()
    for _, _, data in dsns:
        m = email.message_from_bytes(data)
        b = m.get_boundary()
        boundaries.add(b)
        assert "out.example.test" not in b and len(b) >= 32, b
        part = [p for p in m.walk()
                if p.get_content_type() == "text/rfc822-headers"][0]
        text = part.as_bytes()
        assert b"Subject: hdrs" in text and b"X-Long: folded" in text
        assert b"secret body" not in text and b"Second:" not in text, text
    assert len(boundaries) == 2
