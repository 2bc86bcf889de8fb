#!/usr/bin/env python3
"""The chaos run of `make chaos` (operations issue #12, item D): the inbound
pipeline mx -> avscan pair (av1 active, av2 backup) -> spamd -> store
under steady load, and one event after the other: SIGKILL of each stage
(restarted 1 s later), av1 playing dead in each mode (4 s), and av1's
queue on a 16 MB tmpfs filled until writes fail (3 s). After each event
it measures the recovery: the time until a message sent after the event
is delivered through the stage again. At the end every message is
counted: accepted (250 at mx), delivered, still queued, lost,
duplicated. Prints one table; exit 1 when a message was lost."""
import os
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import (BUILD, Cluster, messages,  # noqa: E402
                      queue_tool, wait_for)
from test_avscan import avscan  # noqa: E402
from test_spamd import spamd  # noqa: E402

ALICE = "alice@example.test"
HOP_TIMEOUT = 2


class Load:
    """One message every 10 ms through mx; a message counts as accepted
    once mx said 250. Reconnects when mx goes away."""

    def __init__(self, port):
        self.port, self.accepted, self.stop = port, [], threading.Event()
        self.n = 0
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                    while not self.stop.is_set():
                        subj = b"c%d" % self.n
                        self.n += 1
                        try:
                            s.sendmail("carol@remote.test", [ALICE],
                                       b"Subject: " + subj +
                                       b"\r\n\r\nchaos\r\n")
                            self.accepted.append(subj)
                        except smtplib.SMTPResponseException:
                            pass    # 4xx: not accepted, the client retries
                        time.sleep(0.01)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    def end(self):
        self.stop.set()
        self.t.join(30)


def subjects(st):
    return [m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]
            for m in messages(st, ALICE)]


_seen_files = {}


def new_messages(st):
    """The messages of ALICE's Maildir not read by an earlier call."""
    d = os.path.join(st.mail_root, "example.test", "alice", "Maildir",
                     "new")
    out = []
    for name in os.listdir(d) if os.path.isdir(d) else ():
        if name not in _seen_files:
            with open(os.path.join(d, name), "rb") as f:
                _seen_files[name] = f.read(4096)
        out.append(_seen_files[name])
    return out


def note(rows, what, secs):
    rows.append((what, secs))
    print("  %-44s %8.3f s" % (what, secs), flush=True)


def flows(st, load, marker=b"by "):
    """Seconds until a message accepted from now on is delivered (and,
    with marker, carries it)."""
    t0 = time.monotonic()
    start = len(load.accepted)
    wait_for(lambda: len(load.accepted) > start, 30, "mx to accept")

    def seen():
        want = set(load.accepted[start:])
        return any(m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] in want
                   and marker in m for m in new_messages(st))
    wait_for(seen, 60, "mail to flow")
    return time.monotonic() - t0


def queued(d):
    return len(re.findall(r"(?m)^[0-9A-F]{12}", queue_tool(d, "list").stdout))


def main():
    base = tempfile.mkdtemp(prefix="sluice-chaos-")
    os.chmod(base, 0o755)
    cert = (os.path.join(base, "c.pem"), os.path.join(base, "k.pem"))
    cluster = Cluster(base, cert)
    small = os.path.join(base, "small")
    os.makedirs(small)
    tmpfs = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=16m,mode=0755", "tmpfs", small]).returncode == 0
    rows = []
    try:
        st = cluster.store()
        sd = spamd(cluster, st)
        av_extra = {"queue_dir": os.path.join(small, "queue")} if tmpfs \
            else {}
        av1 = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                     extra=dict(av_extra, hostname="av1.example.test"))
        av2 = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                     extra={"hostname": "av2.example.test"})
        mx = cluster.mx(["lmtp:127.0.0.1:%d" % a.port for a in (av1, av2)],
                        tls=False, extra={"timeout": "%ds" % HOP_TIMEOUT})
        load = Load(mx.port)
        flows(st, load)
        for name, d in (("mx", mx), ("avscan av1", av1), ("spamd", sd),
                        ("store", st)):
            d.kill9()
            time.sleep(1.0)
            t0 = time.monotonic()
            d.start()
            note(rows, "kill -9 " + name, time.monotonic() - t0 +
                 flows(st, load))
        for mode in ("refuse", "hang", "421", "slow"):
            args = [mode, "4"] + (["%d" % (2000 * HOP_TIMEOUT)]
                                  if mode == "slow" else [])
            wait_for(lambda: os.path.exists(os.path.join(av1.queue_dir,
                                                         "control")), 10)
            subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                            av1.queue_dir, "play-dead", *args],
                           capture_output=True, check=True)
            over = flows(st, load, b"by av2.example.test")
            time.sleep(max(0.0, 4.0 - over))
            note(rows, "play-dead %s av1: failover" % mode, over)
            note(rows, "play-dead %s av1: back" % mode,
                 flows(st, load, b"by av1.example.test"))
        if tmpfs:
            filler = os.path.join(small, "filler")
            subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"],
                           capture_output=True)
            time.sleep(3.0)
            full452 = "452 4.3.1" in mx.log()
            os.unlink(filler)
            note(rows, "disk full av1 queue (452 seen: %s)" %
                 ("yes" if full452 else "no"),
                 flows(st, load, b"by av1.example.test"))
        load.end()
        accepted = list(load.accepted)
        try:
            wait_for(lambda: set(accepted) <= set(subjects(st)), 90,
                     "every accepted message")
        except AssertionError:
            pass
        got = subjects(st)
        still = sum(queued(d) for d in (mx, av1, av2, sd))
        lost = len(set(accepted) - set(got))
        dup = len(got) - len(set(got))
    finally:
        try:
            cluster.stop_all()
        except AssertionError as e:
            print("stop: %s" % str(e)[:2000])
        if tmpfs:
            subprocess.run(["umount", "-l", small])
    print("\n%-44s %10s" % ("event", "recovery"))
    for what, secs in rows:
        print("%-44s %8.3f s" % (what, secs))
    print("\nmessages: %d accepted, %d delivered (%d distinct), %d still "
          "queued, %d lost, %d duplicated" % (len(accepted), len(got),
                                              len(set(got)), still, lost,
                                              dup))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
