"""sluicectl ldap-sync against a private OpenLDAP slapd on 127.0.0.1
(mdb backend, run as the current user, config generated here): users of
the managed domain are added, updated and disabled to match LDAP, other
domains are left alone, a second run changes nothing, and LDAP errors
change nothing."""

import os
import shutil
import sqlite3
import subprocess

import pytest

from conftest import Ctl, free_port, sluicectl, wait_for
from engines import private_postgres
from test_directory import rcpt

SLAPD = "/usr/sbin/slapd"
SCHEMA = "/etc/ldap/schema"
SUFFIX = "dc=example,dc=test"
ROOT = "cn=admin," + SUFFIX

pytestmark = pytest.mark.skipif(
    not os.path.exists(SLAPD) or not shutil.which("ldapadd"),
    reason="slapd and ldap-utils not installed (tests/deps.sh)")

# quota and enabled state have no standard attribute: a test schema
TEST_SCHEMA = """
attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'sluiceQuota'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15
  SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'sluiceEnabled'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15
  SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'sluiceUser' AUXILIARY
  MAY ( sluiceQuota $ sluiceEnabled ) )
"""

ENTRIES = """dn: {s}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,{s}
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,{s}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
objectClass: sluiceUser
uid: alice
cn: Alice Smith
givenName: Alice
sn: Smith
mail: Alice@Example.test
mailLocalAddress: a.smith@example.test
mailLocalAddress: alice@elsewhere.test
sluiceQuota: 10m

dn: uid=bob,ou=people,{s}
objectClass: inetOrgPerson
objectClass: sluiceUser
uid: bob
cn: Bob Brown
givenName: Bob
sn: Brown
mail: bob@example.test
sluiceEnabled: FALSE

dn: uid=dave,ou=people,{s}
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn:: IERvdmUJCg==
mail: dave@example.test

dn: uid=carol,ou=people,{s}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Other
mail: carol@other.test
""".format(s=SUFFIX)


class Slapd:
    """A private slapd: ldap:// and ldaps:// on 127.0.0.1, the latter with
    a self-signed certificate for IP 127.0.0.1 (libldap checks an IP
    address against the subjectAltName; it never takes "localhost" as
    the name to check), self.cert."""

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.tls_uri = "ldaps://127.0.0.1:%d" % free_port()
        os.makedirs(os.path.join(base, "db"))
        self.cert = (os.path.join(base, "cert.pem"),
                     os.path.join(base, "key.pem"))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.cert[1], "-out", self.cert[0]],
                       check=True, capture_output=True)
        with open(os.path.join(base, "sluicetest.schema"), "w") as f:
            f.write(TEST_SCHEMA)
        self.conf = os.path.join(base, "slapd.conf")
        with open(self.conf, "w") as f:
            for s in ("core", "cosine", "inetorgperson", "misc"):
                f.write("include %s/%s.schema\n" % (SCHEMA, s))
            f.write("include %s/sluicetest.schema\n" % base)
            f.write("pidfile %s/slapd.pid\n" % base)
            f.write("TLSCertificateFile %s\nTLSCertificateKeyFile %s\n"
                    % self.cert)
            f.write("modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
            f.write("database mdb\nmaxsize 10485760\n")
            f.write('suffix "%s"\nrootdn "%s"\nrootpw secret\n'
                    % (SUFFIX, ROOT))
            f.write("directory %s/db\n" % base)
            # anonymous readers: 2 entries per search, any number paged
            f.write("limits anonymous size.soft=2 size.hard=2 size.pr=2"
                    " size.prtotal=unlimited\n")
        self.pwfile = os.path.join(base, "bindpw")
        with open(self.pwfile, "w") as f:
            f.write("secret")   # ldap tools take the whole file
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [SLAPD, "-d", "0", "-h",
             "%s/ %s/" % (self.uri, self.tls_uri),
             "-f", self.conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: self.ldap("ldapsearch", "-b", SUFFIX, "-s",
                                       "base", ok=False).returncode
                     in (0, 32), timeout=10, what="slapd")
        except AssertionError:
            self.stop()     # never left running by a failed start
            raise

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def ldap(self, tool, *args, stdin=None, ok=True):
        r = subprocess.run([tool, "-x", "-H", self.uri, "-D", ROOT,
                            "-y", self.pwfile, *args], input=stdin,
                           capture_output=True, text=True, timeout=10)
        if ok:
            assert r.returncode == 0, r.stderr
        return r


pg = pytest.fixture(scope="module", name="pg")(private_postgres)


class PgCtl:
    """sluicectl on a PostgreSQL directory, its snapshot in folder d."""

    def __init__(self, pg, d):
        self.pg, self.name = pg, "l%d" % free_port()
        self.db = pg.createdb(self.name)
        self.snap = os.path.join(d, "snapshot")

    def __call__(self, *args, stdin=None, ok=True):
        return sluicectl(self.db, self.snap, *args, stdin=stdin, ok=ok)


@pytest.fixture(params=["sqlite", "postgresql"])
def ldap_world(cluster, request):
    sl = Slapd(os.path.join(cluster.base, "slapd"))
    sl.start()
    request.addfinalizer(sl.stop)
    sl.ldap("ldapadd", stdin=ENTRIES)
    d = os.path.join(cluster.base, "dir")
    os.makedirs(d)
    if request.param == "sqlite":
        ctl = Ctl(d)
    else:
        ctl = PgCtl(request.getfixturevalue("pg"), d)
    ctl("domain", "add", "example.test")
    ctl("domain", "add", "other.test")
    ctl("user", "add", "local@example.test")
    ctl("user", "add", "keep@other.test")
    os.chmod(ctl.snap, 0o644)
    mx = cluster.mx(["lmtp:127.0.0.1:1"], extra={
        "directory_file": ctl.snap,
        "local_domains": "example.test other.test"})
    return sl, ctl, mx


def sync(sl, ctl, *extra, ok=True):
    return ctl("ldap-sync", "--uri", sl.uri, "--base", "ou=people," + SUFFIX,
               "--bind-dn", ROOT, "--password-file", sl.pwfile,
               "--domain", "example.test",
               "--map", "quota=sluiceQuota,enabled=sluiceEnabled", *extra,
               ok=ok)


PEOPLE = ("SELECT address, first, last, quota, enabled, pwhash IS NULL"
          " FROM users")


def people(ctl):
    """address -> (first, last, quota, enabled, has no password), read
    from the database by the test itself, as text."""
    norm = {"None": "", "True": "1", "False": "0", "t": "1", "f": "0"}
    if isinstance(ctl, PgCtl):
        rows = [ln.split("|") for ln in
                ctl.pg.psql(ctl.name, PEOPLE).splitlines()]
    else:
        with sqlite3.connect(ctl.db) as db:
            rows = [[str(x) for x in r] for r in db.execute(PEOPLE)]
    return {r[0]: tuple(norm.get(x, x) for x in r[1:]) for r in rows}


def test_ldap_sync(ldap_world):
    sl, ctl, mx = ldap_world
    r = sync(sl, ctl)
    assert ("3 users, added 3, updated 0, disabled 1, aliases added 1, "
            "skipped 1") in r.stdout, r.stdout
    p = people(ctl)
    assert p["alice@example.test"] == ("Alice", "Smith", str(10 << 20), "1", "1")
    assert p["bob@example.test"][3] == "0"
    assert p["dave@example.test"] == ("", "Dove", "0", "1", "1")
    assert p["local@example.test"][3] == "0"          # gone from LDAP
    assert p["keep@other.test"][3] == "1"             # not managed
    assert "carol@other.test" not in p
    show = ctl("user", "show", "alice@example.test").stdout.split("\t")
    assert show[:3] == ["alice@example.test", "1", str(10 << 20)]
    assert ctl("user", "show", "bob@example.test").stdout.split("\t")[1] \
        == "0"
    # the stages see it through the snapshot
    wait_for(lambda: rcpt(mx, "alice@example.test")[0] == 250)
    assert rcpt(mx, "a.smith@example.test")[0] == 250
    assert rcpt(mx, "dave@example.test")[0] == 250
    assert rcpt(mx, "keep@other.test")[0] == 250
    for a in ("bob@example.test", "local@example.test"):
        code, text = rcpt(mx, a)
        assert code == 550 and text.startswith(b"5.2.1"), a
    assert rcpt(mx, "carol@other.test")[0] == 550

    # idempotent
    snap = open(ctl.snap, "rb").read()
    r = sync(sl, ctl)
    assert "added 0, updated 0, disabled 0, aliases added 0" in r.stdout
    assert open(ctl.snap, "rb").read() == snap

    # change one entry, enable another, remove a third
    sl.ldap("ldapmodify", stdin="dn: uid=alice,ou=people,%s\n"
            "changetype: modify\nreplace: sn\nsn: Jones\n-\n"
            "replace: sluiceQuota\nsluiceQuota: 20m\n\n"
            "dn: uid=bob,ou=people,%s\nchangetype: modify\n"
            "replace: sluiceEnabled\nsluiceEnabled: TRUE\n" % (SUFFIX, SUFFIX))
    sl.ldap("ldapdelete", "uid=dave,ou=people," + SUFFIX)
    r = sync(sl, ctl)
    assert "added 0, updated 2, disabled 1" in r.stdout, r.stdout
    p = people(ctl)
    assert p["alice@example.test"][:3] == ("Alice", "Jones", str(20 << 20))
    assert p["bob@example.test"][3] == "1"
    assert p["dave@example.test"][3] == "0"
    assert p["keep@other.test"][3] == "1"
    wait_for(lambda: rcpt(mx, "bob@example.test")[0] == 250)
    code, text = rcpt(mx, "dave@example.test")
    assert code == 550 and text.startswith(b"5.2.1")

    # LDAP errors: non-zero, nothing changed
    sl.ldap("ldapdelete", "uid=bob,ou=people," + SUFFIX)
    before = people(ctl)
    snap = open(ctl.snap, "rb").read()
    bad = os.path.join(sl.base, "badpw")
    with open(bad, "w") as f:
        f.write("wrong\n")
    r = ctl("ldap-sync", "--uri", sl.uri, "--base", "ou=people," + SUFFIX,
            "--bind-dn", ROOT, "--password-file", bad,
            "--domain", "example.test", ok=False)
    assert r.returncode != 0 and "Invalid credentials" in r.stderr
    r = sync(sl, ctl, "--base", "ou=nowhere," + SUFFIX, ok=False)
    assert r.returncode != 0 and "No such object" in r.stderr
    sl.stop()
    r = sync(sl, ctl, ok=False)
    assert r.returncode != 0 and "ldap" in r.stderr
    assert people(ctl) == before
    assert open(ctl.snap, "rb").read() == snap


def test_ldap_sync_usage(tmp_path):
    ctl = Ctl(str(tmp_path))
    ctl("domain", "add", "example.test")
    # no managed domain, no base: usage, never a sync of everything
    r = ctl("ldap-sync", "--uri", "ldap://127.0.0.1:1", "--base",
            SUFFIX, ok=False)
    assert r.returncode == 2
    # the password is never an argument
    r = ctl("ldap-sync", "--uri", "ldap://127.0.0.1:1", "--base", SUFFIX,
            "--domain", "example.test", "--password", "x", ok=False)
    assert r.returncode == 2


def test_ldap_sync_paged(ldap_world):
    """A server that answers 2 entries per search: the sync pages through
    all of them; without paging it fails and changes nothing."""
    sl, ctl, mx = ldap_world
    args = ("ldap-sync", "--uri", sl.uri, "--base", SUFFIX,
            "--domain", "example.test")
    before = people(ctl)
    r = ctl(*args, "--page-size", "0", ok=False)
    assert r.returncode == 1 and "Size limit exceeded" in r.stderr
    assert people(ctl) == before
    r = ctl(*args, "--page-size", "2")
    assert "3 users, added 3" in r.stdout, r.stdout
    assert {"alice@example.test", "bob@example.test",
            "dave@example.test"} <= set(people(ctl))


def test_ldap_sync_ldaps(ldap_world):
    """ldaps:// with the server's CA given: synced; without it the
    certificate is not trusted: non-zero, nothing changed."""
    sl, ctl, mx = ldap_world
    args = ("ldap-sync", "--uri", sl.tls_uri, "--base", SUFFIX,
            "--bind-dn", ROOT, "--password-file", sl.pwfile,
            "--domain", "example.test")
    before = people(ctl)
    r = ctl(*args, ok=False)
    assert r.returncode == 1 and "ldap bind" in r.stderr, r.stderr
    assert people(ctl) == before
    r = ctl(*args, "--ca-file", sl.cert[0])
    assert "3 users, added 3" in r.stdout, r.stdout
