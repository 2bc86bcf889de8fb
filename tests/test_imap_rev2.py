"""IMAP4rev2 (RFC 9051) beside IMAP4rev1 on the real store daemon
(issue #19).

Both are advertised; ENABLE IMAP4rev2 switches one session to the
changes of RFC 9051 Appendix E that concern a server, each checked
against an IMAP4rev1 session doing the same: no \\Recent (no RECENT
response, flag, search keys or STATUS item), SEARCH answered with
ESEARCH, SELECT with a LIST line and no [UNSEEN], [CLOSED] when
another folder is selected, STATUS DELETED, CHECK gone, and mailbox
names in UTF-8 where IMAP4rev1 sessions see modified UTF-7 for the same
folder.
"""
import re

import pytest

pytest.importorskip("test_imap")
from test_imap import deliver, simple, ssl_login  # noqa: F401
from test_imap import imap  # noqa: F401

ALICE = "alice@example.test"


def cmd(m, line):
    """Send a raw command; every line up to and with its tagged reply."""
    tag = m._new_tag()
    m.send(tag + b" " + line + b"\r\n")
    out = []
    while True:
        ln = m.readline()
        assert ln, "connection closed after %r" % out
        out.append(ln)
        if ln.startswith(tag + b" "):
            return tag, out


def ok(m, line):
    tag, out = cmd(m, line)
    assert out[-1].startswith(tag + b" OK"), (line, out)
    return out


def bad(m, line):
    tag, out = cmd(m, line)
    assert out[-1].startswith(tag + b" BAD"), (line, out)
    return out


def rev2(st):
    m = ssl_login(st)
    out = ok(m, b"ENABLE IMAP4rev2")
    assert b"* ENABLED IMAP4rev2\r\n" in out, out
    return m


def test_both_advertised(imap):
    m = ssl_login(imap)
    caps = m.capabilities
    assert "IMAP4REV1" in caps and "IMAP4REV2" in caps, caps
    # enabled once: a second ENABLE does not name it again
    ok(m, b"ENABLE IMAP4rev2")
    assert b"* ENABLED\r\n" in ok(m, b"ENABLE IMAP4rev2")
    m.logout()


def test_no_recent(imap):
    deliver(imap, ALICE, simple(1, b"one"))
    m = rev2(imap)
    out = ok(m, b"SELECT INBOX")
    assert not [ln for ln in out if b"RECENT" in ln or b"[UNSEEN" in ln], \
        out
    # RFC 9051 6.3.2: the LIST line of the selected mailbox
    assert [ln for ln in out if re.match(rb'\* LIST \([^)]*\) "\." "?INBOX',
                                          ln)], out
    out = ok(m, b"FETCH 1 FLAGS")
    assert out[0] == b"* 1 FETCH (FLAGS ())\r\n", out
    for key in (b"RECENT", b"NEW", b"OLD"):
        bad(m, b"SEARCH " + key)
    bad(m, b"STATUS INBOX (RECENT)")
    deliver(imap, ALICE, simple(2, b"two"))
    out = ok(m, b"NOOP")
    assert b"* 2 EXISTS\r\n" in out and not [
        ln for ln in out if b"RECENT" in ln], out
    m.logout()
    # the same with IMAP4rev1: \Recent is there for the next session
    deliver(imap, ALICE, simple(3, b"three"))
    m = ssl_login(imap)
    out = ok(m, b"SELECT INBOX")
    assert b"* 1 RECENT\r\n" in out, out
    assert b"\\Recent" in ok(m, b"FETCH 3 FLAGS")[0]
    ok(m, b"SEARCH RECENT")
    m.logout()


def test_search_answers_esearch(imap):
    for i in range(3):
        deliver(imap, ALICE, simple(i, b"m%d" % i))
    m = rev2(imap)
    ok(m, b"SELECT INBOX")
    tag, out = cmd(m, b"SEARCH ALL")
    assert out == [b'* ESEARCH (TAG "%s") ALL 1:3\r\n' % tag, out[-1]], out
    tag, out = cmd(m, b"UID SEARCH 2:3")
    assert out[0] == b'* ESEARCH (TAG "%s") UID ALL 2:3\r\n' % tag, out
    tag, out = cmd(m, b"SEARCH SUBJECT nothing-like-this")
    assert out[0] == b'* ESEARCH (TAG "%s")\r\n' % tag, out
    tag, out = cmd(m, b"SEARCH RETURN (COUNT) ALL")
    assert out[0] == b'* ESEARCH (TAG "%s") COUNT 3\r\n' % tag, out
    m.logout()
    m = ssl_login(imap)
    m.select("INBOX")
    assert ok(m, b"SEARCH ALL")[0] == b"* SEARCH 1 2 3\r\n"
    m.logout()


def test_status_deleted_closed_and_check(imap):
    for i in range(2):
        deliver(imap, ALICE, simple(i, b"m%d" % i))
    m = rev2(imap)
    ok(m, b"CREATE Other")
    ok(m, b"SELECT INBOX")
    ok(m, b"STORE 2 +FLAGS (\\Deleted)")
    out = ok(m, b"STATUS INBOX (MESSAGES DELETED)")
    assert out[0] == b'* STATUS "INBOX" (MESSAGES 2 DELETED 1)\r\n', out
    bad(m, b"CHECK")
    out = ok(m, b"SELECT Other")
    assert out[0].startswith(b"* OK [CLOSED]"), out
    m.logout()
    m = ssl_login(imap)
    m.select("INBOX")
    ok(m, b"CHECK")
    out = ok(m, b"SELECT Other")
    assert not [ln for ln in out if b"[CLOSED]" in ln], out
    m.logout()


def test_utf8_mailbox_names(imap):
    old = ssl_login(imap)
    new = rev2(imap)
    ok(old, b'CREATE "Entw&APw-rfe"')
    out = ok(new, b'LIST "" "Entw*"')
    assert out[0] == '* LIST (\\HasNoChildren) "." "Entwürfe"\r\n'.encode(
        "utf-8"), out
    ok(new, 'CREATE "Überweisungen"'.encode("utf-8"))
    ok(new, b'CREATE "R&D"')
    out = ok(old, b'LIST "" "*"')
    assert b'* LIST (\\HasNoChildren) "." "&ANw-berweisungen"\r\n' in out
    assert b'* LIST (\\HasNoChildren) "." "R&-D"\r\n' in out
    out = ok(new, 'SELECT "Entwürfe"'.encode("utf-8"))
    assert [ln for ln in out if ln.startswith(b"* LIST")][0] == \
        '* LIST (\\HasNoChildren) "." "Entwürfe"\r\n'.encode("utf-8"), out
    out = ok(new, 'STATUS "Überweisungen" (MESSAGES)'.encode("utf-8"))
    assert out[0] == '* STATUS "Überweisungen" (MESSAGES 0)\r\n'.encode(
        "utf-8"), out
    ok(new, 'RENAME "R&D" "F&E"'.encode("utf-8"))
    assert b'"F&-E"' in b"".join(ok(old, b'LIST "" "F*"'))
    # not UTF-8
    bad(new, b'CREATE "caf\xe9"')
    old.logout()
    new.logout()


def test_response_codes(imap):
    """RFC 9051 7.1 (from RFC 5530): why a folder command failed."""
    m = rev2(imap)
    ok(m, b"CREATE A.B")
    assert re.match(rb"\S+ NO \[ALREADYEXISTS\]", cmd(m, b"CREATE A.B")[1][-1])
    assert re.match(rb"\S+ NO \[NONEXISTENT\]", cmd(m, b"SELECT Nope")[1][-1])
    assert re.match(rb"\S+ NO \[HASCHILDREN\]", cmd(m, b"DELETE A")[1][-1])
    assert re.match(rb"\S+ NO \[CANNOT\]", cmd(m, b"DELETE INBOX")[1][-1])
    m.logout()


def test_lsub_and_list_rules(imap):
    m = rev2(imap)
    ok(m, b"CREATE Lists.dev")
    ok(m, b"SUBSCRIBE Lists.dev")
    # LSUB is not in IMAP4rev2 but still answered
    out = ok(m, b'LSUB "" "Lists.*"')
    assert out[0] == b'* LSUB (\\HasNoChildren) "." "Lists.dev"\r\n', out
    out = ok(m, b'LIST "" ""')
    assert out[0] == b'* LIST (\\Noselect) "." ""\r\n', out
    out = ok(m, b'LIST (SUBSCRIBED) "" "Lists*"')
    assert out[0] == \
        b'* LIST (\\HasNoChildren \\Subscribed) "." "Lists.dev"\r\n', out
    # \Subscribed only when asked for; children always told
    out = ok(m, b'LIST "" "Lists*"')
    assert out[:2] == [
        b'* LIST (\\Noselect \\HasChildren) "." "Lists"\r\n',
        b'* LIST (\\HasNoChildren) "." "Lists.dev"\r\n'], out
    m.logout()


def test_utf8_names_in_notify(imap):
    """NOTIFY's mailbox names and its STATUS lines are UTF-8 too."""
    old = ssl_login(imap)
    new = rev2(imap)
    ok(old, b'CREATE "Entw&APw-rfe"')
    ok(new, 'NOTIFY SET (mailboxes "Entwürfe" (MessageNew MessageExpunge))'
        .encode("utf-8"))
    old.append("Entw&APw-rfe", None, None, simple(1, b"draft"))
    new.sock.settimeout(10)
    ln = new.readline()
    assert ln.startswith('* STATUS "Entwürfe" (MESSAGES 1 '.encode("utf-8")),\
        ln
    old.logout()
    new.logout()
