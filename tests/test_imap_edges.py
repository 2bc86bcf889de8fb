"""The IMAP server's hostile and edge inputs (ASan build).

FETCH partial ranges at the 32-bit edges, sequence sets and "*" on an
empty mailbox, UID ranges, STORE with more keywords than the folder can
hold, SEARCH on a larger folder, RENAME/DELETE of INBOX, COPY/MOVE to the
same folder, EXPUNGE in one session while another IDLEs, sessions that
close while IDLE or while a watcher is pending, APPEND with keywords.
Each checks the protocol answer and that the daemon still serves; the
cluster fixture checks its log for sanitizer reports at teardown.
"""
import socket
import ssl
import time

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, deliver, imap, raw_session, reply  # noqa: F401
from test_imap_hostile import ALICE, MSG, login_line, still_serving



@pytest.fixture
def st(imap):
    deliver(imap, ALICE, MSG)
    return imap


def sess(st, box=b"INBOX"):
    s, f = raw_session(st)
    s.settimeout(20)
    assert reply(s, f, login_line())[-1].startswith(b"a1 OK")
    if box:
        assert reply(s, f, b"a2 SELECT " + box)[-1].startswith(b"a2 OK")
    return s, f


def last(out):
    return out[-1].split(b" ", 2)[1]


def test_fetch_partial_edges(st):
    s, f = sess(st)
    for rng, want in ((b"<0.4294967295>", b"OK"), (b"<4294967295.1>", b"OK"),
                      (b"<4294967295.4294967295>", b"OK"),
                      (b"<4294967296.1>", b"BAD"), (b"<0.0>", b"BAD"),
                      (b"<99999999999999999999999.1>", b"BAD"),
                      (b"<-1.5>", b"BAD"), (b"<1.>", b"BAD")):
        out = reply(s, f, b"p1 FETCH 1 BODY.PEEK[]" + rng)
        assert last(out) == want, (rng, out)
    out = reply(s, f, b"p2 FETCH 1 BODY.PEEK[]<4294967295.4294967295>")
    assert b"{0}" in b"".join(out)
    s.close()
    still_serving(st)


def test_empty_mailbox_sets(st):
    s, f = sess(st, None)
    assert last(reply(s, f, b"c1 CREATE empty")) == b"OK"
    assert last(reply(s, f, b"c2 SELECT empty")) == b"OK"
    for cmd in (b"FETCH * FLAGS", b"FETCH 1:* FLAGS", b"UID FETCH * FLAGS",
                b"UID FETCH 1:* FLAGS", b"STORE * +FLAGS (\\Seen)",
                b"UID STORE 1:* +FLAGS (\\Seen)", b"SEARCH *",
                b"UID SEARCH UID *", b"COPY * INBOX", b"UID COPY 1:* INBOX",
                b"UID MOVE * INBOX", b"MOVE 1:* INBOX", b"EXPUNGE",
                b"UID EXPUNGE 1:*", b"FETCH 4294967295 FLAGS",
                b"UID FETCH 4294967295:1 FLAGS"):
        out = reply(s, f, b"e1 " + cmd)
        assert last(out) in (b"OK", b"NO", b"BAD"), (cmd, out)
        assert not any(b"EXISTS" in ln or b"FETCH (" in ln for ln in out)
    s.close()
    still_serving(st)


def test_store_many_keywords(st):
    """A list over the folder's 26 keywords is NO [LIMIT] and creates
    none of them; the limit is not a protocol error (no disconnect after
    LIM_IMAP_ERRORS of them)."""
    s, f = sess(st)
    kws = b" ".join(b"kw%d" % i for i in range(40))
    out = reply(s, f, b"k1 STORE 1 +FLAGS (" + kws + b")")
    assert out[-1].startswith(b"k1 NO [LIMIT]"), out
    # the refused list took no slot: 26 new keywords still fit
    for i in range(26):
        out = reply(s, f, b"k2 STORE 1 +FLAGS (one%d)" % i)
        assert last(out) == b"OK", (i, out)
    for i in range(25):
        out = reply(s, f, b"k3 STORE 1 +FLAGS (two%d)" % i)
        assert out[-1].startswith(b"k3 NO [LIMIT]"), out
    out = reply(s, f, b"k4 FETCH 1 FLAGS")
    assert last(out) == b"OK"
    assert b"one25" in out[0] and b"kw0" not in out[0], out
    s.close()
    still_serving(st)


def test_rename_delete_inbox(st):
    s, f = sess(st, None)
    assert last(reply(s, f, b"r1 DELETE INBOX")) == b"NO"
    out = reply(s, f, b"r2 RENAME INBOX old")
    assert last(out) in (b"OK", b"NO")
    # RFC 3501 6.3.5: renaming INBOX moves its messages, INBOX stays
    out = reply(s, f, b"r3 STATUS INBOX (MESSAGES)")
    assert last(out) == b"OK", out
    assert last(reply(s, f, b"r4 RENAME old INBOX")) == b"NO"
    assert last(reply(s, f, b"r5 RENAME old old")) in (b"NO",)
    assert last(reply(s, f, b"r6 CREATE INBOX")) == b"NO"
    assert last(reply(s, f, b"r7 DELETE inbox")) == b"NO"
    s.close()


def test_copy_move_same_folder(st):
    s, f = sess(st)
    out = reply(s, f, b"m1 COPY 1 INBOX")
    assert last(out) == b"OK", out
    assert b"* 2 EXISTS\r\n" in out, out
    out = reply(s, f, b"m3 MOVE 1:* INBOX")
    assert last(out) in (b"OK", b"NO"), out
    out = reply(s, f, b"m4 FETCH 1:* (UID FLAGS)")
    assert last(out) == b"OK", out
    s.close()
    still_serving(st)


def test_expunge_during_idle_and_close(st):
    deliver(st, ALICE, MSG)
    a, af = sess(st)
    b, bf = sess(st)
    b.sendall(b"i1 IDLE\r\n")
    assert bf.readline().startswith(b"+")
    assert last(reply(a, af, b"x1 STORE 1 +FLAGS (\\Deleted)")) == b"OK"
    assert last(reply(a, af, b"x2 EXPUNGE")) == b"OK"
    seen = b""
    deadline = time.time() + 10
    while b"EXPUNGE" not in seen and time.time() < deadline:
        seen += bf.readline()
    assert b"1 EXPUNGE" in seen
    # B goes away while idling; A changes the folder right after
    b.close()
    for i in range(5):
        deliver(st, ALICE, MSG)
        assert last(reply(a, af, b"x3 STORE 1 FLAGS (\\Seen)")) == b"OK"
    a.close()
    still_serving(st)


def test_many_idlers_closed_while_delivery(st):
    socks = []
    for i in range(8):
        s, f = sess(st)
        s.sendall(b"i1 IDLE\r\n")
        assert f.readline().startswith(b"+")
        socks.append((s, f))
    for i, (s, f) in enumerate(socks):
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    deliver(st, ALICE, MSG)
    deliver(st, ALICE, MSG)
    still_serving(st)


def test_search_large(st):
    s, f = sess(st)
    for i in range(6):
        out = reply(s, f, b"c%d COPY 1:* INBOX" % i)
        assert last(out) == b"OK"
    out = reply(s, f, b"s1 SEARCH OR OR TEXT here BODY nothing "
                b"NOT (SUBJECT zzz SINCE 1-Jan-1970) 1:*")
    assert last(out) == b"OK"
    assert out[0].startswith(b"* SEARCH 1 2 3")
    out = reply(s, f, b"s2 UID SEARCH UID 1:4294967295")
    assert last(out) == b"OK"
    s.close()


def append(s, f, tag, box, flags, body=MSG):
    s.sendall(b"%s APPEND %s (%s) {%d}\r\n" % (tag, box, flags, len(body)))
    ln = f.readline()
    if not ln.startswith(b"+"):
        return [ln]
    return reply(s, f, body, tag=tag)


def test_append_keeps_keywords(st):
    """APPEND keeps keywords (defining them in the target folder), in the
    selected folder and in another; too many is NO [LIMIT], nothing
    stored."""
    s, f = sess(st, None)
    assert last(reply(s, f, b"c1 CREATE Work")) == b"OK"
    out = append(s, f, b"p1", b"Work", b"\\Seen $Forwarded urgent")
    assert out[-1].startswith(b"p1 OK [APPENDUID"), out
    assert last(reply(s, f, b"c2 SELECT INBOX")) == b"OK"
    out = append(s, f, b"p2", b"INBOX", b"todo \\Flagged todo")
    assert out[-1].startswith(b"p2 OK [APPENDUID"), out
    out = reply(s, f, b"f1 FETCH 2 FLAGS")
    assert b"todo" in out[0] and b"\\Flagged" in out[0], out
    out = append(s, f, b"p3", b"INBOX",
                 b" ".join(b"k%d" % i for i in range(27)))
    assert out[-1].startswith(b"p3 NO [LIMIT]"), out
    out = append(s, f, b"p4", b"Work",
                 b" ".join(b"k%d" % i for i in range(25)))
    assert out[-1].startswith(b"p4 NO [LIMIT]"), out
    assert last(reply(s, f, b"c3 SELECT Work")) == b"OK"
    out = reply(s, f, b"f2 FETCH 1:* FLAGS")
    assert len(out) == 2, out
    for kw in (b"\\Seen", b"$Forwarded", b"urgent"):
        assert kw in out[0], out
    out = reply(s, f, b"c4 STATUS INBOX (MESSAGES)")
    assert b"MESSAGES 2" in out[0], out
    s.close()


def test_folder_deleted_or_renamed_under_other_sessions(st):
    """A folder selected (and idled on) in one session is deleted, made
    again and renamed by another: the first session gets answers, never
    a crash, and the daemon keeps serving."""
    a, af = sess(st, None)
    assert last(reply(a, af, b"c1 CREATE Work")) == b"OK"
    assert append(a, af, b"p1", b"Work", b"x")[-1].startswith(b"p1 OK")
    b, bf = sess(st, b"Work")
    c, cf = sess(st, b"Work")
    c.sendall(b"i1 IDLE\r\n")
    assert cf.readline().startswith(b"+")
    assert last(reply(a, af, b"d1 DELETE Work")) == b"OK"
    for cmd in (b"NOOP", b"FETCH 1:* (FLAGS BODY.PEEK[])",
                b"STORE 1 +FLAGS (\\Seen kw)", b"COPY 1 INBOX", b"EXPUNGE",
                b"UID FETCH 1:* FLAGS", b"SEARCH ALL"):
        out = reply(b, bf, b"b1 " + cmd)
        assert last(out) in (b"OK", b"NO", b"BAD"), (cmd, out)
    assert last(reply(a, af, b"c2 CREATE Work")) == b"OK"
    assert append(a, af, b"p2", b"Work", b"y")[-1].startswith(b"p2 OK")
    assert last(reply(a, af, b"r1 RENAME Work Play")) == b"OK"
    assert append(a, af, b"p3", b"Play", b"z")[-1].startswith(b"p3 OK")
    c.sendall(b"DONE\r\n")
    out = reply(c, cf, b"c9 NOOP")
    assert any(ln.startswith(b"i1 OK") for ln in out), out
    for cmd in (b"NOOP", b"FETCH 1:* FLAGS", b"CLOSE"):
        out = reply(b, bf, b"b2 " + cmd)
        assert last(out) in (b"OK", b"NO", b"BAD"), (cmd, out)
        out = reply(c, cf, b"c3 " + cmd)
        assert last(out) in (b"OK", b"NO", b"BAD"), (cmd, out)
    for x in (a, b, c):
        x.close()
    still_serving(st)


def test_empty_synchronizing_literal_gets_continuation(st):
    """RFC 3501 7.5: a client that sent "{0}" waits for "+" before the
    rest of its line; the server must send it (it waited forever)."""
    s, f = sess(st)
    s.sendall(b"z1 SEARCH SUBJECT {0}\r\n")
    s.settimeout(3)
    assert f.readline().startswith(b"+ "), "no continuation for {0}"
    s.settimeout(20)
    out = reply(s, f, b"", tag=b"z1")
    assert out[-1].startswith(b"z1 OK"), out
    assert out[0].startswith(b"* SEARCH 1"), out
    s.close()
