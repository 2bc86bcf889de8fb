"""Encrypted storage of the access boxes (issue #17 item 4).

A private PostgreSQL (tests/engines.py) holds what the boxes store. The
deployment key files are made by `sluice-boxkey keygen`; the user keys in
table mbox_user_keys are read and written here with Python's own AES-GCM
(python3-cryptography), an implementation independent of ours, so the
layout documented in store/box/box_seal.h is checked too: rotation
re-wraps every user key under the new deployment key in one transaction,
leaves the user keys themselves as they were (so every sealed body still
opens), and after it the old key opens nothing.
"""
import base64
import hashlib
import hmac
import os
import stat
import struct
import subprocess

import pytest

from conftest import BUILD, free_port, write_conf
from engines import private_postgres

AESGCM = pytest.importorskip(
    "cryptography.hazmat.primitives.ciphers.aead").AESGCM

BOXKEY = os.path.join(BUILD, "sluice-boxkey")
USER_LABEL = b"sluice box user key\0"

pg = pytest.fixture(scope="module", name="pg")(private_postgres)


def boxkey(*args, ok=True):
    r = subprocess.run([BOXKEY, *args], capture_output=True, text=True,
                       timeout=30)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def keygen(path):
    out = boxkey("keygen", str(path)).stdout
    assert out.startswith("%s: new deployment key, id " % path)
    return out.split()[-1]


def read_key(path):
    lines = [ln for ln in open(path).read().splitlines()
             if ln and not ln.startswith("#")]
    assert len(lines) == 1
    key = base64.b64decode(lines[0], validate=True)
    assert len(key) == 32
    return key


def key_id(key):
    return hmac.new(key, b"sluice box deployment key id",
                    hashlib.sha256).digest()[:8].hex()


def field(b):
    return struct.pack(">I", len(b)) + b


def user_aad(user, kid):
    return USER_LABEL + field(user.encode()) + field(kid.encode())


def wrap(dkey, user, ukey):
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(dkey).encrypt(
        nonce, ukey, user_aad(user, key_id(dkey)))


def unwrap(dkey, user, w):
    """The user key, or None when w does not open under dkey."""
    if len(w) != 61 or w[0] != 1:
        return None
    try:
        return AESGCM(dkey).decrypt(w[1:13], w[13:],
                                    user_aad(user, key_id(dkey)))
    except Exception:
        return None


def rows(pg, db):
    out = pg.psql(db, "SELECT owner, key_id, encode(wrapped, 'hex') "
                      "FROM mbox_user_keys ORDER BY owner")
    return {u: (k, bytes.fromhex(w)) for u, k, w in
            (ln.split("|") for ln in out.splitlines())}


def insert_row(pg, db, user, kid, wrapped):
    pg.psql(db, "INSERT INTO mbox_user_keys (owner, key_id, wrapped) "
                "VALUES ('%s', '%s', '\\x%s')" % (user, kid, wrapped.hex()))


def test_keygen_makes_a_0400_file_and_never_replaces_one(tmp_path):
    path = tmp_path / "box.key"
    kid = keygen(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o400
    assert key_id(read_key(path)) == kid
    assert boxkey("id", str(path)).stdout.strip() == kid
    r = boxkey("keygen", str(path), ok=False)
    assert r.returncode != 0 and "cannot create" in r.stderr
    assert key_id(read_key(path)) == kid
    assert keygen(tmp_path / "other.key") != kid


def test_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "box.key"
    keygen(path)
    for mode, ok in ((0o644, False), (0o640, False), (0o600, True),
                     (0o400, True), (0o404, False)):
        os.chmod(path, mode)
        r = boxkey("id", str(path), ok=False)
        assert (r.returncode == 0) == ok, (oct(mode), r.stderr)
        if not ok:
            assert "mode 0%o" % mode in r.stderr and "refused" in r.stderr


def test_rotate_rewraps_every_user_key_in_one_transaction(pg, tmp_path):
    db = "rotate"
    uri = pg.createdb(db)
    old_id, new_id = keygen(tmp_path / "old"), keygen(tmp_path / "new")
    old, new = read_key(tmp_path / "old"), read_key(tmp_path / "new")
    # an empty database: the table is made, nothing to do
    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "old"),
               "--new", str(tmp_path / "new"))
    assert "0 user keys re-wrapped" in r.stdout
    ukeys = {"u%d@example.test" % i: os.urandom(32) for i in range(5)}
    for user, ukey in ukeys.items():
        insert_row(pg, db, user, old_id, wrap(old, user, ukey))
    before = rows(pg, db)

    # a row that does not open stops the rotation, nothing changed
    bad = bytearray(wrap(old, "bad@example.test", os.urandom(32)))
    bad[20] ^= 1
    insert_row(pg, db, "bad@example.test", old_id, bytes(bad))
    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "old"),
               "--new", str(tmp_path / "new"), ok=False)
    assert r.returncode != 0
    assert "bad@example.test" in r.stderr and "nothing changed" in r.stderr
    after = rows(pg, db)
    del after["bad@example.test"]
    assert after == before
    pg.psql(db, "DELETE FROM mbox_user_keys WHERE owner = "
                "'bad@example.test'")

    # the wrong old key: refused, nothing changed
    keygen(tmp_path / "third")
    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "third"),
               "--new", str(tmp_path / "new"), ok=False)
    assert r.returncode != 0 and "neither the old" in r.stderr
    assert rows(pg, db) == before

    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "old"),
               "--new", str(tmp_path / "new"))
    assert "from key %s to key %s: 5 user keys re-wrapped, 0 already" % (
        old_id, new_id) in r.stdout
    got = rows(pg, db)
    assert set(got) == set(ukeys)
    for user, (kid, w) in got.items():
        assert kid == new_id
        assert w != before[user][1]
        # the same user key: bodies sealed under it still open
        assert unwrap(new, user, w) == ukeys[user]
        # the old deployment key opens nothing any more
        assert unwrap(old, user, w) is None
        # and a row moved to another user does not open either
        assert unwrap(new, "u9@example.test", w) is None

    # a box still on the old key made a user key meanwhile: run again
    insert_row(pg, db, "late@example.test", old_id,
               wrap(old, "late@example.test", os.urandom(32)))
    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "old"),
               "--new", str(tmp_path / "new"))
    assert "1 user keys re-wrapped, 5 already under the new key" in r.stdout
    assert {k for k, _ in rows(pg, db).values()} == {new_id}

    r = boxkey("-d", uri, "rotate", "--old", str(tmp_path / "new"),
               "--new", str(tmp_path / "new"), ok=False)
    assert r.returncode != 0 and "the same" in r.stderr


def store_start_fails(tmp_path, key_file):
    """Start a store with box_key_file in the foreground: it must stop
    at start-up. Its log."""
    d = tmp_path / ("store-%d" % free_port())
    d.mkdir()
    write_conf(str(d / "store.conf"), {
        "lmtp_listen": "127.0.0.1:%d" % free_port(),
        "directory_file": str(d / "users"), "mail_root": str(d / "mail"),
        "imap_listen": "", "imaps_listen": "", "pop3_listen": "",
        "pop3s_listen": "", "control_dir": str(d),
        "box_key_file": str(key_file)})
    (d / "users").write_text("alice@example.test\n")
    r = subprocess.run([os.path.join(BUILD, "sluice-store"), "-c",
                        str(d / "store.conf")], cwd=str(d),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    return r.stderr


def test_store_refuses_a_key_file_others_can_read(cluster, tmp_path):
    path = tmp_path / "box.key"
    kid = keygen(path)
    os.chmod(path, 0o644)
    assert "box_key_file: %s: mode 0644: a key file must be mode 0400 " \
        "or 0600: refused" % path in store_start_fails(tmp_path, path)
    missing = tmp_path / "missing.key"
    assert "box_key_file: %s: cannot open" % missing in \
        store_start_fails(tmp_path, missing)
    os.chmod(path, 0o400)
    st = cluster.store(extra={"box_key_file": str(path)})
    assert "deployment key id %s" % kid in st.log()
    key = read_key(path)
    assert key.hex() not in st.log()
    assert base64.b64encode(key).decode() not in st.log()
