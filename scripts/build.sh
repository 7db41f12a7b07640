#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build one kernel variant and print its bzImage:
#   base                  the base tree as fetched
#   NAME [--without N]... the series (less the patches named) applied in
#                         the cache work tree NAME
# Each variant has a work tree and a build directory in $CACHE_DIR/v/NAME;
# both are reused, so a second run only rebuilds what changed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { echo "usage: ${0##*/} base | NAME [--without N]..."; }

main() {
	local name src out
	[ $# -ge 1 ] || { usage >&2; exit 2; }
	case "$1" in -h|--help) usage; exit 0 ;; esac
	name=$1
	shift
	"$REPO_DIR/scripts/get-base.sh" >/dev/null
	if [ "$name" = base ]; then
		[ $# -eq 0 ] || die "base takes no patches"
		src=$("$REPO_DIR/scripts/apply-series.sh" --no-patches base)
	else
		src=$("$REPO_DIR/scripts/apply-series.sh" "$@" "$name")
	fi
	out=$(variant_build "$name")
	"$REPO_DIR/scripts/build-kernel.sh" "$src" "$out" >&2
	echo "$out/arch/x86/boot/bzImage"
}

main "$@"
