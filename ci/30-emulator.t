#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the base and the patched kernel on the count-only machine (SVM with
# PauseFilter, no PFThreshold; config/machines, at its default timing
# model) and run the PAUSE selftest
# and the upstream list through run_kselftest.sh: the selftest passes on
# the patched kernel with the figures of the cover letter, skips on the
# base for lack of the stat, and no upstream test regresses.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

plan 7
if reason=$(emulator_missing count-only); then skip_all "$reason"; fi
base=$("$REPO_DIR/scripts/build.sh" base) || bail "the base kernel does not build"
patched=$("$REPO_DIR/scripts/build.sh" patched) || bail "the patched kernel does not build"
check "the KVM selftests build statically and install" ensure_selftests
tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"

# Both guests at once: Bochs is single-threaded, and nothing is timed.
guest base "$base" "$tests" "" count-only >"$LOG_DIR/base.out" 2>&1 &
base_pid=$!
guest patched "$patched" "$tests" "" count-only >"$LOG_DIR/patched.out" 2>&1 &
patched_pid=$!
base_rc=0 patched_rc=0
wait "$base_pid" || base_rc=$?
wait "$patched_pid" || patched_rc=$?
booted() { [ "$1" -eq 0 ] || { cat "$2"; return 1; }; }
check "the base kernel boots and runs the selftests" booted "$base_rc" "$LOG_DIR/base.out"
check "the patched kernel boots and runs the selftests" booted "$patched_rc" "$LOG_DIR/patched.out"
"$REPO_DIR/scripts/report.sh" "$LOG_DIR/base.log" "$LOG_DIR/patched.log" | sed 's/^/# /'

ple_ok() {
	[ "$(result "$LOG_DIR/patched.log" "$PLE_TEST")" = ok ] || {
		guestlog output "$LOG_DIR/patched.log" "$PLE_TEST" | tail -20; return 1; }
}
check "pause_loop_exit_test passes on the patched kernel" ple_ok

# With kvm_amd's defaults, windows of 3000 and 6000 PAUSEs (+1 each at
# most) and half of the next (12000): 15,000 PAUSEs take 2 PAUSE exits.
two_exits() {
	ple_lines "$LOG_DIR/patched.log"
	ple_lines "$LOG_DIR/patched.log" |
		grep -q 'kvm_amd: 15000 PAUSEs from window 3000: 2 PAUSE exits'
}
check "15,000 PAUSEs from the base window take 2 PAUSE exits on the patched kernel" two_exits

base_skips_clearly() {
	[ "$(result "$LOG_DIR/base.log" "$PLE_TEST")" = skip ] &&
		guestlog why "$LOG_DIR/base.log" "$PLE_TEST" | grep -q "KVM lacks the pause_exits vCPU stat"
}
check "pause_loop_exit_test skips on the base, saying KVM lacks the stat" base_skips_clearly

no_regression() {
	local t bad=0 b p
	for t in $(upstream_tests); do
		b=$(result "$LOG_DIR/base.log" "$t")
		p=$(result "$LOG_DIR/patched.log" "$t")
		echo "$t: base $b, patched $p"
		if [ "$b" = ok ] && [ "$p" != ok ]; then bad=1; fi
		if [ "$b" = none ]; then bad=1; fi
	done
	return "$bad"
}
check "no upstream selftest goes from ok on the base to not ok" no_regression

done_testing
