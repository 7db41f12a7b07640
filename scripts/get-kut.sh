#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# get-kut.sh [--commit]: print the directory of a built KVM-unit-tests tree
# (its x86/*.flat are the tests), building it into the cache if needed;
# with --commit, print the KVM-unit-tests commit instead.
#
# Source, first found:
#   $PLE_KUT_DIR       a kvm-unit-tests tree of your own, already built for
#                      x86_64 (./configure && make): used as it is, read only
#   $PLE_KUT_TARBALL   (default ../shared/kvm-unit-tests-1da1819e.tar.gz next
#                      to the repository) a `git archive` of the upstream
#                      tree, unpacked, configured and built (`make -j2`,
#                      ~20 s) into $CACHE_DIR/tools/kut-KEY, KEY a hash of
#                      the tarball and this script
# Nothing of KVM-unit-tests is copied into the repository.
#
# Exit status: 0 ok, 3 no source (the message says how to point the
# scripts at one), 1 other failure.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

TARBALL=${PLE_KUT_TARBALL:-${REPO_DIR%/*}/shared/kvm-unit-tests-1da1819e.tar.gz}
EXIT_NO_SOURCE=3
WORK=''
trap 'rm -rf -- ${WORK:+"$WORK"}' EXIT

usage() {
	cat <<-EOF
		usage: ${0##*/} [--commit]
		Prints the directory of a built KVM-unit-tests tree (x86/*.flat),
		building it into $TOOLS_DIR if needed; --commit prints its commit.
		Source: \$PLE_KUT_DIR (a built tree of yours), else
		\$PLE_KUT_TARBALL (now $TARBALL).
		Exit status: 0 ok, 3 no source, 1 other failure.
	EOF
}

no_source() {
	cat >&2 <<-EOF
		${0##*/}: KVM-unit-tests not found: $TARBALL
		  Point the scripts at a tree of yours, built for x86_64:
		    git clone https://gitlab.com/kvm-unit-tests/kvm-unit-tests
		    (cd kvm-unit-tests && ./configure && make -j2)
		    export PLE_KUT_DIR=\$PWD/kvm-unit-tests
		  or at a \`git archive\` of one:
		    git -C kvm-unit-tests archive --prefix=kvm-unit-tests/ \\
		        -o "\$PWD/kut.tar.gz" HEAD
		    export PLE_KUT_TARBALL=\$PWD/kut.tar.gz
	EOF
	exit "$EXIT_NO_SOURCE"
}

# user_tree: $PLE_KUT_DIR, checked.
user_tree() {
	local dir=$PLE_KUT_DIR
	[ -d "$dir" ] || { log "PLE_KUT_DIR=$dir: no such directory"; exit "$EXIT_NO_SOURCE"; }
	compgen -G "$dir/x86/*.flat" >/dev/null ||
		die "PLE_KUT_DIR=$dir has no x86/*.flat: build it first (./configure && make)"
	(cd "$dir" && pwd)
}

# commit_of DIR: the commit of a tree (git, or the one the tarball records).
commit_of() {
	if [ -n "${PLE_KUT_DIR:-}" ]; then
		git -C "$1" describe --always --abbrev=12 --dirty 2>/dev/null ||
			echo "unknown (PLE_KUT_DIR, not a git tree)"
	else
		cat "$1/.kut-commit"
	fi
}

build() {
	local out=$1 key=$2 log_file t0 commit
	need_cmd make make
	need_cmd gcc gcc
	WORK=$(mktemp -d "$TOOLS_DIR/.kut-$key.XXXXXX")
	log_file=$TOOLS_DIR/kut-$key.log
	# (gzip gets SIGPIPE once the header is read: ignore the status)
	commit=$(gzip -dc "$TARBALL" 2>/dev/null | git get-tar-commit-id) || true
	tar -xzf "$TARBALL" -C "$WORK" --strip-components=1 ||
		die "could not unpack $TARBALL"
	[[ -x $WORK/configure && -d $WORK/x86 ]] ||
		die "$TARBALL does not hold a kvm-unit-tests tree"
	echo "${commit:-unknown (no commit id in $TARBALL)}" >"$WORK/.kut-commit"
	log "building KVM-unit-tests ${commit:0:12} ($(njobs) jobs; log: $log_file)"
	t0=$SECONDS
	if ! (cd "$WORK" && ./configure --arch=x86_64 && make -j"$(njobs)") \
		>"$log_file" 2>&1; then
		tail -n 25 "$log_file" >&2
		die "building KVM-unit-tests failed (log: $log_file)"
	fi
	compgen -G "$WORK/x86/*.flat" >/dev/null || die "no x86/*.flat after the build"
	mv -T "$WORK" "$out" || die "could not move the build to $out"
	WORK=''
	log "built $out in $((SECONDS - t0)) s"
}

main() {
	local want_commit=0 key out
	case "${1:-}" in
	-h | --help) usage; exit 0 ;;
	--commit) want_commit=1 ;;
	"") ;;
	*) usage >&2; exit 2 ;;
	esac
	if [ -n "${PLE_KUT_DIR:-}" ]; then
		out=$(user_tree)
	else
		[ -f "$TARBALL" ] || no_source
		key=$({ sha256sum <"$TARBALL"; cat "${BASH_SOURCE[0]}"; } | inputs_hash | cut -c1-16)
		out=$TOOLS_DIR/kut-$key
		build_once "$out" .kut-commit build "$out" "$key"
	fi
	if [ "$want_commit" = 1 ]; then commit_of "$out"; else echo "$out"; fi
}

main "$@"
