#!/usr/bin/env bash
# `make bench`: Sluice against Postfix on this machine (see bench/README.md).
# BENCH_QUICK=1 for a short run (4 KB, 10 sessions, one repeat).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gnuplot >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox \
		>/dev/null || echo "bench: no gnuplot; no chart"
fi
/usr/bin/python3 bench/bench.py
if command -v gnuplot >/dev/null; then
	/usr/bin/python3 bench/chart.py
fi
