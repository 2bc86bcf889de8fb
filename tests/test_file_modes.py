"""Files that hold secrets are private to their owner.

The directory database (scrypt hashes, SCRAM secrets) and the files
SQLite keeps beside it, the credentials snapshot, DKIM keys, quarantined
and queued mail: each made by the real program that makes it, then its
st_mode checked. A DKIM key at 0600 must still serve an outmta started as
root that drops to its user.
"""
import os
import sqlite3
import stat
import subprocess

from conftest import BUILD, Ctl, lmtp_send, wait_for
from test_avscan import ALICE, EICAR, avscan, quarantined


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def private(path):
    assert os.path.isfile(path), path
    assert mode(path) & 0o077 == 0, "%s is %03o" % (path, mode(path))


def test_directory_db_created_private(tmp_path):
    os.umask(0o022)
    ctl = Ctl(str(tmp_path))
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    ctl("user", "passwd", "alice@example.test", stdin="s3cret pw\n")
    private(ctl.db)
    private(ctl.auth)
    # while another connection holds it open, SQLite's -wal and -shm
    # files stay: they must be as private as the database
    keep = sqlite3.connect(ctl.db)
    try:
        keep.execute("SELECT count(*) FROM users").fetchall()
        ctl("user", "add", "bob@example.test")
        for side in ("-wal", "-shm"):
            private(ctl.db + side)
    finally:
        keep.close()


def test_directory_db_readable_made_private(tmp_path):
    """A directory made before (0644, as make run's was): the next
    sluicectl takes the group and other bits off, and says so."""
    ctl = Ctl(str(tmp_path))
    ctl("domain", "add", "example.test")
    keep = sqlite3.connect(ctl.db)
    try:
        keep.execute("SELECT count(*) FROM users").fetchall()
        ctl("user", "add", "alice@example.test")
        for p in (ctl.db, ctl.db + "-wal", ctl.db + "-shm"):
            os.chmod(p, 0o644)
        r = ctl("user", "add", "bob@example.test")
        for p in (ctl.db, ctl.db + "-wal", ctl.db + "-shm"):
            private(p)
            assert "%s was mode 644" % p in r.stderr, r.stderr
    finally:
        keep.close()
    r = ctl("user", "list")
    assert "was mode" not in r.stderr


def dkim_keygen(d, typ):
    path = os.path.join(d, "%s.pem" % typ)
    subprocess.run([os.path.join(BUILD, "sluice-dkim-keygen"), "-t", typ,
                    "-d", "example.test", "-s", "s1", "-o", path],
                   check=True, capture_output=True)
    return path


def test_secret_files_private(cluster):
    """DKIM keys, avscan's quarantine and queue, the credentials
    snapshot: each made by its program, each private."""
    os.umask(0o022)
    for typ in ("rsa", "ed25519"):
        private(dkim_keygen(cluster.base, typ))
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    msg = (b"From: carol@remote.test\r\nSubject: eicar\r\n\r\n" + EICAR +
           b"\r\n")
    assert lmtp_send(av.port, [ALICE], msg)[0][0] == 250
    q = quarantined(av)
    assert len(q) == 1
    private(os.path.join(av.quarantine_dir, q[0]))
    # a queued message (next hop down) sits in a private segment
    st.stop()
    assert lmtp_send(av.port, [ALICE], b"Subject: x\r\n\r\nhi\r\n")[0][0] \
        == 250
    segs = wait_for(lambda: [n for n in os.listdir(av.queue_dir)
                             if n.startswith("seg-")], what="a segment")
    assert mode(av.queue_dir) & 0o077 == 0
    for n in segs:
        private(os.path.join(av.queue_dir, n))
    st.start()


def test_make_run_keeps_dkim_key_private():
    """tests/run.sh (make run) leaves the demo DKIM key 0600: outmta
    reads it as root before dropping privileges (test_outmta's DKIM
    tests start it that way with a 0600 key)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "tests", "run.sh")) as f:
        lines = [ln.split() for ln in f if "chmod" in ln and ".pem" in ln]
    assert lines, "run.sh names no key mode"
    for words in lines:
        assert words[1] == "600", words
