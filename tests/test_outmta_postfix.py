"""outmta against a real receiving Postfix with TLS: STARTTLS with the
verify policy (CA-signed certificate for the MX name), and DKIM that still
verifies after Postfix delivered the message."""
import os
import smtplib
import subprocess
import sys
import time

import pytest

from conftest import free_port, queue_tool, wait_for

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import bench  # noqa: E402  (its private Postfix instance)
from test_outmta import dns, keygen  # noqa: E402,F401  (fixtures)

# one private Postfix configuration directory exists (bench.PF_CONF): every
# test that starts one runs on the same xdist worker (--dist loadgroup)
pytestmark = [pytest.mark.skipif(os.geteuid() != 0,
                                 reason="a Postfix instance needs root"),
              pytest.mark.xdist_group("postfix")]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(cluster):
    d = cluster.base
    ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Sluice Test CA", "-keyout", cakey, "-out", ca)
    out = {}
    for name in ("mx1.remote.test", "wrong.example"):
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name +
                                                                ".csr")
        crt, ext = os.path.join(d, name + ".pem"), os.path.join(d, name +
                                                                ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s\n" % name)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj",
                "/CN=" + name, "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
                "-CAcreateserial", "-days", "2", "-out", crt, "-extfile",
                ext)
        os.chmod(key, 0o644)
        out[name] = (crt, key)
    os.chmod(ca, 0o644)
    return ca, out


def start(cluster, dns, ca, certname, pki_certs, dkim_spec):
    port = free_port()
    work = os.path.join(cluster.base, "postfix")
    os.makedirs(work, exist_ok=True)
    crt, key = pki_certs[certname]
    pf = bench.Postfix(work, "delivery", host="127.0.0.2", port=port,
                       domain="remote.test", user="bob", extra={
                           "smtpd_tls_security_level": "may",
                           "smtpd_tls_cert_file": crt,
                           "smtpd_tls_key_file": key,
                           "smtpd_tls_loglevel": "1"})
    om = cluster.outmta({
        "dns_servers": dns,
        "smtp_port": str(port),
        "retry_min": "1s",
        "retry_max": "1s",
        "hop_down_time": "1s",
        "tls_policy_map": "remote.test = verify",
        "tls_ca_file": ca,
        "dkim_keys": dkim_spec})
    return pf, om


def maildir(pf):
    d = os.path.join(pf.mail, "remote.test", "bob", "Maildir", "new")
    return [open(os.path.join(d, n), "rb").read()
            for n in os.listdir(d)] if os.path.isdir(d) else []


def test_verify_tls_and_dkim_through_postfix(cluster, dns, pki):
    dkim = pytest.importorskip("dkim")
    ca, certs = pki
    key, rec = keygen(cluster, "ed25519", "e1")
    rsa, rsa_rec = keygen(cluster, "rsa", "r1")
    pf, om = start(cluster, dns, ca, "mx1.remote.test", certs,
                   "example.test:e1:%s, example.test:r1:%s" % (key, rsa))
    try:
        with smtplib.SMTP("127.0.0.1", om.port) as s:
            s.sendmail("alice@example.test", ["bob@remote.test"],
                       b"From: alice@example.test\r\nTo: bob@remote.test\r\n"
                       b"Subject: across postfix\r\n\r\nhello\r\n")
        got = wait_for(lambda: maildir(pf), 30, "delivery by Postfix")[0]
        log = open(os.path.join(pf.dir, "maillog")).read()
        assert "TLS connection established from" in log
        assert b"with ESMTPS" in got  # Postfix's Received header
        records = {"e1._domainkey.example.test.": rec,
                   "r1._domainkey.example.test.": rsa_rec}

        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return records.get(n, "").encode()
        # dkimpy checks the first signature it finds: check each one
        sigs = [i for i in range(2)]
        for idx in sigs:
            d = dkim.DKIM(got.replace(b"\n", b"\r\n")
                          if b"\r\n" not in got else got)
            assert d.verify(idx=idx, dnsfunc=dnsfunc), idx
    finally:
        pf.stop()


def test_verify_refuses_wrong_certificate(cluster, dns, pki):
    ca, certs = pki
    pf, om = start(cluster, dns, ca, "wrong.example", certs, "")
    try:
        with smtplib.SMTP("127.0.0.1", om.port) as s:
            s.sendmail("alice@example.test", ["bob@remote.test"],
                       b"Subject: must not go\r\n\r\nx\r\n")
        wait_for(lambda: "status=deferred" in om.log(), 30, "a deferral")
        time.sleep(1)
        assert maildir(pf) == []
        assert "pending" in queue_tool(om, "list").stdout
    finally:
        pf.stop()
