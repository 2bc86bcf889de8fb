"""sluice-admin in a real browser (Chromium headless through Selenium) and
with crafted HTTPS requests: login, persons and their aliases (mx accepts
the new address, the user logs in over IMAP), list owners, domain admins
kept to their domains, CSRF, session fixation, hostile input, queues.

A screenshot of every page is kept under build/test-artifacts/admin/.
"""
import http.client
import imaplib
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import time
import urllib.parse

import pytest

from conftest import (BUILD, ROOT, Ctl, Daemon, client_tls, free_port,
                      wait_for, write_conf)

pytestmark = pytest.mark.xdist_group("admin")

SHOTS = os.path.join(ROOT, "build", "test-artifacts", "admin")
PW = {"admin@example.test": "super-secret-1",
      "dadmin@example.test": "domain-secret-2",
      "odmin@other.test": "other-secret-3",
      "carol@example.test": "carol-secret-4",
      "bob@example.test": "bob-secret-5"}


class Https:
    """Crafted requests with their own cookie: what an attacker's script
    or a curious domain admin could send."""

    def __init__(self, port):
        self.port = port
        self.sid = None

    def req(self, method, path, form=None, headers=None, sid=None):
        c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                        context=client_tls())
        h = dict(headers or {})
        sid = sid if sid is not None else self.sid
        if sid:
            h["Cookie"] = "sid=" + sid
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        m = re.search(r"sid=([0-9a-f]*);", r.getheader("Set-Cookie") or "")
        c.close()
        return r.status, text, r, (m.group(1) if m else None)

    def login(self, user):
        st, text, _, sid = self.req("GET", "/login")
        assert st == 200 and sid
        self.sid = sid
        tok = csrf_of(text)
        st, _, r, sid2 = self.req("POST", "/login", {
            "csrf": tok, "user": user, "password": PW[user]})
        assert st == 303 and r.getheader("Location") == "/", st
        self.sid = sid2
        return self

    def csrf(self, path="/"):
        st, text, _, _ = self.req("GET", path)
        assert st == 200, (path, st)
        return csrf_of(text)


def csrf_of(html):
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


@pytest.fixture(scope="module")
def world(cert):
    base = tempfile.mkdtemp(prefix="sluice-admin-")
    os.chmod(base, 0o755)
    ctl = Ctl(base)
    ctl("domain", "add", "example.test")
    ctl("domain", "add", "other.test")
    for u in PW:
        ctl("user", "add", u)
        ctl("user", "passwd", u, stdin=PW[u] + "\n")
    ctl("admin", "add", "*", "admin@example.test")
    ctl("admin", "add", "example.test", "dadmin@example.test")
    ctl("admin", "add", "other.test", "odmin@other.test")
    ctl("list", "add", "team@example.test", "bob@example.test")
    ctl("owner", "add", "team@example.test", "carol@example.test")
    ctl("list", "add", "secret@example.test", "carol@example.test")
    ctl("owner", "add", "secret@example.test", "bob@example.test")
    subprocess.run(["chown", "-R", "sluice", base], check=True)
    daemons = []

    def start(name, binary, conf, port, args=()):
        d = os.path.join(base, name)
        os.makedirs(d)
        subprocess.run(["chown", "sluice", d], check=True)
        write_conf(os.path.join(d, name + ".conf"), conf)
        dm = Daemon(name, os.path.join(BUILD, binary),
                    os.path.join(d, name + ".conf"), d, port)
        dm.args = args
        daemons.append(dm)
        return dm.start()

    imaps = free_port()
    store = start("store", "sluice-store", {
        "lmtp_listen": "127.0.0.1:%d" % free_port(),
        "hostname": "store.example.test", "directory_file": ctl.snap,
        "credentials_file": ctl.auth,
        "mail_root": os.path.join(base, "store", "mail"),
        "imap_listen": "", "pop3_listen": "", "pop3s_listen": "",
        "imaps_listen": "127.0.0.1:%d" % imaps,
        "tls_cert": cert[0], "tls_key": cert[1]}, imaps)
    store.imaps = imaps
    # the next hop is down: what mx accepts stays in its queue
    mxq = os.path.join(base, "mx", "queue")
    mxport = free_port()
    mx = start("mx", "sluice-mx", {
        "listen": "127.0.0.1:%d" % mxport,
        "hostname": "mx.example.test", "local_domains": "example.test",
        "directory_file": ctl.snap, "next_hop": "lmtp:127.0.0.1:1",
        "queue_dir": mxq, "tls_cert": "", "tls_key": "",
        "retry_min": "1h", "retry_max": "2h"}, mxport)
    adm_port = free_port()
    state = os.path.join(base, "adminstate")
    adm = start("admin", "sluice-admin", {
        "listen": "127.0.0.1:%d" % adm_port,
        "tls_cert": cert[0], "tls_key": cert[1],
        "directory": ctl.db, "snapshot": ctl.snap, "state_dir": state,
        "queues": "mx:%s, msa:%s" % (mxq, os.path.join(base, "nope")),
        "mail_host": "mail.example.test", "imaps_port": "9933",
        "auth_fail_max": "50"}, adm_port)
    adm.state = state
    w = type("World", (), {})()
    w.base, w.ctl, w.store, w.mx, w.admin = base, ctl, store, mx, adm
    w.url = "https://127.0.0.1:%d" % adm_port
    w.start = start
    yield w
    errors = []
    for d in reversed(daemons):
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
    shutil.rmtree(base, ignore_errors=True)
    assert not errors, "\n".join(errors)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--ignore-certificate-errors", "--window-size=1200,1000",
              "--disable-gpu", "--no-first-run"):
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_page_load_timeout(20)
    os.makedirs(SHOTS, exist_ok=True)
    yield d
    d.quit()


def shot(b, name):
    b.save_screenshot(os.path.join(SHOTS, name + ".png"))


def by_id(b, i):
    from selenium.webdriver.common.by import By
    return b.find_element(By.ID, i)


def text_of(b, i):
    """The text of element i, "" while the page is being replaced."""
    from selenium.common.exceptions import WebDriverException
    try:
        return by_id(b, i).text
    except WebDriverException:
        return ""


def submit(b, button):
    """Click a form's button and wait for the next page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    old = b.find_element(By.TAG_NAME, "html")
    by_id(b, button).click()

    def gone():
        try:
            old.is_enabled()
            return False
        except WebDriverException:   # stale, or no longer in the page
            return True
    wait_for(gone, 10, "the next page")
    wait_for(lambda: b.execute_script("return document.readyState") ==
             "complete", 10, "the page to load")


def login(b, w, user):
    b.delete_all_cookies()
    b.get(w.url + "/login")
    shot(b, "login")
    by_id(b, "user").send_keys(user)
    by_id(b, "password").send_keys(PW[user])
    submit(b, "login")
    wait_for(lambda: "/login" not in b.current_url, 10, "login")
    assert by_id(b, "me").text == user


def fill(b, values):
    for k, v in values.items():
        e = by_id(b, k)
        e.clear()
        e.send_keys(v)


def mx_accepts(port, rcpt):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.ehlo("client.remote.test")
        s.mail("someone@remote.test")
        code, _ = s.rcpt(rcpt)
        return code


def test_person_created_in_browser(world, browser):
    b = browser
    login(b, world, "dadmin@example.test")
    shot(b, "home-domain-admin")
    assert "other.test" not in by_id(b, "domains").text
    b.get(world.url + "/domain?d=example.test")
    assert mx_accepts(world.mx.port, "ada.lovelace@example.test") == 550
    fill(b, {"first": "Ada", "last": "Lovelace",
             "person-password": "ada-secret-77", "quota": "10m"})
    submit(b, "create-person")
    t0 = time.monotonic()
    wait_for(lambda: "/welcome" in b.current_url, 10, "welcome page")
    shot(b, "welcome")
    assert by_id(b, "address").text == "ada.lovelace@example.test"
    assert "9933" in by_id(b, "settings").text
    assert "mail.example.test" in by_id(b, "settings").text
    # mx takes the new address and its aliases within a second or so
    wait_for(lambda: mx_accepts(world.mx.port,
                                "ada.lovelace@example.test") == 250,
             3, "mx to accept the new address")
    took = time.monotonic() - t0
    assert took < 2.0, took
    assert mx_accepts(world.mx.port, "a.lovelace@example.test") == 250
    assert mx_accepts(world.mx.port, "lovelace@example.test") == 250
    b.get(world.url + "/user?a=ada.lovelace%40example.test")
    assert "10485760" in by_id(b, "details").text
    shot(b, "user")
    b.get(world.url + "/domain?d=example.test")
    shot(b, "domain")
    assert "ada.lovelace@example.test" in by_id(b, "mailboxes").text
    al = by_id(b, "aliases").text
    assert "a.lovelace@example.test" in al and "lovelace@example.test" in al
    # and she reads her mail
    wait_for(lambda: _imap_login(world, "ada.lovelace@example.test",
                                 "ada-secret-77"), 3, "IMAP login")


def _imap_login(world, user, pw):
    m = imaplib.IMAP4_SSL("127.0.0.1", world.store.imaps,
                          ssl_context=client_tls())
    try:
        m.login(user, pw)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.logout()
        except Exception:
            pass


def test_ambiguous_alias_becomes_shared(world, browser):
    b = browser
    login(b, world, "dadmin@example.test")
    b.get(world.url + "/domain?d=example.test")
    fill(b, {"first": "Alan", "last": "Lovelace"})
    submit(b, "create-person")
    wait_for(lambda: "/welcome" in b.current_url, 10, "welcome page")
    b.get(world.url + "/domain?d=example.test")
    shared = by_id(b, "shared").text
    assert re.search(r"a\.lovelace@example\.test\s+"
                     r".*alan\.lovelace@example\.test", shared), shared
    assert "ada.lovelace@example.test" in shared
    # mx takes it: the store tells the sender whom to write to
    wait_for(lambda: mx_accepts(world.mx.port,
                                "a.lovelace@example.test") == 250,
             3, "mx to accept the shared address")
    assert "a.lovelace@example.test" not in by_id(b, "aliases").text
    shot(b, "domain-shared")


def test_list_owner_edits_members_only_of_own_list(world, browser):
    b = browser
    login(b, world, "carol@example.test")
    assert "team@example.test" in by_id(b, "owned").text
    b.get(world.url + "/list?a=team%40example.test")
    by_id(b, "member").send_keys("carol@example.test")
    submit(b, "add-member")
    wait_for(lambda: "carol@example.test" in text_of(b, "members"), 5,
             "new member")
    assert "bob@example.test" in by_id(b, "members").text
    shot(b, "list")
    b.get(world.url + "/list?a=secret%40example.test")
    assert "owners" in by_id(b, "error").text
    assert "carol@example.test" not in b.page_source.split("<main>")[1] \
        .replace("carol@example.test)", "")
    shot(b, "list-not-owner")
    # a domain admin who owns no list sees no members either
    st, text, _, _ = Https(world.admin.port).login(
        "dadmin@example.test").req("GET", "/list?a=team%40example.test")
    assert st == 403 and "bob@example.test" not in text


def test_domain_admin_kept_to_own_domain(world, browser):
    b = browser
    login(b, world, "dadmin@example.test")
    # by link: there is none, and typing the URL is refused
    assert "other.test" not in b.page_source
    b.get(world.url + "/domain?d=other.test")
    assert "do not administer" in by_id(b, "error").text
    shot(b, "other-domain-refused")
    # by crafted requests with a valid session and token
    h = Https(world.admin.port).login("dadmin@example.test")
    tok = h.csrf()
    for path, form in [
            ("/mailbox", {"d": "other.test", "local": "evil"}),
            ("/person", {"d": "other.test", "first": "e", "last": "vil"}),
            ("/user", {"a": "odmin@other.test", "op": "del"}),
            ("/user", {"a": "odmin@other.test", "op": "passwd",
                       "value": "attacker-pass"}),
            ("/alias", {"op": "add", "d": "other.test", "local": "x",
                        "targets": "dadmin@example.test"}),
            ("/alias", {"op": "add", "d": "example.test", "local": "steal",
                        "targets": "odmin@other.test"}),
            ("/domain/add", {"domain": "new.test"}),
            ("/admin/add", {"domain": "other.test",
                            "address": "dadmin@example.test"})]:
        form["csrf"] = tok
        st, text, _, _ = h.req("POST", path, form)
        assert st == 403, (path, st, text)
    for path in ("/user?a=odmin%40other.test", "/welcome?a=odmin%40other.test",
                 "/queues", "/audit"):
        assert h.req("GET", path)[0] == 403, path
    users = world.ctl("user", "list").stdout
    assert "evil" not in users and "odmin@other.test" in users
    assert "new.test" not in world.ctl("domain", "list").stdout
    assert _imap_login(world, "odmin@other.test", PW["odmin@other.test"])


def test_sender_lists_in_browser(world, browser):
    """A user manages their own allow and block lists; a domain admin
    those of their domain's users and no one else's. Every change is in
    the sender lists snapshot spamd reads at once; a pattern that is
    neither an address nor @domain is refused."""
    from selenium.webdriver.common.by import By
    b = browser
    snap = world.ctl.snap + ".senders"

    def rules():
        return [ln for ln in open(snap).read().splitlines()
                if not ln.startswith("#")]
    login(b, world, "bob@example.test")
    by_id(b, "my-senders").click()
    wait_for(lambda: "bob@example.test" in b.title, 10, "the lists page")
    fill(b, {"sender": "@Annoying.test"})
    submit(b, "add-sender")
    wait_for(lambda: "@annoying.test" in text_of(b, "senders"), 5,
             "the new rule")
    by_id(b, "sender").send_keys("friend@promo.test")
    by_id(b, "kind").send_keys("allow")
    submit(b, "add-sender")
    wait_for(lambda: "friend@promo.test" in text_of(b, "senders"), 5,
             "the second rule")
    shot(b, "senders")
    assert rules() == ["bob@example.test block @annoying.test",
                       "bob@example.test allow friend@promo.test"]
    by_id(b, "sender").send_keys("annoying.test")
    submit(b, "add-sender")
    assert "@domain" in by_id(b, "error").text
    b.get(world.url + "/senders")
    b.find_element(By.XPATH, "//tr[td[@class='pattern' and "
                   "text()='@annoying.test']]//button").click()
    wait_for(lambda: "@annoying.test" not in text_of(b, "senders") and
             "friend@promo.test" in text_of(b, "senders"), 5,
             "the rule removed")
    assert rules() == ["bob@example.test allow friend@promo.test"]
    # someone else's lists: refused, by link and by crafted request
    b.get(world.url + "/senders?a=carol%40example.test")
    assert "own sender lists" in by_id(b, "error").text
    h = Https(world.admin.port).login("bob@example.test")
    st, _, _, _ = h.req("POST", "/senders", {
        "csrf": h.csrf(), "op": "add", "a": "carol@example.test",
        "kind": "block", "pattern": "@x.test"})
    assert st == 403
    # the domain admin of example.test manages carol's, not odmin's
    login(b, world, "dadmin@example.test")
    b.get(world.url + "/user?a=carol%40example.test")
    b.find_element(By.LINK_TEXT, "Sender lists").click()
    wait_for(lambda: "carol@example.test" in b.title, 10, "carol's lists")
    fill(b, {"sender": "boss@rival.test"})
    submit(b, "add-sender")
    wait_for(lambda: "boss@rival.test" in text_of(b, "senders"), 5,
             "carol's rule")
    assert "carol@example.test block boss@rival.test" in rules()
    h = Https(world.admin.port).login("dadmin@example.test")
    st, _, _, _ = h.req("POST", "/senders", {
        "csrf": h.csrf(), "op": "add", "a": "odmin@other.test",
        "kind": "block", "pattern": "@x.test"})
    assert st == 403
    assert h.req("GET", "/senders?a=odmin%40other.test")[0] == 403
    assert not [r for r in rules() if r.startswith("odmin@")]
    audit = open(os.path.join(world.admin.state, "audit.log")).read()
    assert "what=senders carol@example.test block boss@rival.test, " \
        "result=ok" in audit


def test_csrf_refused(world):
    h = Https(world.admin.port).login("admin@example.test")
    tok = h.csrf()
    for form, headers in [
            ({"domain": "csrf1.test"}, {}),
            ({"domain": "csrf2.test", "csrf": "0" * 64}, {}),
            ({"domain": "csrf3.test", "csrf": tok},
             {"Origin": "https://evil.test"})]:
        st, text, _, _ = h.req("POST", "/domain/add", form, headers)
        assert st == 403 and "CSRF" in text
    assert "csrf" not in world.ctl("domain", "list").stdout
    # the same request with the token and our origin works
    st, _, _, _ = h.req("POST", "/domain/add", {"domain": "ok.test",
                                                "csrf": tok},
                        {"Origin": "https://127.0.0.1:%d" %
                         world.admin.port})
    assert st == 303 and "ok.test" in world.ctl("domain", "list").stdout
    world.ctl("domain", "del", "ok.test")


def test_session_fixation_refused(world):
    h = Https(world.admin.port)
    # an attacker plants a session id of the login form, or one he made up
    st, text, _, planted = h.req("GET", "/login")
    h.sid = planted
    st, _, r, new = h.req("POST", "/login", {
        "csrf": csrf_of(text), "user": "admin@example.test",
        "password": PW["admin@example.test"]})
    assert st == 303 and new and new != planted
    st, _, r, _ = h.req("GET", "/", sid=planted)
    assert st == 303 and r.getheader("Location") == "/login"
    assert h.req("GET", "/", sid=new)[0] == 200
    made_up = "ab" * 32
    assert h.req("GET", "/", sid=made_up)[0] == 303
    # logout ends it
    tok = csrf_of(h.req("GET", "/", sid=new)[1])
    h.req("POST", "/logout", {"csrf": tok}, sid=new)
    assert h.req("GET", "/", sid=new)[0] == 303


def restart_admin(world):
    """Stop and start sluice-admin; back once it serves again (its port
    is bound before it reads its state)."""
    n = world.admin.log().count("(HTTPS), directory")
    world.admin.stop()
    world.admin.start()
    wait_for(lambda: world.admin.log().count("(HTTPS), directory") > n,
             10, "sluice-admin to serve")


def test_sessions_survive_restart(world, browser):
    """A logged-in browser stays logged in across a restart of
    sluice-admin (state_dir/sessions, 0600, hashes only); a forged cookie
    still fails, logout removes the session, expired ones are purged."""
    b = browser
    login(b, world, "dadmin@example.test")
    sid = b.get_cookie("sid")["value"]
    h = Https(world.admin.port).login("admin@example.test")
    path = os.path.join(world.admin.state, "sessions")
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600
    text = open(path).read()
    assert sid not in text and h.sid not in text      # only their hashes
    import hashlib
    assert hashlib.sha256(sid.encode()).hexdigest() in text
    assert "\tdomain\tdadmin@example.test\n" in text
    assert "\tsuper\tadmin@example.test\n" in text
    # an expired session in the file is purged at start
    with open(path, "a") as f:
        f.write("%s\t%s\t%d\tsuper\told@example.test\n" %
                ("cd" * 32, "ef" * 32, int(time.time()) - 10))
    restart_admin(world)
    assert "old@example.test" not in open(path).read()
    b.get(world.url + "/")
    assert "/login" not in b.current_url
    assert by_id(b, "me").text == "dadmin@example.test"
    shot(b, "after-restart")
    # the CSRF token came back too: a change from the same page works
    b.get(world.url + "/domain?d=example.test")
    fill(b, {"first": "Resta", "last": "Rted"})
    submit(b, "create-person")
    wait_for(lambda: "/welcome" in b.current_url, 10, "welcome page")
    assert "resta.rted@example.test" in world.ctl("user", "list").stdout
    # a forged cookie (made up, or the hash from the file) still fails
    for forged in ("ab" * 32, hashlib.sha256(sid.encode()).hexdigest(),
                   sid[:-1] + ("0" if sid[-1] != "0" else "1")):
        st_, _, r, _ = h.req("GET", "/", sid=forged)
        assert st_ == 303 and r.getheader("Location") == "/login"
    assert h.req("GET", "/")[0] == 200
    # logout removes it from the file
    tok = csrf_of(h.req("GET", "/")[1])
    hashed = hashlib.sha256(h.sid.encode()).hexdigest()
    assert hashed in open(path).read()
    h.req("POST", "/logout", {"csrf": tok})
    assert hashed not in open(path).read()
    restart_admin(world)
    assert h.req("GET", "/")[0] == 303


def test_cookie_and_tls_headers(world):
    h = Https(world.admin.port)
    st, _, r, _ = h.req("GET", "/login")
    c = r.getheader("Set-Cookie")
    for flag in ("Secure", "HttpOnly", "SameSite=Strict"):
        assert flag in c
    assert "max-age" in r.getheader("Strict-Transport-Security")
    # TLS only: plain HTTP gets no page
    import socket
    with socket.create_connection(("127.0.0.1", world.admin.port), 5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(1000)
        except OSError:
            data = b""
    assert b"HTTP/1.1 200" not in data and b"<html" not in data


HOSTILE = ["<script>alert(1)</script>", "x\"><img src=x onerror=alert(1)>",
           "a;rm -rf /", "$(touch /tmp/pwned)", "a' OR '1'='1",
           "robert'); DROP TABLE users;--"]


def test_hostile_input(world, browser):
    h = Https(world.admin.port).login("dadmin@example.test")
    tok = h.csrf()
    for name in HOSTILE:
        for path, form in [("/mailbox", {"d": "example.test",
                                         "local": name}),
                           ("/person", {"d": "example.test", "first": name,
                                        "last": "x"}),
                           ("/alias", {"op": "add", "d": "example.test",
                                       "local": "h", "targets": name})]:
            form["csrf"] = tok
            st, text, _, _ = h.req("POST", path, form)
            assert st == 400, (path, name, st)
            assert 'id="error"' in text
            assert "<script>" not in text and "<img" not in text
    assert not os.path.exists("/tmp/pwned")
    # an address that is valid but full of HTML specials shows escaped
    st, text, _, _ = h.req("POST", "/mailbox", {
        "d": "example.test", "local": "o'brien&co", "csrf": tok})
    assert st == 303, text
    st, text, _, _ = h.req("GET", "/domain?d=example.test")
    assert "o&#39;brien&amp;co@example.test" in text
    assert "o'brien&co@" not in text
    users = world.ctl("user", "list").stdout
    assert "o'brien&co@example.test" in users
    assert "admin@example.test" in users   # no table dropped
    b = browser
    login(b, world, "dadmin@example.test")
    b.get(world.url + "/domain?d=example.test")
    fill(b, {"mb-local": "<script>alert(1)</script>"})
    submit(b, "create-mailbox")
    err = by_id(b, "error").text
    assert "<script>alert(1)</script>" in err and "not a valid" in err
    shot(b, "hostile-refused")


def test_failed_logins_limited_and_audited(world):
    h = Https(world.admin.port)
    st, text, _, sid = h.req("GET", "/login")
    h.sid = sid
    t0 = time.monotonic()
    st, text, _, _ = h.req("POST", "/login", {
        "csrf": csrf_of(text), "user": "bob@example.test",
        "password": "wrong"})
    assert st == 403 and "Wrong" in text
    assert time.monotonic() - t0 >= 0.4   # answered after a delay
    with open(os.path.join(world.admin.state, "audit.log")) as f:
        audit = f.read()
    assert re.search(r"^\d{4}-\d\d-\d\dT\S+Z user=dadmin@example.test "
                     r"client=127\.0\.0\.1 what=person add example.test "
                     r"ada lovelace --quota 10m, result=ok$", audit, re.M), \
        audit
    assert "user passwd ada.lovelace@example.test, result=ok" in audit
    assert "ada-secret-77" not in audit


def test_lockout_like_imap(world, cert):
    """auth_fail_max failures lock the user out, even with the right
    password afterwards, as IMAP does (common/authlimit.c)."""
    port = free_port()
    d = os.path.join(world.base, "admin2state")
    adm = world.start("admin2", "sluice-admin", {
        "listen": "127.0.0.1:%d" % port, "tls_cert": cert[0],
        "tls_key": cert[1], "directory": world.ctl.db,
        "snapshot": world.ctl.snap, "state_dir": d, "queues": "",
        "auth_fail_max": "2"}, port)
    h = Https(adm.port)
    for pw in ("bad1", "bad2", PW["bob@example.test"]):
        st, text, _, sid = h.req("GET", "/login")
        h.sid = sid
        st, text, _, _ = h.req("POST", "/login", {
            "csrf": csrf_of(text), "user": "bob@example.test",
            "password": pw})
    assert st == 429 and "Too many" in text


def test_queue_page(world, browser):
    with smtplib.SMTP("127.0.0.1", world.mx.port, timeout=10) as s:
        s.sendmail("someone@remote.test", ["bob@example.test"],
                   b"Subject: queued\r\n\r\nhello\r\n")
    h = Https(world.admin.port).login("admin@example.test")
    st, text, _, _ = h.req("GET", "/queues")
    assert st == 200
    ids = re.findall(r'name="id" value="([A-Za-z0-9]+)"', text)
    assert ids, text
    qid = ids[0]
    assert "not running" in text     # the msa queue is not there
    tok = csrf_of(text)
    st, _, _, _ = h.req("POST", "/queue", {"csrf": tok, "q": "mx",
                                           "op": "hold", "id": qid})
    assert st == 303
    out = subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                          os.path.join(world.base, "mx", "queue"), "list"],
                         capture_output=True, text=True).stdout
    assert qid in out and "HELD" in out
    st, text, _, _ = h.req("POST", "/queue", {"csrf": tok, "q": "mx",
                                              "op": "hold",
                                              "id": qid + ";flush"})
    assert st == 400
    b = browser
    login(b, world, "admin@example.test")
    assert "other.test" in by_id(b, "domains").text
    shot(b, "home-super-admin")
    b.get(world.url + "/audit")
    assert "what=person add example.test ada lovelace" in \
        by_id(b, "audit").text
    shot(b, "audit")
    b.get(world.url + "/queues")
    assert qid in b.page_source and "HELD" in b.page_source
    shot(b, "queues")
    st, _, _, _ = h.req("POST", "/queue", {"csrf": tok, "q": "mx",
                                           "op": "delete", "id": qid})
    assert st == 303
    st, text, _, _ = h.req("GET", "/queues")
    assert 'value="%s"' % qid not in text and "0 message(s)" in text
    with open(os.path.join(world.admin.state, "audit.log")) as f:
        assert "what=queue mx delete %s, result=ok" % qid in f.read()


def test_sluicectl_persons_roles_owners(tmp_path):
    """The commands sluice-admin runs, from sluicectl: the same code."""
    ctl = Ctl(str(tmp_path))
    ctl("domain", "add", "example.test")
    out = ctl("person", "add", "example.test", "Grace", "Hopper").stdout
    assert out.split("\n")[:3] == ["mailbox\tgrace.hopper@example.test",
                                   "alias\tg.hopper@example.test",
                                   "alias\thopper@example.test"]
    out = ctl("person", "add", "example.test", "Gil", "Hopper").stdout
    assert "shared\tg.hopper@example.test" in out
    snap = open(ctl.snap).read()
    assert "gil.hopper@example.test" in snap
    # shared: delivered to no one, the store names the official addresses
    assert "\n=g.hopper@example.test: gil.hopper@example.test, " \
        "grace.hopper@example.test\n" in snap
    assert "\ng.hopper@example.test" not in snap
    for args in (["person", "add", "example.test", "x y", "z"],
                 ["person", "add", "example.test", "$(id)", "z"],
                 ["person", "add", "example.test", "a", "-b"],
                 ["admin", "add", "nope.test", "grace.hopper@example.test"],
                 ["admin", "add", "*", "nobody@example.test"],
                 ["owner", "add", "nolist@example.test",
                  "grace.hopper@example.test"],
                 ["user", "kind", "grace.hopper@example.test", "robot"]):
        r = ctl(*args, ok=False)
        assert r.returncode == 1 and r.stderr.startswith("sluicectl: "), args
    ctl("user", "kind", "grace.hopper@example.test", "role")
    ctl("list", "add", "l@example.test", "grace.hopper@example.test",
        "gil.hopper@example.test")
    ctl("owner", "add", "l@example.test", "gil.hopper@example.test")
    ctl("list", "rm", "l@example.test", "grace.hopper@example.test")
    assert "l@example.test: gil.hopper@example.test" in open(ctl.snap).read()
    ctl("admin", "add", "example.test", "gil.hopper@example.test")
    assert ctl("admin", "list").stdout == \
        "example.test\tgil.hopper@example.test\n"
