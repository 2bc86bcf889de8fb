#!/usr/bin/python3
"""Access boxes: LMTP deliveries/s and IMAP FETCH/s, Maildir against 1, 2
and 3 stores on one PostgreSQL (mailbox_store = postgresql://...), in the
same run on the same machine. Not part of make test.

A private PostgreSQL (tests/engines.py: initdb under a temporary folder,
its own port on 127.0.0.1, fsync on) and the stores run from a temporary
directory. For each setup:
  LMTP   CLIENTS threads, each on its own LMTP connection to box i % n,
         send MESSAGES messages of 4 KB in all, one recipient each
         (USERS users, round robin); the time to the last 250 counts.
  FETCH  CLIENTS threads, each logged in on box i % n as one user, each
         fetch every message of its INBOX by UID FETCH n BODY.PEEK[],
         one command at a time, FETCH_ROUNDS times; FETCH commands/s.
pg1sealed is pg1 with box_key_file: every body sealed (AES-256-GCM,
envelope keys) on its way in and opened on its way out.
Every delivery must be answered 250 and every body must come back whole.
SLUICE_BUILD picks the binaries (default build/rel, else build/asan);
results go to bench/boxes_results.json.
"""
import imaplib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from engines import Postgres, _as_user  # noqa: E402
from conftest import wait_for  # noqa: E402

BUILD = os.environ.get("SLUICE_BUILD") or (
    "build/rel" if os.path.exists(os.path.join(ROOT, "build/rel/sluice-store"))
    else "build/asan")
BIN = os.path.join(ROOT, BUILD)
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "600"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "6"))
USERS = 6
FETCH_ROUNDS = int(os.environ.get("BENCH_FETCH_ROUNDS", "2"))
SIZE = 4096
PASSWORD = "bench-password-1"
RUN_USER = "sluice"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("store exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


class DurablePostgres(Postgres):
    """The tests' private server, but with fsync on, as it would run."""

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            _as_user([os.path.join(self.bin, "postgres"), "-D", self.data,
                      "-p", str(self.port), "-k", self.sock,
                      "-c", "listen_addresses=127.0.0.1"]),
            stdout=self.logf, stderr=subprocess.STDOUT)
        wait_for(lambda: self.ready() or self.proc.poll() is not None,
                 timeout=20, what="postgres")
        return self


def user(i):
    return "user%d@example.test" % (i % USERS)


def message(i):
    head = ("From: <s%d@remote.test>\r\nTo: <%s>\r\nSubject: bench %d\r\n"
            "Message-ID: <%d.bench@remote.test>\r\n\r\n"
            % (i, user(i), i, i)).encode()
    body = b"x" * (SIZE - len(head) - 2) + b"\r\n"
    return head + body


class Setup:
    """The directory, then n stores on one mailbox_store."""

    def __init__(self, base, name, n, store, key=None):
        self.d = os.path.join(base, name)
        os.makedirs(self.d)
        os.chmod(self.d, 0o755)
        ctl = [os.path.join(BIN, "sluicectl"), "-d",
               os.path.join(self.d, "dir.db"), "-s",
               os.path.join(self.d, "users"), "-a",
               os.path.join(self.d, "users.auth")]
        cmds = [(["domain", "add", "example.test"], None)]
        for i in range(USERS):
            cmds += [(["user", "add", user(i)], None),
                     (["user", "passwd", user(i)], PASSWORD + "\n")]
        for args, stdin in cmds:
            subprocess.run(ctl + args, input=stdin, text=True, check=True,
                           capture_output=True)
        for f in ("users", "users.auth"):
            shutil.chown(os.path.join(self.d, f), RUN_USER)
        self.procs, self.lmtp, self.imap = [], [], []
        self.key = key
        for k in range(n):
            self.start(k, store)

    def start(self, k, store):
        d = os.path.join(self.d, "box%d" % k)
        os.makedirs(os.path.join(d, "mail"))
        os.chmod(d, 0o755)
        shutil.chown(d, RUN_USER)
        lmtp, imap = free_port(), free_port()
        conf = os.path.join(d, "store.conf")
        with open(conf, "w") as f:
            f.write("lmtp_listen = 127.0.0.1:%d\nimap_listen = 127.0.0.1:%d\n"
                    "hostname = box%d.example.test\n"
                    "directory_file = %s/users\n"
                    "credentials_file = %s/users.auth\n"
                    "mail_root = %s/mail\nmailbox_store = %s\n"
                    "imaps_listen =\npop3_listen =\npop3s_listen =\n"
                    "tls_cert =\nplaintext_auth = yes\nuser = %s\n"
                    % (lmtp, imap, k, self.d, self.d, d, store, RUN_USER))
            if self.key:
                f.write("box_key_file = %s\n" % self.key)
        p = subprocess.Popen([os.path.join(BIN, "sluice-store"), "-c", conf],
                             cwd=d, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "log"), "w"))
        wait_port(imap, p)
        self.procs.append(p)
        self.lmtp.append(lmtp)
        self.imap.append(imap)

    def stop(self):
        for p in self.procs:
            p.terminate()
            p.wait(20)


def lmtp_client(port, ids, errors):
    s = socket.create_connection(("127.0.0.1", port), 30)
    f = s.makefile("rb")

    def reply():
        while True:
            ln = f.readline()
            if not ln:
                raise RuntimeError("closed")
            if ln[3:4] != b"-":
                return ln

    reply()
    s.sendall(b"LHLO bench.example.test\r\n")
    reply()
    for i in ids:
        s.sendall(b"MAIL FROM:<s@remote.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                  % user(i).encode())
        for _ in range(3):
            reply()
        s.sendall(message(i) + b".\r\n")
        r = reply()
        if not r.startswith(b"250"):
            errors.append(r)
    s.sendall(b"QUIT\r\n")
    s.close()


def fetch_client(port, i, counts, errors):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(user(i), PASSWORD)
    c.select("INBOX")
    typ, data = c.uid("SEARCH", "ALL")
    uids = data[0].split()
    n = 0
    for _ in range(FETCH_ROUNDS):
        for u in uids:
            typ, data = c.uid("FETCH", u, "(BODY.PEEK[])")
            if typ != "OK" or len(data[0][1]) != SIZE + \
                    len(b"Return-Path: <s@remote.test>\r\n"
                        b"Delivered-To: %s\r\n" % user(i).encode()):
                errors.append((u, typ))
            n += 1
    counts.append(n)
    c.logout()


def run(threads):
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def measure(s):
    errors, counts = [], []
    n = len(s.lmtp)
    ids = [list(range(k, MESSAGES, CLIENTS)) for k in range(CLIENTS)]
    t = run([threading.Thread(target=lmtp_client,
                              args=(s.lmtp[k % n], ids[k], errors))
             for k in range(CLIENTS)])
    assert not errors, errors[:3]
    lmtp = MESSAGES / t
    t = run([threading.Thread(target=fetch_client,
                              args=(s.imap[k % n], k, counts, errors))
             for k in range(CLIENTS)])
    assert not errors, errors[:3]
    return lmtp, sum(counts) / t


def main():
    base = tempfile.mkdtemp(prefix="sluice-boxes-bench-")
    os.chmod(base, 0o755)
    pg = DurablePostgres(base).start()
    results = {"messages": MESSAGES, "size": SIZE, "clients": CLIENTS,
               "users": USERS, "build": BUILD}
    print("%d LMTP deliveries of %d bytes and FETCH BODY[] of each, %d "
          "clients, %s" % (MESSAGES, SIZE, CLIENTS, BUILD), flush=True)
    try:
        # pg1sealed: one box with box_key_file (bodies sealed)
        key = os.path.join(base, "box.key")
        subprocess.run([os.path.join(BIN, "sluice-boxkey"), "keygen", key],
                       check=True, capture_output=True)
        for name, n in (("maildir", 1), ("pg1", 1), ("pg1sealed", 1),
                        ("pg2", 2), ("pg3", 3)):
            store = "maildir" if name == "maildir" else \
                pg.createdb("bench_%s" % name)
            s = Setup(base, name, n, store,
                      key if name.endswith("sealed") else None)
            try:
                lmtp, fetch = measure(s)
            finally:
                s.stop()
            results[name] = {"boxes": n, "lmtp_per_s": round(lmtp),
                             "fetch_per_s": round(fetch)}
            print("  %-8s %d box(es): %6.0f deliveries/s  %6.0f FETCH/s"
                  % (name, n, lmtp, fetch), flush=True)
        with open(os.path.join(ROOT, "bench", "boxes_results.json"),
                  "w") as f:
            json.dump(results, f, indent=1)
    finally:
        pg.stop()
        if os.environ.get("BENCH_KEEP") == "1":
            print("kept", base)
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
