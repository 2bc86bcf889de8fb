"""audit_content: probes about the message itself (forging, spam, virus,
fraud, phishing, mail bombing). Each message carries a Subject token; what
the SMTP server answered is the first half of the evidence, where the
message ended in the test account's mailbox (looked up over IMAP at the
end) the second. A clean control message is sent first: only when it
has arrived does "not in the mailbox" mean "stopped".
"""
import base64
import email.utils
import imaplib
import io
import os
import smtplib
import ssl
import time
import zipfile

from audit_core import FAIL, NA, PARTIAL, PASS
from audit_smtp import envelope, refused, reset, session
from audit_wire import Imap, Imaps, smtp_close, tls_client

# the EICAR test file and the GTUBE test string, split so that this file
# is not itself a test virus or test spam
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" +
         b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
GTUBE = (b"XJS*C4JDBQADN1.NSBN3*2IDNEN*" +
         b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
JUNK_NAMES = ("junk", "spam", "bulk")


def message(a, name, frm, body, headers=(), ctype="text/plain",
            to=None):
    """A message as bytes (CRLF), Subject with the run's token for name."""
    h = [("From", frm), ("To", "<%s>" % (to or a.o.rcpt)),
         ("Subject", a.token(name)),
         ("Date", email.utils.formatdate()),
         ("Message-ID", "<%s.%s@%s>" % (name, a.run_id,
                                        a.o.remote_domain)),
         ("MIME-Version", "1.0")]
    h += list(headers)
    if ctype:
        h.append(("Content-Type", ctype))
    head = "".join("%s: %s\r\n" % kv for kv in h).encode()
    if isinstance(body, str):
        body = body.encode()
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return head + b"\r\n" + body + (b"" if body.endswith(b"\r\n")
                                    else b"\r\n")


def multipart(parts, sub="mixed"):
    """(content-type, body) of a multipart made of (headers, body)."""
    b = "audit-%x" % int(time.time() * 1000)
    out = [b"This is a MIME message.\r\n"]
    for hdrs, body in parts:
        out.append(("--%s\r\n" % b).encode() + hdrs.encode() + b"\r\n\r\n"
                   + body + b"\r\n")
    out.append(("--%s--\r\n" % b).encode())
    return 'multipart/%s; boundary="%s"' % (sub, b), b"".join(out)


def attach(name, data, ctype="application/octet-stream"):
    enc = base64.encodebytes(data)
    return ("Content-Type: %s; name=\"%s\"\r\nContent-Disposition: "
            "attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: "
            "base64" % (ctype, name, name), enc)


def zipped(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return buf.getvalue()


def send(a, fault, title, mechs, role, frm, data, on_inbox=FAIL,
         on_junk=PARTIAL, on_gone=PASS, auth=False, at_data=True):
    """Send data to the test recipient through role and keep it for the
    mailbox look-up; a refusal decides the check at once (with at_data,
    only a refusal at the end of data counts: one at MAIL or RCPT came
    before the server saw the content)."""
    tr = a.tr(title)
    c = session(a, tr, role, auth=auth)
    if c is None:
        a.check(fault, title, mechs, NA, "no session", [tr])
        return
    st = envelope(c, frm, [a.o.rcpt])
    code, where = st[1], st[0]
    if code == 250:
        try:
            code, _ = c.data(data)
            where = "end of data"
        except (OSError, smtplib.SMTPException) as e:
            tr.note("DATA: %s" % e)
            code, where = 0, "DATA (connection lost)"
    else:
        reset(c)
    smtp_close(c)
    name = data_name(data)
    if refused(where, code) and (name == "control" or
                                 (at_data and where != "end of data")):
        a.check(fault, title, mechs, NA, "refused before the content "
                "was seen: %d at %s" % (code, where), [tr])
        return
    if refused(where, code):
        a.check(fault, title, mechs, PASS, "refused: %d at %s" % (code,
                                                                  where),
                [tr])
        return
    a.pending.append({"fault": fault, "title": title, "mechs": mechs,
                      "tr": tr, "name": name, "inbox": on_inbox,
                      "junk": on_junk, "gone": on_gone})


def data_name(data):
    i = data.find(b"Subject: sluice-audit ")
    return data[i:data.find(b"\r\n", i)].decode().split()[-1]


# --- the mailbox ----------------------------------------------------------

def mailbox_open(a, tr):
    """The test account logged in over IMAPS or IMAP+STARTTLS, or None."""
    try:
        if a.ep("imaps"):
            m = Imaps(tr, *a.ep("imaps"), ctx=tls_client(),
                      source=a.o.source)
        elif a.ep("imap"):
            m = Imap(tr, *a.ep("imap"), source=a.o.source)
            m.starttls(ssl_context=tls_client())
        else:
            return None
        m.login(a.o.rcpt_user or a.user, a.o.password)
        return m
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as e:
        tr.note("IMAP: %s" % e)
        return None


def mailbox_scan(a, m, tr):
    """token name -> folder for the run's messages in every folder."""
    found = {}
    typ, folders = m.list()
    names = []
    for ln in folders or []:
        if not ln:
            continue
        s = ln.decode("utf-8", "replace")
        name = s.rsplit(" ", 1)[-1].strip('"') if not s.endswith('"') \
            else s[s.rstrip('"').rfind('"') + 1:].rstrip('"')
        if "\\Noselect" not in s:
            names.append(name)
    for name in names:
        typ, _ = m.select('"%s"' % name, readonly=True)
        if typ != "OK":
            continue
        typ, data = m.search(None, "SUBJECT", '"sluice-audit %s"' %
                             a.run_id)
        ids = data[0].split() if typ == "OK" and data and data[0] else []
        for i in ids:
            typ, d = m.fetch(i, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            for part in d or []:
                if isinstance(part, tuple):
                    subj = part[1].decode("utf-8", "replace").split()
                    if subj:
                        found[subj[-1]] = name
    return found


def mailbox_cleanup(a, m):
    """Delete this run's messages (only those) from every folder."""
    typ, folders = m.list()
    for ln in folders or []:
        s = ln.decode("utf-8", "replace") if ln else ""
        name = s[s.rstrip('"').rfind('"') + 1:].rstrip('"') \
            if s.endswith('"') else s.rsplit(" ", 1)[-1]
        if not name or m.select('"%s"' % name)[0] != "OK":
            continue
        typ, data = m.search(None, "SUBJECT", '"sluice-audit %s"' %
                             a.run_id)
        if typ == "OK" and data and data[0]:
            m.store(b",".join(data[0].split()).decode(), "+FLAGS",
                    "(\\Deleted)")
            m.expunge()


def resolve(a):
    """Decide the checks whose messages were accepted: wait (bounded) for
    the control message, then look each one up."""
    if not a.pending:
        return
    tr = a.tr("mailbox of %s over IMAP" % (a.o.rcpt_user or a.user))
    m = mailbox_open(a, tr)
    found = {}
    control = False
    if m is not None:
        end = time.monotonic() + a.o.wait
        while True:
            try:
                found = mailbox_scan(a, m, tr)
            except (OSError, imaplib.IMAP4.error) as e:
                tr.note("IMAP: %s" % e)
                break
            want = {p["name"] for p in a.pending}
            control = "control" in found
            if control and (want <= set(found) or
                            time.monotonic() > end - a.o.wait / 2):
                break
            if time.monotonic() > end:
                break
            time.sleep(1)
        tr.note("found: %s" % ", ".join("%s in %s" % kv for kv in
                                        sorted(found.items())))
        if not a.o.keep:
            try:
                mailbox_cleanup(a, m)
                tr.note("this run's messages deleted (--keep keeps them)")
            except (OSError, imaplib.IMAP4.error) as e:
                tr.note("cleanup: %s" % e)
        try:
            m.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    for p in a.pending:
        if p["name"] == "control":
            continue
        where = found.get(p["name"])
        if m is None:
            st, why = FAIL, "accepted (250); no mailbox access to see " \
                "what became of it"
        elif where is None and not control:
            st, why = NA, "accepted; the control message did not arrive " \
                "within %ds either" % a.o.wait
        elif where is None:
            st, why = p["gone"], "accepted, never delivered (stopped " \
                "after the dialogue)"
        elif any(j in where.lower() for j in JUNK_NAMES):
            st, why = p["junk"], "delivered into %s" % where
        else:
            st, why = p["inbox"], "delivered into %s" % where
        a.check(p["fault"], p["title"], p["mechs"], st, why, [p["tr"], tr])


# --- the probes -----------------------------------------------------------

def probe_control(a):
    """A clean message from outside: the yardstick of delivery."""
    if not a.ep("mx"):
        return
    send(a, "spam", "control: clean mail from outside", [], "mx",
         a.outside(), message(a, "control", "<%s>" % a.outside(),
                              "Hello,\nthis is an ordinary message from "
                              "the audit.\n"))


def probe_forging(a):
    """Mail from outside claiming a local user, a local domain, and a
    domain whose SPF/DMARC forbid it (--forbidding-domain)."""
    f = "forging"
    if not a.ep("mx"):
        return
    local = a.o.other_user or a.user or a.o.rcpt
    body = "Please see the attached figures before the meeting.\n"
    send(a, f, "outside mail claiming local user %s" % local, [30, 31, 19],
         "mx", local, message(a, "forge-user", "<%s>" % local, body),
         at_data=False)
    dom = "ceo@" + a.domain
    send(a, f, "outside mail claiming the local domain (%s)" % dom,
         [30, 31, 19], "mx", dom, message(a, "forge-domain", "<%s>" % dom,
                                          body), at_data=False)
    if a.o.forbidding_domain:
        fd = "billing@" + a.o.forbidding_domain
        send(a, f, "mail from %s (SPF -all, DMARC p=reject)" % fd, [30, 31],
             "mx", fd, message(a, "forge-spf", "<%s>" % fd, body),
             at_data=False)
    if (a.ep("submission") or a.ep("submissions")) and a.o.password and \
            a.o.other_user:
        role = "submission" if a.ep("submission") else "submissions"
        send(a, f, "submission: From: header of another user", [4, 19],
             role, a.user, message(a, "forge-header", "<%s>" %
                                   a.o.other_user, body), auth=True,
             at_data=False)


def probe_spam(a):
    """GTUBE and the spams of --spam-dir; unknown recipients refused at
    RCPT (no backscatter)."""
    f = "spam"
    if not a.ep("mx"):
        return
    send(a, f, "GTUBE from outside", [23, 24], "mx", a.outside(),
         message(a, "gtube", "<%s>" % a.outside(), b"Cheap offer!\n\n" +
                 GTUBE + b"\n"), on_junk=PASS)
    for i, path in enumerate(a.o.spam_files[:a.o.max_spams]):
        with open(path, "rb") as fh:
            raw = fh.read(512 << 10)
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1]
        raw = raw.replace(b"\r\n", b"\n")
        head, _, body = raw.partition(b"\n\n")
        keep = [ln for ln in head.split(b"\n")
                if not ln.lower().startswith((b"subject:", b"to:",
                                              b"x-spam"))]
        hdr = (b"\n".join(keep) + b"\nTo: <%s>\nSubject: %s\n" % (
            a.o.rcpt.encode(), a.token("spam%d" % i).encode()))
        data = (hdr + b"\n" + body).replace(b"\n", b"\r\n")
        send(a, f, "corpus spam %s" % os.path.basename(path), [24, 20, 23],
             "mx", a.outside(), data, on_junk=PASS)
    tr = a.tr("unknown recipient")
    c = session(a, tr, "mx")
    if c:
        st = envelope(c, a.outside(), ["no-such-user-%s@%s" % (a.run_id,
                                                               a.domain)])
        reset(c)
        smtp_close(c)
        ok = st[0] == "RCPT" and refused("RCPT", st[1])
        a.check(f, "unknown recipient refused at RCPT (no backscatter)",
                [19], PASS if ok else FAIL, "%d at %s" % (st[1], st[0]),
                [tr])


def probe_virus(a):
    """EICAR plain, base64, zipped, zip in zip, inside a forwarded
    message, and through submission; found in the mailbox = open."""
    f = "virus"
    if not a.ep("mx"):
        return
    frm = "<%s>" % a.outside()
    cases = [("plain", "text/plain", EICAR + b"\n")]
    ct, b = multipart([("Content-Type: text/plain", b"See attached."),
                       attach("eicar.com", EICAR)])
    cases.append(("base64", ct, b))
    ct, b = multipart([("Content-Type: text/plain", b"Invoice."),
                       attach("invoice.zip", zipped("eicar.com", EICAR),
                              "application/zip")])
    cases.append(("zip", ct, b))
    inner = zipped("inner.zip", zipped("eicar.com", EICAR))
    ct, b = multipart([attach("outer.zip", inner, "application/zip")])
    cases.append(("zip-in-zip", ct, b))
    ict, ib = multipart([attach("eicar.com", EICAR)])
    fwd = ("Subject: forwarded\r\nMIME-Version: 1.0\r\nContent-Type: %s"
           "\r\n\r\n" % ict).encode() + ib
    ct, b = multipart([("Content-Type: message/rfc822", fwd)])
    cases.append(("message/rfc822", ct, b))
    ct, b = multipart([("Content-Type: application/x-odd; name=x.bin\r\n"
                        "Content-Transfer-Encoding: quoted-printable",
                        EICAR.replace(b"=", b"=3D"))], sub="alternative")
    cases.append(("quoted-printable in multipart/alternative", ct, b))
    for name, ct, body in cases:
        send(a, f, "EICAR %s from outside" % name, [28], "mx", a.outside(),
             message(a, "virus-" + name.split()[0].replace("/", "-"), frm,
                     body, ctype=ct), on_junk=FAIL)
    role = "submission" if a.ep("submission") else (
        "submissions" if a.ep("submissions") else None)
    if role and a.o.password:
        ct, b = multipart([attach("eicar.com", EICAR)])
        send(a, f, "EICAR from an authenticated user", [28], role, a.user,
             message(a, "virus-submitted", "<%s>" % a.user, b, ctype=ct),
             on_junk=FAIL, auth=True)


def lookalike(domain):
    """A domain that reads like domain: 'l'->'1' or 'o'->'0', else a
    doubled letter."""
    name, _, tld = domain.rpartition(".")
    for x, y in (("l", "1"), ("o", "0"), ("i", "1"), ("m", "rn")):
        if x in name:
            return name.replace(x, y, 1) + "." + tld
    return name[0] + name + "." + tld


def probe_fraud(a):
    """Display-name spoofing of a local user, and a lookalike domain."""
    f = "fraud"
    if not a.ep("mx"):
        return
    local = a.o.other_user or a.user or a.o.rcpt
    body = ("Hi,\nI need you to wire 9,800 EUR to the account below today, "
            "it is urgent and confidential.\nThanks\n")
    send(a, f, "display name spoofing %s" % local, [23, 24], "mx",
         a.outside(), message(a, "fraud-display", '"%s" <%s>' % (
             local, a.outside()), body))
    la = lookalike(a.domain)
    frm = "%s@%s" % (local.split("@")[0], la)
    send(a, f, "lookalike domain %s" % la, [23, 24, 30], "mx", frm,
         message(a, "fraud-lookalike", "<%s>" % frm, body), at_data=False)


def probe_phishing(a):
    """A forged DKIM signature of the local domain, and a link whose text
    shows one address and leads to another."""
    f = "phishing"
    if not a.ep("mx"):
        return
    dom = a.domain
    sig = ("v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=audit; "
           "h=from:subject; bh=%s; b=%s" % (
               dom, base64.b64encode(os.urandom(32)).decode(),
               base64.b64encode(os.urandom(128)).decode()))
    frm = "it-support@" + dom
    send(a, f, "forged DKIM signature of %s" % dom, [31, 30], "mx", frm,
         message(a, "phish-dkim", "<%s>" % frm,
                 "Your mailbox is full. Log in to keep your mail.\n",
                 headers=[("DKIM-Signature", sig)]), at_data=False)
    html = ('<html><body><p>Your password expires today.</p><p><a href="'
            'http://login.%s.%s/verify">https://webmail.%s/</a></p>'
            '</body></html>\n' % (dom.split(".")[0], a.o.remote_domain,
                                  dom))
    send(a, f, "deceptive link to a foreign host", [23, 24], "mx",
         a.outside(), message(a, "phish-link", '"IT support" <%s>' %
                              a.outside(), html, ctype="text/html"))


def probe_bombing(a):
    """Many messages from one sender to one user in a short time
    (--bomb messages over a few sessions); a limit must show."""
    f = "mail bombing"
    if not a.ep("mx"):
        return
    tr = a.tr("%d messages from one sender" % a.o.bomb)
    n, refusal = 0, None
    per = 10
    while n < a.o.bomb and refusal is None:
        c = session(a, tr, "mx")
        if c is None:
            refusal = "connection refused"
            break
        for _ in range(min(per, a.o.bomb - n)):
            c.quiet = n > 2
            st = envelope(c, a.outside(), [a.o.rcpt])
            code = st[1]
            if code == 250:
                try:
                    code, _ = c.data(message(a, "bomb%d" % n, "<%s>" %
                                             a.outside(), "bomb %d\n" % n))
                except (OSError, smtplib.SMTPException):
                    code = 0
            c.quiet = False
            if refused("DATA", code):
                refusal = "message %d refused (%d)" % (n + 1, code)
                tr.note(refusal)
                break
            n += 1
        smtp_close(c)
    tr.note("%d messages accepted" % n)
    a.check(f, "limit on mail from one sender (%d messages)" % a.o.bomb,
            [34, 11, 22], PASS if refusal else FAIL,
            refusal or "all %d accepted" % n, [tr])
