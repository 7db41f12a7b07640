#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The patched kernel under the parameter sets, machines and timing models
# of ci/matrix.txt (rows of the zen machine, threshold mode, skip: no
# emulator has it, see config/machines): the PAUSE selftest (which computes
# its expectations from the loaded parameters) gives the result of the
# row, its log matches the row's pattern, and the kernel log has no WARN,
# BUG, Oops or UBSAN report.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

mapfile -t ROWS < <(table_rows "$REPO_DIR/ci/matrix.txt")
plan ${#ROWS[@]}
if reason=$(emulator_missing count-only intel); then skip_all "$reason"; fi
patched=$("$REPO_DIR/scripts/build.sh" patched) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
summary=$LOG_DIR/matrix.table
: >"$summary"

# Boot every row first, as many guests at a time as CPUs (guest_bg).
boot_rows() {
	local i=0 row want cpu timing params pattern what
	for row in "${ROWS[@]}"; do
		IFS='|' read -r want cpu timing params pattern what <<<"$row"
		i=$((i + 1))
		! unavailable "$cpu" >/dev/null || continue
		guest_bg "matrix-$i" "$patched" "$PLE_TEST" "$params" "$cpu" "$timing"
	done
	wait || true
}
boot_rows

# figures LOG: the selftest's cases, each with the PAUSE exits its last
# spin counted (or "skip").
figures() {
	guestlog subtests "$1" "$PLE_TEST" |
		sed -E 's/^skip\t([^:]*):.*/skip \1/; s/^([a-z]+)\t([^:]*):.* ([0-9]+) PAUSE exits.*/\1 \2: \3/' |
		tr '\n' ';'
}

# row I ROW: the row's result, its log pattern (matched against the test's
# own output, as scripts/guestlog.py reads it), and no kernel complaint.
row() {
	local log=$LOG_DIR/matrix-$1.log want cpu timing params pattern what got bad
	IFS='|' read -r want cpu timing params pattern what <<<"$2"
	got=$(result "$log" "$PLE_TEST")
	bad=$(kernel_complaints "$log")
	printf '%-10s %-9s %-36s %-4s %s\n' "$cpu" "$timing" "${params:-defaults}" "$got" \
		"$(figures "$log")" >>"$summary"
	[ "$got" = "$want" ] || { guestlog output "$log" "$PLE_TEST" | tail -15; return 1; }
	[ -z "$pattern" ] || guestlog output "$log" "$PLE_TEST" | grep -qE "$pattern" ||
		{ echo "no match for /$pattern/"; guestlog output "$log" "$PLE_TEST" | tail -15; return 1; }
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

i=0
for r in "${ROWS[@]}"; do
	IFS='|' read -r want cpu timing params pattern what <<<"$r"
	i=$((i + 1))
	if reason=$(unavailable "$cpu"); then
		skip "$cpu $timing ${params:-defaults} ($what): $reason"
		continue
	fi
	check "$cpu $timing ${params:-defaults} ($what): $want, no kernel complaint" row "$i" "$r"
done
diag "machine    timing    parameters                           result figures"
diag "$(cat "$summary")"

done_testing
