"""MIME through the real IMAP server: FETCH ENVELOPE, BODYSTRUCTURE and
BODY[section] of a nested message, SEARCH on encoded words and encoded
bodies, and hostile structures (deep nesting, thousands of parts, broken
boundaries) that must give bounded, well-formed answers. Python's imaplib
over implicit TLS against the store daemon (ASan build); the store_mime
unit test holds the exact goldens, this checks the wiring end to end.
"""
import pytest

pytest.importorskip("test_imap")  # the IMAP server (branch imap)
from test_imap import PW, deliver, imap, ssl_login  # noqa: E402,F401

ALICE = "alice@example.test"

NESTED = (b"From: Alice <alice@example.test>\r\n"
          b"To: Friends: bob@example.test, carol@example.test;\r\n"
          b"Subject: =?ISO-8859-1?Q?caf=E9?= fwd\r\n"
          b"Date: Mon, 23 Nov 2026 23:30:00 -0500\r\n"
          b"Message-ID: <n1@example.test>\r\n"
          b"Content-Type: multipart/mixed; boundary=o\r\n"
          b"\r\n"
          b"--o\r\n"
          b"Content-Type: text/plain\r\n"
          b"\r\n"
          b"see below\r\n"
          b"--o\r\n"
          b"Content-Type: message/rfc822\r\n"
          b"\r\n"
          b"From: Bob <bob@example.test>\r\n"
          b"Subject: inner\r\n"
          b"Content-Type: multipart/alternative; boundary=i\r\n"
          b"\r\n"
          b"--i\r\n"
          b"Content-Type: text/plain; charset=iso-8859-1\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"\r\n"
          b"Y2Fm6SBpbm5lcg==\r\n"
          b"--i\r\n"
          b"Content-Type: text/html\r\n"
          b"Content-Transfer-Encoding: quoted-printable\r\n"
          b"\r\n"
          b"<b>soft=\r\nbreak</b>\r\n"
          b"--i--\r\n"
          b"\r\n"
          b"--o--\r\n")


def fetch(m, what, num=b"1"):
    typ, data = m.fetch(num, what)
    assert typ == "OK", data
    return b"".join(x if isinstance(x, bytes) else b"".join(x)
                    for x in data)


def section(m, num, sec):
    """The bytes of BODY[sec] of message num (literal or quoted)."""
    typ, data = m.fetch(num, "(BODY.PEEK[%s])" % sec)
    assert typ == "OK", data
    if isinstance(data[0], tuple):
        return data[0][1]
    q = data[0].split(b"] ", 1)[1]
    assert q.startswith(b'"') and q.endswith(b'")'), q
    return q[1:-2]


def search(m, *crit):
    typ, data = m.search(None, *crit)
    assert typ == "OK", data
    return data[0].split()


def search_utf8(m, key, text):
    """SEARCH CHARSET UTF-8 key {n} text: 8-bit goes as a literal."""
    m.literal = text.encode("utf-8")
    typ, data = m.search("UTF-8", key)
    assert typ == "OK", data
    return data[0].split()


def test_nested_message_through_imap(imap):
    deliver(imap, ALICE, NESTED)
    m = ssl_login(imap)
    assert m.select("INBOX")[0] == "OK"
    env = fetch(m, "(ENVELOPE)")
    assert b'"=?ISO-8859-1?Q?caf=E9?= fwd"' in env
    assert b'((NIL NIL "Friends" NIL)(NIL NIL "bob" "example.test")' \
        b'(NIL NIL "carol" "example.test")(NIL NIL NIL NIL))' in env
    bs = fetch(m, "(BODYSTRUCTURE)")
    assert b'("message" "rfc822" NIL NIL NIL "7bit" ' in bs
    assert b'(("text" "plain" ("charset" "iso-8859-1") NIL NIL "base64" ' \
        b'16 0 NIL NIL NIL NIL)' in bs
    assert b'"alternative" ("boundary" "i") NIL NIL NIL)' in bs
    assert bs.count(b"(") == bs.count(b")")
    body = fetch(m, "(BODY)")
    # BODY has no extension data
    assert b'"7bit" 9 0)' in body and body.endswith(b'"mixed"))')
    assert section(m, b"1", "2.HEADER.FIELDS (SUBJECT)") == \
        b"Subject: inner\r\n\r\n"
    assert section(m, b"1", "2.1.MIME") == \
        b"Content-Type: text/plain; charset=iso-8859-1\r\n" \
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    assert section(m, b"1", "2.1") == b"Y2Fm6SBpbm5lcg=="
    assert section(m, b"1", "1") == b"see below"
    assert section(m, b"1", "2").startswith(b"From: Bob <bob@example.test>")
    assert section(m, b"1", "2.2.MIME").endswith(
        b"quoted-printable\r\n\r\n")
    # SEARCH decodes: RFC 2047 in ISO-8859-1, base64 and QP bodies
    assert search_utf8(m, "SUBJECT", "caf\xe9 fwd") == [b"1"]
    assert search_utf8(m, "BODY", "CAF\xe9 inner") == [b"1"]
    assert search_utf8(m, "BODY", "caf\xe9 outer") == []
    assert search(m, "BODY", "softbreak") == [b"1"]
    assert search(m, "BODY", "Y2Fm6SBp") == []
    assert search(m, "TEXT", "n1@example.test") == [b"1"]
    assert search(m, "HEADER", "Message-ID", "n1@") == [b"1"]
    # SENTON takes the date in the sender's zone (RFC 3501 6.4.4)
    assert search(m, "SENTON", "23-Nov-2026") == [b"1"]
    assert search(m, "SENTON", "24-Nov-2026") == []
    m.logout()


def deep_message(levels):
    parts = [b"Subject: deep\r\n"]
    for i in range(levels):
        parts.append(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n"
                     b"--b%d\r\n" % (i, i))
    parts.append(b"\r\nleaf\r\n")
    return b"".join(parts)


def many_parts(n):
    return (b"Subject: many\r\nContent-Type: multipart/mixed; boundary=x"
            b"\r\n\r\n" + b"--x\r\n\r\np\r\n" * n + b"--x--\r\n")


def broken():
    return (b"Subject: broken\r\nContent-Type: multipart/mixed; "
            b"boundary=\"never\"\r\n\r\n--nevermore\r\nno part\r\n")


def test_hostile_structures_through_imap(imap):
    deliver(imap, ALICE, deep_message(300))
    deliver(imap, ALICE, many_parts(5000))
    deliver(imap, ALICE, broken())
    deliver(imap, ALICE, b"Content-Type: message/rfc822\r\n\r\n" * 200 +
            b"Subject: bottom\r\n\r\nend\r\n")
    m = ssl_login(imap)
    assert m.select("INBOX")[0] == "OK"
    for num in (b"1", b"2", b"3", b"4"):
        bs = fetch(m, "(BODYSTRUCTURE ENVELOPE)", num)
        assert bs.count(b"(") == bs.count(b")"), num
        assert len(bs) < 600000, (num, len(bs))
    # past the depth cap the rest is one text part: no section goes
    # deeper than the cap, and asking for one is harmless
    # 32 multipart levels (MIME_MAX_DEPTH), then a text part holding
    # the rest, which takes one more "1"
    assert b"leaf" in section(m, b"1", ".".join(["1"] * 33))
    assert section(m, b"1", ".".join(["1"] * 34)) == b""
    assert section(m, b"1", ".".join(["1"] * 60)) == b""
    assert b"leaf" in section(m, b"1", "TEXT")
    # part 2000 is the last one kept: it holds the rest of the message
    assert section(m, b"2", "3") == b"p"
    assert section(m, b"2", "2000").count(b"--x\r\n") == 3000
    assert section(m, b"2", "2001") == b""
    # the broken multipart has one empty part, as Dovecot writes it
    assert b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 ' \
        b'NIL NIL NIL NIL) "mixed"' in fetch(m, "(BODYSTRUCTURE)", b"3")
    assert search(m, "BODY", "bottom") == [b"4"]
    typ, _ = m.noop()
    assert typ == "OK"
    m.logout()
