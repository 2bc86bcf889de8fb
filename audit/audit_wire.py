"""audit_wire: the clients sluice-audit probes with, each keeping a transcript.

Python's own smtplib, imaplib, poplib and ssl, subclassed only to record
every line: "C:" what we sent, "S:" what the server answered, "--" notes.
Secrets (AUTH, LOGIN, PASS) are written as <redacted>; message bodies are
cut to their first lines. Every socket has a timeout; every connection
comes from the source address the operator chose (--source). Faces the
network as a client; trusts nothing the server says.
"""
import base64
import imaplib
import poplib
import smtplib
import socket
import ssl
import time

BODY_LINES = 12      # lines of a message body kept in a transcript
LINE_CUT = 300       # characters of one transcript line


class Transcript:
    """The dialogue of one probe: a title and lines (C:, S:, --)."""

    def __init__(self, title):
        self.title = title
        self.lines = []
        self.t0 = time.monotonic()

    def add(self, who, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        for ln in text.splitlines() or [""]:
            if len(ln) > LINE_CUT:
                ln = ln[:LINE_CUT] + " [... %d chars]" % len(ln)
            self.lines.append("%6.2f %s %s" % (time.monotonic() - self.t0,
                                               who, ln))

    def note(self, text):
        self.add("--", text)

    def text(self):
        return "\n".join(self.lines)


def _redact(line):
    """A command line with its secret replaced."""
    up = line.upper()
    for verb in ("AUTH PLAIN ", "AUTH LOGIN ", "PASS "):
        if up.startswith(verb):
            return line[:len(verb)] + "<redacted>"
    words = line.split(" ")
    if len(words) >= 4 and words[1].upper() == "LOGIN":  # IMAP tag LOGIN u p
        return " ".join(words[:3] + ["<redacted>"])
    return line


def _show_data(tr, data):
    """A DATA section in a transcript: its first lines and its size."""
    lines = data.split(b"\r\n")
    for ln in lines[:BODY_LINES]:
        tr.add("C:", ln)
    if len(lines) > BODY_LINES:
        tr.note("[%d more lines, %d bytes in all]" %
                (len(lines) - BODY_LINES, len(data)))


class Smtp(smtplib.SMTP):
    """smtplib.SMTP that records the dialogue into tr."""

    def __init__(self, tr, host, port, source=None, timeout=10, tls=None):
        self.tr = tr
        self.secret = False
        self.in_data = False
        self.quiet = False      # set around loops that note their own
        self.implicit_tls = tls
        src = (source, 0) if source else None
        tr.note("connect %s:%d%s%s" % (host, port, " from " + source
                                       if source else "",
                                       " (implicit TLS)" if tls else ""))
        super().__init__(host, port, timeout=timeout, source_address=src)

    def _get_socket(self, host, port, timeout):
        s = super()._get_socket(host, port, timeout)
        if self.implicit_tls is not None:
            s = self.implicit_tls.wrap_socket(s, server_hostname=host)
            self.tr.note("TLS %s %s" % (s.version(), s.cipher()[0]))
        return s

    def send(self, s):
        if isinstance(s, str):
            b = s.encode("utf-8", "replace")
        else:
            b = s
        if self.quiet:
            pass
        elif self.in_data:
            _show_data(self.tr, b)
        else:
            ln = b.decode("utf-8", "replace").rstrip("\r\n")
            self.tr.add("C:", "<redacted>" if self.secret else _redact(ln))
        return super().send(s)

    def getreply(self):
        code, msg = super().getreply()
        if not self.quiet:
            self.tr.add("S:", "%d %s" % (code, msg.decode("utf-8", "replace")))
        return code, msg

    def data(self, msg):
        # smtplib sends the whole message with one send(): show it cut
        code, repl = self.docmd("DATA")
        if code != 354:
            return code, repl
        self.in_data = True
        try:
            q = msg.replace(b"\r\n.", b"\r\n..")
            if q[:1] == b".":
                q = b"." + q
            if q[-2:] != b"\r\n":
                q += b"\r\n"
            self.send(q + b".\r\n")
        finally:
            self.in_data = False
        return self.getreply()

    def starttls(self, context=None):
        r = super().starttls(context=context)
        self.tr.note("TLS %s %s" % (self.sock.version(),
                                    self.sock.cipher()[0]))
        return r

    def auth_plain_secret(self, user, password):
        """AUTH PLAIN with the secret kept out of the transcript."""
        tok = base64.b64encode(("\0%s\0%s" % (user, password)).encode())
        self.tr.add("C:", "AUTH PLAIN <redacted: %s>" % user)
        self.secret = True
        try:
            super().send(b"AUTH PLAIN " + tok + b"\r\n")
        finally:
            self.secret = False
        return self.getreply()


def smtp_open(tr, host, port, source, timeout=10, tls=None):
    """An Smtp session, or None when the connection or greeting failed
    (noted in tr)."""
    try:
        return Smtp(tr, host, port, source, timeout, tls)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        tr.note("connection failed: %s" % e)
        return None


def smtp_close(c):
    if c is None:
        return
    try:
        c.quit()
    except (OSError, smtplib.SMTPException):
        c.close()


class Imap(imaplib.IMAP4):
    """imaplib.IMAP4 (STARTTLS port) that records the dialogue."""

    def __init__(self, tr, host, port, source=None, timeout=10):
        self.tr, self.src = tr, source
        tr.note("connect %s:%d (IMAP)" % (host, port))
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        (self.src, 0) if self.src else None)

    def send(self, data):
        self.tr.add("C:", _redact(data.decode("utf-8", "replace")
                                  .rstrip("\r\n")))
        return super().send(data)

    def readline(self):
        ln = super().readline()
        self.tr.add("S:", ln.rstrip(b"\r\n"))
        return ln

    def starttls(self, ssl_context=None):
        r = super().starttls(ssl_context=ssl_context)
        self.tr.note("TLS %s" % self.sock.version())
        return r


class Imaps(Imap):
    """IMAP over implicit TLS, recorded."""

    def __init__(self, tr, host, port, ctx, source=None, timeout=10):
        self.ctx = ctx
        super().__init__(tr, host, port, source, timeout)

    def _create_socket(self, timeout):
        s = super()._create_socket(timeout)
        s = self.ctx.wrap_socket(s, server_hostname=self.host)
        self.tr.note("TLS %s" % s.version())
        return s


class Pop3(poplib.POP3):
    """poplib.POP3 that records the dialogue."""

    def __init__(self, tr, host, port, source=None, timeout=10, ctx=None):
        self.tr, self.src, self.ctx0 = tr, source, ctx
        tr.note("connect %s:%d (POP3%s)" % (host, port,
                                            ", implicit TLS" if ctx else ""))
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout,
                                     (self.src, 0) if self.src else None)
        if self.ctx0 is not None:
            s = self.ctx0.wrap_socket(s, server_hostname=self.host)
        return s

    def _putline(self, line):
        self.tr.add("C:", _redact(line.decode("utf-8", "replace")))
        return super()._putline(line)

    def _getline(self):
        ln, n = super()._getline()
        self.tr.add("S:", ln)
        return ln, n


def raw_connect(tr, host, port, source, timeout=5):
    """A plain TCP connection (or None, noted)."""
    try:
        return socket.create_connection((host, port), timeout,
                                        (source, 0) if source else None)
    except OSError as e:
        tr.note("connect %s:%d: %s" % (host, port, e))
        return None


def raw_reply(tr, sock, limit=8192):
    """One SMTP/LMTP reply (all its lines) read from sock, recorded;
    (code, text) or (0, why) on a timeout or close."""
    buf = b""
    try:
        while len(buf) < limit:
            ch = sock.recv(1024)
            if not ch:
                break
            buf += ch
            last = buf.rstrip(b"\r\n").split(b"\r\n")[-1]
            if buf.endswith(b"\r\n") and last[3:4] != b"-":
                break
    except OSError as e:
        tr.note("read: %s" % e)
        return 0, str(e)
    if not buf:
        tr.note("closed by the server")
        return 0, "closed"
    tr.add("S:", buf.rstrip(b"\r\n"))
    try:
        return int(buf[:3]), buf.decode("utf-8", "replace")
    except ValueError:
        return 0, buf.decode("utf-8", "replace")


def raw_cmd(tr, sock, line):
    tr.add("C:", line)
    try:
        sock.sendall(line.encode() + b"\r\n")
    except OSError as e:
        tr.note("write: %s" % e)
        return 0, str(e)
    return raw_reply(tr, sock)


def tls_client(ca=None, name_check=False, min_version=None,
               max_version=None):
    """A client TLS context: verifying against ca (a file) when given,
    else accepting any certificate (the certificate is judged apart)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(ca)
        ctx.check_hostname = name_check
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
        # let our side offer the old versions; the server must refuse
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx
