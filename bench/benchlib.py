#!/usr/bin/python3
"""What the benchmarks share: free ports, /proc accounting (CPU over a
process tree, peak RSS), smtp-sink, a private Postfix instance, Maildir
counting and the latency probe. bench.py and pipeline.py use it; the
tests use its Postfix as a receiving MTA (through bench.Postfix).
"""
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "rel")
TICKS = os.sysconf("SC_CLK_TCK")
PF_CONF = "/var/tmp/sluice-bench-postfix"  # the tests' instances
BENCH_CONF = "/var/tmp/sluice-bench-pf"  # the benchmark's own
DESTS = 50  # destination domains of the outbound path
# the store takes mail by LMTP only: no IMAP/POP3 listeners on fixed ports
STORE_LMTP_ONLY = {"imap_listen": "", "imaps_listen": "", "pop3_listen": "",
                   "pop3s_listen": ""}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, host="127.0.0.1", timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def proc_stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        # fields after the comm: state=0 ppid=1 ... utime=11 stime=12
        # cutime=13 cstime=14
        return [int(parts[i]) for i in (11, 12, 13, 14)], int(parts[1])
    except (OSError, IndexError):
        return None, None


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st, ppid = proc_stat(int(d))
            if st and ppid == pid:
                out.append(int(d))
    return out


def alive(pid):
    """pid exists and is no zombie (one its new parent has yet to reap)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def tree(roots):
    """roots and all their descendants that are alive."""
    out, stack = [], list(roots)
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children(p))
    return out


def tree_cpu(roots):
    """CPU seconds of the process trees under roots: user+system of each
    live process plus what it reaped (cutime+cstime), so a child that
    exited is counted once, in whoever waited for it."""
    total = 0
    for pid in tree(roots):
        st, _ = proc_stat(pid)
        if st:
            total += sum(st)
    return total / TICKS


def hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


class Sink:
    def __init__(self, workdir, host="127.0.0.1"):
        self.port = free_port()
        self.out = os.path.join(workdir, "sink.out")
        self.p = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-c", "%s:%d" % (host, self.port),
             "1000"], stdout=open(self.out, "wb"), stderr=subprocess.STDOUT)
        wait_port(self.port, host)

    def count(self):
        with open(self.out, "rb") as f:
            data = f.read()
        i = data.rfind(b"mesg=")
        return int(data[i + 5:].split(b"\r")[0].split()[0]) if i >= 0 else 0

    def stop(self):
        self.p.terminate()
        self.p.wait()


# path "defenses": every defense of mx on, its DNS answered by a local
# dnsmasq: SPF passes for the load's sender, which has an MX (the sender
# domain check), a DMARC record p=none, one DNS list that lists nobody.
# Greylisting, the greet pause and the rate limits stay off: they hold
# or refuse a load generator by design, which measures nothing.
DEFENSES_ON = {"spf": "yes", "dkim": "yes", "dmarc": "yes", "arc": "yes",
               "local_forgery": "yes", "sender_domain_check": "yes",
               "client_allow": "", "greylist": "no", "greet_pause_ms": "0",
               "connection_rate_limit": "0", "sender_rate_limit": "0",
               "dnsbl_sites": "zen.bench.test", "dnsbl_loopback": "yes",
               "helo_fqdn": "yes", "protocol_tests": "yes"}
# mx with its defenses on against Postfix with postscreen(8) in front of
# smtpd: the greet pause equal on both (postscreen cannot go below 1s),
# every client that passed remembered on both, no DNS list on either;
# Postfix's smtpd gets the HELO and sender rules mx applies that need no
# DNS (Postfix here has DNS off: mx's DNS checks are work it is spared)
SCREEN_ON = dict(DEFENSES_ON, greet_pause_ms="1000", dnsbl_sites="",
                 screen_pass_time="1d")
POSTSCREEN = {"postscreen_access_list": "", "postscreen_greet_wait": "1s",
              "postscreen_greet_action": "enforce",
              "postscreen_greet_ttl": "1d", "postscreen_dnsbl_sites": "",
              "smtpd_helo_required": "yes",
              "smtpd_helo_restrictions": "reject_invalid_helo_hostname, "
                                         "reject_non_fqdn_helo_hostname",
              "smtpd_sender_restrictions": "reject_non_fqdn_sender",
              "smtpd_data_restrictions": "reject_unauth_pipelining"}
DEFENSES_DNS = ["mx-host=remote.test,mx.remote.test,10",
                "host-record=mx.remote.test,127.0.0.3",
                'txt-record=remote.test,"v=spf1 ip4:127.0.0.0/8 -all"',
                'txt-record=_dmarc.remote.test,"v=DMARC1; p=none"']


def start_dnsmasq(workdir, lines):
    """A dnsmasq on 127.0.0.1 answering for .test from lines; (process,
    port)."""
    dport = free_port()
    conf = os.path.join(workdir, "dnsmasq.conf")
    with open(conf, "w") as f:
        f.write("port=%d\nlisten-address=127.0.0.1\nbind-interfaces\n"
                "no-resolv\nno-hosts\nlocal=/test/\n" % dport)
        f.write("".join(ln + "\n" for ln in lines))
    p = subprocess.Popen(
        [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "-k", "-C",
         conf, "--user=root"], stderr=subprocess.DEVNULL)
    dns_ready(dport)
    return p, dport


def dns_ready(port, timeout=20):
    """Wait until the DNS server on 127.0.0.1:port answers a query (a
    server given thousands of records takes a while to load them; a
    daemon started before would see its first lookups fail)."""
    q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
         b"\x05ready\x04test\x00\x00\x01\x00\x01")
    end = time.time() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        while time.time() < end:
            s.sendto(q, ("127.0.0.1", port))
            try:
                if s.recv(512)[:2] == q[:2]:
                    return
            except OSError:
                pass
    raise RuntimeError("dnsmasq on port %d never answered" % port)


class Sluice:
    name = "sluice"

    def __init__(self, workdir, path, hop_port=None, defenses=False,
                 dns=None):
        """defenses: True (DEFENSES_ON) or a dict of mx settings, with a
        dnsmasq answering the dns lines (DEFENSES_DNS if None)."""
        self.dir = workdir
        self.procs = []
        self.defenses = defenses
        users = os.path.join(workdir, "users")
        with open(users, "w") as f:
            f.write("alice@example.test\n")
        os.chmod(workdir, 0o755)
        self.mail = os.path.join(workdir, "mail")
        if path == "outbound":
            self._outbound(workdir, hop_port)
            return
        if path == "delivery":
            sport = free_port()
            self._conf("store", dict(STORE_LMTP_ONLY, **{
                "lmtp_listen": "127.0.0.1:%d" % sport,
                "directory_file": users, "mail_root": self.mail,
                "hostname": "store.bench.test", "max_sessions": "1000"}))
            self._start("store", sport)
            hop = "lmtp:127.0.0.1:%d" % sport
        else:
            hop = "smtp:127.0.0.1:%d" % hop_port
        self.port = free_port()
        extra = {}
        if defenses:  # True: DEFENSES_ON, or a dict of settings
            self.dnsmasq, dport = start_dnsmasq(workdir,
                                                dns or DEFENSES_DNS)
            extra = dict(DEFENSES_ON if defenses is True else defenses,
                         dns_servers="127.0.0.1:%d" % dport)
        self._conf("mx", {**extra, "listen": "127.0.0.1:%d" % self.port,
                          "hostname": "mx.bench.test",
                          "local_domains": "example.test", "next_hop": hop,
                          "queue_dir": os.path.join(workdir, "queue"),
                          "tls_cert": "", "max_sessions": "1000",
                          # every load session comes from 127.0.0.1
                          "max_client_sessions": "0",
                          "next_hop_tls": "none",
                          "delivery_concurrency": "20"})
        self._start("mx", self.port)

    def _outbound(self, workdir, sink_port):
        """outmta with dnsmasq: DESTS domains, all with the sink as MX."""
        self.dnsmasq, dport = start_dnsmasq(
            workdir, ["host-record=mx.sink.test,127.0.0.2"] +
            ["mx-host=d%d.test,mx.sink.test,10" % i for i in range(DESTS)])
        self.port = free_port()
        self._conf("outmta", {"listen": "127.0.0.1:%d" % self.port,
                              "hostname": "out.bench.test",
                              "queue_dir": os.path.join(workdir, "queue"),
                              "dns_servers": "127.0.0.1:%d" % dport,
                              "smtp_port": str(sink_port),
                              "allow_loopback_mx": "yes",
                              "tls_policy": "none", "max_sessions": "1000",
                              "trusted_peers": "127.0.0.0/8",
                              "delivery_concurrency": "20"})
        self._start("outmta", self.port)

    def _conf(self, name, kv):
        kv.setdefault("user", "sluice")
        if name == "mx":
            # Postfix's default, which the bench compares with, checks no
            # sender authentication; and no lookup may leave loopback
            for k in ("spf", "dkim", "dmarc", "local_forgery", "arc",
                      "sender_domain_check"):
                kv.setdefault(k, "no")
            # each run starts with nobody on the pass list
            kv.setdefault("screen_state",
                          os.path.join(self.dir, "state", "screen.state"))
        with open(os.path.join(self.dir, name + ".conf"), "w") as f:
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))

    def _start(self, name, port):
        log = open(os.path.join(self.dir, name + ".log"), "wb")
        p = subprocess.Popen([os.path.join(BIN, "sluice-" + name), "-c",
                              os.path.join(self.dir, name + ".conf")],
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((name, p))
        wait_port(port)

    def pids(self):
        return [(n, p.pid) for n, p in self.procs]

    def cpu(self):
        return sum(self.cpu_parts().values())

    def cpu_parts(self):
        """CPU seconds of each daemon."""
        return {n: sum((proc_stat(pid)[0] or [0, 0])[:2]) / TICKS
                for n, pid in self.pids()}

    def rss(self):
        return {n: hwm(pid) for n, pid in self.pids()}

    def stop(self):
        for _, p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        if getattr(self, "dnsmasq", None):
            self.dnsmasq.terminate()
            self.dnsmasq.wait()


class Postfix:
    name = "postfix"

    def __init__(self, workdir, path, hop_port=None, host="127.0.0.1",
                 port=None, domain="example.test", user="alice",
                 extra=None, conf=PF_CONF, postscreen=False):
        """A private Postfix instance. path "relay" relays domain to
        127.0.0.1:hop_port; "delivery" delivers user@domain into
        workdir/mail/domain/user/Maildir (user: one name or a list).
        extra: more main.cf settings.
        conf: its configuration directory (one instance per directory).
        postscreen: postscreen(8) in front of smtpd on the listener (its
        settings come in extra).
        The tests use it as a receiving MTA too."""
        self.dir = workdir
        # postfix(1) runs a non-default configuration only from a directory
        # the default main.cf authorizes: a fixed place, reused
        shutil.rmtree(conf, ignore_errors=True)
        os.makedirs(conf)
        # Debian's "No configuration" install leaves no main.cf at all,
        # and postconf -e cannot edit a file that is not there
        if not os.path.exists("/etc/postfix/main.cf"):
            with open("/etc/postfix/main.cf", "a"):
                pass
        cur = subprocess.run(["postconf", "-h",
                              "alternate_config_directories"],
                             capture_output=True, text=True).stdout
        dirs = [d for d in cur.replace(",", " ").split() if d]
        if conf not in dirs:
            subprocess.run(["postconf", "-e", "alternate_config_directories"
                            " = " + ", ".join(dirs + [conf])], check=True)
        self.port = port or free_port()
        self.mail = os.path.join(workdir, "mail")
        os.makedirs(self.mail)
        pw = pwd.getpwnam("sluice")
        os.chown(self.mail, pw.pw_uid, pw.pw_gid)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(workdir, "queue"),
            "data_directory": os.path.join(workdir, "data"),
            "mail_owner": "postfix", "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1", "inet_protocols": "ipv4",
            "myhostname": "pf.bench.test", "mydestination": "",
            "mynetworks": "127.0.0.0/8", "alias_maps": "",
            "alias_database": "", "local_recipient_maps": "",
            "smtp_dns_support_level": "disabled",
            "smtpd_peername_lookup": "no", "disable_dns_lookups": "yes",
            "maillog_file": os.path.join(workdir, "maillog"),
            "maillog_file_prefixes": "/tmp, /var",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "default_process_limit": "100",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_recipient_restrictions":
                "permit_mynetworks, reject_unauth_destination",
        }
        if path == "delivery":
            vmap = os.path.join(conf, "vmailbox")
            with open(vmap, "w") as f:
                for u in ([user] if isinstance(user, str) else user):
                    f.write("%s@%s %s/%s/Maildir/\n" % (u, domain, domain,
                                                        u))
            subprocess.run(["postmap", vmap], check=True)
            main.update({"virtual_mailbox_domains": domain,
                         "virtual_mailbox_base": self.mail,
                         "virtual_mailbox_maps": "hash:" + vmap,
                         "virtual_uid_maps": "static:%d" % pw.pw_uid,
                         "virtual_gid_maps": "static:%d" % pw.pw_gid})
        elif path == "outbound":
            # Postfix gets its routes from a table, without DNS: that
            # only spares it the lookups outmta makes
            tmap = os.path.join(conf, "transport")
            with open(tmap, "w") as f:
                for i in range(DESTS):
                    f.write("d%d.test smtp:[127.0.0.2]:%d\n" % (i, hop_port))
            subprocess.run(["postmap", tmap], check=True)
            main.update({"relay_domains": ", ".join(
                "d%d.test" % i for i in range(DESTS)),
                "transport_maps": "hash:" + tmap})
        else:
            main.update({"relay_domains": domain,
                         "relayhost": "[127.0.0.1]:%d" % hop_port})
        # master.cf binds host:port itself; inet_interfaces must name an
        # address the kernel lists (127.0.0.2 is routed, not assigned)
        main.update(extra or {})
        with open(os.path.join(conf, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        with open("/etc/postfix/master.cf") as src, \
                open(os.path.join(conf, "master.cf"), "w") as dst:
            for ln in src:
                fields = ln.split()
                if ln[:1].isalnum() and len(fields) >= 8:
                    if fields[0] == "smtp" and fields[1] == "inet":
                        fields[0] = "%s:%d" % (host, self.port)
                        if postscreen:
                            fields[6:] = ["1", "postscreen"]
                            ln = "\n".join([
                                "smtpd pass - - n - - smtpd",
                                "dnsblog unix - - n - 0 dnsblog",
                                "tlsproxy unix - - n - 0 tlsproxy", ""])
                            dst.write(ln)
                    fields[4] = "n"  # no chroot
                    ln = " ".join(fields) + "\n"
                dst.write(ln)
        self.conf = conf
        os.makedirs(main["queue_directory"])
        os.makedirs(main["data_directory"])
        pf = pwd.getpwnam("postfix")
        os.chown(main["data_directory"], pf.pw_uid, pf.pw_gid)
        # the first start creates the queue directories
        subprocess.run(["postfix", "-c", conf, "check"],
                       capture_output=True)
        r = subprocess.run(["postfix", "-c", conf, "start"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("postfix start: " + r.stdout + r.stderr)
        wait_port(self.port, host)
        with open(os.path.join(workdir, "queue", "pid", "master.pid")) as f:
            self.master = int(f.read().split()[0])

    def cpu(self):
        return tree_cpu([self.master])

    def rss(self):
        out = {}
        for pid in tree([self.master]):
            n = comm(pid)
            out[n] = max(out.get(n, 0), hwm(pid))
        return out

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       capture_output=True)
        end = time.time() + 20
        while time.time() < end and alive(self.master):
            time.sleep(0.1)


def new_dirs(mail, user="alice"):
    """The new/ directories of user's Maildir: the inbox and every
    folder (a stage may file spam into .Junk)."""
    top = os.path.join(mail, "example.test", user, "Maildir")
    out = [os.path.join(top, "new")]
    try:
        out += [os.path.join(top, d, "new") for d in os.listdir(top)
                if d.startswith(".")]
    except OSError:
        pass
    return out


def maildir_files(mail, user="alice"):
    out = []
    for d in new_dirs(mail, user):
        try:
            out += [os.path.join(d, n) for n in os.listdir(d)]
        except OSError:
            pass
    return out


def maildir_count(mail, user="alice"):
    return len(maildir_files(mail, user))


def probe(port, stop, sent):
    """Send one small message every 50 ms; record (subject, t) with t
    the end of data: just before DATA, so that a filter that runs before
    the 250 (a milter) counts in the latency, as one after it does."""
    i = 0
    while not stop.is_set():
        subj = "probe-%d-%d" % (os.getpid(), i)
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
                s.ehlo()
                s.mail("probe@remote.test")
                s.rcpt("alice@example.test")
                t = time.time()
                code, _ = s.data(("Subject: %s\r\n\r\nprobe\r\n" %
                                  subj).encode())
            if code == 250:
                sent[subj] = t
        except (OSError, smtplib.SMTPException):
            pass
        i += 1
        stop.wait(0.05)


def latencies(mail, sent):
    lat = []
    for p in maildir_files(mail):
        with open(p, "rb") as f:
            head = f.read(16384)
        i = head.find(b"Subject: probe-")
        if i < 0:
            continue
        subj = head[i + 9:].split(b"\r\n")[0].split(b"\n")[0].decode()
        if subj in sent:
            lat.append(max(0.0, os.stat(p).st_mtime - sent[subj]))
    lat.sort()
    if not lat:
        return None, None
    return (lat[len(lat) // 2] * 1000,
            lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000)


def cpu_idle_fraction(interval=0.5):
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(interval)
    i1, t1 = snap()
    return (i1 - i0) / max(1, t1 - t0)


def wait_idle():
    """Wait (at most 5 s) until the machine is at least 85% idle."""
    for _ in range(10):
        if cpu_idle_fraction() > 0.85:
            return
    print("bench: warning: machine not idle", file=sys.stderr)

