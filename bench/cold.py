#!/usr/bin/python3
"""NAME
    cold.py - the cold-cache path of bench.py: mx's defenses when every
    client and every sender domain is new

DESCRIPTION
    One load, five systems, the same inputs for all (4 KB, SESSIONS
    concurrent sessions, one message per connection, as smtp-source):

      off        sluice-mx with every defense off
      on-warm    every defense on; the clients are a few addresses that
                 already passed the screen, the sender one domain
      on-cold    every defense on; every connection from an address not
                 seen before (127.x.y.z: all of 127/8 routes over lo),
                 every message from a sender domain not seen before
      ps-warm    Postfix with postscreen(8), warm as on-warm
      ps-cold    the same, cold as on-cold

    "Every defense on" is DEFENSES_ON (SPF, DKIM, ARC, DMARC p=reject,
    local forgery, sender domain check, one DNS list, HELO and protocol
    tests) plus the greet pause (PAUSE_MS, with screen_pass_time), the
    connection and sender rate limits (at a limit no load reaches: the
    maps are kept, nobody is refused) and greylisting with its SQLite
    state, which skips SPF-pass senders (as the paper's F University):
    every sender here passes SPF, so greylisting costs its lookup of the
    SPF result and no deferral (a deferral + retry is not measured).
    The same mx with the greet pause at 0 is measured too (on-warm-0,
    on-cold-0): with a 1 s pause a new client's session lasts a second,
    so the cold rows with the pause measure the pause, and these the rest.

    Every cold sender domain cN.test has its own SPF TXT (an include of
    one shared record, as most senders have), MX, DKIM key TXT and DMARC
    TXT at a private dnsmasq on 127.0.0.1 (dns_servers), every message is
    DKIM-signed (rsa-sha256, 2048-bit key) by its own domain, and every
    client address gets its own DNS list query (NXDOMAIN: listed by
    nobody). mx keeps no cache for SPF, DKIM, DMARC or MX answers (c-ares
    1.18 has no query cache): those go to dnsmasq for every message, warm
    or cold; what warm saves is the DNS list verdict (kept 300 s per
    address), the screen (a client that passed skips the pause) and new
    entries in the rate maps. dnsmasq's CPU is reported apart.

    Postfix gets the same connections and messages: postscreen's greet
    wait (1 s, its least) with an empty access list so loopback is
    screened, its cache kept for a day; smtpd requires a valid, fully
    qualified HELO and sender and refuses unauthorized pipelining. It
    runs with DNS off (the bench never points a system resolver at
    anything): no DNS list, no sender domain check and no SPF/DKIM/DMARC,
    work mx does and Postfix is spared.

    The load is asyncio in this process, each connection bound to its
    client address; every step has a timeout and the whole run a
    deadline. Messages are signed before the timed runs.
"""
import asyncio
import os
import shutil
import tempfile
import time

from benchlib import (DEFENSES_ON, POSTSCREEN, Postfix, Sink,
                      Sluice, proc_stat, TICKS, wait_idle)

# dnsmasq drops queries past its socket buffer (a burst of 400 lost
# 144 here); 100 sessions on a loaded machine lost a few, 50 do not
SESSIONS = int(os.environ.get("BENCH_COLD_SESSIONS", "50"))
N = int(os.environ.get("BENCH_COLD_N", "2000"))
WARM_ADDRS = 10                 # the warm clients: 127.1.0.1 .. 127.1.0.10
PAUSE_MS = 1000                 # postscreen_greet_wait cannot go lower
SELECTOR = "s2048"
PF_CONF = "/var/tmp/sluice-bench-pf-cold"  # its own Postfix directory
STEP_TIMEOUT = 30               # seconds for one reply
RUN_DEADLINE = 600              # seconds for one whole load


def on_conf(pause_ms, workdir):
    """mx with every defense on (see the module's description)."""
    os.makedirs(os.path.join(workdir, "state"), exist_ok=True)
    return dict(DEFENSES_ON, greet_pause_ms=str(pause_ms),
                screen_pass_time="1d", dmarc_policy="yes",
                greylist="yes",
                greylist_db=os.path.join(workdir, "state", "greylist.db"),
                connection_rate_limit="1000000",
                sender_rate_limit="1000000")


def cold_addr(i):
    """The i-th new client address: 127.16.0.0 and up, never 127.0.0/24
    (the servers) nor the warm clients' 127.1/16."""
    i += 16 << 16
    return "127.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)


def warm_addr(i):
    return "127.1.0.%d" % (1 + i % WARM_ADDRS)


def domain(i):
    return "c%d.test" % i


class Inputs:
    """The key, the DNS records and the signed messages, made once."""

    def __init__(self, n):
        import dkim
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        t0 = time.time()
        key = rsa.generate_private_key(public_exponent=65537,
                                       key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        pub = key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        import base64
        dkim_txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(pub).decode()
        body = b"".join(b"line %04d of a message body for the cold bench "
                        b"path, text only\r\n" % k for k in range(64))
        body = body[:body.rfind(b"\r\n", 0, 4096 - 720) + 2]

        def msg(dom, k):
            head = ("From: Sender <s%d@%s>\r\nTo: <alice@example.test>\r\n"
                    "Subject: cold bench %d\r\nDate: Thu, 03 Dec 2026 "
                    "12:00:00 +0000\r\nMessage-ID: <%d.%s@%s>\r\n"
                    "MIME-Version: 1.0\r\n\r\n" % (k, dom, k, k, dom, dom))
            m = head.encode() + body
            sig = dkim.sign(m, SELECTOR.encode(), dom.encode(), pem,
                            include_headers=[b"from", b"to", b"subject",
                                             b"date", b"message-id"],
                            canonicalize=(b"relaxed", b"relaxed"))
            return sig + m

        self.cold = [msg(domain(i), i) for i in range(n)]
        self.warm = msg("warm.test", 0)
        doms = ["warm.test"] + [domain(i) for i in range(n)]
        self.dns = ["host-record=mx.senders.test,127.0.0.3",
                    txt("_spf.senders.test", "v=spf1 ip4:127.0.0.0/8 -all")]
        for d in doms:
            self.dns += ["mx-host=%s,mx.senders.test,10" % d,
                         txt(d, "v=spf1 include:_spf.senders.test -all"),
                         txt("%s._domainkey.%s" % (SELECTOR, d), dkim_txt),
                         txt("_dmarc." + d, "v=DMARC1; p=reject")]
        self.seconds = time.time() - t0


def txt(name, value):
    """A dnsmasq txt-record line; long values in 200-octet strings."""
    parts = [value[i:i + 200] for i in range(0, len(value), 200)]
    return "txt-record=%s,%s" % (name, ",".join('"%s"' % p for p in parts))


async def reply(r):
    """One SMTP reply (all its lines); its code."""
    while True:
        ln = await asyncio.wait_for(r.readline(), STEP_TIMEOUT)
        if len(ln) < 4:
            raise ConnectionError("short reply %r" % ln)
        if ln[3:4] != b"-":
            return int(ln[:3])


async def one(port, src, helo, sender, data):
    """One connection, one message; True when it was accepted."""
    r, w = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", port, local_addr=(src, 0)), STEP_TIMEOUT)
    try:
        if await reply(r) != 220:
            return False
        for cmd, want in ((b"EHLO %s\r\n" % helo, 250),
                          (b"MAIL FROM:<%s>\r\n" % sender, 250),
                          (b"RCPT TO:<alice@example.test>\r\n", 250),
                          (b"DATA\r\n", 354)):
            w.write(cmd)
            if await reply(r) != want:
                return False
        w.write(data + b".\r\n")  # data ends in CRLF, no line starts "."
        if await reply(r) != 250:
            return False
        w.write(b"QUIT\r\n")
        await reply(r)
        return True
    finally:
        w.close()


async def run_load(port, jobs, sessions):
    """jobs: (src, helo, sender, data) each; sessions at once. Counts of
    accepted and failed messages."""
    q = list(reversed(jobs))
    ok = [0, 0]

    async def worker():
        while q:
            j = q.pop()
            try:
                ok[0 if await one(port, *j) else 1] += 1
            except (OSError, asyncio.TimeoutError, ConnectionError):
                ok[1] += 1
    await asyncio.wait_for(asyncio.gather(
        *[worker() for _ in range(sessions)]), RUN_DEADLINE)
    return ok


def jobs_for(inp, cold, n):
    if cold:
        return [(cold_addr(i), b"mail.%s" % domain(i).encode(),
                 b"s%d@%s" % (i, domain(i).encode()), inp.cold[i])
                for i in range(n)]
    return [(warm_addr(i), b"mail.warm.test", b"s0@warm.test", inp.warm)
            for i in range(n)]


def pid_cpu(pid):
    st, _ = proc_stat(pid)
    return sum(st[:2]) / TICKS if st else 0.0


def one_run(system, inp, n, sessions):
    """system: off, on-warm[-0], on-cold[-0], ps-warm, ps-cold."""
    wait_idle()
    load = os.getloadavg()[0]
    work = tempfile.mkdtemp(prefix="sluice-bench-cold-")
    os.chmod(work, 0o755)
    sink = Sink(work)
    cold = "cold" in system
    try:
        if system.startswith("ps-"):
            srv = Postfix(work, "relay", sink.port, conf=PF_CONF,
                          postscreen=True, extra=POSTSCREEN)
        elif system == "off":
            srv = Sluice(work, "relay", sink.port)
        else:
            pause = 0 if system.endswith("-0") else PAUSE_MS
            srv = Sluice(work, "relay", sink.port, on_conf(pause, work),
                         dns=inp.dns)
    except Exception:
        sink.stop()
        raise
    try:
        if not cold:    # the warm clients passed before, from their domain
            acc, _ = asyncio.run(run_load(
                srv.port, jobs_for(inp, False, WARM_ADDRS), WARM_ADDRS))
            if acc != WARM_ADDRS:
                raise RuntimeError("%s: warm-up refused" % system)
            time.sleep(0.3)     # mx records a pass when the session ends
        base = sink_wait(sink, 0 if cold else WARM_ADDRS)
        dns = getattr(srv, "dnsmasq", None)
        cpu0, dcpu0 = srv.cpu(), pid_cpu(dns.pid) if dns else 0.0
        t0 = time.time()
        acc, bad = asyncio.run(run_load(srv.port, jobs_for(inp, cold, n),
                                        sessions))
        got = sink_wait(sink, base + acc) - base
        t1 = time.time()
        cpu = srv.cpu() - cpu0
        dcpu = (pid_cpu(dns.pid) - dcpu0) if dns else 0.0
    finally:
        srv.stop()
        sink.stop()
    verdicts = mx_verdicts(work) if system.startswith("on-") else None
    shutil.rmtree(work, ignore_errors=True)
    return {"system": system, "mx_log_verdicts": verdicts, "path": "cold", "size": 4096,
            "sessions": sessions, "messages": n, "accepted": acc,
            "refused": bad, "arrived": got,
            "ok": acc == n and got >= n and checked(verdicts, n),
            "seconds": t1 - t0,
            "msgs_per_s": n / (t1 - t0), "cpu_per_1000": cpu * 1000.0 / n,
            "dnsmasq_cpu_per_1000": dcpu * 1000.0 / n,
            "loadavg_1m": load}


def mx_verdicts(work):
    """How many spf=pass, dkim=pass and dmarc=pass lines mx logged: the
    proof that each message was checked (warm-up included)."""
    out = {"spf=pass": 0, "dkim=pass": 0, "dmarc=pass": 0,
           "dnsbl failed": 0, "temperror": 0}
    with open(os.path.join(work, "mx.log"), errors="replace") as f:
        for ln in f:
            for k in out:
                if ": %s " % k in ln or (k == "dnsbl failed" and
                                         "dnsbl: lookup" in ln) or \
                        (k == "temperror" and "=temperror " in ln):
                    out[k] += 1
    return out


def checked(v, n):
    """Every message passed SPF, DKIM and DMARC and no DNS list lookup
    failed (a refusal shows in the accepted count; None: nothing to check, Postfix or mx with its checks off)."""
    return v is None or (min(v["spf=pass"], v["dkim=pass"],
                             v["dmarc=pass"]) >= n and not v["dnsbl failed"])


def sink_wait(sink, want, limit=120):
    end = time.time() + limit
    while sink.count() < want and time.time() < end:
        time.sleep(0.02)
    return sink.count()


SYSTEMS = ["off", "on-warm-0", "on-cold-0", "on-warm", "on-cold",
           "ps-warm", "ps-cold"]


def cold_path(results, repeats, median_run):
    inp = Inputs(N)
    print("cold: %d signed messages and %d DNS records made in %.0f s" %
          (N, len(inp.dns), inp.seconds), flush=True)
    for sy in SYSTEMS:
        runs = [one_run(sy, inp, N, SESSIONS) for _ in range(repeats)]
        med = dict(median_run(list(runs)))
        med["runs_msgs_per_s"] = [round(r["msgs_per_s"], 1) for r in runs]
        med["runs_cpu_per_1000"] = [round(r["cpu_per_1000"], 3)
                                    for r in runs]
        med["runs_loadavg_1m"] = [r["loadavg_1m"] for r in runs]
        results.append(med)
        print("cold     %-10s %3d sess | %s msg/s (runs %s) | cpu/1k "
              "%.2fs (dnsmasq %.2fs) | load %s" % (
                  sy, SESSIONS,
                  "FAILED" if not med["ok"] else "%.0f" % med["msgs_per_s"],
                  ", ".join("%.0f" % v for v in med["runs_msgs_per_s"]),
                  med["cpu_per_1000"], med["dnsmasq_cpu_per_1000"],
                  ", ".join("%.1f" % v for v in med["runs_loadavg_1m"])),
              flush=True)
