#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Export the series from the developers' work tree (default: work/linux,
# branch ple-series, ignored by git) into patches/ with git format-patch,
# and copy the files the series adds under tools/testing/selftests/kvm/
# into selftests/.  patches/ is never edited by hand: edit the branch and
# run this again.  format-patch runs through format_series (scripts/lib/common.sh), as in
# the check that re-exports the series from a clean apply (ci/10).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
	echo "usage: ${0##*/} [--tree DIR] [--branch NAME] [--out DIR]"
	echo "  defaults: --tree $REPO_DIR/work/linux --branch ple-series --out $REPO_DIR/patches"
}

# copy_selftests TREE RANGE: the files the series adds to the KVM selftests.
copy_selftests() {
	local tree=$1 range=$2 f
	rm -rf "$REPO_DIR/selftests"
	git -C "$tree" diff --name-only --diff-filter=A "$range" -- tools/testing/selftests/kvm |
	while read -r f; do
		mkdir -p "$REPO_DIR/selftests/$(dirname "${f#tools/testing/selftests/kvm/}")"
		git -C "$tree" show "${range#*..}:$f" >"$REPO_DIR/selftests/${f#tools/testing/selftests/kvm/}"
	done
}

main() {
	local tree=$REPO_DIR/work/linux branch=ple-series out=$REPO_DIR/patches
	parse_opts 'tree=tree branch=branch out=out' '' "$@"
	no_args
	git -C "$tree" rev-parse -q --verify "$branch" >/dev/null ||
		die "no branch $branch in $tree"
	[ -z "$(git -C "$tree" status --porcelain --untracked-files=no)" ] ||
		die "$tree has uncommitted changes: commit them to $branch first"
	mkdir -p "$out"
	rm -f "$out"/*.patch
	format_series "$tree" "base..$branch" -o "$out"
	copy_selftests "$tree" "base..$branch"
	log "exported $(find "$out" -name '*.patch' | wc -l) patches to $out"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
