#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the base and the patched kernel on the count-only machine (SVM with
# PauseFilter, no PFThreshold; config/machines) under the 5 GHz Zen timing
# model (a count-only L1 on Zen), and run the PAUSE selftest and the upstream list through
# run_kselftest.sh: the selftest passes on the patched kernel, every case
# run; it fails on the base, which does no PAUSE filtering on this CPU (the
# bug patch 3 fixes); no upstream test regresses.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

plan 7
if reason=$(emulator_missing count-only); then skip_all "$reason"; fi
base=$("$REPO_DIR/scripts/build/build.sh" base) || bail "the base kernel does not build"
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"
check "the KVM selftests build statically and install" ensure_selftests
tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"

# Both guests at once: Bochs is single-threaded, and nothing is timed.
TIMING=$FAST_TIMING
{ read -r BASE; read -r PATCHED; } < <({
	boot_spec base "$base" count-only "$TIMING" "" "$tests"
	boot_spec patched "$patched" count-only "$TIMING" "" "$tests"
} | run_guests emulator)
booted() { [ "$(boot_status "$1")" -eq 0 ] || { boot_failure "$1"; return 1; }; }
check "the base kernel boots and runs the selftests" booted "$BASE"
check "the patched kernel boots and runs the selftests" booted "$PATCHED"
"$REPO_DIR/scripts/report.sh" "$BASE" "$PATCHED" | sed 's/^/# /'

ple_ok() {
	[ "$(guestlog result "$PATCHED" "$PLE_TEST")" = ok ] || {
		guestlog output "$PATCHED" "$PLE_TEST" | tail -20; return 1; }
}
check "pause_loop_exit_test passes on the patched kernel" ple_ok

# Every case runs (none skips) at this timing.
all_cases_ok() {
	local cases
	cases=$(guestlog subtests "$PATCHED" "$PLE_TEST")
	echo "$cases"
	[ "$(grep -c '^ok' <<<"$cases")" -eq 4 ]
}
check "every case of pause_loop_exit_test passes on the patched kernel" all_cases_ok

base_fails_for_the_bug() {
	local cases
	cases=$(guestlog subtests "$BASE" "$PLE_TEST")
	echo "$cases"
	[ "$(guestlog result "$BASE" "$PLE_TEST")" = fail ] &&
		grep -q '^fail	PAUSE exits: 15000 PAUSEs from count 3000: 0 PAUSE exits' <<<"$cases"
}
check "pause_loop_exit_test fails on the base: no PAUSE exit in 15,000 PAUSEs" base_fails_for_the_bug

no_regression() {
	local t bad=0 b p
	for t in $(upstream_tests); do
		b=$(guestlog result "$BASE" "$t")
		p=$(guestlog result "$PATCHED" "$t")
		echo "$t: base $b, patched $p"
		if [ "$b" = ok ] && [ "$p" != ok ]; then bad=1; fi
		if [ "$b" = none ]; then bad=1; fi
	done
	return "$bad"
}
check "no upstream selftest goes from ok on the base to not ok" no_regression

done_testing
