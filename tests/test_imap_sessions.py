"""Two IMAP sessions on one folder of the real store daemon (issue #19).

Raw sockets over IMAPS, with mail delivered over real LMTP. Every state
change is made by one session while the other still has an older view,
in both orders: flags (+FLAGS/-FLAGS are read-modify-write on the
folder's shared state, never last-writer-wins), expunges, keywords (a
new keyword is announced by an untagged FLAGS and PERMANENTFLAGS before
any FETCH shows it), and \\Recent (exactly one session sees a message
as recent). Then a randomized run against a Python model: two sessions
and LMTP deliveries acting on one folder, both views checked after
every step.
"""
import random
import re
import smtplib

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, imap, raw_session, reply  # noqa: F401

ALICE = "alice@example.test"
FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)\r\n$")
FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)")
UID_RE = re.compile(rb"UID (\d+)")


def msg(n):
    return (b"From: carol@remote.test\r\nTo: alice@example.test\r\n"
            b"Subject: m%d\r\nMessage-ID: <s%d@remote.test>\r\n\r\n"
            b"body %d\r\n" % (n, n, n))


class Sess:
    """A logged-in raw session that remembers which keywords the server
    announced (untagged FLAGS) and checks every FETCH against them."""

    def __init__(self, st, box=b"INBOX"):
        self.s, self.f = raw_session(st)
        self.s.settimeout(20)
        self.n = 0
        self.announced = set()
        self.perm = set()
        self.log = []
        out = self.cmd(('LOGIN %s "%s"' % (ALICE, PW[ALICE])).encode())
        assert out[-1].split()[1] == b"OK", out
        if box:
            out = self.cmd(b"SELECT " + box)
            assert out[-1].split()[1] == b"OK", out

    def cmd(self, line):
        self.n += 1
        tag = b"t%d" % self.n
        out = reply(self.s, self.f, tag + b" " + line)
        self.log.append((line, out))
        for ln in out:
            if ln.startswith(b"* FLAGS ("):
                self.announced = set(ln[9:ln.rindex(b")")].split())
            elif ln.startswith(b"* OK [PERMANENTFLAGS ("):
                self.perm = set(ln[22:ln.index(b")")].split())
            m = FETCH_RE.match(ln)
            if m and b"FLAGS (" in m.group(2):
                for f in FLAGS_RE.search(m.group(2)).group(1).split():
                    if f.startswith(b"\\"):
                        continue
                    assert f in self.announced and f in self.perm, \
                        (f, "in FETCH before FLAGS/PERMANENTFLAGS", out)
        return out

    def ok(self, line):
        out = self.cmd(line)
        assert out[-1].split()[1] == b"OK", (line, out)
        return out

    def view(self):
        """NOOP, then FETCH 1:* (UID FLAGS): [(uid, set of flags)]."""
        self.ok(b"NOOP")
        out = self.ok(b"FETCH 1:* (UID FLAGS)")
        rows = []
        for ln in out[:-1]:
            m = FETCH_RE.match(ln)
            assert m, ln
            uid = int(UID_RE.search(m.group(2)).group(1))
            fl = set(FLAGS_RE.search(m.group(2)).group(1).split())
            assert int(m.group(1)) == len(rows) + 1, out
            rows.append((uid, fl))
        return rows

    def close(self):
        self.s.close()


def deliver(st, n):
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        s.sendmail("carol@remote.test", [ALICE], msg(n))


def untagged(out, word):
    return [ln for ln in out if ln.startswith(b"* ") and word in ln]


@pytest.fixture
def two(imap):
    for i in range(3):
        deliver(imap, i)
    # a first session takes \Recent of these three and goes
    Sess(imap).close()
    a, b = Sess(imap), Sess(imap)
    yield imap, a, b
    a.close()
    b.close()


@pytest.mark.parametrize("first", [0, 1])
def test_concurrent_flag_changes_merge(two, first):
    """+FLAGS (\\Answered) in one session, -FLAGS (\\Seen) in the other,
    each from a view that does not know the other's change: both stick,
    and each session hears of the other's change on its next command."""
    st, a, b = two
    a.ok(b"STORE 1 +FLAGS.SILENT (\\Seen)")
    b.ok(b"NOOP")
    order = [(a, b"STORE 1 +FLAGS (\\Answered)"),
             (b, b"STORE 1 -FLAGS (\\Seen)")]
    if first:
        order.reverse()
    for s, line in order:
        s.ok(line)
    last = order[1][0]
    # the second STORE answered with the merged flags
    fl = FLAGS_RE.search(untagged(last.log[-1][1], b"FETCH")[0]).group(1)
    assert set(fl.split()) - {b"\\Recent"} == {b"\\Answered"}
    # the first session is told on its next command
    out = order[0][0].ok(b"NOOP")
    upd = untagged(out, b"FETCH")
    assert upd and b"\\Answered" in upd[0] and b"\\Seen" not in upd[0], out
    for s in (a, b):
        v = s.view()
        assert v[0][1] - {b"\\Recent"} == {b"\\Answered"}, v


@pytest.mark.parametrize("first", [0, 1])
def test_concurrent_keywords_merge(two, first):
    st, a, b = two
    order = [(a, b"STORE 2 +FLAGS (kwa)"), (b, b"STORE 2 +FLAGS (kwb)")]
    if first:
        order.reverse()
    for s, line in order:
        s.ok(line)
    for s in (a, b):
        v = s.view()
        assert v[1][1] - {b"\\Recent"} == {b"kwa", b"kwb"}, v


@pytest.mark.parametrize("first", [0, 1])
def test_keyword_announced_before_fetch(two, first):
    """A keyword made by this session's STORE, or by the other session,
    comes in an untagged FLAGS and PERMANENTFLAGS before any FETCH
    shows it (Sess.cmd checks every FETCH against them)."""
    st, a, b = two
    maker, other = (a, b) if first == 0 else (b, a)
    out = maker.ok(b"STORE 1 +FLAGS (Important)")
    i_flags = [i for i, ln in enumerate(out) if ln.startswith(b"* FLAGS")]
    i_fetch = [i for i, ln in enumerate(out) if b"FETCH" in ln]
    assert i_flags and i_fetch and i_flags[0] < i_fetch[0], out
    out = other.ok(b"NOOP")
    assert any(ln.startswith(b"* FLAGS") and b"Important" in ln
               for ln in out), out
    assert any(ln.startswith(b"* OK [PERMANENTFLAGS") and b"Important" in ln
               for ln in out), out
    assert untagged(out, b"FETCH"), out
    # a later keyword made while the other session idles between
    # commands: announced on its FETCH too
    maker.ok(b"STORE 2 +FLAGS.SILENT (Later)")
    out = other.ok(b"FETCH 2 FLAGS")
    assert b"Later" in b"".join(out)


@pytest.mark.parametrize("first", [0, 1])
def test_recent_in_exactly_one_session(two, first):
    """RFC 3501 2.3.2: a message delivered while two sessions have the
    folder selected is \\Recent in exactly one of them, whichever looks
    first."""
    st, a, b = two
    deliver(st, 10)
    order = (a, b) if first == 0 else (b, a)
    outs = [s.ok(b"NOOP") for s in order]
    assert any(b"4 EXISTS" in ln for ln in outs[0])
    rec = [int(ln.split()[1]) for ln in outs[0] if ln.endswith(b"RECENT\r\n")]
    assert rec == [1], outs[0]
    rec = [int(ln.split()[1]) for ln in outs[1] if ln.endswith(b"RECENT\r\n")]
    assert rec == [0], outs[1]
    flags = [s.view()[3][1] for s in order]
    assert [b"\\Recent" in f for f in flags] == [True, False], flags
    srch = [s.ok(b"SEARCH RECENT") for s in order]
    assert srch[0][0] == b"* SEARCH 4\r\n" and srch[1][0] == b"* SEARCH\r\n"
    # both sessions at once on an APPEND: the appender takes it
    app = order[1]
    app.ok(b"APPEND INBOX {%d+}\r\n%s" % (len(msg(11)), msg(11)))
    assert b"\\Recent" in app.view()[4][1]
    assert b"\\Recent" not in order[0].view()[4][1]


@pytest.mark.parametrize("first", [0, 1])
def test_expunge_while_other_stores(two, first):
    """One session expunges message 2 while the other, not told yet,
    changes its flags: no resurrection, both views agree after NOOP,
    and the EXPUNGE reaches the other session before its next sync."""
    st, a, b = two
    a.ok(b"STORE 2 +FLAGS.SILENT (\\Deleted)")
    if first == 0:
        a.ok(b"EXPUNGE")
        b.cmd(b"STORE 2 +FLAGS (\\Flagged)")
    else:
        b.ok(b"STORE 2 +FLAGS (\\Flagged)")
        a.ok(b"EXPUNGE")
    out = b.ok(b"NOOP")
    assert b"* 2 EXPUNGE\r\n" in out, out
    va, vb = a.view(), b.view()
    strip = [(u, f - {b"\\Recent"}) for u, f in va]
    assert strip == [(u, f - {b"\\Recent"}) for u, f in vb]
    assert len(va) == 2


def test_expunge_sees_other_sessions_deleted(two):
    """EXPUNGE removes what is \\Deleted in the folder now, also when
    another session set the flag since this one last looked."""
    st, a, b = two
    b.ok(b"UID STORE 1:* +FLAGS.SILENT (\\Deleted)")
    out = a.ok(b"EXPUNGE")
    assert len(untagged(out, b"EXPUNGE")) == 3, out
    assert a.view() == [] and b.view() == []


# ---- randomized, against a model ----

SYS = [b"\\Seen", b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Draft"]
KWS = [b"kwa", b"kwb", b"kwc"]


class Model:
    """The folder as it should be: flags per UID, which session holds
    each \\Recent, and the UIDs each session's view knows."""

    def __init__(self, rows):
        self.flags = {u: set(f) - {b"\\Recent"} for u, f in rows}
        self.uidnext = max(self.flags) + 1
        # the first session to SELECT took them
        self.recent = {u: 0 for u in self.flags}
        self.pending = set()    # arrived, \Recent not yet claimed
        self.view = [set(), set()]

    def arrive(self, uid, flags):
        assert uid == self.uidnext, (uid, self.uidnext)
        self.uidnext = uid + 1
        self.flags[uid] = set(flags)
        self.pending.add(uid)

    def sync(self, i):
        """Session i looked at the folder: it claims what is new."""
        for u in self.pending:
            if u in self.flags:
                self.recent[u] = i
        self.pending = set()
        self.view[i] = set(self.flags)

    def expected(self, i):
        return [(u, self.flags[u] | ({b"\\Recent"} if
                                     self.recent.get(u) == i else set()))
                for u in sorted(self.flags)]


def run_model(st, seed, steps):
    rnd = random.Random(seed)
    for i in range(3):
        deliver(st, i)
    ses = [Sess(st), Sess(st)]
    model = Model(ses[0].view())
    model.sync(0)
    ses[1].view()
    model.sync(1)
    lmtp = smtplib.LMTP("127.0.0.1", st.port)
    n = 100
    for step in range(steps):
        # one to three changes, the sessions not told in between
        for _ in range(rnd.randint(1, 3)):
            op, i = rnd.random(), rnd.randrange(2)
            s = ses[i]
            n += 1
            if op < 0.12 or not model.flags:
                lmtp.sendmail("carol@remote.test", [ALICE], msg(n))
                model.arrive(model.uidnext, ())
            elif op < 0.2:
                fl = rnd.sample(SYS + KWS, rnd.randint(0, 2))
                out = s.ok(b"APPEND INBOX (%s) {%d+}\r\n%s" % (
                    b" ".join(fl), len(msg(n)), msg(n)))
                model.arrive(int(re.search(rb"APPENDUID \d+ (\d+)",
                                           out[-1]).group(1)), fl)
                model.sync(i)
            elif op < 0.3:
                # EXPUNGE looks at the folder as it is now
                s.ok(b"EXPUNGE")
                model.sync(i)
                for u in [u for u, f in model.flags.items()
                          if b"\\Deleted" in f]:
                    del model.flags[u]
                model.view[i] = set(model.flags)
            else:
                uid = rnd.choice(sorted(set(model.flags) | model.view[i]))
                fl = set(rnd.sample(SYS + KWS, rnd.randint(1, 2)))
                sign = rnd.choice([b"+", b"-"])
                s.ok(b"UID STORE %d %sFLAGS.SILENT (%s)" % (
                    uid, sign, b" ".join(sorted(fl))))
                if uid in model.view[i] and uid in model.flags:
                    if sign == b"+":
                        model.flags[uid] |= fl
                    else:
                        model.flags[uid] -= fl
                model.sync(i)
        order = [0, 1]
        rnd.shuffle(order)
        for i in order:
            got = ses[i].view()
            model.sync(i)
            want = model.expected(i)
            assert got == want, (seed, step, i, got, want,
                                 ses[i].log[-8:])
    lmtp.quit()
    for s in ses:
        s.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_two_sessions_random_model(imap, seed):
    """Random STORE +/-FLAGS, EXPUNGE, APPEND and LMTP deliveries by two
    sessions; after every step both sessions' views match the model."""
    run_model(imap, seed, 300)
