"""audit_core: the fault list, the mechanisms of Table I, and the audit state.

A check is one observation: a fault, a title, the mechanisms it looks for,
a status and the transcripts that prove it. Status PASS: the defense was
seen acting; PARTIAL: it acted only in part (e.g. spam filed into Junk
where refusing was asked); FAIL: the fault was exploitable; NA: the probe
could not tell (role not given, bound too short to see it).
A fault's verdict: "solved" when every check that could tell passed,
"open" when none passed, "mitigated" otherwise; faults that no mechanism
can remove for good (spam, fraud, phishing, slammer, mail bombing: an
attacker varies the content, the sender or the source) are at best
"mitigated". "untested" when no check could tell.
"""
import ipaddress
import os
import socket
import time

from audit_wire import Transcript

# the 14 faults of Maraboli & Vallejos, in the paper's order; True: at
# best mitigated
FAULTS = [
    ("any-to-any", False), ("forging", False), ("open relay", False),
    ("anonymous sender", False), ("data size set by the sender", False),
    ("traffic amplification", False), ("no congestion control", False),
    ("no privacy", False), ("spam", True), ("virus", False),
    ("fraud", True), ("phishing", True), ("slammer", True),
    ("mail bombing", True),
]
FAULT_NAMES = [f for f, _ in FAULTS]
CAPPED = {f for f, c in FAULTS if c}

# Table I (the paper's numbering); the audit names what it saw acting
MECH = {
    1: "port 25 closed outside the MX", 2: "submission (RFC 6409)",
    3: "separate internal/external MTAs", 4: "SMTP AUTH",
    5: "certificates (PKI)", 7: "relay access lists",
    8: "max size per message", 9: "max recipients per message",
    10: "client connection limit", 11: "client rate limit",
    12: "max server processes", 13: "max connections per process",
    14: "SMTP over TLS", 15: "TLS for POP/IMAP/webmail",
    17: "RFC 2505 anti-spam", 19: "MTA rules (unknown users, domains)",
    20: "DNSBL", 22: "greylisting", 23: "regular expressions",
    24: "Bayesian filters", 28: "antivirus", 30: "SPF", 31: "DKIM",
    32: "greet pause", 33: "data-rate limit", 34: "limit mail from one sender",
    36: "bad-RCPT throttle",
}

PASS, PARTIAL, FAIL, NA = "pass", "partial", "fail", "n/a"

# hard caps on what an operator may ask for (the defaults are lower)
CAPS = {"flood": 200, "rate": 200, "bomb": 100, "size": 64 << 20,
        "wait": 120, "slow": 600, "rcpts": 2000}


def mechs_text(ms):
    return ", ".join("%s %s" % (m, MECH[m]) if isinstance(m, int) else m
                     for m in ms)


def host_allowed(host, allowed):
    """True for a loopback address, 'localhost', or a host named in
    allowed (--allow-host)."""
    if host in allowed or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_endpoint(text, default_host="127.0.0.1"):
    """'host:port', '[v6]:port' or 'port' -> (host, port)."""
    text = text.strip()
    if text.isdigit():
        return default_host, int(text)
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("bad address %r (want host:port)" % text)
    return host, int(port)


class Audit:
    """The state of one run: options, roles, checks, transcripts, and
    the messages whose delivery is looked up in the mailbox at the end."""

    def __init__(self, opts, roles):
        self.o = opts
        self.roles = roles          # role name -> (host, port)
        self.checks = []
        self.trs = []
        self.pending = []           # messages to look for over IMAP
        self.run_id = "%x%04x" % (int(time.time()), os.getpid() & 0xffff)
        self.user = opts.user
        self.domain = opts.user.rpartition("@")[2] if opts.user else \
            opts.rcpt.rpartition("@")[2]
        self.started = time.strftime("%Y-%m-%d %H:%M:%S %z")

    def ep(self, role):
        return self.roles.get(role)

    def tr(self, title):
        t = Transcript(title)
        t.id = "t%d" % len(self.trs)
        self.trs.append(t)
        return t

    def check(self, fault, title, mechs, status, detail, trs=()):
        assert fault in FAULT_NAMES, fault
        self.checks.append({"fault": fault, "title": title,
                            "mechanisms": list(mechs), "status": status,
                            "detail": detail,
                            "transcripts": [t.id for t in trs]})

    def token(self, name):
        return "sluice-audit %s %s" % (self.run_id, name)

    def outside(self):
        """The envelope sender of mail from the Internet."""
        return "probe-%s@%s" % (self.run_id, self.o.remote_domain)

    def helo(self):
        return "client.%s" % self.o.remote_domain

    def verdicts(self):
        """fault -> {verdict, seen (mechanisms that acted), missing,
        counts}."""
        out = {}
        for f in FAULT_NAMES:
            cs = [c for c in self.checks if c["fault"] == f]
            told = [c for c in cs if c["status"] != NA]
            ok = [c for c in told if c["status"] == PASS]
            some = [c for c in told if c["status"] in (PASS, PARTIAL)]
            if not told:
                v = "untested"
            elif len(ok) == len(told):
                v = "solved"
            elif some:
                v = "mitigated"
            else:
                v = "open"
            if v == "solved" and f in CAPPED:
                v = "mitigated"
            seen, missing = [], []
            for c in told:
                dst = seen if c["status"] in (PASS, PARTIAL) else missing
                for m in c["mechanisms"]:
                    if m not in dst:
                        dst.append(m)
            missing = [m for m in missing if m not in seen]
            out[f] = {"verdict": v, "seen": seen, "missing": missing,
                      "checks": len(cs), "passed": len(ok),
                      "failed": len([c for c in told
                                     if c["status"] == FAIL])}
        return out


def port_answers(host, port, source, timeout=2.0):
    """True when something accepts a TCP connection at host:port."""
    try:
        with socket.create_connection((host, port), timeout,
                                      (source, 0) if source else None):
            return True
    except OSError:
        return False
