#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every patch builds on its own (arch/x86/kvm/ with W=1, KVM_AMD and
# KVM_INTEL on, no warning), the whole kernel builds at the end, and sparse
# finds nothing new in the files the series touches.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

nr=$(find "$REPO_DIR/patches" -name '*.patch' | wc -l)
plan $((nr + 3))
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

check "the base kernel builds (bzImage)" "$REPO_DIR/scripts/build/build.sh" base
check "the patched kernel builds (bzImage)" "$REPO_DIR/scripts/build/build.sh" patched

# The walk (scripts/build/walk-series.sh): a work tree of its own, from the base
# to the last patch, configured like the patched kernel; results are kept
# by the hash of their inputs, so a second run compiles nothing.
WALK=$REPO_DIR/scripts/build/walk-series.sh
# The walk's tree is this check's from setup to finish (ci/10 borrows it).
cache_lock v-walk
"$WALK" setup >/dev/null || bail "the walk's work tree cannot be set up"
RESULTS=$(variant_build walk)/results
reused=$(find "$RESULTS" -type f | wc -l)
"$WALK" w1 base >/dev/null || diag "the base itself does not build cleanly with W=1"
"$WALK" sparse base >"$TMP/sparse.base" || bail "sparse does not run on the base"
diag "sparse on the base: $(wc -l <"$TMP/sparse.base") warnings in the touched objects"
diag "results kept from identical inputs before this run: $reused (in $RESULTS)"
mapfile -t COMMITS < <("$WALK" commits)
for c in "${COMMITS[@]}"; do
	check "builds alone with W=1: $(git -C "$(variant_src walk)" log -1 --format=%s "$c")" \
		"$WALK" w1 "$c"
done
"$WALK" sparse "${COMMITS[-1]}" >"$TMP/sparse.series" || bail "sparse does not run on the series"
new_sparse() {
	if comm -13 "$TMP/sparse.base" "$TMP/sparse.series" | grep .; then return 1; fi
}
check "sparse (C=2) adds no warning in the objects the series touches" new_sparse
"$WALK" finish

done_testing
