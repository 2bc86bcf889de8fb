"""RFC 3461 ENVID and ORCPT must decode to printable US-ASCII: an xtext
that decodes to CR, LF, NUL or any byte outside 32..126 is refused with
501 5.5.4 by the shared parser (common/smtp_parse.c), so no stage passes
it on. Checked at mx (SMTP) and the store (LMTP) with real clients."""
import smtplib

import pytest

from conftest import Lmtp

BAD = ["a+0D+0AX-Evil:+20y", "a+00b", "a+0Ab", "a+09b", "a+C3+A9", "a+7F"]


@pytest.fixture
def mx(cluster):
    st = cluster.store()
    return cluster.mx(["lmtp:127.0.0.1:%d" % st.port]), st


def test_mx_refuses_control_xtext(mx):
    m, _ = mx
    with smtplib.SMTP("127.0.0.1", m.port, timeout=20) as s:
        s.ehlo("client.remote.test")
        assert s.has_extn("dsn")
        for x in BAD:
            code, text = s.mail("a@remote.test", ["ENVID=" + x])
            assert (code, text[:5]) == (501, b"5.5.4"), (x, code, text)
        assert s.mail("a@remote.test", ["ENVID=ok+20id"])[0] == 250
        for x in BAD:
            code, text = s.rcpt("alice@example.test",
                                ["ORCPT=rfc822;" + x + "@example.test"])
            assert (code, text[:5]) == (501, b"5.5.4"), (x, code, text)
        assert s.rcpt("alice@example.test",
                      ["ORCPT=rfc822;alice@example.test"])[0] == 250


def test_lmtp_refuses_control_xtext(mx):
    _, st = mx
    c = Lmtp(st.port)
    try:
        code, text = c.cmd("MAIL FROM:<a@remote.test> ENVID=a+0D+0Ab")
        assert code == 501 and text.startswith("5.5.4"), text
        assert c.cmd("MAIL FROM:<a@remote.test>")[0] == 250
        code, text = c.cmd("RCPT TO:<alice@example.test> "
                           "ORCPT=rfc822;a+00@example.test")
        assert code == 501 and text.startswith("5.5.4"), text
    finally:
        c.close()
