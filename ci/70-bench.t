#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench's short form runs: scripts/bench.sh --short (one tick phase,
# short hand-off spans) completes and its output parses: the rows of both
# tables, the policy verdict, the plot, and the last line's form.  The
# figures themselves are the benchmark's business, never checked here.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

OUT=$LOG_DIR/bench-short.out
LAST_RE='^overcommit 2:1 hand-off: [0-9]+(\.[0-9]+)?x faster with filtering$'
# A figure of a table: a number, or "median [min-max]" over the phases.
FIG='[0-9]+(\.[0-9]+)?( \[[0-9.]+-[0-9.]+\])?'

plan 5
if reason=$(emulator_missing count-only); then skip_all "$reason"; fi

run_bench() {
	local rc=0
	"$REPO_DIR/scripts/bench.sh" --short >"$OUT" 2>"$OUT.err" || rc=$?
	cat "$OUT" "$OUT.err"
	return "$rc"
}
check "scripts/bench.sh --short runs to its end" run_bench

# cells LABEL: the table rows that start with LABEL, less the label.
cells() {
	awk -v l="$1" 'index($0, l) == 1 { print substr($0, length(l) + 1) }' "$OUT"
}

# rows: per configuration, a hand-off row (4 figures) and a busy-wait row
# (3 cells "EXITS (N/s, L%)").
rows() {
	local label
	for label in "no filtering (v7.3-rc7)" "fixed window (3000)" "growing window (default)"; do
		cells "$label" | grep -qE "^( +$FIG){4} *$" ||
			{ echo "no hand-off row for '$label'"; return 1; }
		cells "$label" | grep -qE "^( +[0-9]+ \([0-9.]+/s, [0-9.]+%\)){3} *$" ||
			{ echo "no busy-wait row for '$label'"; return 1; }
	done
}
check "both tables have a row of figures per configuration" rows

verdict() {
	grep -E '^window policy for count-only mode: .* is better:$' "$OUT" &&
		grep -E '^  hand-off 2:1: fixed [0-9]+, growing [0-9]+ cycles' "$OUT" &&
		grep -E '^  100 ms busy-wait: fixed [0-9]+, growing [0-9]+ PAUSE exits/s' "$OUT"
}
check "the window policy verdict is printed with its figures" verdict

plot_made() {
	local svg
	svg=$(sed -n 's/.*plot: \([^;]*\.svg\);.*/\1/p' "$OUT")
	echo "plot: ${svg:-none}"
	[ -s "$svg" ] && grep -q '<svg' "$svg"
}
check "the plot is written where the output says" plot_made

last_line() {
	tail -n 1 "$OUT"
	tail -n 1 "$OUT" | grep -qE "$LAST_RE"
}
check "the last line is 'overcommit 2:1 hand-off: <ratio>x faster with filtering'" last_line

diag "$(cat "$OUT" 2>/dev/null || true)"
done_testing
