"""Sender authentication at mx (issue #13 items 1 and 2): SPF at RCPT,
DKIM and DMARC at end of data, our own domains forged from outside, and
the Authentication-Results field. A private dnsmasq on 127.0.0.1 serves
the records; messages are signed by an independent signer (python3-dkim).
The client is 127.0.0.1, so SPF records name that address or not."""
import base64
import os
import smtplib
import socket
import subprocess
import time

import authres as authres_lib
import dkim
import pytest

from conftest import (dnsmasq, free_port, messages, metric, wait_for,
                      wait_messages)

ALICE = "alice@example.test"


def keypair(base, name):
    """An RSA 2048 key: (PEM private key bytes, p= value)."""
    key = os.path.join(base, name + ".pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    with open(key, "rb") as f:
        return f.read(), base64.b64encode(der).decode()


def txt(name, value):
    """A dnsmasq txt-record line; long values in 200-octet strings."""
    parts = [value[i:i + 200] for i in range(0, len(value), 200)] or [""]
    return "txt-record=%s,%s" % (name, ",".join('"%s"' % p for p in parts))


@pytest.fixture
def auth(cluster):
    """A store and an mx that checks senders against a private DNS."""
    priv, pub = keypair(cluster.base, "sel")
    import nacl.signing
    ed = nacl.signing.SigningKey.generate()
    ed_priv = base64.b64encode(bytes(ed))
    ed_pub = base64.b64encode(bytes(ed.verify_key)).decode()
    records = [
        txt("pass.test", "v=spf1 ip4:127.0.0.0/8 -all"),
        txt("fail.test", "v=spf1 ip4:192.0.2.1 -all"),
        txt("soft.test", "v=spf1 ~all"),
        txt("neutral.test", "v=spf1 ?all"),
        txt("perm.test", "v=spf1 bogus:x -all"),
        txt("two.test", "v=spf1 -all"), txt("two.test", "v=spf1 +all"),
        txt("mxm.test", "v=spf1 mx -all"),
        "mx-host=mxm.test,mail.mxm.test,10",
        "host-record=mail.mxm.test,127.0.0.1",
        txt("incl.test", "v=spf1 include:pass.test -all"),
        txt("redir.test", "v=spf1 redirect=pass.test"),
        txt("macro.test", "v=spf1 exists:%{i}.%{l}._spf.%{d} -all"),
        "host-record=127.0.0.1.good._spf.macro.test,127.0.0.2",
        txt("loop.test", "v=spf1 include:loop.test -all"),
        "server=/tempfail.test/127.0.0.1#9",
        # DKIM and DMARC: signer.test signs, sends from a passing host
        txt("signer.test", "v=spf1 ip4:127.0.0.1 -all"),
        txt("sel._domainkey.signer.test", "v=DKIM1; k=rsa; p=" + pub),
        txt("ed._domainkey.signer.test", "v=DKIM1; k=ed25519; p=" + ed_pub),
        txt("_dmarc.signer.test", "v=DMARC1; p=reject"),
        txt("arc._domainkey.fwd.test", "v=DKIM1; k=rsa; p=" + pub),
        txt("_dmarc.rej.test", "v=DMARC1; p=reject"),
        txt("_dmarc.quar.test", "v=DMARC1; p=quarantine"),
        txt("_dmarc.none.test", "v=DMARC1; p=none"),
        txt("_dmarc.org.test", "v=DMARC1; p=reject; sp=quarantine"),
    ]
    proc, servers = dnsmasq(cluster.base, records)
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    {"dns_servers": servers, "dns_timeout": "1s"})
    mx.dkim_pub = pub
    yield mx, st, priv, ed_priv
    proc.terminate()
    proc.wait()


def mail(frm, subject="hello", body="Hello.\r\n", hfrom=None, raw=None):
    """raw: the From: field's value as it is, else <hfrom or frm>."""
    return ("From: %s\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Message-ID: <%s@x.test>\r\n\r\n%s" %
            (raw or "<%s>" % (hfrom or frm), ALICE, subject, time.time(),
             body)).encode()


def send(mx, sender, msg):
    """(code, text) of the first refusal, or (250, b"") when accepted."""
    s = smtplib.SMTP("127.0.0.1", mx.port, timeout=20)
    try:
        s.ehlo("client.test")
        code, text = s.mail(sender)
        if code != 250:
            return code, text
        code, text = s.rcpt(ALICE)
        if code != 250:
            return code, text
        code, text = s.data(msg)
        return code, text
    finally:
        s.close()


def authres(st, n):
    m = wait_messages(st, ALICE, n)[n - 1]
    head = m.split(b"\r\n\r\n")[0].decode()
    fields = [f for f in head.replace("\r\n\t", " ").split("\r\n")
              if f.lower().startswith("authentication-results:")]
    assert len(fields) == 1, head
    return fields[0]


@pytest.mark.parametrize("domain,result", [
    ("pass.test", "pass"), ("soft.test", "softfail"),
    ("neutral.test", "neutral"), ("perm.test", "permerror"),
    ("two.test", "permerror"), ("mxm.test", "pass"), ("incl.test", "pass"),
    ("redir.test", "pass"), ("nothing.test", "none"),
    ("loop.test", "permerror"), ("tempfail.test", "temperror"),
])
def test_spf_results(auth, domain, result):
    mx, st, _, _ = auth
    code, _ = send(mx, "bob@" + domain, mail("bob@" + domain))
    assert code == 250
    ar = authres(st, 1)
    assert ar.startswith("Authentication-Results: mx.example.test;"), ar
    assert "spf=%s smtp.mailfrom=bob@%s" % (result, domain) in ar, ar
    assert "spf=%s" % result in mx.log()
    assert metric(mx, 'sluice_spf_total{result="%s"}' % result) == 1


def test_spf_macro_exists(auth):
    mx, st, _, _ = auth
    assert send(mx, "good@macro.test", mail("good@macro.test"))[0] == 250
    assert "spf=pass" in authres(st, 1)
    code, text = send(mx, "evil@macro.test", mail("evil@macro.test"))
    assert code == 550 and b"5.7.23" in text


def test_spf_fail_refused_at_rcpt(auth):
    mx, st, _, _ = auth
    code, text = send(mx, "bob@fail.test", mail("bob@fail.test"))
    assert code == 550 and text.startswith(b"5.7.23"), text
    assert b"fail.test" in text
    assert "550 5.7.23 SPF fail" in mx.log()
    assert messages(st, ALICE) == []
    assert metric(mx, "sluice_spf_rejected_total") == 1


def test_spf_pipelined_rcpts_wait_in_order(auth):
    """MAIL, RCPTs and DATA in one write: the held RCPT is answered in
    its place, the ones after it too."""
    mx, st, _, _ = auth
    with socket.create_connection(("127.0.0.1", mx.port), timeout=20) as c:
        f = c.makefile("rb")
        f.readline()
        c.sendall(b"EHLO client.test\r\n")
        while f.readline()[3:4] == b"-":
            pass
        c.sendall(b"MAIL FROM:<bob@fail.test>\r\nRCPT TO:<alice@example"
                  b".test>\r\nRCPT TO:<postmaster>\r\nDATA\r\n")
        replies = [f.readline() for _ in range(4)]
        assert replies[0].startswith(b"250"), replies
        assert replies[1].startswith(b"550 5.7.23"), replies
        assert replies[2].startswith(b"250"), replies   # postmaster
        assert replies[3].startswith(b"354"), replies
        c.sendall(b"Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n")
        assert f.readline().startswith(b"250")


def test_spf_client_gone_while_waiting(auth):
    """A client that leaves while its SPF check waits for the DNS leaves
    no trace (the check frees itself when its answer comes)."""
    mx, st, _, _ = auth
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", mx.port)) as c:
            c.recv(512)
            c.sendall(b"HELO c.test\r\nMAIL FROM:<x@tempfail.test>\r\n"
                      b"RCPT TO:<alice@example.test>\r\n")
            c.recv(512)
    time.sleep(2.5)
    assert send(mx, "bob@pass.test", mail("bob@pass.test"))[0] == 250


def sign(msg, priv, selector=b"sel", domain=b"signer.test", **kw):
    sig = dkim.sign(msg, selector, domain, priv,
                    include_headers=[b"from", b"to", b"subject"], **kw)
    return sig + msg


def test_dkim_independent_signer_passes(auth):
    mx, st, priv, ed_priv = auth
    m = sign(mail("x@signer.test"), priv)
    assert send(mx, "x@signer.test", m)[0] == 250
    ar = authres(st, 1)
    assert "dkim=pass header.d=signer.test header.s=sel" in ar, mx.log()
    assert "dmarc=pass (p=reject) header.from=signer.test" in ar, ar
    # simple/simple canonicalization, ed25519-sha256 (RFC 8463)
    m = sign(mail("x@signer.test"), priv,
             canonicalize=(b"simple", b"simple"))
    assert send(mx, "x@signer.test", m)[0] == 250
    assert "dkim=pass" in authres(st, 2)
    m = sign(mail("x@signer.test"), ed_priv, selector=b"ed",
             signature_algorithm=b"ed25519-sha256")
    assert send(mx, "x@signer.test", m)[0] == 250
    assert "dkim=pass header.d=signer.test header.s=ed" in authres(st, 3)
    assert metric(mx, 'sluice_dkim_total{result="pass"}') == 3
    assert metric(mx, 'sluice_dmarc_total{result="pass"}') == 3


def test_dkim_tampered_fails_and_dmarc_rejects(auth):
    """The body changed after signing: dkim=fail. The envelope is another
    domain (SPF passes for it, not aligned), so DMARC fails and
    signer.test's p=reject refuses the message."""
    mx, st, priv, _ = auth
    m = sign(mail("x@signer.test"), priv).replace(b"Hello.", b"Hellx.")
    code, text = send(mx, "x@pass.test", m)
    assert code == 550 and text.startswith(b"5.7.1"), text
    assert b"DMARC" in text
    log = mx.log()
    assert "dkim=fail header.d=signer.test" in log
    assert "dmarc=fail header.from=signer.test policy=reject" in log
    assert messages(st, ALICE) == []
    assert metric(mx, 'sluice_dkim_total{result="fail"}') == 1
    assert metric(mx, 'sluice_dmarc_total{result="fail"}') == 1
    assert metric(mx, 'sluice_dmarc_policy_total{action="reject"}') == 1


def test_dkim_length_tag_not_a_pass(auth):
    """l= lets anyone append text: such a signature is "policy"."""
    mx, st, priv, _ = auth
    m = sign(mail("x@signer.test"), priv, length=True)
    m += b"Appended by somebody else.\r\n"
    assert send(mx, "x@signer.test", m)[0] == 250
    ar = authres(st, 1)
    assert "dkim=policy" in ar, ar
    # SPF still passes aligned for signer.test: DMARC passes
    assert "dmarc=pass" in ar
    assert metric(mx, 'sluice_dkim_total{result="policy"}') == 1


def test_dmarc_quarantine_files_into_junk(auth):
    mx, st, _, _ = auth
    assert send(mx, "x@pass.test", mail("x@pass.test",
                                        hfrom="boss@quar.test"))[0] == 250
    d = os.path.join(st.mail_root, "example.test", "alice", "Maildir",
                     ".Junk", "new")
    got = wait_for(lambda: os.path.isdir(d) and os.listdir(d),
                   what="mail in Junk")
    with open(os.path.join(d, got[0]), "rb") as f:
        m = f.read()
    assert b"dmarc=fail (p=quarantine) header.from=quar.test" in m
    assert b"X-Sluice-Junk: dmarc=quarantine" in m
    assert messages(st, ALICE) == []
    assert metric(mx, 'sluice_dmarc_policy_total{action="quarantine"}') == 1
    assert metric(mx, 'sluice_dkim_total{result="none"}') == 1


def test_dmarc_none_and_reject(auth):
    mx, st, _, _ = auth
    assert send(mx, "x@pass.test", mail("x@pass.test",
                                        hfrom="a@none.test"))[0] == 250
    assert "dmarc=fail (p=none) header.from=none.test" in authres(st, 1)
    code, text = send(mx, "x@pass.test", mail("x@pass.test",
                                              hfrom="a@rej.test"))
    assert code == 550 and b"DMARC policy of rej.test" in text
    # a subdomain without its own record: the org domain's sp= (6.6.3)
    assert send(mx, "x@pass.test", mail("x@pass.test",
                                        hfrom="a@sub.org.test"))[0] == 250
    assert "dmarc=fail (p=reject) header.from=sub.org.test" in \
        mx.log() or wait_for(lambda: "policy=quarantine" in mx.log())


def test_own_domain_forged_from_outside(auth):
    mx, st, priv, _ = auth
    code, text = send(mx, "ceo@example.test", mail("ceo@example.test"))
    assert code == 550 and text.startswith(b"5.7.1"), text
    assert b"example.test is our domain" in text
    # envelope elsewhere (SPF passes), From: ours: refused too
    code, text = send(mx, "x@pass.test", mail("x@pass.test",
                                              hfrom="ceo@example.test"))
    assert code == 550 and b"example.test is our domain" in text
    assert messages(st, ALICE) == []
    assert "ours but passed neither SPF nor DKIM" in mx.log()
    assert metric(mx, "sluice_forged_local_rejected_total") == 2


@pytest.mark.parametrize("hfrom", ['"ceo@example.test" <>',
                                   "ceo@example.test <>",
                                   "<x@pass.test> ceo@example.test",
                                   "x@pass.test,\r\n ceo@example.test"])
def test_own_domain_hidden_in_unclean_from(auth, hfrom):
    """A From: the strict RFC 5322 parser refuses still shows our domain
    in mail readers: without SPF or DKIM for it, it is a forgery too."""
    mx, st, _, _ = auth
    code, text = send(mx, "x@pass.test", mail("x@pass.test", raw=hfrom))
    assert code == 550 and b"example.test is our domain" in text, text
    assert messages(st, ALICE) == []


def test_our_authres_from_outside_removed(auth):
    mx, st, _, _ = auth
    forged = (b"Authentication-Results: mx.example.test; spf=pass "
              b"smtp.mailfrom=x@bank.test; dkim=pass header.d=bank.test\r\n"
              b"Authentication-Results: other.test; spf=pass\r\n")
    assert send(mx, "bob@soft.test",
                forged + mail("bob@soft.test"))[0] == 250
    m = wait_messages(st, ALICE, 1)[0]
    assert b"header.d=bank.test" not in m
    assert b"Authentication-Results: other.test; spf=pass" in m
    assert b"spf=softfail" in m


@pytest.mark.parametrize("head", [
    b"(trusted) mx.example.test;",             # comment before the id
    b"(a (nested) one)\r\n mx.example.test 1;",  # folded, version
    b"\"mx.example.test\";",                   # quoted-string value
    b"MX.Example.Test (c);",                   # case, comment after
])
def test_our_authres_hidden_behind_cfws_removed(auth, head):
    """RFC 8601 allows CFWS before the authserv-id and a quoted-string
    for it: mail readers (python3-authres here) take these as ours, so
    they are ours to remove."""
    mx, st, _, _ = auth
    forged = (b"Authentication-Results: " + head +
              b" dkim=pass header.d=bank.test\r\n")
    if not head.startswith(b'"'):
        parsed = authres_lib.AuthenticationResultsHeader.parse(
            forged.decode().rstrip("\r\n"))
        assert parsed.authserv_id.lower() == "mx.example.test"
    assert send(mx, "bob@soft.test",
                forged + mail("bob@soft.test"))[0] == 250
    m = wait_messages(st, ALICE, 1)[0]
    assert b"header.d=bank.test" not in m, m
    assert b"spf=softfail" in m


# ---- ARC (RFC 8617), chains sealed by python3-dkim ----

def arc_seal(msg, priv, hop=1, verdict=b""):
    """msg with one more ARC set by fwd.test (selector arc); the sealer
    records its own verdict in an Authentication-Results field first
    (python3-dkim takes cv= from its arc= result)."""
    msg = (b"Authentication-Results: fwd.test; spf=pass "
           b"smtp.mailfrom=x@pass.test hop=%d%s\r\n" % (hop, verdict)) + msg
    return b"".join(dkim.arc_sign(msg, b"arc", b"fwd.test", priv,
                                  b"fwd.test")) + msg


def our_authres(st, n):
    """Our Authentication-Results (the top one; the forwarder's follow)."""
    m = wait_messages(st, ALICE, n)[n - 1]
    head = m.split(b"\r\n\r\n")[0].decode()
    fields = [f for f in head.replace("\r\n\t", " ").split("\r\n")
              if f.lower().startswith("authentication-results:")]
    assert fields and "fwd.test" not in fields[0].split(";")[0], head
    return fields[0]


def test_arc_chain_from_independent_sealer(auth):
    """One and two hops pass (python3-dkim agrees first); no ARC fields:
    arc=none; the client's address is recorded as smtp.remote-ip."""
    mx, st, priv, _ = auth
    dns = {b"arc._domainkey.fwd.test.": b"v=DKIM1; k=rsa; p=" +
           mx.dkim_pub.encode()}
    m = arc_seal(mail("x@pass.test"), priv)
    assert dkim.arc_verify(m, dnsfunc=lambda n, **k: dns.get(n))[0] == \
        dkim.CV_Pass
    assert send(mx, "x@pass.test", m)[0] == 250
    ar = our_authres(st, 1)
    assert "arc=pass smtp.remote-ip=127.0.0.1" in ar, mx.log()
    m2 = arc_seal(m, priv, hop=2)
    assert dkim.arc_verify(m2, dnsfunc=lambda n, **k: dns.get(n))[0] == \
        dkim.CV_Pass
    assert send(mx, "x@pass.test", m2)[0] == 250
    assert "arc=pass" in our_authres(st, 2), mx.log()
    assert send(mx, "x@pass.test", mail("x@pass.test"))[0] == 250
    assert "arc=none" in our_authres(st, 3)
    assert metric(mx, 'sluice_arc_total{result="pass"}') == 2
    assert metric(mx, 'sluice_arc_total{result="none"}') == 1


def test_arc_oldest_pass(auth):
    """header.oldest-pass (RFC 8617 5.2, 7.2): 0 when every hop's
    ARC-Message-Signature still verifies; 2 when the second hop changed
    the Subject after checking the chain (a list tag), so that only its
    own signature still holds. python3-dkim agrees the chain passes."""
    mx, st, priv, _ = auth
    dns = {b"arc._domainkey.fwd.test.": b"v=DKIM1; k=rsa; p=" +
           mx.dkim_pub.encode()}
    m1 = arc_seal(mail("x@pass.test"), priv)
    kept = arc_seal(m1, priv, hop=2, verdict=b"; arc=pass")
    tagged = arc_seal(m1.replace(b"Subject: hello", b"Subject: [list] hello"),
                      priv, hop=2, verdict=b"; arc=pass")
    assert b"cv=pass" in tagged
    for m in (kept, tagged):
        assert dkim.arc_verify(m, dnsfunc=lambda n, **k: dns.get(n))[0] == \
            dkim.CV_Pass
        assert send(mx, "x@pass.test", m)[0] == 250
    assert "arc=pass smtp.remote-ip=127.0.0.1 header.oldest-pass=0" in \
        our_authres(st, 1), mx.log()
    assert "arc=pass smtp.remote-ip=127.0.0.1 header.oldest-pass=2" in \
        our_authres(st, 2), mx.log()
    assert "arc=pass sets=2 oldest-pass=2" in mx.log()


@pytest.mark.parametrize("how,why", [
    ("body", "ARC-Message-Signature i=1: body hash did not verify"),
    ("seal", "ARC-Seal i=1: signature did not verify"),
    ("cv", "cv= does not fit its instance")])
def test_arc_broken_chain_fails(auth, how, why):
    """body: the ARC-Message-Signature's body hash; seal: the forwarder's
    ARC-Authentication-Results changed, which only the seal covers; cv:
    a chain of one that claims cv=pass."""
    mx, st, priv, _ = auth
    m = arc_seal(mail("x@pass.test"), priv)
    if how == "body":
        m = m.replace(b"Hello.", b"Hellx.")
    elif how == "seal":
        m = m.replace(b"hop=1", b"hop=7", 1)
        assert m.index(b"hop=7") < m.index(b"\r\nAuthentication-Results")
    else:
        m = m.replace(b"cv=none", b"cv=pass")
    assert send(mx, "x@pass.test", m)[0] == 250
    assert "arc=fail" in our_authres(st, 1), mx.log()
    assert "arc=fail sets=1 (" in mx.log() and why in mx.log(), mx.log()
    assert metric(mx, 'sluice_arc_total{result="fail"}') == 1


# ---- the sender's domain must exist (RFC 2505 2.9) ----

SCREENED = "127.0.0.7"      # client_allow keeps only 127.0.0.1


def mail_rcpt(mx, sender, source=SCREENED):
    """The RCPT reply (code, text) after MAIL FROM:<sender>."""
    s = smtplib.SMTP("127.0.0.1", mx.port, timeout=20,
                     source_address=(source, 0))
    try:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        return s.rcpt(ALICE)
    finally:
        s.close()


@pytest.fixture
def sender_mx(cluster):
    records = [
        "mx-host=withmx.test,mail.elsewhere.test,10",
        "host-record=onlya.test,127.0.0.9",
        "host-record=onlyaaaa.test,::9",
        "server=/tempfail.test/127.0.0.1#9",
        txt("txtonly.test", "v=spf1 -all"),
        # RFC 7505 null MX (preference 0, exchanger "."), with an address
        "dns-rr=nullmx.test,15,000000",
        "host-record=nullmx.test,127.0.0.5",
    ]
    proc, servers = dnsmasq(cluster.base, records)
    st = cluster.store()

    def mx(**extra):
        conf = {"dns_servers": servers, "dns_timeout": "1s",
                "sender_domain_check": "yes", "client_allow": "127.0.0.1",
                "greylist": "no"}
        conf.update(extra)
        return cluster.mx(["lmtp:127.0.0.1:%d" % st.port], conf)
    yield mx
    proc.terminate()
    proc.wait()


def test_sender_domain_check(sender_mx):
    """An MX, an A or an AAAA record is enough; a domain that does not
    exist gets 450 4.1.8 at RCPT; a DNS failure, the null sender and an
    allowed client pass; the code can be 550."""
    mx = sender_mx()
    for d in ("withmx.test", "onlya.test", "onlyaaaa.test", "tempfail.test"):
        assert mail_rcpt(mx, "bob@" + d)[0] == 250, (d, mx.log())
    code, text = mail_rcpt(mx, "bob@nx.test")
    assert (code, text) == (450, b"4.1.8 <bob@nx.test>: Sender address "
                            b"rejected: Domain not found"), text
    assert "reject: RCPT from [127.0.0.7]: 450 4.1.8 <bob@nx.test>" in \
        mx.log()
    # a name that exists with no MX, A nor AAAA (only a TXT here)
    assert mail_rcpt(mx, "bob@txtonly.test")[0] == 450
    assert mail_rcpt(mx, "")[0] == 250
    assert mail_rcpt(mx, "bob@nx.test", source="127.0.0.1")[0] == 250
    assert metric(mx, "sluice_sender_domain_rejected_total") == 2
    assert metric(mx, "sluice_sender_null_mx_rejected_total") == 0
    mx550 = sender_mx(sender_domain_code="550")
    code, text = mail_rcpt(mx550, "bob@nx.test")
    assert code == 550 and text.startswith(b"5.1.8 <bob@nx.test>"), text


def test_sender_null_mx_refused(sender_mx):
    """RFC 7505 4.2: a sender domain with a null MX takes no mail, not
    even the replies: 550 5.7.27 whatever sender_domain_code says, though
    the domain has an A record."""
    mx = sender_mx()
    code, text = mail_rcpt(mx, "bob@nullmx.test")
    assert (code, text) == (550, b"5.7.27 <bob@nullmx.test>: Sender address "
                            b"rejected: Domain nullmx.test does not accept "
                            b"mail (null MX)"), (text, mx.log())
    assert "reject: RCPT from [127.0.0.7]: 550 5.7.27 <bob@nullmx.test>" \
        in mx.log()
    assert mail_rcpt(mx, "bob@withmx.test")[0] == 250
    assert metric(mx, "sluice_sender_null_mx_rejected_total") == 1
    assert metric(mx, "sluice_sender_domain_rejected_total") == 0


def test_sender_domain_check_dns_down(sender_mx, cluster):
    """No DNS server answers: temperror, the mail is accepted."""
    mx = sender_mx(dns_servers="127.0.0.1:%d" % free_port())
    t = time.time()
    assert mail_rcpt(mx, "bob@nx.test")[0] == 250, mx.log()
    assert time.time() - t < 10
