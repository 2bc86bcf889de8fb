#!/usr/bin/python3
"""IMAP command mixes with 10 clients: sluice-store against Dovecot, same
machine, same run.

Both servers run privately on 127.0.0.1 from a temporary directory, as in
bench/imap_bench.py (which starts them), and get the same 50 messages in
INBOX. Passwords are hashed on both sides with a memory-hard scheme:
sluice-store scrypt (N=2^15, r=8, p=1: 32 MiB), Dovecot ARGON2ID as
`doveadm pw -s ARGON2ID` makes it (m=64 MiB, t=3, p=1); the cost is a
choice each server keeps, and the figures print one LOGIN's latency on an
idle server so the two can be compared. Dovecot's auth cache is off (its
default), so every LOGIN verifies the password.

Two mixes, BENCH_CLIENTS (10) client processes on raw sockets, each for
BENCH_SECONDS (10):
  login   connect, LOGIN, SELECT INBOX, FETCH 1:5 (FLAGS UID), NOOP,
          LOGOUT, again and again
  session LOGIN once, then SELECT INBOX, NOOP, FETCH 1:10 (FLAGS UID
          RFC822.SIZE), UID SEARCH UNSEEN, STORE n +FLAGS (\\Flagged),
          STORE n -FLAGS (\\Flagged), FETCH n BODY.PEEK[HEADER],
          STATUS Archive (MESSAGES UNSEEN), LIST "" "*" in a loop
During the login mix one more session, logged in, sends a NOOP every
20 ms and times its round trip (median, 99th percentile, max): a login
must not stall the other sessions. A command counts when its tagged OK
came back; a protocol error is a
tagged NO or BAD, a line that is neither untagged nor the tag, or a
dropped connection. Commands per second (and errors) for each server;
the two servers take turns per mix, BENCH_REPEATS (1) rounds, and the
results go to bench/imap_mix_results.json.
"""
import json
import multiprocessing
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_bench  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "10"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "1"))
MESSAGES = 50
USER, PASSWORD = imap_bench.USER, imap_bench.PASSWORD


class ProtoError(Exception):
    pass


class Client:
    """A raw IMAP client that checks every reply line it reads."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.f = self.s.makefile("rb")
        self.n = 0
        greet = self.f.readline()
        if not greet.startswith(b"* OK"):
            raise ProtoError("greeting %r" % greet)

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + line + b"\r\n")
        while True:
            ln = self.f.readline()
            if not ln:
                raise ProtoError("connection closed")
            if ln.startswith(b"* ") or ln == b"*\r\n":
                while ln.endswith(b"}\r\n"):  # a literal, then more
                    size = int(ln[ln.rindex(b"{") + 1:-3])
                    if len(self.f.read(size)) != size:
                        raise ProtoError("short literal")
                    ln = self.f.readline()
                continue
            if ln.startswith(tag + b" OK"):
                return
            raise ProtoError("%s -> %r" % (line[:30], ln[:80]))

    def close(self):
        self.s.close()


def login_loop(port, end):
    done = errors = 0
    while time.time() < end:
        try:
            c = Client(port)
            for line in (b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()),
                         b"SELECT INBOX", b"FETCH 1:5 (FLAGS UID)", b"NOOP",
                         b"LOGOUT"):
                c.cmd(line)
                done += 1
            c.close()
        except (ProtoError, OSError):
            errors += 1
    return done, errors


def session_loop(port, end, k):
    done = errors = 0
    c = None
    i = 0
    while time.time() < end:
        try:
            if c is None:
                c = Client(port)
                c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
                done += 1
            n = 1 + (k * 7 + i) % MESSAGES
            i += 1
            for line in (b"SELECT INBOX", b"NOOP",
                         b"FETCH 1:10 (FLAGS UID RFC822.SIZE)",
                         b"UID SEARCH UNSEEN",
                         b"STORE %d +FLAGS (\\Flagged)" % n,
                         b"STORE %d -FLAGS (\\Flagged)" % n,
                         b"FETCH %d BODY.PEEK[HEADER]" % n,
                         b"STATUS Archive (MESSAGES UNSEEN)",
                         b'LIST "" "*"'):
                c.cmd(line)
                done += 1
        except (ProtoError, OSError):
            errors += 1
            if c:
                c.close()
            c = None
    if c:
        try:
            c.cmd(b"LOGOUT")
        except (ProtoError, OSError):
            pass
        c.close()
    return done, errors


class Probe(threading.Thread):
    """A logged-in session's NOOP round trips (ms), one every 20 ms,
    while the others log in and out: does a login stall the server?
    It logs in before they start (the store takes 10 connections per
    address before login)."""

    def __init__(self, port):
        super().__init__()
        self.c = Client(port)
        self.c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
        self.lat = []
        self.end = 0

    def run(self):
        while time.time() < self.end:
            t0 = time.perf_counter()
            self.c.cmd(b"NOOP")
            self.lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
        self.c.cmd(b"LOGOUT")
        self.c.close()


def worker(args):
    kind, port, end, k = args
    if kind == "login":
        return login_loop(port, end)
    return session_loop(port, end, k)


def run_mix(kind, port):
    probe = Probe(port) if kind == "login" else None
    end = time.time() + SECONDS
    with multiprocessing.Pool(CLIENTS) as pool:
        t0 = time.time()
        if probe:
            probe.end = end
            probe.start()
        res = pool.map(worker, [(kind, port, end, k)
                                for k in range(CLIENTS)])
        t = time.time() - t0
    out = {}
    if probe:
        probe.join()
        lat = sorted(probe.lat)
        out["noop_ms"] = {"median": lat[len(lat) // 2],
                          "p99": lat[min(len(lat) - 1,
                                         len(lat) * 99 // 100)],
                          "max": lat[-1]}
    done = sum(r[0] for r in res)
    errors = sum(r[1] for r in res)
    out.update({"cps": done / t, "commands": done, "errors": errors,
                "seconds": round(t, 2)})
    return out


def login_latency(port, rounds=5):
    best = []
    for _ in range(rounds):
        c = Client(port)
        t0 = time.perf_counter()
        c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
        best.append(time.perf_counter() - t0)
        c.cmd(b"LOGOUT")
        c.close()
    return min(best) * 1000


def capability(port):
    """The capabilities a logged-in client sees."""
    c = Client(port)
    c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    c.s.sendall(b"c CAPABILITY\r\n")
    caps = b""
    while True:
        ln = c.f.readline()
        if ln.startswith(b"* CAPABILITY"):
            caps = ln[2:].strip()
        if not ln or ln.startswith(b"c "):
            break
    c.close()
    return caps.decode()


def argon2_passwd(d):
    out = subprocess.run(["doveadm", "-c", os.path.join(d, "dovecot.conf"),
                          "pw", "-s", "ARGON2ID", "-p", PASSWORD],
                         capture_output=True, text=True, check=True)
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("%s:%s::::::\n" % (USER, out.stdout.strip()))


def prepare(port):
    c = Client(port)
    c.cmd(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    c.cmd(b"CREATE Archive")
    c.close()
    imap_bench.fill(port, [imap_bench.message(i) for i in range(MESSAGES)])


def main():
    pw = pwd.getpwnam(imap_bench.RUN_USER)
    base = tempfile.mkdtemp(prefix="sluice-imap-mix-")
    os.chmod(base, 0o755)
    results = {"clients": CLIENTS, "seconds": SECONDS}
    procs = []
    try:
        dp, dport, dd = imap_bench.start_dovecot(base, pw.pw_uid, pw.pw_gid)
        procs.append(dp)
        argon2_passwd(dd)  # passwd-file is read again on change
        sp, sport, _ = imap_bench.start_sluice(base)
        procs.append(sp)
        servers = (("sluice", sport), ("dovecot", dport))
        for name, port in servers:
            prepare(port)
            results[name] = {"capability": capability(port),
                             "login_ms": login_latency(port)}
        for r in range(REPEATS):
            for kind in ("login", "session"):
                for name, port in servers:
                    m = run_mix(kind, port)
                    results[name].setdefault(kind, []).append(m)
                    print("  %-8s %-8s %7.0f commands/s, %d errors%s" % (
                        name, kind, m["cps"], m["errors"],
                        "; another session's NOOP: median %.1f ms, p99 "
                        "%.1f ms, max %.1f ms" % (
                            m["noop_ms"]["median"], m["noop_ms"]["p99"],
                            m["noop_ms"]["max"]) if "noop_ms" in m
                        else ""), flush=True)
        out = subprocess.run(["/usr/sbin/dovecot", "--version"],
                             capture_output=True, text=True).stdout
        results["dovecot_version"] = out.strip()
        for name, _ in servers:
            print("%-8s one LOGIN on an idle server %.0f ms; %s" % (
                name, results[name]["login_ms"],
                results[name]["capability"]))
        with open(os.path.join(imap_bench.ROOT, "bench",
                               "imap_mix_results.json"), "w") as f:
            json.dump(results, f, indent=1)
    finally:
        for p in procs:
            imap_bench.stop(p)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
