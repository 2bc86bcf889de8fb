"""Fixtures for Sluice's end-to-end tests: real daemons on 127.0.0.1.

Every daemon runs from the build under test (SLUICE_BUILD, default
build/asan) in its own temporary directory with a generated config file,
on free ports, logging to a file. At teardown each daemon gets SIGTERM and
must exit 0 with no sanitizer report in its log.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("SLUICE_BUILD", "build/asan"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:",
                   "ERROR: LeakSanitizer")


# Ports for daemons come from a range of this worker's own (pytest-xdist
# runs several), below the kernel's ephemeral range (32768 and up), so
# neither another worker nor an outgoing connection can take a port
# between the check here and the daemon's bind.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_WID = int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0
_PORT_BASE = 20000 + (_WID % 4) * 3000
_port_next = [_PORT_BASE + (os.getpid() * 7) % 3000]


def free_port():
    """A port on 127.0.0.1 nobody listens on, from this worker's range."""
    for _ in range(3000):
        p = _port_next[0]
        _port_next[0] = _PORT_BASE + (p + 1 - _PORT_BASE) % 3000
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
            return p
    raise AssertionError("no free port in %d..%d" %
                         (_PORT_BASE, _PORT_BASE + 2999))


def wait_for(pred, timeout=15.0, what="condition"):
    """Poll pred until it returns a true value; fail after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


# a daemon's bind that lost the race for its port (common/daemon.c)
_IN_USE = re.compile(r"bind \S*:(\d+): Address already in use")


def _listens(pid, port):
    """Whether process pid has a socket listening on TCP port (a port
    free_port() chose may have been taken since by somebody else)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            col = row.split()
            if col[3] == "0A" and int(col[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % col[9])
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return True     # cannot tell: as before, the port answering
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


def http_get(port, request, timeout=5):
    """Send request to 127.0.0.1:port; everything it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


_SERIES = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def scrape(port):
    """Every series of a metrics page as {"name{labels}": value}."""
    resp = http_get(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert b"text/plain; version=0.0.4" in head
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        m = _SERIES.match(line)
        assert m, "not exposition format: %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def metric(d, series):
    """The value of series (name{labels}) on daemon d's metrics page; a
    series the page lacks fails, so a counter that was never registered
    cannot pass for 0."""
    page = scrape(d.metrics_port)
    assert series in page, "%s not on the metrics page" % series
    return page[series]


class Daemon:
    """One sluice daemon process with its config, dir and log; args: more
    command-line options (e.g. ["-m"] for a milter mode)."""

    args = ()
    host = "127.0.0.1"   # where start() waits for it to listen

    def __init__(self, name, binary, conf, workdir, port):
        self.name, self.binary, self.conf = name, binary, conf
        self.workdir, self.port = workdir, port
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None

    def start(self):
        """Start the daemon and wait until it listens. A port of its
        config that somebody took since free_port() chose it (another
        test run on the machine: the check and the daemon's bind are not
        one step) is moved to a new free port and the start tried again;
        the failed try's log lines go to <log>.inuse."""
        for _ in range(8):
            off = os.path.getsize(self.log_path) \
                if os.path.exists(self.log_path) else 0
            self.logf = open(self.log_path, "ab")
            env = dict(os.environ)
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
            self.proc = subprocess.Popen([self.binary, *self.args, "-c",
                                          self.conf],
                                         cwd=self.workdir, stdout=self.logf,
                                         stderr=subprocess.STDOUT, env=env)
            # listening there: our daemon, not whoever took the port
            wait_for(lambda: self.proc.poll() is not None or
                     (port_open(self.port, self.host) and
                      _listens(self.proc.pid, self.port)),
                     what=self.name + " to listen")
            if self.proc.poll() is None:
                return self
            self.logf.close()
            taken = _IN_USE.search(self.log()[off:])
            if taken is None or not self._move_port(int(taken.group(1)),
                                                    off):
                raise AssertionError("%s exited at start:\n%s" %
                                     (self.name, self.log()))
        raise AssertionError("%s: its ports kept being taken" % self.name)

    def _move_port(self, old, off):
        """Give every use of port old in the config (and the attributes
        holding it) a new free port; cut the failed try's lines (off on)
        out of the log. False when old is not in the config."""
        with open(self.conf) as f:
            conf = f.read()
        pat = re.compile(r"(?<=:)%d(?!\d)" % old)
        if not pat.search(conf):
            return False
        new = free_port()
        with open(self.conf, "w") as f:
            f.write(pat.sub(str(new), conf))
        for k, v in list(vars(self).items()):
            if k.endswith("port") and v == old:
                setattr(self, k, new)
        with open(self.log_path, "rb+") as f:
            f.seek(off)
            failed = f.read()
            f.truncate(off)
        with open(self.log_path + ".inuse", "ab") as f:
            f.write(failed)
        return True

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, check=True):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(self.name + " did not stop on SIGTERM")
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        if check:
            log = self.log()
            for mark in SANITIZER_MARKS:
                assert mark not in log, "%s: sanitizer report:\n%s" % (
                    self.name, log[-6000:])
            assert rc == 0, "%s exited with %s:\n%s" % (self.name, rc,
                                                        log[-3000:])

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.logf.close()


class Lmtp:
    """A raw LMTP client (RFC 2033): one reply per recipient after DATA,
    which smtplib.LMTP does not read."""

    def __init__(self, port, timeout=30, hello="LHLO mx.example.test"):
        self.s = socket.create_connection(("127.0.0.1", port), timeout)
        self.f = self.s.makefile("rb")
        self.greeting = self.reply()
        if self.greeting[0] == 220 and hello:
            self.ehlo = self.cmd(hello)

    def reply(self):
        text = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed")
            text.append(line[4:].rstrip(b"\r\n").decode())
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(text)

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()

    def send(self, sender, rcpts, msg, params=""):
        """The per-recipient replies to one message (list of (code,
        text)); a refused MAIL or RCPT is returned in place."""
        r = self.cmd("MAIL FROM:<%s>%s" % (sender, params))
        if r[0] != 250:
            return [r]
        ok = 0
        out = []
        for rc in rcpts:
            r = self.cmd("RCPT TO:<%s>" % rc)
            if r[0] == 250:
                ok += 1
            else:
                out.append(r)
        if ok == 0:
            self.cmd("RSET")
            return out
        r = self.cmd("DATA")
        assert r[0] == 354, r
        body = msg.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.s.sendall(body + b".\r\n")
        return out + [self.reply() for _ in range(ok)]

    def bdat(self, msg, chunk, pipelined=False, last=True):
        """Send msg in BDAT chunks of chunk octets (the last with LAST
        unless last is false); returns the chunks' replies. Pipelined:
        every chunk in one write, then the replies."""
        parts = [msg[i:i + chunk] for i in range(0, len(msg), chunk)] or [b""]
        wire = [b"BDAT %d%s\r\n%s" % (len(p), b" LAST" if last and
                                        i == len(parts) - 1 else b"", p)
                for i, p in enumerate(parts)]
        if pipelined:
            self.s.sendall(b"".join(wire))
            return [self.reply() for _ in wire]
        out = []
        for w in wire:
            self.s.sendall(w)
            out.append(self.reply())
        return out

    def close(self):
        try:
            self.cmd("QUIT")
        except OSError:
            pass
        self.s.close()


def lmtp_send(port, rcpts, msg, sender="carol@remote.test", params=""):
    c = Lmtp(port)
    try:
        return c.send(sender, rcpts, msg, params)
    finally:
        c.close()


def _die_with_us():
    """In the child: SIGKILL when the test process goes, however it goes
    (a killed xdist worker runs no atexit), so no dnsmasq outlives it."""
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)   # PR_SET_PDEATHSIG, SIGKILL


def dnsmasq(base, records):
    """Start a dnsmasq on 127.0.0.1 and a free port that answers for the
    .test domains from records (dnsmasq.conf lines). Returns the process
    and its "127.0.0.1:port" for dns_servers."""
    conf = os.path.join(base, "dnsmasq.conf")
    for _ in range(5):
        # a port taken between free_port() and dnsmasq's bind: another
        # one (dnsmasq exits at once when it cannot bind)
        port = free_port()
        with open(conf, "w") as f:
            f.write("\n".join([
                "port=%d" % port, "listen-address=127.0.0.1",
                "bind-interfaces", "no-resolv", "no-hosts", "local=/test/",
            ] + list(records)) + "\n")
        with open(conf + ".err", "w+b") as errf:
            p = subprocess.Popen([shutil.which("dnsmasq") or
                                  "/usr/sbin/dnsmasq", "-k", "-C", conf,
                                  "--user=root"], stderr=errf,
                                 preexec_fn=_die_with_us)
            time.sleep(0.3)
            if p.poll() is None:
                return p, "127.0.0.1:%d" % port
            errf.seek(0)
            err = errf.read().decode("utf-8", "replace")
        assert "in use" in err, "dnsmasq did not start: " + err
    raise AssertionError("dnsmasq: its ports kept being taken")


def send_retrying(port, sender, rcpts, msg, tries=200):
    """Send msg, retrying while the server is down (bounded). Returns True
    once a 250 came back, False when every try failed."""
    import smtplib
    for _ in range(tries):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.sendmail(sender, rcpts, msg)
            return True
        except (OSError, smtplib.SMTPException):
            time.sleep(0.05)
    return False


def client_tls():
    """A client TLS context that takes the tests' self-signed certificate."""
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def sluicectl(db, snap, *args, stdin=None, ok=True):
    """Run sluicectl on directory db and snapshot snap; with ok, it must
    succeed."""
    r = subprocess.run([os.path.join(BUILD, "sluicectl"), "-d", db,
                        "-s", snap, *args], input=stdin,
                       capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


class Ctl:
    """sluicectl on directory.db and snapshot in folder d."""

    def __init__(self, d):
        self.db = os.path.join(d, "directory.db")
        self.snap = os.path.join(d, "snapshot")
        self.auth = self.snap + ".auth"

    def __call__(self, *args, stdin=None, ok=True):
        return sluicectl(self.db, self.snap, *args, stdin=stdin, ok=ok)


_loopback_dns = []


def loopback_dns():
    """A dnsmasq of this worker's own on 127.0.0.1 with no records (.test
    names: NXDOMAIN, others: REFUSED), started on first use: the default
    resolver of every stage a test starts, so no lookup ever leaves the
    machine (the host's /etc/resolv.conf is not on loopback)."""
    if not _loopback_dns:
        import atexit
        base = tempfile.mkdtemp(prefix="sluice-dns-")
        p, addr = dnsmasq(base, [])
        atexit.register(p.kill)
        _loopback_dns.append(addr)
    return _loopback_dns[0]


# the stages that resolve names (SPF/DKIM/DMARC at mx, MX at outmta,
# DNSBL at spamd)
_RESOLVING = ("mx", "outmta", "spamd", "remote-mx")


def write_conf(path, kv):
    name = os.path.basename(path)
    if name.endswith(".conf") and name[:-5] in _RESOLVING and \
            "dns_servers" not in kv:
        kv = dict(kv, dns_servers=loopback_dns())
    with open(path, "w") as f:
        for k, v in kv.items():
            f.write("%s = %s\n" % (k, v))


class Cluster:
    """Creates daemons in a private directory and stops them all."""

    def __init__(self, base, cert):
        self.base, self.cert = base, cert
        self.daemons = []
        self.n = 0

    def _dir(self, name):
        self.n += 1
        d = os.path.join(self.base, "%s%d" % (name, self.n))
        os.makedirs(d)
        os.chmod(d, 0o755)
        return d

    def store(self, users=("alice@example.test", "bob@example.test"),
              extra=None, port=None):
        d = self._dir("store")
        port = port or free_port()
        with open(os.path.join(d, "users"), "w") as f:
            f.write("\n".join(users) + "\n")
        conf = {"lmtp_listen": "127.0.0.1:%d" % port,
                "hostname": "store.example.test",
                "directory_file": os.path.join(d, "users"),
                "mail_root": os.path.join(d, "mail"), "user": "sluice",
                # no fixed ports: a test that wants IMAP or POP3 sets
                # its own
                "imap_listen": "", "imaps_listen": "",
                "pop3_listen": "", "pop3s_listen": ""}
        conf.update(extra or {})
        write_conf(os.path.join(d, "store.conf"), conf)
        dm = Daemon("store", os.path.join(BUILD, "sluice-store"),
                    os.path.join(d, "store.conf"), d, port)
        dm.mail_root = conf["mail_root"]
        dm.directory_file = conf["directory_file"]
        self.daemons.append(dm)
        return dm.start()

    def mx(self, hops, extra=None, tls=True):
        d = self._dir("mx")
        port = free_port()
        conf = {"listen": "127.0.0.1:%d" % port,
                "hostname": "mx.example.test",
                "local_domains": "example.test",
                "next_hop": ", ".join(hops),
                "queue_dir": os.path.join(d, "queue"), "user": "sluice",
                "tls_cert": self.cert[0] if tls else "",
                "tls_key": self.cert[1] if tls else "",
                "retry_min": "1s", "retry_max": "2s",
                "hop_down_time": "1s",
                # the system's resolver would judge the tests' sender
                # domains; test_mx_auth.py checks it with its own DNS
                "sender_domain_check": "no",
                # every mechanism counts: tests read the counters
                "metrics_listen": "127.0.0.1:%d" % free_port()}
        conf.update(extra or {})
        write_conf(os.path.join(d, "mx.conf"), conf)
        dm = Daemon("mx", os.path.join(BUILD, "sluice-mx"),
                    os.path.join(d, "mx.conf"), d, port)
        dm.queue_dir = conf["queue_dir"]
        if conf["metrics_listen"]:
            dm.metrics_port = int(conf["metrics_listen"].rsplit(":", 1)[1])
        self.daemons.append(dm)
        return dm.start()

    def outmta(self, extra=None, port=None):
        """An outmta on a free port (or port); extra: more config keys.
        The tests' Internet is on loopback: exchangers there are
        allowed."""
        d = self._dir("outmta")
        port = port or free_port()
        conf = {"listen": "127.0.0.1:%d" % port,
                "hostname": "out.example.test",
                "allow_loopback_mx": "yes",
                "queue_dir": os.path.join(d, "queue"), "user": "sluice"}
        conf.update(extra or {})
        write_conf(os.path.join(d, "outmta.conf"), conf)
        dm = Daemon("outmta", os.path.join(BUILD, "sluice-outmta"),
                    os.path.join(d, "outmta.conf"), d, port)
        dm.queue_dir = conf["queue_dir"]
        self.daemons.append(dm)
        return dm.start()

    def stop_all(self):
        errors = []
        for d in self.daemons:
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


def self_signed(d):
    """A self-signed certificate for localhost in directory d: (cert,
    key) paths."""
    crt, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-keyout", key, "-out", crt], check=True,
                   capture_output=True)
    os.chmod(key, 0o644)  # the daemon reads it before dropping root
    return crt, key


@pytest.fixture(scope="session")
def cert():
    d = tempfile.mkdtemp(prefix="sluice-cert-")
    os.chmod(d, 0o755)
    crt, key = self_signed(d)
    yield crt, key
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cluster(cert):
    base = tempfile.mkdtemp(prefix="sluice-test-")
    os.chmod(base, 0o755)
    c = Cluster(base, cert)
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)


def maildir(store, rcpt):
    local, domain = rcpt.split("@")
    return os.path.join(store.mail_root, domain.lower(), local.lower(),
                        "Maildir", "new")


def messages(store, rcpt):
    """Every message in rcpt's Maildir/new, as bytes."""
    d = maildir(store, rcpt)
    if not os.path.isdir(d):
        return []
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            out.append(f.read())
    return out


def wait_messages(store, rcpt, n, timeout=20.0):
    return wait_for(lambda: len(messages(store, rcpt)) >= n and
                    messages(store, rcpt), timeout,
                    "%d message(s) for %s" % (n, rcpt))


def queue_tool(mx, *args):
    return subprocess.run([os.path.join(BUILD, "sluice-queue"), "-d",
                           mx.queue_dir] + list(args),
                          capture_output=True, text=True)
