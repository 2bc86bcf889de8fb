"""The milter modes of avscan and spamd bound what a peer can hold.

A raw milter-protocol client (tests/milter_client.py) against real
sluice-avscan -m and sluice-spamd -m: past max_sessions connections at
once the next one is tempfailed at connect; avscan keeps at most 1 MiB of
a message in memory per connection (the rest waits in an unlinked file
of scan_tmp_dir) and still scans it whole.
"""
import base64
import os

from conftest import wait_for
from milter_client import Milter
from test_avscan import ALICE, EICAR, avscan
from test_spamd import spamd


def session_cap(dm, port):
    held = [Milter(port) for _ in range(2)]
    try:
        for m in held:
            assert m.connect()[0] == "c"
        extra = Milter(port)
        assert extra.connect()[0] == "t"
        extra.close()
        held.pop().close()
        # a place is free again once the session ended
        m = wait_for(lambda: _connects(port), what="a free session")
        m.close()
    finally:
        for m in held:
            m.close()
    assert "max_sessions (2) reached: tempfail" in dm.log()


def _connects(port):
    m = Milter(port)
    if m.connect()[0] == "c":
        return m
    m.close()
    return None


def test_avscan_milter_session_cap(cluster):
    av = avscan(cluster, [], {"max_sessions": "2"}, milter=True)
    session_cap(av, av.milter_port)


def test_spamd_milter_session_cap(cluster):
    sd = spamd(cluster, extra={"max_sessions": "2"}, milter=True)
    session_cap(sd, sd.port)


def spilled(pid, tmp):
    """The unlinked files of tmp the process holds open: (path, size)."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            size = os.stat("/proc/%d/fd/%s" % (pid, fd)).st_size
        except OSError:
            continue
        if target.startswith(tmp + "/") and target.endswith(" (deleted)"):
            out.append((target, size))
    return out


def big_message(tail, mb):
    """A message with an mb MiB base64 attachment that ends in tail."""
    data = bytes(mb << 20) + tail
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"From: carol@remote.test\r\nSubject: big\r\nMIME-Version: 1.0"
            b"\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 +
            b"--b--\r\n")


def test_avscan_milter_buffers_bounded(cluster):
    """Six connections each with 12 MiB of message sent, end of message
    not yet: each waits in an unlinked file of scan_tmp_dir, not in
    memory; then each is scanned whole (EICAR at the very end)."""
    av = avscan(cluster, [], {"max_message_size": "64m"}, milter=True)
    tmp = os.path.join(av.workdir, "var", "avscan", "tmp")
    clean, bad = big_message(b"harmless", 9), big_message(EICAR, 9)
    conns = [Milter(av.milter_port, timeout=60) for _ in range(6)]
    try:
        for i, m in enumerate(conns):
            m.begin("carol@remote.test", [ALICE], bad if i % 2 else clean)
        files = wait_for(lambda: [f for f in spilled(av.proc.pid, tmp)
                                  if f[1] > len(clean) - (1 << 20)],
                         what="the messages in files")
        assert len(files) == 6, files
        assert os.listdir(tmp) == []
        for i, m in enumerate(conns):
            acts = m.end()
            if i % 2:
                assert acts[-1][0] == "y" and b"554" in acts[-1][1] and \
                    b"Sluice.Test.EICAR" in acts[-1][1], acts
            else:
                assert ("h", b"X-Sluice-Virus\0clean") in [
                    (a, v[:20]) for a, v in acts], acts
    finally:
        for m in conns:
            m.close()
