"""Grammar and response details of the store's IMAP server (issue #19).

Raw sockets over IMAPS and imaplib against the real store daemon: atoms
with '[' and astrings with ']' as mailbox names (RFC 3501 9), ID with a
parameter list and its limits (RFC 2971), SEARCH FROM/TO/CC/BCC through
RFC 5322 comments and white space inside addresses, LSUB's \\Noselect
parents of subscribed children (RFC 3501 6.3.9), and MOVE's untagged
COPYUID with the text resp-text needs.
"""
import imaplib
import re
import smtplib

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, imap, raw_session, reply  # noqa: F401

ALICE = "alice@example.test"


def sess(st, box=b"INBOX"):
    s, f = raw_session(st)
    s.settimeout(20)
    out = reply(s, f, ('a0 LOGIN %s "%s"' % (ALICE, PW[ALICE])).encode())
    assert out[-1].startswith(b"a0 OK")
    if box:
        assert reply(s, f, b"a1 SELECT " + box)[-1].startswith(b"a1 OK")
    return s, f


def status(out):
    return out[-1].split(b" ", 2)[1]


def deliver(st, msg):
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.sendmail("carol@remote.test", [ALICE], msg)


def test_atom_with_open_bracket_is_a_mailbox_name(imap):
    """ATOM-CHAR includes '['; ASTRING-CHAR adds ']' (RFC 3501 9)."""
    s, f = sess(imap, None)
    for name in (b"a[b", b"x]y", b"[z", b"w[1]"):
        out = reply(s, f, b"c1 CREATE " + name)
        assert status(out) == b"OK", (name, out)
        out = reply(s, f, b"c2 SELECT " + name)
        assert status(out) == b"OK", (name, out)
        out = reply(s, f, b"c3 STATUS " + name + b" (MESSAGES)")
        assert status(out) == b"OK", (name, out)
    # a bracket section still takes spaces and parentheses whole
    deliver(imap, b"From: a@b.test\r\nSubject: s\r\n\r\nx\r\n")
    reply(s, f, b"c4 SELECT INBOX")
    out = reply(s, f, b"c5 FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject From)]")
    assert status(out) == b"OK" and b"Subject: s" in b"".join(out)
    # an unclosed section is an atom FETCH does not know
    out = reply(s, f, b"c7 FETCH 1 BODY[HEADER")
    assert status(out) == b"BAD", out
    # two atoms, not one: a space ends "a[b" outside a real section
    out = reply(s, f, b"c6 SELECT a[b c]")
    assert status(out) == b"BAD", out
    s.close()


def test_id_with_parameters(imap):
    s, f = sess(imap, None)
    out = reply(s, f, b'i1 ID ("name" "x" "version" "1")')
    assert status(out) == b"OK", out
    assert out[0].startswith(b"* ID (") and b'"name"' in out[0]
    out = reply(s, f, b"i2 ID NIL")
    assert status(out) == b"OK" and out[0].startswith(b"* ID ("), out
    # values may be NIL, fields are strings
    assert status(reply(s, f, b'i3 ID ("os" NIL)')) == b"OK"
    # limits: 30 pairs, field 30 octets, value 1024 octets
    ok30 = b" ".join(b'"f%d" "v"' % i for i in range(30))
    assert status(reply(s, f, b"i4 ID (" + ok30 + b")")) == b"OK"
    too = b" ".join(b'"f%d" "v"' % i for i in range(31))
    assert status(reply(s, f, b"i5 ID (" + too + b")")) == b"BAD"
    assert status(reply(s, f, b'i6 ID ("' + b"f" * 30 + b'" "v")')) == b"OK"
    assert status(reply(s, f, b'i7 ID ("' + b"f" * 31 + b'" "v")')) == b"BAD"
    assert status(reply(s, f, b'i8 ID ("f" "' + b"v" * 1024 + b'")')) == b"OK"
    assert status(reply(s, f, b'i9 ID ("f" "' + b"v" * 1025 + b'")')) == b"BAD"
    # malformed: odd count, nested list, atoms, nothing
    for bad in (b'("name")', b'(("a" "b"))', b"(name x)", b"", b"FOO"):
        assert status(reply(s, f, b"j1 ID " + bad)) == b"BAD", bad
    s.close()
    m = imaplib.IMAP4_SSL("127.0.0.1", imap.imaps_port,
                          ssl_context=__import__("conftest").client_tls())
    imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
    m.login(ALICE, PW[ALICE])
    typ, data = m.xatom("ID", '("name" "imaplib" "version" "3")')
    assert typ == "OK", data
    m.logout()


ADDR_MSG = (b"From: Someone <user-from (comment)@ (comment) domain.org>\r\n"
            b"To: user-to(c1) @ (c2)  example.net (Name)\r\n"
            b"Cc: \"Quoted (not a comment)\" <cc.user @ cc . example>\r\n"
            b"Bcc: (x)bcc-user@(y)bcc.example(z)\r\n"
            b"Subject: addresses\r\n\r\nbody\r\n")


def test_search_addresses_through_comments(imap):
    deliver(imap, ADDR_MSG)
    m = imaplib.IMAP4_SSL("127.0.0.1", imap.imaps_port,
                          ssl_context=__import__("conftest").client_tls())
    m.login(ALICE, PW[ALICE])
    m.select("INBOX")

    def search(*keys):
        typ, data = m.search(None, *keys)
        assert typ == "OK"
        return data[0].split()

    assert search("FROM", "user-from@domain.org") == [b"1"]
    assert search("FROM", "Someone") == [b"1"]
    assert search("FROM", "comment") == [b"1"]      # raw text still found
    assert search("TO", "user-to@example.net") == [b"1"]
    assert search("CC", "cc.user@cc.example") == [b"1"]
    assert search("CC", '"Quoted (not a comment)"') == [b"1"]
    assert search("BCC", "bcc-user@bcc.example") == [b"1"]
    assert search("FROM", "user-from@domain.net") == []
    assert search("TO", "user-from@domain.org") == []
    m.logout()


def lsub(s, f, ref, pat):
    out = reply(s, f, b'l1 LSUB "%s" "%s"' % (ref, pat))
    assert status(out) == b"OK", out
    return sorted(ln.rstrip(b"\r\n") for ln in out[:-1])


def test_lsub_noselect_parent(imap):
    s, f = sess(imap, None)
    for cmd in (b"CREATE a.b", b"SUBSCRIBE a.b", b"CREATE p.q.r",
                b"SUBSCRIBE p.q.r", b"CREATE k", b"SUBSCRIBE k",
                b"CREATE k.l", b"SUBSCRIBE k.l"):
        assert status(reply(s, f, b"c " + cmd)) == b"OK", cmd
    out = lsub(s, f, b"", b"%")
    assert b'* LSUB (\\Noselect) "." "a"' in out, out
    assert b'* LSUB (\\Noselect) "." "p"' in out, out
    # k is subscribed itself: listed as itself, once
    ks = [ln for ln in out if ln.endswith(b'"." "k"')]
    assert len(ks) == 1 and b"\\Noselect" not in ks[0], out
    assert not [ln for ln in out if b"a.b" in ln or b"p.q" in ln]
    out = lsub(s, f, b"p.", b"%")
    assert out == [b'* LSUB (\\Noselect) "." "p.q"'], out
    out = lsub(s, f, b"", b"*")
    assert b'* LSUB () "." "a.b"' in [ln.replace(b"\\HasNoChildren", b"")
                                     for ln in out], out
    assert not [ln for ln in out if ln.endswith(b'"." "a"')], out
    s.close()


def test_move_copyuid_has_text(imap):
    deliver(imap, b"From: a@b.test\r\nSubject: 1\r\n\r\nx\r\n")
    deliver(imap, b"From: a@b.test\r\nSubject: 2\r\n\r\nx\r\n")
    s, f = sess(imap)
    out = reply(s, f, b"m1 MOVE 1:2 Trash")
    assert status(out) == b"OK", out
    cu = [ln for ln in out if b"COPYUID" in ln]
    assert len(cu) == 1, out
    assert re.match(rb"^\* OK \[COPYUID \d+ 1:2 \d+:\d+\] \S.*\r\n$",
                    cu[0]), cu
    s.close()


# ---- extensions: CHILDREN, ESEARCH, LIST-STATUS, STATUS=SIZE ----

def ext_client(st):
    m = imaplib.IMAP4_SSL("127.0.0.1", st.imaps_port,
                          ssl_context=__import__("conftest").client_tls())
    m.login(ALICE, PW[ALICE])
    return m


def test_capabilities_advertised(imap):
    m = ext_client(imap)
    typ, data = m.capability()
    caps = data[0].split()
    for c in (b"CHILDREN", b"ESEARCH", b"LIST-STATUS", b"STATUS=SIZE",
              b"ID"):
        assert c in caps, caps
    m.logout()


def test_children(imap):
    m = ext_client(imap)
    m.create("par.kid")
    typ, data = m.list('""', "par*")
    got = {ln.rsplit(b" ", 1)[1].strip(b'"'): ln for ln in data}
    assert b"\\HasChildren" in got[b"par"] and b"\\Noselect" in got[b"par"]
    assert b"\\HasNoChildren" in got[b"par.kid"]
    m.logout()


def test_esearch(imap):
    for i in range(5):
        deliver(imap, b"From: a@b.test\r\nSubject: n%d\r\n\r\nx\r\n" % i)
    m = ext_client(imap)
    m.select("INBOX")
    m.store("2,3,5", "+FLAGS", "(\\Seen)")
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)",
                                  "SEEN")
    assert typ == "OK"
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    line = data[-1]
    assert re.search(rb'^\(TAG "\w+"\) MIN 2 MAX 5 ALL 2:3,5 COUNT 3$',
                     line), line
    typ, data = m._simple_command("UID", "SEARCH", "RETURN", "()", "UNSEEN")
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    assert re.search(rb"^\(TAG \"\w+\"\) UID ALL 1,4$", data[-1]), data
    typ, data = m._simple_command("SEARCH", "RETURN", "(COUNT)", "DRAFT")
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    assert data[-1].endswith(b") COUNT 0"), data
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m._simple_command("SEARCH", "RETURN", "(BOGUS)", "ALL")
    # plain SEARCH unchanged
    typ, data = m.search(None, "SEEN")
    assert data[0] == b"2 3 5"
    m.logout()


def test_list_status_and_status_size(imap):
    body = b"From: a@b.test\r\nSubject: s\r\n\r\n" + b"z" * 100 + b"\r\n"
    deliver(imap, body)
    deliver(imap, body)
    m = ext_client(imap)
    m.create("box.sub")
    typ, data = m.status("INBOX", "(MESSAGES SIZE UNSEEN)")
    assert typ == "OK"
    size = int(re.search(rb"SIZE (\d+)", data[0]).group(1))
    m.select("INBOX", readonly=True)
    typ, sizes = m.fetch("1:*", "(RFC822.SIZE)")
    want = sum(int(re.search(rb"RFC822.SIZE (\d+)", x).group(1))
               for x in sizes)
    assert size == want and size > 2 * len(body), (data, sizes)
    s, f = sess(imap, None)
    out = reply(s, f, b'l1 LIST "" "*" RETURN (STATUS (MESSAGES SIZE))')
    assert status(out) == b"OK", out
    lines = [ln.rstrip(b"\r\n") for ln in out[:-1]]
    i = lines.index(b'* LIST (\\HasNoChildren) "." "INBOX"')
    assert lines[i + 1] == b'* STATUS "INBOX" (MESSAGES 2 SIZE %d)' % size
    # a \Noselect parent gets no STATUS
    j = [k for k, ln in enumerate(lines) if ln.endswith(b'"." "box"')][0]
    assert not lines[j + 1].startswith(b"* STATUS")
    assert status(reply(s, f, b'l2 LIST "" "*" RETURN (STATUS ())')) == b"BAD"
    assert status(reply(s, f, b'l3 LIST "" "*" RETURN (FOO)')) == b"BAD"
    out = reply(s, f, b'l4 LIST "" "%" RETURN (CHILDREN)')
    assert status(out) == b"OK", out
    s.close()
    m.logout()
