#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# get-sparse.sh: print the path of a sparse that the base kernel accepts,
# building it into the cache if needed.
#
# Debian 12's sparse (0.6.4) does not know __typeof_unqual__, so the
# kernel's scripts/checker-valid.sh rejects it and "make C=2" only warns and
# runs no checker at all.  This builds sparse from the source package of
# Debian's unstable suite (0.6.5~rc1 at the time of writing), fetched with
# apt using a sources list and state of its own, into
# $CACHE_DIR/tools/sparse-VERSION/sparse.  Only make and gcc are needed.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

SUITE=${PLE_SPARSE_SUITE:-sid}

usage() { echo "usage: ${0##*/}   (prints the path of the sparse binary)"; }

# fetch_source DIR: download the sparse source package into DIR/src.
fetch_source() {
	local dir=$1 mirror
	mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" "$dir/src"
	mirror=$(apt_mirror)
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SUITE main" \
		>"$dir/sources.list"
	papt "$dir" apt-get update >&2 ||
		die "apt could not read Debian's '$SUITE' sources from $mirror (network?)"
	(cd "$dir/src" && papt "$dir" apt-get source --download-only sparse >&2) ||
		die "could not download the sparse source package from Debian '$SUITE'"
}

# build DSC OUT: unpack the source package and build the sparse binary.
build() {
	local dsc=$1 out=$2 tree
	need_cmd dpkg-source dpkg-dev
	need_cmd make make
	need_cmd gcc gcc
	log "building sparse from $dsc"
	tree=$(mktemp -d "${TMPDIR:-/tmp}/ple-sparse.XXXXXX")
	# apt has checked the files against the signed Sources index.
	dpkg-source --no-check -x "$dsc" "$tree/s" >/dev/null ||
		{ rm -rf "$tree"; die "could not unpack $dsc"; }
	# CC=gcc: Debian's packaging pins its default compiler (gcc-16 in sid).
	if ! make -C "$tree/s" -s -j"$(njobs)" CC=gcc sparse HAVE_LLVM=no \
		HAVE_SQLITE=no HAVE_GTK=no HAVE_LIBXML=no >"$tree/build.log" 2>&1; then
		tail -n 20 "$tree/build.log" >&2
		rm -rf "$tree"
		die "building sparse from $dsc failed"
	fi
	mkdir -p "$out"
	cp "$tree/s/sparse" "$out/sparse.tmp" && mv "$out/sparse.tmp" "$out/sparse"
	rm -rf "$tree"
}

# find_dsc DIR: the newest sparse .dsc in DIR, if any.
find_dsc() {
	[ -d "$1" ] || return 0
	find "$1" -name 'sparse_*.dsc' | sort | tail -n 1
}

main() {
	local dir=$APT_SPARSE_DIR dsc version out
	case "${1:-}" in -h|--help) usage; exit 0 ;; "") ;; *) usage >&2; exit 2 ;; esac
	dsc=$(find_dsc "$dir/src")
	if [ -z "$dsc" ]; then
		need_cmd apt-get apt
		fetch_source "$dir"
		dsc=$(find_dsc "$dir/src")
		[ -n "$dsc" ] || die "no sparse .dsc after the download"
	fi
	version=$(basename "$dsc" .dsc)
	version=${version#sparse_}
	out=$TOOLS_DIR/sparse-$version
	build_once "$out" sparse build "$dsc" "$out"
	echo "$out/sparse"
}

main "$@"
