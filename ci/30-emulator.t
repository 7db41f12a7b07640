#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the base and the patched kernel on the count-only machine (SVM with
# PauseFilter, no PFThreshold; config/machines) under the 5 GHz Zen timing
# model (a count-only L1 on Zen), and run the PAUSE selftest and the
# upstream list through run_kselftest.sh: the selftest passes on the
# patched kernel, every case run; it fails on the base, which does no PAUSE
# filtering on this CPU (the bug patch 3 fixes); no upstream test regresses.
# Then the same on the zen machine (threshold mode, a Bochs 3.1 you build:
# PLE_BOCHS; without it those points skip): there the base filters too, and
# the selftest must pass on both kernels.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

plan 9
machines_here count-only zen
[ -z "${UNAVAILABLE[count-only]}" ] || skip_all "${UNAVAILABLE[count-only]}"
base=$("$REPO_DIR/scripts/build/build.sh" base) || bail "the base kernel does not build"
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"
check "the KVM selftests build statically and install" ensure_selftests
tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"

# Every guest at once, two at a time: Bochs is single-threaded, and nothing
# is timed.  DIR[KERNEL-MACHINE]: its boot.
TIMING=$FAST_TIMING
MACHINES_HERE=(count-only)
[ -n "${UNAVAILABLE[zen]}" ] || MACHINES_HERE+=(zen)
declare -A DIR
mapfile -t DIRS < <(for m in "${MACHINES_HERE[@]}"; do
	boot_spec base "$base" "$m" "$TIMING" "" "$tests"
	boot_spec patched "$patched" "$m" "$TIMING" "" "$tests"
done | run_guests emulator)
i=0
for m in "${MACHINES_HERE[@]}"; do
	for k in base patched; do DIR[$k-$m]=${DIRS[$i]}; i=$((i + 1)); done
done
booted() { [ "$(boot_status "$1")" -eq 0 ] || { boot_failure "$1"; return 1; }; }
check "the base kernel boots and runs the selftests" booted "${DIR[base-count-only]}"
check "the patched kernel boots and runs the selftests" booted "${DIR[patched-count-only]}"
"$REPO_DIR/scripts/report.sh" "${DIR[base-count-only]}" "${DIR[patched-count-only]}" | sed 's/^/# /'

# all_cases_ok LOG: the selftest passes, every one of its 4 cases.
all_cases_ok() {
	local cases
	cases=$(guestlog subtests "$1" "$PLE_TEST")
	echo "$cases"
	[ "$(guestlog result "$1" "$PLE_TEST")" = ok ] &&
		[ "$(grep -c '^ok' <<<"$cases")" -eq 4 ]
}
check "${PLE_TEST#*:} passes on the patched kernel, every case" all_cases_ok "${DIR[patched-count-only]}"

# base_fails_for_the_bug: the selftest fails, and a case that wants a
# PAUSE exit (PAUSE exits, grown window, sched-in) got none: any of the
# three, as one whose every try had a host tick in its spin skips.
base_fails_for_the_bug() {
	local cases
	cases=$(guestlog subtests "${DIR[base-count-only]}" "$PLE_TEST")
	echo "$cases"
	[ "$(guestlog result "${DIR[base-count-only]}" "$PLE_TEST")" = fail ] &&
		grep -qE '^fail	[A-Za-z -]+: (after HLT, )?10500 PAUSEs: 0 PAUSE exits' <<<"$cases"
}
check "${PLE_TEST#*:} fails on the base: no PAUSE exit in 10,500 PAUSEs" base_fails_for_the_bug

# no_regression MACHINE: no upstream test is ok on the base and not on the
# series.
no_regression() {
	local t bad=0 b p
	for t in $(upstream_tests); do
		b=$(guestlog result "${DIR[base-$1]}" "$t")
		p=$(guestlog result "${DIR[patched-$1]}" "$t")
		echo "$t: base $b, patched $p"
		if [ "$b" = ok ] && [ "$p" != ok ]; then bad=1; fi
		if [ "$b" = none ]; then bad=1; fi
	done
	return "$bad"
}
check "no upstream selftest goes from ok on the base to not ok" no_regression count-only

# On zen, threshold mode: what the series must not change.
both_boot() { booted "${DIR[base-zen]}" && booted "${DIR[patched-zen]}"; }
check_on zen "zen: both kernels boot and run the selftests" both_boot
both_pass() { all_cases_ok "${DIR[base-zen]}" && all_cases_ok "${DIR[patched-zen]}"; }
check_on zen "zen: ${PLE_TEST#*:} passes on both kernels (threshold mode), every case" both_pass
check_on zen "zen: no upstream selftest goes from ok on the base to not ok" no_regression zen

done_testing
