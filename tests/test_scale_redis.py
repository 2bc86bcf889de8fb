"""Rate limits and failed logins shared through Redis (issue #17).

A private redis-server (tests/engines.py); two msa processes with the
same redis_server count one user's messages together, two stores lock a
user out together; with Redis killed every stage goes on with its local
tables, says so in its log, and mail still flows; a Redis back on its
port is picked up again. Two mx with the same redis_server keep one set
of greylisting triplets there, and count connections, senders, spam-trap
holds and screening passes together.
"""
import imaplib
import re
import signal
import smtplib
import time

import pytest

from conftest import client_tls, free_port, wait_for, wait_messages
from engines import Redis, need_redis
from test_msa import PW, RATE_MESSAGES, World, msg
from test_sec_auth import ImapFrom

UP = "redis 127.0.0.1:%d up, limits shared"
DOWN = "down (%s): local limits only"


@pytest.fixture
def redis(cluster):
    need_redis()
    r = Redis(cluster.base).start()
    yield r
    r.kill()


def wait_up(daemon, redis):
    wait_for(lambda: UP % redis.port in daemon.log(), timeout=10,
             what=daemon.name + " to connect to redis")


@pytest.fixture
def msa_pair(cluster, redis):
    extra = {"redis_server": redis.addr}
    w = World(cluster, extra)
    w.mport2 = free_port()
    w.msa2 = w.start_msa(cluster, dict(
        extra, metrics_listen="127.0.0.1:%d" % w.mport2))
    for m in (w.msa, w.msa2):
        wait_up(m, redis)
    return w


def login(w, port, user):
    s = smtplib.SMTP("127.0.0.1", port, timeout=20)
    s.starttls(context=client_tls())
    s.ehlo("pc.example.test")
    s.login(user, PW[user])
    return s


def test_msa_pair_shares_one_rate_limit(msa_pair):
    w = msa_pair
    user = "dave@example.test"
    ports = [w.msa.port, w.msa2.port]
    # RATE_MESSAGES messages spread over both servers...
    for i in range(RATE_MESSAGES):
        with login(w, ports[i % 2], user) as s:
            s.sendmail(user, ["bob@example.test"], msg(user, "bob",
                                                       "n%d" % i))
    # ...and the next one is refused by either, once the last message's
    # event reached the other server (a mirror: milliseconds, more under
    # a loaded ASan build)
    def refused(p):
        with login(w, p, user) as s:
            code, text = s.mail(user)
            return (code, text[:5]) == (450, b"4.7.1")
    for p in ports:
        wait_for(lambda: refused(p), timeout=3,
                 what="msa on port %d to refuse" % p)
    # other users are not affected
    with login(w, ports[1], "alice@example.test") as s:
        s.sendmail("alice@example.test", ["bob@example.test"],
                   msg("alice@example.test", "bob", "other user"))
    wait_messages(w.store, "bob@example.test", RATE_MESSAGES + 1)
    # msa2 sent its messages' events and applied msa's
    assert shared_events(w.mport2, "published") >= RATE_MESSAGES // 2
    assert shared_events(w.mport2, "applied") >= RATE_MESSAGES // 2
    assert shared_events(w.mport2, "dropped") == 0


def labelled(port, name, key, value):
    """The counter name{key="value"} of a stage's metrics endpoint."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^%s\{%s="%s"\} (\d+)$' % (name, key, value), text,
                  re.M)
    return int(m.group(1)) if m else 0


def shared_events(port, what):
    return labelled(port, "sluice_shared_events_total", "what", what)


def test_redis_killed_local_limits_mail_flows(msa_pair, redis):
    w = msa_pair
    redis.kill()
    for m in (w.msa, w.msa2):
        wait_for(lambda: DOWN % "closed" in m.log() or
                 "local limits only" in m.log(), timeout=5,
                 what=m.name + " to say redis is down")
        assert "redis_down_total=1" in m.log()
    # mail still flows, and each server still enforces its own limit
    user = "carol@example.test"
    for i in range(RATE_MESSAGES):
        with login(w, w.msa.port, user) as s:
            s.sendmail(user, ["bob@example.test"], msg(user, "bob",
                                                       "down %d" % i))
    with login(w, w.msa.port, user) as s:
        assert s.mail(user)[0] == 450
    with login(w, w.msa2.port, user) as s:       # not shared now
        s.sendmail(user, ["bob@example.test"], msg(user, "bob", "on B"))
    wait_messages(w.store, "bob@example.test", RATE_MESSAGES + 1)
    # Redis back on its port: both servers share again
    redis.start()
    for m in (w.msa, w.msa2):
        wait_for(lambda: m.log().count(UP % redis.port) == 2, timeout=5,
                 what=m.name + " to reconnect")


def test_imap_failures_on_store_a_lock_user_on_store_b(cluster, redis):
    w = World(cluster, {"redis_server": redis.addr})
    extra = {"directory_file": w.snap, "credentials_file": w.snap + ".auth",
             "tls_cert": cluster.cert[0], "tls_key": cluster.cert[1],
             "auth_fail_max": "3", "redis_server": redis.addr}
    stores = []
    for _ in range(2):
        port = free_port()
        st = cluster.store(extra=dict(extra, imaps_listen="127.0.0.1:%d"
                                      % port))
        st.imaps = port
        wait_up(st, redis)
        stores.append(st)
    a, b = stores
    m = ImapFrom(a.imaps, "127.0.0.2")
    for _ in range(3):
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.login("bob@example.test", "not it")
    m.logout()
    # on B, from another address: bob is locked out, alice is not
    def locked(st=b, source="127.0.0.3"):
        m = ImapFrom(st.imaps, source)
        try:
            m.login("bob@example.test", PW["bob@example.test"])
            m.logout()
            return False
        except imaplib.IMAP4.error as e:
            assert "UNAVAILABLE" in str(e), e
            return True
    wait_for(locked, timeout=3, what="bob locked out on store B")
    m = ImapFrom(b.imaps, "127.0.0.5")
    assert m.login("alice@example.test", PW["alice@example.test"])[0] == \
        "OK"
    m.logout()
    # a store started later replays the window from Redis
    port = free_port()
    c = cluster.store(extra=dict(extra, imaps_listen="127.0.0.1:%d" % port))
    c.imaps = port
    wait_up(c, redis)
    wait_for(lambda: locked(c, "127.0.0.4"), timeout=3,
             what="bob locked out on a store started later")


def grey_metric(port, store):
    return labelled(port, "sluice_greylist_verdicts_total", "store", store)


def test_mx_pair_shares_greylisting(cluster, redis):
    """Two mx with one redis_server keep one set of greylisting triplets:
    a retry passes on the other server; with Redis killed, or stopped
    (silent), each answers from its own SQLite store, logs it and counts
    it, and mail still passes the delay; Redis back, shared again."""
    from test_admin_stats import metric
    from test_mx_screen import Client, mx_with, send
    st = cluster.store()
    mxs = []
    for _ in range(2):
        mport = free_port()
        mxs.append(mx_with(cluster, st, greylist="yes",
                           greylist_delay="2s", redis_server=redis.addr,
                           metrics_listen="127.0.0.1:%d" % mport))
        mxs[-1].mport = mport
    a, b = mxs
    for m in mxs:
        wait_up(m, redis)

    def rcpt(m, to, sender="someone@remote.test"):
        c = Client(m.port)
        try:
            return send(c, to, sender)[0]
        finally:
            c.close()

    # first try on A, too early on B (one triplet), the retry on B passes
    assert rcpt(a, "alice@example.test") == 451
    assert rcpt(b, "alice@example.test") == 451
    time.sleep(2.1)
    assert rcpt(b, "alice@example.test") == 250
    assert rcpt(a, "alice@example.test") == 250
    assert "greylist passed" in b.log()
    # another triplet, first on B: A knows it as well
    assert rcpt(b, "bob@example.test") == 451
    time.sleep(2.1)
    assert rcpt(a, "bob@example.test") == 250
    for m in mxs:
        assert grey_metric(m.mport, "redis") >= 3
        assert grey_metric(m.mport, "local") == 0
    # Redis killed: local stores, logged and counted; mail still passes
    redis.kill()
    assert rcpt(a, "alice@example.test", "other@remote.test") == 451
    time.sleep(2.1)
    assert rcpt(a, "alice@example.test", "other@remote.test") == 250
    assert "greylist: redis unavailable: local triplets" in a.log()
    assert grey_metric(a.mport, "local") == 2
    assert metric(a.mport, "sluice_redis_down_total") == 1
    # Redis back: shared again (what was shared before is gone with it)
    redis.start()
    for m in mxs:
        wait_for(lambda: m.log().count(UP % redis.port) == 2, timeout=5,
                 what=m.name + " to reconnect")
    assert rcpt(a, "carol@example.test") == 451
    assert "greylist: redis answers again" in a.log()
    # Redis silent (stopped): the RCPT is answered from the local store
    # within about a second, not held
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        assert rcpt(b, "carol@example.test", "late@remote.test") == 451
        took = time.monotonic() - t0
        assert took < 3.0, took
        assert grey_metric(b.mport, "local") >= 1
    finally:
        redis.proc.send_signal(signal.SIGCONT)


def test_mx_pair_shares_dnsbl_verdicts(cluster, redis):
    """A DNS list verdict one mx looked up is the other's too (through
    Redis): with the list's DNS server gone, the second mx still refuses
    the listed client, and an unlisted client still gets in."""
    from conftest import dnsmasq
    from test_admin_stats import metric
    from test_mx_screen import Client, mx_with
    dns, servers = dnsmasq(cluster.base, [
        "host-record=21.0.0.127.a.test,127.0.0.2"])
    st = cluster.store()
    mxs = []
    try:
        for _ in range(2):
            mport = free_port()
            mxs.append(mx_with(cluster, st, dns_servers=servers,
                               dns_timeout="1s", dnsbl_loopback="yes",
                               dnsbl_sites="a.test, b.test*0",
                               redis_server=redis.addr,
                               metrics_listen="127.0.0.1:%d" % mport))
            mxs[-1].mport = mport
        a, b = mxs
        for m in mxs:
            wait_up(m, redis)
        c = Client(a.port, source="127.0.0.21", hello=None)
        assert c.greeting[0] == 554, c.greeting
        c.close()
        assert metric(a.mport, "sluice_dnsbl_shared_total") == 0
    finally:
        dns.terminate()
        dns.wait()
    # the lists' server is gone: b knows the verdict from Redis
    c = Client(b.port, source="127.0.0.21", hello=None)
    assert c.greeting[0] == 554, c.greeting
    assert "blocked using a.test" in c.greeting[1]
    c.close()
    assert metric(b.mport, "sluice_dnsbl_shared_total") == 1
    # a client nobody looked up: DNS fails, mail is not stopped
    c = Client(b.port, source="127.0.0.22", hello=None)
    assert c.greeting[0] == 220, c.greeting
    c.close()
    # Redis gone too: the lookup is DNS's again (failing: let in)
    redis.kill()
    c = Client(a.port, source="127.0.0.23", hello=None)
    assert c.greeting[0] == 220, c.greeting
    c.close()


def mx_pair(cluster, redis, **extra):
    """Two mx on one redis_server (and one store), both connected."""
    from test_mx_screen import mx_with
    st = cluster.store()
    mxs = [mx_with(cluster, st, redis_server=redis.addr, **extra)
           for _ in range(2)]
    for m in mxs:
        wait_up(m, redis)
    return mxs


def greeting(m, source="127.0.0.7"):
    from test_mx_screen import Client
    c = Client(m.port, source=source, hello=None)
    try:
        return c.greeting
    finally:
        c.close()


def test_mx_pair_shares_connection_rate(cluster, redis):
    """One client network, connections split over both mx: the one over
    connection_rate_limit gets 421, whichever mx it reaches."""
    a, b = mx_pair(cluster, redis, connection_rate_limit=4,
                   connection_rate_window="60s")
    for m in (a, b, a, b):
        assert greeting(m)[0] == 220
    time.sleep(0.5)
    r = greeting(b)
    assert r[0] == 421 and r[1].startswith("4.7.0"), r
    r = greeting(a)
    assert r[0] == 421 and r[1].startswith("4.7.0"), r
    assert greeting(a, "127.0.0.9")[0] == 220      # another client


def test_mx_pair_shares_sender_rate(cluster, redis):
    """A sender at its limit on one mx is refused on the other."""
    from test_mx_screen import Client
    a, b = mx_pair(cluster, redis, sender_rate_limit=3,
                   sender_rate_window="60s")
    c = Client(a.port)
    for _ in range(3):
        assert c.cmd("MAIL FROM:<Bulk@remote.test>")[0] == 250
        c.cmd("RSET")
    c.close()
    c = Client(b.port)
    try:
        def refused():
            r = c.cmd("MAIL FROM:<bulk@remote.test>")
            c.cmd("RSET")
            return r[0] == 450
        assert refused()
        assert c.cmd("MAIL FROM:<other@remote.test>")[0] == 250
    finally:
        c.close()


def test_mx_pair_shares_spam_trap_holds(cluster, redis):
    """A client that mails a spam trap on mx A is on hold on mx B."""
    from test_mx_screen import Client, send
    a, b = mx_pair(cluster, redis, spam_traps="trap@example.test",
                   spam_trap_block_time="60s")
    c = Client(a.port)
    assert send(c, "trap@example.test")[0] == 550
    c.close()
    time.sleep(0.5)
    r = greeting(b)
    assert r[0] == 554 and "spam trap" in r[1], r
    assert greeting(b, "127.0.0.9")[0] == 220


def test_mx_pair_shares_screen_passes(cluster, redis):
    """A client that sat out the greet pause on mx A skips it on B."""
    from test_mx_screen import Client
    a, b = mx_pair(cluster, redis, greet_pause_ms=800,
                   screen_pass_time="1h")
    c = Client(a.port)
    c.cmd("QUIT")
    c.close()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert greeting(b)[0] == 220
    assert time.monotonic() - t0 < 0.6


def test_mx_pair_redis_killed_counts_alone(cluster, redis):
    """Redis killed: each mx counts its own connections from then on,
    and says so once in its log; what was shared before still counts."""
    a, b = mx_pair(cluster, redis, connection_rate_limit=3,
                   connection_rate_window="60s")
    assert greeting(a)[0] == 220
    assert greeting(b)[0] == 220
    time.sleep(0.5)
    redis.kill()
    for m in (a, b):
        wait_for(lambda: "local limits only" in m.log(), timeout=5,
                 what=m.name + " to say redis is down")
    assert greeting(a)[0] == 220        # 3 on a: both before, this one
    assert greeting(b)[0] == 220        # 3 on b: a's third is not seen
    assert greeting(a)[0] == 421
    assert greeting(b)[0] == 421
    for m in (a, b):
        assert m.log().count("local limits only") == 1


def test_spamd_pair_shares_dnsbl_verdicts(cluster, redis):
    """A DNS list verdict one spamd looked up is the other's too (through
    Redis): the second does not ask the list's DNS server and scores the
    same hit; with Redis killed both still score, asking DNS."""
    import os
    from conftest import dnsmasq
    from test_spamd import HAM, INBOX_ONLY, header, lmtp, messages, spamd
    log = os.path.join(cluster.base, "dnsmasq-queries.log")
    dns, servers = dnsmasq(cluster.base, [
        "log-queries", "log-facility=" + log,
        "host-record=2.2.0.192.bl.test,127.0.0.2",
        "host-record=6.2.0.192.bl.test,127.0.0.2"])
    try:
        store = cluster.store(extra=INBOX_ONLY)
        a, b = [spamd(cluster, store, {"dns_servers": servers,
                                       "dnsbl_zones": "bl.test:2.5",
                                       "dns_timeout": "2s",
                                       "redis_server": redis.addr})
                for _ in range(2)]
        for sd in (a, b):
            wait_up(sd, redis)

        def asked(addr):
            name = ".".join(reversed(addr.split("."))) + ".bl.test"
            with open(log, encoding="utf-8", errors="replace") as f:
                return sum("query[A] %s " % name in line for line in f)

        def status(sd, addr):
            n = len(messages(store, "alice@example.test"))
            assert lmtp(sd.port, ["alice@example.test"], HAM,
                        " XADDR=" + addr)[0][0] == 250
            got = wait_messages(store, "alice@example.test", n + 1)
            return header(got[-1], "X-Spam-Status")[0]

        s = status(a, "192.0.2.2")
        assert "RCVD_IN_BL_TEST" in s, s
        assert asked("192.0.2.2") == 1
        assert status(b, "192.0.2.2") == s
        assert asked("192.0.2.2") == 1, "spamd b asked DNS again"
        # Redis gone: each asks DNS itself, and still scores the hit
        redis.kill()
        for sd in (a, b):
            wait_for(lambda sd=sd: "down (" in sd.log(), timeout=5,
                     what=sd.name + " to say redis is down")
        for n, sd in enumerate((a, b)):
            s = status(sd, "192.0.2.6")
            assert "RCVD_IN_BL_TEST" in s, s
            assert asked("192.0.2.6") == n + 1
        assert a.log().count("down (") == 1, a.log()
    finally:
        dns.terminate()
        dns.wait()
