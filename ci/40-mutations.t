#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A fix whose removal no test notices is not tested: build the series
# without each of its kernel patches, boot it with the parameters that
# expose the bug (the rows of ci/mutations.txt), and expect
# svm_pause_filter_test to fail, in a case the row's pattern names.
# Prints the table: patch left out, machine, timing, parameters, result,
# what the test said.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

mapfile -t ROWS < <(table_rows "$REPO_DIR/ci/mutations.txt")
plan ${#ROWS[@]}
mapfile -t used < <(printf '%s\n' "${ROWS[@]}" | cut -d'|' -f3 | sort -u)
machines_here "${used[@]}"
[ -z "${UNAVAILABLE[count-only]}" ] || skip_all "${UNAVAILABLE[count-only]}"
"$REPO_DIR/scripts/build/build.sh" patched >/dev/null 2>&1 || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
# check() runs its command in a subshell: the table goes through a file.
mkdir -p "$RUNS_DIR/mutations"
table=$RUNS_DIR/mutations/table.txt builds=$RUNS_DIR/mutations/build.log
: >"$table"
: >"$builds"

# mutant_specs: each row's boot (machines not here: none).  Each mutant
# is built once (they share a work tree; build.sh keeps each kernel, keyed
# on its inputs, so a second run builds nothing), and its row booted as
# soon as its kernel is there (run_guests reads the specs as they come).
# A mutant that does not build gets a kernel path saying so: its boot
# fails with it.
mutant_specs() {
	local row n want cpu timing params pattern what bz
	for row in "${ROWS[@]}"; do
		IFS='|' read -r n want cpu timing params pattern what <<<"$row"
		[ -z "${UNAVAILABLE[$cpu]}" ] || continue
		bz=$("$REPO_DIR/scripts/build/build.sh" mutant --without "$n" 2>>"$builds") ||
			bz="(the kernel without patch $n did not build: $builds)"
		boot_spec "mutant-$n" "$bz" "$cpu" "$timing" "$params" "$PLE_TEST"
	done
}
mapfile -t DIRS < <(mutant_specs | run_guests mutations)

# mutant DIR ROW: the row's mutant gave the result the row wants, and the
# test's output matches the row's pattern (a case failing the way the bug
# makes it fail).
mutant() {
	local log=$1 n want cpu timing params pattern what r why
	IFS='|' read -r n want cpu timing params pattern what <<<"$2"
	[ "$(boot_status "$log")" -eq 0 ] || { boot_failure "$log"; return 1; }
	r=$(guestlog result "$log" "$PLE_TEST")
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
	p=$(find "$REPO_DIR/patches" -name "$(printf '%04d' "$n")-*.patch" -printf '%f\n')
	check_on "$cpu" "without $p ($what), $cpu, $timing: the selftest gives $want" \
		mutant "${DIRS[$i]:-}" "$row"
	# DIRS holds the boots of the machines here only.
	[ -n "${UNAVAILABLE[$cpu]}" ] || i=$((i + 1))
done
diag "patch machine    timing        params                                   result why"
diag "$(cat "$table")"

done_testing
