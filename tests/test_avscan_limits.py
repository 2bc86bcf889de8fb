"""avscan: a scan libclamav cut short at a limit is never "clean".

Archive bombs made here with zipfile/tarfile, sent over real LMTP into a
real sluice-avscan (and through its milter mode with a raw milter
client): EICAR below 25 nested zips, EICAR after 10,001 empty members, a
high-ratio member, and every file of Debian's clamav-testfiles wrapped the
same ways. limits_exceeded_action decides what happens to them.
"""
import io
import os
import tarfile
import zipfile

import pytest

from conftest import lmtp_send, messages, wait_messages
from test_avscan import ALICE, BOB, CLEAN, EICAR, TESTFILES, avscan, \
    mime_attachment, quarantined, replies_to_testfiles
from milter_client import Milter


def nested_zip(data, name, depth):
    """data as name inside depth zips, one in the other."""
    for i in range(depth):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(name, data)
        data, name = b.getvalue(), "level%d.zip" % (depth - i)
    return data


def many_members(data, name, n=10001):
    """A zip of n empty members, then data as name (deflated: stored,
    EICAR would show through the zip itself)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            z.writestr("empty%05d" % i, b"")
        z.writestr(name, data)
    return b.getvalue()


def high_ratio(data, name, size=64 << 20):
    """A tar.gz of one member, name: size zero bytes (~1000:1), then
    data at its end, past max_file_size."""
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w:gz", compresslevel=9) as t:
        info = tarfile.TarInfo(name)
        info.size = size + len(data)

        class Zeros(io.RawIOBase):
            left = size

            def readinto(self, buf):
                n = min(len(buf), self.left)
                buf[:n] = bytes(n)
                self.left -= n
                return n
        t.addfile(info, _Cat(Zeros(), io.BytesIO(data)))
    return b.getvalue()


class _Cat(io.RawIOBase):
    """Two readers, one after the other."""

    def __init__(self, a, b):
        self.parts = [a, b]

    def readinto(self, buf):
        while self.parts:
            n = self.parts[0].readinto(buf)
            if n:
                return n
            self.parts.pop(0)
        return 0

    def read(self, n=-1):
        buf = bytearray(n if n >= 0 else 1 << 20)
        got = self.readinto(buf)
        return bytes(buf[:got])


BOMBS = {
    "nested25.zip": lambda d, n: nested_zip(d, n, 25),
    "many10001.zip": many_members,
    "ratio.tar.gz": high_ratio,
}
@pytest.fixture(scope="module")
def bombs():
    return {k: f(EICAR, "eicar.com") for k, f in BOMBS.items()}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_bomb_never_clean_default_quarantine(cluster, bombs, bomb):
    """The default (quarantine): kept, not delivered, logged as the
    limit libclamav reported."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    r = lmtp_send(av.port, [ALICE, BOB],
                  mime_attachment(bomb, bombs[bomb], bomb))
    assert [c for c, _ in r] == [250, 250], r
    assert all("quarantined" in t for _, t in r), r
    log = av.log()
    assert ", clean," not in log, log
    assert len(quarantined(av)) == 1, log
    assert "Heuristics.Limits.Exceeded." in log or \
        "virus=Sluice.Test.EICAR" in log, log
    # a clean message after it goes through, the bomb never did
    assert lmtp_send(av.port, [ALICE], CLEAN)[0][0] == 250
    got = wait_messages(st, ALICE, 1)
    assert len(got) == 1 and b"EICAR" not in got[0]
    assert messages(st, BOB) == []


@pytest.mark.parametrize("action,code", [("reject", 550),
                                         ("tempfail", 451)])
def test_limits_exceeded_action(cluster, action, code):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"limits_exceeded_action": action})
    # no virus at all, only a depth past max_recursion
    msg = mime_attachment("deep.zip", nested_zip(b"harmless", "a.txt", 25))
    r = lmtp_send(av.port, [ALICE], msg)
    assert r[0][0] == code, r
    log = av.log()
    assert "Heuristics.Limits.Exceeded.MaxRecursion" in log, log
    assert ", clean," not in log
    assert quarantined(av) == []
    assert messages(st, ALICE) == []


def test_limits_exceeded_accept_marked(cluster):
    """accept: passed on, but marked as not fully scanned."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"limits_exceeded_action": "accept"})
    msg = mime_attachment("deep.zip", nested_zip(b"harmless", "a.txt", 25))
    assert lmtp_send(av.port, [ALICE], msg)[0][0] == 250
    got = wait_messages(st, ALICE, 1)[0]
    head = got.split(b"\r\n\r\n", 1)[0]
    assert b"X-Sluice-Virus: unchecked (" in head, head
    assert b"X-Sluice-Virus: clean" not in head
    assert "limits exceeded" in av.log()


# the clamav-testfiles sweep wraps 44 files each: the many-member case
# runs against max_files = 200 (the same limit, a tenth of the time)
SWEEP = {
    "nested25.zip": ({}, lambda d, n: nested_zip(d, n, 25)),
    "many201.zip": ({"max_files": "200"},
                    lambda d, n: many_members(d, n, 201)),
}


@pytest.mark.parametrize("kind", sorted(SWEEP))
def test_every_clamav_testfile_in_bomb_not_clean(cluster, kind):
    """Each clamav-testfiles file below 25 zips, or after more empty
    members than max_files: infected or past a limit, never clean."""
    if not os.path.isdir(TESTFILES):
        pytest.skip("clamav-testfiles is not installed")
    extra, wrap = SWEEP[kind]
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                dict(extra, infected_action="reject",
                     limits_exceeded_action="reject"))
    replies = replies_to_testfiles(av, wrap, kind)
    passed = [(n, r) for n, r in replies if r[0] != 550]
    assert not passed, passed
    log = av.log()
    assert ", clean," not in log
    assert log.count("action=rejected") == len(replies)
    assert messages(st, ALICE) == []


def test_scan_time_limit(cluster):
    """A zip libclamav takes seconds over (10,001 stored empty members)
    against max_scan_time = 1s: past a limit, not clean."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"max_scan_time": "1s", "limits_exceeded_action": "reject"})
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        for i in range(10001):
            z.writestr("empty%05d" % i, b"")
        z.writestr("a.txt", b"harmless")
    r = lmtp_send(av.port, [ALICE], mime_attachment("slow.zip",
                                                    b.getvalue()))
    assert r[0][0] == 550, r
    assert "MaxScanTime" in av.log() or "Time limit" in av.log(), av.log()


def test_milter_bombs_not_clean(cluster, bombs):
    """The milter mode shares the scan core: a bomb is never marked
    clean; quarantine asks the MTA to hold the message."""
    av = avscan(cluster, [], milter=True)
    for name, data in sorted(bombs.items()):
        m = Milter(av.milter_port)
        acts = m.message("carol@remote.test", [ALICE],
                         mime_attachment(name, data, name))
        m.close()
        assert acts[-1][0] in ("c", "a"), (name, acts)
        assert any(a == "q" for a, _ in acts), (name, acts)
        assert not any(a == "h" and b"clean" in v for a, v in acts), acts
    log = av.log()
    assert "milter: clean" not in log, log
    assert log.count("action=held") == len(bombs), log
