#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every patch builds on its own (arch/x86/kvm/ with W=1, KVM_AMD and
# KVM_INTEL on, no warning), the whole kernel builds at the end, and sparse
# finds nothing new in the files the series touches.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

SPARSE_OBJS="arch/x86/kvm/x86.o arch/x86/kvm/svm/svm.o arch/x86/kvm/vmx/vmx.o"
nr=$(find "$REPO_DIR/patches" -name '*.patch' | wc -l)
plan $((nr + 3))

check "the base kernel builds (bzImage)" "$REPO_DIR/scripts/build.sh" base
check "the patched kernel builds (bzImage)" "$REPO_DIR/scripts/build.sh" patched

# A work tree of its own, walked from the base to the last patch; its build
# directory is configured like the patched kernel's and stays incremental.
wt=$("$REPO_DIR/scripts/apply-series.sh" walk) || bail "the series does not apply"
out=$(variant_build walk)
mkdir -p "$out"
cp "$(variant_build patched)/.config" "$out/.config"
kmake() { make -C "$wt" O="$out" -s -j"$(njobs)" "$@"; }
# The guests' UBSAN is for the boots; a warnings check wants the usual
# compiler flags (and sanitizers slow every step of the walk).
"$wt/scripts/config" --file "$out/.config" --disable UBSAN
kmake olddefconfig >/dev/null
! grep -q '^CONFIG_UBSAN=y' "$out/.config" || bail "cannot turn UBSAN off for the walk"
for sym in KVM_AMD KVM_INTEL; do
	grep -q "^CONFIG_$sym=y" "$out/.config" || bail "the kernel config lacks CONFIG_$sym=y"
done

# Results of the walk are kept by the hash of what they depend on: the git
# tree, the .config, the compiler (and the checker).  Like make skipping an
# up-to-date target, but keyed on contents, not on the timestamps that every
# checkout of the walk changes: a second run over the same series checks
# nothing out and compiles nothing.  Any change to the series, the config
# or the tools makes new keys.
RESULTS=$out/results
mkdir -p "$RESULTS"
# result_key COMMIT WHAT...: the key of a result for COMMIT.
result_key() {
	local c=$1
	shift
	{
		git -C "$wt" rev-parse "$c^{tree}"
		cat "$out/.config"
		gcc --version | head -n 1
		echo "$*"
	} | inputs_hash
}

# build_kvm COMMIT: W=1 build of arch/x86/kvm/ at COMMIT; fails on an error
# or any warning.  A clean build of the same inputs is not repeated.
build_kvm() {
	local c=$1 key log
	key=$(result_key "$c" W=1 arch/x86/kvm/)
	if [ -f "$RESULTS/w1-$key" ]; then
		echo "# same tree, config and compiler as a clean build on $(cat "$RESULTS/w1-$key")"
		return 0
	fi
	git -C "$wt" checkout -q --detach "$c"
	log=$(kmake W=1 arch/x86/kvm/ 2>&1) || { echo "$log"; return 1; }
	if grep -E 'warning:' <<<"$log"; then return 1; fi
	date -u +%FT%TZ >"$RESULTS/w1-$key"
}

# sparse_warnings COMMIT: sparse's warnings on the touched objects at
# COMMIT, without line numbers, so that moved code does not count as new;
# computed once per key.  The kernel only warns and runs no checker when it
# finds sparse too old: that is a failure here.
sparse_warnings() {
	local c=$1 key log
	key=$(result_key "$c" C=2 "$SPARSE" "$("$SPARSE" --version)" "$SPARSE_OBJS")
	if [ ! -f "$RESULTS/sparse-$key" ]; then
		git -C "$wt" checkout -q --detach "$c"
		# shellcheck disable=SC2086
		log=$(kmake C=2 CHECK="$SPARSE" $SPARSE_OBJS 2>&1)
		if grep -E 'specified, but .* is not available or not up to date' <<<"$log"; then
			return 1
		fi
		{ grep -E ': (warning|error):' <<<"$log" || true; } |
			sed -E 's/:[0-9]+:[0-9]+:/:/' | sort -u >"$RESULTS/sparse-$key.tmp"
		mv "$RESULTS/sparse-$key.tmp" "$RESULTS/sparse-$key"
	fi
	cat "$RESULTS/sparse-$key"
}

head=$(git -C "$wt" rev-parse HEAD)
build_kvm base >/dev/null || diag "the base itself does not build cleanly with W=1"
# Debian 12's sparse is too old for this kernel: one built from Debian sid.
SPARSE=$("$REPO_DIR/scripts/get-sparse.sh") || bail "no usable sparse"
sparse_warnings base >"$out/sparse.base" || bail "the kernel rejects $SPARSE"
diag "sparse on the base: $(wc -l <"$out/sparse.base") warnings in $SPARSE_OBJS"
reused=$(find "$RESULTS" -type f | wc -l)
diag "results kept from identical inputs before this run: $reused (in $RESULTS)"
for c in $(git -C "$wt" rev-list --reverse "base..$head"); do
	check "builds alone with W=1: $(git -C "$wt" log -1 --format=%s "$c")" build_kvm "$c"
done
sparse_warnings "$head" >"$out/sparse.series" || bail "the kernel rejects $SPARSE"
new_sparse() {
	if comm -13 "$out/sparse.base" "$out/sparse.series" | grep .; then return 1; fi
}
check "sparse (C=2) adds no warning in $SPARSE_OBJS" new_sparse
git -C "$wt" checkout -q "series/walk"

done_testing
