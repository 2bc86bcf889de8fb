"""IMAP changes are answered after the group commit, never synced on the
loop (store_imap_commit.c).

The store daemon is traced with strace (-f: every thread) while one
session runs APPEND, STORE, COPY, MOVE and EXPUNGE: for each command a
syncfs(2) on a thread other than the event loop's must have returned
between the moment the client sent it and the moment its tagged OK
arrived, and the loop thread must make no fsync, fdatasync or syncfs at
all (before: an fdatasync per STORE and fsyncs per APPEND on the loop,
no syncfs). strace's fault injection then makes every sync 1.5 s slow:
an APPEND's OK waits for it while another session's NOOP is answered at
once. Then a crash test: concurrent sessions APPEND, the store is
killed with SIGKILL, and after a restart every APPEND that was answered
OK is there under the UID its APPENDUID named, with its bytes.
"""
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

pytest.importorskip("test_imap")
from conftest import wait_for
from test_imap import (PW, deliver, imap, raw_session, reply,  # noqa: F401
                       wait_imap)

ALICE = "alice@example.test"
SYNCS = ("fsync", "fdatasync", "syncfs")
# "<tid> <epoch>.<us> name(" ... "= rc" or "<unfinished ...>", and
# "<tid> <epoch> <... name resumed>...) = rc"
LINE_RE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(?:<\.\.\. (\w+) resumed>|"
                     r"(\w+)\()(.*)$")


def message(n, size=200):
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: c%d\r\nMessage-ID: <c%d@remote.test>\r\n\r\n" %
            (n, n) + b"x" * size + b"\r\n")


def login(st):
    s, f = raw_session(st)
    s.settimeout(30)
    out = reply(s, f, ('l1 LOGIN %s "%s"' % (ALICE, PW[ALICE])).encode())
    assert out[-1].startswith(b"l1 OK"), out
    return s, f


def append(s, f, tag, msg, box=b"INBOX"):
    """APPEND with a synchronizing literal; the tagged reply's lines."""
    s.sendall(b"%s APPEND %s {%d}\r\n" % (tag, box, len(msg)))
    assert f.readline().startswith(b"+")
    return reply(s, f, msg, tag=tag)


def syscalls(path):
    """[(tid, name, start, end)] of the sync calls in an strace -f -ttt
    log; end is None for a call still running."""
    calls, open_ = [], {}
    with open(path) as fh:
        for ln in fh:
            m = LINE_RE.match(ln)
            if not m:
                continue
            tid, t = int(m.group(1)), float(m.group(2))
            if m.group(3):
                name = m.group(3)
                if name in SYNCS and (tid, name) in open_:
                    start = open_.pop((tid, name))
                    calls.append((tid, name, start, t))
            elif m.group(4) in SYNCS:
                name = m.group(4)
                if "<unfinished" in m.group(5):
                    open_[(tid, name)] = t
                else:
                    calls.append((tid, name, t, t))
    calls += [(tid, name, t, None) for (tid, name), t in open_.items()]
    return calls


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_replies_wait_for_a_sync_off_the_loop(imap, tmp_path):
    s, f = login(imap)
    out = reply(s, f, b"c0 CREATE Other")
    assert out[-1].startswith(b"c0 OK"), out
    out = append(s, f, b"a0", message(0))
    assert out[-1].startswith(b"a0 OK"), out
    out = reply(s, f, b"s0 SELECT INBOX")
    assert out[-1].startswith(b"s0 OK"), out
    log = str(tmp_path / "strace.log")
    pid = imap.proc.pid
    err = str(tmp_path / "strace.err")
    with open(err, "wb") as ef:
        tr = subprocess.Popen(["strace", "-f", "-ttt", "-o", log,
                               "-e", "trace=fsync,fdatasync,syncfs",
                               "-p", str(pid)], stderr=ef)
    try:
        # strace names every thread it attached to on stderr
        wait_for(lambda: "attached" in open(err).read() or
                 tr.poll() is not None, what="strace to attach")
        assert tr.poll() is None, open(err).read()
        time.sleep(0.5)
        windows = []

        def timed(tag, send):
            t0 = time.time()
            out = send()
            t1 = time.time()
            assert out[-1].startswith(tag + b" OK"), out
            windows.append((tag, t0, t1))

        timed(b"a1", lambda: append(s, f, b"a1", message(1)))
        timed(b"t1", lambda: reply(s, f, b"t1 STORE 1 +FLAGS (\\Flagged)"))
        timed(b"t2", lambda: reply(s, f, b"t2 STORE 2 +FLAGS (\\Deleted)"))
        timed(b"c1", lambda: reply(s, f, b"c1 COPY 1 Other"))
        timed(b"m1", lambda: reply(s, f, b"m1 MOVE 1 Other"))
        timed(b"e1", lambda: reply(s, f, b"e1 EXPUNGE"))
    finally:
        time.sleep(0.3)
        tr.send_signal(signal.SIGINT)
        tr.wait(timeout=20)
    calls = syscalls(log)
    on_loop = [c for c in calls if c[0] == pid]
    assert on_loop == [], ("syncs on the event loop's thread", on_loop)
    for tag, t0, t1 in windows:
        covering = [c for c in calls if c[1] == "syncfs" and
                    c[2] >= t0 and c[3] is not None and c[3] <= t1]
        assert covering, (tag, "answered with no syncfs returned in its "
                          "window", t0, t1, calls)
    s.close()


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_slow_sync_stalls_no_other_session(imap, tmp_path):
    """strace makes every fsync, fdatasync and syncfs of the store 1.5 s
    slower (-e inject=...:delay_exit): session A's APPEND is answered
    only after that (its OK waits for the sync), and session B's NOOP,
    sent while A waits, is answered at once and before A's OK (with the
    syncs on the loop it waited the 1.5 s behind A's)."""
    a, af = login(imap)
    b, bf = login(imap)
    out = reply(b, bf, b"s1 SELECT INBOX")
    assert out[-1].startswith(b"s1 OK"), out
    err = str(tmp_path / "strace.err")
    with open(err, "wb") as ef:
        tr = subprocess.Popen(
            ["strace", "-f", "-o", "/dev/null", "-p", str(imap.proc.pid),
             "-e", "trace=fsync,fdatasync,syncfs",
             "-e", "inject=fsync,fdatasync,syncfs:delay_exit=1500000"],
            stderr=ef)
    try:
        wait_for(lambda: "attached" in open(err).read() or
                 tr.poll() is not None, what="strace to attach")
        assert tr.poll() is None, open(err).read()
        time.sleep(0.5)
        done = {}

        def appender():
            t0 = time.time()
            out = append(a, af, b"a1", message(1))
            done["a"] = (out, t0, time.time())

        t = threading.Thread(target=appender)
        t.start()
        time.sleep(0.3)     # A's APPEND is in, its sync is running
        t0 = time.time()
        out = reply(b, bf, b"n1 NOOP")
        t1 = time.time()
        assert out[-1].startswith(b"n1 OK"), out
        t.join(timeout=30)
        aout, a0, a1 = done["a"]
        assert aout[-1].startswith(b"a1 OK"), aout
        assert t1 - t0 < 0.75, ("NOOP stalled behind a sync", t1 - t0)
        assert t1 < a1, ("NOOP answered after the APPEND", t1, a1)
        assert a1 - a0 >= 1.5, ("APPEND answered before its sync", a1 - a0)
    finally:
        tr.send_signal(signal.SIGINT)
        tr.wait(timeout=20)
    a.close()
    b.close()


def test_ok_appends_survive_kill9(imap):
    s, f = login(imap)
    out = reply(s, f, b"s0 SELECT INBOX")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(out)).group(1))
    s.close()
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k):
        try:
            s, f = login(imap)
            n = 0
            while not stop.is_set():
                n += 1
                body = message(k * 1000 + n, 3000)
                out = append(s, f, b"w%d" % n, body)
                m = re.search(rb"APPENDUID (\d+) (\d+)", out[-1])
                if out[-1].split()[1] == b"OK" and m:
                    with lock:
                        acked[int(m.group(2))] = (int(m.group(1)), body)
        except (OSError, AssertionError):
            pass    # the store went away under us

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while time.time() < deadline and len(acked) < 40:
        time.sleep(0.05)
    imap.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=20)
    assert len(acked) >= 10, len(acked)
    imap.start()
    wait_imap(imap)
    s, f = login(imap)
    out = reply(s, f, b"s1 SELECT INBOX")
    assert out[-1].startswith(b"s1 OK"), out
    assert int(re.search(rb"UIDVALIDITY (\d+)",
                         b"".join(out)).group(1)) == uv
    for uid, (v, body) in sorted(acked.items()):
        assert v == uv
        out = reply(s, f, b"f%d UID FETCH %d BODY.PEEK[]" % (uid, uid))
        assert out[-1].startswith(b"f%d OK" % uid), out
        data = b"".join(out[1:-1])
        assert body in data, ("OK'd APPEND lost after kill -9", uid)
    s.close()


def test_idle_held_for_a_commit_still_idles(imap):
    """IDLE that records \\Recent for a delivery waits for the commit
    before its "+", and the session is still idling after it: DONE ends
    it (it used to come back reading commands, DONE got BAD)."""
    s, f = login(imap)
    out = reply(s, f, b"s1 SELECT INBOX")
    assert out[-1].startswith(b"s1 OK"), out
    deliver(imap, ALICE, message(7))
    s.sendall(b"i1 IDLE\r\n")
    lines = []
    while True:
        ln = f.readline()
        assert ln, lines
        lines.append(ln)
        if ln.startswith(b"+"):
            break
        assert not ln.startswith(b"i1 "), lines
    assert b"* 1 EXISTS\r\n" in lines, lines
    out = reply(s, f, b"DONE", tag=b"i1")
    assert out[-1].startswith(b"i1 OK"), out
    out = reply(s, f, b"n1 NOOP")
    assert out[-1].startswith(b"n1 OK"), out
    s.close()
