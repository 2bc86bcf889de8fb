"""Next hops as an active-backup pair, the queue tool, and bounces."""
import email
import smtplib
import time

from conftest import messages, queue_tool, wait_for, wait_messages


def send(mx, rcpts, sender="someone@remote.test", subject="x", opts=()):
    msg = ("From: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n" %
           (sender, subject, subject)).encode()
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail(sender, rcpts, msg, rcpt_options=list(opts))


def test_active_backup_pair(cluster):
    primary = cluster.store()
    backup = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % primary.port,
                     "lmtp:127.0.0.1:%d" % backup.port])
    send(mx, ["alice@example.test"], subject="one")
    wait_messages(primary, "alice@example.test", 1)
    # the store's file is there a moment before its 250 reaches mx: stop
    # it before that and "one" goes to the backup too (the classic
    # duplicate window of DESIGN's durability contract)
    wait_for(lambda: "status=sent" in mx.log(), what="mx's delivery")
    assert messages(backup, "alice@example.test") == []
    primary.stop()
    send(mx, ["alice@example.test"], subject="two")
    got = wait_messages(backup, "alice@example.test", 1)
    assert b"Subject: two" in got[0]
    assert len(messages(primary, "alice@example.test")) == 1


def test_both_down_mail_waits(cluster):
    a = cluster.store()
    b = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % a.port,
                     "lmtp:127.0.0.1:%d" % b.port])
    a.stop()
    b.stop()
    send(mx, ["bob@example.test"], subject="waiting")
    # the message is in the queue, pending, with the reason it waits
    out = wait_for(lambda: (lambda r: "pending" in r.stdout and
                            "bob@example.test" in r.stdout and r.stdout)(
        queue_tool(mx, "list")), what="the message in the queue")
    assert "-- 1 message(s)" in out
    wait_for(lambda: "status=deferred" in mx.log(), what="a deferral")
    time.sleep(1.5)
    assert messages(a, "bob@example.test") == []
    b.start()
    got = wait_messages(b, "bob@example.test", 1, timeout=30)
    assert b"Subject: waiting" in got[0]
    wait_for(lambda: "-- 0 message(s)" in queue_tool(mx, "list").stdout,
             what="an empty queue")


def test_queue_tool_hold_release_delete(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    st.stop()
    send(mx, ["alice@example.test"], subject="held")
    send(mx, ["bob@example.test"], subject="deleted")
    lst = wait_for(lambda: (lambda r: r.stdout.count("pending") == 2 and
                            r.stdout)(queue_tool(mx, "list")))
    ids = [ln.split()[0] for ln in lst.splitlines()
           if ln and not ln.startswith((" ", "--"))]
    assert len(ids) == 2
    held, deleted = ids
    r = queue_tool(mx, "show", held)
    assert r.returncode == 0 and "sender: <someone@remote.test>" in r.stdout
    to_hold = held if "alice" in r.stdout else deleted
    to_delete = deleted if to_hold == held else held
    assert queue_tool(mx, "hold", to_hold).returncode == 0
    assert queue_tool(mx, "delete", to_delete).returncode == 0
    assert queue_tool(mx, "delete", "NOSUCHID").returncode == 1
    assert "HELD" in queue_tool(mx, "list").stdout
    st.start()
    time.sleep(3)
    assert messages(st, "alice@example.test") == []   # held
    assert messages(st, "bob@example.test") == []     # deleted
    assert queue_tool(mx, "release", to_hold).returncode == 0
    assert queue_tool(mx, "flush").returncode == 0
    wait_messages(st, "alice@example.test", 1)
    # offline mode: the tool opens the queue itself when mx is down
    mx.stop()
    r = queue_tool(mx, "list")
    assert r.returncode == 0 and "-- 0 message(s)" in r.stdout


# these drive mx as a queue that bounces to a local sender: mail from
# outside claiming example.test would be refused (local_forgery)
LOCAL_SENDER = {"local_forgery": "no"}


def test_bounce_to_local_sender(cluster):
    # neither store knows nobody@example.test: both answer 550 5.1.1
    a = cluster.store()
    b = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % a.port,
                     "lmtp:127.0.0.1:%d" % b.port], LOCAL_SENDER)
    send(mx, ["nobody@example.test", "bob@example.test"],
         sender="alice@example.test", subject="to nobody",
         opts=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;nobody+40example.test"])
    dsn = wait_messages(a, "alice@example.test", 1)[0]
    assert len(messages(a, "bob@example.test")) == 1
    m = email.message_from_bytes(dsn)
    assert m.get_content_type() == "multipart/report"
    assert m.get_param("report-type") == "delivery-status"
    assert m["Return-Path"] == "<>"
    parts = list(m.walk())
    status = [p for p in parts
              if p.get_content_type() == "message/delivery-status"][0]
    groups = status.get_payload()
    rcpt = groups[1]
    assert rcpt["Final-Recipient"] == "rfc822; nobody@example.test"
    assert rcpt["Original-Recipient"] == "rfc822; nobody@example.test"
    assert rcpt["Action"] == "failed"
    assert rcpt["Status"] == "5.1.1"
    assert "550" in rcpt["Diagnostic-Code"]
    hdrs = [p for p in parts
            if p.get_content_type() == "text/rfc822-headers"][0]
    assert "Subject: to nobody" in hdrs.get_payload()
    assert "status=bounced" in mx.log()


def test_no_bounce_to_null_sender(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port])
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("", ["nobody@example.test"],
                   b"From: MAILER-DAEMON@remote.test\r\nSubject: bounce\r\n"
                   b"\r\nx\r\n")
    wait_for(lambda: "no bounce: null sender" in mx.log(),
             what="the failure to be handled")
    time.sleep(1)
    assert "sender non-delivery notification" not in mx.log()
    assert messages(st, "alice@example.test") == []
    assert "-- 0 message(s)" in queue_tool(mx, "list").stdout


def test_notify_never_means_no_bounce(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port], LOCAL_SENDER)
    send(mx, ["nobody@example.test"], sender="alice@example.test",
         opts=["NOTIFY=NEVER"])
    wait_for(lambda: "status=bounced" in mx.log())
    wait_for(lambda: "removed" in mx.log())
    time.sleep(1)
    assert messages(st, "alice@example.test") == []


def test_spread_uses_both_hops(cluster):
    a = cluster.store()
    b = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % a.port,
                     "lmtp:127.0.0.1:%d" % b.port],
                    extra={"next_hop_mode": "spread",
                           "delivery_concurrency": "1"})
    for i in range(20):
        send(mx, ["alice@example.test"], subject="s%d" % i)
    wait_for(lambda: len(messages(a, "alice@example.test")) +
             len(messages(b, "alice@example.test")) == 20)
    assert messages(a, "alice@example.test")
    assert messages(b, "alice@example.test")


def test_bounce_ret_full_returns_whole_message(cluster):
    st = cluster.store()
    mx = cluster.mx(["lmtp:127.0.0.1:%d" % st.port], LOCAL_SENDER)
    with smtplib.SMTP("127.0.0.1", mx.port) as s:
        s.sendmail("alice@example.test", ["nobody@example.test"],
                   b"From: alice@example.test\r\nSubject: whole\r\n\r\n"
                   b"the body that must come back\r\n",
                   mail_options=["RET=FULL", "ENVID=full1"])
    dsn = wait_messages(st, "alice@example.test", 1)[0]
    m = email.message_from_bytes(dsn)
    parts = {p.get_content_type(): p for p in m.walk()}
    assert "message/rfc822" in parts, dsn.decode(errors="replace")[:3000]
    assert b"the body that must come back" in dsn
    status = parts["message/delivery-status"].get_payload()
    assert status[0]["Original-Envelope-Id"] == "full1"
