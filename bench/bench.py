#!/usr/bin/python3
"""Sluice against Postfix, side by side, on this machine, in one run.

Paths (load from smtp-source, all on 127.0.0.0/8):
  relay:    load -> sluice-mx -> smtp-sink   vs  load -> Postfix -> smtp-sink
  delivery: load -> sluice-mx -> sluice-store (Maildir)
                                             vs  load -> Postfix -> virtual(8)
  outbound: 50 loaders, one per destination domain d0..d49.test
            -> sluice-outmta (MX lookups at dnsmasq) -> smtp-sink on 127.0.0.2
            vs -> Postfix (transport table, no DNS) -> the same sink
For each size and session count, REPEATS runs; the median is reported.
A run counts from the first connection until the last message is at the
sink or in the Maildir; a run that loses mail is FAILED, not a number.
CPU is user+system of every daemon process (Postfix: master and all its
children, exited ones through the master's cutime/cstime); peak RSS is
VmHWM per daemon (Postfix: the largest of each program).
Latency (delivery path only): a probe thread sends one message every
50 ms during the load and records when its 250 came; the arrival time is
the Maildir file's mtime.
"""
import json
import os
import pwd
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "rel")
QUICK = os.environ.get("BENCH_QUICK") == "1"
REPEATS = int(os.environ.get("BENCH_REPEATS", "1" if QUICK else "3"))
SIZES = [4096] if QUICK else [4096, 102400]
SESSIONS = [10] if QUICK else [1, 10, 50]
TICKS = os.sysconf("SC_CLK_TCK")
PF_CONF = "/var/tmp/sluice-bench-postfix"
DESTS = 50  # destination domains of the outbound path


def count_for(size, sessions):
    if QUICK:
        return 5000
    if size > 10000:
        return 1500 if sessions > 1 else 600
    return 5000 if sessions > 1 else 2000


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


class Sluice:
    name = "sluice"

    def __init__(self, workdir, path, hop_port=None):
        self.dir = workdir
        self.procs = []
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
            self._conf("store", {"lmtp_listen": "127.0.0.1:%d" % sport,
                                 "users_file": users, "mail_root": self.mail,
                                 "hostname": "store.bench.test",
                                 "max_sessions": "1000"})
            self._start("store", sport)
            hop = "lmtp:127.0.0.1:%d" % sport
        else:
            hop = "smtp:127.0.0.1:%d" % hop_port
        self.port = free_port()
        self._conf("mx", {"listen": "127.0.0.1:%d" % self.port,
                          "hostname": "mx.bench.test",
                          "local_domains": "example.test", "next_hop": hop,
                          "queue_dir": os.path.join(workdir, "queue"),
                          "tls_cert": "", "max_sessions": "1000",
                          "next_hop_tls": "none",
                          "delivery_concurrency": "20"})
        self._start("mx", self.port)

    def _outbound(self, workdir, sink_port):
        """outmta with dnsmasq: DESTS domains, all with the sink as MX."""
        dport = free_port()
        conf = os.path.join(workdir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("port=%d\nlisten-address=127.0.0.1\nbind-interfaces\n"
                    "no-resolv\nno-hosts\nlocal=/test/\n"
                    "host-record=mx.sink.test,127.0.0.2\n" % dport)
            for i in range(DESTS):
                f.write("mx-host=d%d.test,mx.sink.test,10\n" % i)
        self.dnsmasq = subprocess.Popen(
            [shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "-k", "-C",
             conf, "--user=root"], stderr=subprocess.DEVNULL)
        self.port = free_port()
        self._conf("outmta", {"listen": "127.0.0.1:%d" % self.port,
                              "hostname": "out.bench.test",
                              "queue_dir": os.path.join(workdir, "queue"),
                              "dns_servers": "127.0.0.1:%d" % dport,
                              "smtp_port": str(sink_port),
                              "tls_policy": "none", "max_sessions": "1000",
                              "trusted_peers": "127.0.0.0/8",
                              "delivery_concurrency": "20"})
        self._start("outmta", self.port)

    def _conf(self, name, kv):
        kv.setdefault("user", "sluice")
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
        return sum(sum((proc_stat(pid)[0] or [0, 0])[:2])
                   for _, pid in self.pids()) / TICKS

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
                 extra=None):
        """A private Postfix instance. path "relay" relays domain to
        127.0.0.1:hop_port; "delivery" delivers user@domain into
        workdir/mail/domain/user/Maildir. extra: more main.cf settings.
        The tests use it as a receiving MTA too."""
        self.dir = workdir
        # postfix(1) runs a non-default configuration only from a directory
        # the default main.cf authorizes: one fixed place, reused
        conf = PF_CONF
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
        if conf not in cur:
            subprocess.run(["postconf", "-e", "alternate_config_directories"
                            " = " + conf], check=True)
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
                f.write("%s@%s %s/%s/Maildir/\n" % (user, domain, domain,
                                                     user))
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

    def tree(self):
        out, stack = [], [self.master]
        while stack:
            p = stack.pop()
            out.append(p)
            stack.extend(children(p))
        return out

    def cpu(self):
        total = 0
        for pid in self.tree():
            st, _ = proc_stat(pid)
            if st:
                total += st[0] + st[1]
                if pid == self.master:
                    total += st[2] + st[3]
        return total / TICKS

    def rss(self):
        out = {}
        for pid in self.tree():
            n = comm(pid)
            out[n] = max(out.get(n, 0), hwm(pid))
        return out

    def stop(self):
        subprocess.run(["postfix", "-c", self.conf, "stop"],
                       capture_output=True)
        end = time.time() + 20
        while time.time() < end and os.path.exists("/proc/%d" % self.master):
            time.sleep(0.1)


def maildir_count(mail):
    d = os.path.join(mail, "example.test", "alice", "Maildir", "new")
    try:
        return len(os.listdir(d))
    except OSError:
        return 0


def probe(port, stop, sent):
    """Send one small message every 50 ms; record (subject, t_250)."""
    i = 0
    while not stop.is_set():
        subj = "probe-%d-%d" % (os.getpid(), i)
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                s.sendmail("probe@remote.test", ["alice@example.test"],
                           ("Subject: %s\r\n\r\nprobe\r\n" % subj).encode())
            sent[subj] = time.time()
        except (OSError, smtplib.SMTPException):
            pass
        i += 1
        stop.wait(0.05)


def latencies(mail, sent):
    d = os.path.join(mail, "example.test", "alice", "Maildir", "new")
    lat = []
    for name in os.listdir(d):
        p = os.path.join(d, name)
        with open(p, "rb") as f:
            head = f.read(4096)
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
    """Wait (at most 10 s) until the machine is at least 85% idle."""
    for _ in range(20):
        if cpu_idle_fraction() > 0.85:
            return
    print("bench: warning: machine not idle", file=sys.stderr)


def one_run(system, path, size, sessions, n):
    wait_idle()
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(work, 0o755)
    sink = Sink(work) if path == "relay" else \
        Sink(work, "127.0.0.2") if path == "outbound" else None
    cls = Sluice if system == "sluice" else Postfix
    srv = cls(work, path, sink.port if sink else None)
    cpu0 = srv.cpu()
    stop, sent = threading.Event(), {}
    pt = None
    if path == "delivery":
        pt = threading.Thread(target=probe, args=(srv.port, stop, sent))
    t0 = time.time()
    if pt:
        pt.start()
    if path == "outbound":
        # one loader per destination domain, all at once
        loaders = [subprocess.Popen(
            ["smtp-source", "-s", "1", "-m", str(n // DESTS), "-l",
             str(size), "-f", "alice@example.test", "-t",
             "user@d%d.test" % i, "127.0.0.1:%d" % srv.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for i in range(DESTS)]
        errs = [p.communicate()[1] for p in loaders]
        load = subprocess.CompletedProcess(
            [], max(p.returncode for p in loaders), "", "".join(errs))
        n = (n // DESTS) * DESTS
    else:
        load = subprocess.run(["smtp-source", "-s", str(sessions), "-m",
                               str(n), "-l", str(size), "-f",
                               "load@remote.test", "-t",
                               "alice@example.test",
                               "127.0.0.1:%d" % srv.port],
                              capture_output=True, text=True)
    stop.set()
    if pt:
        pt.join()
    want = n + len(sent)
    arrived = (lambda: sink.count()) if sink else \
        (lambda: maildir_count(srv.mail))
    end = time.time() + 120
    while arrived() < want and time.time() < end:
        time.sleep(0.02)
    t1 = time.time()
    got = arrived()
    cpu = srv.cpu() - cpu0
    rss = srv.rss()
    p50 = p99 = None
    if path == "delivery":
        p50, p99 = latencies(srv.mail, sent)
    srv.stop()
    if sink:
        sink.stop()
    shutil.rmtree(work, ignore_errors=True)
    ok = load.returncode == 0 and got >= want
    return {"system": system, "path": path, "size": size,
            "sessions": sessions, "messages": want, "arrived": got,
            "ok": ok, "seconds": t1 - t0, "msgs_per_s": want / (t1 - t0),
            "cpu_per_1000": cpu * 1000.0 / want, "rss_kb": rss,
            "lat_p50_ms": p50, "lat_p99_ms": p99,
            "loader_error": load.stderr[-300:] if load.returncode else ""}


def median_run(runs):
    if not all(r["ok"] for r in runs):
        bad = [r for r in runs if not r["ok"]][0]
        bad["failed"] = True
        return bad
    runs.sort(key=lambda r: r["msgs_per_s"])
    return runs[len(runs) // 2]


def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


def main():
    results = []
    t_start = time.time()
    for path in ("relay", "delivery", "outbound"):
        for size in SIZES:
            for sessions in ([DESTS] if path == "outbound" else SESSIONS):
                if path == "outbound" and size != SIZES[0]:
                    continue  # 4 KB, one session per destination
                n = count_for(size, sessions)
                row = {}
                for system in ("postfix", "sluice"):
                    runs = [one_run(system, path, size, sessions, n)
                            for _ in range(REPEATS)]
                    row[system] = median_run(runs)
                    results.append(row[system])
                s, p = row["sluice"], row["postfix"]
                ratio = s["msgs_per_s"] / p["msgs_per_s"] \
                    if s["ok"] and p["ok"] else None
                s["ratio"] = ratio
                print("%-8s %6dB %3d sess | postfix %s msg/s cpu/1k %.2fs "
                      "| sluice %s msg/s cpu/1k %.2fs lat p50/p99 %s/%s ms "
                      "| ratio %s" % (
                          path, size, sessions,
                          "FAILED" if not p["ok"] else fmt(p["msgs_per_s"]),
                          p["cpu_per_1000"],
                          "FAILED" if not s["ok"] else fmt(s["msgs_per_s"]),
                          s["cpu_per_1000"], fmt(s["lat_p50_ms"]),
                          fmt(s["lat_p99_ms"]), fmt(ratio, "%.2fx")),
                      flush=True)
    out = os.path.join(ROOT, "bench", "results.json")
    with open(out, "w") as f:
        json.dump({"machine": machine(), "repeats": REPEATS,
                   "seconds": time.time() - t_start, "results": results},
                  f, indent=1)
    print("results in", out)
    if any(r.get("failed") for r in results):
        sys.exit(1)


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for ln in f:
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "model": model,
            "kernel": os.uname().release}


if __name__ == "__main__":
    main()
