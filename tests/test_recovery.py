"""Fast, honest recovery (operations issue #12, item 1): a next hop that
refuses or drops connections is probed again within a second, and when it
answers the mail that waited for it goes at once, for the next stage and
for a pair's backup alike, with the stock hop_down_time and retry_min
(60 s each). Mail deferred by a 4xx reply keeps its own retry schedule.

Each test prints what it measured (pytest -s shows it).
"""
import smtplib
import socket
import threading
import time

from conftest import free_port, messages, port_open, wait_for, queue_tool
from receiver import Receiver

ALICE = "alice@example.test"
# the stock timers (conftest's mx shortens them for other tests)
STOCK = {"hop_down_time": "60s", "retry_min": "60s", "retry_max": "1h"}


def mx_to(cluster, hops, extra=None):
    conf = dict(STOCK)
    conf.update(extra or {})
    return cluster.mx(hops, extra=conf)


def send(mx, subject, rcpts=(ALICE,)):
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=30) as s:
        s.sendmail("someone@remote.test", list(rcpts),
                   ("From: someone@remote.test\r\nSubject: %s\r\n\r\n"
                    "body\r\n" % subject).encode())


def listening_at(port, host="127.0.0.1"):
    """A thread that records when host:port starts listening
    (time.monotonic() in the returned list's first slot)."""
    out = []

    def poll():
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                with socket.create_connection((host, port), 0.2):
                    out.append(time.monotonic())
                    return
            except OSError:
                time.sleep(0.002)
    t = threading.Thread(target=poll, daemon=True)
    t.start()
    return out, t


class Load:
    """Messages to mx without pause, one SMTP session, until stopped."""

    def __init__(self, mx):
        self.mx, self.sent, self.stopped = mx, 0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        with smtplib.SMTP("127.0.0.1", self.mx.port, timeout=30) as s:
            while not self.stopped:
                s.sendmail("someone@remote.test", [ALICE],
                           b"Subject: load %d\r\n\r\nbody\r\n" % self.sent)
                self.sent += 1
                time.sleep(0.01)

    def stop(self):
        self.stopped = True
        self.t.join(30)
        return self.sent


def first_after(pred, start, timeout=20.0):
    """Seconds from start until pred() holds."""
    wait_for(pred, timeout, "mail to move")
    return time.monotonic() - start


def test_down_hop_probed_mail_goes_when_it_listens(cluster):
    # mx starts before its next hop listens (make run's order): the mail
    # must not wait hop_down_time or retry_min
    port = free_port()
    mx = mx_to(cluster, ["lmtp:127.0.0.1:%d" % port])
    send(mx, "early")
    wait_for(lambda: "status=deferred" in mx.log(), what="a deferral")
    time.sleep(2.5)   # the probe interval has reached its maximum
    up, t = listening_at(port)
    st = cluster.store(port=port)
    t.join()
    dt = first_after(lambda: messages(st, ALICE), up[0])
    print("\nhop back -> message delivered: %.3f s" % dt)
    assert dt < 1.0, dt
    assert "down, probing it" in mx.log() and "up again" in mx.log()
    wait_for(lambda: "-- 0 message(s)" in queue_tool(mx, "list").stdout)


def test_stage_killed_and_restarted_under_load(cluster):
    st = cluster.store()
    mx = mx_to(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    load = Load(mx)
    wait_for(lambda: len(messages(st, ALICE)) >= 20, what="mail flowing")
    st.kill9()
    killed = len(messages(st, ALICE))
    time.sleep(2.0)   # a backlog builds at mx, probes back off
    backlog = load.sent - killed
    up, t = listening_at(st.port)
    st.start()
    t.join()
    dt = first_after(lambda: len(messages(st, ALICE)) > killed, up[0])
    sent = load.stop()
    print("\nbacklog of ~%d: first message %.3f s after the restarted "
          "stage listened" % (backlog, dt))
    assert backlog > 10
    assert dt < 1.0, dt
    # nothing lost (a duplicate is possible in the kill -9 window)
    wait_for(lambda: len(messages(st, ALICE)) >= sent, 30,
             "every message")


def test_pair_fails_over_and_comes_back(cluster):
    primary = cluster.store()
    backup = cluster.store()
    mx = mx_to(cluster, ["lmtp:127.0.0.1:%d" % primary.port,
                         "lmtp:127.0.0.1:%d" % backup.port])
    load = Load(mx)
    wait_for(lambda: len(messages(primary, ALICE)) >= 10,
             what="mail at the primary")
    assert messages(backup, ALICE) == []
    killed = time.monotonic()
    primary.kill9()
    at_primary = len(messages(primary, ALICE))
    over = first_after(lambda: messages(backup, ALICE), killed)
    time.sleep(2.0)   # down for a while: the probes have backed off
    up, t = listening_at(primary.port)
    primary.start()
    t.join()
    back = first_after(lambda: len(messages(primary, ALICE)) > at_primary,
                       up[0])
    n_backup = len(messages(backup, ALICE))
    time.sleep(0.5)
    sent = load.stop()
    print("\npair: backup takes over %.3f s after kill -9 of the primary; "
          "mail returns %.3f s after it listens again" % (over, back))
    assert over < 1.0, over
    assert back < 1.0, back
    # the primary has it all again: the backup got no more than what
    # was already on its way
    assert len(messages(backup, ALICE)) <= n_backup + 2
    wait_for(lambda: len(messages(primary, ALICE)) +
             len(messages(backup, ALICE)) >= sent, 30, "every message")


def test_4xx_keeps_its_retry_schedule(cluster):
    """A message a hop answered 451 is not woken when a down hop comes
    back; one that only waited for the down hop goes at once."""
    port = free_port()
    rx = Receiver("127.0.0.1", port)
    mx = mx_to(cluster, ["smtp:127.0.0.1:%d" % port])
    rx.script = ["451 4.3.0 try later"]
    send(mx, "told to wait")
    wait_for(lambda: "status=deferred" in mx.log(), what="the 451")
    rx.stop()
    # the connection mx kept idle is cut: the next message fails over
    # to nothing, and waits for the hop only
    time.sleep(0.2)
    send(mx, "waits for the hop")
    wait_for(lambda: "down, probing it" in mx.log(), what="the hop down")
    time.sleep(1.0)
    up = time.monotonic()
    rx = Receiver("127.0.0.1", port)
    try:
        dt = first_after(lambda: rx.messages, up)
        time.sleep(1.5)
        subjects = [m[2] for m in rx.messages]
        print("\nhop back -> waiting message delivered: %.3f s" % dt)
        assert dt < 1.0, dt
        assert len(subjects) == 1 and b"Subject: waits for the hop" in \
            subjects[0], subjects
        # the 451'd one is still queued, attempts 1, its retry ~60 s out
        lst = queue_tool(mx, "list").stdout
        assert "-- 1 message(s)" in lst, lst
        assert "451 4.3.0 try later" in lst
    finally:
        rx.stop()
