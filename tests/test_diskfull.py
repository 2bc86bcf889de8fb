"""A full disk under a stage's queue (operations issue #12, item D):
clients get 452 4.3.1 (RFC 3463: mail system full), never a 250 for mail
that is not on disk, and every message that got its 250 is delivered once
the stage can pass it on. The queue is a 2 MB tmpfs (mount needs root:
skipped where it cannot be made)."""
import os
import re
import smtplib
import subprocess

import pytest

from conftest import free_port, messages, queue_tool, wait_for

ALICE = "alice@example.test"


@pytest.fixture
def small_disk(cluster):
    d = os.path.join(cluster.base, "small")
    os.makedirs(d)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755",
                        "tmpfs", d], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.strip())
    yield d
    # lazily: the stage may still hold its files until the cluster stops
    subprocess.run(["umount", "-l", d], capture_output=True)


def test_disk_full_is_452_431_and_nothing_lost(cluster, small_disk):
    queue = os.path.join(small_disk, "queue")
    os.makedirs(queue)
    os.chmod(queue, 0o777)
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % free_port()], tls=False,
                    extra={"queue_dir": queue, "retry_min": "1h",
                           "retry_max": "1h", "max_message_size": "1m"})
    body = b"Subject: %d\r\n\r\n" + (b"x" * 998 + b"\r\n") * 200
    accepted, full = [], None
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=20) as s:
        for i in range(40):
            try:
                s.sendmail("carol@remote.test", [ALICE], body % i)
                accepted.append(b"%d" % i)
            except smtplib.SMTPDataError as e:
                full = e
                break
        assert full is not None, "2 MB never filled up"
        assert full.smtp_code == 452, full
        assert full.smtp_error.startswith(b"4.3.1"), full
        # the session goes on: a small message may still fit later
        assert s.noop()[0] == 250
    assert accepted, "nothing was accepted before the disk filled"
    listed = queue_tool(mx, "list").stdout
    assert len(re.findall(r"(?m)^[0-9A-F]{12}", listed)) == len(accepted), \
        listed
    # room again: the queue drains to a store, every accepted message
    st = cluster.store()
    conf = open(mx.conf).read()
    conf = re.sub(r"(?m)^next_hop = .*$", "next_hop = lmtp:127.0.0.1:%d" %
                  st.port, conf)
    open(mx.conf, "w").write(conf)
    assert "reloaded" in queue_tool(mx, "reload").stdout
    wait_for(lambda: len(messages(st, ALICE)) >= len(accepted), 20,
             "every accepted message")
    got = sorted(m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]
                 for m in messages(st, ALICE))
    assert got == sorted(accepted)
