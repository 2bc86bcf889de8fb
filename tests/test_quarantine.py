"""sluice-quarantine on avscan's and spamd's quarantine folders: list,
show, release (to the store over LMTP, with the original envelope, the
message byte-identical apart from trace header fields), delete, expire.
"""
import os
import subprocess
import time

from conftest import BUILD, lmtp_send, messages, wait_for, wait_messages
from test_avscan import ALICE, BOB, EICAR, avscan, mime_attachment, \
    quarantined
from test_spamd import INBOX_ONLY, RULES_MSG, spamd

TRACE = (b"return-path:", b"received:", b"delivered-to:", b"x-spam-",
         b"x-sluice-virus:")


def qtool(dm, *args):
    return subprocess.run([os.path.join(BUILD, "sluice-quarantine"), "-d",
                           dm.quarantine_dir] + list(args),
                          capture_output=True)


def trace_prefix_only(got, orig):
    """got is orig with trace header fields in front, nothing else."""
    assert got.endswith(orig), got[-300:]
    head = got[:len(got) - len(orig)]
    for line in head.split(b"\r\n"):
        if line and line[:1] not in (b" ", b"\t"):
            assert line.lower().startswith(TRACE), line


def test_spamd_quarantine_list_show_release_delete_expire(cluster):
    st = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, None, {"quarantine_score": "2.0"})
    # three quarantined: one released, one deleted, one expired
    for i in range(3):
        r = lmtp_send(sd.port, [ALICE, BOB], RULES_MSG,
                      sender="x%d@spam.test" % i)
        assert [c for c, _ in r] == [250, 250] and "quarantined" in r[0][1]
    files = wait_for(lambda: len(quarantined(sd)) == 3 and quarantined(sd),
                     what="three quarantined")
    ls = qtool(sd, "list")
    assert ls.returncode == 0, ls.stderr
    out = ls.stdout.decode()
    assert "-- 3 message(s)" in out
    for f in files:
        assert f in out
    assert "<x1@spam.test> 2 rcpt(s) spam score=2.3" in out, out
    show = qtool(sd, "show", files[0])
    assert show.returncode == 0
    assert show.stdout.startswith(b"X-Sluice-Quarantine: spam score=")
    assert show.stdout.endswith(RULES_MSG)
    # release: the original envelope, to the store
    sender = show.stdout.split(b"X-Sluice-Quarantine-From: <")[1]
    sender = sender.split(b">")[0].decode()
    rel = qtool(sd, "release", files[0], "lmtp:127.0.0.1:%d" % st.port)
    assert rel.returncode == 0, rel.stderr
    for rcpt in (ALICE, BOB):
        got = wait_messages(st, rcpt, 1)[0]
        trace_prefix_only(got, RULES_MSG)
        assert got.startswith(b"Return-Path: <%s>" % sender.encode()), \
            got[:200]
    assert files[0] not in quarantined(sd)
    # a hop that is down: the file stays
    rel = qtool(sd, "release", files[1], "lmtp:127.0.0.1:9")
    assert rel.returncode == 1 and files[1] in quarantined(sd)
    assert qtool(sd, "show", "../x").returncode == 1
    assert qtool(sd, "delete", files[1]).returncode == 0
    assert quarantined(sd) == [files[2]]
    # expire: only what is older than AGE
    assert qtool(sd, "expire", "1h").returncode == 0
    assert quarantined(sd) == [files[2]]
    old = time.time() - 7200
    os.utime(os.path.join(sd.quarantine_dir, files[2]), (old, old))
    ex = qtool(sd, "expire", "1h")
    assert ex.returncode == 0 and b"-- 1 message(s)" in ex.stdout
    assert quarantined(sd) == []
    assert qtool(sd, "expire", "soon").returncode == 2


def test_avscan_quarantine_release(cluster):
    """avscan's files have the same envelope block: a false positive
    goes to its recipient."""
    st = cluster.store()
    av = avscan(cluster, ["lmtp:127.0.0.1:9"])
    msg = mime_attachment("eicar.com", EICAR)
    r = lmtp_send(av.port, [ALICE], msg)
    assert r[0][0] == 250 and "quarantined" in r[0][1]
    f = wait_for(lambda: quarantined(av), what="quarantined")[0]
    out = qtool(av, "list").stdout.decode()
    assert "<carol@remote.test> 1 rcpt(s) virus=" in out, out
    rel = qtool(av, "release", f, "lmtp:127.0.0.1:%d" % st.port)
    assert rel.returncode == 0, rel.stderr
    trace_prefix_only(wait_messages(st, ALICE, 1)[0], msg)
    assert messages(st, BOB) == [] and quarantined(av) == []


def test_release_without_hop_goes_to_the_stages_next_hops(cluster):
    """release ID alone: the hops the stage noted in its folder (its
    next_hop and domain_routes), by recipient domain, in order until one
    answers; the note survives expire."""
    st = cluster.store(extra=INBOX_ONLY)
    sd = spamd(cluster, None, {
        "quarantine_score": "2.0", "next_hop": "lmtp:127.0.0.1:9",
        "domain_routes": "example.test = lmtp:127.0.0.1:9, "
                         "lmtp:127.0.0.1:%d" % st.port})
    for i in range(2):
        r = lmtp_send(sd.port, [ALICE, BOB], RULES_MSG,
                      sender="y%d@spam.test" % i)
        assert "quarantined" in r[0][1]
    files = wait_for(lambda: len(quarantined(sd)) == 2 and quarantined(sd),
                     what="two quarantined")
    rel = qtool(sd, "release", files[0])
    assert rel.returncode == 0, rel.stderr
    assert b"released to lmtp:127.0.0.1:%d" % st.port in rel.stdout
    for rcpt in (ALICE, BOB):
        trace_prefix_only(wait_messages(st, rcpt, 1)[0], RULES_MSG)
    assert quarantined(sd) == [files[1]]
    # expire leaves the note; without it, a hop must be named
    old = time.time() - 7200
    note = os.path.join(sd.quarantine_dir, ".next_hop")
    os.utime(note, (old, old))
    assert qtool(sd, "expire", "1h").returncode == 0
    assert os.path.exists(note)
    os.unlink(note)
    rel = qtool(sd, "release", files[1])
    assert rel.returncode == 1 and b"name one" in rel.stderr
    assert quarantined(sd) == [files[1]]
