"""audit_conn: probes about connections: congestion control, privacy (TLS
on every role), slammer (floods and slow clients). Floods are bounded by
--flood (connections held at once) and --rate (connections in a row); the
slow clients by --slow seconds; every socket is closed at the end.
"""
import imaplib
import poplib
import socket
import ssl
import time

from audit_core import FAIL, NA, PARTIAL, PASS
from audit_smtp import session
from audit_wire import (Imap, Pop3, raw_connect, smtp_close,
                        smtp_open, tls_client)


def greet(sock, timeout=3.0):
    """The first reply line's code of a fresh connection (0: none)."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while b"\r\n" not in buf and len(buf) < 4096:
            ch = sock.recv(512)
            if not ch:
                break
            buf += ch
    except OSError:
        pass
    try:
        return int(buf[:3])
    except ValueError:
        return 0


def flood(a, tr, ep, n, source):
    """Hold up to n connections to ep from source; returns (socks,
    greeted, refused_at) where refused_at is the first connection that
    was not greeted with 220 (0: all were)."""
    socks, greeted, refused_at = [], 0, 0
    for i in range(n):
        s = raw_connect(tr, ep[0], ep[1], source, timeout=3)
        if s is None:
            refused_at = i + 1
            break
        socks.append(s)
        code = greet(s)
        if code != 220:
            tr.note("connection %d: %s" % (i + 1, code or "no greeting"))
            refused_at = i + 1
            break
        greeted += 1
    tr.note("%d connections greeted from %s" % (greeted, source or
                                                  "the default address"))
    return socks, greeted, refused_at


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def probe_congestion(a):
    """Per role: simultaneous connections from one address (--flood) and
    connections in a row (--rate) must meet a limit."""
    f = "no congestion control"
    for role in ("mx", "submission"):
        ep = a.ep(role)
        if not ep:
            continue
        tr = a.tr("%s: %d simultaneous connections" % (role, a.o.flood))
        socks, greeted, at = flood(a, tr, ep, a.o.flood, a.o.source)
        close_all(socks)
        a.check(f, "%s limits simultaneous connections per client" % role,
                [10], PASS if at else FAIL, "connection %d refused" % at
                if at else "all %d greeted" % greeted, [tr])
        time.sleep(0.5)
        tr = a.tr("%s: %d connections in a row" % (role, a.o.rate))
        t0 = time.monotonic()
        at = 0
        for i in range(a.o.rate):
            s = raw_connect(tr, ep[0], ep[1], a.o.source, timeout=3)
            code = greet(s) if s else 0
            if s:
                try:
                    s.sendall(b"QUIT\r\n")
                except OSError:
                    pass
                s.close()
            if code != 220:
                at = i + 1
                tr.note("connection %d: %s" % (at, code or "refused"))
                break
        tr.note("%d connections in %.1f s" % (at - 1 if at else a.o.rate,
                                               time.monotonic() - t0))
        a.check(f, "%s limits the connection rate per client" % role, [11],
                PASS if at else FAIL, "connection %d refused" % at if at
                else "all %d greeted" % a.o.rate, [tr])


def probe_slammer(a):
    """The MX under a bounded flood from one address still greets another
    client; slow clients (one byte a second) are cut within --slow s; an
    early talker is refused (greet pause)."""
    f = "slammer"
    ep = a.ep("mx")
    if not ep:
        return
    tr = a.tr("MX: flood of %d from one address" % a.o.flood)
    socks, greeted, at = flood(a, tr, ep, a.o.flood, a.o.source)
    s2 = raw_connect(tr, ep[0], ep[1], a.o.source2, timeout=3)
    code = greet(s2) if s2 else 0
    tr.note("a client from %s meanwhile: %s" % (a.o.source2, code or
                                                  "no greeting"))
    if s2:
        s2.close()
    close_all(socks)
    a.check(f, "the MX caps a flood from one address", [10, 13],
            PASS if at else FAIL, "connection %d refused" % at if at else
            "all %d held" % greeted, [tr])
    a.check(f, "the MX serves others during the flood", [12, 13],
            PASS if code == 220 else FAIL, "greeted %s" % a.o.source2
            if code == 220 else "another client got %s" % code, [tr])
    # slowloris: a few clients trickling one command
    k = min(5, a.o.flood)
    tr = a.tr("MX: %d slow clients for up to %d s" % (k, a.o.slow))
    slow = []
    for _ in range(k):
        s = raw_connect(tr, ep[0], ep[1], a.o.source, timeout=3)
        if s and greet(s) == 220:
            slow.append(s)
    cmd = ("EHLO " + a.helo() + " " + "x" * 600)[:a.o.slow + 1]
    cut = 0
    t0 = time.monotonic()
    for i in range(a.o.slow):
        for s in list(slow):
            try:
                s.sendall(cmd[i % len(cmd)].encode())
                s.settimeout(0.01)
                try:
                    if s.recv(512) == b"":
                        raise OSError("closed")
                except socket.timeout:
                    pass
            except OSError:
                slow.remove(s)
                cut += 1
        if not slow:
            break
        time.sleep(1)
    tr.note("after %.0f s: %d of %d slow clients cut" % (
        time.monotonic() - t0, cut, k))
    close_all(slow)
    a.check(f, "slow clients cut within %d s" % a.o.slow, [33],
            PASS if cut == k else NA, "all cut" if cut == k else
            "%d of %d still open after %d s (a longer deadline cannot be "
            "seen within the bound; --slow raises it)" % (k - cut, k,
                                                          a.o.slow), [tr])
    tr = a.tr("MX: early talker")
    s = raw_connect(tr, ep[0], ep[1], a.o.source, timeout=5)
    if s:
        tr.add("C:", "EHLO %s (sent before the greeting)" % a.helo())
        s.sendall(("EHLO %s\r\n" % a.helo()).encode())
        got = b""
        s.settimeout(2)
        try:
            while len(got) < 8192:
                ch = s.recv(4096)
                if not ch:
                    break
                got += ch
        except OSError:
            pass
        s.close()
        tr.add("S:", got.rstrip(b"\r\n") or b"(nothing)")
        lines = got.split(b"\r\n")
        served = any(ln.startswith(b"250") for ln in lines)
        a.check(f, "early talker refused (greet pause)", [32],
                FAIL if served else PASS, "the early EHLO was answered 250"
                if served else "not served", [tr])


# --- privacy ----------------------------------------------------------------

def cert_check(a, tr, host, port, wrap):
    """Verify the certificate against --ca (or the system store) and the
    expected name (--tls-name); (ok, why)."""
    ctx = ssl.create_default_context(cafile=a.o.ca) if a.o.ca else \
        ssl.create_default_context()
    name = a.o.tls_name or host
    try:
        s = wrap(ctx, name)
        tr.note("certificate verified for %s" % name)
        s.close()
        return True, "verified for %s" % name
    except (ssl.SSLError, ssl.CertificateError, OSError) as e:
        tr.note("certificate: %s" % e)
        return False, str(e)[:120]


def smtp_starttls_wrap(a, ep):
    def wrap(ctx, name):
        tr = a.tr("certificate")
        c = smtp_open(tr, ep[0], ep[1], a.o.source)
        if c is None:
            raise OSError("no session")
        c.ehlo(a.helo())
        c._host = name
        c.starttls(context=ctx)
        return c.sock
    return wrap


def old_tls(a, tr, ep, starttls):
    """True when the server refuses TLS 1.1 and older."""
    ctx = tls_client(max_version=ssl.TLSVersion.TLSv1_1)
    try:
        if starttls == "smtp":
            c = smtp_open(tr, ep[0], ep[1], a.o.source)
            c.ehlo(a.helo())
            c.starttls(context=ctx)
            smtp_close(c)
        else:
            s = socket.create_connection(ep, 5, (a.o.source, 0)
                                         if a.o.source else None)
            ctx.wrap_socket(s).close()
        tr.note("TLS 1.1 or older accepted")
        return False
    except (ssl.SSLError, OSError, AttributeError) as e:
        tr.note("TLS 1.1 or older refused: %s" % str(e)[:100])
        return True


def probe_privacy(a):
    """STARTTLS offered (MX, submission, IMAP, POP3) and required before
    AUTH/LOGIN; implicit TLS ports speak TLS; TLS 1.1 and older refused;
    the certificate verifies (against --ca)."""
    f = "no privacy"
    if a.ep("mx"):
        tr = a.tr("MX: STARTTLS")
        c = session(a, tr, "mx")
        if c:
            has = c.has_extn("starttls")
            smtp_close(c)
            a.check(f, "MX offers STARTTLS", [14], PASS if has else FAIL,
                    "offered" if has else "not offered", [tr])
    for role in ("submission", "mx"):
        ep = a.ep(role)
        if not ep:
            continue
        tr = a.tr("%s: TLS versions" % role)
        a.check(f, "%s refuses TLS 1.1 and older" % role, [14],
                PASS if old_tls(a, tr, ep, "smtp") else FAIL, "", [tr])
        ok, why = cert_check(a, tr, ep[0], ep[1], smtp_starttls_wrap(a, ep))
        a.check(f, "%s certificate verifies" % role, [5],
                PASS if ok else PARTIAL, why, [tr])
    if a.ep("submission"):
        tr = a.tr("submission: mail before STARTTLS")
        c = session(a, tr, "submission")
        if c:
            code, _ = c.docmd("MAIL", "FROM:<%s>" % (a.user or a.o.rcpt))
            smtp_close(c)
            a.check(f, "submission requires TLS before MAIL", [14],
                    PASS if code >= 500 else FAIL, "MAIL answered %d" %
                    code, [tr])
    for role in ("submissions", "imaps", "pop3s"):
        ep = a.ep(role)
        if not ep:
            continue
        tr = a.tr("%s: implicit TLS" % role)
        s = raw_connect(tr, ep[0], ep[1], a.o.source)
        ok = False
        if s:
            try:
                t = tls_client().wrap_socket(s)
                tr.note("TLS %s %s" % (t.version(), t.cipher()[0]))
                ok = t.version() in ("TLSv1.2", "TLSv1.3")
                t.close()
            except (ssl.SSLError, OSError) as e:
                tr.note("TLS: %s" % e)
        a.check(f, "%s speaks TLS 1.2 or newer" % role, [15 if role !=
                "submissions" else 14], PASS if ok else FAIL, "", [tr])
        a.check(f, "%s refuses TLS 1.1 and older" % role, [15],
                PASS if old_tls(a, tr, ep, None) else FAIL, "", [tr])
    if a.ep("imap"):
        tr = a.tr("IMAP: LOGIN before STARTTLS")
        try:
            m = Imap(tr, *a.ep("imap"), source=a.o.source)
            has = "STARTTLS" in m.capabilities
            try:
                m.login(a.o.rcpt_user or a.user or "nobody", a.o.password
                        or "x")
                ok = False
            except imaplib.IMAP4.error:
                ok = True
            try:
                m.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            a.check(f, "IMAP offers STARTTLS", [15], PASS if has else FAIL,
                    "", [tr])
            a.check(f, "IMAP refuses LOGIN before TLS", [15],
                    PASS if ok else FAIL, "" if ok else "LOGIN in clear "
                    "succeeded", [tr])
        except (OSError, imaplib.IMAP4.error) as e:
            tr.note("IMAP: %s" % e)
    if a.ep("pop3"):
        tr = a.tr("POP3: USER/PASS before STLS")
        try:
            p = Pop3(tr, *a.ep("pop3"), source=a.o.source)
            try:
                has = "STLS" in p.capa()
            except poplib.error_proto:
                has = False
            try:
                p.user(a.o.rcpt_user or a.user or "nobody")
                p.pass_(a.o.password or "x")
                ok = False
            except poplib.error_proto:
                ok = True
            try:
                p.quit()
            except (OSError, poplib.error_proto):
                pass
            a.check(f, "POP3 offers STLS", [15], PASS if has else FAIL,
                    "", [tr])
            a.check(f, "POP3 refuses a password before TLS", [15],
                    PASS if ok else FAIL, "" if ok else "PASS in clear "
                    "succeeded", [tr])
        except (OSError, poplib.error_proto) as e:
            tr.note("POP3: %s" % e)
    if a.o.webmail:
        ep = a.o.webmail
        tr = a.tr("webmail: plain HTTP")
        s = raw_connect(tr, ep[0], ep[1], a.o.source)
        ok = True
        if s:
            tr.add("C:", "GET / HTTP/1.0")
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.settimeout(3)
            try:
                got = s.recv(200)
            except OSError:
                got = b""
            tr.add("S:", got[:120] or b"(nothing)")
            ok = not got.startswith(b"HTTP/1.") or b" 30" in got[:13]
            s.close()
        a.check(f, "webmail only over HTTPS", [15], PASS if ok else FAIL,
                "", [tr])


__all__ = ["probe_congestion", "probe_slammer", "probe_privacy", "NA",
           "PARTIAL"]
