#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build one kernel variant and print its bzImage:
#   base                  the base tree as fetched
#   NAME [--without N]... the series (less the patches named) applied in
#                         the cache work tree NAME
# Each variant has a work tree and a build directory in $CACHE_DIR/v/NAME;
# both are reused, so a change only rebuilds what it touches.
#
# A kernel built before from exactly the same inputs (the work tree's state,
# config/bochs.config, build-kernel.sh and the compiler's version) is not
# built again: the one kept in $PRODUCTS_DIR, by the hash of its inputs, is
# printed instead.  So a second run makes nothing (make itself takes ~3 s
# to find nothing to do), and variants that share one work tree in turn
# (the mutants) are not rebuilt and relinked each time.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

PRODUCTS=$PRODUCTS_DIR

usage() { echo "usage: ${0##*/} base | NAME [--without N]..."; }

# inputs_key SRC: a hash of everything a kernel of SRC is built from.
inputs_key() {
	# (&&: a step that fails fails the key, not a key over less)
	{
		tree_state "$1" &&
			cat "$REPO_DIR/config/bochs.config" "$REPO_DIR/scripts/build/build-kernel.sh" &&
			toolchain_id
	} | inputs_hash
}

# keep OUT DIR: the kernel of build directory OUT, with the .config it was
# built from (the W=1 walk starts from it), into DIR; the bzImage last, as
# the mark of a whole product.
keep() {
	local tmp
	mkdir -p "$2"
	tmp=$(mktemp -d "$2/.tmp.XXXXXX")
	cp "$1/.config" "$tmp/config" && mv "$tmp/config" "$2/config"
	cp "$1/arch/x86/boot/bzImage" "$tmp/bzImage" && mv "$tmp/bzImage" "$2/bzImage"
	rmdir "$tmp"
}

main() {
	local name src out key
	[ $# -ge 1 ] || { usage >&2; exit 2; }
	case "$1" in -h|--help) usage; exit 0 ;; esac
	name=$1
	shift
	"$REPO_DIR/scripts/build/get-base.sh" >/dev/null
	cache_lock "v-$name"
	if [ "$name" = base ]; then
		[ $# -eq 0 ] || die "base takes no patches"
		src=$("$REPO_DIR/scripts/build/apply-series.sh" --no-patches base)
	else
		src=$("$REPO_DIR/scripts/build/apply-series.sh" "$@" "$name")
	fi
	key=$(inputs_key "$src")
	if [ -f "$PRODUCTS/$key/bzImage" ] && [ -f "$PRODUCTS/$key/config" ]; then
		log "$name: built before from the same inputs: $PRODUCTS/$key/bzImage"
		echo "$PRODUCTS/$key/bzImage"
		return
	fi
	out=$(variant_build "$name")
	"$REPO_DIR/scripts/build/build-kernel.sh" "$src" "$out" >&2
	keep "$out" "$PRODUCTS/$key"
	echo "$PRODUCTS/$key/bzImage"
}

main "$@"
