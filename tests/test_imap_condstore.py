"""CONDSTORE and QRESYNC (RFC 7162) on the real store daemon (issue #19).

Raw IMAPS sessions (imaplib has no CONDSTORE), mail delivered over LMTP.
A change one session makes bumps the mod-sequence another session sees;
FETCH CHANGEDSINCE, STORE UNCHANGEDSINCE ([MODIFIED]) and SEARCH MODSEQ
select by it; mod-sequences survive a restart and a flag change made
behind the store's back (a crash between rename and record, or another
program) still gets a new one. A phone-style client resynchronizes in
one round trip (ENABLE QRESYNC and SELECT (QRESYNC ...) pipelined) and
gets exactly the changed messages and the vanished UIDs; once QRESYNC
is on, expunges come as VANISHED, never EXPUNGE.
"""
import imaplib
import os
import re
import smtplib

import pytest

pytest.importorskip("test_imap")
from test_imap import (PW, client_tls, imap, raw_session, reply,  # noqa: F401
                       wait_imap)
from test_imap_sessions import deliver  # noqa: E402

ALICE = "alice@example.test"
MODSEQ_RE = re.compile(rb"MODSEQ \((\d+)\)")
UID_RE = re.compile(rb"UID (\d+)")


class Sess:
    def __init__(self, st):
        self.s, self.f = raw_session(st)
        self.s.settimeout(20)
        self.n = 0
        self.ok(('LOGIN %s "%s"' % (ALICE, PW[ALICE])).encode())

    def cmd(self, line):
        self.n += 1
        return reply(self.s, self.f, b"t%d " % self.n + line)

    def ok(self, line):
        out = self.cmd(line)
        assert out[-1].split()[1] == b"OK", (line, out)
        return out

    def pipeline(self, *lines):
        """Send every line in one write; the replies of all of them."""
        tags = []
        data = b""
        for ln in lines:
            self.n += 1
            tags.append(b"t%d" % self.n)
            data += tags[-1] + b" " + ln + b"\r\n"
        self.s.sendall(data)
        return self.until(tags[-1])

    def until(self, tag):
        """Every line up to the tagged reply of tag."""
        out = []
        while True:
            ln = self.f.readline()
            assert ln, "closed"
            out.append(ln)
            if ln.startswith(tag + b" "):
                return out

    def close(self):
        self.s.close()


def code(out, name):
    """The number of response code [NAME n] in out."""
    for ln in out:
        m = re.search(rb"\[" + name + rb" (\d+)\]", ln)
        if m:
            return int(m.group(1))
    return None


def fetches(out):
    """{uid or seq: line} of the untagged FETCH lines."""
    got = {}
    for ln in out:
        m = re.match(rb"\* (\d+) FETCH \((.*)\)\r\n", ln)
        if m:
            u = UID_RE.search(m.group(2))
            got[int(u.group(1)) if u else int(m.group(1))] = m.group(2)
    return got


def modseq(line):
    return int(MODSEQ_RE.search(line).group(1))


@pytest.fixture
def box(imap):
    for i in range(5):
        deliver(imap, i)
    return imap


def test_capability_and_enable(box):
    m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps_port,
                          ssl_context=client_tls())
    m.login(ALICE, PW[ALICE])
    assert "CONDSTORE" in m.capabilities and "QRESYNC" in m.capabilities
    typ, data = m.enable("QRESYNC")
    assert typ == "OK"
    assert m.untagged_responses["ENABLED"] == [b"QRESYNC"]
    typ, data = m.select("INBOX")
    assert typ == "OK"
    assert int(m.untagged_responses["HIGHESTMODSEQ"][0]) > 0
    m.logout()


def test_change_bumps_modseq_seen_by_other_session(box):
    a, b = Sess(box), Sess(box)
    out = a.ok(b"SELECT INBOX (CONDSTORE)")
    h0 = code(out, b"HIGHESTMODSEQ")
    out = b.ok(b"SELECT INBOX (CONDSTORE)")
    assert code(out, b"HIGHESTMODSEQ") == h0
    out = a.ok(b"STORE 2 +FLAGS (\\Flagged)")
    m1 = modseq(fetches(out)[2])
    assert m1 > h0
    # the other session learns the change with its mod-sequence
    out = b.ok(b"NOOP")
    got = fetches(out)
    assert b"\\Flagged" in got[2] and modseq(got[2]) == m1, out
    out = b.ok(b"FETCH 1:* (MODSEQ)")
    got = fetches(out)
    assert modseq(got[2]) == m1 and all(modseq(v) <= h0 for k, v in
                                        got.items() if k != 2)
    out = b.ok(b"STATUS Sent (HIGHESTMODSEQ MESSAGES)")
    assert b"HIGHESTMODSEQ " in out[0]
    # a new message and an expunge bump it too
    deliver(box, 9)
    b.ok(b"NOOP")
    out = b.ok(b"FETCH 6 (UID MODSEQ)")
    m2 = modseq(fetches(out)[6])
    assert m2 > m1
    a.ok(b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    a.ok(b"EXPUNGE")
    out = b.ok(b"STATUS INBOX (HIGHESTMODSEQ)")
    assert int(re.search(rb"HIGHESTMODSEQ (\d+)", out[0]).group(1)) > m2 + 1
    a.close()
    b.close()


def test_changedsince_unchangedsince_search(box):
    a = Sess(box)
    out = a.ok(b"SELECT INBOX")
    h0 = code(out, b"HIGHESTMODSEQ")
    a.ok(b"STORE 3 +FLAGS (\\Seen)")
    out = a.ok(b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
    got = fetches(out)
    assert list(got) == [3] and b"MODSEQ" in got[3], out
    m3 = modseq(got[3])
    # every message when the client knows nothing (CHANGEDSINCE 0... 1)
    assert len(fetches(a.ok(b"FETCH 1:* (FLAGS) (CHANGEDSINCE 1)"))) >= 4
    # a conditional STORE on a message changed since: [MODIFIED]
    out = a.ok(b"STORE 3,4 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)"
               % h0)
    assert re.search(rb"\[MODIFIED 3\]", out[-1]), out
    got = fetches(out)
    assert list(got) == [4] and b"FLAGS" not in got[4] and \
        modseq(got[4]) > m3, out
    out = a.ok(b"FETCH 3,4 (FLAGS)")
    got = fetches(out)
    assert b"\\Answered" not in got[3] and b"\\Answered" in got[4]
    out = a.ok(b"UID STORE 1:* (UNCHANGEDSINCE 0) +FLAGS (x)")
    assert b"[MODIFIED " in out[-1] and not fetches(out)
    # SEARCH MODSEQ: the changed ones and the highest mod-sequence
    out = a.ok(b"SEARCH MODSEQ %d" % (h0 + 1))
    assert out[0].startswith(b"* SEARCH 3 4 (MODSEQ "), out
    out = a.ok(b'SEARCH MODSEQ "/flags/\\\\seen" all %d' % (h0 + 1))
    assert out[0].startswith(b"* SEARCH 3 4 (MODSEQ "), out
    out = a.ok(b"UID SEARCH RETURN (COUNT) MODSEQ %d" % (h0 + 1))
    assert re.search(rb"COUNT 2 MODSEQ \d+", out[0]), out
    for bad in (b"SEARCH MODSEQ x", b"SEARCH MODSEQ -1",
                b"FETCH 1 (FLAGS) (CHANGEDSINCE)",
                b"STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)",
                b"FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)"):
        assert a.cmd(bad)[-1].split()[1] == b"BAD", bad
    a.close()


def test_phone_resync_in_one_round_trip(box):
    phone = Sess(box)
    out = phone.ok(b"SELECT INBOX")
    uv = code(out, b"UIDVALIDITY")
    hms = code(out, b"HIGHESTMODSEQ")
    uids = sorted(int(u) for u in UID_RE.findall(b"".join(
        phone.ok(b"FETCH 1:* (UID)"))))
    phone.close()
    # meanwhile, on the desktop: a flag change, an expunge, new mail
    desk = Sess(box)
    desk.ok(b"SELECT INBOX")
    desk.ok(b"UID STORE %d +FLAGS (\\Flagged)" % uids[1])
    desk.ok(b"UID STORE %d +FLAGS (\\Deleted)" % uids[2])
    desk.ok(b"UID EXPUNGE %d" % uids[2])
    desk.close()
    deliver(box, 7)
    phone = Sess(box)
    known = b"%d:%d" % (uids[0], uids[-1])
    out = phone.pipeline(b"ENABLE QRESYNC",
                         b"SELECT INBOX (QRESYNC (%d %d %s))"
                         % (uv, hms, known))
    assert out[-1].split()[1] == b"OK", out
    van = [ln for ln in out if ln.startswith(b"* VANISHED")]
    assert van == [b"* VANISHED (EARLIER) %d\r\n" % uids[2]], out
    got = fetches(out)
    # the changed message and the new one (known-uids covers only
    # the old ones, so the new one comes because it is not known)
    assert uids[1] in got and b"\\Flagged" in got[uids[1]]
    assert all(modseq(v) > hms for v in got.values())
    assert set(got) == {uids[1]}, out
    # without known-uids: the new message too
    phone.ok(b"UNSELECT")
    out = phone.ok(b"SELECT INBOX (QRESYNC (%d %d))" % (uv, hms))
    got = fetches(out)
    assert len(got) == 2 and uids[1] in got and max(got) > uids[-1], out
    # a wrong UIDVALIDITY: a plain SELECT
    out = phone.ok(b"SELECT INBOX (QRESYNC (%d %d))" % (uv + 1, hms))
    assert out[0].startswith(b"* OK [CLOSED]")
    assert not fetches(out) and not any(b"VANISHED" in ln for ln in out)
    phone.close()


def test_vanished_replaces_expunge(box):
    a, b = Sess(box), Sess(box)
    for s in (a, b):
        s.ok(b"ENABLE QRESYNC")
        s.ok(b"SELECT INBOX")
    out = a.ok(b"FETCH 2,4 (UID)")
    u2, u4 = sorted(int(x) for x in UID_RE.findall(b"".join(out)))
    a.ok(b"STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    out = a.ok(b"EXPUNGE")
    assert b"* VANISHED %d,%d\r\n" % (u2, u4) in out, out
    assert not any(b"EXPUNGE" in ln for ln in out[:-1])
    assert code(out, b"HIGHESTMODSEQ") > 0
    out = b.ok(b"NOOP")
    assert b"* VANISHED %d,%d\r\n" % (u2, u4) in out, out
    # and the flag change b saw earlier carries UID and MODSEQ
    a.ok(b"STORE 1 +FLAGS (\\Seen)")
    out = b.ok(b"NOOP")
    assert re.match(rb"\* 1 FETCH \(UID \d+ FLAGS \(.*\) MODSEQ \(\d+\)\)",
                    out[0]), out
    out = b.ok(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
    assert out[0] == b"* VANISHED (EARLIER) %d,%d\r\n" % (u2, u4), out
    a.close()
    b.close()


def test_qresync_needs_enable(box):
    a = Sess(box)
    out = a.cmd(b"SELECT INBOX (QRESYNC (1 1))")
    assert out[-1].split()[1] == b"BAD"
    a.ok(b"ENABLE QRESYNC")
    for bad in (b"SELECT INBOX (QRESYNC (0 1))", b"SELECT INBOX (QRESYNC)",
                b"SELECT INBOX (QRESYNC (1 x))", b"SELECT INBOX (BOGUS)",
                b"SELECT INBOX (QRESYNC (1 1 1:*))"):
        assert a.cmd(bad)[-1].split()[1] == b"BAD", bad
    a.close()


def uidlist(st):
    return os.path.join(st.mail_root, "example.test", "alice", "Maildir",
                        "sluice-uidlist")


def test_modseq_durable_and_external_change(box):
    a = Sess(box)
    a.ok(b"SELECT INBOX")
    a.ok(b"STORE 1 +FLAGS (\\Flagged)")
    before = fetches(a.ok(b"FETCH 1:* (UID MODSEQ)"))
    h = code(a.ok(b"SELECT INBOX"), b"HIGHESTMODSEQ")
    a.close()
    box.stop()
    box.start()
    wait_imap(box)
    a = Sess(box)
    out = a.ok(b"SELECT INBOX (CONDSTORE)")
    assert code(out, b"HIGHESTMODSEQ") == h
    assert fetches(a.ok(b"FETCH 1:* (UID MODSEQ)")) == before
    # flags renamed behind the store's back: a new mod-sequence
    cur = os.path.join(os.path.dirname(uidlist(box)), "cur")
    name = sorted(os.listdir(cur))[-1]
    base = name.split(":")[0]
    os.rename(os.path.join(cur, name), os.path.join(cur, base + ":2,ST"))
    out = a.ok(b"NOOP")
    got = fetches(out)
    assert len(got) == 1, out
    line = list(got.values())[0]
    assert b"\\Deleted" in line and modseq(line) > h
    a.close()


def test_old_modseq_reports_every_missing_known_uid(box):
    """A folder forgets expunges older than its floor (bounded memory):
    a client resyncing from before it gets every known UID missing."""
    a = Sess(box)
    a.ok(b"ENABLE QRESYNC")
    out = a.ok(b"SELECT INBOX")
    uv = code(out, b"UIDVALIDITY")
    a.ok(b"STORE 2,3 +FLAGS.SILENT (\\Deleted)")
    a.ok(b"EXPUNGE")
    a.close()
    box.stop()
    with open(uidlist(box)) as f:
        lines = f.read().splitlines(True)
    head = lines[0].split()
    assert head[:2] == ["SLUICE-UIDLIST", "2"]
    head[5] = head[4]           # the floor: everything forgotten
    lines = [" ".join(head) + "\n"] + [ln for ln in lines[1:]
                                       if not ln.startswith("X ")]
    with open(uidlist(box), "w") as f:
        f.write("".join(lines))
    box.start()
    wait_imap(box)
    a = Sess(box)
    a.ok(b"ENABLE QRESYNC")
    out = a.ok(b"SELECT INBOX (QRESYNC (%d 1 1:9))" % uv)
    van = [ln for ln in out if ln.startswith(b"* VANISHED")]
    # UIDs 1:5 were given out: 6:9 never existed and are not reported
    assert van == [b"* VANISHED (EARLIER) 2:3\r\n"], out
    a.close()


def test_long_response_code_not_cut(box):
    """A [MODIFIED set] (like [COPYUID ...]) longer than 512 bytes
    reaches the client whole (tagged replies were cut there)."""
    with smtplib.LMTP("127.0.0.1", box.port) as s:
        for i in range(5, 300):
            s.sendmail("carol@remote.test", [ALICE], b"Subject: %d\r\n\r\n"
                       b"x\r\n" % i)
    a = Sess(box)
    h0 = code(a.ok(b"SELECT INBOX"), b"HIGHESTMODSEQ")
    evens = b",".join(b"%d" % i for i in range(2, 301, 2))
    a.ok(b"STORE " + evens + b" +FLAGS.SILENT (\\Seen)")
    out = a.ok(b"STORE 1:* (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Seen)" % h0)
    assert out[-1].startswith(b"t4 OK [MODIFIED " + evens + b"] "), out[-1]
    assert out[-1].endswith(b"STORE completed\r\n")
    a.close()
