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
import imaplib
import os
import poplib
import stat
import struct
import subprocess

import pytest

from conftest import (BUILD, Ctl, client_tls, free_port, lmtp_send,
                      port_open, wait_for, write_conf)
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


# ---- the access boxes with box_key_file: end to end ----

PW = {"alice@example.test": "alice secret 1",
      "bob@example.test": "bob secret 2"}


def marker():
    return "MARKER-%s" % os.urandom(6).hex()


def message(mark, n=1):
    """A message whose header and body both carry mark (and a body
    large enough to be stored out of line and compressed by PostgreSQL,
    were it in clear)."""
    return ("From: Carol <carol@remote.test>\r\n"
            "To: Alice <alice@example.test>\r\n"
            "Subject: the plan %s\r\n"
            "Message-ID: <%s.%d@remote.test>\r\n"
            "\r\n" % (mark, mark, n) +
            "".join("line %d of the secret %s\r\n" % (i, mark)
                    for i in range(400))).encode()


class Box:
    """A store on the mailbox database uri with box_key_file key (None:
    none), IMAPS on a free port, users alice and bob."""

    def __init__(self, cluster, ctl, uri, key, check=True):
        extra = {"directory_file": ctl.snap, "credentials_file": ctl.auth,
                 "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
                 "imaps_listen": "127.0.0.1:%d" % free_port(),
                 "pop3s_listen": "127.0.0.1:%d" % free_port(),
                 "mailbox_store": uri}
        if key:
            extra["box_key_file"] = str(key)
        self.st = cluster.store(extra=extra)
        conf = dict(ln.split(" = ", 1) for ln in
                    open(self.st.conf).read().splitlines())
        self.imaps = int(conf["imaps_listen"].rsplit(":", 1)[1])
        self.pop3s = int(conf["pop3s_listen"].rsplit(":", 1)[1])
        wait_for(lambda: port_open(self.imaps) and port_open(self.pop3s),
                 what="IMAPS and POP3S")

    def retr(self, user, n):
        """POP3 RETR n: the message's bytes, or the error as text."""
        p = poplib.POP3_SSL("127.0.0.1", self.pop3s, context=client_tls(),
                            timeout=20)
        try:
            p.user(user)
            p.pass_(PW[user])
            try:
                return b"\r\n".join(p.retr(n)[1]) + b"\r\n"
            except poplib.error_proto as e:
                return str(e)
        finally:
            p.quit()

    def imap(self, user):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps,
                              ssl_context=client_tls(), timeout=20)
        m.login(user, PW[user])
        return m

    def bodies(self, user, folder="INBOX"):
        """{uid: bytes} of folder, {uid: None} where FETCH said NO."""
        out = {}
        with self.imap(user) as m:
            m.select(folder)
            _, data = m.uid("SEARCH", "ALL")
            for uid in data[0].split():
                typ, got = m.uid("FETCH", uid, "(BODY.PEEK[])")
                if typ == "OK" and got and isinstance(got[0], tuple):
                    out[int(uid)] = got[0][1]
                else:
                    # an error, never an empty or other body
                    assert typ == "NO" and got[-1].startswith(
                        b"[CORRUPTION]"), (typ, got)
                    out[int(uid)] = None
            m.logout()
        return out

    def stop(self):
        self.st.stop()


@pytest.fixture
def world(pg, cluster, tmp_path):
    """A mailbox database, a deployment key, two users."""
    d = os.path.join(cluster.base, "dir")
    os.makedirs(d)
    os.chmod(d, 0o755)
    ctl = Ctl(d)
    ctl("domain", "add", "example.test")
    for u, p in PW.items():
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=p + "\n")
    os.chmod(ctl.snap, 0o644)
    db = "boxes%d" % free_port()
    w = type("World", (), {})()
    w.db, w.uri, w.ctl, w.cluster = db, pg.createdb(db), ctl, cluster
    w.key = tmp_path / "box.key"
    w.key_id = keygen(w.key)
    return w


def deliver(box, rcpt, msg):
    r = lmtp_send(box.st.port, [rcpt], msg)
    assert [code for code, _ in r] == [250], r
    return r


def append(box, user, msg, folder="INBOX"):
    with box.imap(user) as m:
        typ, data = m.append(folder, None, None, msg)
        assert typ == "OK", data
        m.logout()


def pg_dump(pg, db):
    r = subprocess.run([os.path.join(pg.bin, "pg_dump"), "-h", "127.0.0.1",
                        "-p", str(pg.port), "-U", "sluice", db],
                       capture_output=True, check=True)
    return r.stdout


def database_text(pg, db):
    """Everything the database holds, as text: pg_dump, then every
    text-like and bytea column of every table read with psql (bytea both
    as hex and as its raw bytes, escape-decoded)."""
    out = [pg_dump(pg, db).decode("utf-8", "replace")]
    cols = pg.psql(db, "SELECT table_name, column_name, data_type FROM "
                       "information_schema.columns WHERE table_schema = "
                       "'public'")
    for ln in cols.splitlines():
        t, c, typ = ln.split("|")
        if typ == "bytea":
            out.append(pg.psql(db, 'SELECT encode("%s", \'hex\') FROM "%s"'
                               % (c, t)))
            out.append(pg.psql(db, 'SELECT encode("%s", \'escape\') FROM '
                               '"%s"' % (c, t)))
        else:
            out.append(pg.psql(db, 'SELECT "%s"::text FROM "%s"' % (c, t)))
    return "\n".join(out)


def plaintext_found(pg, db, mark):
    """Where mark shows in the database (as text, or hex-encoded), and in
    the server's files on disk (tables, TOAST, WAL)."""
    text = database_text(pg, db)
    found = [w for w, m in (("text", mark), ("hex", mark.encode().hex()))
             if m in text]
    for root, _, files in os.walk(pg.data):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if mark.encode() in fh.read():
                    found.append(os.path.relpath(os.path.join(root, f),
                                                 pg.data))
    return found


def test_no_plaintext_in_the_database(pg, world, cluster):
    box = Box(cluster, world.ctl, world.uri, world.key)
    mark1, mark2 = marker(), marker()
    m1, m2 = message(mark1), message(mark2, 2)
    deliver(box, "alice@example.test", m1)
    append(box, "bob@example.test", m2)
    got_a = list(box.bodies("alice@example.test").values())
    got_b = list(box.bodies("bob@example.test").values())
    assert len(got_a) == 1 and got_a[0].endswith(m1)
    assert got_b == [m2], "APPEND gives back the exact bytes"
    box.stop()
    pg.psql(world.db, "CHECKPOINT")
    assert plaintext_found(pg, world.db, mark1) == []
    assert plaintext_found(pg, world.db, mark2) == []
    n = pg.psql(world.db, "SELECT count(*), min(key_id), max(key_id) FROM "
                          "mbox_user_keys").strip()
    assert n == "2|%s|%s" % (world.key_id, world.key_id)


def test_without_a_key_the_marker_is_found(pg, world, cluster):
    """The check above can fail: with no box_key_file the same bodies
    are in clear, and the store says so."""
    box = Box(cluster, world.ctl, world.uri, None)
    mark = marker()
    clear = message(mark)
    deliver(box, "alice@example.test", clear)
    box.stop()
    assert "stored in clear" in box.st.log()
    assert "text" in plaintext_found(pg, world.db, mark)
    # a box with the key refuses the body stored in clear (it could be
    # anybody's forgery), and seals what comes next
    box = Box(cluster, world.ctl, world.uri, world.key)
    [(u1, got)] = box.bodies("alice@example.test").items()
    assert got is None
    sealed = message(marker(), 2)
    deliver(box, "alice@example.test", sealed)
    assert box.bodies("alice@example.test")[u1 + 1].endswith(sealed)
    box.stop()
    # a box without the key never hands a sealed body out as mail
    box = Box(cluster, world.ctl, world.uri, None)
    got = box.bodies("alice@example.test")
    assert got[u1].endswith(clear) and got[u1 + 1] is None
    box.stop()
    assert "is sealed and box_key_file is not set" in box.st.log()


def blobs(pg, db, user):
    """[(uid, blob id)] of user's INBOX."""
    out = pg.psql(db, "SELECT m.uid, m.blob FROM mbox_messages m JOIN "
                      "mbox_folders f ON f.id = m.folder WHERE f.owner = "
                      "'%s' AND f.name = 'INBOX' ORDER BY m.uid" % user)
    return [tuple(int(x) for x in ln.split("|")) for ln in out.splitlines()]


def test_a_changed_or_moved_blob_is_an_error_not_wrong_mail(pg, world,
                                                            cluster):
    box = Box(cluster, world.ctl, world.uri, world.key)
    ma = [message(marker(), i) for i in range(3)]
    for m in ma:
        append(box, "alice@example.test", m)
    mb = message(marker(), 9)
    append(box, "bob@example.test", mb)
    (u1, b1), (u2, b2), (u3, b3) = blobs(pg, world.db, "alice@example.test")
    [(ub, bb)] = blobs(pg, world.db, "bob@example.test")
    # one flipped byte inside the ciphertext of message 1
    pg.psql(world.db, "UPDATE mbox_blobs SET data = set_byte(data, 500, "
                      "get_byte(data, 500) # 1) WHERE id = %d" % b1)
    # message 2 shows message 3's body: swapped within the user
    pg.psql(world.db, "UPDATE mbox_blobs SET data = (SELECT data FROM "
                      "mbox_blobs WHERE id = %d) WHERE id = %d" % (b3, b2))
    # bob's body copied over alice's message 3: swapped between users
    pg.psql(world.db, "UPDATE mbox_blobs SET data = (SELECT data FROM "
                      "mbox_blobs WHERE id = %d) WHERE id = %d" % (bb, b3))
    box.stop()
    box = Box(cluster, world.ctl, world.uri, world.key)
    got = box.bodies("alice@example.test")
    assert got == {u1: None, u2: None, u3: None}
    assert box.bodies("bob@example.test") == {ub: mb}
    assert "-ERR [SYS/PERM] Message body could not be opened" in \
        box.retr("alice@example.test", 1)
    assert box.retr("bob@example.test", 1) == mb
    box.stop()
    log = box.st.log()
    assert log.count("sealed blob does not open") >= 3, log[-3000:]


def test_rotation_end_to_end(pg, world, cluster, tmp_path):
    box = Box(cluster, world.ctl, world.uri, world.key)
    old_mail = [message(marker(), i) for i in range(3)]
    for m in old_mail:
        deliver(box, "alice@example.test", m)
    append(box, "bob@example.test", old_mail[0])
    box.stop()
    new_key = tmp_path / "new.key"
    new_id = keygen(new_key)
    r = boxkey("-d", world.uri, "rotate", "--old", str(world.key),
               "--new", str(new_key))
    assert "2 user keys re-wrapped" in r.stdout
    keys = pg.psql(world.db, "SELECT DISTINCT key_id FROM mbox_user_keys")
    assert keys.split() == [new_id]

    # the old key opens nothing any more, and says so
    box = Box(cluster, world.ctl, world.uri, world.key)
    assert set(box.bodies("alice@example.test").values()) == {None}
    assert set(box.bodies("bob@example.test").values()) == {None}
    r = lmtp_send(box.st.port, ["alice@example.test"], message(marker()))
    assert r[0][0] == 451, r
    box.stop()
    log = box.st.log()
    assert "box_key_file (id %s) is not the deployment key" % \
        world.key_id in log
    assert "refusing to store or serve message bodies" in log

    # the new key serves all the old mail, and new mail
    box = Box(cluster, world.ctl, world.uri, new_key)
    got = list(box.bodies("alice@example.test").values())
    assert len(got) == 3
    assert all(g.endswith(m) for g, m in zip(got, old_mail))
    assert list(box.bodies("bob@example.test").values()) == [old_mail[0]]
    late = message(marker(), 7)
    deliver(box, "alice@example.test", late)
    assert list(box.bodies("alice@example.test").values())[-1].endswith(
        late)
    box.stop()
