#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The patched kernel under the parameter sets, machines and timing models
# of ci/matrix.txt (rows of the zen machine, threshold mode, skip without
# PLE_BOCHS: config/machines): the PAUSE selftest (which reads the loaded
# parameters) gives the result of the row, its log matches the row's
# pattern, and the kernel log has no WARN, BUG, Oops or UBSAN report.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

mapfile -t ROWS < <(table_rows "$REPO_DIR/ci/matrix.txt")
plan ${#ROWS[@]}
mapfile -t used < <(printf '%s\n' "${ROWS[@]}" | cut -d'|' -f2 | sort -u)
machines_here "${used[@]}"
[ -z "${UNAVAILABLE[count-only]}" ] || skip_all "${UNAVAILABLE[count-only]}"
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
mkdir -p "$RUNS_DIR/matrix"
summary=$RUNS_DIR/matrix/table.txt
: >"$summary"

# Boot every row first (machines not here: none), as many guests at a
# time as CPUs.
row_specs() {
	local row want cpu timing params pattern what
	for row in "${ROWS[@]}"; do
		IFS='|' read -r want cpu timing params pattern what <<<"$row"
		[ -z "${UNAVAILABLE[$cpu]}" ] || continue
		boot_spec patched "$patched" "$cpu" "$timing" "$params" "$PLE_TEST"
	done
}
mapfile -t DIRS < <(row_specs | run_guests matrix)

# figures LOG: the selftest's cases, each with the PAUSE exits its last
# spin counted (or "skip").
figures() {
	guestlog subtests "$1" "$PLE_TEST" |
		sed -E 's/^skip\t([^:]*):.*/skip \1/; s/^([a-z]+)\t([^:]*):.* ([0-9]+) PAUSE exits.*/\1 \2: \3/' |
		tr '\n' ';'
}

# row DIR ROW: the row's result, its log pattern (matched against the
# test's own output, as scripts/read/guestlog.py reads it), and no kernel
# complaint.
row() {
	local log=$1 want cpu timing params pattern what got
	IFS='|' read -r want cpu timing params pattern what <<<"$2"
	[ "$(boot_status "$log")" -eq 0 ] || { boot_failure "$log"; return 1; }
	got=$(guestlog result "$log" "$PLE_TEST")
	printf '%-10s %-9s %-36s %-4s %s\n' "$cpu" "$timing" "${params:-defaults}" "$got" \
		"$(figures "$log")" >>"$summary"
	[ "$got" = "$want" ] || { guestlog output "$log" "$PLE_TEST" | tail -15; return 1; }
	[ -z "$pattern" ] || guestlog output "$log" "$PLE_TEST" | grep -qE "$pattern" ||
		{ echo "no match for /$pattern/"; guestlog output "$log" "$PLE_TEST" | tail -15; return 1; }
	no_complaints "$log"
}

i=0
for r in "${ROWS[@]}"; do
	IFS='|' read -r want cpu timing params pattern what <<<"$r"
	check_on "$cpu" "$cpu $timing ${params:-defaults} ($what): $want, no kernel complaint" \
		row "${DIRS[$i]:-}" "$r"
	# DIRS holds the boots of the machines here only.
	[ -n "${UNAVAILABLE[$cpu]}" ] || i=$((i + 1))
done
diag "machine    timing    parameters                           result figures"
diag "$(cat "$summary")"

done_testing
