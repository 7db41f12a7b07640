#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A fix whose removal no test notices is not tested: build the series
# without each of its kernel patches, boot it with the parameters that
# expose the bug (the rows of ci/mutations.txt), and expect
# pause_loop_exit_test to fail, in the case the row names.  Prints the
# table: patch left out, machine, timing, parameters, result, what the
# test said.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

mapfile -t ROWS < <(table_rows "$REPO_DIR/ci/mutations.txt")
plan ${#ROWS[@]}
if reason=$(emulator_missing count-only); then skip_all "$reason"; fi
"$REPO_DIR/scripts/build.sh" patched >/dev/null 2>&1 || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
# check() runs its command in a subshell: the table goes through a file.
table=$LOG_DIR/mutations.table
: >"$table"

# Build each mutant once (they share a work tree; build.sh keeps each kernel,
# keyed on its inputs, so a second run builds nothing) and boot the rows as
# soon as their kernel is there, as many at a time as CPUs (guest_bg).
boot_mutants() {
	local i=0 row n want cpu timing params pattern what bz
	for row in "${ROWS[@]}"; do
		IFS='|' read -r n want cpu timing params pattern what <<<"$row"
		i=$((i + 1))
		! unavailable "$cpu" >/dev/null || continue
		bz=$("$REPO_DIR/scripts/build.sh" mutant --without "$n" 2>>"$LOG_DIR/mutants-build.log") ||
			{ echo "build failed" >"$LOG_DIR/mutant-$i.log"; continue; }
		guest_bg "mutant-$i" "$bz" "$PLE_TEST" "$params" "$cpu" "$timing"
	done
	wait || true
}
boot_mutants

# mutant I ROW: the row's mutant gave the result the row wants, and the
# test's output matches the row's pattern (the case that must fail, failing).
mutant() {
	local log=$LOG_DIR/mutant-$1.log n want cpu timing params pattern what r why
	IFS='|' read -r n want cpu timing params pattern what <<<"$2"
	r=$(result "$log" "$PLE_TEST")
	why=$(guestlog why "$log" "$PLE_TEST")
	printf '%-2s %-10s %-13s %-40s %-5s %s\n' "$n" "$cpu" "$timing" "${params:-defaults}" \
		"$r" "$why" >>"$table"
	guestlog output "$log" "$PLE_TEST" | grep -E '^(not )?ok ' || true
	[ "$r" = "$want" ] || return 1
	guestlog output "$log" "$PLE_TEST" | grep -qE "$pattern" || { echo "no match for /$pattern/"; return 1; }
}

i=0
for row in "${ROWS[@]}"; do
	IFS='|' read -r n want cpu timing params pattern what <<<"$row"
	i=$((i + 1))
	p=$(find "$REPO_DIR/patches" -name "$(printf '%04d' "$n")-*.patch" -printf '%f\n')
	if reason=$(unavailable "$cpu"); then
		skip "without $p ($what), $cpu, $timing: $reason"
		continue
	fi
	check "without $p ($what), $cpu, $timing: the selftest gives $want" mutant "$i" "$row"
done
diag "patch machine    timing        params                                   result why"
diag "$(cat "$table")"

done_testing
