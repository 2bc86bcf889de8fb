"""Every TLS listener offers forward secrecy only: TLS 1.2 with a static
RSA key exchange (no ECDHE) must not handshake. Checked with openssl
s_client against mx's STARTTLS and the store's implicit-TLS IMAP.
"""
import subprocess

import pytest

from conftest import free_port


def s_client(port, cipher, starttls=None):
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
            "-tls1_2", "-cipher", cipher, "-brief"]
    if starttls:
        args += ["-starttls", starttls]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=10)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


@pytest.fixture
def listeners(cluster):
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % free_port()])
    imaps = free_port()
    cluster.store(extra={"tls_cert": cluster.cert[0],
                         "tls_key": cluster.cert[1],
                         "imaps_listen": "127.0.0.1:%d" % imaps})
    return [(mx.port, "smtp"), (imaps, None)]


def test_static_rsa_suites_refused(listeners):
    for port, starttls in listeners:
        for cipher in ("AES128-SHA", "AES256-GCM-SHA384", "AES128-SHA256"):
            rc, out = s_client(port, cipher, starttls)
            assert rc != 0, "%s accepted on %d:\n%s" % (cipher, port, out)
        rc, out = s_client(port, "ECDHE-RSA-AES128-GCM-SHA256", starttls)
        assert rc == 0 and "ECDHE-RSA-AES128-GCM-SHA256" in out, out
