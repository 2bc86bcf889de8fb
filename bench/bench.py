#!/usr/bin/python3
"""Sluice against Postfix, side by side, on this machine, in one run.

Paths (load from smtp-source, all on 127.0.0.0/8):
  relay:    load -> sluice-mx -> smtp-sink   vs  load -> Postfix -> smtp-sink
  delivery: load -> sluice-mx -> sluice-store (Maildir)
                                             vs  load -> Postfix -> virtual(8)
  outbound: 50 loaders, one per destination domain d0..d49.test
            -> sluice-outmta (MX lookups at dnsmasq) -> smtp-sink on 127.0.0.2
            vs -> Postfix (transport table, no DNS) -> the same sink
  defenses: the relay path, sluice-mx with every defense on (sender
            authentication, sender domain check, a DNS list, screening;
            dnsmasq answering) against the same mx with them off; and
            with a 1 s greet pause and no DNS list against Postfix with
            postscreen (the same pause, no DNS list), each client that
            passed remembered by both (one warm-up connection first)
  cold:     the same defenses (and greylisting, rate limits, 1 s greet
            pause) with every client address and sender domain new, and
            warm, against Postfix with postscreen, warm and cold: see
            cold.py
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
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import (BENCH_CONF, DESTS, POSTSCREEN, ROOT,  # noqa: F401
                      SCREEN_ON, Postfix, Sink, Sluice, latencies,
                      maildir_count, probe, wait_idle)
import cold
import pipeline

QUICK = os.environ.get("BENCH_QUICK") == "1"
REPEATS = int(os.environ.get("BENCH_REPEATS", "1" if QUICK else "3"))
SIZES = [4096] if QUICK else [4096, 102400]
SESSIONS = [10] if QUICK else [1, 10, 50]
# BENCH_PATHS="pipeline" (space-separated) runs only those paths
PATHS = os.environ.get("BENCH_PATHS",
                       "relay delivery outbound defenses cold "
                       "pipeline").split()


def count_for(size, sessions):
    if QUICK:
        return 5000
    if size > 10000:
        return 1500 if sessions > 1 else 600
    return 5000 if sessions > 1 else 2000


def one_run(system, path, size, sessions, n, shared=None):
    wait_idle()
    work = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(work, 0o755)
    sink = Sink(work) if path in ("relay", "defenses") else \
        Sink(work, "127.0.0.2") if path == "outbound" else None
    try:
        if path == "pipeline":
            srv = pipeline.start(system, work, shared)
        else:
            hop = sink.port if sink else None
            srv = Sluice(work, path, hop) if system == "sluice" else \
                Sluice(work, "relay", hop, SCREEN_ON) \
                if system == "sluice-ps" else \
                Sluice(work, "relay", hop, system == "sluice-on") \
                if path == "defenses" and system != "postfix-ps" else \
                Postfix(work, "relay", hop, conf=BENCH_CONF,
                        postscreen=True, extra=POSTSCREEN) \
                if system == "postfix-ps" else \
                Postfix(work, path, hop, conf=BENCH_CONF)
            if system.endswith("-ps"):
                warm_up(srv.port)
    except Exception:
        if sink:
            sink.stop()
        raise
    try:
        res = measure(srv, sink, path, size, sessions, n)
    finally:
        srv.stop()
        if sink:
            sink.stop()
    shutil.rmtree(work, ignore_errors=True)
    res.update({"system": system, "path": path, "size": size,
                "sessions": sessions})
    return res


def warm_up(port):
    """One session through the greet pause, so that the load's address
    is on the screen's pass list (mx) or in postscreen's cache, as a
    client that came before would be."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("load.remote.test")
    time.sleep(0.2)     # mx records the pass when the session ends


def measure(srv, sink, path, size, sessions, n):
    """Load srv and wait for every message; the figures of one run."""
    cpu0, parts0 = srv.cpu(), getattr(srv, "cpu_parts", dict)()
    stop, sent = threading.Event(), {}
    pt = None
    if path in ("delivery", "pipeline"):
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
                               str(n), "-l", str(size), "-M",
                               "load.remote.test", "-f",
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
    parts = {k: round((v - parts0.get(k, 0)) * 1000.0 / want, 3)
             for k, v in getattr(srv, "cpu_parts", dict)().items()}
    rss = srv.rss()
    p50 = p99 = None
    if path in ("delivery", "pipeline"):
        p50, p99 = latencies(srv.mail, sent)
    bad = pipeline.unscanned(srv) if path == "pipeline" else 0
    ok = load.returncode == 0 and got >= want and not bad
    return {"messages": want, "arrived": got, "unscanned": bad, "ok": ok,
            "seconds": t1 - t0, "msgs_per_s": want / (t1 - t0),
            "cpu_per_1000": cpu * 1000.0 / want,
            "cpu_per_1000_by_daemon": parts, "rss_kb": rss,
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


def median_of(system, path, size, sessions, n, shared=None):
    return median_run([one_run(system, path, size, sessions, n, shared)
                       for _ in range(REPEATS)])


def ratio(a, b):
    return a["msgs_per_s"] / b["msgs_per_s"] if a["ok"] and b["ok"] \
        else None


def show(path, size, sessions, p, s, extra=""):
    print("%-8s %6dB %3d sess | postfix %s msg/s cpu/1k %.2fs "
          "| sluice %s msg/s cpu/1k %.2fs lat p50/p99 %s/%s ms "
          "| ratio %s%s" % (
              path, size, sessions,
              "FAILED" if not p["ok"] else fmt(p["msgs_per_s"]),
              p["cpu_per_1000"],
              "FAILED" if not s["ok"] else fmt(s["msgs_per_s"]),
              s["cpu_per_1000"], fmt(s["lat_p50_ms"]),
              fmt(s["lat_p99_ms"]), fmt(s["ratio"], "%.2fx"), extra),
          flush=True)


def plain_paths(results):
    for path in ("relay", "delivery", "outbound"):
        if path not in PATHS:
            continue
        for size in SIZES:
            for sessions in ([DESTS] if path == "outbound" else SESSIONS):
                if path == "outbound" and size != SIZES[0]:
                    continue  # 4 KB, one session per destination
                n = count_for(size, sessions)
                p = median_of("postfix", path, size, sessions, n)
                s = median_of("sluice", path, size, sessions, n)
                s["ratio"] = ratio(s, p)
                results += [p, s]
                show(path, size, sessions, p, s)


def defenses_path(results):
    """sluice-mx relaying with every defense on against the same with
    them off (4 KB, 10 sessions)."""
    size, sessions = SIZES[0], 10
    n = count_for(size, sessions)
    off, on = (median_of(sy, "defenses", size, sessions, n)
               for sy in ("sluice-off", "sluice-on"))
    on["ratio"] = ratio(on, off)
    results += [off, on]
    print("%-8s %6dB %3d sess | off %s msg/s cpu/1k %.2fs | on %s msg/s "
          "cpu/1k %.2fs | on/off %s" % (
              "defenses", size, sessions,
              "FAILED" if not off["ok"] else fmt(off["msgs_per_s"]),
              off["cpu_per_1000"],
              "FAILED" if not on["ok"] else fmt(on["msgs_per_s"]),
              on["cpu_per_1000"], fmt(on["ratio"], "%.2fx")), flush=True)
    # against Postfix with postscreen, the greet pause equal on both
    p, s = (median_of(sy, "defenses", size, sessions, n)
            for sy in ("postfix-ps", "sluice-ps"))
    s["ratio"] = ratio(s, p)
    results += [p, s]
    show("screen", size, sessions, p, s, " (postscreen)")


def pipeline_path(results):
    """Sluice's four stages against Postfix with clamav-milter and
    spamass-milter, and against Postfix's plain relay (same size and
    sessions, measured here) as the reference."""
    shared = pipeline.Shared()
    print("pipeline: corpus and both Bayes databases trained in %.0f s" %
          shared.seconds, flush=True)
    try:
        checks = {sy: pipeline.check(sy, shared)
                  for sy in ("postfix", "sluice")}
        for sy, seen in checks.items():
            print("pipeline: %s scans: %s" % (sy, json.dumps(seen)),
                  flush=True)
        for size in SIZES:
            for sessions in SESSIONS:
                r = median_of("postfix", "relay", size, sessions,
                              count_for(size, sessions))
                r["system"], r["path"] = "postfix-relay", "pipeline"
                p, s = (median_of(sy, "pipeline", size, sessions,
                                  pipeline.count_for(sy, size, sessions,
                                                     QUICK), shared)
                        for sy in ("postfix", "sluice"))
                s["ratio"], s["ratio_relay"] = ratio(s, p), ratio(s, r)
                results += [r, p, s]
                show("pipeline", size, sessions, p, s,
                     " | postfix relay %s msg/s, sluice/relay %s" % (
                         fmt(r["msgs_per_s"]),
                         fmt(s["ratio_relay"], "%.2fx")))
    finally:
        shared.remove()
    return checks


def main():
    # a TERM unwinds like ^C: every server started is stopped again
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    t_start = time.time()
    plain_paths(results)
    if "defenses" in PATHS:
        defenses_path(results)
    if "cold" in PATHS:
        cold.cold_path(results, REPEATS, median_run)
    checks = pipeline_path(results) if "pipeline" in PATHS else None
    failed = any(r.get("failed") for r in results)
    out = os.path.join(ROOT, "bench", "results.json")
    # a run of some paths (BENCH_PATHS) keeps the other paths' rows
    try:
        with open(out) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {"results": []}
    when = old.get("path_dates", {})
    when.update({p: time.strftime("%Y-%m-%d") for p in PATHS})
    results = [r for r in old["results"] if r["path"] not in PATHS] + \
        results
    with open(out, "w") as f:
        json.dump({"machine": machine(), "repeats": REPEATS,
                   "seconds": time.time() - t_start, "path_dates": when,
                   "pipeline_checks": checks or old.get("pipeline_checks"),
                   "results": results}, f, indent=1)
    print("results in", out)
    if failed:
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
