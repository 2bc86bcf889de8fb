"""outmta's tls_policy = verify against a real STARTTLS receiver whose
certificates come from a private CA made here with the openssl CLI: the
certificate must match the name of the hop, for static hops (smarthosts,
domain routes) as for MX hosts, and a hop that is only an address cannot
be verify without a name to check.
"""
import os
import pathlib
import shutil
import ssl
import subprocess
import tempfile

import pytest

from conftest import BUILD, free_port, wait_for, write_conf
from dnsserver import DnsServer
from receiver import Receiver


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki():
    """A CA and server certificates it signed, one per name."""
    # outmta reads the CA file after dropping root: a folder it can see
    base = tempfile.mkdtemp(prefix="sluice-pki-")
    os.chmod(base, 0o755)
    d = pathlib.Path(base)
    ca, cakey = str(d / "ca.pem"), str(d / "ca.key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
            "/CN=Sluice Test CA", "-keyout", cakey, "-out", ca)
    os.chmod(ca, 0o644)
    certs = {}
    for name in ("evil.invalid", "relay.good.test", "mx.good.test"):
        key, csr, crt = (str(d / (name + ext))
                         for ext in (".key", ".csr", ".pem"))
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-subj",
                "/CN=" + name, "-keyout", key, "-out", csr)
        ext = str(d / (name + ".ext"))
        with open(ext, "w") as f:
            f.write("subjectAltName = DNS:%s\n" % name)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                "-CAcreateserial", "-days", "2", "-out", crt,
                "-extfile", ext)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        certs[name] = ctx
    yield ca, certs
    shutil.rmtree(base, ignore_errors=True)


def send(om, rcpt):
    import smtplib
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("alice@example.test", [rcpt], b"From: alice@example."
                   b"test\r\nSubject: tls\r\n\r\nhello over TLS\r\n")


def wrong_then_right(om, pki, ip, port, right, rcpt):
    """The receiver at ip first shows evil.invalid's certificate (the
    mail must wait), then the right one (the mail must go)."""
    ca, certs = pki
    evil = Receiver(ip, port, tls=certs["evil.invalid"])
    try:
        send(om, rcpt)
        wait_for(lambda: "status=deferred" in om.log(), 20,
                 "a deferral for the wrong certificate")
        assert evil.messages == [], "delivered to evil.invalid"
    finally:
        evil.stop()
    good = Receiver(ip, port, tls=certs[right])
    try:
        wait_for(lambda: good.messages, 20, "delivery to " + right)
        assert evil.messages == []
    finally:
        good.stop()


@pytest.mark.parametrize("route,rcpt", [
    # a smarthost: the default policy names it
    ({"next_hop": "smtp:127.0.0.9:%d",
      "tls_policy": "verify:relay.good.test"}, "bob@remote.test"),
    # a domain route: the map entry of its domain does
    ({"domain_routes": "good.test = smtp:127.0.0.9:%d",
      "tls_policy_map": "good.test = verify:relay.good.test"},
     "bob@good.test"),
])
def test_verify_static_hop_checks_the_policy_name(cluster, pki, route,
                                                  rcpt):
    port = free_port()
    conf = {k: v.replace("%d", str(port)) for k, v in route.items()}
    conf.update({"tls_ca_file": pki[0], "retry_min": "1s",
                 "retry_max": "1s", "hop_down_time": "1s"})
    om = cluster.outmta(conf)
    wrong_then_right(om, pki, "127.0.0.9", port, "relay.good.test", rcpt)


def test_verify_mx_hop_checks_the_mx_name(cluster, pki):
    port = free_port()
    dns = DnsServer(a={"mx.good.test": "127.0.0.11"},
                    mx={"good.test": [(10, "mx.good.test")]})
    try:
        om = cluster.outmta({
            "dns_servers": dns.addr, "smtp_port": str(port),
            "tls_policy": "verify", "tls_ca_file": pki[0],
            "retry_min": "1s", "retry_max": "1s", "hop_down_time": "1s"})
        wrong_then_right(om, pki, "127.0.0.11", port, "mx.good.test",
                         "bob@good.test")
    finally:
        dns.stop()


@pytest.mark.parametrize("conf,key", [
    ({"next_hop": "smtp:127.0.0.9:25", "tls_policy": "verify"},
     "tls_policy"),
    ({"domain_routes": "good.test = smtp:127.0.0.9:25",
      "tls_policy_map": "good.test = verify"}, "tls_policy_map"),
])
def test_verify_address_hop_without_name_refused(cluster, conf, key):
    path = os.path.join(cluster.base, "outmta.conf")
    write_conf(path, dict(conf, user="sluice"))
    r = subprocess.run([os.path.join(BUILD, "sluice-outmta"), "-t", "-c",
                        path], capture_output=True, text=True)
    assert r.returncode == 1, r.stdout + r.stderr
    line = list(conf).index(key) + 1
    assert "%s:%d: %s" % (path, line, key) in r.stderr, r.stderr
    assert "127.0.0.9:25" in r.stderr and "verify:NAME" in r.stderr
