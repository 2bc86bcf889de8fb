"""audit_smtp: the SMTP-level probes of sluice-audit (what a server answers
in the dialogue): any-to-any, open relay, anonymous sender, data size,
traffic amplification. Every probe stops before DATA unless the fault is
about the message itself, and ends with RSET/QUIT.
"""
import smtplib
import ssl

from audit_core import FAIL, NA, PARTIAL, PASS
from audit_wire import (raw_cmd, raw_connect, raw_reply, smtp_close,
                        smtp_open, tls_client)


def session(a, tr, role, auth=False, tls=None):
    """An SMTP session on role after EHLO (STARTTLS first for submission,
    then AUTH when asked), or None (noted)."""
    ep = a.ep(role)
    implicit = role == "submissions"
    c = smtp_open(tr, ep[0], ep[1], a.o.source,
                  tls=tls_client() if implicit else None)
    if c is None:
        return None
    try:
        c.ehlo(a.helo())
        if role == "submission" and (tls or auth):
            c.starttls(context=tls_client())
            c.ehlo(a.helo())
        if auth:
            code, _ = c.auth_plain_secret(a.user, a.o.password)
            if code != 235:
                tr.note("login failed: the test account is refused")
                smtp_close(c)
                return None
    except (OSError, smtplib.SMTPException, ssl.SSLError) as e:
        tr.note("session failed: %s" % e)
        smtp_close(c)
        return None
    return c


def envelope(c, mail_from, rcpts, params=""):
    """MAIL and RCPTs through c (raw commands, so odd addresses go out
    as written). Returns (stage, code, text): the first refusal, or
    ("RCPT", 250, ...) when every recipient was taken."""
    code, msg = c.docmd("MAIL", "FROM:<%s>%s" % (mail_from, params))
    if code != 250:
        return "MAIL", code, msg.decode("utf-8", "replace")
    got = None
    for r in rcpts:
        code, msg = c.docmd("RCPT", "TO:<%s>" % r if not r.startswith("<")
                            else "TO:" + r)
        got = (code, msg.decode("utf-8", "replace"))
        if code not in (250, 251):
            return "RCPT", code, got[1]
    return "RCPT", got[0], got[1]


def reset(c):
    try:
        c.rset()
    except (OSError, smtplib.SMTPException):
        pass


def refused(stage, code):
    return code >= 400 or code == 0


# --- any-to-any -----------------------------------------------------------

def probe_any_to_any(a):
    """Port 25 on every role host that is not the MX; every internal
    stage (--internal) refuses mail from outside for a remote domain."""
    f = "any-to-any"
    mx = a.ep("mx")
    hosts = sorted({ep[0] for r, ep in a.roles.items()
                    if r not in ("mx", "outbound")} - {None})
    for h in hosts:
        if mx and mx == (h, 25):
            continue
        tr = a.tr("port 25 on %s" % h)
        sock = raw_connect(tr, h, 25, a.o.source, timeout=2)
        if sock is None:
            a.check(f, "port 25 closed on %s (not the MX)" % h, [1], PASS,
                    "no SMTP service on %s:25" % h, [tr])
            continue
        code, _ = raw_reply(tr, sock)
        sock.close()
        a.check(f, "port 25 closed on %s (not the MX)" % h, [1], FAIL,
                "%s:25 answers (%d): mail can go anywhere" % (h, code),
                [tr])
    for i, ep in enumerate(a.o.internal):
        tr = a.tr("internal stage %s:%d from outside" % ep)
        sock = raw_connect(tr, ep[0], ep[1], a.o.source)
        title = "internal stage %s:%d refuses outside clients" % ep
        if sock is None:
            a.check(f, title, [3, 7], NA, "not reachable", [tr])
            continue
        code, _ = raw_reply(tr, sock)
        res = code
        if code == 220:
            code, _ = raw_cmd(tr, sock, "LHLO " + a.helo())
            if code >= 500:
                code, _ = raw_cmd(tr, sock, "EHLO " + a.helo())
            res = code
            if code == 250:
                res, _ = raw_cmd(tr, sock, "MAIL FROM:<%s>" % a.outside())
                if res == 250:
                    res, _ = raw_cmd(tr, sock, "RCPT TO:<someone@%s>" %
                                     a.o.remote_domain)
            raw_cmd(tr, sock, "QUIT")
        sock.close()
        if res == 250:
            a.check(f, title, [3, 7], FAIL, "took a remote recipient "
                    "from an outside address", [tr])
        else:
            a.check(f, title, [3, 7], PASS, "refused (%d)" % res, [tr])
    sub = a.ep("submission") or a.ep("submissions")
    if sub:
        role = "submission" if a.ep("submission") else "submissions"
        tr = a.tr("submission without AUTH to a remote domain")
        c = session(a, tr, role, tls=True)
        st = None
        if c:
            st = envelope(c, a.outside(), ["someone@" + a.o.remote_domain])
            reset(c)
            smtp_close(c)
        if st is None:
            a.check(f, "submission relays only for authenticated users",
                    [2, 4], NA, "no session", [tr])
        else:
            ok = refused(st[0], st[1])
            a.check(f, "submission relays only for authenticated users",
                    [2, 4], PASS if ok else FAIL, "%s %d at %s" % (
                        "refused" if ok else "RELAYED", st[1], st[0]),
                    [tr])


# --- open relay -----------------------------------------------------------

def relay_tricks(a):
    """(name, mail from, rcpt) of the classic relay tricks (RFC 2505)."""
    rd, ld = a.o.remote_domain, a.domain
    v = "someone"
    return [
        ("plain remote recipient", a.outside(), "%s@%s" % (v, rd)),
        ("local sender, remote recipient", a.user or a.o.rcpt,
         "%s@%s" % (v, rd)),
        ("null sender", "", "%s@%s" % (v, rd)),
        ("percent hack", a.outside(), "%s%%%s@%s" % (v, rd, ld)),
        ("source route", a.outside(), "<@%s:%s@%s>" % (ld, v, rd)),
        ("bang path", a.outside(), "%s!%s@%s" % (rd, v, ld)),
        ("bare bang path", a.outside(), "%s!%s" % (rd, v)),
        ("quoted local part", a.outside(), '"%s@%s"@%s' % (v, rd, ld)),
        ("IP literal", a.outside(), "%s@[192.0.2.1]" % v),
        ("trailing dot", a.outside(), "%s@%s." % (v, rd)),
        ("upper case remote domain", a.outside(), "%s@%s" % (v, rd.upper())),
    ]


def probe_open_relay(a):
    """The relay tricks at the MX, from outside, stopping at RCPT; then
    relaying after RSET (a local transaction first)."""
    f = "open relay"
    if not a.ep("mx"):
        return
    for name, frm, rcpt in relay_tricks(a):
        tr = a.tr("relay: " + name)
        c = session(a, tr, "mx")
        if c is None:
            a.check(f, "relay refused: " + name, [7, 17], NA,
                    "no session", [tr])
            continue
        st = envelope(c, frm, [rcpt])
        reset(c)
        smtp_close(c)
        ok = refused(st[0], st[1])
        a.check(f, "relay refused: " + name, [7, 17], PASS if ok else FAIL,
                "%s %d at %s" % ("refused" if ok else "ACCEPTED", st[1],
                                 st[0]), [tr])
    tr = a.tr("relay after RSET")
    c = session(a, tr, "mx")
    if c:
        envelope(c, a.outside(), [a.o.rcpt])
        reset(c)
        st = envelope(c, a.outside(), ["someone@" + a.o.remote_domain])
        reset(c)
        smtp_close(c)
        ok = refused(st[0], st[1])
        a.check(f, "relay refused after RSET", [7], PASS if ok else FAIL,
                "%d at %s" % (st[1], st[0]), [tr])


# --- anonymous sender -----------------------------------------------------

def probe_anonymous(a):
    """Submission: AUTH not before TLS, no mail without AUTH, no sending
    as another user; the MX takes no mail to remote domains."""
    f = "anonymous sender"
    if a.ep("submission"):
        tr = a.tr("submission before STARTTLS")
        c = session(a, tr, "submission")
        if c:
            adv = c.has_extn("auth")
            code, msg = c.docmd("AUTH", "PLAIN")
            if code == 334:
                c.docmd("*")
            smtp_close(c)
            ok = not adv and code >= 500
            a.check(f, "no AUTH before STARTTLS", [4, 14],
                    PASS if ok else FAIL, "AUTH %sadvertised, AUTH PLAIN "
                    "answered %d" % ("" if adv else "not ", code), [tr])
    for role in ("submission", "submissions"):
        if not a.ep(role):
            continue
        for what, rcpt in (("local", a.o.rcpt),
                           ("remote", "someone@" + a.o.remote_domain)):
            tr = a.tr("%s without AUTH, %s recipient" % (role, what))
            c = session(a, tr, role, tls=True)
            if c is None:
                continue
            st = envelope(c, a.user, [rcpt])
            reset(c)
            smtp_close(c)
            ok = refused(st[0], st[1])
            a.check(f, "%s: no mail without AUTH (%s recipient)" % (
                role, what), [4], PASS if ok else FAIL, "%d at %s" %
                (st[1], st[0]), [tr])
    role = "submission" if a.ep("submission") else (
        "submissions" if a.ep("submissions") else None)
    if role and a.user and a.o.password and a.o.other_user:
        tr = a.tr("authenticated, MAIL FROM another user")
        c = session(a, tr, role, auth=True)
        if c:
            st = envelope(c, a.o.other_user, [a.o.rcpt])
            reset(c)
            smtp_close(c)
            ok = refused(st[0], st[1])
            a.check(f, "sender bound to the login (MAIL FROM another user)",
                    [4, 19], PASS if ok else FAIL, "%d at %s" % (st[1],
                                                                 st[0]),
                    [tr])
    if a.ep("mx"):
        tr = a.tr("MX: local user as sender to a remote domain")
        c = session(a, tr, "mx")
        if c:
            st = envelope(c, a.user or a.o.rcpt,
                          ["someone@" + a.o.remote_domain])
            reset(c)
            smtp_close(c)
            ok = refused(st[0], st[1])
            a.check(f, "MX takes no outgoing mail without AUTH", [3, 7],
                    PASS if ok else FAIL, "%d at %s" % (st[1], st[0]), [tr])


# --- data size ------------------------------------------------------------

def size_limit(c):
    """The SIZE the server advertised (0 when none or no limit)."""
    v = c.esmtp_features.get("size", "")
    return int(v) if v.strip().isdigit() else 0


def filler(n, prefix):
    """About n bytes of message in 76-character lines."""
    line = b"x" * 76 + b"\r\n"
    return prefix + line * (max(0, n - len(prefix)) // len(line) + 1)


def probe_size(a, roles=("mx", "submission")):
    """SIZE advertised; a huge declared SIZE refused at MAIL; a message
    over the limit refused at DATA; a huge header section refused; an
    over-long command line answered 500."""
    f = "data size set by the sender"
    for role in roles:
        if not a.ep(role):
            continue
        auth = role != "mx"
        if auth and not a.o.password:
            continue
        rcpt = a.o.rcpt
        frm = a.outside() if role == "mx" else a.user
        tr = a.tr("%s: SIZE" % role)
        c = session(a, tr, role, auth=auth)
        if c is None:
            continue
        lim = size_limit(c)
        a.check(f, "%s advertises SIZE" % role, [8],
                PASS if lim else FAIL, "SIZE %d" % lim if lim else
                "no SIZE limit advertised", [tr])
        st = envelope(c, frm, [rcpt], " SIZE=%d" % (1 << 40))
        reset(c)
        ok = st[0] == "MAIL" and refused("MAIL", st[1])
        a.check(f, "%s refuses a declared SIZE of 1 TB at MAIL" % role, [8],
                PASS if ok else FAIL, "%d at %s" % (st[1], st[0]), [tr])
        # RFC 5321 4.5.3.1.4: 512 octets, which extensions may raise; a
        # path of 10,000 octets is over any sane limit however the server
        # reads it (refused as too long or as a broken path)
        code, _ = c.docmd("MAIL", "FROM:<%s@%s>" % ("x" * 10000,
                                                    a.o.remote_domain))
        reset(c)
        a.check(f, "%s refuses a 10,000-octet command line" % role, [8],
                PASS if code >= 500 else FAIL, "answered %d" % code, [tr])
        smtp_close(c)
        send = min((lim or a.o.max_size) + (1 << 20), a.o.max_size)
        if lim and lim + (1 << 20) > a.o.max_size:
            a.check(f, "%s refuses a message over its limit" % role, [8],
                    NA, "limit %d over the probe's bound %d (--max-size)"
                    % (lim, a.o.max_size), [tr])
        else:
            over_size(a, f, role, auth, frm, rcpt, send,
                      "message of %d bytes" % send, body=True)
        over_size(a, f, role, auth, frm, rcpt, min(a.o.max_size, 2 << 20),
                  "header section of %d bytes" % min(a.o.max_size, 2 << 20),
                  body=False)


def over_size(a, f, role, auth, frm, rcpt, n, what, body):
    tr = a.tr("%s: %s" % (role, what))
    c = session(a, tr, role, auth=auth)
    if c is None:
        return
    tok = a.token("size-" + ("body" if body else "header") + "-" + role)
    head = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n" % (frm, rcpt, tok)
            ).encode()
    if body:
        msg = filler(n, head + b"\r\n")
    else:
        fold = b"X-Audit-Filler: " + b"y" * 70 + b"\r\n"
        msg = head + fold * (n // len(fold)) + b"\r\nbody\r\n"
    st = envelope(c, frm, [rcpt])
    if st[1] != 250:
        code, why = st[1], "refused at %s" % st[0]
    else:
        try:
            code, _ = c.data(msg)
        except (OSError, smtplib.SMTPException) as e:
            tr.note("DATA: %s" % e)
            code = 0
        why = "%d at end of data" % code
    smtp_close(c)
    ok = refused("DATA", code)
    a.check(f, "%s refuses a %s" % (role, what), [8],
            PASS if ok else FAIL, why if ok else "ACCEPTED (%s)" % why,
            [tr])


# --- traffic amplification ------------------------------------------------

def rcpt_limit(a, role, auth):
    """How many recipients of one message role takes (up to the probe's
    bound); (count, limited, transcript)."""
    tr = a.tr("%s: recipients per message" % role)
    c = session(a, tr, role, auth=auth)
    if c is None:
        return None, False, tr
    frm = a.outside() if role == "mx" else a.user
    code, _ = c.docmd("MAIL", "FROM:<%s>" % frm)
    n = 0
    limited = False
    if code == 250:
        tr.note("RCPT TO:<%s> repeated up to %d times (replies only "
                "shown when they change)" % (a.o.rcpt, a.o.max_rcpts))
        last = None
        for i in range(a.o.max_rcpts):
            c.quiet = True
            try:
                code, msg = c.docmd("RCPT", "TO:<%s>" % a.o.rcpt)
            except (OSError, smtplib.SMTPException):
                limited = True
                break
            finally:
                c.quiet = False
            if code != last:
                tr.add("S:", "[RCPT %d] %d %s" % (i + 1, code,
                                                  msg.decode("utf-8",
                                                             "replace")))
                last = code
            if code not in (250, 251):
                limited = True
                break
            n += 1
        reset(c)
    smtp_close(c)
    return n, limited, tr


def probe_amplification(a):
    """Recipients per message at the MX and at submission; an address
    list (--list) reachable from outside."""
    f = "traffic amplification"
    for role, auth in (("mx", False), ("submission", True)):
        if not a.ep(role) or (auth and not a.o.password):
            continue
        n, limited, tr = rcpt_limit(a, role, auth)
        if n is None:
            continue
        a.check(f, "%s limits recipients per message" % role, [9],
                PASS if limited and n <= 1000 else FAIL,
                "refused recipient %d" % (n + 1) if limited else
                "took all %d recipients" % n, [tr])
    for lst in a.o.lists:
        tr = a.tr("list %s from outside" % lst)
        c = session(a, tr, "mx")
        if c is None:
            continue
        st = envelope(c, a.outside(), [lst])
        reset(c)
        smtp_close(c)
        ok = refused(st[0], st[1])
        a.check(f, "list %s closed to outside senders" % lst, [19],
                PASS if ok else FAIL, "%d at %s" % (st[1], st[0]), [tr])


def partial_or(ok, part):
    return PASS if ok else (PARTIAL if part else FAIL)


__all__ = ["probe_any_to_any", "probe_open_relay", "probe_anonymous",
           "probe_size", "probe_amplification", "session", "envelope",
           "reset", "refused", "partial_or", "PARTIAL", "NA"]
