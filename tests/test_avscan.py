"""avscan (stage C): antivirus over LMTP with libclamav.

A real sluice-avscan between an LMTP client (this test, playing mx) and a
real sluice-store, or a real sluice-outmta where the envelope and its
claims must be read back (sluice-queue show). Signatures: the test
database in tests/data/clamav (EICAR and clam.exe by hash, EICAR as text).
"""
import base64
import os
import re
import smtplib
import subprocess
import sys
import threading
import time

import pytest

from conftest import BUILD, ROOT, Daemon, Lmtp, free_port, lmtp_send, \
    messages, queue_tool, wait_for, wait_messages, write_conf

CLAMDB = os.path.join(ROOT, "tests", "data", "clamav")
TESTFILES = "/usr/share/clamav-testfiles"
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-"
         b"FILE!$H+H*")
ALICE = "alice@example.test"
BOB = "bob@example.test"


def avscan(cluster, hops, extra=None, milter=False, start=True):
    """An avscan on free ports; extra: more config keys."""
    d = cluster._dir("avscan")
    port, mport = free_port(), free_port()
    conf = {"listen": "127.0.0.1:%d" % port,
            "milter_listen": "127.0.0.1:%d" % mport,
            "hostname": "av.example.test",
            "next_hop": ", ".join(hops),
            "clamav_database": CLAMDB,
            "queue_dir": os.path.join(d, "queue"),
            "quarantine_dir": os.path.join(d, "quarantine"),
            "user": "sluice", "retry_min": "1s", "retry_max": "2s",
            "hop_down_time": "1s"}
    conf.update(extra or {})
    path = os.path.join(d, "avscan.conf")
    write_conf(path, conf)
    dm = Daemon("avscan", os.path.join(BUILD, "sluice-avscan"), path, d,
                mport if milter else port)
    if milter:
        dm.args = ["-m"]
    dm.queue_dir = conf["queue_dir"]
    dm.quarantine_dir = conf["quarantine_dir"]
    dm.milter_port = mport
    cluster.daemons.append(dm)
    return dm.start() if start else dm


def mime_attachment(name, data, subject="attached"):
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: " + subject.encode() + b"\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n"
            b"--=b=\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            b"--=b=\r\nContent-Type: application/octet-stream; name=\"" +
            name.encode() + b"\"\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"" +
            name.encode() + b"\"\r\n\r\n" + b64 + b"--=b=--\r\n")


CLEAN = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
         b"Subject: clean\r\nMessage-ID: <clean1@remote.test>\r\n\r\n"
         b"Hello Alice,\r\n.leading dot\r\n\r\ntrailing spaces  \r\n")


def split_added(delivered, original):
    """The header lines added in front of original in delivered."""
    assert delivered.endswith(original), delivered[:600]
    return delivered[:len(delivered) - len(original)]


def quarantined(av):
    d = av.quarantine_dir
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


@pytest.fixture
def pipe(cluster):
    """store <- avscan (quarantine)."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    return st, av


def test_clean_mail_passes_byte_exact(pipe):
    st, av = pipe
    r = lmtp_send(av.port, [ALICE, BOB], CLEAN)
    assert [c for c, _ in r] == [250, 250], r
    for rcpt in (ALICE, BOB):
        got = wait_messages(st, rcpt, 1)[0]
        added = split_added(got, CLEAN)
        assert b"X-Sluice-Virus: clean (ClamAV 1." in added, added
        assert b"by av.example.test (Sluice) with LMTP" in added or \
            b"by av.example.test (Sluice) with" in added, added
    assert "clean, size=" in av.log()


def test_eicar_plain_quarantined(pipe):
    st, av = pipe
    msg = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
           b"Subject: eicar\r\n\r\n" + EICAR + b"\r\n")
    r = lmtp_send(av.port, [ALICE, BOB], msg)
    assert [c for c, _ in r] == [250, 250], r
    assert all("quarantined" in t for _, t in r), r
    files = quarantined(av)
    assert len(files) == 1
    assert files[0] in r[0][1]
    with open(os.path.join(av.quarantine_dir, files[0]), "rb") as f:
        q = f.read()
    assert q.endswith(msg)
    assert b"X-Sluice-Quarantine: virus=Sluice.Test.EICAR" in q
    assert b"X-Sluice-Quarantine-From: <carol@remote.test>" in q
    assert b"X-Sluice-Quarantine-To: <bob@example.test>" in q
    log = av.log()
    assert "virus=Sluice.Test.EICAR" in log
    assert "from=<carol@remote.test>, to=<alice@example.test>" in log
    assert "client=[127.0.0.1]" in log
    # nothing reached the store, and nothing waits in avscan's queue
    lmtp_send(av.port, [ALICE], CLEAN)
    wait_messages(st, ALICE, 1)
    assert len(messages(st, ALICE)) == 1 and messages(st, BOB) == []
    assert b"EICAR" not in messages(st, ALICE)[0]


def test_eicar_base64_attachment_quarantined(pipe):
    st, av = pipe
    r = lmtp_send(av.port, [ALICE], mime_attachment("eicar.com", EICAR))
    assert r[0][0] == 250 and "quarantined" in r[0][1], r
    assert len(quarantined(av)) == 1
    assert "virus=Sluice.Test.EICAR" in av.log()
    assert messages(st, ALICE) == []
    # libclamav decoded the attachment in our private folder, and
    # cleaned up after itself
    tmp = os.path.join(av.workdir, "var", "avscan", "tmp")
    assert os.stat(tmp).st_mode & 0o777 == 0o700
    assert os.listdir(tmp) == []


def replies_to_testfiles(av, wrap=None, attach_as=None):
    """Each file of clamav-testfiles (wrapped by wrap(data, name), e.g.
    in an archive) as a base64 attachment (named attach_as, default the
    file's name), over one LMTP session: [(name, reply)]."""
    names = sorted(os.listdir(TESTFILES))[:100]
    assert len(names) >= 40
    out = []
    c = Lmtp(av.port, timeout=120)
    try:
        for n in names:
            with open(os.path.join(TESTFILES, n), "rb") as f:
                data = f.read()
            r = c.send("carol@remote.test", [ALICE], mime_attachment(
                attach_as or n, wrap(data, n) if wrap else data, n))
            out.append((n, r[0]))
    finally:
        c.close()
    return out


def test_every_clamav_testfile_caught(cluster):
    """Each file of Debian's clamav-testfiles, as a base64 attachment."""
    if not os.path.isdir(TESTFILES):
        pytest.skip("clamav-testfiles is not installed")
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"infected_action": "reject"})
    replies = replies_to_testfiles(av)
    missed = [(n, r) for n, r in replies
              if r[0] != 550 or "virus" not in r[1]]
    assert not missed, missed
    assert av.log().count("action=rejected") == len(replies)
    assert messages(st, ALICE) == []


def test_reject_per_recipient(cluster):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"infected_action": "reject"})
    r = lmtp_send(av.port, [ALICE, BOB], mime_attachment("e.com", EICAR))
    assert len(r) == 2
    for code, text in r:
        assert code == 550 and text.startswith(
            "5.7.1 message contains a virus: Sluice.Test.EICAR"), r
    assert quarantined(av) == []
    assert av.log().count("action=rejected") == 2
    # the session goes on: a clean message after the refused one
    assert [c for c, _ in lmtp_send(av.port, [ALICE], CLEAN)] == [250]
    wait_messages(st, ALICE, 1)
    assert messages(st, BOB) == []


def test_discard(cluster):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"infected_action": "discard"})
    r = lmtp_send(av.port, [ALICE, BOB], mime_attachment("e.com", EICAR))
    assert [c for c, _ in r] == [250, 250] and "discarded" in r[0][1], r
    assert quarantined(av) == []
    assert "action=discarded" in av.log()
    lmtp_send(av.port, [BOB], CLEAN)
    wait_messages(st, BOB, 1)
    assert messages(st, ALICE) == [] and len(messages(st, BOB)) == 1


def test_untrusted_peer_refused(cluster):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"trusted_peers": "10.9.9.9"})
    c = Lmtp(av.port)
    assert c.greeting[0] == 554 and "5.7.1" in c.greeting[1], c.greeting
    c.s.close()
    assert "not a trusted peer" in av.log()


def test_forged_virus_header_replaced(pipe):
    st, av = pipe
    msg = (b"From: carol@remote.test\r\nX-Sluice-Virus: clean (forged)\r\n"
           b"Subject: trace\r\nx-sluice-virus: clean\r\n\tfolded too\r\n"
           b"\r\nbody\r\nX-Sluice-Virus: in the body stays\r\n")
    assert lmtp_send(av.port, [ALICE], msg)[0][0] == 250
    got = wait_messages(st, ALICE, 1)[0]
    head, body = got.split(b"\r\n\r\n", 1)
    assert b"forged" not in head and b"folded too" not in head, head
    assert head.count(b"X-Sluice-Virus:") == 1
    assert b"X-Sluice-Virus: clean (ClamAV " in head
    assert body == b"body\r\nX-Sluice-Virus: in the body stays\r\n"
    assert head.endswith(b"\r\nFrom: carol@remote.test\r\nSubject: trace")


def test_claims_carried_to_next_stage(cluster):
    """Through avscan into a real outmta whose own next hop is down, so
    the envelope waits there and sluice-queue shows its claims."""
    om = cluster.outmta({"trusted_peers": "127.0.0.0/8",
                         "next_hop": "smtp:127.0.0.1:%d" % free_port(),
                         "retry_min": "1h"})
    av = avscan(cluster, ["smtp:127.0.0.1:%d" % om.port])
    r = lmtp_send(av.port, [ALICE], CLEAN, sender="carol@remote.test",
                  params=" AUTH=carol@remote.test XADDR=192.0.2.7 "
                         "XHELO=client.remote.test XENTERED=msa")
    assert r[0][0] == 250, r
    wait_for(lambda: "-- 1 message(s)" in queue_tool(om, "list").stdout,
             what="the message at outmta")
    qid = queue_tool(om, "list").stdout.split()[0]
    show = queue_tool(om, "show", qid).stdout
    assert "entered_by: msa" in show, show
    assert "client: 192.0.2.7" in show, show
    assert "auth: carol@remote.test" in show, show
    body = show.split("\n\n", 1)[1].encode()
    assert b"X-Sluice-Virus: clean (ClamAV " in body
    assert body.replace(b"\n", b"\r\n").endswith(CLEAN) or \
        body.endswith(CLEAN), body[-300:]
    wait_for(lambda: "-- 0 message(s)" in queue_tool(av, "list").stdout,
             what="avscan's queue to empty")


def test_next_hop_down_mail_waits(cluster):
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port])
    st.stop()
    assert lmtp_send(av.port, [ALICE], CLEAN)[0][0] == 250
    wait_for(lambda: "status=deferred" in av.log(), what="a deferral")
    listing = queue_tool(av, "list").stdout
    assert "-- 1 message(s)" in listing and "pending" in listing, listing
    st.start()
    got = wait_messages(st, ALICE, 1, timeout=30)
    assert b"X-Sluice-Virus: clean" in got[0]
    wait_for(lambda: "-- 0 message(s)" in queue_tool(av, "list").stdout,
             what="avscan's queue to empty")


def run_check(cluster, kv):
    d = cluster._dir("avcheck")
    path = os.path.join(d, "avscan.conf")
    write_conf(path, kv)
    return path, subprocess.run(
        [os.path.join(BUILD, "sluice-avscan"), "-t", "-c", path],
        capture_output=True, text=True, timeout=60)


def test_config_errors_name_file_and_line(cluster):
    path, r = run_check(cluster, {"clamav_database": CLAMDB,
                                  "infected_action": "bounce"})
    assert r.returncode == 1
    assert "%s:2: bad value for 'infected_action'" % path in r.stderr, \
        r.stderr
    assert "quarantine|discard|reject" in r.stderr
    path, r = run_check(cluster, {"listen": "127.0.0.1:1",
                                  "clamav_database": "/nonexistent/db"})
    assert r.returncode == 1
    assert "%s:2: clamav_database:" % path in r.stderr, r.stderr
    assert "/nonexistent/db" in r.stderr
    # an empty folder, as /var/lib/clamav is before freshclam ran
    empty = os.path.join(cluster.base, "emptydb")
    os.makedirs(empty)
    path, r = run_check(cluster, {"clamav_database": empty})
    assert r.returncode == 1 and ("%s:1: clamav_database:" % path) in \
        r.stderr and empty in r.stderr, r.stderr
    path, r = run_check(cluster, {"clamav_database": CLAMDB + "/test.hdb",
                                  "scan_error_action": "accept"})
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_start_fails_without_signatures(cluster):
    empty = os.path.join(cluster.base, "emptydb")
    os.makedirs(empty)
    dm = avscan(cluster, ["lmtp:127.0.0.1:1"],
                {"clamav_database": empty}, start=False)
    with pytest.raises(AssertionError) as e:
        dm.start()
    assert "clamav_database" in str(e.value) and empty in str(e.value)
    cluster.daemons.remove(dm)


def lmtp_load(port, seqs, accepted, lock, per_session=10):
    """Send messages X-Seq: seq over sessions of per_session messages,
    reconnecting (bounded) while avscan is down. A message counts as
    accepted once its recipient got 250."""
    todo = list(seqs)
    tries = 0
    while todo and tries < 400:
        try:
            c = Lmtp(port, timeout=20)
        except OSError:
            tries += 1
            time.sleep(0.05)
            continue
        try:
            if c.greeting[0] != 220:
                raise ConnectionError(c.greeting)
            for _ in range(per_session):
                if not todo:
                    break
                seq = todo[0]
                msg = ("From: load@remote.test\r\nSubject: load\r\n"
                       "X-Seq: %d\r\nMessage-ID: <seq%d@remote.test>\r\n"
                       "\r\n%s\r\n" % (seq, seq, "payload " * 50)).encode()
                r = c.send("load@remote.test", [ALICE], msg)
                if r and r[0][0] == 250:
                    with lock:
                        accepted.add(seq)
                    todo.pop(0)
        except (OSError, ConnectionError, AssertionError):
            tries += 1
            time.sleep(0.05)
        finally:
            try:
                c.s.close()
            except OSError:
                pass


def seqs_in(store):
    got = {}
    for m in messages(store, ALICE):
        s = int(re.search(rb"X-Seq: (\d+)", m).group(1))
        got[s] = got.get(s, 0) + 1
    return got


def test_kill9_under_load(cluster):
    total, sessions = 300, 6
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"delivery_concurrency": "4"})
    accepted, lock = set(), threading.Lock()
    threads = [threading.Thread(target=lmtp_load, args=(
        av.port, range(i, total, sessions), accepted, lock))
        for i in range(sessions)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(accepted) >= 60, 60, "60 accepted")
        av.kill9()
        av.start()
        wait_for(lambda: len(accepted) >= 150, 60, "150 accepted")
        av.kill9()
        av.start()
        wait_for(lambda: len(accepted) >= 230, 60, "230 accepted")
        av.kill9()
        av.start()
    finally:
        for t in threads:
            t.join(180)
    assert len(accepted) == total, "clients gave up on %d messages" % (
        total - len(accepted))
    wait_for(lambda: accepted <= set(seqs_in(st)), 90,
             "every accepted message in the mailbox")
    got = seqs_in(st)
    lost = sorted(accepted - set(got))
    dups = {s: n for s, n in got.items() if n > 1}
    print("\navscan crash test: %d accepted, %d delivered, %d lost, %d "
          "duplicated (%d extra copies)" % (
              len(accepted), len(got), len(lost), len(dups),
              sum(dups.values()) - len(dups)))
    assert not lost
    wait_for(lambda: "-- 0 message(s)" in queue_tool(av, "list").stdout,
             30, "an empty queue")


PF_CONF = "/var/tmp/sluice-avscan-postfix"


@pytest.fixture
def postfix_milter(cluster):
    """avscan -m behind a private Postfix (smtpd_milters), delivering to
    alice@example.test in a Maildir."""
    if os.geteuid() != 0:
        pytest.skip("a Postfix instance needs root")
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import bench
    av = avscan(cluster, [], {"max_message_size": "8k"}, milter=True)
    work = os.path.join(cluster.base, "postfix")
    os.makedirs(work)
    # a configuration folder of our own (bench.Postfix authorises it)
    pf = bench.Postfix(work, "delivery", conf=PF_CONF, extra={
        "smtpd_milters": "inet:127.0.0.1:%d" % av.milter_port,
        "milter_default_action": "tempfail",
        "milter_protocol": "6"})
    try:
        yield av, pf
    finally:
        pf.stop()


def pf_messages(pf):
    d = os.path.join(pf.mail, "example.test", "alice", "Maildir", "new")
    if not os.path.isdir(d):
        return []
    return [open(os.path.join(d, n), "rb").read() for n in sorted(
        os.listdir(d))]


# with the other Postfix tests on one xdist worker (tests/run-tests.sh)
@pytest.mark.xdist_group("postfix")
def test_milter_with_postfix(postfix_milter):
    av, pf = postfix_milter
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=60) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("carol@remote.test", [ALICE],
                       mime_attachment("eicar.com", EICAR))
        assert e.value.smtp_code == 554
        assert b"5.7.1 message contains a virus: Sluice.Test.EICAR" in \
            e.value.smtp_error
        msg = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
               b"X-Sluice-Virus: clean (forged)\r\nSubject: via postfix\r\n"
               b"\r\nhello through the milter\r\n")
        s.sendmail("carol@remote.test", [ALICE], msg)
        # past max_message_size the milter cannot scan: tempfail
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("carol@remote.test", [ALICE],
                       b"Subject: big\r\n\r\n" +
                       (b"x" * 68 + b"\r\n") * 200)
        assert e.value.smtp_code == 451
        assert b"4.3.0 virus scan failed" in e.value.smtp_error
    got = wait_for(lambda: pf_messages(pf), 30, "delivery by Postfix")
    assert len(got) == 1
    head = got[0].split(b"\n\n", 1)[0]
    assert b"X-Sluice-Virus: clean (ClamAV 1." in head, head
    assert b"forged" not in head, head
    assert b"hello through the milter" in got[0]
    log = av.log()
    assert "milter: virus=Sluice.Test.EICAR" in log
    assert "action=rejected" in log and "milter: clean" in log
    assert "larger than max_message_size: deferred" in log


@pytest.mark.parametrize("action", ["tempfail", "accept"])
def test_scan_error_action(cluster, action):
    """libclamav cannot write its temporary files (scan_tmp_dir made
    read-only): the scan fails, and scan_error_action decides."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                {"scan_error_action": action})
    tmp = os.path.join(av.workdir, "var", "avscan", "tmp")
    # the port opens before the folders are made
    wait_for(lambda: "listening on" in av.log(), what="avscan's start")
    os.chmod(tmp, 0o500)
    try:
        r = lmtp_send(av.port, [ALICE, BOB], mime_attachment("e", EICAR))
    finally:
        os.chmod(tmp, 0o700)
    if action == "tempfail":
        assert [c for c, _ in r] == [451, 451], r
        assert all(t.startswith("4.3.0") for _, t in r), r
        assert "scan error" in av.log() and "deferred" in av.log()
        assert quarantined(av) == []
    else:
        assert [c for c, _ in r] == [250, 250], r
        got = wait_messages(st, ALICE, 1)[0]
        assert b"X-Sluice-Virus: unchecked (ClamAV " in got
        assert "passed on unscanned" in av.log()
    # the folder is back: scanning works again
    r = lmtp_send(av.port, [ALICE], mime_attachment("e", EICAR))
    assert r[0][0] == 250 and "quarantined" in r[0][1], r


def test_client_gone_during_scan(pipe):
    """Clients that hang up right after the final dot: the engine reads
    nothing while the reply is owed, so it sees the close only after the
    scan (the message may be queued: the classic duplicate window); the
    daemon goes on serving."""
    st, av = pipe
    big = mime_attachment("big.bin", os.urandom(1 << 20))
    for _ in range(5):
        c = Lmtp(av.port)
        c.cmd("MAIL FROM:<carol@remote.test>")
        c.cmd("RCPT TO:<%s>" % ALICE)
        assert c.cmd("DATA")[0] == 354
        c.s.sendall(big + b".\r\n")
        c.s.close()
    assert [x for x, _ in lmtp_send(av.port, [BOB], CLEAN)] == [250]
    wait_messages(st, BOB, 1)
    wait_for(lambda: av.log().count("lost connection") +
             av.log().count("disconnect from") >= 6, what="the closes")


def test_stop_during_scans(pipe):
    """SIGTERM while messages are being scanned: the sessions close, the
    scans finish and are dropped (no reply was given, the client keeps
    its mail), and the daemon exits 0, ASan clean."""
    st, av = pipe
    big = mime_attachment("big.bin", os.urandom(3 << 20))
    clients = []
    for _ in range(4):
        c = Lmtp(av.port)
        c.cmd("MAIL FROM:<carol@remote.test>")
        c.cmd("RCPT TO:<%s>" % ALICE)
        assert c.cmd("DATA")[0] == 354
        clients.append(c)
    for c in clients:
        c.s.sendall(big + b".\r\n")
    time.sleep(0.4)
    av.stop()
    for c in clients:
        c.s.close()
    log = av.log()
    assert "stopped" in log
    print("\nscans dropped at stop: %d" % log.count("session gone during"))


def test_mx_avscan_outmta_chain(cluster):
    """A real mx in front: its claims (entered by mx, the client's
    address) pass through avscan to the stage after it, and a scan
    header forged by the Internet client never arrives."""
    om = cluster.outmta({"trusted_peers": "127.0.0.0/8",
                         "next_hop": "smtp:127.0.0.1:%d" % free_port(),
                         "retry_min": "1h"})
    av = avscan(cluster, ["smtp:127.0.0.1:%d" % om.port])
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % av.port])
    msg = (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
           b"X-Sluice-Virus: clean (forged by the sender)\r\n"
           b"Subject: chain\r\n\r\nthrough mx and avscan\r\n")
    with smtplib.SMTP("127.0.0.1", mx.port, timeout=30) as s:
        s.sendmail("carol@remote.test", [ALICE], msg)
    wait_for(lambda: "-- 1 message(s)" in queue_tool(om, "list").stdout,
             30, "the message at outmta")
    qid = queue_tool(om, "list").stdout.split()[0]
    show = queue_tool(om, "show", qid).stdout
    assert "entered_by: mx" in show and "client: 127.0.0.1" in show, show
    body = show.split("\n\n", 1)[1]
    assert body.count("X-Sluice-Virus:") == 1, body
    assert "X-Sluice-Virus: clean (ClamAV " in body
    assert "forged" not in body and "through mx and avscan" in body


def test_freshclam_update_reloads_without_signal(cluster):
    """A new .hdb copied into the database folder of a running avscan
    (as freshclam renames its files into place) is in use within a few
    seconds, with no SIGHUP: the folder is watched. The compile runs off
    the event loop: mail sent meanwhile keeps being answered."""
    import hashlib
    import shutil
    st = cluster.store()
    db = os.path.join(cluster.base, "clamdb-watch")
    shutil.copytree(CLAMDB, db)
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                extra={"clamav_database": db})
    data = b"sluice inotify reload marker 4e1b\r\n" * 3
    msg = mime_attachment("notes.bin", data)
    assert lmtp_send(av.port, [ALICE], msg)[0][0] == 250
    wait_messages(st, ALICE, 1)
    assert quarantined(av) == []
    # mail keeps flowing while the signatures change
    worst, stop = [0.0], threading.Event()

    def flow():
        while not stop.is_set():
            t0 = time.monotonic()
            assert lmtp_send(av.port, [BOB], CLEAN)[0][0] == 250
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.05)
    t = threading.Thread(target=flow)
    t.start()
    try:
        tmp = os.path.join(db, ".new.tmp")
        with open(tmp, "w") as f:
            f.write("%s:%d:Sluice.Test.Inotify\n" %
                    (hashlib.md5(data).hexdigest(), len(data)))
            # and enough others that compiling takes a while
            for i in range(80000):
                f.write("%032x:1000:Sluice.Test.Bulk%d\n" % (i, i))
        os.rename(tmp, os.path.join(db, "new.hdb"))
        wait_for(lambda: "signature(s) from" in av.log(), 10, "reload")
        r = lmtp_send(av.port, [ALICE], msg)
        assert r[0][0] == 250 and "quarantined" in r[0][1], r
    finally:
        stop.set()
        t.join()
    assert "Sluice.Test.Inotify" in av.log()
    # the compile's time, from the log: the loop went on answering
    stamps = [time.mktime(time.strptime(line[:15], "%b %d %H:%M:%S")) +
              float(line[15:19]) for line in av.log().splitlines()
              if "changed" in line or "signature(s) from" in line]
    took = stamps[-1] - stamps[-2]
    assert took >= 0.3 and worst[0] < took * 0.6, (took, worst)
    assert len(messages(st, BOB)) >= 1


def random_text(size):
    """size bytes of random letters, spaces and line ends: libclamav
    scans all of it (random bytes may look like a file type and end the
    scan early), and never finds it in its clean cache."""
    table = bytes((b"abcdefghijklmnopqrstuvwxyz      \n" * 8)[:256])
    return os.urandom(size).translate(table)


def test_large_scans_leave_a_thread_for_small_mail(cluster):
    """scan_threads = 2 and two large messages scanning for seconds: a
    small message sent meanwhile is answered before either of them (the
    large ones go to the heavy lane, which never takes every thread)
    and within a bound. Before, both threads scanned the large ones and
    the small message waited for one of them."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                extra={"scan_threads": "2", "large_message_size": "1m"})
    bigs = [mime_attachment("big%d.txt" % i, random_text(10 << 20))
            for i in range(2)]
    sent = [threading.Event() for _ in bigs]
    replied = {}

    def big(i):
        c = Lmtp(av.port, timeout=120)
        try:
            c.cmd("MAIL FROM:<carol@remote.test>")
            c.cmd("RCPT TO:<%s>" % ALICE)
            assert c.cmd("DATA")[0] == 354
            c.s.sendall(bigs[i] + b".\r\n")
            sent[i].set()
            r = c.reply()
            replied[i] = (time.monotonic(), r)
        finally:
            c.close()
    threads = [threading.Thread(target=big, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for e in sent:
        assert e.wait(60), "large message not sent"
    time.sleep(0.3)     # avscan reads the rest of the socket buffers
    t0 = time.monotonic()
    r = lmtp_send(av.port, [BOB], CLEAN)
    small_at = time.monotonic()
    for t in threads:
        t.join(120)
    assert [x for x, _ in r] == [250], r
    assert sorted(replied) == [0, 1], replied
    assert all(rr[0] == 250 for _, rr in replied.values()), replied
    first_big = min(at for at, _ in replied.values())
    assert small_at < first_big, (small_at - t0, first_big - t0)
    assert small_at - t0 < 1.5, small_at - t0
    wait_messages(st, BOB, 1)
    wait_messages(st, ALICE, 2)


@pytest.mark.parametrize("action", ["accept", "quarantine"])
def test_message_over_max_file_size_is_past_a_limit(cluster, action):
    """A message larger than max_file_size (max_message_size raised
    above it) is not scanned at all by libclamav: a limit, handled by
    limits_exceeded_action and named MaxFileSize; never a virus named
    "unknown" (libclamav 1.4 answers CL_VIRUS with no name for it)."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:%d" % st.port],
                extra={"max_message_size": "3m", "max_file_size": "1m",
                       "limits_exceeded_action": action})
    msg = mime_attachment("notes.txt", random_text(1 << 20))
    r = lmtp_send(av.port, [ALICE], msg)
    assert r[0][0] == 250, r
    assert "virus" not in av.log().split("listening on")[-1], av.log()
    if action == "accept":
        got = wait_messages(st, ALICE, 1)[0]
        assert b"X-Sluice-Virus: unchecked (ClamAV " in got
        assert "MaxFileSize" in av.log()
    else:
        assert "could not be scanned whole" in r[0][1], r
        assert "MaxFileSize" in r[0][1], r
        assert len(quarantined(av)) == 1
