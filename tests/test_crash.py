"""Durability: kill -9 under load loses nothing that got a 250.

500 messages over 10 concurrent sessions. While they flow, mx and then
store are killed with SIGKILL and restarted on the same directories.
Every message that a client saw accepted (250 to end-of-data) must reach
the mailbox; duplicates are allowed (the classic SMTP window) but counted.
"""
import re
import threading
import time

from conftest import messages, queue_tool, send_retrying, wait_for

TOTAL = 500
SESSIONS = 10


def sender(port, seqs, accepted, lock, stop):
    for seq in seqs:
        msg = ("From: load@remote.test\r\nSubject: load\r\nX-Seq: %d\r\n"
               "Message-ID: <seq%d@remote.test>\r\n\r\n%s\r\n" %
               (seq, seq, "payload " * 50)).encode()
        if stop.is_set():
            return
        if send_retrying(port, "load@remote.test", ["alice@example.test"],
                         msg):
            with lock:
                accepted.add(seq)


def seqs_in(store):
    got = {}
    for m in messages(store, "alice@example.test"):
        s = int(re.search(rb"X-Seq: (\d+)", m).group(1))
        got[s] = got.get(s, 0) + 1
    return got


def test_kill9_under_load(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"delivery_concurrency": "4"})
    accepted, lock, stop = set(), threading.Lock(), threading.Event()
    threads = [threading.Thread(target=sender, args=(
        mx.port, range(i, TOTAL, SESSIONS), accepted, lock, stop))
        for i in range(SESSIONS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(accepted) >= 100, 60, "100 accepted")
        mx.kill9()
        time.sleep(0.3)
        mx.start()
        wait_for(lambda: len(accepted) >= 250, 60, "250 accepted")
        st.kill9()
        time.sleep(0.3)
        st.start()
        wait_for(lambda: len(accepted) >= 350, 60, "350 accepted")
        mx.kill9()
        mx.start()
    finally:
        for t in threads:
            t.join(120)
        stop.set()
    assert len(accepted) == TOTAL, "clients gave up on %d messages" % (
        TOTAL - len(accepted))
    wait_for(lambda: accepted <= set(seqs_in(st)), 90,
             "every accepted message in the mailbox")
    got = seqs_in(st)
    lost = sorted(accepted - set(got))
    dups = {s: n for s, n in got.items() if n > 1}
    print("\ncrash test: %d accepted, %d delivered, %d lost, %d duplicated "
          "(%d extra copies)" % (len(accepted), len(got), len(lost),
                                 len(dups), sum(dups.values()) - len(dups)))
    assert not lost
    wait_for(lambda: "-- 0 message(s)" in queue_tool(mx, "list").stdout,
             30, "an empty queue")
