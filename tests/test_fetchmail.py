"""fetchmail (Debian's) retrieves mail from the store over POP3S and IMAPS
(issue #19).

The store gets messages for alice over LMTP; fetchmail, with the TLS
certificate checked against the test's certificate as the only trusted
one (sslcertck, sslcertfile; the certificate names "localhost"), logs in
over implicit TLS, hands each message to an MDA command that writes it
to a file, and deletes it on the server. The files must hold the
messages' headers and bodies, and the mailbox must be empty afterwards.
The same run against a certificate the client does not trust must fail
and leave the mail where it is.
"""
import glob
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import free_port, port_open, wait_for

pytest.importorskip("test_pop3")
from test_pop3 import PASSWORDS, Pop  # noqa: E402

FETCHMAIL = shutil.which("fetchmail")
ALICE = "alice@example.test"
pytestmark = pytest.mark.skipif(FETCHMAIL is None,
                                reason="fetchmail not installed")


def message(n):
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: fetched %d\r\nMessage-ID: <f%d@remote.test>\r\n"
            b"\r\nbody of message %d\r\n..a dotted line\r\n" % (n, n, n))


@pytest.fixture
def store(cluster):
    imaps = free_port()
    pop = Pop(cluster, extra={"imaps_listen": "127.0.0.1:%d" % imaps,
                              "imap_listen": "127.0.0.1:%d" % free_port()})
    pop.imaps = imaps
    wait_for(lambda: port_open(imaps), what="IMAPS port")
    return pop


def run_fetchmail(proto, port, ca, n_expected=None):
    """One fetchmail run; returns (exit status, messages written, log)."""
    d = tempfile.mkdtemp(prefix="sluice-fetchmail-")
    try:
        out = os.path.join(d, "out")
        os.mkdir(out)
        rc = os.path.join(d, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no bouncemail\n'
                    'set idfile "%s/ids"\n'
                    'poll 127.0.0.1 with proto %s service %d\n'
                    '  user "%s" there with password "%s" is "nobody" here\n'
                    '  ssl sslcertck sslcertfile "%s" sslcommonname '
                    '"localhost"\n'
                    '  mda "/bin/sh -c \'cat > %s/$$.eml\'"\n'
                    '  fetchall\n' % (d, proto, port, ALICE,
                                       PASSWORDS[ALICE], ca, out))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=d, FETCHMAILHOME=d)
        r = subprocess.run([FETCHMAIL, "-f", rc, "-v", "--nosyslog",
                            "--pidfile", os.path.join(d, "pid")],
                           env=env, capture_output=True, text=True,
                           timeout=60)
        got = []
        for p in sorted(glob.glob(os.path.join(out, "*.eml"))):
            with open(p, "rb") as f:
                got.append(f.read())
        return r.returncode, got, r.stdout + r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)


def other_ca():
    """A self-signed certificate for "localhost" that the store does not
    have: fetchmail must refuse the store's."""
    d = tempfile.mkdtemp(prefix="sluice-otherca-")
    crt = os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", os.path.join(d, "key.pem"), "-out", crt],
                   check=True, capture_output=True)
    return d, crt


def check_fetched(got, log, numbers):
    nums = sorted(int(re.search(rb"^Subject: fetched (\d+)\r?$", m,
                                re.M).group(1)) for m in got)
    assert nums == sorted(numbers), log
    for m, n in zip(sorted(got), nums):
        # the body as delivered (fetchmail hands LF line ends to the MDA)
        body = b"\nbody of message %d\n..a dotted line\n" % n
        assert body in m.replace(b"\r\n", b"\n"), m


@pytest.mark.parametrize("proto", ["POP3", "IMAP"])
def test_fetchmail_over_tls(store, cluster, proto):
    port = store.sport if proto == "POP3" else store.imaps
    for n in (1, 2, 3):
        store.deliver(ALICE, message(n))
    # an untrusted certificate: nothing is fetched, nothing removed
    d, bad = other_ca()
    try:
        rc, got, log = run_fetchmail(proto, port, bad)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert rc != 0 and got == [], log
    assert "certificate" in log.lower(), log
    rc, got, log = run_fetchmail(proto, port, cluster.cert[0])
    assert rc == 0, log
    check_fetched(got, log, [1, 2, 3])
    # fetchmail deleted them: the mailbox is empty, a new one comes alone
    p = store.pop3s(ALICE)
    assert p.stat()[0] == 0
    p.quit()
    store.deliver(ALICE, message(4))
    rc, got, log = run_fetchmail(proto, port, cluster.cert[0])
    assert rc == 0, log
    check_fetched(got, log, [4])
