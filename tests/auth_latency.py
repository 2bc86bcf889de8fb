"""How much do logins slow down the other IMAP sessions of the store?

One logged-in session sends FETCH after FETCH and times each reply while
loader threads log in (LOGIN, the scrypt check) at a steady rate over
fresh plain connections (plaintext_auth on loopback, so that no TLS
handshake loads the loop: only the password check is measured). The
p50/p99 of the FETCH latency is taken without and with the logins.

Used by test_sec_auth.py (a generous bound) and on its own for the
exact numbers:
    python3 tests/auth_latency.py [rate] [seconds]
(SLUICE_BUILD chooses the build, as for the tests).
"""
import multiprocessing
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import (Cluster, Ctl, free_port, lmtp_send,  # noqa: E402
                      port_open, self_signed, wait_for)

USERS = {"alice@example.test": "alice secret 1",
         "bob@example.test": "bob secret 2"}


def start_store(cluster):
    """A store with plain IMAP on loopback and two users."""
    d = os.path.join(cluster.base, "latdir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    for u, p in USERS.items():
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=p + "\n")
    os.chmod(ctl.snap, 0o644)
    port = free_port()
    st = cluster.store(extra={
        "directory_file": ctl.snap, "credentials_file": ctl.auth,
        "plaintext_auth": "yes", "auth_fail_max": "30",
        # 25 loaders from one address: not the per-client limit's test
        "max_client_logins": "0",
        "imap_listen": "127.0.0.1:%d" % port})
    st.imap_port = port
    wait_for(lambda: port_open(port), what="IMAP port")
    lmtp_send(st.port, ["alice@example.test"],
              b"Subject: hi\r\n\r\nhello\r\n")
    return st


class Session:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.s.makefile("rb")
        self.f.readline()
        self.n = 0

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text + b"\r\n")
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("closed")
            if line.startswith(tag + b" "):
                return line

    def close(self):
        self.s.close()


def login_once(port, user):
    s = Session(port)
    r = s.cmd(b'LOGIN "%s" "%s"' % (user.encode(), USERS[user].encode()))
    s.cmd(b"LOGOUT")
    s.close()
    return r.split(b" ")[1] == b"OK"


def fetch_session(port):
    """alice logged in, INBOX selected."""
    s = Session(port)
    assert b"OK" in s.cmd(b'LOGIN "alice@example.test" "alice secret 1"')
    assert b"OK" in s.cmd(b"SELECT INBOX")
    return s


def time_fetches(s, seconds):
    """FETCH every 2 ms for seconds; each reply's time in seconds."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        assert b"OK" in s.cmd(b"FETCH 1 (FLAGS BODY.PEEK[HEADER])")
        out.append(time.monotonic() - t)
        time.sleep(0.002)
    return out


def fetch_latencies(port, seconds):
    s = fetch_session(port)
    out = time_fetches(s, seconds)
    s.close()
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def load(port, rate, stop, done, go=None, inflight=None, cpus=None):
    """Log in rate times a second (25 threads on a fixed schedule) until
    stop is set; count the successes in done. Runs in its own process,
    so the measuring thread never waits for the loaders' interpreter
    lock. With go: log in only while it is set (the schedule starts
    afresh each time), counting the logins under way in inflight. cpus:
    the CPUs this process runs on."""
    nthreads = 25
    lock = threading.Lock()
    if cpus:
        os.sched_setaffinity(0, cpus)

    def loader(k):
        period = nthreads / rate
        t = time.monotonic() + k * period / nthreads
        user = list(USERS)[k % 2]
        while not stop.is_set():
            now = time.monotonic()
            if go is not None and not go.is_set():
                time.sleep(0.01)
                t = time.monotonic() + k * period / nthreads
                continue
            if now < t:
                time.sleep(min(t - now, 0.1))
                continue
            t += period
            if inflight is not None:
                with inflight.get_lock():
                    inflight.value += 1
            try:
                ok = login_once(port, user)
            except OSError:
                ok = False
            if inflight is not None:
                with inflight.get_lock():
                    inflight.value -= 1
            with lock:
                done[0 if ok else 1] += 1

    ths = [threading.Thread(target=loader, args=(k,), daemon=True)
           for k in range(nthreads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()


def measure(port, rate=50, seconds=5.0):
    """p50 and p99 in ms of FETCH alone, then while another process logs
    in rate times a second; and how many of those logins completed."""
    quiet = fetch_latencies(port, seconds)
    stop = multiprocessing.Event()
    done = multiprocessing.Array("i", 2)
    p = multiprocessing.Process(target=load, args=(port, rate, stop, done))
    p.start()
    time.sleep(0.5)
    busy = fetch_latencies(port, seconds)
    stop.set()
    p.join(60)
    ms = lambda x: round(x * 1000, 2)  # noqa: E731
    return {"quiet_p50": ms(pct(quiet, 0.5)), "quiet_p99": ms(pct(quiet, 0.99)),
            "busy_p50": ms(pct(busy, 0.5)), "busy_p99": ms(pct(busy, 0.99)),
            "fetches": len(busy), "logins_ok": done[0],
            "logins_failed": done[1]}


def measure_interleaved(port, rate=50, seconds=10.0, blocks=5,
                        loader_cpus=None):
    """As measure(), with the idle and the loaded FETCHes taken in turns
    (blocks of seconds/blocks each, in one session), so that both see
    the same background load of the machine: an idle block starts only
    when no login is under way or queued. loader_cpus: the login
    process's CPUs. Also the logins done per second of loaded block."""
    s = fetch_session(port)
    stop, go = multiprocessing.Event(), multiprocessing.Event()
    done = multiprocessing.Array("i", 2)
    inflight = multiprocessing.Value("i", 0)
    p = multiprocessing.Process(target=load, args=(
        port, rate, stop, done, go, inflight, loader_cpus))
    p.start()
    quiet, busy, in_busy = [], [], 0
    try:
        for _ in range(blocks):
            go.clear()
            end = time.monotonic() + 30
            while inflight.value and time.monotonic() < end:
                time.sleep(0.01)
            quiet += time_fetches(s, seconds / blocks)
            go.set()
            time.sleep(0.5)     # the 25 loaders start, staggered
            d0 = done[0]
            busy += time_fetches(s, seconds / blocks)
            in_busy += done[0] - d0
    finally:
        stop.set()
        p.join(60)
        s.close()
    ms = lambda x: round(x * 1000, 2)  # noqa: E731
    return {"quiet_p50": ms(pct(quiet, 0.5)), "quiet_p99": ms(pct(quiet, 0.99)),
            "busy_p50": ms(pct(busy, 0.5)), "busy_p99": ms(pct(busy, 0.99)),
            "fetches": len(busy), "logins_ok": done[0],
            "logins_failed": done[1],
            "logins_per_s": round(in_busy / seconds, 1)}


def main():
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 50
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    base = tempfile.mkdtemp(prefix="sluice-lat-")
    os.chmod(base, 0o755)
    c = Cluster(base, self_signed(base))
    try:
        st = start_store(c)
        print(measure(st.imap_port, rate, seconds))
    finally:
        c.stop_all()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
