"""Users' allow and block lists of senders (issue #15, Table I 21).

The rules live in the user directory (SQLite or PostgreSQL), are written by
sluicectl (and the admin web, tests/test_admin.py) and reach spamd as the
sender lists snapshot, which spamd reloads when it changes. Real daemons:
spamd (LMTP or milter), the store, sluicectl, sluicectl watch on a private
PostgreSQL, a private Postfix.
"""
import os
import smtplib
import time

import pytest

from conftest import Ctl, messages as inbox, wait_for, wait_messages
from test_learn import junk
from test_spamd import HAM, RULES_MSG, header, lmtp, spamd, spamtrain

FRIEND = RULES_MSG.replace(b"From: x@spam.test",
                           b"From: Friend <friend@promo.test>")
ANNOYING = HAM.replace(b"Carol <carol@example.test>",
                       b"Ann <ann@news.annoying.test>")
# 40 with the rule of casino_rules()
CASINO = (b"From: deals@promo.test\r\nTo: bob@example.test\r\n"
          b"Subject: lunch\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\n"
          b"Message-ID: <g@promo.test>\r\n\r\nYour casino bonus.\r\n")


def casino_rules(d):
    """A rules_file in folder d (a tmp_path) that scores CASINO 40."""
    rules = d / "rules.cf"
    rules.write_text("body CASINO_BONUS /casino bonus/i 40.0\n")
    os.chmod(str(d), 0o755)
    os.chmod(str(rules), 0o644)
    return str(rules)


def directory(cluster, users=("alice", "bob")):
    ctl = Ctl(cluster._dir("dir"))
    ctl("domain", "add", "example.test")
    for u in users:
        ctl("user", "add", u + "@example.test")
    return ctl


def test_sluicectl_rules_reach_spamd(cluster):
    """alice allows friend@promo.test and blocks the domain annoying.test
    (but allows one address in it) with sluicectl; bob has no rules.
    Allowed: never Junk, never refused for the score; blocked: Junk. One
    message to both goes two ways. A rule added later is applied without
    a restart; one removed stops applying."""
    ctl = directory(cluster)
    ctl("senders", "alice@example.test", "allow", "Friend@Promo.test")
    ctl("senders", "alice@example.test", "block", "@annoying.test")
    ctl("senders", "alice@example.test", "allow", "pal@annoying.test")
    st = cluster.store()  # spam_folder Junk
    sd = spamd(cluster, st, {"sender_lists": ctl.snap + ".senders",
                             "required_score": "2.0",
                             "reject_score": "2.0"})
    # scored 2.3: refused when nobody allows it
    r = lmtp(sd.port, ["bob@example.test"], FRIEND, sender="x@y.test")
    assert r[0][0] == 550, r
    # alice allows it (From field): both get it, bob in Junk
    r = lmtp(sd.port, ["bob@example.test", "alice@example.test"], FRIEND,
             sender="bounce@mailer.test")
    assert [c for c, _ in r] == [250, 250], r
    a = wait_messages(st, "alice@example.test", 1)[0]
    assert b"USER_ALLOW" in a and b"X-Spam-Flag" not in a
    b = wait_for(lambda: junk(st, "bob@example.test"), what="bob's Junk")[0]
    assert b"X-Spam-Flag: YES" in b and b"USER_" not in b
    assert junk(st, "alice@example.test") == []
    # blocked domain (the envelope sender): alice's Junk, bob's INBOX
    r = lmtp(sd.port, ["alice@example.test", "bob@example.test"],
             ANNOYING, sender="ann@news.annoying.test")
    assert [c for c, _ in r] == [250, 250], r
    a = wait_for(lambda: junk(st, "alice@example.test"),
                 what="alice's Junk")[0]
    assert b"USER_BLOCK" in a and b"X-Spam-Flag: YES" in a
    b = wait_messages(st, "bob@example.test", 1)[0]
    assert b"X-Spam-Flag" not in b and b"USER_" not in b
    # the address allowed inside the blocked domain wins
    pal = ANNOYING.replace(b"ann@news.annoying.test", b"pal@annoying.test")
    r = lmtp(sd.port, ["alice@example.test"], pal,
             sender="pal@annoying.test")
    assert r[0][0] == 250
    a = wait_messages(st, "alice@example.test", 2)
    assert b"USER_ALLOW" in a[-1]
    assert len(junk(st, "alice@example.test")) == 1
    # bob blocks carol now; spamd looks at the snapshot again within a
    # second, without a restart
    ctl("senders", "bob@example.test", "block", "carol@example.test")
    time.sleep(1.1)
    r = lmtp(sd.port, ["bob@example.test", "alice@example.test"], HAM)
    assert [c for c, _ in r] == [250, 250], r
    b = wait_for(lambda: len(junk(st, "bob@example.test")) == 2 and
                 junk(st, "bob@example.test"), what="bob's Junk")[-1]
    assert b"USER_BLOCK" in b and b"minutes of the meeting" in b
    wait_messages(st, "alice@example.test", 3)
    assert b"USER_" not in inbox(st, "alice@example.test")[-1]
    assert "sender_lists" in sd.log() and "reloaded" in sd.log()
    # removed: carol reaches bob's INBOX again
    ctl("senders", "bob@example.test", "remove", "carol@example.test")
    time.sleep(1.1)
    r = lmtp(sd.port, ["bob@example.test"], HAM.replace(b"ham1", b"ham2"))
    assert r[0][0] == 250
    got = wait_messages(st, "bob@example.test", 2)[-1]
    assert b"ham2" in got and b"USER_" not in got
    assert len(junk(st, "bob@example.test")) == 2


def test_allow_beats_a_spammy_body(cluster, tmp_path):
    """A body that scores 40 (a rule of rules_file) from a domain bob
    allows: bob's INBOX with USER_ALLOW, not refused at reject_score 20
    although alice, who does not allow it, gets it too: in her Junk.
    Alone to alice it is refused. (GTUBE, 1000, stays spam even when
    allowed, as in SpamAssassin: -100 does not undo it.)"""
    ctl = directory(cluster)
    ctl("senders", "bob@example.test", "allow", "@promo.test")
    st = cluster.store()
    sd = spamd(cluster, st, {"sender_lists": ctl.snap + ".senders",
                             "rules_file": casino_rules(tmp_path),
                             "reject_score": "20"})
    msg = CASINO
    r = lmtp(sd.port, ["alice@example.test"], msg, sender="deals@promo.test")
    assert r[0][0] == 550, r
    r = lmtp(sd.port, ["bob@example.test", "alice@example.test"], msg,
             sender="deals@promo.test")
    assert [c for c, _ in r] == [250, 250], r
    b = wait_messages(st, "bob@example.test", 1)[0]
    status = header(b, "X-Spam-Status")[0]
    assert status.startswith("No,") and "USER_ALLOW" in status, status
    assert "CASINO_BONUS" in status and header(b, "X-Spam-Flag") == []
    a = wait_for(lambda: junk(st, "alice@example.test"),
                 what="alice's Junk")[0]
    assert header(a, "X-Spam-Flag") == ["YES"] and b"USER_" not in a
    assert inbox(st, "alice@example.test") == []


def test_broken_snapshot_keeps_the_old_lists(cluster):
    """A snapshot refused by the reader (a bent line) leaves the lists
    spamd has; the next good one is taken."""
    ctl = directory(cluster)
    ctl("senders", "bob@example.test", "block", "carol@example.test")
    st = cluster.store()
    path = ctl.snap + ".senders"
    sd = spamd(cluster, st, {"sender_lists": path})
    good = open(path).read()
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(good + "bob@example.test allow carol@example.test x\n")
    os.rename(tmp, path)
    time.sleep(1.1)
    assert lmtp(sd.port, ["bob@example.test"], HAM)[0][0] == 250
    got = wait_for(lambda: junk(st, "bob@example.test"), what="Junk")[0]
    assert b"USER_BLOCK" in got
    assert "sender_lists not reloaded" in sd.log()
    ctl("senders", "bob@example.test", "allow", "carol@example.test")
    time.sleep(1.1)
    assert lmtp(sd.port, ["bob@example.test"],
                HAM.replace(b"ham1", b"ham3"))[0][0] == 250
    got = wait_messages(st, "bob@example.test", 1)[0]
    assert b"USER_ALLOW" in got and b"ham3" in got


def test_rules_are_validated_and_bounded(cluster):
    """sluicectl refuses what the snapshot could not hold: anything but an
    address or @domain, a user that is no mailbox, a 1001st rule."""
    ctl = directory(cluster, users=("alice",))
    for bad in ("example.com", "@", "a b@x.test", "<a@x.test>",
                "a@x.test,b@x.test", "@x..test", "a@[127.0.0.1]"):
        r = ctl("senders", "alice@example.test", "block", bad, ok=False)
        assert r.returncode == 1 and "@domain" in r.stderr, (bad, r.stderr)
    r = ctl("senders", "nobody@example.test", "block", "@x.test", ok=False)
    assert r.returncode == 1 and "no user" in r.stderr
    r = ctl("senders", "alice@example.test", "deny", "@x.test", ok=False)
    assert r.returncode == 2
    # 1000 rules at once through SQL would take sluicectl 1000 runs:
    # fill the table directly, then sluicectl must refuse one more
    import sqlite3
    db = sqlite3.connect(ctl.db)
    db.executemany("INSERT INTO sender_lists VALUES(?, ?, 'block')",
                   [("alice@example.test", "s%d@x.test" % i)
                    for i in range(1000)])
    db.commit()
    db.close()
    r = ctl("senders", "alice@example.test", "block", "@one-more.test",
            ok=False)
    assert r.returncode == 1 and "1000 rules" in r.stderr, r.stderr
    # changing a rule's kind needs no room
    ctl("senders", "alice@example.test", "allow", "s5@x.test")
    out = ctl("senders", "alice@example.test", "list").stdout
    assert "allow\ts5@x.test" in out and len(out.splitlines()) == 1000
    lines = [ln for ln in open(ctl.snap + ".senders")
             if not ln.startswith("#")]
    assert len(lines) == 1000
    assert "alice@example.test allow s5@x.test\n" in lines
    # a user deleted takes their rules along
    ctl("user", "del", "alice@example.test")
    assert [ln for ln in open(ctl.snap + ".senders")
            if not ln.startswith("#")] == []


def _maildir(pf, user):
    d = os.path.join(pf.mail, "example.test", user, "Maildir", "new")
    if not os.path.isdir(d):
        return []
    return [open(os.path.join(d, n), "rb").read().replace(b"\n", b"\r\n")
            for n in sorted(os.listdir(d))]


def _case(msgs, n):
    tag = b"X-Case: %d\r\n" % n
    got = [m for m in msgs if tag in m]
    return got[0] if got else None


@pytest.mark.skipif(os.geteuid() != 0, reason="a Postfix instance needs root")
@pytest.mark.xdist_group("postfix")  # bench.PF_CONF is one directory
def test_milter_with_postfix(cluster, tmp_path):
    """spamd -m behind a real Postfix applies the lists of the RCPTs it
    sees: one copy for all recipients, so a rule counts in the fields
    only when every recipient's lists agree, and one recipient's allow
    keeps the message from being refused. Then the message Postfix
    delivered, X-Spam-* fields and all, is learnt by a learn listener
    (which strips them: our own verdict is no evidence)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                    "bench"))
    import bench
    from conftest import free_port
    from test_learn import db_counts
    ctl = directory(cluster)
    ctl("senders", "bob@example.test", "block", "carol@example.test")
    ctl("senders", "bob@example.test", "allow", "deals@promo.test")
    # no Bayes: HAM scores 0, CASINO 40 (refused at 20)
    sd = spamd(cluster, None, {"sender_lists": ctl.snap + ".senders",
                               "rules_file": casino_rules(tmp_path),
                               "reject_score": "20"}, milter=True)
    work = os.path.join(cluster.base, "postfix")
    os.makedirs(work)
    pf = bench.Postfix(work, "delivery", domain="example.test",
                       user=["alice", "bob"],
                       extra={"smtpd_milters": "inet:127.0.0.1:%d" % sd.port,
                              "milter_default_action": "tempfail"})

    def case(n, msg):
        return (b"X-Case: %d\r\n" % n) + msg

    try:
        with smtplib.SMTP("127.0.0.1", pf.port) as s:
            # 1: bob blocks carol: flagged, USER_BLOCK
            s.sendmail("carol@example.test", ["bob@example.test"],
                       case(1, HAM))
            # 2: alice and bob: their lists differ, no rule counts
            s.sendmail("carol@example.test", ["alice@example.test",
                                              "bob@example.test"],
                       case(2, HAM))
            # 3: to alice alone, refused for its score
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail("deals@promo.test", ["alice@example.test"],
                           case(3, CASINO))
            assert e.value.smtp_code == 550
            # 4: bob allows deals@promo.test: delivered, USER_ALLOW
            s.sendmail("deals@promo.test", ["bob@example.test"],
                       case(4, CASINO))
            # 5: alice and bob: not refused (bob asked for it), but
            # flagged for alice's sake, no USER_ALLOW
            s.sendmail("deals@promo.test", ["alice@example.test",
                                            "bob@example.test"],
                       case(5, CASINO))
        wait_for(lambda: len(_maildir(pf, "bob")) == 4 and
                 len(_maildir(pf, "alice")) == 2, 30, "delivery by Postfix")
        bob, alice = _maildir(pf, "bob"), _maildir(pf, "alice")
        m = _case(bob, 1)
        assert header(m, "X-Spam-Flag") == ["YES"], m
        assert "USER_BLOCK" in header(m, "X-Spam-Status")[0]
        for m in (_case(bob, 2), _case(alice, 2)):
            assert header(m, "X-Spam-Flag") == [] and b"USER_" not in m
        m = _case(bob, 4)
        status = header(m, "X-Spam-Status")[0]
        assert status.startswith("No,") and "USER_ALLOW" in status, m
        for m in (_case(bob, 5), _case(alice, 5)):
            assert header(m, "X-Spam-Flag") == ["YES"] and b"USER_" not in m
        log = sd.log()
        assert "action=block" in log and "action=allow" in log
        assert "action=reject" in log
    finally:
        pf.stop()
    # learning from what the milter delivered: learnt as the same
    # message without our fields would be (they are stripped first)
    lport = free_port()
    db = os.path.join(cluster.base, "learn.db")
    spamd(cluster, None, {"bayes_db": db,
                          "learn_listen": "127.0.0.1:%d" % lport})
    got = _case(bob, 1)
    assert b"X-Spam-Status" in got
    r = lmtp(lport, ["spam@learn.test"], got, sender="bob@example.test")
    assert r[0][0] == 250, r
    wait_for(lambda: os.path.exists(db) and db_counts(db)[0] == 1,
             what="the message learnt")
    bare = b"".join(ln for ln in got.splitlines(True)
                    if not ln.startswith(b"X-Spam-"))
    assert b"X-Spam-" not in bare
    path = os.path.join(cluster.base, "bare.eml")
    with open(path, "wb") as f:
        f.write(bare)
    db2 = os.path.join(cluster.base, "bare.db")
    spamtrain("--db", db2, "--spam", path)
    assert db_counts(db)[2] == db_counts(db2)[2] > 0


def test_postgresql_directory_and_watch(cluster):
    """The directory on PostgreSQL: a rule added by sluicectl on one host
    reaches another host's spamd through `sluicectl watch` (NOTIFY, the
    snapshot rewritten) and applies there without a restart; another
    user is not touched."""
    from conftest import BUILD, free_port, sluicectl
    from engines import Watcher, private_postgres
    gen = private_postgres()
    pg = next(gen)
    w = None
    try:
        uri = pg.createdb("senders%d" % free_port())
        admin_snap = os.path.join(cluster.base, "admin-snap")
        ctl = lambda *a, **k: sluicectl(uri, admin_snap, *a, **k)  # noqa
        ctl("domain", "add", "example.test")
        ctl("user", "add", "alice@example.test")
        ctl("user", "add", "bob@example.test")
        host = cluster._dir("host")
        snap = os.path.join(host, "users")
        w = Watcher(os.path.join(BUILD, "sluicectl"), uri, snap,
                    os.path.join(host, "watch.log"))
        wait_for(lambda: os.path.exists(snap + ".senders"), timeout=10,
                 what="the host's first snapshot")
        st = cluster.store()
        sd = spamd(cluster, st, {"sender_lists": snap + ".senders"})
        assert lmtp(sd.port, ["bob@example.test"], HAM)[0][0] == 250
        assert b"USER_" not in wait_messages(st, "bob@example.test", 1)[0]
        ctl("senders", "bob@example.test", "block", "@example.test")
        wait_for(lambda: "bob@example.test block @example.test" in
                 open(snap + ".senders").read(), timeout=5,
                 what="the watcher's snapshot")
        time.sleep(1.1)
        r = lmtp(sd.port, ["bob@example.test", "alice@example.test"],
                 HAM.replace(b"ham1", b"ham2"))
        assert [c for c, _ in r] == [250, 250], r
        got = wait_for(lambda: junk(st, "bob@example.test"),
                       what="bob's Junk")[0]
        assert b"USER_BLOCK" in got and b"ham2" in got
        a = wait_messages(st, "alice@example.test", 1)[0]
        assert b"ham2" in a and b"USER_" not in a
        assert "users.senders" in w.log()
    finally:
        if w:
            w.stop()
        for _ in gen:
            pass
