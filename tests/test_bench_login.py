"""`make bench-login` (bench/login_latency.py) still runs: one short
repetition in the split mode (the store's loop pinned to one CPU, its
workers and the clients to the other), against the build under test,
and its JSON has the figures the report quotes. A smoke test of the
benchmark script, not a measurement: the numbers are not judged."""
import json
import os
import subprocess
import sys

import pytest

from conftest import BUILD, ROOT


@pytest.mark.skipif(os.cpu_count() < 2, reason="pinning needs two CPUs")
def test_bench_login_runs(tmp_path):
    out = tmp_path / "login.json"
    env = dict(os.environ, SLUICE_BUILD=os.path.relpath(BUILD, ROOT))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench",
                                                     "login_latency.py"),
                        "--runs", "1", "--seconds", "1", "--blocks", "1",
                        "--rate", "4", "--modes",
                        "split", "--out", str(out)],
                       capture_output=True, text=True, timeout=90, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    d = json.loads(out.read_text())
    assert len(d["runs"]) == 1 and d["runs"][0]["mode"] == "split"
    run = d["runs"][0]
    for k in ("quiet_p99", "busy_p99", "rise_p99", "loadavg_start",
              "cores_busy_others"):
        assert isinstance(run[k], (int, float)), (k, run)
    assert run["logins_ok"] > 0 and run["fetches"] > 0, run
    assert d["summary"]["split"]["runs_within_5ms"] in (0, 1)
