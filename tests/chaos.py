#!/usr/bin/env python3
"""`make chaos`: the recovery drills (tests/test_recovery.py,
tests/test_hosts.py: a stage killed and restarted under load, a pair
failover and return, stages on their own hosts) CHAOS_ROUNDS times
(default 5) against the release build, then the measured times of every
round: the numbers vary with the machine's load, one test run shows one
draw. Then tests/chaos_pipeline.py once: every stage killed in turn under
load, av1 playing dead in each mode, av1's queue disk filled; its table
counts every message (delivered, queued, lost, duplicated)."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(os.environ.get("CHAOS_ROUNDS", "5"))
env = dict(os.environ, SLUICE_BUILD=os.environ.get("SLUICE_BUILD",
                                                   "build/rel"))
seen = {}
failed = 0
for i in range(rounds):
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s",
                        "-p", "no:cacheprovider", "tests/test_recovery.py",
                        "tests/test_hosts.py"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    failed += r.returncode != 0
    for line in r.stdout.splitlines():
        for what, num in re.findall(r"([a-z -]+?)\s*([0-9]+\.[0-9]{3}) s",
                                    line):
            seen.setdefault(what.strip(), []).append(float(num))
    print("round %d: %s" % (i + 1, "ok" if r.returncode == 0 else
                            "FAILED\n" + r.stdout[-3000:]), flush=True)
for what, v in sorted(seen.items()):
    v.sort()
    print("%-60s n=%d min %.3f median %.3f max %.3f s" %
          (what[-60:], len(v), v[0], v[len(v) // 2], v[-1]))
r = subprocess.run([sys.executable, "tests/chaos_pipeline.py"], cwd=ROOT,
                   env=env)
sys.exit(1 if failed or r.returncode else 0)
