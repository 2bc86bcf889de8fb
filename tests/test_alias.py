"""Aliases with remote targets, end to end.

sluicectl adds aliases whose targets are in other domains; the snapshot
carries them ('>address'); mx (with alias_relay) and msa add them to the
envelope where the mail enters, and outmta delivers them to a real
receiving peer (tests/receiver.py) standing in for the remote domain,
while the store delivers the local targets.
"""
import os
import smtplib
import subprocess

import pytest

from conftest import BUILD, free_port, messages, wait_for, wait_messages
from receiver import Receiver
from test_msa import World, msg


class Ctl:
    def __init__(self, d):
        self.db = os.path.join(d, "directory.db")
        self.snap = os.path.join(d, "snapshot")

    def __call__(self, *args, ok=True):
        r = subprocess.run([os.path.join(BUILD, "sluicectl"), "-d",
                            self.db, "-s", self.snap, *args],
                           capture_output=True, text=True)
        if ok:
            assert r.returncode == 0, r.stderr
        return r


@pytest.fixture
def remote(cluster):
    """A receiver for the 'Internet' and an outmta whose next hop it is."""
    rx = Receiver("127.0.0.1", free_port())
    om = cluster.outmta({"next_hop": "smtp:127.0.0.1:%d" %
                         rx.server.server_address[1],
                         "retry_min": "1s", "retry_max": "1s",
                         "hop_down_time": "1s"})
    yield om, rx
    rx.stop()


def directory(cluster):
    d = os.path.join(cluster.base, "dir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    ctl("user", "add", "bob@example.test")
    ctl("alias", "add", "far@example.test", "Carol@Remote.test")
    ctl("alias", "add", "both@example.test", "alice@example.test",
        "dave@remote.test")
    os.chmod(ctl.snap, 0o644)
    return ctl


def send(port, rcpts, subject):
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail("someone@sender.test", rcpts,
                   "From: someone@sender.test\r\nSubject: %s\r\n\r\n"
                   "hello\r\n" % subject)


def got(rx, subject):
    """Envelope recipients of the receiver's messages with subject."""
    return [sorted(r) for _, r, data in list(rx.messages)
            if ("Subject: %s\r\n" % subject).encode() in data]


def test_sluicectl_targets(cluster):
    ctl = directory(cluster)
    snap = open(ctl.snap).read()
    assert "far@example.test: >carol@remote.test\n" in snap, snap
    assert ("both@example.test: alice@example.test, >dave@remote.test\n"
            in snap), snap
    # in one of our domains a target must be a mailbox, as before
    r = ctl("alias", "add", "x@example.test", "nobody@example.test",
            ok=False)
    assert r.returncode != 0 and "not a local mailbox" in r.stderr
    for bad in (">y@remote.test", "y@remote..test", "y", "y@re mote.test"):
        r = ctl("alias", "add", "x@example.test", bad, ok=False)
        assert r.returncode != 0, bad
    # lists stay local
    r = ctl("list", "add", "l@example.test", "y@remote.test", ok=False)
    assert r.returncode != 0
    assert "x@example.test" not in open(ctl.snap).read()
    ctl("alias", "del", "far@example.test")
    assert "far@" not in open(ctl.snap).read()


def test_mx_alias_to_remote_and_local(cluster, remote):
    om, rx = remote
    ctl = directory(cluster)
    st = cluster.store(extra={"directory_file": ctl.snap})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"directory_file": ctl.snap,
                           "alias_relay": "smtp:127.0.0.1:%d" % om.port})
    send(mx.port, ["far@example.test"], "remote only")
    wait_for(lambda: got(rx, "remote only"), 30, "remote delivery")
    assert got(rx, "remote only") == [[b"<carol@remote.test>"]]
    assert ("alias=<far@example.test> expanded to=<carol@remote.test>"
            in mx.log())
    send(mx.port, ["both@example.test", "bob@example.test"], "mixed")
    wait_for(lambda: got(rx, "mixed"), 30, "remote delivery")
    assert got(rx, "mixed") == [[b"<dave@remote.test>"]]
    wait_messages(st, "alice@example.test", 1)
    wait_messages(st, "bob@example.test", 1)
    assert b"Subject: mixed" in messages(st, "alice@example.test")[0]
    # the remote target went out through outmta, with mx's trace
    data = [d for _, _, d in rx.messages if b"Subject: mixed" in d][0]
    assert b"by out.example.test" in data and b"by mx.example.test" in data
    assert messages(st, "far@example.test") == []


def test_mx_without_alias_relay(cluster, remote):
    om, rx = remote
    ctl = directory(cluster)
    st = cluster.store(extra={"directory_file": ctl.snap})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port],
                    extra={"directory_file": ctl.snap})
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.ehlo("client.sender.test")
        s.mail("someone@sender.test")
        code, text = s.rcpt("far@example.test")
        assert code == 550 and text.startswith(b"5.1.1"), text
    send(mx.port, ["both@example.test"], "local part")
    send(mx.port, ["both@example.test"], "local part 2")
    wait_messages(st, "alice@example.test", 2)
    assert mx.log().count("alias_relay is not set") == 1
    assert rx.messages == []


def test_msa_alias_to_remote_and_local(cluster, remote):
    om, rx = remote
    w = World(cluster, {"next_hop": "smtp:127.0.0.1:%d" % om.port})
    w.ctl("alias", "add", "far@example.test", "carol@remote.test")
    w.ctl("alias", "add", "both@example.test", "bob@example.test",
          "dave@remote.test")
    wait_for(lambda: "far@example.test: >carol@remote.test" in
             open(w.snap).read(), what="snapshot")
    s = w.smtp("alice@example.test")
    s.sendmail("alice@example.test", ["far@example.test"],
               msg("alice@example.test", "far@example.test", "sub far"))
    s.sendmail("alice@example.test", ["both@example.test"],
               msg("alice@example.test", "both@example.test", "sub both"))
    s.quit()
    wait_for(lambda: got(rx, "sub far") and got(rx, "sub both"), 30,
             "remote deliveries")
    assert got(rx, "sub far") == [[b"<carol@remote.test>"]]
    assert got(rx, "sub both") == [[b"<dave@remote.test>"]]
    wait_messages(w.store, "bob@example.test", 1)
    assert b"Subject: sub both" in messages(w.store, "bob@example.test")[0]
    assert ("alias=<both@example.test> expanded to=<dave@remote.test>"
            in w.msa.log())
