#!/usr/bin/python3
"""IMAP FETCH throughput: sluice-store against Dovecot, same machine, same run.

Both servers run privately on 127.0.0.1 from a temporary directory (Dovecot
with its own configuration: no system configuration, no system service;
a passwd-file, mail_location maildir), and get the same 1,000 messages of
4 KB each through IMAP APPEND. Then, over plain IMAP on loopback with
plaintext authentication allowed (the same for both), one session per run:
LOGIN, SELECT INBOX, and the timed part, FETCH 1:* BODY[]:
  imaplib  through Python's imaplib (a real client; its parsing counts)
  raw      the same command on a raw socket, reading until the tagged OK
           (closer to what the server alone can do)
One warm-up run each (it also sets \\Seen on every message), then
BENCH_REPEATS (default 3) rounds, the two servers taking turns within each
round; the median in messages per second is reported, and
written to bench/imap_results.json. Every run checks that 1,000 bodies of
the right size came back.
"""
import imaplib
import json
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, os.environ.get("SLUICE_BUILD", "build/rel"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
COUNT = int(os.environ.get("BENCH_MESSAGES", "1000"))
SIZE = 4096
USER = "bench@example.test"
PASSWORD = "bench-password-1"
RUN_USER = "sluice"  # both servers keep the mail as this user


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def message(i):
    """A 4,096-byte message with CRLF line ends, different for each i."""
    head = ("From: Sender %d <sender%d@remote.test>\r\n"
            "To: <%s>\r\n"
            "Subject: benchmark message %d\r\n"
            "Date: Mon, 23 Nov 2026 03:00:%02d +0000\r\n"
            "Message-ID: <%d.bench@remote.test>\r\n"
            "\r\n" % (i, i, USER, i, i % 60, i)).encode()
    line = (b"%04d " % i) + b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 \
        + b"\r\n"
    body = b""
    while len(head) + len(body) + len(line) <= SIZE:
        body += line
    pad = SIZE - len(head) - len(body)
    if pad >= 2:
        body += b"x" * (pad - 2) + b"\r\n"
    msg = head + body
    assert len(msg) == SIZE, len(msg)
    return msg


def fill(port, msgs):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(USER, PASSWORD)
    for m in msgs:
        typ, data = c.append("INBOX", None, None, m)
        assert typ == "OK", data
    c.logout()


def run_imaplib(port):
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(USER, PASSWORD)
    typ, data = c.select("INBOX")
    assert typ == "OK" and int(data[0]) == COUNT, data
    t0 = time.perf_counter()
    typ, data = c.fetch("1:*", "(BODY[])")
    t = time.perf_counter() - t0
    bodies = [d[1] for d in data if isinstance(d, tuple)]
    c.logout()
    assert typ == "OK", typ
    assert len(bodies) == COUNT, len(bodies)
    assert all(len(b) == SIZE for b in bodies), "short body"
    return COUNT / t


def run_raw(port):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")

    def cmd(line, tag):
        s.sendall(line)
        out = []
        while True:
            ln = f.readline()
            if not ln:
                raise RuntimeError("connection closed")
            out.append(ln)
            if ln.startswith(tag + b" "):
                assert ln.startswith(tag + b" OK"), ln
                return out
    f.readline()
    cmd(b"l LOGIN %s %s\r\n" % (USER.encode(), PASSWORD.encode()), b"l")
    cmd(b"s SELECT INBOX\r\n", b"s")
    t0 = time.perf_counter()
    s.sendall(b"zz9 FETCH 1:* BODY[]\r\n")
    n = 0
    while True:
        ln = f.readline()
        if not ln:
            raise RuntimeError("connection closed")
        if ln.startswith(b"zz9 "):
            assert ln.startswith(b"zz9 OK"), ln
            break
        if ln.startswith(b"* ") and ln.endswith(b"}\r\n"):
            size = int(ln[ln.rindex(b"{") + 1:-3])
            assert size == SIZE, ln
            got = f.read(size)
            assert len(got) == size
            n += 1
    t = time.perf_counter() - t0
    cmd(b"o LOGOUT\r\n", b"o")
    s.close()
    assert n == COUNT, n
    return COUNT / t


def measure(servers):
    """Warm each server up, then REPEATS rounds in which every server
    runs once with each client, interleaved, so that a change in the
    machine's load falls on both alike."""
    runs = {(n, k): [] for n, _ in servers for k in ("imaplib", "raw")}
    for _, port in servers:
        run_imaplib(port)  # warm-up: caches, and \Seen set everywhere
    for _ in range(REPEATS):
        for name, port in servers:
            runs[(name, "imaplib")].append(run_imaplib(port))
            runs[(name, "raw")].append(run_raw(port))
    res = {}
    for (name, kind), r in sorted(runs.items()):
        res.setdefault(name, {})[kind] = {"median": statistics.median(r),
                                          "runs": r}
        print("  %-8s %-7s %8.0f msg/s  (runs: %s)" % (
            name, kind, statistics.median(r),
            ", ".join("%.0f" % x for x in r)), flush=True)
    return res


# ---- Dovecot ----

DOVECOT_CONF = """\
# private instance for the benchmark: nothing from /etc/dovecot
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/log
info_log_path = {d}/log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def start_dovecot(base, uid, gid):
    d = os.path.join(base, "dovecot")
    for sub in ("run", "state", "home"):
        os.makedirs(os.path.join(d, sub))
    os.chown(os.path.join(d, "home"), uid, gid)
    os.chmod(d, 0o755)
    port = free_port()
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("%s:{PLAIN}%s::::::\n" % (USER, PASSWORD))
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(d=d, uid=uid, gid=gid, port=port))
    p = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port, p)
    return p, port, d


# ---- sluice-store ----

def start_sluice(base):
    d = os.path.join(base, "sluice")
    os.makedirs(os.path.join(d, "mail"))
    os.chmod(d, 0o755)
    ctl = [os.path.join(BIN, "sluicectl"), "-d", os.path.join(d, "dir.db"),
           "-s", os.path.join(d, "users"), "-a",
           os.path.join(d, "users.auth")]
    for args, stdin in ((["domain", "add", "example.test"], None),
                        (["user", "add", USER], None),
                        (["user", "passwd", USER], PASSWORD + "\n")):
        subprocess.run(ctl + args, input=stdin, text=True, check=True,
                       capture_output=True)
    for f in ("users", "users.auth"):
        shutil.chown(os.path.join(d, f), RUN_USER)
    lmtp, imap = free_port(), free_port()
    conf = os.path.join(d, "store.conf")
    with open(conf, "w") as f:
        f.write("lmtp_listen = 127.0.0.1:%d\n"
                "imap_listen = 127.0.0.1:%d\n"
                "hostname = store.example.test\n"
                "directory_file = %s/users\n"
                "credentials_file = %s/users.auth\n"
                "mail_root = %s/mail\n"
                "imaps_listen =\n"
                "pop3_listen =\n"
                "pop3s_listen =\n"
                "tls_cert =\n"
                "plaintext_auth = yes\n"
                "user = %s\n" % (lmtp, imap, d, d, d, RUN_USER))
    p = subprocess.Popen([os.path.join(BIN, "sluice-store"), "-c", conf],
                         cwd=d, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(d, "log"), "w"))
    wait_port(imap, p)
    return p, imap, d


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def main():
    pw = pwd.getpwnam(RUN_USER)
    msgs = [message(i) for i in range(COUNT)]
    base = tempfile.mkdtemp(prefix="sluice-imap-bench-")
    os.chmod(base, 0o755)
    results = {"messages": COUNT, "size": SIZE, "repeats": REPEATS}
    procs = []
    try:
        print("IMAP FETCH 1:* BODY[] of %d messages of %d bytes, plain "
              "IMAP on loopback" % (COUNT, SIZE), flush=True)
        dp, dport, _ = start_dovecot(base, pw.pw_uid, pw.pw_gid)
        procs.append(dp)
        sp, sport, sd = start_sluice(base)
        procs.append(sp)
        for name, port in (("dovecot", dport), ("sluice", sport)):
            t0 = time.perf_counter()
            fill(port, msgs)
            print("  %-8s filled by APPEND in %.1f s" % (
                name, time.perf_counter() - t0), flush=True)
        results.update(measure([("sluice", sport), ("dovecot", dport)]))
        out = subprocess.run(["/usr/sbin/dovecot", "--version"],
                             capture_output=True, text=True).stdout
        results["dovecot_version"] = out.strip()
        with open(os.path.join(ROOT, "bench", "imap_results.json"),
                  "w") as f:
            json.dump(results, f, indent=1)
        for kind in ("imaplib", "raw"):
            s, d = results["sluice"][kind], results["dovecot"][kind]
            print("%-8s sluice %.0f msg/s, dovecot %.0f msg/s (%.2fx)" % (
                kind, s["median"], d["median"], s["median"] / d["median"]))
    finally:
        for p in procs:
            stop(p)
        if os.environ.get("BENCH_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)
        else:
            print("kept", base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
