"""The whole inbound pipeline of DESIGN.md, real daemons on real sockets:
mx (A) -> avscan (C) -> spamd (D) -> store (G), and submission msa (B) ->
avscan -> spamd -> store or outmta (F).

Covers: ham lands in INBOX with both stages' verdicts; spam from the
training corpus lands in Junk even when it claims X-Spam-Flag: NO; a virus
is quarantined at avscan and never reaches spamd or the store; mx's
client address, HELO and entry stage travel through avscan to spamd;
submitted mail is scanned too and split by domain at spamd; a user's
spam is held at spamd and the admin told, the same spam from outside
only tagged; kill -9 of
avscan and of spamd in the middle of a load loses no message.
"""
import os
import smtplib
import threading
import time

import pytest

from conftest import messages, queue_tool, wait_for, wait_messages
from test_avscan import EICAR, avscan, mime_attachment, quarantined
from test_spamd import HAM, bayes_db, first_spam, header, spamd  # noqa: F401

ALICE = "alice@example.test"
# ham from outside: a From: in our own domain would be refused by mx
# (local_forgery: it passes neither SPF nor DKIM for example.test)
OUTSIDE_HAM = HAM.replace(b"carol@example.test", b"carol@remote.test")


def junk(store, rcpt):
    local, domain = rcpt.split("@")
    d = os.path.join(store.mail_root, domain, local, "Maildir", ".Junk",
                     "new")
    if not os.path.isdir(d):
        return []
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out.append(f.read())
    return out


def chain(cluster, db, store=None, spamd_extra=None):
    """store <- spamd <- avscan <- mx, each trusting the one before."""
    store = store or cluster.store()
    extra = {"bayes_db": db, "trusted_peers": "127.0.0.0/8"}
    extra.update(spamd_extra or {})
    sd = spamd(cluster, store, extra)
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                {"trusted_peers": "127.0.0.0/8"})
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % av.port])
    return mx, av, sd, store


def smtp_send(mx, msg, rcpts=(ALICE,), source="127.0.0.1"):
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=30,
                      source_address=(source, 0)) as c:
        c.ehlo("client.remote.test")
        c.sendmail("carol@remote.test", list(rcpts), msg)


def test_ham_spam_and_virus_through_the_pipeline(cluster, bayes_db):
    mx, av, sd, st = chain(cluster, bayes_db)
    smtp_send(mx, OUTSIDE_HAM)
    got = wait_messages(st, ALICE, 1)[0]
    assert header(got, "X-Sluice-Virus")[0].startswith("clean (ClamAV ")
    assert header(got, "X-Spam-Status")[0].startswith("No, score=")
    assert header(got, "X-Spam-Flag") == []
    # three Received headers on top: spamd's, avscan's and mx's
    rcvd = header(got, "Received")
    assert len(rcvd) >= 3 and "by spamd.example.test" in rcvd[0] and \
        "by av.example.test" in rcvd[1] and "by mx.example.test" in rcvd[2]
    # RFC 3848: the inner hops were LMTP
    assert " with LMTP id " in rcvd[0] and " with LMTP id " in rcvd[1]
    assert " with ESMTP id " in rcvd[2]
    # a training-set spam that claims to be ham: mx strips the claim,
    # spamd flags it, the store files it into Junk
    spam = first_spam()
    spam = b"X-Spam-Flag: NO\r\nX-Spam-Status: No, score=-50\r\n" + spam
    smtp_send(mx, spam)
    got = wait_for(lambda: junk(st, ALICE), what="spam in Junk")[0]
    assert header(got, "X-Spam-Flag") == ["YES"]
    assert header(got, "X-Spam-Status")[0].startswith("Yes, score=")
    assert len(header(got, "X-Spam-Status")) == 1
    # a virus: quarantined at avscan; neither spamd nor the store see it
    before = sd.log().count("spam score=")
    smtp_send(mx, mime_attachment("eicar.com", EICAR))
    wait_for(lambda: quarantined(av), what="quarantined at avscan")
    time.sleep(1)
    assert len(messages(st, ALICE)) == 1 and len(junk(st, ALICE)) == 1
    assert sd.log().count("spam score=") == before
    assert "Eicar" in av.log() or "EICAR" in av.log()


def test_claims_reach_spamd(cluster, bayes_db, tmp_path):
    """mx's client address, HELO and entry stage, as avscan passed them
    on: spamd's next hop is down, so sluice-queue shows the envelope."""
    st = cluster.store()
    mx, av, sd, _ = chain(cluster, bayes_db, store=st)
    st.stop()
    smtp_send(mx, OUTSIDE_HAM, source="127.0.0.9")
    wait_for(lambda: "-- 1 message(s)" in queue_tool(sd, "list").stdout,
             what="the message waiting at spamd")
    qid = queue_tool(sd, "list").stdout.split()[0]
    show = queue_tool(sd, "show", qid).stdout
    assert "client: 127.0.0.9" in show, show
    assert "entered_by: mx" in show, show
    assert "helo: client.remote.test" in show, show
    st.start()
    wait_messages(st, ALICE, 1, timeout=30)


def submission_world(cluster, bayes_db, spamd_extra=None):
    """msa -> avscan -> spamd -> store (local) / outmta (remote)."""
    from test_msa import World
    w = World(cluster)
    extra = {
        "bayes_db": bayes_db, "trusted_peers": "127.0.0.0/8",
        "next_hop": "smtp:127.0.0.1:%d" % w.out.port,
        "domain_routes": "example.test = lmtp:127.0.0.1:%d" % w.store.port}
    extra.update(spamd_extra or {})
    sd = spamd(cluster, w.store, extra)
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % sd.port],
                {"trusted_peers": "127.0.0.0/8"})
    w.msa.stop()
    w.msa = w.start_msa(cluster, {"next_hop": "lmtp:127.0.0.1:%d" % av.port,
                                  "domain_routes": ""})
    return w, av, sd


def test_submission_is_scanned_and_split_by_domain(cluster, bayes_db):
    from test_msa import msg
    w, av, sd = submission_world(cluster, bayes_db)
    s = w.smtp("alice@example.test")
    s.sendmail("alice@example.test", ["bob@example.test",
                                      "someone@remote.test"],
               msg("alice@example.test", "bob@example.test"))
    s.quit()
    got = wait_messages(w.store, "bob@example.test", 1)[0]
    assert header(got, "X-Sluice-Virus")[0].startswith("clean")
    assert header(got, "X-Spam-Status")
    wait_for(lambda: "someone@remote.test" in w.outmta_queue(),
             what="the remote recipient at outmta")
    qid = w.outmta_queue().split()[0]
    show = queue_tool(w.out, "show", qid).stdout
    assert "entered_by: msa" in show and "auth: alice@example.test" in show
    # a virus from an authenticated user does not get out either
    s = w.smtp("alice@example.test")
    s.sendmail("alice@example.test", ["someone@remote.test"],
               mime_attachment("eicar.com", EICAR).replace(
                   b"carol@remote.test", b"alice@example.test"))
    s.quit()
    wait_for(lambda: quarantined(av), what="quarantined")
    assert w.outmta_queue().count("someone@remote.test") == 1


def test_kill9_of_the_middle_stages_loses_nothing(cluster, bayes_db):
    mx, av, sd, st = chain(cluster, bayes_db)
    total, sessions = 300, 6
    sent = []
    lock = threading.Lock()

    def load(k):
        for i in range(k, total, sessions):
            m = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
                 b"Subject: load\r\nMessage-ID: <seq%d@remote.test>\r\n\r\n"
                 b"message %d\r\n" % (i, i))
            for _ in range(100):
                try:
                    smtp_send(mx, m)
                    with lock:
                        sent.append(i)
                    break
                except (OSError, smtplib.SMTPException):
                    time.sleep(0.1)
    threads = [threading.Thread(target=load, args=(k,))
               for k in range(sessions)]
    for t in threads:
        t.start()
    wait_for(lambda: len(sent) > 60, timeout=60, what="load under way")
    av.kill9()
    av.start()
    wait_for(lambda: len(sent) > 150, timeout=60, what="more load")
    sd.kill9()
    sd.start()
    for t in threads:
        t.join(timeout=120)
    assert len(sent) == total

    def seqs():
        out = []
        for m in messages(st, ALICE) + junk(st, ALICE):
            mid = header(m, "Message-ID")
            if mid and mid[0].startswith("<seq"):
                out.append(int(mid[0][4:].split("@")[0]))
        return out
    wait_for(lambda: set(seqs()) >= set(range(total)), timeout=90,
             what="every message at the store")
    got = seqs()
    print("pipeline kill -9: %d sent, %d delivered, %d duplicates" %
          (total, len(got), len(got) - len(set(got))))


def test_user_spam_is_held_and_the_admin_told(cluster, bayes_db):
    """A compromised account must not spam the Internet: spam that
    alice submits is quarantined at spamd (no quarantine_score set), the
    log names her, bob (admin_notify) gets a notice with the null
    sender, and nothing reaches outmta."""
    from test_msa import msg
    from test_spamd import GTUBE
    w, av, sd = submission_world(cluster, bayes_db,
                                 {"admin_notify": "bob@example.test"})
    s = w.smtp("alice@example.test")
    s.sendmail("alice@example.test", ["someone@remote.test"],
               msg("alice@example.test", "someone@remote.test",
                   extra="\r\n" + GTUBE))
    s.quit()
    files = wait_for(lambda: quarantined(sd), what="held at spamd")
    assert len(files) == 1
    with open(os.path.join(sd.quarantine_dir, files[0]), "rb") as f:
        q = f.read()
    assert q.startswith(b"X-Sluice-Quarantine: spam score=")
    assert b"user=alice@example.test" in q.split(b"\r\n")[0]
    assert b"X-Sluice-Quarantine-From: <alice@example.test>" in q
    assert b"X-Sluice-Quarantine-To: <someone@remote.test>" in q
    assert "user spam: user=alice@example.test" in sd.log()
    got = wait_messages(w.store, "bob@example.test", 1)[0]
    assert got.startswith(b"Return-Path: <>\r\n"), got[:200]
    assert header(got, "Subject") == [
        "Spam from user alice@example.test held in quarantine"]
    assert files[0].encode() in got
    # the notice is not scanned as user spam, and nothing went out
    assert len(quarantined(sd)) == 1
    time.sleep(1)
    assert "someone@remote.test" not in w.outmta_queue()


def test_outside_spam_is_only_tagged(cluster, bayes_db):
    """The same spam from outside through mx is tagged, not held."""
    from test_spamd import GTUBE
    mx, av, sd, st = chain(cluster, bayes_db)
    spam = ("From: carol@remote.test\r\nTo: alice@example.test\r\n"
            "Subject: hi\r\n\r\nbody line\r\n%s\r\n" % GTUBE).encode()
    smtp_send(mx, spam)
    got = wait_for(lambda: junk(st, ALICE) or messages(st, ALICE),
                   what="spam delivered")[0]
    assert header(got, "X-Spam-Flag") == ["YES"]
    assert quarantined(sd) == [] and "user spam:" not in sd.log()
