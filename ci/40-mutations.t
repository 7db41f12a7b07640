#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A fix whose removal no test notices is not tested: build the series
# without each of its kernel patches, boot it with the parameters that
# expose the bug, and expect pause_loop_exit_test to fail.  Prints the
# table: patch left out, parameters, result, the case that failed.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

# patch number | vendor | kernel parameters that expose the bug | what it fixes
MUTATIONS=(
	"1|amd|kvm_amd.pause_filter_count_shrink=4000|shrink wraps in subtractive mode"
	"1|intel|kvm_intel.ple_window_shrink=5000|shrink wraps in subtractive mode, VMX"
	"2|amd|kvm_amd.pause_filter_count_max=1000|growth takes the window below the base"
	"3|amd||no pause filtering without PFThreshold"
	"4|amd||PAUSE-exit and window stats"
)

plan ${#MUTATIONS[@]}
"$REPO_DIR/scripts/build.sh" patched >/dev/null 2>&1 || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
# check() runs its command in a subshell: the table goes through a file.
table=$LOG_DIR/mutations.table
: >"$table"

# Build the mutants one after the other (they share a work tree; --reuse
# keeps each kernel, keyed on its inputs, so a second run builds nothing)
# and boot each as soon as it is built, as many at a time as CPUs (guest_bg).
boot_mutants() {
	local m n vendor params what bz
	for m in "${MUTATIONS[@]}"; do
		IFS='|' read -r n vendor params what <<<"$m"
		bz=$("$REPO_DIR/scripts/build.sh" --reuse mutant --without "$n" 2>>"$LOG_DIR/mutants-build.log") ||
			{ echo "build failed" >"$LOG_DIR/without-$n-$vendor.log"; continue; }
		guest_bg "without-$n-$vendor" "$bz" "$PLE_TEST" "$params" "$vendor"
	done
	wait || true
}
boot_mutants

# mutant N VENDOR PARAMS: the series less patch N failed the PAUSE selftest.
mutant() {
	local n=$1 vendor=$2 params=$3 log r why
	log=$LOG_DIR/without-$n-$vendor.log
	r=$(result "$log" "$PLE_TEST")
	why=$(tr -d '\r' <"$log" | { grep -E '^# +(Expected|Unable)|^build failed' || true; } |
		head -n 1 | sed 's/^# *//')
	printf '%-2s %-5s %-40s %-5s %s\n' "$n" "$vendor" "${params:-defaults}" "$r" "$why" >>"$table"
	ple_lines "$log"
	[ "$r" = fail ]
}

for m in "${MUTATIONS[@]}"; do
	IFS='|' read -r n vendor params what <<<"$m"
	p=$(find "$REPO_DIR/patches" -name "$(printf '%04d' "$n")-*.patch" -printf '%f\n')
	check "without $p ($what), the selftest fails" mutant "$n" "$vendor" "$params"
done
diag "patch cpu   params                                   result why"
diag "$(cat "$table")"

done_testing
