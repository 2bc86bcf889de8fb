"""Each stage on its own "host" (operations issue #12, item 3), as the
deployment guide in README.md lays them out: separate loopback addresses
127.0.0.x, the same port on each, separate state directories, stock
timers. Inbound mx -> avscan pair (active-backup) -> spamd -> store; kill
-9 of the primary avscan sends mail through the backup within 1 s, and
its return brings the mail back within 1 s.

(On loopback every connection comes from 127.0.0.1, so trusted_peers
names that; on real hosts it names the previous stage's addresses.)
"""
import os
import smtplib
import socket
import threading
import time

from conftest import (BUILD, Daemon, free_port, messages, wait_for,
                      write_conf)
from test_avscan import CLAMDB
from test_recovery import listening_at

HOSTS = {"mx": 41, "av1": 42, "av2": 43, "spamd": 44, "store": 45}
ALICE = "alice@example.test"


def ip(name):
    return "127.0.0.%d" % HOSTS[name]


def common_port():
    """A port free on every host address."""
    for _ in range(50):
        p = free_port()
        try:
            for name in HOSTS:
                with socket.socket() as s:
                    s.bind((ip(name), p))
            return p
        except OSError:
            continue
    raise AssertionError("no port free on every host")


def host(cluster, name, binary, conf, port, files=None):
    d = cluster._dir(name)
    for fname, text in (files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(text)
    conf = {k: v.replace("@DIR@", d) for k, v in conf.items()}
    path = os.path.join(d, name + ".conf")
    write_conf(path, conf)
    dm = Daemon(name, os.path.join(BUILD, binary), path, d, port)
    dm.host = ip(name)
    dm.mail_root = os.path.join(d, "mail")
    cluster.daemons.append(dm)
    return dm.start()


def inbox(store):
    return messages(store, ALICE)


def via(store, av):
    return [m for m in inbox(store) if b"by %s.example.test" % av.encode()
            in m]


def test_stages_on_their_own_hosts_and_a_pair_failover(cluster):
    p = common_port()
    hop = lambda name: "lmtp:%s:%d" % (ip(name), p)  # noqa: E731
    st = host(cluster, "store", "sluice-store", {
        "lmtp_listen": "%s:%d" % (ip("store"), p),
        "hostname": "store.example.test",
        "directory_file": "@DIR@/users", "mail_root": "@DIR@/mail",
        "user": "sluice", "imap_listen": "", "imaps_listen": "",
        "pop3_listen": "", "pop3s_listen": ""}, p,
        files={"users": ALICE + "\n"})
    sd = host(cluster, "spamd", "sluice-spamd", {
        "listen": "%s:%d" % (ip("spamd"), p),
        "milter_listen": "%s:%d" % (ip("spamd"), free_port()),
        "hostname": "spamd.example.test", "next_hop": hop("store"),
        "domain_routes": "", "trusted_peers": "127.0.0.1",
        "queue_dir": "@DIR@/queue", "quarantine_dir": "@DIR@/quarantine",
        "bayes_db": "@DIR@/bayes.db", "user": "sluice"}, p)
    avs = [host(cluster, name, "sluice-avscan", {
        "listen": "%s:%d" % (ip(name), p),
        "milter_listen": "%s:%d" % (ip(name), free_port()),
        "hostname": "%s.example.test" % name, "next_hop": hop("spamd"),
        "trusted_peers": "127.0.0.1", "clamav_database": CLAMDB,
        "queue_dir": "@DIR@/queue", "quarantine_dir": "@DIR@/quarantine",
        "user": "sluice"}, p) for name in ("av1", "av2")]
    mx = host(cluster, "mx", "sluice-mx", {
        "listen": "%s:%d" % (ip("mx"), p), "hostname": "mx.example.test",
        "local_domains": "example.test",
        "next_hop": "%s, %s" % (hop("av1"), hop("av2")),
        "queue_dir": "@DIR@/queue", "user": "sluice", "tls_cert": "",
        "tls_key": ""}, p)
    primary, backup = avs

    sent = [0]
    stop = threading.Event()

    def load():
        with smtplib.SMTP(ip("mx"), p, timeout=30) as s:
            while not stop.is_set():
                s.sendmail("carol@remote.test", [ALICE],
                           b"Subject: m%d\r\n\r\nhello\r\n" % sent[0])
                sent[0] += 1
                time.sleep(0.02)
    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        # the whole flow, through the primary
        got = wait_for(lambda: via(st, "av1"), 20, "mail through av1")[0]
        for stage in (b"by spamd.example.test", b"by av1.example.test",
                      b"by mx.example.test"):
            assert stage in got, got[:2000]
        assert b"X-Sluice-Virus: clean" in got and b"X-Spam-Status:" in got
        assert via(st, "av2") == []
        # kill -9 the primary: the backup within 1 s
        killed = time.monotonic()
        primary.kill9()
        wait_for(lambda: via(st, "av2"), 10, "mail through av2")
        over = time.monotonic() - killed
        time.sleep(2.0)
        n1 = len(via(st, "av1"))
        up, poll = listening_at(p, ip("av1"))
        primary.start()
        poll.join()
        back_at = up[0]
        wait_for(lambda: len(via(st, "av1")) > n1, 10, "mail through av1")
        back = time.monotonic() - back_at
    finally:
        stop.set()
        t.join(30)
    print("\nhosts: backup avscan carries mail %.3f s after kill -9 of the "
          "primary; mail returns %.3f s after the primary listens" %
          (over, back))
    assert over < 1.0, over
    assert back < 1.0, back
    wait_for(lambda: len(inbox(st)) >= sent[0], 30, "every message")
    assert sd.proc.poll() is None and backup.proc.poll() is None
    assert mx.proc.poll() is None
