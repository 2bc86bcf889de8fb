#!/usr/bin/env bash
# Run every test: C unit tests (through pytest), the fuzz targets for a
# short bounded time, and the end-to-end suites against real daemons.
# The last line is pytest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
export SLUICE_BUILD=${SLUICE_BUILD:-build/asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ "${SLUICE_SKIP_FUZZ:-0}" != 1 ]; then
	make --no-print-directory fuzz FUZZ_TIME="${FUZZ_TIME:-6}"
fi
# arguments (test files, -k ...) narrow the run; none runs everything
if [ $# -eq 0 ]; then set -- tests/; fi
# tests wait on daemons and sockets more than they compute: two workers
# (pytest-xdist; SLUICE_TEST_JOBS=0 runs them in this process); tests
# marked xdist_group share a worker (the private Postfix instances)
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-n "${SLUICE_TEST_JOBS:-2}" --dist loadgroup "$@"
