"""ARC sealing (RFC 8617) at outmta and msa for mail we forward (issue
#13): the set we add verifies with our own verifier (an mx) and with an
independent one (python3-dkim's arc_verify), a second hop adds i=2 with
cv=pass, and a chain broken on the way is sealed with cv=fail. A private
dnsmasq serves the sealing keys and the receivers' MX records."""
import os
import re
import smtplib
import subprocess

import dkim
import pytest

from conftest import BUILD, dnsmasq, free_port, wait_for, wait_messages
from receiver import Receiver

ALICE = "alice@example.test"


def keygen(cluster, domain, sel):
    path = os.path.join(cluster.base, "%s.pem" % sel)
    r = subprocess.run([os.path.join(BUILD, "sluice-dkim-keygen"), "-t",
                        "rsa", "-d", domain, "-s", sel, "-o", path],
                       capture_output=True, text=True, check=True)
    return path, "".join(r.stdout.split('"')[1::2])


def txt(name, value):
    parts = [value[i:i + 200] for i in range(0, len(value), 200)]
    return "txt-record=%s,%s" % (name, ",".join('"%s"' % p for p in parts))


@pytest.fixture
def arcnet(cluster):
    """Two sealing outmtas (hop1.test, hop2.test keys) in front of a
    receiver for remote.test; keys in a private DNS."""
    k1, r1 = keygen(cluster, "hop1.test", "a1")
    k2, r2 = keygen(cluster, "hop2.test", "a2")
    recs = {"a1._domainkey.hop1.test": r1, "a2._domainkey.hop2.test": r2}
    proc, servers = dnsmasq(cluster.base, [
        "mx-host=remote.test,mx1.remote.test,10",
        "host-record=mx1.remote.test,127.0.0.2",
        txt("fwd.test", "v=spf1 ip4:127.0.0.0/8 -all")] +
        [txt(n, v) for n, v in recs.items()])
    port = free_port()
    rx = Receiver("127.0.0.2", port)
    oms = [cluster.outmta({"dns_servers": servers, "smtp_port": str(port),
                           "arc_seal": "yes", "trusted_peers": "127.0.0.0/8",
                           "dkim_keys": keys})
           for keys in ("hop1.test:a1:%s" % k1, "hop2.test:a2:%s" % k2)]

    def dnsfunc(name, timeout=5):
        n = name.decode().rstrip(".")
        return recs.get(n, "").encode()
    yield oms, rx, servers, dnsfunc
    rx.stop()
    proc.terminate()
    proc.wait()


MSG = (b"From: Carol <carol@fwd.test>\r\nTo: bob@remote.test\r\n"
       b"Subject: forwarded  list\r\n mail\r\n"
       b"Message-ID: <arc1@fwd.test>\r\n\r\n"
       b"body  with   spaces \r\n\r\n.dot line\r\n\r\n\r\n")


def relay(om, rx, msg, n):
    with smtplib.SMTP("127.0.0.1", om.port) as s:
        s.sendmail("carol@fwd.test", ["bob@remote.test"], msg)
    wait_for(lambda: len(rx.messages) >= n, what="message %d" % n)
    return rx.messages[n - 1][2]


def unfolded(m):
    """The header lines of m with the folds kept inside each field, then
    the body as one last item."""
    head, body = m.split(b"\r\n\r\n", 1)
    fields = re.split(rb"\r\n(?![ \t])", head)
    return fields + [b"", body]


def arc_fields(m):
    head = m.split(b"\r\n\r\n")[0].replace(b"\r\n\t", b" ")
    return [f for f in head.split(b"\r\n") if f.lower().startswith(b"arc-")]


def test_outmta_seals_one_and_two_hops(cluster, arcnet):
    (om1, om2), rx, servers, dnsfunc = arcnet
    m1 = relay(om1, rx, MSG, 1)
    f = arc_fields(m1)
    assert len(f) == 3, m1
    assert b"ARC-Authentication-Results: i=1; out.example.test; arc=none" \
        in f[0]
    assert re.search(rb"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=hop1.test;"
                     rb" s=a1;", f[2]), f
    cv, res, why = dkim.arc_verify(m1, dnsfunc=dnsfunc)
    assert cv == dkim.CV_Pass, (why, res)
    m2 = relay(om2, rx, m1, 2)
    assert len(arc_fields(m2)) == 6
    assert b"ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=hop2.test" in m2
    cv, res, why = dkim.arc_verify(m2, dnsfunc=dnsfunc)
    assert cv == dkim.CV_Pass, (why, res)
    assert [r["instance"] for r in res] == [2, 1]
    # and our own verifier: an mx with the same DNS
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    {"dns_servers": servers, "dns_timeout": "1s"})
    for m in (m1, m2):
        with smtplib.SMTP("127.0.0.1", mx.port) as s:
            s.sendmail("carol@fwd.test", [ALICE], m)
    got = wait_messages(st, ALICE, 2)
    for m in got:
        assert b"arc=pass smtp.remote-ip=127.0.0.1" in m, mx.log()


def test_broken_chain_sealed_with_cv_fail(arcnet):
    """The body changed after the first hop: the second seals cv=fail,
    which both verifiers then report as a failed chain."""
    (om1, om2), rx, _, dnsfunc = arcnet
    m1 = relay(om1, rx, MSG, 1)
    m2 = relay(om2, rx, m1.replace(b"dot line", b"dot lime"), 2)
    assert b"ARC-Seal: i=2; a=rsa-sha256; cv=fail; d=hop2.test" in m2
    assert "arc=fail (ARC-Message-Signature i=1" in om2.log(), om2.log()
    # python3-dkim: the latest seal says fail, the chain ended
    cv, _, why = dkim.arc_verify(m2, dnsfunc=dnsfunc)
    assert cv is None and why.startswith("ARC-Seal[2] reported failure"), \
        why
    # RFC 8617 5.1.2: that seal covers its own set only, as if it were
    # the first; python3-dkim checks it so once set 1 is taken away
    own = b"\r\n".join(ln for ln in unfolded(m2)
                        if not re.match(rb"(?i)arc-[a-z-]+: *i=1;", ln))
    arc = dkim.ARC(own)
    _, sets = arc.sorted_arc_headers()
    got = arc.verify_instance(sets, 2, dnsfunc=dnsfunc)
    assert got["as-valid"] and got["cv"] == b"fail", got
    # a chain that says fail gets no more sets (RFC 8617 5.1.2)
    m3 = relay(om1, rx, m2, 3)
    assert len(arc_fields(m3)) == 6 and "not ARC-sealed" in om1.log()


def test_msa_seals_submitted_mail(cluster):
    """msa seals i=1 (cv=none) with its own key and records how the user
    authenticated; the set verifies with python3-dkim."""
    import test_msa
    k, r = keygen(cluster, "sub.test", "m1")
    proc, servers = dnsmasq(cluster.base, [
        txt("m1._domainkey.sub.test", r),
        txt("example.test", "v=spf1 ip4:127.0.0.0/8 -all")])
    try:
        w = test_msa.World(cluster, {"arc_seal": "yes", "dns_servers": servers,
                                     "arc_keys": "sub.test:m1:%s" % k})
        s = w.smtp("alice@example.test")
        s.sendmail("alice@example.test", ["bob@example.test"],
                   test_msa.msg("alice@example.test", "bob@example.test"))
        s.quit()
        m = wait_messages(w.store, "bob@example.test", 1)[0]
        f = arc_fields(m)
        assert len(f) == 3, m
        assert f[0] == (b"ARC-Authentication-Results: i=1; msa.example.test;"
                        b" arc=none; auth=pass smtp.auth=alice@example.test")
        cv, _, why = dkim.arc_verify(m, dnsfunc=lambda n, timeout=5:
                                     r.encode() if n.startswith(b"m1.")
                                     else b"")
        assert cv == dkim.CV_Pass, why
        assert "ARC set added: i=1, cv=none, d=sub.test" in w.msa.log()
    finally:
        proc.terminate()
        proc.wait()


def test_outmta_copies_our_results_into_its_set(arcnet):
    """RFC 8617 4.1.1: the ARC-Authentication-Results says what our
    border (mx, same authserv-id) found, not only arc=; results under
    another id, and our own arc= (the set's cv says it), are not
    copied."""
    (om1, _), rx, _, dnsfunc = arcnet
    ours = (b"Authentication-Results: out.example.test;\r\n"
            b"\tspf=pass smtp.mailfrom=carol@fwd.test;\r\n"
            b"\tdkim=pass (2048-bit key) header.d=fwd.test;\r\n"
            b"\tarc=none; dmarc=pass header.from=fwd.test\r\n")
    other = b"Authentication-Results: other.test; spf=fail\r\n"
    m = relay(om1, rx, other + ours + MSG, 1)
    aar = arc_fields(m)[0]
    assert aar == (b"ARC-Authentication-Results: i=1; out.example.test; "
                   b"arc=none; spf=pass smtp.mailfrom=carol@fwd.test; "
                   b"dkim=pass (2048-bit key) header.d=fwd.test; "
                   b"dmarc=pass header.from=fwd.test"), aar
    cv, res, why = dkim.arc_verify(m, dnsfunc=dnsfunc)
    assert cv == dkim.CV_Pass, (why, res)
