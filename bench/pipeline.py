#!/usr/bin/python3
"""NAME
    pipeline.py - the whole inbound pipeline for bench.py

DESCRIPTION
    Sluice: load -> sluice-mx -> sluice-avscan (libclamav on our test.hdb)
    -> sluice-spamd (trained Bayes) -> sluice-store (Maildir), every stage
    durable. Postfix: load -> Postfix with clamav-milter (a private clamd
    that loads only test.hdb: no freshclam, no network) and spamass-milter
    (a private SpamAssassin spamd: local tests only, trained Bayes) ->
    virtual(8) Maildir. Every daemon is a private instance in the run's
    work directory on its own ports and sockets, started and stopped here;
    Debian's own services are not used.

    prepare() trains both Bayes databases once per bench run on the same
    corpus (spamd/corpus.sh). preflight() shows, before anything is
    measured, that each stack really scans: EICAR is stopped, a clean
    message arrives with both scanners' headers, a spam is flagged.
    unscanned() counts delivered messages without them after a run.
"""
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

from benchlib import (BENCH_CONF, BIN, ROOT, STORE_LMTP_ONLY, Postfix,
                      Sluice, alive, comm, free_port, hwm, maildir_files, tree,
                      tree_cpu, wait_port)

HDB = os.path.join(ROOT, "tests", "data", "clamav", "test.hdb")
SA_RULES = "/usr/share/spamassassin"
SA_SITE = "/etc/spamassassin"
SA_USER = "debian-spamd"
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-"
         b"FILE!$H+H*")
# what every delivered message must carry to count as scanned
MARKS = {"postfix": (b"\nX-Virus-Status: Clean", b"\nX-Spam-Status: "),
         "sluice": (b"\nX-Sluice-Virus: clean", b"\nX-Spam-Status: ")}


def count_for(system, size, sessions, quick):
    """Messages per run. SpamAssassin needs 0.15-0.25 CPU seconds for a
    4 KB message here and 0.7 s for 100 KB, so Postfix's stack gets a
    few dozen to a hundred (each run still lasts 15-40 s); ours gets
    thousands, as the delivery path."""
    if system == "postfix":
        if quick:
            return 30
        n = 120 if size <= 10000 else 40
        return n // 2 if sessions == 1 else n
    if quick:
        return 2000
    if size > 10000:
        return 1500 if sessions > 1 else 600
    return 5000 if sessions > 1 else 2000


def _user(name):
    """preexec_fn dropping root to name."""
    pw = pwd.getpwnam(name)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


def _chown(path, user):
    pw = pwd.getpwnam(user)
    for top, dirs, files in os.walk(path):
        for n in [top] + [os.path.join(top, x) for x in dirs + files]:
            os.chown(n, pw.pw_uid, pw.pw_gid)


class Shared:
    """Once per bench run: both Bayes databases, trained on the same
    messages: the training sets of spamd/corpus.sh (the SpamAssassin
    public corpus; fetched once into its cache)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-bench-shared-")
        os.chmod(self.dir, 0o755)
        t0 = time.time()
        cache = os.environ.get("SLUICE_CORPUS", "/var/cache/sluice-corpus")
        subprocess.run([os.path.join(ROOT, "spamd", "corpus.sh"), "fetch",
                        cache], check=True, stdout=subprocess.DEVNULL)
        data = os.path.join(cache, "data")
        self.ham = [os.path.join(data, s) for s in ("easy-ham-1",
                                                     "hard-ham-1")]
        self.spam = [os.path.join(data, "spam-1")]
        self.held_spam = os.path.join(data, "spam-2")
        self.sa_bayes = os.path.join(self.dir, "sa-bayes")
        os.makedirs(self.sa_bayes)
        site = self.sa_site(self.dir, self.sa_bayes)
        for kind, dirs in (("--spam", self.spam), ("--ham", self.ham)):
            subprocess.run(["sa-learn", "-L", "-C", SA_RULES,
                            "--siteconfigpath", site, kind] + dirs,
                           check=True, stdout=subprocess.DEVNULL)
        self.sluice_bayes = os.path.join(self.dir, "bayes.db")
        subprocess.run([os.path.join(BIN, "sluice-spamtrain"), "--db",
                        self.sluice_bayes, "--spam"] + self.spam +
                       ["--ham"] + self.ham, check=True,
                       stdout=subprocess.DEVNULL)
        self.seconds = time.time() - t0

    @staticmethod
    def sa_site(work, bayes_dir):
        """A private site config: Debian's plugin list (*.pre,
        65_debian.cf), no network tests, Bayes at bayes_dir, no
        auto-learning (every run sees the same database)."""
        site = os.path.join(work, "sa-site")
        os.makedirs(site, exist_ok=True)
        for n in os.listdir(SA_SITE):
            if n.endswith(".pre") or n == "65_debian.cf":
                shutil.copy(os.path.join(SA_SITE, n), site)
        with open(os.path.join(site, "local.cf"), "w") as f:
            f.write("use_bayes 1\nbayes_auto_learn 0\n"
                    "bayes_path %s/bayes\nbayes_file_mode 0777\n"
                    "lock_method flock\ndns_available no\n"
                    "skip_rbl_checks 1\n" % bayes_dir)
        return site

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Daemons:
    """Processes started in work, each with its log; stop() ends them
    and every descendant they leave, by pid."""

    def __init__(self, work):
        self.dir = work
        self.procs = []

    def start(self, name, argv, user=None):
        log = open(os.path.join(self.dir, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=self.dir,
                             preexec_fn=_user(user) if user else None)
        self.procs.append((name, p))
        return p

    def pids(self):
        return [p.pid for _, p in self.procs]

    def stop(self):
        left = tree(self.pids())
        for _, p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        end = time.time() + 10
        while time.time() < end and any(alive(q) for q in left):
            time.sleep(0.1)
        for q in left:
            try:
                os.kill(q, signal.SIGKILL)
            except OSError:
                pass


def clamd_ping(path, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(path)
                s.sendall(b"zPING\0")
                if s.recv(16).startswith(b"PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("clamd never answered on " + path)


class PostfixStack:
    """Postfix + clamav-milter/clamd + spamass-milter/spamd -> virtual."""
    name = "postfix"

    def __init__(self, work, shared):
        self.dir = work
        self.d = Daemons(work)
        try:
            self._start(work, shared)
        except Exception:
            self.stop()
            raise

    def _start(self, work, shared):
        db = os.path.join(work, "clamdb")
        os.makedirs(db)
        shutil.copy(HDB, db)
        _chown(db, "clamav")
        sock = os.path.join(db, "clamd.sock")  # clamav's directory
        self._write("clamd.conf", [
            "LocalSocket " + sock, "LocalSocketMode 660", "User clamav",
            "DatabaseDirectory " + db, "Foreground yes",
            "LogFile " + os.path.join(work, "clamd.log"), "LogTime yes",
            "TemporaryDirectory " + db, "Bytecode no"])
        self.d.start("clamd", ["clamd", "-c",
                               os.path.join(work, "clamd.conf")])
        clamd_ping(sock)
        cport = free_port()
        self._write("clamav-milter.conf", [
            "MilterSocket inet:%d@127.0.0.1" % cport, "User clamav",
            "ClamdSocket unix:" + sock, "Foreground yes",
            "OnInfected Reject", "OnFail Defer", "AddHeader Replace",
            "LogFile " + os.path.join(work, "clamav-milter.log"),
            "LogInfected Basic", "LogTime yes"])
        self.d.start("clamav-milter", ["clamav-milter", "-c", os.path.join(
            work, "clamav-milter.conf")])
        # SpamAssassin's spamd: local tests only (-L), its own site config
        # and a copy of the trained Bayes database
        bayes = os.path.join(work, "sa-bayes")
        shutil.copytree(shared.sa_bayes, bayes)
        _chown(bayes, SA_USER)
        site = Shared.sa_site(work, bayes)
        sport = free_port()
        self.d.start("spamd", [
            "spamd", "-L", "-x", "-C", SA_RULES, "--siteconfigpath", site,
            "-i", "127.0.0.1", "-A", "127.0.0.1", "-p", str(sport),
            "-m", "5", "-u", SA_USER, "-s",
            os.path.join(work, "spamd.log"),
            "--pidfile", os.path.join(work, "spamd.pid")])
        mport = free_port()
        self.d.start("spamass-milter", [
            "spamass-milter", "-p", "inet:%d@127.0.0.1" % mport, "--",
            "-d", "127.0.0.1", "-p", str(sport)], user="spamass-milter")
        wait_port(cport, timeout=30)
        wait_port(sport, timeout=120)
        wait_port(mport, timeout=30)
        self.pf = Postfix(work, "delivery", user=("alice", "bob"), extra={
            "smtpd_milters": "inet:127.0.0.1:%d, inet:127.0.0.1:%d" % (
                cport, mport),
            "milter_default_action": "tempfail"}, conf=BENCH_CONF)
        self.port, self.mail = self.pf.port, self.pf.mail

    def _write(self, name, lines):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write("\n".join(lines) + "\n")

    def roots(self):
        pf = getattr(self, "pf", None)
        return ([pf.master] if pf else []) + self.d.pids()

    def cpu(self):
        return tree_cpu(self.roots())

    def cpu_parts(self):
        """CPU seconds of Postfix (all its processes) and of each filter
        daemon with its children (spamd's, spamass-milter's spamc)."""
        out = {n: tree_cpu([p.pid]) for n, p in self.d.procs}
        out["postfix"] = tree_cpu([self.pf.master])
        return out

    def rss(self):
        out = {}
        for pid in tree(self.roots()):
            n = comm(pid)
            out[n] = max(out.get(n, 0), hwm(pid))
        return out

    def stop(self):
        if getattr(self, "pf", None):
            self.pf.stop()
        self.d.stop()

    def bayes_seen(self):
        """SpamAssassin's Bayes rules on bob's mail (none: untrained)."""
        hits = set()
        for p in maildir_files(self.mail, "bob"):
            hits.update(re.findall(rb"BAYES_\d+", header_block(p)))
        if not hits:
            raise RuntimeError("SpamAssassin did not use Bayes")
        return "SpamAssassin rules hit: " + ",".join(
            sorted(h.decode() for h in hits))


def _msg(subject, body, attach=None):
    """A small message; attach: bytes sent as a base64 attachment."""
    import base64
    head = ("From: <pre@remote.test>\r\nTo: <bob@example.test>\r\n"
            "Subject: %s\r\nMessage-ID: <%s@remote.test>\r\n" % (
                subject, subject)).encode()
    if attach is None:
        return head + b"\r\n" + body + b"\r\n"
    return (head + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n"
            b"\r\n" + body + b"\r\n--b1\r\nContent-Type: "
            b"application/octet-stream\r\nContent-Transfer-Encoding: "
            b"base64\r\nContent-Disposition: attachment; filename=t.com"
            b"\r\n\r\n" + base64.b64encode(attach) + b"\r\n--b1--\r\n")


def _send(port, msg):
    """None when accepted, else the refusal's code and text."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.sendmail("pre@remote.test", ["bob@example.test"], msg)
        return None
    except smtplib.SMTPResponseException as e:
        return "%d %s" % (e.smtp_code, e.smtp_error.decode(errors="replace"))
    except smtplib.SMTPRecipientsRefused as e:
        return str(e.recipients)


def header_block(path):
    with open(path, "rb") as f:
        data = f.read(65536)
    return b"\n" + data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]


def _arrived(stack, subject, timeout=60):
    """The header block of bob's message with subject, once there."""
    want = b"\nSubject: " + subject.encode()
    end = time.time() + timeout
    while time.time() < end:
        for p in maildir_files(stack.mail, "bob"):
            h = header_block(p)
            if want in h:
                return h
        time.sleep(0.1)
    raise RuntimeError("%s: %s never arrived" % (stack.name, subject))


def preflight(stack, shared):
    """Show the scanners act before anything is measured; raise if not.
    Returns what was seen, for results.json."""
    seen = {}
    text = b"Hello Bob,\r\nthe minutes of Monday's meeting are attached.\r\n"
    no = _send(stack.port, _msg("preflight-clean", text))
    if no:
        raise RuntimeError("%s refused a clean message: %s" % (
            stack.name, no))
    h = _arrived(stack, "preflight-clean")
    for m in MARKS[stack.name]:
        if m not in h:
            raise RuntimeError("%s: no %r on a clean message:\n%s" % (
                stack.name, m, h.decode(errors="replace")))
    seen["clean"] = [ln.decode(errors="replace").rstrip("\r")
                     for ln in h.split(b"\n")
                     if ln.startswith((b"X-Virus", b"X-Spam", b"X-Sluice"))]
    no = _send(stack.port, _msg("preflight-eicar", text, EICAR))
    if stack.name == "postfix":
        if not no or not no.startswith("5"):
            raise RuntimeError("Postfix+clamav-milter took EICAR: %s" % no)
        seen["eicar"] = no
    else:
        if no:
            raise RuntimeError("mx refused EICAR: %s" % no)
        seen["eicar"] = stack.wait_quarantined()
    seen["spam"] = _spams(stack, shared)
    if any(b"preflight-eicar" in header_block(p)
           for p in maildir_files(stack.mail, "bob")):
        raise RuntimeError("%s delivered EICAR" % stack.name)
    seen["bayes"] = stack.bayes_seen()
    return seen


def _spams(stack, shared, n=5):
    """Send n held-out spams (never trained on); at least one must come
    back flagged. Returns how many were."""
    names = sorted(os.listdir(shared.held_spam))[:n]
    for i, name in enumerate(names):
        with open(os.path.join(shared.held_spam, name), "rb") as f:
            raw = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        no = _send(stack.port, b"X-Bench-Spam: %d\r\n" % i + raw)
        if no:
            raise RuntimeError("%s refused spam %s: %s" % (stack.name, name,
                                                           no))
    end = time.time() + 60
    while time.time() < end:
        hs = [header_block(p) for p in maildir_files(stack.mail, "bob")]
        hs = [h for h in hs if b"\nX-Bench-Spam: " in h]
        if len(hs) == len(names):
            break
        time.sleep(0.1)
    flagged = sum(1 for h in hs if b"\nX-Spam-Flag: YES" in h)
    if len(hs) != len(names) or not flagged:
        raise RuntimeError("%s: %d of %d spams arrived, %d flagged" % (
            stack.name, len(hs), len(names), flagged))
    return "%d of %d held-out spams flagged" % (flagged, len(names))


def unscanned(stack):
    """Delivered messages (alice's) that lack a scanner's header."""
    return sum(1 for p in maildir_files(stack.mail)
               if not all(m in header_block(p) for m in MARKS[stack.name]))


def start(system, work, shared):
    """The stack of system ("postfix" or "sluice") running in work."""
    return (PostfixStack if system == "postfix" else SluiceStack)(
        work, shared)


def check(system, shared):
    """Start system's stack, run preflight() on it, stop it."""
    work = tempfile.mkdtemp(prefix="sluice-bench-check-")
    os.chmod(work, 0o755)
    st = start(system, work, shared)
    try:
        return preflight(st, shared)
    finally:
        st.stop()
        shutil.rmtree(work, ignore_errors=True)


class SluiceStack(Sluice):
    """sluice-mx -> sluice-avscan -> sluice-spamd -> sluice-store."""
    name = "sluice"

    def __init__(self, work, shared):
        self.dir, self.procs = work, []
        try:
            self._pipeline(work, shared)
        except Exception:
            self.stop()
            raise

    def _pipeline(self, work, shared):
        users = os.path.join(work, "users")
        with open(users, "w") as f:
            f.write("alice@example.test\nbob@example.test\n")
        self.mail = os.path.join(work, "mail")
        own = os.path.join(work, "own")  # what the stages write to
        os.makedirs(own)
        shutil.copy(HDB, own)
        shutil.copy(shared.sluice_bayes, own)
        _chown(own, "sluice")
        self.quarantine = os.path.join(own, "quarantine")
        ports = {n: free_port() for n in ("store", "spamd", "avscan", "mx")}
        self.port = ports["mx"]
        stage = {"hostname": "bench.test", "max_sessions": "1000",
                 "trusted_peers": "127.0.0.1",
                 "delivery_concurrency": "20"}
        self._conf("store", dict(STORE_LMTP_ONLY, **{
            "lmtp_listen": "127.0.0.1:%d" % ports["store"],
            "directory_file": users, "mail_root": self.mail,
            "hostname": "store.bench.test", "max_sessions": "1000"}))
        self._conf("spamd", dict(stage, **{
            "listen": "127.0.0.1:%d" % ports["spamd"],
            "next_hop": "lmtp:127.0.0.1:%d" % ports["store"],
            "domain_routes": "",
            "queue_dir": os.path.join(work, "spamd-queue"),
            "bayes_db": os.path.join(own, "bayes.db"),
            "quarantine_dir": os.path.join(own, "spam-quarantine")}))
        self._conf("avscan", dict(stage, **{
            "listen": "127.0.0.1:%d" % ports["avscan"],
            "next_hop": "lmtp:127.0.0.1:%d" % ports["spamd"],
            "queue_dir": os.path.join(work, "avscan-queue"),
            "clamav_database": os.path.join(own, "test.hdb"),
            "infected_action": "quarantine",
            "quarantine_dir": self.quarantine,
            "scan_tmp_dir": os.path.join(own, "scan-tmp")}))
        self._conf("mx", {"listen": "127.0.0.1:%d" % ports["mx"],
                          "hostname": "mx.bench.test",
                          "local_domains": "example.test",
                          "next_hop": "lmtp:127.0.0.1:%d" % ports["avscan"],
                          "queue_dir": os.path.join(work, "queue"),
                          "tls_cert": "", "max_sessions": "1000",
                          # every load session comes from 127.0.0.1
                          "max_client_sessions": "0",
                          "next_hop_tls": "none",
                          "delivery_concurrency": "20"})
        for n in ("store", "spamd", "avscan", "mx"):
            self._start(n, ports[n])

    def log_count(self, stage, pattern):
        with open(os.path.join(self.dir, stage + ".log"), "rb") as f:
            return len(re.findall(pattern, f.read()))

    def bayes_seen(self):
        """spamd's verdicts with a Bayes probability (none: untrained)."""
        n = self.log_count("spamd", rb" bayes=[01]\.\d+ ")
        if not n:
            raise RuntimeError("sluice-spamd did not use Bayes")
        return "sluice-spamd verdicts with a Bayes probability: %d" % n

    def wait_quarantined(self, timeout=30):
        """The name of the first file in avscan's quarantine."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                names = os.listdir(self.quarantine)
            except OSError:
                names = []
            if names and self.log_count(
                    "avscan", rb"virus=Sluice\.Test\.EICAR[.A-Z]*, "
                    rb"action=quarantined"):
                return "quarantined by avscan: " + names[0]
            time.sleep(0.1)
        raise RuntimeError("avscan quarantined nothing")
