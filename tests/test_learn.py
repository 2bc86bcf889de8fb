"""Learning: sluice-spamtrain on Maildirs and mbox files and forgetting
what was learnt by mistake; users' moves in and out of Junk over IMAP
learnt by spamd through its learn listener (store_learn.c, spamd_learn.c);
per-user allow and block lists of senders."""
import os
import sqlite3

from test_spamd import corpus, spamtrain


def db_counts(db):
    c = sqlite3.connect(db)
    try:
        nspam, nham = c.execute("SELECT nspam, nham FROM meta").fetchone()
        s, h = c.execute("SELECT total(spam), total(ham) FROM tokens"
                         ).fetchone()
        seen = c.execute("SELECT count(*) FROM seen").fetchone()[0]
    finally:
        c.close()
    return nspam, nham, int(s), int(h), seen


def make_maildir(d, src, n):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub))
    for name in sorted(os.listdir(src))[:n]:
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()
        with open(os.path.join(d, "cur", name + ":2,S"), "wb") as f:
            f.write(data)


def make_mbox(path, src, n):
    with open(path, "wb") as out:
        for i, name in enumerate(sorted(os.listdir(src))[:n]):
            with open(os.path.join(src, name), "rb") as f:
                data = f.read().replace(b"\r\n", b"\n")
            if i == 0:  # a body line an mbox escapes (mboxrd)
                data = data.rstrip(b"\n") + b"\n\nFrom the desk of\n"
            lines = [b">" + ln if ln.lstrip(b">").startswith(b"From ")
                     else ln for ln in data.split(b"\n")]
            out.write(b"From x@y.test Mon Jan  1 00:00:00 2024\n")
            out.write(b"\n".join(lines).rstrip(b"\n") + b"\n\n")


def test_spamtrain_empty_folder(tmp_path):
    """An empty folder is no error (it passed NULL to qsort, which
    UBSan stops)."""
    (tmp_path / "empty").mkdir()
    out = spamtrain("--db", str(tmp_path / "b.db"), "--ham",
                    str(tmp_path / "empty"))
    assert "trained 0 message(s)" in out, out


def test_spamtrain_maildir_mbox_and_forget(tmp_path):
    md = str(tmp_path / "Maildir")
    mbox = str(tmp_path / "spam.mbox")
    db = str(tmp_path / "bayes.db")
    make_maildir(md, corpus("easy-ham-1"), 20)  # new/ stays empty
    make_mbox(mbox, corpus("spam-1"), 20)
    out = spamtrain("--db", db, "--ham", md, "--spam", mbox)
    assert "trained 40 message(s)" in out and "40 learnt" in out, out
    nspam, nham, s, h, seen = db_counts(db)
    assert (nspam, nham, seen) == (20, 20, 40)
    assert s > 1000 and h > 1000
    # the same mbox again changes nothing
    out = spamtrain("--db", db, "--spam", mbox)
    assert "0 learnt" in out and "20 unchanged" in out, out
    assert db_counts(db) == (20, 20, s, h, 40)
    # learnt by mistake: forgotten, the ham stays as it was
    out = spamtrain("--db", db, "--forget", mbox)
    assert "20 forgotten" in out, out
    assert db_counts(db) == (0, 20, 0, h, 20)
    # forgetting again does nothing; learnt as ham, then moved to spam
    out = spamtrain("--db", db, "--forget", mbox)
    assert "0 forgotten" in out and "20 unchanged" in out, out
    spamtrain("--db", db, "--ham", mbox)
    assert db_counts(db)[:2] == (0, 40)
    spamtrain("--db", db, "--spam", mbox)
    assert db_counts(db) == (20, 20, s, h, 40)


# --- learning from users' moves over IMAP ---------------------------------

import imaplib
import re
import shutil
import time

from conftest import free_port, port_open, wait_for, write_conf
from test_imap import PW, deliver, imap, starttls_login  # noqa: F401
from test_spamd import lmtp, spamd

LEARNT = (b"From: Zed <zed@promo.test>\r\n"
          b"To: alice@example.test\r\n"
          b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n"
          b"Message-ID: <%s@promo.test>\r\n"
          b"Subject: quorbex fandango vouchers\r\n\r\n"
          b"Claim your quorbex fandango vouchers and zintrepid "
          b"glimmerbox prizes today, quorbex members only.\r\n")


def trained_db(path, n=20):
    ham = corpus("easy-ham-1")
    spam = corpus("spam-1")
    spamtrain("--db", path,
              "--ham", *[os.path.join(ham, x) for x in sorted(
                  os.listdir(ham))[:n]],
              "--spam", *[os.path.join(spam, x) for x in sorted(
                  os.listdir(spam))[:n]])


def learner(cluster, store, learn_port, start=True):
    db = os.path.join(cluster.base, "learn", "bayes.db")
    if not os.path.exists(db):
        os.makedirs(os.path.dirname(db))
        trained_db(db)
    conf = {"bayes_db": db, "bayes_min_count": "5",
            "bayes_check_interval": "1s",
            "learn_listen": "127.0.0.1:%d" % learn_port,
            "learn_publish_interval": "1s"}
    sd = spamd(cluster, store, conf) if start else None
    return sd, db


def probe_bayes(sd, n):
    """spamd's Bayes probability of a message like LEARNT (its log)."""
    before = len(re.findall(r"bayes=([0-9.]+)", sd.log()))
    r = lmtp(sd.port, ["bob@example.test"], LEARNT % (b"probe%d" % n))
    assert r[0][0] == 250, r
    got = wait_for(lambda: len(re.findall(r"bayes=([0-9.]+)", sd.log()))
                   > before and re.findall(r"bayes=([0-9.]+)", sd.log()),
                   what="the probe scored")
    return float(got[-1])


def learn_store(cluster, imap_store, learn_port, extra=None):
    """imap's store again (same users, mail), now learning to spamd."""
    imap_store.stop()
    conf = dict(ln.split(" = ", 1) for ln in
                open(imap_store.conf).read().splitlines())
    conf.update({"learn_hop": "lmtp:127.0.0.1:%d" % learn_port,
                 "learn_retry": "1s"})
    conf.update(extra or {})
    write_conf(imap_store.conf, conf)
    imap_store.start()
    for p in (imap_store.imap_port, imap_store.imaps_port):
        wait_for(lambda: port_open(p), what="IMAP port %d" % p)
    imap_store.spool = conf.get("learn_spool_dir", "var/store/learn")
    return imap_store


def test_moves_into_and_out_of_junk_are_learnt(cluster, imap):
    lport = free_port()
    st = learn_store(cluster, imap, lport, {
        "learn_spool_dir": os.path.join(cluster.base, "lspool")})
    sd, db = learner(cluster, st, lport)
    p0 = probe_bayes(sd, 0)
    base = db_counts(db)
    deliver(st, "alice@example.test", LEARNT % b"one")
    deliver(st, "alice@example.test", LEARNT % b"two")
    m = starttls_login(st)
    m.create("Junk")
    m.select("INBOX")
    # MOVE into Junk: spam, learnt and published within seconds
    typ, _ = m._simple_command("MOVE", "1", "Junk")
    assert typ == "OK"
    t0 = time.time()
    wait_for(lambda: db_counts(db)[0] == base[0] + 1, 10, "spam learnt")
    p1 = wait_for(lambda: (lambda p: p > p0 + 0.2 and p)(
        probe_bayes(sd, 1)), 10, "a higher Bayes probability")
    assert time.time() - t0 < 8
    assert "op=spam" in st.log() and "op=spam" in sd.log()
    assert os.listdir(st.spool) == []
    # back out of Junk: the spam counts go, ham comes
    m.select("Junk")
    typ, _ = m._simple_command("MOVE", "1", "INBOX")
    assert typ == "OK"
    wait_for(lambda: db_counts(db)[:2] == (base[0], base[1] + 1), 10,
             "ham learnt, the spam taken back")
    wait_for(lambda: probe_bayes(sd, 2) < p1 - 0.2, 10,
             "a lower Bayes probability")
    # $Junk on the other one (COPY+EXPUNGE goes the same way as MOVE)
    m.select("INBOX")
    typ, _ = m.store("1:*", "+FLAGS", "($Junk)")
    assert typ == "OK"
    wait_for(lambda: db_counts(db)[0] == base[0] + 2, 10, "$Junk learnt")
    # into Trash from Junk is not ham
    m.copy("2", "Junk")
    m.select("Junk")
    m.create("Trash")
    m._simple_command("MOVE", "1:*", "Trash")
    time.sleep(1.5)
    assert db_counts(db)[:2] == (base[0] + 2, base[1])
    m.logout()
    # sluice-spamtrain writing the file meanwhile: the learner's thread
    # loads it (the scorers do not wait for that)
    ext = os.path.join(cluster.base, "ext.eml")
    with open(ext, "wb") as f:
        f.write(LEARNT % b"ext")
    spamtrain("--db", db, "--spam", ext)
    wait_for(lambda: re.search(r"learn: bayes_db \S+ reloaded: %d spam"
                               % (base[0] + 3), sd.log()), 10,
             "the new file in use")


def test_spamd_down_learn_waits_in_the_spool(cluster, imap):
    lport = free_port()
    spool = os.path.join(cluster.base, "lspool")
    st = learn_store(cluster, imap, lport, {"learn_spool_dir": spool})
    wait_for(lambda: os.path.isdir(spool), what="the spool")
    # a file spamd never took in time is dropped with a log line
    with open(os.path.join(spool, "1000.1.1"), "wb") as f:
        f.write(b"spam\0alice@example.test\0Subject: old\r\n\r\nx\r\n")
    # and so is a temporary file a crash left, once as old
    tmp = os.path.join(spool, ".1000.1.2.tmp")
    with open(tmp, "wb") as f:
        f.write(b"spam\0alice")
    os.utime(tmp, (1000, 1000))
    deliver(st, "alice@example.test", LEARNT % b"down")
    m = starttls_login(st)
    m.create("Junk")
    m.select("INBOX")
    typ, _ = m.copy("1", "Junk")
    assert typ == "OK"
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()
    wait_for(lambda: "wait for spamd" in st.log(), 10, "a failed send")
    # the spool's thread drops old files on its own pass: wait for it
    wait_for(lambda: "dropped: spamd did not take" in st.log(), 10,
             "the old file dropped")
    wait_for(lambda: len(os.listdir(spool)) == 1 and
             not os.path.exists(tmp), 10, "only the new message spooled")
    sd, db = learner(cluster, st, lport)  # trained on 20 spam
    wait_for(lambda: db_counts(db)[0] == 21 and os.listdir(spool) == [],
             10, "the spooled message learnt once spamd is up")
    assert "1 message(s) sent to spamd" in st.log()


# --- what the store filed into Junk (tests/test_sender_lists.py too) -----


def junk(store, rcpt):
    local, domain = rcpt.split("@")
    d = os.path.join(store.mail_root, domain, local, "Maildir", ".Junk",
                     "new")
    return [open(os.path.join(d, n), "rb").read()
            for n in sorted(os.listdir(d))] if os.path.isdir(d) else []


def test_imap_never_waits_for_spamd(cluster, imap):
    """A learn hop that accepts connections and never answers: MOVE and
    the commands after it answer at once, the message stays spooled."""
    import socket
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    try:
        spool = os.path.join(cluster.base, "lspool")
        st = learn_store(cluster, imap, hang.getsockname()[1],
                         {"learn_spool_dir": spool})
        for i in range(3):
            deliver(st, "alice@example.test", LEARNT % (b"h%d" % i))
        m = starttls_login(st)
        m.create("Junk")
        m.select("INBOX")
        t0 = time.time()
        for _ in range(3):
            typ, _ = m._simple_command("MOVE", "1", "Junk")
            assert typ == "OK"
            assert m.noop()[0] == "OK"
        assert m.select("Junk")[1] == [b"3"]
        assert time.time() - t0 < 2.0
        wait_for(lambda: len(os.listdir(spool)) == 3, 10, "three spooled")
        m.logout()
    finally:
        hang.close()
