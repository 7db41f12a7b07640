#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# walk-series.sh setup | commits | w1 COMMIT | sparse COMMIT | finish
#
# The per-patch build walk of ci/20-build.t, in the work tree of the
# variant "walk" (scripts/build/apply-series.sh walk) and its build directory,
# configured like the patched kernel's (config/bochs.config: KVM, KVM_AMD
# and KVM_INTEL built in) less UBSAN: the guests' sanitizers are for the
# boots, a warnings check wants the usual compiler flags.
#   setup          apply the series (if needed) and configure like the
#                  patched kernel (built first); prints the work tree
#   commits        the series' commits, oldest first
#   w1 COMMIT      arch/x86/kvm/ with W=1 at COMMIT (or "base"): fails on
#                  an error or any warning, printing the build's output
#   sparse COMMIT  sparse's warnings (C=2, the sparse of get-sparse.sh) on
#                  the objects the series touches, without line numbers, so
#                  that moved code does not count as new
#   finish         the work tree back on its branch
#
# Results are kept by the hash of what they depend on (scripts/lib/common.sh
# inputs_hash): the commit's git tree, the .config, the compiler (and the
# checker).  Like make skipping an up-to-date target, but keyed on
# contents, not on the timestamps that every checkout of the walk changes:
# a second walk over the same series checks nothing out and compiles
# nothing.  Any change to the series, the config or the tools makes new
# keys.  The kernel only warns and runs no checker when it finds sparse
# too old: that is a failure here.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SPARSE_OBJS="arch/x86/kvm/x86.o arch/x86/kvm/svm/svm.o arch/x86/kvm/vmx/vmx.o"
WT=$(variant_src walk)
OUT=$(variant_build walk)
RESULTS=$OUT/results

usage() { echo "usage: ${0##*/} setup | commits | w1 COMMIT | sparse COMMIT | finish"; }

kmake() { make -C "$WT" O="$OUT" -s -j"$(njobs)" "$@"; }

setup() {
	local sym bz
	"$REPO_DIR/scripts/build/apply-series.sh" walk >/dev/null || die "the series does not apply"
	# The configuration of the patched kernel of these very inputs (kept
	# beside its bzImage), not whatever its build directory last held.
	bz=$("$REPO_DIR/scripts/build/build.sh" patched) || die "the patched kernel does not build"
	mkdir -p "$OUT" "$RESULTS"
	cp "$(dirname "$bz")/config" "$OUT/.config"
	"$WT/scripts/config" --file "$OUT/.config" --disable UBSAN
	kmake olddefconfig >/dev/null
	! grep -q '^CONFIG_UBSAN=y' "$OUT/.config" || die "cannot turn UBSAN off for the walk"
	for sym in KVM_AMD KVM_INTEL; do
		grep -q "^CONFIG_$sym=y" "$OUT/.config" || die "the kernel config lacks CONFIG_$sym=y"
	done
	echo "$WT"
}

# result_key COMMIT WHAT...: the key of a result for COMMIT.
result_key() {
	local c=$1
	shift
	{
		git -C "$WT" rev-parse "$c^{tree}" &&
			cat "$OUT/.config" &&
			toolchain_id &&
			echo "$*"
	} | inputs_hash
}

w1() {
	local c=$1 key log
	key=$(result_key "$c" W=1 arch/x86/kvm/)
	if [ -f "$RESULTS/w1-$key" ]; then
		echo "# same tree, config and compiler as a clean build on $(cat "$RESULTS/w1-$key")"
		return 0
	fi
	git -C "$WT" checkout -q --detach "$c"
	log=$(kmake W=1 arch/x86/kvm/ 2>&1) || { echo "$log"; return 1; }
	if grep -E 'warning:' <<<"$log"; then return 1; fi
	date -u +%FT%TZ >"$RESULTS/w1-$key.tmp" && mv "$RESULTS/w1-$key.tmp" "$RESULTS/w1-$key"
}

sparse() {
	local c=$1 key log checker
	checker=$("$REPO_DIR/scripts/build/get-sparse.sh") || die "no usable sparse"
	key=$(result_key "$c" C=2 "$checker" "$("$checker" --version)" "$SPARSE_OBJS")
	if [ ! -f "$RESULTS/sparse-$key" ]; then
		git -C "$WT" checkout -q --detach "$c"
		# shellcheck disable=SC2086 # one object a word
		log=$(kmake C=2 CHECK="$checker" $SPARSE_OBJS 2>&1)
		if grep -E 'specified, but .* is not available or not up to date' <<<"$log"; then
			die "the kernel rejects $checker"
		fi
		{ grep -E ': (warning|error):' <<<"$log" || true; } |
			sed -E 's/:[0-9]+:[0-9]+:/:/' | sort -u >"$RESULTS/sparse-$key.tmp"
		mv "$RESULTS/sparse-$key.tmp" "$RESULTS/sparse-$key"
	fi
	cat "$RESULTS/sparse-$key"
}

main() {
	cache_lock v-walk
	case "${1:-}" in
	setup) setup ;;
	commits) git -C "$WT" rev-list --reverse "base..series/walk" ;;
	w1 | sparse)
		[ $# -eq 2 ] || { usage >&2; exit 2; }
		"$1" "$2" ;;
	finish) git -C "$WT" checkout -q "series/walk" ;;
	-h | --help) usage ;;
	*) usage >&2; exit 2 ;;
	esac
}

main "$@"
