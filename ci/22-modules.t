#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The build matrix KVM x86 asks of every patch (maintainer-kvm-x86.rst,
# "Testing"): KVM_INTEL=m KVM_AMD=m KVM_WERROR=y on x86_64_defconfig, with
# KVM_SMM, KVM_XEN and PROVE_LOCKING on, and off (scripts/build/build-modules.sh).
# One test point per (base or patch, config): it builds, kvm.ko, kvm-amd.ko
# and kvm-intel.ko link, and no warning the base does not have.  Results
# are kept by their inputs: a second run compiles nothing.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

nr=$(find "$REPO_DIR/patches" -name '*.patch' | wc -l)
points=$(((nr + 1) * 2))
plan "$points"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ple-modules.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
rc=0
"$REPO_DIR/scripts/build/build-modules.sh" --summary "$tmp/summary" \
	>"$tmp/matrix" 2>"$tmp/log" || rc=$?
# 0: all clean, 1: a patch is not, 2: the base is not; anything else, or
# a summary short of a cell, is the script failing before its matrix.
if [ "$rc" -gt 2 ] || [ "$(wc -l <"$tmp/summary" 2>/dev/null || echo 0)" -ne "$points" ]; then
	diag "$(tail -n 40 "$tmp/log")"
	bail "scripts/build/build-modules.sh failed before its matrix (status $rc)"
fi
diag "$(grep -E 'kept from|building|make status|generating' "$tmp/log" || true)" "" "$(cat "$tmp/matrix")"

# cell_ok STATE DETAILS: a clean cell; otherwise its new warnings or the
# end of its failed build.
cell_ok() {
	[ "$1" = ok ] || { cat "$2"; return 1; }
}

while IFS=$'\t' read -r row cfg state cell details; do
	check "$row [$cfg]: builds, modules link, no new warning ($cell)" \
		cell_ok "$state" "$details"
done <"$tmp/summary"

done_testing
