#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The patched kernel under every kvm_amd parameter set an administrator is
# likely to try, and the kvm_intel ones that reach the shared helpers, on
# Bochs' Haswell (VMX with PLE): the PAUSE selftest (which computes its
# expectations from the loaded parameters) passes, or skips where filtering
# is off, and the kernel log has no WARN, BUG, Oops or UBSAN report.  On
# VMX the selftest checks the sched-in rule and DISABLE_EXITS only.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

# expected result | vendor | kernel parameters | what it exercises
MATRIX=(
	"ok|amd||defaults"
	"ok|amd|kvm_amd.pause_filter_count_grow=0|grow 0: window stays at the base"
	"ok|amd|kvm_amd.pause_filter_count_grow=1|grow 1: multiply by one"
	"ok|amd|kvm_amd.pause_filter_count_grow=5000|grow 5000: additive"
	"ok|amd|kvm_amd.pause_filter_count_shrink=2|shrink 2: divide"
	"ok|amd|kvm_amd.pause_filter_count_shrink=4000|shrink 4000: subtract, above the base"
	"ok|amd|kvm_amd.pause_filter_count_max=5000|max below twice the base"
	"ok|amd|kvm_amd.pause_filter_count_max=1000|max below the base"
	"skip|amd|kvm_amd.pause_filter_count=0|filtering off"
	"ok|amd|kvm_amd.pause_filter_thresh=0|explicit count-only mode"
	"ok|amd|kvm_amd.npt=0|shadow paging"
	"ok|amd|kvm_amd.nested=0|no nested SVM"
	"ok|intel||VMX defaults"
	"ok|intel|kvm_intel.ple_window_shrink=5000|VMX shrink 5000: subtract, above the base"
	"ok|intel|kvm_intel.ple_window_grow=0|VMX grow 0"
	"ok|intel|kvm_intel.ple_window_max=1000|VMX max below the base"
	"skip|intel|kvm_intel.ple_gap=0|VMX PLE off"
)

plan ${#MATRIX[@]}
patched=$("$REPO_DIR/scripts/build.sh" patched) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests do not build"
summary=$LOG_DIR/matrix.table
: >"$summary"

# Boot every row first, as many guests at a time as CPUs (guest_bg).
boot_rows() {
	local i=0 m want vendor params what
	for m in "${MATRIX[@]}"; do
		IFS='|' read -r want vendor params what <<<"$m"
		i=$((i + 1))
		guest_bg "matrix-$i" "$patched" "$PLE_TEST" "$params" "$vendor"
	done
	wait || true
}
boot_rows

# figures LOG: the exit-count and growth lines (SVM), else the sched-in ones.
figures() {
	{ ple_lines "$1" | grep -E 'PAUSEs from|then stays' ||
		ple_lines "$1" | grep -E 'sched-in' || true; } |
		sed 's/^PLE: kvm_[a-z]*: //' | tr '\n' ';'
}

# row N WANT VENDOR PARAMS: with PARAMS, the selftest gave WANT and the
# kernel did not complain.
row() {
	local want=$2 vendor=$3 params=$4 log=$LOG_DIR/matrix-$1.log got bad
	got=$(result "$log" "$PLE_TEST")
	bad=$(kernel_complaints "$log")
	printf '%-5s %-40s %-5s %s\n' "$vendor" "${params:-defaults}" "$got" \
		"$(figures "$log")" >>"$summary"
	[ "$got" = "$want" ] || { grep -E '^# ' "$log" | tail -15; return 1; }
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

i=0
for m in "${MATRIX[@]}"; do
	IFS='|' read -r want vendor params what <<<"$m"
	i=$((i + 1))
	check "$vendor ${params:-defaults} ($what): $want, no kernel complaint" \
		row "$i" "$want" "$vendor" "$params"
done
diag "cpu   parameters                               result figures"
diag "$(cat "$summary")"

done_testing
