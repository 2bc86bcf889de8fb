"""The queue on disk against damage and careless operators.

One damaged byte costs one message, not the segment; a far-future retry
time read from disk does not make the scheduler spin; sluice-queue list and
show change nothing on disk; a modifying command run as root leaves files
the daemon can open; a segment the daemon cannot open is named with the
fix and the rest of the queue still flows.
"""
import os
import pwd
import struct
import subprocess
import time
import zlib

from conftest import messages, queue_tool, send_retrying, wait_for, \
    wait_messages, free_port

SLUICE = pwd.getpwnam("sluice")


def snapshot(d):
    """Every entry under d with size, mtime and owner."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            out[os.path.relpath(p, d)] = (st.st_size, st.st_mtime_ns,
                                          st.st_uid, st.st_mode)
    return out


def segments(d):
    return sorted(n for n in os.listdir(d) if n.startswith("seg-"))


def queued_mx(cluster, n, tag):
    """An mx whose next hop is down, holding n messages; returns (mx,
    hop port). The messages carry X-Seq: <tag><i>. mx.metrics: the port
    of its metrics endpoint."""
    hop = free_port()
    mport = free_port()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % hop],
                    extra={"metrics_listen": "127.0.0.1:%d" % mport})
    mx.metrics = mport
    for i in range(n):
        msg = ("From: a@remote.test\r\nSubject: q\r\nX-Seq: %s%d\r\n\r\n"
               "body %s%d\r\n" % (tag, i, tag, i)).encode()
        assert send_retrying(mx.port, "a@remote.test",
                             ["alice@example.test"], msg)
    wait_for(lambda: queue_tool(mx, "list").stdout.count("pending") == n,
             what="%d queued" % n)
    return mx, hop


def ids(mx):
    return [line.split()[0] for line in queue_tool(mx, "list").stdout
            .splitlines() if line and not line[0].isspace() and
            not line.startswith("--")]


def seqs(store):
    return sorted(m.split(b"X-Seq: ")[1].split(b"\r\n")[0].decode()
                  for m in messages(store, "alice@example.test"))


def test_damaged_byte_costs_one_message(cluster):
    mx, hop = queued_mx(cluster, 3, "d")
    mx.stop()
    seg = os.path.join(mx.queue_dir, segments(mx.queue_dir)[0])
    with open(seg, "r+b") as f:
        data = f.read()
        at = data.index(b"body d0")
        f.seek(at)
        f.write(b"X")
    before = snapshot(mx.queue_dir)
    r = queue_tool(mx, "list")
    assert r.returncode == 0, r.stderr
    assert "-- 2 message(s)" in r.stdout, r.stdout + r.stderr
    assert "damaged record" in r.stderr and "seg-00000001" in r.stderr
    assert snapshot(mx.queue_dir) == before, "list changed the queue"
    st = cluster.store(port=hop)
    mx.start()
    wait_messages(st, "alice@example.test", 2)
    wait_for(lambda: "-- 0 message(s)" in queue_tool(mx, "list").stdout,
             what="an empty queue")
    assert seqs(st) == ["d1", "d2"]
    corrupt = os.listdir(os.path.join(mx.queue_dir, "corrupt"))
    assert corrupt, "damaged record not set aside"
    with open(os.path.join(mx.queue_dir, "corrupt", corrupt[0]), "rb") as f:
        assert b"Xody d0" in f.read()
    assert "damaged record" in mx.log()
    # counted for the operator's metrics too
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mx.metrics,
                                timeout=10) as r:
        page = r.read().decode()
    assert "\nsluice_queue_corrupt_records_total 1\n" in page, page


def envelope(sender, rcpt, arrival):
    def field(tag, v):
        v = v.encode()
        return struct.pack("<BI", tag, len(v)) + v
    return (b"\x01" + field(1, sender) + field(12, str(arrival)) +
            field(32, rcpt))


def new_record(qid, next_try, attempts, env, body):
    """A NEW record in the original journal format ("SLQ1": the CRC
    covers the payload), which every version reads."""
    state = (qid.encode().ljust(16, b"\0") +
             struct.pack("<QIII", next_try, attempts, 0, 0) +
             struct.pack("<I", len(env)) + env)
    payload = state + body
    return (b"SLQ1" + bytes([1, 0, 0, 0]) +
            struct.pack("<II", len(payload),
                        zlib.crc32(payload) & 0xffffffff) + payload)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_far_future_retry_does_not_spin(cluster):
    om = cluster.outmta()
    om.stop()
    env = envelope("a@remote.test", "b@far.test", int(time.time()) - 5)
    seg = os.path.join(om.queue_dir, "seg-00000100")
    with open(seg, "wb") as f:
        # seconds * 1000 wraps to just below 2^64: a timer in the past
        f.write(new_record("FAR0001", int(time.time()) + (1 << 61) - 1,
                           0xffffffff, env,
                           b"Subject: far\r\n\r\nfar\r\n"))
    os.chown(seg, SLUICE.pw_uid, SLUICE.pw_gid)
    om.start()
    time.sleep(0.5)
    c0 = cpu_seconds(om.proc.pid)
    time.sleep(3)
    used = cpu_seconds(om.proc.pid) - c0
    print("outmta CPU in 3 s: %.2f s" % used)
    assert used < 0.3, "outmta used %.2f s of CPU in 3 s" % used
    show = queue_tool(om, "show", "FAR0001").stdout
    next_try = int(show.split("next_try: ")[1].split()[0])
    attempts = int(show.split("attempts: ")[1].split()[0])
    assert 0 < next_try <= time.time() + 86400, show
    assert 0 <= attempts <= 1000000, show


def test_list_and_show_change_nothing(cluster):
    mx, _ = queued_mx(cluster, 2, "r")
    qid = ids(mx)[0]
    mx.stop()
    before = snapshot(mx.queue_dir)
    r = queue_tool(mx, "list")
    assert r.returncode == 0 and "-- 2 message(s)" in r.stdout, r.stderr
    r = queue_tool(mx, "show", qid)
    assert r.returncode == 0 and "body r" in r.stdout, r.stderr
    assert snapshot(mx.queue_dir) == before
    # nothing to read: no queue is made up either
    missing = os.path.join(cluster.base, "no-such-queue")
    r = subprocess.run([os.path.join(os.path.dirname(mx.binary),
                                     "sluice-queue"), "-d", missing, "list"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and not os.path.exists(missing)


def test_root_edits_as_queue_owner(cluster):
    assert os.geteuid() == 0, "this test runs as root"
    mx, hop = queued_mx(cluster, 2, "o")
    qid = ids(mx)[0]
    mx.stop()
    assert os.stat(mx.queue_dir).st_uid == SLUICE.pw_uid
    r = queue_tool(mx, "hold", qid)
    assert r.returncode == 0, r.stderr
    r = queue_tool(mx, "delete", ids(mx)[1])
    assert r.returncode == 0, r.stderr
    owners = {n: (st[2]) for n, st in snapshot(mx.queue_dir).items()}
    assert set(owners.values()) == {SLUICE.pw_uid}, owners
    mx.start()  # opens every file it needs
    assert "HELD" in queue_tool(mx, "list").stdout


def test_unreadable_segment_named_and_skipped(cluster):
    mx, hop = queued_mx(cluster, 1, "u")
    mx.stop()
    mx.start()  # a second segment for the next message
    msg = b"From: a@remote.test\r\nSubject: q\r\nX-Seq: u1\r\n\r\nb\r\n"
    assert send_retrying(mx.port, "a@remote.test", ["alice@example.test"],
                         msg)
    wait_for(lambda: queue_tool(mx, "list").stdout.count("pending") == 2,
             what="2 queued")
    mx.stop()
    first = os.path.join(mx.queue_dir, segments(mx.queue_dir)[0])
    os.chown(first, 0, 0)
    os.chmod(first, 0o600)
    st = cluster.store(port=hop)
    mx.start()
    wait_messages(st, "alice@example.test", 1)
    log = mx.log()
    assert "seg-00000001" in log and "chown sluice" in log, log[-3000:]
    assert os.path.exists(first)
    # the unreadable segment's message is not loaded: none left
    listing = wait_for(lambda: (lambda o: "-- 0 message(s)" in o and o)(
        queue_tool(mx, "list").stdout), what="the delivery recorded")
    assert "1 segment(s) unreadable" in listing, listing
    # fixed as the log says: the waiting message flows
    mx.stop()
    os.chown(first, SLUICE.pw_uid, SLUICE.pw_gid)
    mx.start()
    wait_messages(st, "alice@example.test", 2)
    assert seqs(st) == ["u0", "u1"]
