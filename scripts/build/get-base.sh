#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Get the base tree (Linux v7.3-rc7) into a git repository in the cache:
# $CACHE_DIR/src/base, whose tag "base" is the tree as imported.  The first
# commit is deterministic (fixed identity and date), so the same source gives
# the same commit hash on every machine.
#
# Sources, in this order unless one is named:
#   --kernel DIR     an existing kernel tree (a git checkout or a plain tree);
#                    it is only read, never modified
#   --git URL REF    a git repository and ref (needs network access to URL)
#   (default)        Debian's linux-source-7.3 from the experimental suite,
#                    fetched with apt using a sources list and state of its
#                    own; the machine's apt configuration is not touched
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

WANT_VERSION=7.3.0-rc7
DEB_PKG=linux-source-7.3
DEB_VERSION=${PLE_DEB_VERSION:-7.3~rc7-1~exp1}
DEB_SUITES=${PLE_DEB_SUITES:-experimental}
IMPORT_DATE=2026-10-16T00:00:00Z

usage() {
	cat <<EOF
usage: ${0##*/} [--kernel DIR | --git URL REF] [--force]
Prints the path of the base git repository ($BASE_GIT).
  --kernel DIR   import an existing kernel tree (read only)
  --git URL REF  clone URL at REF
  --force        re-import even if the cache already has a base
EOF
}

# Version from a tree's top Makefile, e.g. 7.3.0-rc7.
tree_version() {
	awk -F' = ' '
		$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 } $1 == "EXTRAVERSION" { e = $2 }
		END { printf "%s.%s.%s%s\n", v, p, s, e }' "$1/Makefile"
}

check_version() {
	local v
	[ -f "$1/Makefile" ] || die "$1 is not a kernel tree (no Makefile)"
	v=$(tree_version "$1")
	[ "$v" = "$WANT_VERSION" ] ||
		die "$1 is Linux $v, the series is based on $WANT_VERSION"
	log "tree version: $v"
}

# Download the Debian source package's .deb into $CACHE_DIR/dl; print its path.
fetch_debian() {
	local dir=$APT_DIR mirror suite version deb part
	need_cmd apt-get apt
	need_cmd dpkg-deb dpkg
	mkdir -p "$dir/state/lists/partial" "$dir/cache/archives/partial" \
		"$DL_DIR"
	# A download cut short by a killed run is in a .partial directory.
	rm -rf "$DL_DIR"/.partial.*
	deb=$(find "$DL_DIR" -maxdepth 1 -name "${DEB_PKG}_*.deb" | sort | tail -n 1)
	if [ -n "$deb" ] && [ -z "${PLE_REFRESH:-}" ]; then
		log "using cached $(basename "$deb")"
		echo "$deb"
		return
	fi
	mirror=$(apt_mirror)
	: >"$dir/sources.list"
	for suite in $DEB_SUITES; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
			>>"$dir/sources.list"
	done
	papt "$dir" apt-get update >&2 ||
		die "apt could not read suites '$DEB_SUITES' from the mirror in /etc/apt (network?); tried: Debian $DEB_PKG; other sources: --kernel DIR, --git URL REF"
	version=$DEB_VERSION
	if ! papt "$dir" apt-cache show "$DEB_PKG=$version" >/dev/null 2>&1; then
		version=$(papt "$dir" apt-cache madison "$DEB_PKG" 2>/dev/null |
			awk -F' *[|] *' 'NR == 1 { print $2 }')
		[ -n "$version" ] ||
			die "Debian has no $DEB_PKG in '$DEB_SUITES'; tried: Debian $DEB_PKG $DEB_VERSION; other sources: --kernel DIR, --git URL REF"
		log "$DEB_PKG $DEB_VERSION is gone from the archive, using $version"
	fi
	# Into DL_DIR only once whole (apt checks it against the archive's hash).
	part=$(mktemp -d "$DL_DIR/.partial.XXXXXX")
	(cd "$part" && papt "$dir" apt-get download "$DEB_PKG=$version" >&2) ||
		{ rm -rf "$part"; die "could not download $DEB_PKG=$version"; }
	mv "$part"/*.deb "$DL_DIR/" && rmdir "$part"
	deb=$(find "$DL_DIR" -maxdepth 1 -name "${DEB_PKG}_*.deb" | sort | tail -n 1)
	log "downloaded $(basename "$deb")"
	echo "$deb"
}

# Unpack the kernel tarball of a linux-source .deb into $2.
unpack_debian() {
	local deb=$1 dest=$2 tarball
	need_cmd xz xz-utils
	tarball=$(dpkg-deb -c "$deb" | awk '{ print $NF }' |
		grep -E '^\./usr/src/linux-source-.*\.tar\.xz$') ||
		die "$deb holds no kernel tarball"
	mkdir -p "$dest"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "$tarball" |
		xz -dc -T0 | tar -x -C "$dest" --strip-components=1
}

# Commit the whole of tree $1 as the deterministic base commit.  The Debian
# tree's .gitignore ignores every top-level path, so add with -f: the commit
# holds exactly the files of the tree.
import_tree() {
	local dir=$1 msg=$2
	git -C "$dir" init -q -b import
	# No background "gc --auto" racing with the caller over 95,000 objects.
	git -C "$dir" config gc.auto 0
	git -C "$dir" add -A -f
	GIT_AUTHOR_NAME=$SCRIPTS_NAME GIT_AUTHOR_EMAIL=$SCRIPTS_EMAIL \
		GIT_COMMITTER_NAME=$SCRIPTS_NAME GIT_COMMITTER_EMAIL=$SCRIPTS_EMAIL \
		GIT_AUTHOR_DATE=$IMPORT_DATE GIT_COMMITTER_DATE=$IMPORT_DATE \
		git -C "$dir" commit -q --no-verify -m "$msg"
}

finish() {
	local tmp=$1 label=$2
	check_version "$tmp"
	if [ ! -d "$tmp/.git" ]; then
		log "importing the tree into git (~1 min on 2 CPUs)"
		import_tree "$tmp" "Linux $WANT_VERSION ($label)"
	fi
	git -C "$tmp" tag -f base HEAD >/dev/null
	# No background gc: it would inherit a check's lock (cache_lock).
	git -C "$tmp" config gc.auto 0
	if [ -e "$BASE_GIT" ]; then
		mv "$BASE_GIT" "$tmp.old"
		rm -rf "$tmp.old"
	fi
	mv "$tmp" "$BASE_GIT"
	echo "$label" >"$BASE_GIT/.git/ple-base-source"
	log "base: $label at $(git -C "$BASE_GIT" rev-parse base)"
}

from_debian() {
	local tmp=$1 deb
	deb=$(fetch_debian)
	log "unpacking $(basename "$deb") (takes ~15 s)"
	unpack_debian "$deb" "$tmp"
	finish "$tmp" "Debian $(basename "$deb" .deb | cut -d_ -f1,2)"
}

from_dir() {
	local tmp=$1 src=$2
	[ -d "$src" ] || die "--kernel $src: no such directory"
	check_version "$src"
	if git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1 &&
	   [ "$(git -C "$src" rev-parse --show-toplevel)" = "$(cd "$src" && pwd -P)" ]; then
		[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
			die "--kernel $src has uncommitted changes; commit or stash them first (nothing was touched)"
		git clone -q --no-checkout "$src" "$tmp"
		git -C "$tmp" checkout -q -B import "$(git -C "$src" rev-parse HEAD)"
	else
		mkdir -p "$tmp"
		cp -a "$src/." "$tmp/"
	fi
	finish "$tmp" "tree $src"
}

from_git() {
	local tmp=$1 url=$2 ref=$3
	git clone -q --depth 1 --branch "$ref" "$url" "$tmp" ||
		die "git clone $url $ref failed"
	git -C "$tmp" checkout -q -B import
	finish "$tmp" "git $url $ref"
}

# cached: the base is in the cache (its path printed) or not.
cached() {
	git -C "$BASE_GIT" rev-parse -q --verify base >/dev/null 2>&1 || return 1
	log "cached base: $(cat "$BASE_GIT/.git/ple-base-source" 2>/dev/null) at $(git -C "$BASE_GIT" rev-parse base)"
	echo "$BASE_GIT"
}

main() {
	local kernel="" url="" ref="" force="" tmp
	while [ $# -gt 0 ]; do
		case "$1" in
		--kernel) [ $# -ge 2 ] || { usage >&2; exit 2; }; kernel=$2; shift 2 ;;
		--git) [ $# -ge 3 ] || { usage >&2; exit 2; }; url=$2; ref=$3; shift 3 ;;
		--force) force=1; shift ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
		esac
	done
	need_cmd git git
	if [ -z "$force$kernel$url" ] && cached; then return; fi
	# One import at a time; a check that waited finds it done.
	cache_lock base
	if [ -z "$force$kernel$url" ] && cached; then return; fi
	mkdir -p "$SRC_DIR"
	tmp=$(mktemp -d "$SRC_DIR/.import.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	if [ -n "$kernel" ]; then
		from_dir "$tmp/t" "$kernel"
	elif [ -n "$url" ]; then
		from_git "$tmp/t" "$url" "$ref"
	else
		from_debian "$tmp/t"
	fi
	echo "$BASE_GIT"
}

main "$@"
