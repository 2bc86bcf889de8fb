#!/usr/bin/env bash
# NAME
#	fuzz.sh - build and run the libFuzzer targets of the network parsers
# SYNOPSIS
#	FUZZ_TARGETS="..." FUZZ_BASE="..." tests/fuzz.sh short|long [SECONDS]
# DESCRIPTION
#	Builds every target (clang, -fsanitize=fuzzer,address,undefined) into
#	build/fuzz/ and runs each for SECONDS.
#	short (make fuzz, part of make test): each target starts from its seed
#	corpus in tests/fuzz-corpus/<target>/ (read only) and writes what it
#	finds under build/fuzz/; a finding fails the run. Its mutations
#	start from a fixed seed (FUZZ_SEED, default 1), so make test is a
#	replay of the corpus plus the same walk on every machine (a slower
#	machine walks less of it): new ground is broken by make fuzz-long,
#	whose seed is random.
#	long (make fuzz-long): a resumable campaign. Each target runs for
#	SECONDS (default 3600) on every core, continuing from the corpus kept
#	in the repository, which is then minimised back into
#	tests/fuzz-corpus/<target>/ (commit it to keep the ground gained).
#	Executions add up across runs in tests/fuzz-corpus/<target>.execs
#	(commit it with the corpus; short runs are not counted); the table
#	printed at the end gives executions (this run and in all), coverage
#	(libFuzzer's cov: and ft:) and the corpus size per target.
#	Crashes are kept as build/fuzz/crash-*; the run exits 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-short}
secs=${2:-}
: "${FUZZ_TARGETS:?set by the Makefile}" "${FUZZ_BASE:?set by the Makefile}"
mkdir -p build/fuzz
jobs=1
if [ "$mode" = long ]; then
	secs=${secs:-3600}
	jobs=$(nproc 2>/dev/null || echo 1)
fi
secs=${secs:-12}

# the store's protocols are folders of store/ (store/imap, store/mime, ...)
store_dirs=(store store/*/)
store_dirs=("${store_dirs[@]%/}")
src_of() {
	for d in common "${store_dirs[@]}" msa spamd avscan mx outmta; do
		if [ -f "$d/$1.c" ]; then echo "$d/$1.c"; return; fi
	done
	echo "fuzz: no source for $1" >&2
	exit 1
}

cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -iquote common
	"${store_dirs[@]/#/-iquote}" -iquote msa -iquote spamd)
# the parsers are compiled once per run (instrumented, not linked; every
# run, so a changed header never leaves a stale object), each target is
# its own file linked against them
rm -rf build/fuzz/obj
objs=()
for f in $FUZZ_BASE; do
	objs+=("build/fuzz/obj/${f%.c}.o")
	mkdir -p "build/fuzz/obj/$(dirname "$f")"
done
# shellcheck disable=SC2086
printf '%s\n' $FUZZ_BASE | sed 's/\.c$//' |
	xargs -P "$(nproc 2>/dev/null || echo 1)" -I{} clang "${cflags[@]}" \
		-fsanitize=fuzzer-no-link,address,undefined -c {}.c \
		-o build/fuzz/obj/{}.o
failed=0
table=""
for t in $FUZZ_TARGETS; do
	src=$(src_of "$t")
	clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined \
		"$src" "${objs[@]}" -o "build/fuzz/$t" -lcrypto
	seed="tests/fuzz-corpus/$t"
	mkdir -p "$seed"
	dict=${src%.c}.dict
	dictarg=()
	[ -f "$dict" ] && dictarg=(-dict="$dict")
	log="build/fuzz/$t.log"
	if [ "$mode" = long ]; then
		work="build/fuzz/long-$t"
		mkdir -p "$work"
		# every worker writes new inputs to $work; the repo corpus seeds
		build/fuzz/$t -max_total_time="$secs" -max_len=4096 \
			-fork="$jobs" -ignore_crashes=0 -artifact_prefix=build/fuzz/ \
			"${dictarg[@]}" "$work" "$seed" >"$log" 2>&1 || failed=1
		# the fork driver's last status line: "#RUNS: cov: C ft: F ..."
		runs=$(grep -oE '^#[0-9]+: cov' "$log" | tail -1 | tr -dc 0-9)
		runs=${runs:-0}
		min="build/fuzz/min-$t"
		rm -rf "$min" && mkdir -p "$min"
		build/fuzz/$t -merge=1 -max_len=4096 "$min" "$seed" "$work" \
			>"build/fuzz/$t.merge.log" 2>&1
		rm -rf "$seed" && mv "$min" "$seed"
	else
		work="build/fuzz/corpus-$t"
		rm -rf "$work" && mkdir -p "$work"
		build/fuzz/$t -max_total_time="$secs" -max_len=4096 \
			-seed="${FUZZ_SEED:-1}" -artifact_prefix=build/fuzz/ \
			"${dictarg[@]}" "$work" "$seed" \
			>"$log" 2>&1 || { tail -40 "$log"; failed=1; }
		runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo 0)
	fi
	ledger="build/fuzz/$t.execs"
	[ "$mode" = long ] && ledger="tests/fuzz-corpus/$t.execs"
	total=$(( $(cat "$ledger" 2>/dev/null || echo 0) + runs ))
	echo "$total" >"$ledger"
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
	n=$(find "$seed" -type f | wc -l)
	line=$(printf '%-24s %12s %14s  %-22s %6s' "$t" "$runs" "$total" \
		"${cov:-cov: ?}" "$n")
	echo "fuzz $line"
	table="$table$line"$'\n'
done
printf '\n%-24s %12s %14s  %-22s %6s\n' target "runs" "runs in all" \
	coverage corpus
printf '%s' "$table"
ls build/fuzz/crash-* >/dev/null 2>&1 && failed=1
exit "$failed"
