"""Access boxes: several stores serving the same users from one PostgreSQL
(issue #17, item 3).

A private PostgreSQL (tests/engines.py) holds the folders, UIDs, flags,
mod-sequences and bodies (mailbox_store = postgresql://...); two or three
store processes ("boxes") share it. LMTP deliveries spread across them,
IMAP sessions on each see the same UIDs and flags, UIDs never repeat
under concurrent APPENDs from two boxes, IDLE on one box is woken by a
delivery or a flag change through another (LISTEN/NOTIFY), kill -9 of a
box during a stream of deliveries or APPENDs loses nothing that was
answered OK while the other box keeps serving, and POP3 works on the
database too. The imports at the top run a representative part of
tests/test_imap.py, test_imap_sessions.py, test_imap_list.py,
test_imap_notify.py and test_imap_condstore.py against a store on
PostgreSQL (their imap fixture replaced by this file's).
"""
import imaplib
import os
import poplib
import re
import threading
import time

import pytest

from conftest import Ctl, client_tls, free_port, lmtp_send, port_open, \
    wait_for
from engines import private_postgres
import test_imap
from test_imap import (  # noqa: F401  (run here on PostgreSQL)
    test_append_and_uid_commands, test_fetch_multipart,
    test_idle_woken_by_delivery, test_list_special_use_and_folders,
    test_quota, test_search_store_copy_move_expunge,
    test_two_sessions_see_each_other, test_uids_survive_restart)
from test_imap_sessions import (  # noqa: F401
    test_concurrent_flag_changes_merge, test_concurrent_keywords_merge,
    test_expunge_sees_other_sessions_deleted,
    test_expunge_while_other_stores, test_keyword_announced_before_fetch,
    test_recent_in_exactly_one_session, test_two_sessions_random_model,
    two)
from test_imap_list import (  # noqa: F401
    test_patterns_and_return, test_selection_subscribed, tree)
from test_imap_notify import (  # noqa: F401
    test_personal_status_of_other_folders, test_selected_new_flags_expunge)
from test_imap_condstore import (  # noqa: F401
    box, test_change_bumps_modseq_seen_by_other_session,
    test_changedsince_unchangedsince_search, test_phone_resync_in_one_round_trip,
    test_vanished_replaces_expunge)

PW = "box secret 7"
USER = "alice@example.test"
BOB = "bob@example.test"
CAROL = "carol@example.test"

pg = pytest.fixture(scope="module", name="pg")(private_postgres)


@pytest.fixture
def imap(cluster, pg):
    """test_imap.py's store, its folders in PostgreSQL."""
    uri = pg.createdb("i%d" % free_port())
    return test_imap.make_imap(cluster, {"mailbox_store": uri})


class Boxes:
    """n stores on one database, each with IMAPS and POP3 (loopback)."""

    def __init__(self, cluster, pg, n):
        self.db = "b%d" % free_port()
        self.uri = pg.createdb(self.db)
        self.pg = pg
        d = os.path.join(cluster.base, "dir")
        os.makedirs(d)
        os.chmod(d, 0o755)
        ctl = Ctl(d)
        ctl("domain", "add", "example.test")
        for u in (USER, BOB, CAROL):
            ctl("user", "add", u)
            ctl("user", "passwd", u, stdin=PW + "\n")
        os.chmod(ctl.snap, 0o644)
        self.stores = []
        for _ in range(n):
            st = cluster.store(extra={
                "directory_file": ctl.snap, "credentials_file": ctl.auth,
                "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
                "imaps_listen": "127.0.0.1:%d" % free_port(),
                "pop3_listen": "127.0.0.1:%d" % free_port(),
                "plaintext_auth": "yes",
                "mailbox_store": self.uri})
            conf = dict(l.split(" = ", 1) for l in
                        open(st.conf).read().splitlines())
            st.imaps_port = int(conf["imaps_listen"].rsplit(":", 1)[1])
            st.pop3_port = int(conf["pop3_listen"].rsplit(":", 1)[1])
            for p in (st.imaps_port, st.pop3_port):
                wait_for(lambda: port_open(p), what="port %d" % p)
            self.stores.append(st)

    def login(self, i, user=USER):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.stores[i].imaps_port,
                              ssl_context=client_tls(), timeout=20)
        m.login(user, PW)
        return m

    def psql(self, sql):
        return self.pg.psql(self.db, sql)


@pytest.fixture
def boxes(cluster, pg):
    return Boxes(cluster, pg, 2)


def msg(n, subject=None):
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: " + (subject or b"m%d" % n) + b"\r\n"
            b"Message-ID: <" + str(n).encode() + b"@remote.test>\r\n\r\n"
            b"body " + str(n).encode() + b"\r\n")


def deliver(st, n, subject=None):
    r = lmtp_send(st.port, [USER], msg(n, subject))
    assert r[-1][0] == 250, r
    return r


def uid_flags(m):
    """{uid: set of flags} of the selected folder, after a NOOP (as in
    one process: a session's view takes others' changes at a command
    that may report them, RFC 3501 7.4.1, not inside a FETCH)."""
    assert m.noop()[0] == "OK"
    typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
    assert typ == "OK"
    out = {}
    for line in data:
        if not line:
            continue
        line = line if isinstance(line, bytes) else line[0]
        u = re.search(rb"UID (\d+)", line)
        f = re.search(rb"FLAGS \(([^)]*)\)", line)
        if u and f:
            out[int(u.group(1))] = set(f.group(1).split()) - {b"\\Recent"}
    return out


def message_ids(m):
    """The Message-IDs of INBOX's messages, by UID."""
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*",
                      "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    assert typ == "OK"
    out = {}
    for part in data:
        if isinstance(part, tuple):
            u = int(re.search(rb"UID (\d+)", part[0]).group(1))
            out[u] = part[1].split(b"<", 1)[1].split(b">", 1)[0].decode()
    return out


def read_until(m, pattern, timeout=5):
    m.sock.settimeout(timeout)
    try:
        while True:
            line = m.readline()
            assert line, "connection closed"
            if re.search(pattern, line):
                return line
    finally:
        m.sock.settimeout(None)


def test_deliveries_spread_same_uids_and_flags(boxes):
    a, b = boxes.stores
    for n in range(6):
        deliver(boxes.stores[n % 2], n)
    ma, mb = boxes.login(0), boxes.login(1)
    assert ma.select("INBOX")[1] == [b"6"]
    assert mb.select("INBOX")[1] == [b"6"]
    assert ma.untagged_responses["UIDVALIDITY"] == \
        mb.untagged_responses["UIDVALIDITY"]
    fa, fb = uid_flags(ma), uid_flags(mb)
    assert sorted(fa) == sorted(fb) == [1, 2, 3, 4, 5, 6]
    assert message_ids(ma) == message_ids(mb)
    # STORE on one box, FETCH FLAGS on the other, both ways
    assert ma.uid("STORE", "2", "+FLAGS", "(\\Flagged \\Seen)")[0] == "OK"
    assert uid_flags(mb)[2] == {b"\\Flagged", b"\\Seen"}
    assert mb.uid("STORE", "2", "-FLAGS", "(\\Seen)")[0] == "OK"
    assert mb.uid("STORE", "5", "+FLAGS", "($Important)")[0] == "OK"
    fa = uid_flags(ma)
    assert fa[2] == {b"\\Flagged"} and fa[5] == {b"$Important"}
    # EXPUNGE on one is seen by the other; the UID is not given again
    ma.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
    assert ma.expunge()[0] == "OK"
    mb.noop()
    assert mb.untagged_responses.get("EXPUNGE") == [b"1"]
    deliver(b, 7)
    mb.noop()
    assert sorted(uid_flags(mb)) == [2, 3, 4, 5, 6, 7]
    assert sorted(uid_flags(ma)) == [2, 3, 4, 5, 6, 7]
    # COPY and MOVE through one box, seen by the other
    assert ma.create("Archive")[0] == "OK"
    assert ma.uid("COPY", "3", "Archive")[0] == "OK"
    assert ma.uid("MOVE", "4", "Archive")[0] == "OK"
    mb.select("Archive")
    assert sorted(uid_flags(mb)) == [1, 2]
    ma.logout()
    mb.logout()


def test_concurrent_appends_never_repeat_uids(boxes):
    uids = [[], []]
    errors = []

    def appender(i):
        try:
            m = boxes.login(i)
            for k in range(15):
                typ, data = m.append("INBOX", None, None,
                                     msg(1000 * (i + 1) + k))
                assert typ == "OK", data
                u = re.search(rb"APPENDUID \d+ (\d+)", data[0])
                uids[i].append(int(u.group(1)))
            m.logout()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    th = [threading.Thread(target=appender, args=(i,)) for i in (0, 1)]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    assert not errors, errors
    every = uids[0] + uids[1]
    assert len(every) == 30 and len(set(every)) == 30
    for i in (0, 1):
        assert uids[i] == sorted(uids[i])
        m = boxes.login(i)
        m.select("INBOX")
        assert sorted(uid_flags(m)) == sorted(every)
        m.logout()


def test_idle_on_one_box_woken_through_another(boxes):
    a, b = boxes.stores
    deliver(a, 1)
    mb = boxes.login(1)
    mb.select("INBOX")
    tag = mb._new_tag()
    mb.send(tag + b" IDLE\r\n")
    assert mb.readline().startswith(b"+")
    t0 = time.monotonic()
    deliver(a, 2)
    assert read_until(mb, rb"^\* 2 EXISTS", timeout=2)
    assert time.monotonic() - t0 < 1.0
    # a flag change through box A too
    ma = boxes.login(0)
    ma.select("INBOX")
    t0 = time.monotonic()
    ma.store("1", "+FLAGS", "(\\Answered)")
    line = read_until(mb, rb"^\* 1 FETCH", timeout=2)
    assert b"\\Answered" in line and time.monotonic() - t0 < 1.0
    mb.send(b"DONE\r\n")
    read_until(mb, re.escape(tag) + rb" OK")
    ma.logout()
    mb.logout()


def test_notify_on_one_box_woken_through_another(boxes):
    a, b = boxes.stores
    mb = boxes.login(1)
    mb.select("INBOX")
    assert mb.create("Lists")[0] == "OK"
    tag = mb._new_tag()
    mb.send(tag + b" NOTIFY SET (SELECTED (MessageNew MessageExpunge))"
            b" (personal (MessageNew MessageExpunge))\r\n")
    read_until(mb, re.escape(tag) + rb" OK")
    ma = boxes.login(0)
    t0 = time.monotonic()
    assert ma.append("Lists", None, None, msg(5))[0] == "OK"
    line = read_until(mb, rb'^\* STATUS "?Lists"?', timeout=2)
    assert b"MESSAGES 1" in line and time.monotonic() - t0 < 1.0
    deliver(a, 6)
    assert read_until(mb, rb"^\* 1 EXISTS", timeout=2)
    ma.logout()
    mb.logout()


def test_kill9_during_lmtp_stream_loses_nothing(boxes):
    a, b = boxes.stores
    acked = []
    stop = threading.Event()

    def stream():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = lmtp_send(a.port, [USER], msg(n))
            except OSError:
                return
            if r and r[-1][0] == 250:
                acked.append("%d@remote.test" % n)

    t = threading.Thread(target=stream)
    t.start()
    wait_for(lambda: len(acked) >= 10, timeout=20, what="10 deliveries")
    a.kill9()
    stop.set()
    t.join(20)
    # the other box keeps serving
    deliver(b, 99999)
    m = boxes.login(1)
    ids = set(message_ids(m).values())
    missing = [x for x in acked if x not in ids]
    assert not missing, missing
    assert "99999@remote.test" in ids
    m.logout()


def test_kill9_during_appends_loses_nothing(boxes):
    a, b = boxes.stores
    acked = []

    def appender():
        try:
            m = boxes.login(0)
            for k in range(100000):
                typ, data = m.append("INBOX", None, None, msg(5000 + k))
                if typ == "OK":
                    acked.append("%d@remote.test" % (5000 + k))
        except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error):
            return

    t = threading.Thread(target=appender)
    t.start()
    wait_for(lambda: len(acked) >= 10, timeout=20, what="10 APPENDs")
    a.kill9()
    t.join(20)
    m = boxes.login(1)
    assert m.append("INBOX", None, None, msg(77777))[0] == "OK"
    ids = set(message_ids(m).values())
    missing = [x for x in acked if x not in ids]
    assert not missing, missing
    assert "77777@remote.test" in ids
    # nothing half-made: every message has its body
    assert boxes.psql("SELECT count(*) FROM mbox_messages m LEFT JOIN"
                      " mbox_blobs b ON b.id = m.blob WHERE b.id IS"
                      " NULL").strip() == "0"
    m.logout()


def test_box_starts_beside_a_busy_one(cluster, pg):
    """A box that starts while another delivers neither fails nor makes
    the other's deliveries fail (its schema step locks nothing then)."""
    bx = Boxes(cluster, pg, 1)
    a = bx.stores[0]
    codes = []
    stop = threading.Event()

    def stream():
        n = 0
        while not stop.is_set():
            n += 1
            codes.append(lmtp_send(a.port, [USER], msg(n))[-1][0])

    threads = [threading.Thread(target=stream) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(codes) >= 10, timeout=20, what="deliveries")
        for _ in range(6):
            st = cluster.store(extra={
                "directory_file": a.directory_file,
                "credentials_file": a.directory_file + ".auth",
                "mailbox_store": bx.uri})
            wait_for(lambda: "listening on" in st.log(), timeout=20,
                     what="the new box")
            st.stop()
            assert "deadlock" not in st.log()
    finally:
        stop.set()
        for t in threads:
            t.join(20)
    assert set(codes) == {250}, codes
    assert "deadlock" not in a.log()


def test_one_message_to_several_users(boxes):
    """Recipients of one message share its body until the commit, each
    with its own Delivered-To."""
    a, b = boxes.stores
    big = msg(1) + b"x" * 200000 + b"\r\n"
    r = lmtp_send(a.port, [USER, BOB, CAROL], big)
    assert [c for c, _ in r] == [250, 250, 250], r
    for u in (USER, BOB, CAROL):
        m = boxes.login(1, u)
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        body = data[0][1]
        assert body.startswith(b"Return-Path: <carol@remote.test>\r\n"
                               b"Delivered-To: " + u.encode() + b"\r\n")
        assert body.endswith(big)
        m.logout()


def test_pop3_on_the_database(boxes):
    a, b = boxes.stores
    deliver(a, 1, b"first")
    deliver(a, 2, b"second")
    p = poplib.POP3("127.0.0.1", b.pop3_port, timeout=10)
    p.user(USER)
    p.pass_(PW)
    count, size = p.stat()
    assert count == 2
    resp, lines, _ = p.retr(2)
    assert b"Subject: second" in lines
    uidl = p.uidl()[1]
    assert len(uidl) == 2
    p.dele(1)
    p.quit()
    m = boxes.login(0)
    ids = message_ids(m)
    assert list(ids.values()) == ["2@remote.test"]
    m.logout()


def test_rename_inbox_and_folders_across_boxes(boxes):
    a, b = boxes.stores
    deliver(a, 1)
    deliver(b, 2)
    ma, mb = boxes.login(0), boxes.login(1)
    mb.select("INBOX")
    assert ma.rename("INBOX", "Old")[0] == "OK"
    mb.noop()
    assert sorted(mb.untagged_responses.get("EXPUNGE", [])) == [b"1", b"2"]
    assert mb.select("Old")[1] == [b"2"]
    assert sorted(message_ids(ma).values()) == []
    ma.select("Old")
    assert sorted(uid_flags(ma)) == [1, 2]
    deliver(a, 3)
    assert list(message_ids(mb).values()) == ["3@remote.test"]
    assert ma.create("P")[0] == "OK" and ma.create("P.Q")[0] == "OK"
    assert ma.rename("P", "R")[0] == "OK"
    names = b" ".join(mb.list()[1])
    assert b'"R.Q"' in names and b'"P.Q"' not in names
    assert ma.delete("R.Q")[0] == "OK"
    assert b'"R.Q"' not in b" ".join(mb.list()[1])
    ma.logout()
    mb.logout()


def test_database_down_answers_later_and_recovers(boxes):
    a, b = boxes.stores
    deliver(a, 1)
    mb = boxes.login(1)
    mb.select("INBOX")
    boxes.pg.stop()
    try:
        r = lmtp_send(a.port, [USER], msg(2))
        assert r[-1][0] == 451, r
        typ, _ = mb.noop()          # the session lives on
        assert typ == "OK"
    finally:
        boxes.pg.start()
    # both boxes connect again by themselves
    wait_for(lambda: lmtp_send(a.port, [USER], msg(3))[-1][0] == 250,
             timeout=10, what="delivery after the restart")
    tag = mb._new_tag()
    mb.send(tag + b" IDLE\r\n")
    read_until(mb, rb"^\+")
    deliver(a, 4)
    assert read_until(mb, rb"^\* 3 EXISTS", timeout=5)
    mb.send(b"DONE\r\n")
    read_until(mb, re.escape(tag) + rb" OK")
    assert sorted(message_ids(mb).values()) == [
        "1@remote.test", "3@remote.test", "4@remote.test"]
    mb.logout()
    assert "connected again" in b.log()


def test_three_boxes_agree(cluster, pg):
    bx = Boxes(cluster, pg, 3)
    for n in range(9):
        deliver(bx.stores[n % 3], n)
    views = []
    for i in range(3):
        m = bx.login(i)
        views.append(message_ids(m))
        m.logout()
    assert views[0] == views[1] == views[2]
    assert sorted(views[0]) == list(range(1, 10))
    # the body is in the database, not under mail_root
    assert bx.psql("SELECT count(*) FROM mbox_blobs").strip() == "9"
    for st in bx.stores:
        assert not os.path.exists(os.path.join(st.mail_root,
                                               "example.test"))
