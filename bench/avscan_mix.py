#!/usr/bin/python3
"""`make bench-avscan`: does a huge message delay small ones in avscan?

A real sluice-avscan (build/rel, the tests' signatures in
tests/data/clamav) relays to a real smtp-sink (Postfix's) on 127.0.0.1.
A few LMTP clients send a steady stream of 4 KB messages; the time from
the end of data (the final ".") to the reply is recorded for each. Phase
"alone": the small stream only. Phase "mixed": the same stream while
other clients send 25 MB messages (a base64 attachment of random bytes,
which libclamav decodes and scans) in bounded loops. Reports p50, p99
and max of the small messages' latency in each phase, and how long the
big ones took.

Then the signature reload: a freshclam-style update (a new .hdb written
aside and renamed into the watched folder) and the time until the new
engine serves (a probe message carrying the new signature's content is
quarantined), and the compile time from avscan's log.

BENCH_ROUNDS (default 3) rounds; every run and the medians are printed
and written to bench/avscan_mix_results.json. AVSCAN_THREADS (default 2)
sets scan_threads; extra avscan keys as AVSCAN_EXTRA="k=v,k=v";
AVSCAN_BIN another build folder (an older commit's build/rel) to compare.
Everything on 127.0.0.1, every loop bounded, every server stopped.
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BIN, ROOT, Sink, free_port, wait_port  # noqa: E402

CLAMDB = os.path.join(ROOT, "tests", "data", "clamav")
# another build to compare with (e.g. a worktree of an older commit)
BIN = os.environ.get("AVSCAN_BIN", BIN)
SMALL_CLIENTS = 3
SMALL_GAP = 0.02        # seconds between one client's small messages
ALONE_SECONDS = int(os.environ.get("AVSCAN_ALONE_S", "15"))
BIG_CLIENTS = 2
BIG_PER_CLIENT = 3
BIG_SIZE = 25 * 1000 * 1000  # under max_file_size (25m = 25 MiB)
RELOAD_BULK = 200000    # extra hash signatures in the reload's update


TEXT = bytes((b"abcdefghijklmnopqrstuvwxyz      \n" * 8)[:256])


def head(tag):
    return ("From: carol@remote.test\r\nTo: alice@example.test\r\n"
            "Subject: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
            "--=b=\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--=b=\r\nContent-Type: application/octet-stream; "
            "name=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            % tag).encode()


def b64(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def body(size, tag, same=False):
    """A maker of distinct messages of about size bytes: a base64
    attachment of random text whose first line differs in each (libclamav
    caches the hashes of what it found clean: a message sent again would
    not be scanned again). same: the same message every time, which
    libclamav scans once, then answers from its cache."""
    top = head(tag)
    # random text (letters, spaces, line ends): random bytes may look
    # like a file type to libclamav, which then stops early
    raw = os.urandom(max(0, (size - len(top) - 100) * 3 // 4)
                     // 57 * 57).translate(TEXT)
    tail = b64(raw) + b"--=b=--\r\n"

    def make():
        return top + b64(os.urandom(57).translate(TEXT)) + tail
    if same:
        msg = make()
        return lambda: msg
    return make


class Lmtp:
    """A raw LMTP client: the reply to the final dot is timed."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.f = self.s.makefile("rb")
        self.reply()
        self.cmd(b"LHLO bench.test")

    def reply(self):
        lines = []
        while True:
            ln = self.f.readline()
            if not ln:
                raise OSError("connection closed")
            lines.append(ln)
            if ln[3:4] != b"-":
                return int(ln[:3]), b"".join(lines)

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def send(self, data):
        """One message to one recipient: (code, seconds from the end of
        data to the reply)."""
        self.cmd(b"MAIL FROM:<carol@remote.test>")
        self.cmd(b"RCPT TO:<alice@example.test>")
        code, _ = self.cmd(b"DATA")
        if code != 354:
            return code, 0.0
        # no line of base64 or of the head starts with a dot
        self.s.sendall(data)
        t0 = time.monotonic()
        self.s.sendall(b".\r\n")
        code, text = self.reply()
        self.last = text
        return code, time.monotonic() - t0

    def close(self):
        try:
            self.cmd(b"QUIT")
        except OSError:
            pass
        self.s.close()


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return 0.0
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def summary(lat):
    return {"n": len(lat), "p50_ms": round(pct(lat, 50) * 1000, 1),
            "p99_ms": round(pct(lat, 99) * 1000, 1),
            "max_ms": round(max(lat) * 1000 if lat else 0, 1)}


class Avscan:
    def __init__(self, work, hop_port, db):
        self.dir = work
        self.port = free_port()
        self.logp = os.path.join(work, "avscan.log")
        conf = {"listen": "127.0.0.1:%d" % self.port,
                "milter_listen": "127.0.0.1:%d" % free_port(),
                "hostname": "av.bench.test",
                "next_hop": "smtp:127.0.0.1:%d" % hop_port,
                "next_hop_tls": "none", "clamav_database": db,
                "queue_dir": os.path.join(work, "queue"),
                "quarantine_dir": os.path.join(work, "quarantine"),
                "scan_tmp_dir": os.path.join(work, "tmp"),
                "user": "sluice",
                "scan_threads": os.environ.get("AVSCAN_THREADS", "2")}
        for kv in filter(None, os.environ.get("AVSCAN_EXTRA", "").split(",")):
            k, v = kv.split("=", 1)
            conf[k.strip()] = v.strip()
        path = os.path.join(work, "avscan.conf")
        with open(path, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in conf.items()))
        self.p = subprocess.Popen(
            [os.path.join(BIN, "sluice-avscan"), "-f", "-c", path],
            stdout=open(self.logp, "wb"), stderr=subprocess.STDOUT)
        wait_port(self.port)

    def log(self):
        with open(self.logp, errors="replace") as f:
            return f.read()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=60)


def small_stream(port, stop, lat, errors):
    make = body(4096, "small")
    c = Lmtp(port)
    try:
        for _ in range(100000):     # bounded; stop ends it sooner
            if stop.is_set():
                break
            code, dt = c.send(make())
            if code == 250:
                lat.append(dt)
            else:
                errors.append(code)
            time.sleep(SMALL_GAP)
    finally:
        c.close()


def big_stream(port, make, took, errors):
    c = Lmtp(port)
    try:
        for _ in range(BIG_PER_CLIENT):
            msg = make()
            t0 = time.monotonic()
            code, dt = c.send(msg)
            took.append((time.monotonic() - t0, dt))
            if code != 250:
                errors.append(code)
    finally:
        c.close()


def phase(port, big_msg):
    """Small stream alone (big_msg None: for ALONE_SECONDS) or while the
    big clients run. Latencies of the small messages, and the big
    messages' (total, end-of-data-to-reply) times."""
    stop, lat, took, errors = threading.Event(), [], [], []
    small = [threading.Thread(target=small_stream,
                              args=(port, stop, lat, errors))
             for _ in range(SMALL_CLIENTS)]
    for t in small:
        t.start()
    time.sleep(1.0)             # the stream is steady
    del lat[:]
    if big_msg is None:
        time.sleep(ALONE_SECONDS)
    else:
        bigs = [threading.Thread(target=big_stream,
                                 args=(port, big_msg, took, errors))
                for _ in range(BIG_CLIENTS)]
        for t in bigs:
            t.start()
        for t in bigs:
            t.join()
    stop.set()
    for t in small:
        t.join()
    return lat, took, errors


def reload_time(work, av, db):
    """A freshclam-style update: the new .hdb renamed into the folder.
    Seconds until a probe with the new signature's content is
    quarantined, and the compile time (avscan's log)."""
    data = b"sluice bench reload marker %d\r\n" % time.time_ns()
    probe = head("probe") + b64(data) + b"--=b=--\r\n"
    before = av.log().count("signature(s) from")
    tmp = os.path.join(db, ".new.tmp")
    with open(tmp, "w") as f:
        f.write("%s:%d:Sluice.Bench.Reload\n" %
                (hashlib.md5(data).hexdigest(), len(data)))
        for i in range(RELOAD_BULK):
            f.write("%032x:1000:Sluice.Bench.Bulk%d\n" % (i, i))
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(db, "new%d.hdb" % time.time_ns()))
    c = Lmtp(av.port)
    served = None
    try:
        for _ in range(6000):   # at most ~10 minutes
            c.send(probe)
            if b"quarantined" in c.last:
                served = time.monotonic() - t0
                break
            time.sleep(0.1)
    finally:
        c.close()
    lines = [ln for ln in av.log().splitlines()
             if "changed" in ln or "signature(s) from" in ln]

    def stamp(line):
        return (time.mktime(time.strptime(line[:15], "%b %d %H:%M:%S")) +
                float(line[15:19]))
    compile_s = None
    if av.log().count("signature(s) from") > before and len(lines) >= 2:
        compile_s = stamp(lines[-1]) - stamp(lines[-2])
    return served, compile_s


def one_round(big_msg):
    work = tempfile.mkdtemp(prefix="sluice-bench-avmix-")
    os.chmod(work, 0o755)
    db = os.path.join(work, "clamdb")
    shutil.copytree(CLAMDB, db)
    sink = Sink(work)
    av = Avscan(work, sink.port, db)
    try:
        alone, _, e1 = phase(av.port, None)
        # the reference: the same 25 MB message again and again, scanned
        # once, then from libclamav's cache: what the transfers, the
        # queue writes and the relay of 25 MB cost the small messages
        c = Lmtp(av.port)
        c.send(big_msg(True)())     # scanned whole once: now cached
        c.close()
        cached, ctook, e3 = phase(av.port, big_msg(True))
        mixed, took, e2 = phase(av.port, big_msg(False))
        served, compile_s = reload_time(work, av, db)
    finally:
        av.stop()
        sink.stop()
        if os.environ.get("BENCH_KEEP"):
            print("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return {"alone": summary(alone), "cached": summary(cached),
            "mixed": summary(mixed),
            "cached_big_eod_s": [round(d, 2) for _, d in ctook],
            "big_total_s": [round(t, 2) for t, _ in took],
            "big_eod_s": [round(d, 2) for _, d in took],
            "errors": e1 + e3 + e2,
            "reload_served_s": served and round(served, 2),
            "reload_compile_s": compile_s and round(compile_s, 2)}


def main():
    if not os.path.exists(os.path.join(BIN, "sluice-avscan")):
        sys.exit("bench: build/rel/sluice-avscan missing: make all")
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    big_same = body(BIG_SIZE, "big", same=True)
    big_new = body(BIG_SIZE, "big")

    def big_msg(same):
        return big_same if same else big_new
    runs = []
    for i in range(rounds):
        r = one_round(big_msg)
        runs.append(r)
        print("round %d: %s" % (i + 1, json.dumps(r)), flush=True)

    def med(f):
        vals = [f(r) for r in runs if f(r) is not None]
        return round(statistics.median(vals), 2) if vals else None
    out = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load": os.getloadavg()[0],
           "scan_threads": os.environ.get("AVSCAN_THREADS", "2"),
           "extra": os.environ.get("AVSCAN_EXTRA", ""),
           "runs": runs, "median": {
               "alone_p50_ms": med(lambda r: r["alone"]["p50_ms"]),
               "alone_p99_ms": med(lambda r: r["alone"]["p99_ms"]),
               "alone_max_ms": med(lambda r: r["alone"]["max_ms"]),
               "cached_p50_ms": med(lambda r: r["cached"]["p50_ms"]),
               "cached_p99_ms": med(lambda r: r["cached"]["p99_ms"]),
               "cached_max_ms": med(lambda r: r["cached"]["max_ms"]),
               "mixed_p50_ms": med(lambda r: r["mixed"]["p50_ms"]),
               "mixed_p99_ms": med(lambda r: r["mixed"]["p99_ms"]),
               "mixed_max_ms": med(lambda r: r["mixed"]["max_ms"]),
               "big_eod_s": med(lambda r: statistics.median(r["big_eod_s"])),
               "reload_served_s": med(lambda r: r["reload_served_s"]),
               "reload_compile_s": med(lambda r: r["reload_compile_s"])}}
    print("median: %s" % json.dumps(out["median"]))
    with open(os.path.join(ROOT, "bench", "avscan_mix_results.json"),
              "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
