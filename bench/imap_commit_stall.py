#!/usr/bin/python3
"""Does a slow sync stall other sessions? sluice-store alone (build/rel of
the tree given, default this one), for 8 s: one session APPENDs 64 KB
messages in a loop, another sends a NOOP every 5 ms, and a third thread
rewrites a 32 MB file in mail_root so that syncs have work to do. Prints
both latency distributions and how many NOOPs were answered inside an
APPEND slower than 10 ms (sent after its literal, answered before its
OK): with the sync on the loop there are few, with the IMAP group commit
(store/imap/store_imap_commit.c) most of them.
"""
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

TREE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TREE, "bench"))
import imap_bench  # noqa: E402
SECS = 8.0
SECONDS = 8.0
USER, PASSWORD = imap_bench.USER, imap_bench.PASSWORD


class Client:
    """A raw session: cmd() times one command to its tagged OK."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 30)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0

    def cmd(self, line, literal=None):
        """(sent, answered) perf_counter times; literal: LITERAL+."""
        self.n += 1
        tag = b"t%d" % self.n
        if literal is None:
            self.s.sendall(tag + b" " + line + b"\r\n")
        else:
            self.s.sendall(tag + b" " + line + b" {%d+}\r\n" %
                           len(literal) + literal + b"\r\n")
        t0 = time.perf_counter()
        while True:
            ln = self.f.readline()
            if ln.startswith(tag + b" "):
                assert b" OK" in ln, ln
                return t0, time.perf_counter()


def pct(v, f):
    return v[min(len(v) - 1, int(len(v) * f))]


def dirty(path, stop):
    blob = os.urandom(1 << 20)
    while not stop.is_set():
        with open(path, "wb") as f:
            for _ in range(32):
                f.write(blob)
        time.sleep(0.05)
    os.unlink(path)


def main():
    base = tempfile.mkdtemp(prefix="sluice-commit-stall-")
    os.chmod(base, 0o755)
    p, port, d = imap_bench.start_sluice(base)
    try:
        a, b = Client(port), Client(port)
        for c in (a, b):
            c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
        b.cmd(b"SELECT INBOX")
        end = time.perf_counter() + SECONDS
        apps, noops = [], []
        stop = threading.Event()
        msg = (b"Subject: x\r\n\r\n" + b"y" * 78 + b"\r\n") * 800

        def appender():
            while time.perf_counter() < end:
                apps.append(a.cmd(b"APPEND INBOX", msg))

        td = threading.Thread(target=dirty, args=(
            os.path.join(d, "mail", "dirt"), stop))
        ta = threading.Thread(target=appender)
        td.start()
        ta.start()
        while time.perf_counter() < end:
            noops.append(b.cmd(b"NOOP"))
            time.sleep(0.005)
        ta.join()
        stop.set()
        td.join()
        al = sorted((y - x) * 1000 for x, y in apps)
        nl = sorted((y - x) * 1000 for x, y in noops)
        slow = [(x, y) for x, y in apps if y - x > 0.010]
        inside = sum(1 for x, y in noops
                     if any(ax <= x and y <= ay for ax, ay in slow))
        print("APPENDs %d: median %.1f ms, p99 %.1f ms, max %.1f ms" % (
            len(al), statistics.median(al), pct(al, .99), al[-1]))
        print("NOOPs %d: median %.2f ms, p99 %.2f ms, max %.2f ms; "
              "answered inside one of the %d APPENDs slower than 10 ms: "
              "%d" % (len(nl), statistics.median(nl), pct(nl, .99), nl[-1],
                      len(slow), inside))
    finally:
        imap_bench.stop(p)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
