#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The QEMU backend and make hw-report, on any host: scripts/hw-report.sh
# runs the kernels on tcg-svm (QEMU's TCG: SVM without a pause filter) and
# on the hw machines where this host can (an AMD CPU with /dev/kvm); the
# patched kernel boots on tcg-svm and runs svm_pause_filter_test, which
# skips for want of PauseFilter, and kvm_binary_stats_test, which passes,
# with no kernel complaint; a hw machine this host cannot run says why in
# one line and never boots (exit 5); the report marks it "not run on
# hardware: <reason>"; --log judges a saved log; a hung QEMU guest is
# killed on timeout.  Without
# qemu-system-x86 every point skips, naming the package.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

HW_MACHINES="hw-zen hw-count-only"
plan 10
if reason=$(emulator_missing tcg-svm); then skip_all "$reason"; fi
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ple-hw.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
REPORT=$TMP/hw-report.txt

hw_report() {
	local out
	rm -f "$REPORT"
	out=$("$REPO_DIR/scripts/hw-report.sh" --out "$REPORT")
	[ "$(tail -n 1 <<<"$out")" = "$REPORT" ] && [ -s "$REPORT" ]
}
check "scripts/hw-report.sh writes one report and prints its path" hw_report
[ -s "$REPORT" ] || bail "no report, nothing to check"
# LOG: the patched kernel's tcg-svm boot, where the report says it is.
LOG=$(sed -n '/^== tcg-svm /,/^== /s/^patched boot: //p' "$REPORT")

booted() { guestlog status "$LOG"; }
check "the patched kernel boots on tcg-svm and runs the selftests (PLE-DONE)" booted

ple_skips() {
	local why
	why=$(guestlog why "$LOG" "$PLE_TEST")
	echo "$PLE_TEST: $(guestlog result "$LOG" "$PLE_TEST"): $why"
	[ "$(guestlog result "$LOG" "$PLE_TEST")" = skip ] &&
		[[ $why == *"PAUSE filtering off: pause_filter_count=0"* ]]
}
check "${PLE_TEST#*:} skips on tcg-svm: no PauseFilter, so kvm_amd's pause_filter_count is 0" ple_skips

stats_ok() { [ "$(guestlog result "$LOG" kvm:kvm_binary_stats_test)" = ok ]; }
check "kvm_binary_stats_test passes on tcg-svm" stats_ok

check "no WARN/BUG/Oops/UBSAN/panic in the tcg-svm log" no_complaints "$LOG"

# expected_reason: what this host lacks for the hw machines, as a pattern
# of boot-qemu.sh's line ("" when it has it all).
expected_reason() {
	if [ ! -e /dev/kvm ]; then echo "no /dev/kvm"
	elif ! grep -qm1 '^vendor_id.*AuthenticAMD' /proc/cpuinfo; then echo "needs an AMD CPU"
	else echo "."
	fi
}

# hw_skip MACHINE: unavailable with the expected one-line reason, and a
# boot of it fails with status 5 at once.
hw_skip() {
	local why rc d
	why=$(emulator_missing "$1")
	echo "$1: $why"
	[ "$(wc -l <<<"$why")" -eq 1 ] && grep -q -e "$(expected_reason)" <<<"$why"
	d=$(guest hw-refused patched "$patched" "$1" "" "" "$PLE_TEST")
	rc=$(boot_status "$d")
	echo "boot: exit $rc"
	[ "$rc" -eq 5 ] && [ ! -s "$d/serial.log" ]
}

# report_rows: every hw machine this host cannot run is "not run on
# hardware: <its reason>" in the report, with no Tested-by: line; the
# tcg-svm table is there.
report_rows() {
	local m why
	for m in $HW_MACHINES; do
		why=$(emulator_missing "$m") || continue
		grep -qxF "not run on hardware: ${why#"machine $m unavailable: "}" "$REPORT"
	done
	if grep '^Tested-by:' "$REPORT"; then return 1; fi
	grep -q "^$PLE_TEST  *skip  *skip$" "$REPORT"
}
for m in $HW_MACHINES; do
	if emulator_missing "$m" >/dev/null; then
		check "$m unavailable here, in one line ($(expected_reason)); a boot of it is refused (exit 5)" hw_skip "$m"
	else
		skip "this host runs $m (see the report: $REPORT)"
	fi
done
check "the report marks the hw rows not run on hardware with the reason, has tcg-svm's table, no Tested-by:" report_rows

# --log FILE: a saved passing log gets a Tested-by: line, a failing one
# a FAILED verdict naming the test and none.  ci/testdata/hw/: the serial
# logs of the series (pass.log) and of v7.3-rc7 (fail.log) on count-only
# at zen-5ghz, running the PAUSE selftest and kvm_binary_stats_test.
log_mode() {
	local d=$REPO_DIR/ci/testdata/hw
	"$REPO_DIR/scripts/hw-report.sh" --log "$d/pass.log" --out "$TMP/hw-log-pass.txt" >/dev/null
	"$REPO_DIR/scripts/hw-report.sh" --log "$d/fail.log" --out "$TMP/hw-log-fail.txt" >/dev/null
	grep -qx 'verdict: passed' "$TMP/hw-log-pass.txt"
	grep -q "^Tested-by: .*${PLE_TEST#*:} ok$" "$TMP/hw-log-pass.txt"
	grep -q "^verdict: FAILED: $PLE_TEST: fail: " "$TMP/hw-log-fail.txt"
	if grep '^Tested-by:' "$TMP/hw-log-fail.txt"; then return 1; fi
}
check "hw-report.sh --log judges a saved kselftest log: Tested-by: only for a pass" log_mode

# A guest that never finishes: PID 1 is a shell waiting on the console.
hang() {
	local d
	d=$(GUEST_TIMEOUT=5 guest hw-hang patched "$patched" tcg-svm "" "rdinit=/bin/sh" "$PLE_TEST")
	tail -n 2 "$d/run.out"
	[ "$(boot_status "$d")" -eq 3 ] &&
		grep -q "timeout: no PLE-DONE within 5 s, guest hung (QEMU killed)" "$d/run.out"
}
check "a hung tcg-svm guest is killed on timeout (exit 3)" hang

done_testing
