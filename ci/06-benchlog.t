#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench's analysis (scripts/read/benchlog.py) on the saved serial logs of
# one scripts/bench.sh --short run (ci/testdata/bench/*.log, CRLF as the
# serial console writes them): the JSON summary, the tables, the plot
# data, the verdict and the last line are those saved next to them; a log
# that lacks a record, has a malformed BENCH line, is cut or missing is an
# error that says so (exit 1, nothing written), never a silent median.
# After a deliberate change of the output, BENCHLOG_UPDATE=1 prove
# ci/06-benchlog.t rewrites the saved outputs; review the diff.
# No kernel, no Bochs; a few seconds.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

D=$REPO_DIR/ci/testdata/bench
GROWING=$D/bench-short-count-only-k10-3.2ghz-growing.log
FIXED=$D/bench-short-count-only-k10-3.2ghz-fixed.log
# The interpreter behind python3 (not a pyenv shim: ~10x faster to start).
PY=$(python3 -c 'import sys; print(sys.executable)')
bl() { "$PY" "$REPO_DIR/scripts/read/benchlog.py" "$@"; }
# runs GROWING_LOG FIXED_LOG: the --run arguments bench.sh gives for them.
runs() {
	echo --run count-only k10-3.2ghz 2400000000 growing "$1"
	echo --run count-only k10-3.2ghz 2400000000 fixed "$2"
}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ple-benchlog.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

plan 9

# saved NAME CMD...: CMD's output is ci/testdata/bench/NAME.
saved() {
	local want=$D/$1
	shift
	if [ -n "${BENCHLOG_UPDATE:-}" ]; then "$@" >"$want"; fi
	"$@" | diff -u "$want" -
}

summary() {
	# shellcheck disable=SC2046 # runs' words, no blanks in them
	bl summarize --json "$TMP/summary.json" $(runs "$GROWING" "$FIXED")
	saved summary.json cat "$TMP/summary.json"
}
check "the summary of the saved logs is the saved summary.json" summary

check "its tables are the saved table.txt" saved table.txt bl tables "$D/summary.json"
check "its plot data are the saved handoff.dat" saved handoff.dat bl plotdata "$D/summary.json"

# verdict_lines SUMMARY: the verdict, then the last line.
verdict_lines() { bl verdict "$1" && bl speedup "$1"; }

verdict() {
	saved verdict.txt verdict_lines "$D/summary.json"
	bl speedup "$D/summary.json" |
		grep -qxE 'overcommit 2:1 hand-off, faster with filtering: [0-9]+\.[0-9]x \(k10-3\.2ghz\)'
}
check "its verdict and last line are the saved verdict.txt" verdict

# broken WANT GROWING_LOG FIXED_LOG: summarize fails with exit 1, says
# WANT (a fixed string) on stderr and writes no summary.
broken() {
	local want=$1 rc=0
	rm -f "$TMP/out.json"
	# shellcheck disable=SC2046 # as above
	bl summarize --json "$TMP/out.json" $(runs "$2" "$3") 2>"$TMP/err" || rc=$?
	cat "$TMP/err"
	[ "$rc" -eq 1 ] || { echo "exit status $rc, not 1"; return 1; }
	grep -qF -- "$want" "$TMP/err" || { echo "no '$want' in the message"; return 1; }
	[ ! -e "$TMP/out.json" ] || { echo "a summary was written"; return 1; }
}

missing_record() {
	grep -v 'BENCH: handoff: mode=growing vcpus=4 ' "$GROWING" >"$TMP/growing.log"
	broken "no handoff record mode=growing vcpus=4 (cpu=count-only phase=k10-3.2ghz)" \
		"$TMP/growing.log" "$FIXED"
	grep -v 'BENCH: wait: mode=nofilter ms=100 ' "$GROWING" >"$TMP/growing.log"
	broken "no wait record mode=nofilter ms=100 (cpu=count-only phase=k10-3.2ghz, from a boot without nobase)" \
		"$TMP/growing.log" "$FIXED"
}
check "a log without one of its records: exit 1, the missing record named" missing_record

malformed() {
	sed 's/\(BENCH: handoff: mode=fixed vcpus=2 .*cyc_median=\)[0-9]*/\1x42/' "$FIXED" >"$TMP/fixed.log"
	broken "$TMP/fixed.log: cyc_median='x42' is not a number in 'BENCH: handoff: mode=fixed vcpus=2" \
		"$GROWING" "$TMP/fixed.log"
	sed 's/\(BENCH: wait: mode=growing ms=10 .*\) lost_pct=/\1 lost_pct /' "$GROWING" >"$TMP/growing.log"
	broken "$TMP/growing.log: malformed 'lost_pct' (not key=value)" "$TMP/growing.log" "$FIXED"
	sed 's/\(BENCH: handoff: mode=fixed vcpus=4 .*\) per_sec=[0-9.]*/\1/' "$FIXED" >"$TMP/fixed.log"
	broken "$TMP/fixed.log: handoff record without per_sec" "$GROWING" "$TMP/fixed.log"
	sed 's/BENCH: wait: mode=fixed ms=1 /BENCH: wait: mode=fast ms=1 /' "$FIXED" >"$TMP/fixed.log"
	broken "$TMP/fixed.log: unknown mode 'fast'" "$GROWING" "$TMP/fixed.log"
}
check "a malformed BENCH line (a bad number, no '=', a field or the mode wrong): exit 1, the log and line named" malformed

cut_or_missing() {
	# Cut in the middle of the fixed boot's 100 ms busy-wait line, as a
	# killed Bochs leaves it: that line is no record.
	local at
	at=$(grep -boa 'BENCH: wait: mode=fixed ms=100 ' "$FIXED" | cut -d: -f1)
	head -c "$((at + 40))" "$FIXED" >"$TMP/fixed.log"
	broken "no wait record mode=fixed ms=100 (cpu=count-only phase=k10-3.2ghz)" "$GROWING" "$TMP/fixed.log"
	broken "$TMP/no-such.log: No such file or directory" "$GROWING" "$TMP/no-such.log"
}
check "a log cut mid-line or missing: exit 1, what is missing named" cut_or_missing

usage() {
	local rc=0
	bl summarize --json "$TMP/out.json" 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ]
	rc=0
	bl tables "$TMP/no-such.json" 2>/dev/null || rc=$?
	[ "$rc" -eq 1 ]
}
check "no --run is bad usage (exit 2); a missing summary is an error (exit 1)" usage

one_owner() {
	# The modes' labels and the record fields are benchlog.py's; bench.sh
	# boots and leaves the analysis to it (no awk).
	local hits
	hits=$(grep -rlE 'growing window \(default\)|fixed window \(3000\)|cyc_p9[0]' \
		"$REPO_DIR/scripts" "$REPO_DIR/ci"/*.t || true)
	echo "$hits"
	[ "$hits" = "$REPO_DIR/scripts/read/benchlog.py" ]
	[ "$(grep -c awk "$REPO_DIR/scripts/bench.sh")" -eq 0 ]
}
check "the bench's labels and fields are defined in scripts/read/benchlog.py only; no awk in bench.sh" one_owner

done_testing
