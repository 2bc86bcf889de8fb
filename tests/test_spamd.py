"""spamd (stage D): LMTP from trusted stages, Bayes, rules, DNSBL, policy.

The next hop is a real sluice-store; DNSBL answers come from a real dnsmasq
on 127.0.0.1; the Bayes database is trained by sluice-spamtrain on the
SpamAssassin public corpus (spamd/corpus.sh, fetched by tests/deps.sh into
$SLUICE_CORPUS, /var/cache/sluice-corpus or ~/.cache/sluice-corpus),
training sets only.
"""
import os
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BUILD, Daemon, Lmtp, dnsmasq, free_port, lmtp_send, \
    messages, wait_for, wait_messages, write_conf

# where spamd/corpus.sh puts it
CORPUS = os.path.join(os.environ.get("SLUICE_CORPUS") or next(
    (d for d in ("/var/cache/sluice-corpus",
                 os.path.expanduser("~/.cache/sluice-corpus"))
     if os.path.isdir(os.path.join(d, "data"))),
    "/var/cache/sluice-corpus"), "data")
SPAMTRAIN = os.path.join(BUILD, "sluice-spamtrain")
# spamd's verdicts are read back from INBOX here: the store's filing of
# X-Spam-Flag: YES into Junk is test_pipeline.py's and test_tracehdr.py's
INBOX_ONLY = {"spam_folder": ""}

HAM = (b"From: Carol <carol@example.test>\r\n"
       b"To: alice@example.test\r\n"
       b"Date: Mon, 23 Nov 2026 06:00:00 +0000\r\n"
       b"Message-ID: <ham1@example.test>\r\n"
       b"Subject: minutes of the meeting\r\n\r\n"
       b"Hi Alice,\r\nthe minutes are attached to the wiki page.\r\n")
# rules only: MISSING_DATE (1.0), MISSING_MID (0.5), SUBJ_ALL_CAPS (0.8)
RULES_MSG = (b"From: x@spam.test\r\nTo: alice@example.test\r\n"
             b"Subject: URGENT OFFER\r\n\r\nbuy\r\n")


def corpus(name):
    d = os.path.join(CORPUS, name)
    assert os.path.isdir(d), ("no corpus in %s: run tests/deps.sh "
                              "(spamd/corpus.sh fetch)" % CORPUS)
    return d


def spamtrain(*args):
    r = subprocess.run([SPAMTRAIN, *args], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def bayes_db():
    """A database trained on the three training sets."""
    d = tempfile.mkdtemp(prefix="sluice-bayes-")
    os.chmod(d, 0o755)
    db = os.path.join(d, "bayes.db")
    spamtrain("--db", db, "--ham", corpus("easy-ham-1"),
              corpus("hard-ham-1"), "--spam", corpus("spam-1"))
    os.chmod(db, 0o644)
    yield db
    shutil.rmtree(d, ignore_errors=True)


def spamd(cluster, store=None, extra=None, milter=False):
    d = cluster._dir("spamd")
    port = free_port()
    conf = {"listen": "127.0.0.1:%d" % port,
            "milter_listen": "127.0.0.1:%d" % free_port(),
            "hostname": "spamd.example.test",
            "next_hop": "lmtp:127.0.0.1:%d" % (store.port if store else 9),
            "domain_routes": "",
            "queue_dir": os.path.join(d, "queue"),
            "quarantine_dir": os.path.join(d, "quarantine"),
            "bayes_db": os.path.join(d, "bayes.db"),
            "user": "sluice", "retry_min": "1s", "retry_max": "2s",
            "hop_down_time": "1s"}
    conf.update(extra or {})
    path = os.path.join(d, "spamd.conf")
    write_conf(path, conf)
    if milter:
        port = int(conf["milter_listen"].rsplit(":", 1)[1])
    dm = Daemon("spamd", os.path.join(BUILD, "sluice-spamd"), path, d, port)
    if milter:
        dm.args = ("-m",)
    dm.queue_dir = conf["queue_dir"]
    dm.quarantine_dir = conf["quarantine_dir"]
    cluster.daemons.append(dm)
    return dm.start()


def lmtp(port, rcpts, msg, params="", sender="carol@example.test"):
    return lmtp_send(port, rcpts, msg, sender=sender, params=params)


def header(msg, name):
    """Values of header field name in msg (bytes)."""
    head = msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n")
    head = head.split(b"\n\n", 1)[0].decode("latin-1")
    out, cur = [], None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            out[-1] += " " + line.strip()
            continue
        k, _, v = line.partition(":")
        cur = k.strip().lower() == name.lower()
        if cur:
            out.append(v.strip())
        else:
            cur = None
    return out


def first_spam():
    d = corpus("spam-1")
    with open(os.path.join(d, sorted(os.listdir(d))[1]), "rb") as f:
        raw = f.read()
    if raw.startswith(b"From "):  # an mbox separator, not a field
        raw = raw.split(b"\n", 1)[1]
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_ham_passes_to_the_store(cluster, bayes_db):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"bayes_db": bayes_db})
    # LMTP: one reply per recipient, each after the group commit
    replies = lmtp(sd.port, ["alice@example.test", "bob@example.test"], HAM)
    assert [r[0] for r in replies] == [250, 250], replies
    assert "queued as" in replies[1][1]
    wait_messages(store, "bob@example.test", 1)
    got = wait_messages(store, "alice@example.test", 1)[0]
    status = header(got, "X-Spam-Status")
    assert len(status) == 1 and status[0].startswith("No, score="), status
    assert "BAYES_" in status[0]
    assert header(got, "X-Spam-Flag") == []
    assert len(header(got, "X-Spam-Score")) == 1
    assert b"by spamd.example.test (Sluice)" in got
    wait_for(lambda: "spam score=" in sd.log() and "action=pass" in sd.log())


def test_spam_is_flagged_and_forgeries_removed(cluster, bayes_db):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"bayes_db": bayes_db})
    forged = (b"X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=99\r\n"
              b"X-Spam-Score: 99\r\n" + HAM)
    assert lmtp(sd.port, ["alice@example.test"], forged)[0][0] == 250
    assert lmtp(sd.port, ["bob@example.test"], first_spam())[0][0] == 250
    ham = wait_messages(store, "alice@example.test", 1)[0]
    assert header(ham, "X-Spam-Flag") == []
    assert header(ham, "X-Spam-Score") != ["99"]
    assert len(header(ham, "X-Spam-Status")) == 1
    assert header(ham, "X-Spam-Status")[0].startswith("No,")
    spam = wait_messages(store, "bob@example.test", 1)[0]
    assert header(spam, "X-Spam-Flag") == ["YES"]
    assert header(spam, "X-Spam-Status")[0].startswith("Yes, score=")
    status = header(spam, "X-Spam-Status")[0]
    assert "BAYES_99" in status
    # the tokens that weighed most, named, header-safe
    tokens = status.split(" tokens=", 1)[1].split(",")
    assert 1 <= len(tokens) <= 3 and all(t and " " not in t
                                         for t in tokens), status


@pytest.fixture
def dnsbl(cluster):
    """dnsmasq serving bl.test: 192.0.2.2 and 2001:db8::2 are listed."""
    v6 = ".".join(reversed("20010db8" + "0" * 23 + "2"))
    p, servers = dnsmasq(cluster.base, [
        "host-record=2.2.0.192.bl.test,127.0.0.2",
        "host-record=%s.bl.test,127.0.0.4" % v6,
        # an answer outside 127/8 is not a listing
        "host-record=3.2.0.192.bl.test,10.0.0.1",
        # Spamhaus-style error codes (127.255.255.0/24), e.g. "queried
        # through a public resolver": an error, not a listing
        "host-record=4.2.0.192.bl.test,127.255.255.254",
        "host-record=5.2.0.192.bl.test,127.255.255.252"])
    yield servers
    p.terminate()
    p.wait()


def test_domain_route_spread_over_access_boxes(cluster):
    """next_hop_mode = spread: a local domain's list of stores (access
    boxes) takes the deliveries in turn, not only its first hop."""
    a = cluster.store(extra=INBOX_ONLY)
    b = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, extra={
        "domain_routes": "example.test = lmtp:127.0.0.1:%d, "
                         "lmtp:127.0.0.1:%d" % (a.port, b.port),
        "next_hop_mode": "spread", "delivery_concurrency": "1"})
    for i in range(12):
        replies = lmtp(sd.port, ["alice@example.test"], HAM)
        assert replies[0][0] == 250, replies
    wait_for(lambda: len(messages(a, "alice@example.test")) +
             len(messages(b, "alice@example.test")) == 12)
    assert messages(a, "alice@example.test"), sd.log()
    assert messages(b, "alice@example.test"), sd.log()


def test_dnsbl_listed_claims(cluster, dnsbl):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"dns_servers": dnsbl,
                                "dnsbl_zones": "bl.test:2.5, other.test",
                                "dns_timeout": "2s"})

    def status(addr, rcpt, auth=""):
        params = " XADDR=%s%s" % (addr, auth)
        n = len(messages(store, rcpt))
        assert lmtp(sd.port, [rcpt], HAM, params)[0][0] == 250
        got = wait_messages(store, rcpt, n + 1)
        return header(got[-1], "X-Spam-Status")[0]

    s = status("192.0.2.2", "alice@example.test")
    assert "RCVD_IN_BL_TEST" in s and "score=2.5" in s, s
    assert "RCVD_IN_OTHER_TEST" not in s
    s = status("2001:db8::2", "alice@example.test")
    assert "RCVD_IN_BL_TEST" in s, s
    # not listed, and listed outside 127/8: no hit
    assert "RCVD_IN" not in status("192.0.2.9", "bob@example.test")
    assert "RCVD_IN" not in status("192.0.2.3", "bob@example.test")
    # an error code from the blocklist: no hit, and a log line
    assert "RCVD_IN" not in status("192.0.2.4", "bob@example.test")
    assert "RCVD_IN" not in status("192.0.2.5", "bob@example.test")
    assert "bl.test answered 127.255.255.254 (an error code" in sd.log()
    # from the cache, the same answer
    assert "RCVD_IN_BL_TEST" in status("192.0.2.2", "bob@example.test")
    # an authenticated sender is not looked up
    s = status("192.0.2.2", "alice@example.test",
               " AUTH=carol@example.test")
    assert "RCVD_IN" not in s, s


def test_quarantine(cluster):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"quarantine_score": "2.0"})
    replies = lmtp(sd.port, ["alice@example.test", "bob@example.test"],
                   RULES_MSG)
    assert [r[0] for r in replies] == [250, 250], replies
    assert "quarantined" in replies[0][1]
    # (.next_hop is the stage's note for sluice-quarantine release)
    files = wait_for(lambda: [n for n in os.listdir(sd.quarantine_dir)
                              if not n.startswith(".")],
                     what="the quarantine file")
    with open(os.path.join(sd.quarantine_dir, files[0]), "rb") as f:
        q = f.read()
    assert b"X-Spam-Flag: YES" not in q  # 2.3 < required 5.0
    # the envelope in front, as avscan writes it (sluice-quarantine)
    assert q.startswith(b"X-Sluice-Quarantine: spam score=")
    assert b"X-Sluice-Quarantine-To: <bob@example.test>\r\n" in q
    assert b"X-Sluice-Quarantine-From: <" in q
    assert b"Subject: URGENT OFFER" in q
    # ham still flows; the quarantined message never reaches the store
    assert lmtp(sd.port, ["alice@example.test"], HAM)[0][0] == 250
    wait_messages(store, "alice@example.test", 1)
    time.sleep(0.5)
    assert len(messages(store, "alice@example.test")) == 1
    assert messages(store, "bob@example.test") == []
    assert "action=quarantine" in sd.log()


def test_reject_per_recipient(cluster):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"reject_score": "2.0"})
    replies = lmtp(sd.port, ["alice@example.test", "bob@example.test"],
                   RULES_MSG)
    assert [r[0] for r in replies] == [550, 550], replies
    assert all("5.7.1" in r[1] for r in replies)
    # the session stays usable, ham passes
    c = Lmtp(sd.port)
    try:
        assert c.send("carol@example.test", ["alice@example.test"],
                      HAM)[0][0] == 250
    finally:
        c.close()
    wait_messages(store, "alice@example.test", 1)
    assert messages(store, "bob@example.test") == []
    assert "action=reject" in sd.log()


def test_untrusted_peer_refused(cluster):
    sd = spamd(cluster, None, {"trusted_peers": "10.9.9.9"})
    c = Lmtp(sd.port)
    assert c.greeting[0] == 554 and "5.7.1" in c.greeting[1]
    c.s.close()


def test_rules_file_errors_name_file_and_line(cluster, tmp_path):
    bad = tmp_path / "bad.cf"
    bad.write_text("# fine\nheader OK_RULE Subject =~ /x/ 1\n"
                   "body BROKEN /(unclosed/ 1.0\n")
    conf = tmp_path / "spamd.conf"
    write_conf(str(conf), {"rules_file": str(bad)})
    r = subprocess.run([os.path.join(BUILD, "sluice-spamd"), "-t", "-c",
                        str(conf)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "%s:3:" % bad in r.stderr + r.stdout, r.stderr


def test_rules_file_adds_and_replaces(cluster, tmp_path):
    rules = tmp_path / "rules.cf"
    rules.write_text("header SUBJ_MINUTES Subject =~ /minutes/i 3.0\n"
                     "describe SUBJ_MINUTES Talks of minutes\n"
                     "body WIKI_PAGE /wiki page/ 2.5\n"
                     "header MISSING_DATE Date !~ /./ 0.1\n")
    os.chmod(str(tmp_path), 0o755)
    os.chmod(str(rules), 0o644)
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"rules_file": str(rules)})
    assert lmtp(sd.port, ["alice@example.test"], HAM)[0][0] == 250
    got = wait_messages(store, "alice@example.test", 1)[0]
    s = header(got, "X-Spam-Status")[0]
    assert s.startswith("Yes, score=5.5") and "SUBJ_MINUTES" in s, s
    assert header(got, "X-Spam-Flag") == ["YES"]
    assert lmtp(sd.port, ["bob@example.test"], RULES_MSG)[0][0] == 250
    s = header(wait_messages(store, "bob@example.test", 1)[0],
               "X-Spam-Status")[0]
    assert "score=1.4" in s, s  # MISSING_DATE rescored to 0.1


def test_bayes_reloaded_when_the_file_changes(cluster):
    # spamd reads it after dropping to its user: not under tmp_path
    db = os.path.join(cluster.base, "bayes.db")
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"bayes_db": db, "bayes_check_interval": "1s",
                                "bayes_min_count": "5"})
    assert lmtp(sd.port, ["alice@example.test"], HAM)[0][0] == 250
    s = header(wait_messages(store, "alice@example.test", 1)[0],
               "X-Spam-Status")[0]
    assert "BAYES" not in s
    ham = sorted(os.listdir(corpus("easy-ham-1")))[:40]
    spam = sorted(os.listdir(corpus("spam-1")))[:40]
    spamtrain("--db", db, "--ham",
              *[os.path.join(corpus("easy-ham-1"), n) for n in ham],
              "--spam", *[os.path.join(corpus("spam-1"), n) for n in spam])
    os.chmod(db, 0o644)
    time.sleep(1.2)

    def bayes_seen():
        lmtp(sd.port, ["bob@example.test"], HAM)
        got = messages(store, "bob@example.test")
        return got and "BAYES_" in header(got[-1], "X-Spam-Status")[0]
    wait_for(bayes_seen, 20, "the new bayes_db in use")
    assert "reloaded" in sd.log()


def test_kill9_under_load_loses_nothing(cluster):
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store, {"scan_threads": "2"})
    accepted, lock = set(), threading.Lock()
    total, stop = 300, threading.Event()

    def sender(k):
        for i in range(k, total, 4):
            msg = HAM.replace(b"ham1@", b"load%d@" % i).replace(
                b"minutes of the meeting", b"load %d" % i)
            for _ in range(200):
                try:
                    if lmtp(sd.port, ["alice@example.test"],
                            msg)[0][0] == 250:
                        with lock:
                            accepted.add(i)
                    break
                except (OSError, ConnectionError, AssertionError):
                    time.sleep(0.05)
    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    wait_for(lambda: len(accepted) >= 80, 60, "80 accepted messages")
    sd.kill9()
    time.sleep(0.3)
    sd.start()
    for t in threads:
        t.join(120)
    stop.set()
    assert len(accepted) == total

    def delivered():
        got = set()
        for m in messages(store, "alice@example.test"):
            subj = header(m, "Subject")
            if subj and subj[0].startswith("load "):
                got.add(int(subj[0].split()[1]))
        return got
    wait_for(lambda: delivered() >= accepted, 60,
             "every accepted message at the store")


def test_spamtrain_small_subset(tmp_path):
    ham = sorted(os.listdir(corpus("easy-ham-1")))[:100]
    spam = sorted(os.listdir(corpus("spam-1")))[:60]
    hd, sd_ = tmp_path / "ham", tmp_path / "spam"
    hd.mkdir()
    sd_.mkdir()
    for n in ham:
        shutil.copy(os.path.join(corpus("easy-ham-1"), n), hd / n)
    for n in spam:
        shutil.copy(os.path.join(corpus("spam-1"), n), sd_ / n)
    db = str(tmp_path / "small.db")
    out = spamtrain("--db", db, "--ham", str(hd), "--spam", str(sd_))
    assert "trained 160 message(s)" in out
    out = spamtrain("--db", db, "--eval-spam", str(sd_), "--eval-ham",
                    str(hd), "--min-count", "20")
    lines = out.splitlines()
    ham_line = [ln for ln in lines if ln.startswith("ham:")][0]
    spam_line = [ln for ln in lines if ln.startswith("spam:")][0]
    assert "100 messages, 0 flagged" in ham_line, out
    caught = int(spam_line.split(",")[1].split()[0])
    assert caught >= 57, out  # held-in: nearly all


def test_held_out_evaluation(bayes_db):
    """Trained on easy-ham-1, hard-ham-1, spam-1 only; measured on the
    held-out easy-ham-2 and spam-2 at the default required_score (5.0).
    Measured when this was written (once, after the classifier had been
    chosen by cross-validation on the training sets only): with the
    header structure tokens 1/1400 ham flagged (0.07%), 1183/1396 spam
    caught (84.7%). Before: 1/1400, 1164/1396 (83.4%); before that
    (Robinson/Fisher alone on words): 1/1400, 1085/1396 (77.7%); before
    the first tokenizer, Bayes and rules tuning 890/1396 (63.8%)."""
    t0 = time.monotonic()
    out = spamtrain("--db", bayes_db, "--eval-spam", corpus("spam-2"),
                    "--eval-ham", corpus("easy-ham-2"))
    assert time.monotonic() - t0 < 300
    lines = out.splitlines()
    ham = [ln for ln in lines if ln.startswith("ham:")][0].split()
    spam = [ln for ln in lines if ln.startswith("spam:")][0].split()
    assert ham[1] == "1400" and spam[1] == "1396", out
    # the figures above less a little: one ham in 1,400 at most (the
    # issue's limit), 84% of spam
    assert int(ham[3]) <= 1, out
    assert int(spam[3]) / 1396 >= 0.84, out


@pytest.mark.skipif(os.geteuid() != 0, reason="a Postfix instance needs root")
@pytest.mark.xdist_group("postfix")  # bench.PF_CONF is one directory
def test_milter_with_postfix(cluster, bayes_db):
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                    "bench"))
    import bench
    # HAM, short and plain, scores 2.0 (BAYES_40: Bayes knows few of its
    # tokens); RULES_MSG with GTUBE is spam whatever Bayes makes of its
    # four words (through Postfix, which adds Date and Message-ID, the
    # rules alone give 0.8: Bayes decided, and it is unsure of them)
    sd = spamd(cluster, None, {"bayes_db": bayes_db, "reject_score": "4.0"},
               milter=True)
    work = os.path.join(cluster.base, "postfix")
    os.makedirs(work)
    pf = bench.Postfix(work, "delivery", domain="example.test", user="bob",
                       extra={"smtpd_milters": "inet:127.0.0.1:%d" % sd.port,
                              "milter_default_action": "tempfail"})
    box = os.path.join(pf.mail, "example.test", "bob", "Maildir", "new")
    try:
        forged = b"X-Spam-Flag: YES\r\nX-Spam-Flag: YES\r\n" + HAM
        with smtplib.SMTP("127.0.0.1", pf.port) as s:
            s.sendmail("carol@example.test", ["bob@example.test"], forged)
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail("carol@example.test", ["bob@example.test"],
                           RULES_MSG + GTUBE.encode() + b"\r\n")
            assert e.value.smtp_code == 550
            assert b"5.7.1" in e.value.smtp_error
        got = wait_for(lambda: os.path.isdir(box) and os.listdir(box), 30,
                       "delivery by Postfix")
        with open(os.path.join(box, got[0]), "rb") as f:
            msg = f.read().replace(b"\n", b"\r\n")
        status = header(msg, "X-Spam-Status")
        assert len(status) == 1 and status[0].startswith("No, score="), msg
        assert "BAYES_" in status[0]
        assert header(msg, "X-Spam-Flag") == []
        assert len(header(msg, "X-Spam-Score")) == 1
        assert "action=reject" in sd.log() and "action=pass" in sd.log()
    finally:
        pf.stop()


GTUBE = ("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*"
         "C.34X")


def test_gtube_is_spam(cluster):
    """GTUBE, the spam filters' EICAR (sluice-audit sends it): spam
    whatever Bayes thinks of the rest, as in SpamAssassin."""
    store = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, store)
    msg = ("From: carol@example.test\r\nTo: alice@example.test\r\n"
           "Subject: lunch\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\n"
           "Message-ID: <g@example.test>\r\n\r\nSee you at noon.\r\n%s\r\n"
           % GTUBE).encode()
    assert lmtp(sd.port, ["alice@example.test"], msg)[0][0] == 250
    got = wait_messages(store, "alice@example.test", 1)[0]
    assert header(got, "X-Spam-Flag") == ["YES"], got[:800]
    assert "GTUBE" in header(got, "X-Spam-Status")[0]
