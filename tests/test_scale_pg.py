"""The user directory on PostgreSQL, shared by many hosts (issue #17).

A private PostgreSQL (tests/engines.py) holds the directory; sluicectl
writes it with -d postgresql://...; on each of two "hosts" a
`sluicectl watch` re-exports that host's snapshots on NOTIFY, and a store
and an mx read them. A user added on the database is accepted by both
mx at RCPT and can log in over IMAP on both stores within about a second;
with the database stopped the stages go on serving from their last
snapshot, and the watchers catch up once it is back. The same commands on
SQLite and on PostgreSQL give the same output and the same snapshots.
"""
import imaplib
import os
import smtplib
import sqlite3
import subprocess
import time

import pytest

from conftest import BUILD, client_tls, free_port, sluicectl, wait_for
from engines import (Watcher, mtime_ns, private_postgres,
                     wait_changed)

PW = "pg secret 42"


pg = pytest.fixture(scope="module", name="pg")(private_postgres)


class Host:
    """One host of the pair: watcher, store (LMTP, IMAPS), mx."""

    def __init__(self, cluster, uri, name):
        self.dir = os.path.join(cluster.base, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.snap = os.path.join(self.dir, "users")
        self.watcher = Watcher(os.path.join(BUILD, "sluicectl"), uri,
                               self.snap, os.path.join(self.dir,
                                                       "watch.log"))
        wait_for(lambda: os.path.exists(self.snap + ".auth"), timeout=10,
                 what=name + "'s first snapshot")
        self.imaps = free_port()
        self.store = cluster.store(extra={
            "directory_file": self.snap,
            "credentials_file": self.snap + ".auth",
            "imaps_listen": "127.0.0.1:%d" % self.imaps,
            "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1]})
        self.mx = cluster.mx(["lmtp:127.0.0.1:%d" % self.store.port],
                             extra={"directory_file": self.snap})

    def rcpt(self, addr):
        with smtplib.SMTP("127.0.0.1", self.mx.port, timeout=10) as s:
            s.ehlo("client.remote.test")
            s.mail("someone@remote.test")
            return s.rcpt(addr)[0]

    def imap_login(self, user, pw):
        try:
            with imaplib.IMAP4_SSL("127.0.0.1", self.imaps,
                                   ssl_context=client_tls(),
                                   timeout=10) as m:
                return m.login(user, pw)[0] == "OK"
        except imaplib.IMAP4.error:
            return False


@pytest.fixture
def pair(pg, cluster, request):
    db = "t%d" % free_port()
    uri = pg.createdb(db)
    ctl = Ctl(uri, os.path.join(cluster.base, "admin-snap"))
    ctl("domain", "add", "example.test")
    ctl("user", "add", "alice@example.test")
    ctl("user", "passwd", "alice@example.test", stdin=PW + "\n")
    hosts = [Host(cluster, uri, "hostA"), Host(cluster, uri, "hostB")]
    yield ctl, hosts, db
    for h in hosts:
        h.watcher.stop()


class Ctl:
    """sluicectl on the PostgreSQL directory uri (the admin host's own
    snapshot goes to snap: nobody reads it here)."""

    def __init__(self, uri, snap):
        self.uri, self.snap = uri, snap

    def __call__(self, *args, stdin=None, ok=True):
        return sluicectl(self.uri, self.snap, *args, stdin=stdin, ok=ok)


def test_new_user_seen_by_both_hosts_within_a_second(pair):
    ctl, hosts, _ = pair
    for h in hosts:
        assert h.rcpt("alice@example.test") == 250
        assert h.rcpt("newbie@example.test") == 550
        assert h.imap_login("alice@example.test", PW)
    # timed from before sluicectl starts: an upper bound that includes
    # its own run (process start, connection, the statement)
    t0 = time.monotonic()
    ctl("user", "add", "newbie@example.test")
    t_ctl = time.monotonic() - t0
    for h in hosts:
        wait_for(lambda: "newbie@example.test" in open(h.snap).read(),
                 timeout=5, what="snapshot with newbie")
    snap_lag = time.monotonic() - t0
    # mx reads a changed snapshot at its next look, at most a second on
    for h in hosts:
        wait_for(lambda: h.rcpt("newbie@example.test") == 250, timeout=3,
                 what="mx to accept newbie")
    rcpt_lag = time.monotonic() - t0
    t0 = time.monotonic()
    ctl("user", "passwd", "newbie@example.test", stdin=PW + "\n")
    for h in hosts:
        wait_for(lambda: "newbie@example.test" in
                 open(h.snap + ".auth").read(), timeout=5,
                 what="credentials snapshot with newbie")
    auth_lag = time.monotonic() - t0
    for h in hosts:
        wait_for(lambda: h.imap_login("newbie@example.test", PW),
                 timeout=3, what="IMAP login of newbie")
    login_lag = time.monotonic() - t0
    print("user add: sluicectl %.3f s, both snapshots %.3f s, RCPT "
          "accepted on both mx %.3f s; passwd: both credentials "
          "snapshots %.3f s, IMAP login on both stores %.3f s" %
          (t_ctl, snap_lag, rcpt_lag, auth_lag, login_lag))
    assert snap_lag < 1.0, snap_lag
    assert rcpt_lag < 2.0, rcpt_lag
    for h in hosts:
        assert "snapshots" in h.watcher.log()


def test_database_down_stages_serve_from_snapshot(pg, pair):
    ctl, hosts, db = pair
    pg.stop()
    try:
        for h in hosts:
            wait_for(lambda: "directory unreachable, serving from the "
                     "last snapshot" in h.watcher.log(), timeout=5,
                     what="watcher to notice")
        # the snapshots are still there and still served
        for h in hosts:
            assert h.rcpt("alice@example.test") == 250
            assert h.rcpt("nobody@example.test") == 550
            assert h.imap_login("alice@example.test", PW)
        r = ctl("user", "add", "late@example.test", ok=False)
        assert r.returncode != 0 and "postgresql" in r.stderr
    finally:
        pg.start()
    # back: a change made now reaches every host again
    before = [mtime_ns(h.snap) for h in hosts]
    ctl("user", "add", "late@example.test")
    for h, b in zip(hosts, before):
        wait_changed(h.snap, b, timeout=5)
        wait_for(lambda: "late@example.test" in open(h.snap).read(),
                 timeout=5, what="late in the snapshot")
        assert "directory reachable again" in h.watcher.log()
    for h in hosts:
        wait_for(lambda: h.rcpt("late@example.test") == 250, timeout=3,
                 what="mx to accept late")


def test_change_from_psql_reaches_snapshot(pg, pair):
    """Any writer notifies (statement triggers), not only sluicectl."""
    ctl, hosts, db = pair
    before = mtime_ns(hosts[0].snap)
    pg.psql(db, "UPDATE users SET enabled=0 "
            "WHERE address='alice@example.test'")
    wait_changed(hosts[0].snap, before, timeout=2)
    assert "-alice@example.test" in open(hosts[0].snap).read()


SCRIPT = [
    ("domain", "add", "example.test"),
    ("domain", "add", "other.test"),
    ("user", "add", "alice@example.test", "--quota", "50m"),
    ("user", "add", "bob@example.test", "--expires", "2031-05-06"),
    ("user", "add", "old@example.test", "--expires", "2020-01-01"),
    ("user", "add", "carol@other.test"),
    ("user", "disable", "carol@other.test"),
    ("user", "quota", "bob@example.test", "1g"),
    ("alias", "add", "postmaster@example.test", "alice@example.test",
     "friend@remote.test"),
    ("list", "add", "team@example.test", "alice@example.test",
     "bob@example.test"),
    ("domain", "list"), ("user", "list"), ("user", "list", "other.test"),
    ("user", "show", "bob@example.test"), ("alias", "list"),
    ("list", "list"),
    ("user", "add", "alice@example.test"),            # exists already
    ("domain", "del", "other.test"),                  # still has users
    ("alias", "add", "x@example.test", "nobody@example.test"),
    ("user", "del", "old@example.test"),
    ("list", "del", "team@example.test"),
    ("user", "list"), ("list", "list"),
    # the admin interface's commands (issue #16) and its schema
    ("person", "add", "example.test", "Ada", "Lovelace", "--quota", "10m"),
    ("person", "add", "example.test", "Alan", "Lovelace"),   # shared
    ("person", "add", "example.test", "Ann", "Lovelace"),    # joins it
    ("person", "add", "example.test", "Bad!", "Name"),
    ("user", "kind", "alice@example.test", "role"),
    ("user", "kind", "alice@example.test", "boss"),
    ("alias", "add", "help@example.test", "alice@example.test",
     "bob@example.test"),
    ("alias", "rm", "help@example.test", "bob@example.test"),
    ("list", "add", "crew@example.test", "alice@example.test",
     "bob@example.test"),
    ("list", "rm", "crew@example.test", "bob@example.test"),
    ("owner", "add", "crew@example.test", "bob@example.test"),
    ("owner", "add", "nolist@example.test", "bob@example.test"),
    ("admin", "add", "*", "alice@example.test"),
    ("admin", "add", "example.test", "bob@example.test"),
    ("admin", "add", "nowhere.test", "bob@example.test"),
    ("admin", "add", "example.test", "ghost@example.test"),
    # users' sender lists (issue #15)
    ("senders", "alice@example.test", "block", "@Spam.test"),
    ("senders", "alice@example.test", "allow", "friend@spam.test"),
    ("senders", "alice@example.test", "allow", "@spam.test"),  # changed
    ("senders", "bob@example.test", "block", "x@y.test"),
    ("senders", "alice@example.test", "block", "spam.test"),   # refused
    ("senders", "ghost@example.test", "block", "@x.test"),     # no user
    ("senders", "alice@example.test", "list"),
    ("senders", "bob@example.test", "remove", "x@y.test"),
    ("senders", "bob@example.test", "list"),
    ("admin", "list"), ("alias", "list"), ("list", "list"),
    ("user", "list"), ("user", "show", "ada.lovelace@example.test"),
    ("admin", "del", "example.test", "bob@example.test"),
    ("owner", "del", "crew@example.test", "bob@example.test"),
    ("admin", "list"),
]


def test_sqlite_and_postgresql_agree(pg, tmp_path):
    """Every command gives the same output, the same error and the same
    snapshots on both backends."""
    uri = pg.createdb("same%d" % free_port())
    lite = (str(tmp_path / "d.db"), str(tmp_path / "lite"))
    pgs = (uri, str(tmp_path / "pg"))
    for cmd in SCRIPT:
        a = sluicectl(*lite, *cmd, ok=False)
        b = sluicectl(*pgs, *cmd, ok=False)
        assert (a.returncode, a.stdout, a.stderr) == \
            (b.returncode, b.stdout, b.stderr), cmd
    sluicectl(*lite, "user", "passwd", "bob@example.test", stdin="pw1\n")
    sluicectl(*pgs, "user", "passwd", "bob@example.test", stdin="pw1\n")
    assert open(lite[1]).read() == open(pgs[1]).read()
    assert open(lite[1] + ".senders").read() == \
        open(pgs[1] + ".senders").read()
    assert "alice@example.test allow @spam.test\n" in \
        open(pgs[1] + ".senders").read()
    la = open(lite[1] + ".auth").read().split()
    pa = open(pgs[1] + ".auth").read().split()
    # the same users and fields; hashes differ by their random salts
    assert len(la) == len(pa) and la[0] == pa[0]
    assert [x for x in la if "@" in x] == [x for x in pa if "@" in x]


FIRST_SCHEMA = (
    "CREATE TABLE domains(name TEXT PRIMARY KEY);"
    "CREATE TABLE users(address TEXT PRIMARY KEY, domain TEXT NOT NULL,"
    " pwhash TEXT, quota BIGINT NOT NULL DEFAULT 0,"
    " expires BIGINT NOT NULL DEFAULT 0, enabled INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO users(address, domain) VALUES('old@example.test',"
    " 'example.test');")


def test_schema_same_on_both_backends(pg, tmp_path):
    """The tables are defined once (store/dir/store_dir_schema.h): a new
    SQLite file and a new PostgreSQL database have the same tables and
    columns in the same order, every PostgreSQL table notifies the
    watchers, and a database of the first schema gets the columns added
    since (its rows their defaults)."""
    lite = str(tmp_path / "d.db")
    sluicectl(lite, str(tmp_path / "lite"), "domain", "add", "x.test")
    db = sqlite3.connect(lite)
    tables = sorted(r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table'"))
    # (a key column of SQLite may hold NULL, one of PostgreSQL not)
    want = {t: [(r[1], bool(r[3] or r[5]), r[4]) for r in db.execute(
        "PRAGMA table_info(%s)" % t)] for t in tables}

    def pg_columns(name):
        rows = pg.psql(name, "SELECT table_name, column_name, is_nullable, "
                       "column_default FROM information_schema.columns "
                       "WHERE table_schema='public' ORDER BY 1, "
                       "ordinal_position").splitlines()
        got = {}
        for r in rows:
            t, c, nullable, default = r.split("|")
            default = default.replace("::text", "") or None
            got.setdefault(t, []).append((c, nullable == "NO", default))
        return got

    for name, first in (("fresh%d" % free_port(), None),
                        ("first%d" % free_port(), FIRST_SCHEMA)):
        uri = pg.createdb(name)
        if first:
            pg.psql(name, first)
        sluicectl(uri, str(tmp_path / name), "domain", "add", "x.test")
        assert pg_columns(name) == want, name
        assert sorted(pg.psql(name, "SELECT tgrelid::regclass FROM "
                              "pg_trigger WHERE tgname='sluice_notify'")
                      .split()) == tables
    assert pg.psql(name, "SELECT kind, first, last FROM users") == \
        "personal||\n"


def _admin_world(pg, cluster, cert):
    """A PostgreSQL directory with a super admin, a domain admin and a
    list owner; sluice-admin on it, and a watcher for another host."""
    from conftest import Daemon, write_conf
    uri = pg.createdb("adm%d" % free_port())
    base = cluster.base
    d = os.path.join(base, "admin")
    os.makedirs(os.path.join(d, "state"))
    snapdir = os.path.join(d, "snap")
    os.makedirs(snapdir)
    # the admin host's sluicectl writes the snapshots the admin reads
    # logins from
    ctl = Ctl(uri, os.path.join(snapdir, "users"))
    ctl("domain", "add", "example.test")
    for u, pw in ADMIN_PW.items():
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=pw + "\n")
    ctl("admin", "add", "*", "root@example.test")
    ctl("admin", "add", "example.test", "dadmin@example.test")
    ctl("list", "add", "team@example.test", "dadmin@example.test")
    ctl("owner", "add", "team@example.test", "carol@example.test")
    subprocess.run(["chown", "-R", "sluice", d], check=True)
    port = free_port()
    conf = os.path.join(d, "admin.conf")
    write_conf(conf, {
        "listen": "127.0.0.1:%d" % port, "tls_cert": cert[0],
        "tls_key": cert[1], "directory": uri,
        "snapshot": os.path.join(snapdir, "users"),
        "state_dir": os.path.join(d, "state"), "queues": "",
        "auth_fail_max": "50"})
    adm = Daemon("admin", os.path.join(BUILD, "sluice-admin"), conf, d,
                 port)
    cluster.daemons.append(adm)
    adm.start()
    adm.snap = os.path.join(snapdir, "users")
    other = os.path.join(base, "other")
    os.makedirs(other)
    w = Watcher(os.path.join(BUILD, "sluicectl"), uri,
                os.path.join(other, "users"),
                os.path.join(other, "watch.log"))
    wait_for(lambda: os.path.exists(os.path.join(other, "users.auth")),
             timeout=10, what="the other host's first snapshot")
    return uri, ctl, adm, w, os.path.join(other, "users")


ADMIN_PW = {"root@example.test": "root-secret-1",
            "dadmin@example.test": "dadmin-secret-2",
            "carol@example.test": "carol-secret-3"}


def test_admin_web_on_postgresql(pg, cluster, cert):
    """sluice-admin on a postgresql:// directory: roles read from the
    database, a person (mailbox, aliases, shared address) created over
    HTTPS lands in PostgreSQL and reaches another host's snapshot through
    NOTIFY; list owners and domain admins see what they should; and the
    admin keeps working after the database restarts."""
    uri, ctl, adm, watcher, other_snap = _admin_world(pg, cluster, cert)
    db = uri.rsplit("/", 1)[1]
    try:
        h = _login(adm.port, "dadmin@example.test")
        st, text, _, _ = h.req("GET", "/")
        assert st == 200 and "example.test" in text
        st, text, _, _ = h.req("GET", "/domain?d=example.test")
        assert st == 200 and "carol@example.test" in text
        assert "team@example.test" in text
        tok = h.csrf("/domain?d=example.test")
        for first in ("Ada", "Alan"):
            st, text, r, _ = h.req("POST", "/person", {
                "csrf": tok, "d": "example.test", "first": first,
                "last": "Lovelace", "password": first + "-pw-12345"})
            assert st == 303, text
            assert "/welcome" in r.getheader("Location")
        rows = pg.psql(db, "SELECT address, first, last FROM users "
                       "WHERE last='lovelace' ORDER BY 1")
        assert rows.split() == ["ada.lovelace@example.test|ada|lovelace",
                                "alan.lovelace@example.test|alan|lovelace"]
        assert pg.psql(db, "SELECT official FROM shared WHERE address="
                       "'a.lovelace@example.test' ORDER BY 1").split() == \
            ["ada.lovelace@example.test", "alan.lovelace@example.test"]
        # the page shows the mailbox, the alias and the shared address
        st, text, _, _ = h.req("GET", "/domain?d=example.test")
        assert "Ada Lovelace" in text or "ada lovelace" in text
        assert "lovelace@example.test" in text
        shared = text.split('id="shared"')[1].split("</table>")[0]
        assert "a.lovelace@example.test" in shared
        assert "alan.lovelace@example.test" in shared
        st, text, _, _ = h.req("GET", "/user?a=ada.lovelace%40example.test")
        assert st == 200 and "personal" in text
        # another host's watcher got it by NOTIFY, not from the admin
        wait_for(lambda: "ada.lovelace@example.test" in
                 open(other_snap).read(), timeout=3,
                 what="the other host's snapshot")
        assert "ada.lovelace@example.test" in open(adm.snap).read()
        # a list owner sees her list's members; a domain admin who owns
        # no list does not
        c = _login(adm.port, "carol@example.test")
        st, text, _, _ = c.req("GET", "/list?a=team%40example.test")
        assert st == 200 and "dadmin@example.test" in text
        st, _, _, _ = h.req("GET", "/list?a=team%40example.test")
        assert st == 403
        # the database restarts: the admin's next page works again
        pg.stop()
        pg.start()
        wait_for(lambda: h.req("GET", "/domain?d=example.test")[0] == 200,
                 timeout=10, what="the admin after the restart")
        tok = h.csrf("/domain?d=example.test")
        st, text, _, _ = h.req("POST", "/person", {
            "csrf": tok, "d": "example.test", "first": "Grace",
            "last": "Hopper"})
        assert st == 303, text
        assert pg.psql(db, "SELECT count(*) FROM users WHERE address="
                       "'grace.hopper@example.test'").strip() == "1"
    finally:
        watcher.stop()


def _login(port, user):
    from test_admin import Https, csrf_of
    h = Https(port)
    st, text, _, sid = h.req("GET", "/login")
    assert st == 200 and sid
    h.sid = sid
    st, text, r, sid2 = h.req("POST", "/login", {
        "csrf": csrf_of(text), "user": user, "password": ADMIN_PW[user]})
    assert st == 303, (st, text)
    h.sid = sid2
    return h
