"""NOTIFY (RFC 5465) on the real store daemon (issue #19).

Two real imaplib sessions of one user over IMAPS: one asks for
notifications with NOTIFY SET and then only reads; the other (or an
LMTP delivery) changes things. Every notification must arrive without
the watching session sending a command: for the selected folder
EXISTS, FETCH FLAGS and EXPUNGE; for other folders STATUS lines
(PERSONAL, INBOXES, SUBTREE, MAILBOXES); for folder names and
subscriptions untagged LIST lines.
"""
import re
import select
import time

import pytest

pytest.importorskip("test_imap")
from test_imap import deliver, simple, ssl_login  # noqa: F401
from test_imap import imap  # noqa: F401

ALICE = "alice@example.test"


def send(m, line):
    """Send a raw command; return its tag."""
    tag = m._new_tag()
    m.send(tag + b" " + line + b"\r\n")
    return tag


def lines_until(m, pattern, timeout=10):
    """Lines read up to and with the first matching pattern."""
    out = []
    m.sock.settimeout(timeout)
    try:
        while True:
            ln = m.readline()
            assert ln, "connection closed after %r" % out
            out.append(ln)
            if re.search(pattern, ln):
                return out
    finally:
        m.sock.settimeout(None)


def silent(m, wait=0.5):
    """Nothing arrives within wait seconds (everything before was read
    up to a line the server sent last)."""
    time.sleep(wait)
    r, _, _ = select.select([m.sock], [], [], 0)
    assert not r and not m.sock.pending(), "unexpected data"


def notify(m, args):
    tag = send(m, b"NOTIFY " + args)
    out = lines_until(m, re.escape(tag) + rb" ")
    assert out[-1].startswith(tag + b" OK"), out
    return out


def test_capability_and_syntax(imap):
    m = ssl_login(imap)
    assert "NOTIFY" in m.capabilities
    tag = send(m, b"NOTIFY SET (personal (MessageNew))")
    out = lines_until(m, re.escape(tag) + rb" ")
    assert out[-1].startswith(tag + b" BAD"), out  # needs MessageExpunge
    tag = send(m, b"NOTIFY SET (personal (MessageNew MessageExpunge "
               b"AnnotationChange))")
    out = lines_until(m, re.escape(tag) + rb" ")
    assert re.match(re.escape(tag) + rb" NO \[BADEVENT \(", out[-1]), out
    tag = send(m, b"NOTIFY SET (nowhere (MessageNew MessageExpunge))")
    assert lines_until(m, re.escape(tag) + rb" ")[-1].startswith(
        tag + b" BAD")
    notify(m, b"NONE")
    m.logout()


def test_selected_new_flags_expunge(imap):
    deliver(imap, ALICE, simple(1, b"first"))
    a, b = ssl_login(imap), ssl_login(imap)
    a.select("INBOX")
    notify(a, b"SET (selected (MessageNew MessageExpunge FlagChange))")
    deliver(imap, ALICE, simple(2, b"second"))
    assert lines_until(a, rb"^\* 2 EXISTS")
    b.select("INBOX")
    b.store("1", "+FLAGS", "(\\Flagged)")
    out = lines_until(a, rb"^\* 1 FETCH")
    assert b"\\Flagged" in out[-1], out
    b.store("1", "+FLAGS", "(\\Deleted)")
    b.expunge()
    lines_until(a, rb"^\* 1 EXPUNGE")
    # and NOTIFY NONE ends it: nothing until a command asks
    notify(a, b"NONE")
    deliver(imap, ALICE, simple(3, b"third"))
    silent(a)
    typ, data = a.noop()
    assert typ == "OK"
    a.logout()
    b.logout()


def test_selected_delayed_waits_for_a_command(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    a.select("INBOX")
    notify(a, b"SET (selected-delayed (MessageNew MessageExpunge))")
    deliver(imap, ALICE, simple(1, b"one"))
    silent(a)
    tag = send(a, b"NOOP")
    out = lines_until(a, re.escape(tag) + rb" OK")
    assert any(re.match(rb"\* 1 EXISTS", ln) for ln in out), out
    a.logout()
    b.logout()


def test_personal_status_of_other_folders(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    b.create("Archive")
    a.select("INBOX")
    notify(a, b"SET (selected (MessageNew MessageExpunge)) "
           b"(personal (MessageNew MessageExpunge FlagChange))")
    b.append("Archive", None, None, simple(1, b"kept"))
    out = lines_until(a, rb"^\* STATUS \"Archive\" ")
    assert re.search(rb"MESSAGES 1 UIDNEXT 2 ", out[-1]), out
    assert re.search(rb"UNSEEN 1\)", out[-1]), out
    b.select("Archive")
    b.store("1", "+FLAGS", "(\\Seen)")
    out = lines_until(a, rb"^\* STATUS \"Archive\" ")
    assert re.search(rb"MESSAGES 1 .*UNSEEN 0\)", out[-1]), out
    # the selected folder gets EXISTS, not STATUS
    deliver(imap, ALICE, simple(2, b"inbox"))
    out = lines_until(a, rb"^\* 1 EXISTS")
    assert not [ln for ln in out if b"STATUS" in ln], out
    a.logout()
    b.logout()


def test_flag_change_only_when_asked(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    b.create("Archive")
    b.append("Archive", None, None, simple(1, b"kept"))
    notify(a, b"SET (mailboxes Archive (MessageNew MessageExpunge))")
    b.select("Archive")
    b.store("1", "+FLAGS", "(\\Seen)")
    silent(a)
    b.append("Archive", None, None, simple(2, b"more"))
    out = lines_until(a, rb"^\* STATUS \"Archive\" ")
    assert re.search(rb"MESSAGES 2 UIDNEXT 3 ", out[-1]), out
    a.logout()
    b.logout()


def test_inboxes_and_subtree(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    for name in ("Lists", "Lists.dev", "Other"):
        b.create(name)
    first = notify(a, b"SET STATUS (inboxes (MessageNew MessageExpunge)) "
                   b"(subtree Lists (MessageNew MessageExpunge))")
    # SET STATUS: the state of every watched folder at once
    names = sorted(ln.split(b'"')[1] for ln in first[:-1])
    assert names == [b"INBOX", b"Lists", b"Lists.dev"], first
    b.append("Other", None, None, simple(1, b"not watched"))
    b.append("Lists.dev", None, None, simple(2, b"watched"))
    out = lines_until(a, rb"^\* STATUS ")
    assert out == [out[-1]] and b"Lists.dev" in out[-1], out
    deliver(imap, ALICE, simple(3, b"inbox"))
    out = lines_until(a, rb"^\* STATUS ")
    assert out[-1].startswith(b"* STATUS \"INBOX\" (MESSAGES 1 "), out
    a.logout()
    b.logout()


def test_mailbox_names_and_subscriptions(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    notify(a, b"SET (personal (MailboxName SubscriptionChange))")
    b.create("Foo")
    assert lines_until(a, rb"^\* LIST")[-1] == b'* LIST () "." "Foo"\r\n'
    b.subscribe("Foo")
    assert lines_until(a, rb"^\* LIST")[-1] == \
        b'* LIST (\\Subscribed) "." "Foo"\r\n'
    b.unsubscribe("Foo")
    assert lines_until(a, rb"^\* LIST")[-1] == b'* LIST () "." "Foo"\r\n'
    b.rename("Foo", "Bar")
    assert lines_until(a, rb"^\* LIST")[-1] == \
        b'* LIST () "." "Bar" ("OLDNAME" ("Foo"))\r\n'
    b.delete("Bar")
    assert lines_until(a, rb"^\* LIST")[-1] == \
        b'* LIST (\\NonExistent) "." "Bar"\r\n'
    # without MailboxName nothing comes
    notify(a, b"SET (personal (SubscriptionChange))")
    b.create("Baz")
    silent(a)
    a.logout()
    b.logout()


def test_notify_while_idle(imap):
    a, b = ssl_login(imap), ssl_login(imap)
    b.create("Archive")
    a.select("INBOX")
    notify(a, b"SET (personal (MessageNew MessageExpunge))")
    tag = send(a, b"IDLE")
    assert a.readline().startswith(b"+")
    b.append("Archive", None, None, simple(1, b"during idle"))
    lines_until(a, rb"^\* STATUS \"Archive\" \(MESSAGES 1 ")
    a.send(b"DONE\r\n")
    lines_until(a, re.escape(tag) + rb" OK")
    a.logout()
    b.logout()


def test_delivery_to_folder_nobody_holds(imap):
    """An LMTP delivery into a folder no session has open (and that has
    left the store's cache of loaded folders) is still notified."""
    a, b = ssl_login(imap), ssl_login(imap)
    notify(a, b"SET (inboxes (MessageNew MessageExpunge))")
    # load more folders than the cache keeps (64): INBOX leaves it
    for i in range(70):
        b.create("F%d" % i)
        b.status("F%d" % i, "(MESSAGES)")
    deliver(imap, ALICE, simple(1, b"to a cold INBOX"))
    out = lines_until(a, rb"^\* STATUS ")
    assert out[-1].startswith(b'* STATUS "INBOX" (MESSAGES 1 '), out
    a.logout()
    b.logout()


def fetch_literal(m, pattern):
    """Read up to the line matching pattern, which ends in {n}; return
    (that line, the n literal bytes, the rest of the response)."""
    line = lines_until(m, pattern)[-1]
    n = int(re.search(rb"\{(\d+)\}\r\n$", line).group(1))
    data = m.read(n)
    return line, data, m.readline()


def test_message_new_fetch_attributes(imap):
    # RFC 5465 5.2: EXISTS, then a FETCH of the asked attributes
    deliver(imap, ALICE, simple(1, b"first"))
    a, b = ssl_login(imap), ssl_login(imap)
    a.select("INBOX")
    notify(a, b"SET (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS "
           b"(From To)]) MessageExpunge))")
    deliver(imap, ALICE, b"From: dave@remote.test\r\nTo: alice@example.test"
            b"\r\nSubject: two\r\n\r\nbody\r\n")
    assert lines_until(a, rb"^\* 2 EXISTS")
    line, data, rest = fetch_literal(
        a, rb"^\* 2 FETCH \(UID 2 BODY\[HEADER\.FIELDS \(FROM TO\)\] ")
    assert data == (b"From: dave@remote.test\r\n"
                    b"To: alice@example.test\r\n\r\n"), data
    assert rest == b")\r\n", rest
    # an APPEND by the other session: the same
    b.append("INBOX", None, None, b"From: erin@remote.test\r\n"
             b"Subject: three\r\nTo: bob@example.test\r\n\r\nx\r\n")
    assert lines_until(a, rb"^\* 3 EXISTS")
    line, data, rest = fetch_literal(a, rb"^\* 3 FETCH \(UID 3 BODY\[")
    assert data == (b"From: erin@remote.test\r\n"
                    b"To: bob@example.test\r\n\r\n"), data
    # .PEEK: nothing became \Seen
    b.select("INBOX")
    typ, data = b.fetch("1:3", "(FLAGS)")
    assert typ == "OK" and not any(b"\\Seen" in d for d in data), data
    a.logout()
    b.logout()


def test_message_new_fetch_never_sets_seen(imap):
    # BODY[...] without .PEEK is rendered as .PEEK: \Seen stays off
    a, b = ssl_login(imap), ssl_login(imap)
    a.select("INBOX")
    notify(a, b"SET (selected (MessageNew (FLAGS BODY[HEADER.FIELDS "
           b"(Subject)]) MessageExpunge))")
    deliver(imap, ALICE, simple(1, b"peeked"))
    assert lines_until(a, rb"^\* 1 EXISTS")
    line, data, rest = fetch_literal(a, rb"^\* 1 FETCH \(FLAGS ")
    assert b"\\Seen" not in line, line
    assert data == b"Subject: peeked\r\n\r\n", data
    b.select("INBOX")
    typ, data = b.fetch("1", "(FLAGS)")
    assert typ == "OK" and b"\\Seen" not in data[0], data
    a.logout()
    b.logout()


def test_message_new_fetch_attributes_refused(imap):
    m = ssl_login(imap)
    m.select("INBOX")
    for bad in (
            # only the selected folder may have fetch attributes
            b"SET (personal (MessageNew (UID) MessageExpunge))",
            b"SET (inboxes (MessageNew (UID) MessageExpunge))",
            # not a fetch-att / a macro / empty
            b"SET (selected (MessageNew (UID BOGUS) MessageExpunge))",
            b"SET (selected (MessageNew (ALL) MessageExpunge))",
            b"SET (selected (MessageNew () MessageExpunge))"):
        tag = send(m, b"NOTIFY " + bad)
        out = lines_until(m, re.escape(tag) + rb" ")
        assert out[-1].startswith(tag + b" BAD"), (bad, out)
    # a refused SET leaves no fetch attributes behind
    deliver(imap, ALICE, simple(1, b"x"))
    tag = send(m, b"NOOP")
    out = lines_until(m, re.escape(tag) + rb" OK")
    assert not any(b"FETCH" in ln for ln in out), out
    m.logout()
