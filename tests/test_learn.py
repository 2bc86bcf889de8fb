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
