"""SEARCHRES, MULTIAPPEND, UIDPLUS and BINARY on the real store daemon
(issue #19).

Raw IMAPS sessions for what imaplib lacks (SEARCH RETURN (SAVE) and "$",
several messages in one APPEND, literal8, BINARY[...]), imaplib for the
rest, and curl's imap:// support as a real client (APPEND by upload,
then a custom FETCH BINARY.SIZE).
"""
import base64
import imaplib
import re
import shutil
import subprocess

import pytest

pytest.importorskip("test_imap")
from test_imap import PW, client_tls, imap  # noqa: F401
from test_imap_sessions import deliver  # noqa: E402
from test_imap_condstore import Sess as CondSess  # noqa: E402

ALICE = "alice@example.test"
CURL = shutil.which("curl")


class Sess(CondSess):
    def send_raw(self, data):
        """Send data (one command, literals and all); its replies."""
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + data)
        return self.until(tag)


def seqs_of(out):
    return [int(x) for x in re.findall(rb"^\* (\d+) FETCH", b"".join(out),
                                       re.M)]


@pytest.fixture
def box(imap):
    for i in range(6):
        deliver(imap, i)
    return imap


def test_capabilities(box):
    m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps_port,
                          ssl_context=client_tls())
    for c in ("SEARCHRES", "MULTIAPPEND", "UIDPLUS", "BINARY", "ESEARCH",
              "CATENATE"):
        assert c in m.capabilities, c
    m.logout()


def test_searchres(box):
    a = Sess(box)
    a.ok(b"SELECT INBOX")
    # SAVE alone: no ESEARCH response, "$" holds the result
    out = a.ok(b"SEARCH RETURN (SAVE) OR SUBJECT m1 SUBJECT m3")
    assert len(out) == 1, out
    assert seqs_of(a.ok(b"FETCH $ (FLAGS)")) == [2, 4]
    a.ok(b"STORE $ +FLAGS (\\Flagged)")
    out = a.ok(b"SEARCH FLAGGED")
    assert out[0] == b"* SEARCH 2 4\r\n"
    # "$" in search keys, as a set and as UID $
    out = a.ok(b"SEARCH NOT $")
    assert out[0] == b"* SEARCH 1 3 5 6\r\n"
    out = a.ok(b"UID SEARCH UID $")
    uids = [int(x) for x in out[0].split()[2:]]
    assert len(uids) == 2
    # SAVE with other options: MIN and MAX alone keep only those
    out = a.ok(b"SEARCH RETURN (MIN MAX SAVE) ALL")
    assert re.search(rb"MIN 1 MAX 6", out[0]), out
    assert seqs_of(a.ok(b"FETCH $ (UID)")) == [1, 6]
    out = a.ok(b"UID SEARCH RETURN (SAVE COUNT) SUBJECT m")
    assert re.search(rb"COUNT 6", out[0])
    assert len(seqs_of(a.ok(b"FETCH $ (UID)"))) == 6
    # a failed SEARCH ... SAVE empties "$"
    assert a.cmd(b"SEARCH RETURN (SAVE) BOGUS")[-1].split()[1] == b"BAD"
    assert seqs_of(a.ok(b"FETCH $ (UID)")) == []
    # "$" follows messages: an expunged one drops out, the others stay
    a.ok(b"SEARCH RETURN (SAVE) SUBJECT m4")
    a.ok(b"SEARCH RETURN (SAVE) OR SUBJECT m4 SUBJECT m5")
    a.ok(b"STORE 5 +FLAGS.SILENT (\\Deleted)")
    a.ok(b"EXPUNGE")
    out = a.ok(b"FETCH $ (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"m5" in b"".join(out) and b"m4" not in b"".join(out)
    out = a.ok(b"COPY $ Sent")
    assert b"COPYUID" in out[-1]
    # a new SELECT forgets it
    a.ok(b"SELECT INBOX")
    assert seqs_of(a.ok(b"FETCH $ (UID)")) == []
    a.close()


def lit(data):
    return b"{%d+}\r\n" % len(data) + data


def test_multiappend_all_or_nothing(box):
    a = Sess(box)
    out = a.send_raw(b"APPEND Drafts (\\Draft) " + lit(b"Subject: 1\r\n") +
                     b" " + lit(b"Subject: 2\r\n") + b" (\\Seen kw) " +
                     lit(b"Subject: 3\r\n") + b"\r\n")
    assert out[-1].split()[1] == b"OK", out
    m = re.search(rb"\[APPENDUID (\d+) (\S+)\]", out[-1])
    assert m and m.group(2) == b"1:3", out
    out = a.ok(b"EXAMINE Drafts")
    out = a.ok(b"FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    text = b"".join(out)
    assert len(seqs_of(out)) == 3 and b"\\Draft" in text and b"kw" in text
    # one bad message: none is stored
    out = a.send_raw(b"APPEND Drafts " + lit(b"Subject: 4\r\n") + b" " +
                     lit(b"a\x00b") + b"\r\n")
    assert out[-1].split()[1] == b"NO", out
    out = a.send_raw(b"APPEND Drafts " + lit(b"Subject: 4\r\n") +
                     b" (\\Bogus) " + lit(b"Subject: 5\r\n") + b"\r\n")
    assert out[-1].split()[1] == b"BAD", out
    out = a.ok(b"STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 3" in out[0]
    # a synchronizing second literal works as well
    a.n += 1
    a.s.sendall(b"t%d APPEND Drafts {12}\r\n" % a.n)
    assert a.f.readline().startswith(b"+")
    a.s.sendall(b"Subject: 6\r\n {12}\r\n")
    assert a.f.readline().startswith(b"+")
    a.s.sendall(b"Subject: 7\r\n\r\n")
    ln = a.f.readline()
    while ln.startswith(b"* "):     # the EXAMINEd Drafts grew
        ln = a.f.readline()
    assert re.match(rb"t\d+ OK \[APPENDUID \d+ 4:5\]", ln), ln
    a.close()


def test_uidplus(box):
    m = imaplib.IMAP4_SSL("127.0.0.1", box.imaps_port,
                          ssl_context=client_tls())
    m.login(ALICE, PW[ALICE])
    m.select("INBOX")
    typ, data = m.uid("COPY", "1:3", "Trash")
    assert typ == "OK"
    cu = m.untagged_responses.pop("COPYUID")
    assert re.match(rb"\d+ 1:3 1:3$", cu[0]), cu
    m.uid("STORE", "1,2", "+FLAGS", "(\\Deleted)")
    typ, data = m.uid("EXPUNGE", "2")
    assert typ == "OK"
    typ, data = m.search(None, "DELETED")
    assert data[0] == b"1"
    m.logout()


MULTI = (b"From: carol@remote.test\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
         b"--zz\r\nContent-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" +
         base64.encodebytes(bytes(range(256))).replace(b"\n", b"\r\n") +
         b"--zz\r\nContent-Type: text/plain\r\n"
         b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
         b"caf=C3=A9 =\r\nsoft\r\n"
         b"--zz\r\nContent-Type: text/plain\r\n"
         b"Content-Transfer-Encoding: x-unknown\r\n\r\nzzz\r\n"
         b"--zz--\r\n")


def read_literal(f, head):
    m = re.search(rb"~?\{(\d+)\}\r\n$", head)
    return f.read(int(m.group(1)))


def test_binary_fetch(box):
    a = Sess(box)
    out = a.send_raw(b"APPEND INBOX {%d+}\r\n" % len(MULTI) + MULTI +
                     b"\r\n")
    assert out[-1].split()[1] == b"OK", out
    a.ok(b"SELECT INBOX")
    a.n += 1
    a.s.sendall(b"t%d FETCH 7 (BINARY.PEEK[1] BINARY.SIZE[2] "
                b"BINARY.PEEK[2]<0.4>)\r\n" % a.n)
    head = a.f.readline()
    assert head.startswith(b"* 7 FETCH (BINARY[1] ~{256}\r\n"), head
    assert read_literal(a.f, head) == bytes(range(256))
    rest = a.f.readline()
    assert rest.startswith(b" BINARY.SIZE[2] 10 BINARY[2]<0> {4}"), rest
    assert a.f.read(4) == b"caf\xc3"
    assert a.f.readline() == b")\r\n"
    assert a.f.readline().startswith(b"t%d OK" % a.n)
    out = a.ok(b"FETCH 7 (FLAGS)")
    assert b"\\Seen" not in out[0]
    # an encoding we do not know: NO [UNKNOWN-CTE], nothing sent
    out = a.cmd(b"FETCH 7 BINARY[3]")
    assert out[-1].split()[1] == b"NO" and b"[UNKNOWN-CTE]" in out[-1]
    assert len(out) == 1
    # BINARY without PEEK sets \Seen; BINARY[] is the message
    out = a.ok(b"FETCH 7 BINARY.SIZE[]")
    assert b"BINARY.SIZE[] %d" % len(MULTI) in out[0]
    a.n += 1
    a.s.sendall(b"t%d FETCH 7 BINARY[2]\r\n" % a.n)
    assert a.f.readline() == b"* 7 FETCH (BINARY[2] {10}\r\n"
    assert a.f.read(10) == b"caf\xc3\xa9 soft"
    assert a.f.readline().startswith(b" FLAGS (\\Seen")
    assert a.f.readline().startswith(b"t%d OK" % a.n)
    for bad in (b"FETCH 7 BINARY[1.MIME]", b"FETCH 7 BINARY[HEADER]",
                b"FETCH 7 BINARY.SIZE[1]<0.1>", b"FETCH 7 BINARY[x]"):
        assert a.cmd(bad)[-1].split()[1] == b"BAD", bad
    # APPEND of a literal8: kept without NULs, refused with them
    out = a.send_raw(b"APPEND INBOX ~{12+}\r\nSubject: 8\r\n\r\n")
    assert out[-1].split()[1] == b"OK", out
    out = a.send_raw(b"APPEND INBOX ~{3+}\r\na\x00b\r\n")
    assert b"[UNKNOWN-CTE]" in out[-1], out
    a.close()


@pytest.mark.skipif(CURL is None, reason="curl not installed")
def test_curl_append_and_binary(box, cluster, tmp_path):
    msg = tmp_path / "m.eml"
    msg.write_bytes(MULTI)
    url = "imaps://127.0.0.1:%d/Drafts" % box.imaps_port
    base = [CURL, "-s", "-S", "--cacert", cluster.cert[0], "--resolve",
            "localhost:%d:127.0.0.1" % box.imaps_port,
            "-u", "%s:%s" % (ALICE, PW[ALICE])]
    url = url.replace("127.0.0.1", "localhost")
    r = subprocess.run(base + ["-T", str(msg), url], capture_output=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["-X", "FETCH 1 BINARY.SIZE[1]", url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert b"BINARY.SIZE[1] 256" in r.stdout, r.stdout



def test_catenate(box):
    a = Sess(box)
    out = a.ok(b"SELECT INBOX")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(out)).group(1))
    a.send_raw(b"APPEND INBOX " + lit(MULTI) + b"\r\n")
    a.ok(b"NOOP")
    head = b"From: alice@example.test\r\nSubject: forwarded\r\n" \
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
    tail = b"\r\n--x--\r\n"
    # a URL to a part of a message in this folder, one by absolute
    # path, and a PARTIAL: the result is exactly the pieces joined
    out = a.send_raw(
        b"APPEND Drafts (\\Draft) CATENATE (TEXT " + lit(head) +
        b' URL "/INBOX;UIDVALIDITY=%d/;UID=7/;SECTION=2.MIME"' % uv +
        b' URL ";UID=7/;SECTION=2" TEXT ' + lit(b"\r\n--x\r\n\r\n") +
        b' URL "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)"'
        b' URL "imap://alice@localhost/INBOX/;UID=7/;PARTIAL=0.4"'
        b" TEXT " + lit(tail) + b")\r\n")
    assert out[-1].split()[1] == b"OK", out
    assert re.search(rb"\[APPENDUID \d+ 1\]", out[-1])
    a.ok(b"EXAMINE Drafts")
    a.n += 1
    a.s.sendall(b"t%d FETCH 1 BODY[]\r\n" % a.n)
    ln = a.f.readline()
    n = int(re.search(rb"\{(\d+)\}", ln).group(1))
    got = a.f.read(n)
    a.until(b"t%d" % a.n)
    part2 = MULTI[MULTI.index(b"Content-Type: text/plain\r\nContent-Transfer"
                              b"-Encoding: quoted-printable"):]
    mime2 = part2[:part2.index(b"\r\n\r\n") + 4]
    body2 = part2[len(mime2):part2.index(b"\r\n--zz")]
    want = (head + mime2 + body2 + b"\r\n--x\r\n\r\n" + b"Subject: m0\r\n\r\n"
            + MULTI[:4] + tail)
    assert got == want, (got, want)
    # a URL that names nothing: NO [BADURL ...]; nothing stored
    for url in (b"/INBOX/;UID=999", b"/Nope/;UID=1",
                b"/INBOX;UIDVALIDITY=1/;UID=1", b"/INBOX/;UID=x",
                b"/../x/;UID=1"):
        out = a.send_raw(b"APPEND Drafts CATENATE (URL \"" + url +
                         b"\")\r\n")
        assert out[-1].split()[1] == b"NO" and b"[BADURL " + url in out[-1], \
            out
    out = a.send_raw(b"APPEND Drafts CATENATE (BOGUS \"x\")\r\n")
    assert out[-1].split()[1] == b"BAD"
    out = a.ok(b"STATUS Drafts (MESSAGES)")
    assert b"MESSAGES 1" in out[0]
    a.close()
