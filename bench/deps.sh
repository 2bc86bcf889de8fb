#!/usr/bin/env bash
# The Debian packages the benchmarks need beyond tests/deps.sh: Dovecot
# for the IMAP FETCH comparison (bench/imap_bench.py). Installed without
# starting any service (tests/deps.sh puts a policy-rc.d in place).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_PKGS="dovecot-imapd"
tests/deps.sh
exec tests/deps.sh $BENCH_PKGS
