"""Play-dead drills (operations issue #12, item B): an avscan of an
active-backup pair is told over its control socket to play dead in each
of the ways real servers fail (refuse, hang, 421, slow) for a few
seconds; mail reaches the store through the backup, and comes back
through the primary by itself when the time is over. Prints, per mode,
the time for mail to flow through the backup and the time to come back.
The hop timeout of mx is 2 s here: hang and slow (answers 4 s late)
are noticed only when it expires."""
import os
import smtplib
import subprocess
import threading
import time

import pytest

from conftest import BUILD, messages, wait_for
from test_avscan import avscan

ALICE = "alice@example.test"
DEAD_FOR = 4.0
HOP_TIMEOUT = 2


def via(st, name):
    return [m for m in messages(st, ALICE)
            if b"by %s.example.test" % name.encode() in m]


def control_ready(d):
    sock = os.path.join(d.queue_dir, "control")
    wait_for(lambda: os.path.exists(sock), 10, "the control socket")


def play_dead(d, *args):
    control_ready(d)
    r = subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                        d.queue_dir, "play-dead", *args],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r
    return r.stdout


def pair(cluster):
    st = cluster.store()
    avs = [avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                  extra={"hostname": "%s.example.test" % n})
           for n in ("av1", "av2")]
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % a.port for a in avs], tls=False,
                    extra={"timeout": "%ds" % HOP_TIMEOUT})
    return st, avs, mx


def drill(cluster, mode):
    """Failover and return times of one play-dead of the primary, and
    the messages sent, delivered and duplicated."""
    st, (primary, backup), mx = pair(cluster)
    sent = []
    stop = threading.Event()

    def load():
        with smtplib.SMTP("127.0.0.1", mx.port, timeout=30) as s:
            while not stop.is_set():
                subj = b"m%d" % len(sent)
                s.sendmail("carol@remote.test", [ALICE],
                           b"Subject: " + subj + b"\r\n\r\nhello\r\n")
                sent.append(subj)
                time.sleep(0.02)
    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        wait_for(lambda: via(st, "av1"), 20, "mail through the primary")
        args = [mode, "%d" % DEAD_FOR]
        if mode == "slow":
            args.append("%d" % (2000 * HOP_TIMEOUT))
        t0 = time.monotonic()
        assert "playing dead" in play_dead(primary, *args)
        wait_for(lambda: via(st, "av2"), 20, "mail through the backup")
        over = time.monotonic() - t0
        wait_for(lambda: "back to life" in primary.log(), 20,
                 "the primary to come back")
        back_at = t0 + DEAD_FOR
        n1 = len(via(st, "av1"))
        wait_for(lambda: len(via(st, "av1")) > n1, 20,
                 "mail through the primary again")
        back = time.monotonic() - back_at
    finally:
        stop.set()
        t.join(30)
    wait_for(lambda: len(messages(st, ALICE)) >= len(sent), 40,
             "every message")
    got = [m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]
           for m in messages(st, ALICE)]
    lost = set(sent) - set(got)
    dup = len(got) - len(set(got))
    print("\nplay-dead %s: backup carries mail %.3f s after the primary "
          "plays dead; mail returns %.3f s after it is back; %d sent, %d "
          "lost, %d duplicated" % (mode, over, back, len(sent), len(lost),
                                   dup))
    return over, back, lost, dup, primary, backup


@pytest.mark.parametrize("mode", ["refuse", "hang", "421", "slow"])
def test_backup_takes_over_and_primary_comes_back(cluster, mode):
    over, back, lost, dup, primary, backup = drill(cluster, mode)
    assert not lost, lost
    # refused and 421 are seen at once; hang and slow at the hop timeout
    assert over < (1.5 if mode in ("refuse", "421") else HOP_TIMEOUT + 2)
    assert back < 2.0 + (HOP_TIMEOUT if mode == "slow" else 0), back
    assert primary.proc.poll() is None and backup.proc.poll() is None


def test_play_dead_usage_and_end(cluster):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    control_ready(av)
    r = subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                        av.queue_dir, "play-dead", "sleepy", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "usage" in r.stdout
    play_dead(av, "refuse", "60")
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", av.port, timeout=5)
    assert "alive" in play_dead(av, "none")
    with smtplib.LMTP("127.0.0.1", av.port, timeout=5) as s:
        assert s.noop()[0] == 250
