"""SMTP protocol edges against a real mx, over raw sockets.

Every reply is read and checked in order, so a server that answers out of
order, executes smuggled commands or stops answering fails here.
"""
import socket
import ssl

import pytest

from conftest import messages, wait_for


class Raw:
    """A line-oriented raw SMTP client."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        """One complete (possibly multi-line) reply: (code, [lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] == b" ":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


@pytest.fixture
def mx(cluster):
    st = cluster.store()
    m = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                   extra={"max_recipients": "3", "max_message_size": "100k",
                          "max_header_size": "8k"})
    m.store = st
    return m


@pytest.fixture
def c(mx):
    r = Raw(mx.port)
    code, lines = r.reply()
    assert code == 220 and b"ESMTP" in lines[0]
    yield r
    r.close()


def ehlo(c):
    code, lines = c.cmd(b"EHLO client.remote.test")
    assert code == 250
    return [ln[4:] for ln in lines]


def test_ehlo_extensions(c):
    ext = ehlo(c)
    for e in (b"PIPELINING", b"SIZE 102400", b"8BITMIME",
              b"ENHANCEDSTATUSCODES", b"SMTPUTF8", b"DSN", b"STARTTLS"):
        assert e in ext


def test_mail_before_ehlo(c):
    code, lines = c.cmd(b"MAIL FROM:<a@remote.test>")
    assert code == 503 and lines[0].startswith(b"503 5.5.1")


def test_simple_commands(c):
    assert c.cmd(b"HELO client.remote.test")[0] == 250
    assert c.cmd(b"NOOP")[0] == 250
    assert c.cmd(b"RSET")[0] == 250
    assert c.cmd(b"VRFY alice")[0] == 252
    assert c.cmd(b"HELP")[0] == 214
    code, lines = c.cmd(b"FOOBAR baz")
    assert code == 500 and lines[0].startswith(b"500 5.5.2")
    assert c.cmd(b"RCPT TO:<alice@example.test>")[0] == 503
    assert c.cmd(b"DATA")[0] == 503
    assert c.cmd(b"QUIT")[0] == 221


def test_overlong_line_then_usable(c):
    ehlo(c)
    code, lines = c.cmd(b"NOOP " + b"x" * 5000)
    assert code == 500 and lines[0].startswith(b"500 5.5.2")
    assert c.cmd(b"NOOP")[0] == 250
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250


def test_too_many_recipients(c):
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250
    for _ in range(3):
        assert c.cmd(b"RCPT TO:<alice@example.test>")[0] == 250
    code, lines = c.cmd(b"RCPT TO:<bob@example.test>")
    assert code == 452 and lines[0].startswith(b"452 4.5.3")


def test_size_param_over_limit(c):
    ehlo(c)
    code, lines = c.cmd(b"MAIL FROM:<a@remote.test> SIZE=200000")
    assert code == 552 and lines[0].startswith(b"552 5.3.4")
    assert c.cmd(b"MAIL FROM:<a@remote.test> SIZE=1000")[0] == 250


def test_bad_params(c):
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<a@remote.test> FOO=bar")[0] == 555
    assert c.cmd(b"MAIL FROM:<a@remote.test> SIZE=x")[0] == 501
    assert c.cmd(b"MAIL FROM:<a@remote.test> RET=HDRS ENVID=abc+2B1 "
                 b"BODY=8BITMIME")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS")[0] \
        == 501
    assert c.cmd(b"RCPT TO:<alice@example.test> NOTIFY=FAILURE "
                 b"ORCPT=rfc822;alice+40example.test")[0] == 250


def send_data(c, body):
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250
    assert c.cmd(b"RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd(b"DATA")[0] == 354
    c.send(body)
    return c.reply()


def test_message_over_limit(c, mx):
    code, lines = send_data(c, b"Subject: big\r\n\r\n" +
                            (b"y" * 998 + b"\r\n") * 120 + b".\r\n")
    assert code == 552 and lines[0].startswith(b"552 5.3.4")
    assert c.cmd(b"NOOP")[0] == 250


def test_header_section_over_limit(c):
    hdr = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"z" * 80)
                   for i in range(200))
    code, lines = send_data(c, hdr + b"\r\nbody\r\n.\r\n")
    assert code == 552 and lines[0].startswith(b"552 5.3.4")


def test_mail_loop(c):
    hdr = b"".join(b"Received: from h%d by h%d; Sun, 22 Nov 2026\r\n" %
                   (i, i) for i in range(51))
    code, lines = send_data(c, hdr + b"Subject: loop\r\n\r\nx\r\n.\r\n")
    assert code == 554 and lines[0].startswith(b"554 5.4.6")


def test_fifty_received_is_fine(c, mx):
    hdr = b"".join(b"Received: from h%d by h%d; Sun, 22 Nov 2026\r\n" %
                   (i, i) for i in range(50))
    code, _ = send_data(c, hdr + b"Subject: ok\r\n\r\nx\r\n.\r\n")
    assert code == 250
    wait_for(lambda: messages(mx.store, "alice@example.test"))


@pytest.mark.parametrize("body", [
    b"Subject: lf\r\n\r\nline\nmore\r\n.\r\n",
    b"Subject: cr\r\n\r\nline\rmore\r\n.\r\n",
    # "\n.\n" and "\n.\r\n" must not end the data: the final CRLF.CRLF does
    b"Subject: smuggle\r\n\r\nx\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
    b"Subject: smuggle2\r\n\r\nx\n.\r\nRSET\r\n.\r\n",
])
def test_bare_cr_lf_rejected(c, mx, body):
    code, lines = send_data(c, body)
    assert code == 550 and lines[0].startswith(b"550 5.6.0"), lines
    # the session is in step: the next command gets its own answer
    assert c.cmd(b"NOOP")[0] == 250
    assert messages(mx.store, "alice@example.test") == []


def test_pipelining_in_order(c, mx):
    ehlo(c)
    c.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
           b"RCPT TO:<nobody@other.test>\r\nRCPT TO:<bob@example.test>\r\n"
           b"DATA\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    assert c.reply()[0] == 554
    assert c.reply()[0] == 250
    assert c.reply()[0] == 354
    c.send(b"Subject: piped\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n")
    code, lines = c.reply()
    assert code == 250 and b"queued as" in lines[0]
    assert c.reply()[0] == 250
    assert c.reply()[0] == 221
    wait_for(lambda: messages(mx.store, "bob@example.test"))


def test_starttls_discards_pipelined_commands(c):
    ehlo(c)
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n")
    code, _ = c.reply()
    assert code == 220
    assert c.buf == b""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    # had the MAIL been executed, its reply would come first; and a second
    # MAIL would then be a nested-MAIL error
    code, lines = c.cmd(b"NOOP")
    assert code == 250 and lines == [b"250 2.0.0 Ok"]
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 503  # EHLO needed again
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250


def test_null_sender_and_postmaster(c, mx):
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<>")[0] == 250
    assert c.cmd(b"RCPT TO:<>")[0] == 501
    assert c.cmd(b"RCPT TO:<Postmaster>")[0] == 250


@pytest.mark.parametrize("path", [
    b"<" + b"a" * 65 + b"@example.test>",
    b"<alice@" + b"a" * 64 + b".test>",
    b"<alice@example..test>",
    b"<alice@example.test",
    b"alice@example.test",
    b'<"alice@example.test>',
    b"<al ice@example.test>",
])
def test_bad_paths(c, path):
    ehlo(c)
    assert c.cmd(b"MAIL FROM:<a@remote.test>")[0] == 250
    code, _ = c.cmd(b"RCPT TO:" + path)
    assert code == 501


def test_path_replies(c):
    """MAIL and RCPT parse their path and parameters through one helper
    of the engine: each names its own command and address kind."""
    ehlo(c)
    for cmd, want in (
            (b"MAIL FROM:<a@remote.test>x", b"501 5.5.4 Syntax: MAIL "
             b"FROM:<address>"),
            (b"MAIL FROM:<a@@remote.test>", b"501 5.1.7 Bad sender address "
             b"syntax: "),
            (b"MAIL FROM:<a@remote.test> FOO=bar", b"555 5.5.4 "),
            (b"MAIL FROM:<a@remote.test>  SIZE=10", b"250 2.1.0 Ok"),
            (b"RCPT TO:<alice@example.test>x", b"501 5.5.4 Syntax: RCPT "
             b"TO:<address>"),
            (b"RCPT TO:<al ice@example.test>", b"501 5.1.3 Bad recipient "
             b"address syntax: "),
            (b"RCPT TO:<alice@example.test> SIZE=10", b"555 5.5.4 "),
            (b"RCPT TO:<alice@example.test>  NOTIFY=NEVER", b"250 2.1.5 Ok")):
        code, lines = c.cmd(cmd)
        assert lines[0].startswith(want), (cmd, lines)


def test_too_many_errors_disconnects(c):
    ehlo(c)
    for _ in range(19):
        assert c.cmd(b"BOGUS")[0] == 500
    code, lines = c.cmd(b"BOGUS")
    assert code == 500
    assert c.reply()[0] == 421
