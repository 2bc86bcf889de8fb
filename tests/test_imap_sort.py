"""SORT and THREAD (RFC 5256) on the real store daemon (issue #19).

Through imaplib's sort() and thread(), with mail delivered over LMTP:
every sort key with REVERSE and ties, base subjects (section 2.1),
THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (empty containers, subject
merging, reply chains), the UID forms, and bounds: a reply chain as deep
as the folder, and a message with thousands of references.
"""
import imaplib
import smtplib

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, client_tls, imap  # noqa: F401

ALICE = "alice@example.test"


def mail(mid, subject, date, frm="carol@remote.test", to=ALICE, cc=None,
         refs=None, irt=None, body=b"x"):
    h = "Message-ID: <%s@t>\r\nSubject: %s\r\nFrom: %s\r\nTo: %s\r\n" \
        "Date: %s\r\n" % (mid, subject, frm, to, date)
    if cc:
        h += "Cc: %s\r\n" % cc
    if refs:
        ids = ["<%s@t>" % r for r in refs]
        h += "References: %s\r\n" % "\r\n ".join(
            " ".join(ids[i:i + 10]) for i in range(0, len(ids), 10))
    if irt:
        h += "In-Reply-To: <%s@t>\r\n" % irt
    return h.encode() + b"\r\n" + body + b"\r\n"


def put(st, msgs):
    with smtplib.LMTP("127.0.0.1", st.port) as s:
        for m in msgs:
            s.sendmail("carol@remote.test", [ALICE], m)


def login(st):
    m = imaplib.IMAP4_SSL("127.0.0.1", st.imaps_port,
                          ssl_context=client_tls())
    m.login(ALICE, PW[ALICE])
    m.select("INBOX")
    return m


def nums(data):
    return [int(x) for x in data[0].split()]


@pytest.fixture
def sorted_box(imap):
    put(imap, [
        mail(1, "Re: beta", "Mon, 3 Jan 2022 10:00:00 +0000",
             frm="Zed <zed@x>", to="b@x", cc="m@x", body=b"x" * 300),
        mail(2, "alpha", "Mon, 3 Jan 2022 09:00:00 -0300",
             frm='"Amy" <Amy@x>', to="c@x", body=b"x" * 10),
        mail(3, "[list] Fwd: Gamma (fwd)", "Sun, 2 Jan 2022 10:00:00 +0000",
             frm="bob@x", to="a@x", cc="a@x", body=b"x" * 200),
        mail(4, "beta", "garbage date", frm="bob@x", to="a@x"),
        mail(5, "=?utf-8?q?Alpha?=", "Tue, 4 Jan 2022 00:00:00 +0000",
             frm="amy@x", to="d@x", cc="z@x", body=b"x" * 50),
    ])
    return imap


def test_sort_keys(sorted_box):
    m = login(sorted_box)
    assert "SORT" in m.capabilities
    s = lambda crit, *keys: nums(m.sort(crit, "UTF-8", *(keys or ["ALL"]))[1])
    assert s("(ARRIVAL)") == [1, 2, 3, 4, 5]
    # arrivals within one second tie: REVERSE leaves ties in order
    assert s("(REVERSE DATE)") == [4, 5, 2, 1, 3]
    # DATE: UTC; no parsable Date: the arrival time (now: the latest)
    assert s("(DATE)") == [3, 1, 2, 5, 4]
    assert s("(SUBJECT)") == [2, 5, 1, 4, 3]
    assert s("(SUBJECT REVERSE DATE)") == [5, 2, 4, 1, 3]
    assert s("(FROM)") == [2, 5, 3, 4, 1]
    assert s("(TO)") == [3, 4, 1, 2, 5]
    # no Cc: the empty string, first
    assert s("(CC SIZE)") == [4, 2, 3, 1, 5]
    assert s("(SIZE)") == [4, 2, 5, 3, 1]
    assert s("(REVERSE SIZE)") == [1, 3, 5, 2, 4]
    assert s("(SUBJECT)", "FROM", "amy") == [2, 5]
    typ, data = m.uid("SORT", "(DATE)", "UTF-8", "ALL")
    assert nums(data) == [3, 1, 2, 5, 4]  # a fresh folder: UID = seq
    for bad in ("(BOGUS)", "(REVERSE)", "()", "(ARRIVAL REVERSE)"):
        with pytest.raises(imaplib.IMAP4.error):
            m.sort(bad, "UTF-8", "ALL")
    with pytest.raises(imaplib.IMAP4.error):    # not a list
        m._simple_command("SORT", "ARRIVAL", "UTF-8", "ALL")
    typ, data = m._simple_command("SORT", "(ARRIVAL)", "KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]
    m.logout()


def test_thread_orderedsubject(sorted_box):
    m = login(sorted_box)
    assert "THREAD=ORDEREDSUBJECT" in m.capabilities
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert typ == "OK"
    # alpha: 2 (Jan 3 12:00 UTC) then 5; beta: 1 then 4; gamma: 3
    assert data == [b"(3)(1 4)(2 5)"], data
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "SUBJECT", "nothing")
    assert data == [None] or data == [b""], data
    m.logout()


def test_thread_references(imap):
    d = "Mon, %d Jan 2022 10:00:00 +0000"
    put(imap, [
        mail(1, "A", d % 1),
        mail(2, "Re: A", d % 2, refs=[1]),
        mail(3, "Re: A", d % 3, refs=[1, 2]),
        mail(4, "Re: A", d % 4, irt=1),
        mail(5, "B", d % 5),
        mail(6, "C", d % 6, refs=["gone"]),
        mail(7, "Re: C", d % 7, refs=["gone"]),
        mail(8, "Re: B", d % 8),
        mail(9, "D", d % 9, refs=[10]),      # its parent comes later
        mail(10, "D", d % 10),
        mail(11, "loop", d % 11, refs=[12]),
        mail(12, "loop", d % 12, refs=[11]),    # would close a loop
    ])
    m = login(imap)
    assert "THREAD=REFERENCES" in m.capabilities
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK"
    assert data == [b"(1 (2 3)(4))(5 8)((6)(7))(10 9)(12 11)"], data
    # only the messages searched for are threaded
    typ, data = m.thread("REFERENCES", "UTF-8", "NOT", "SUBJECT", "A")
    assert data == [b"(5 8)((6)(7))(10 9)(12 11)"], data
    typ, data = m.uid("THREAD", "REFERENCES", "UTF-8", "SUBJECT", "B")
    assert typ == "OK" and data[0].count(b"(") == 1
    m.logout()


def test_thread_bounded(imap):
    """A reply chain as long as the folder (no recursion), and a message
    naming thousands of references (only the last few are kept)."""
    d = "Mon, 1 Jan 2022 10:00:00 +0000"
    n = 600
    chain = [mail(1, "deep", d)] + [mail(i, "Re: deep", d, refs=[i - 1])
                                    for i in range(2, n + 1)]
    many = mail(9999, "many", d, refs=["r%d" % i for i in range(3000)])
    put(imap, chain + [many])
    m = login(imap)
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK"
    assert data[0] == b"(" + b" ".join(b"%d" % i for i in range(1, n + 1)) + \
        b")(%d)" % (n + 1), data[0][:200]
    typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
    assert len(nums(data)) == n + 1
    m.logout()
