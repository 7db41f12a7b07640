#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Apply the series (patches/*.patch) with "git am" onto the base, in a work
# tree of the cache: $CACHE_DIR/v/NAME/src, branch series/NAME.  The base
# repository and any tree of the user's are never modified.  A work tree
# that has uncommitted changes is refused (nothing is touched), so are
# patches that do not apply: the am is aborted, and the patch and the file
# it failed on are named.
#
# With --without N (repeatable), patch number N is left out: the checks use
# it to build the series without one of its fixes.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../lib/common.sh"

usage() {
	cat <<EOF
usage: ${0##*/} [--patches DIR] [--without N]... NAME
Applies DIR/*.patch (default: $REPO_DIR/patches) onto the base in
the work tree of variant NAME ($CACHE_DIR/v/NAME/src) and prints its path.
  --no-patches   only a work tree at the base (the "base" variant)
EOF
}

# The work tree must not hold anything a reset would lose.
check_clean() {
	local wt=$1
	# An "am" that a killed run left behind is ours to abort.
	if [ -d "$(git -C "$wt" rev-parse --git-path rebase-apply)" ]; then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
	fi
	[ -z "$(git -C "$wt" status --porcelain --untracked-files=no)" ] ||
		die "$wt has uncommitted changes; refusing to touch it (commit or discard them, or remove the tree)"
}

# Create the work tree, or bring an existing one back to the base.
# Checking out only rewrites the files that differ, so the kernel build
# directories of the tree stay incremental.
prepare_tree() {
	local wt=$1 branch=$2
	if [ -e "$wt/.git" ]; then
		check_clean "$wt"
		git -C "$wt" checkout -q -B "$branch" base
	else
		git -C "$BASE_GIT" worktree prune
		git -C "$BASE_GIT" worktree add -q -B "$branch" "$wt" base
	fi
}

# "git am" one patch; on failure abort and name the patch and the file.
am_one() {
	local wt=$1 patch=$2 out file
	if ! out=$(git -C "$wt" am -q --committer-date-is-author-date "$patch" 2>&1); then
		git -C "$wt" am --abort >/dev/null 2>&1 || true
		# Our own work tree, checked clean before: back to the base.
		git -C "$wt" reset -q --hard base
		printf '%s\n' "$out" >&2
		file=$(printf '%s\n' "$out" |
			sed -n 's/^error: patch failed: \(.*\):[0-9]*$/\1/p; s/^error: \(.*\): does not exist in index$/\1/p' |
			head -n 1)
		die "patch $(basename "$patch") does not apply${file:+ (file $file)}; the tree was left at the base"
	fi
}

# stamp_of PATCH...: what the work tree holds once the patches are applied:
# the base commit and the patches' contents, and (git am being deterministic
# here) the resulting commit.
stamp_of() {
	{ git -C "$BASE_GIT" rev-parse base && cat "$@" /dev/null; } | inputs_hash
}

# up_to_date WT PATCH...: WT already is the base plus exactly these patches,
# clean: nothing to do, and nothing is touched, so its builds stay as they
# are.
up_to_date() {
	local wt=$1 f
	shift
	[ -e "$wt/.git" ] || return 1
	f=$(git -C "$wt" rev-parse --git-path ple-series.stamp)
	[ -f "$f" ] &&
		[ "$(cat "$f")" = "$(stamp_of "$@") $(git -C "$wt" rev-parse HEAD)" ] &&
		[ -z "$(git -C "$wt" status --porcelain --untracked-files=no)" ]
}

main() {
	local patches=$REPO_DIR/patches name wt n=0 applied=0 p nopatches=""
	local -a without=() selected
	while [ $# -gt 0 ]; do
		case "$1" in
		--patches) [ $# -ge 2 ] || { usage >&2; exit 2; }; patches=$2; shift 2 ;;
		--no-patches) nopatches=1; shift ;;
		--without) [ $# -ge 2 ] || { usage >&2; exit 2; }
			[[ $2 =~ ^[0-9]+$ ]] || die "--without takes a patch number, not '$2'"
			without+=("$2"); shift 2 ;;
		-h|--help) usage; exit 0 ;;
		-*) usage >&2; exit 2 ;;
		*) break ;;
		esac
	done
	[ $# -eq 1 ] || { usage >&2; exit 2; }
	name=$1
	[[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "bad tree name '$name'"
	cache_lock "v-$name"
	git -C "$BASE_GIT" rev-parse -q --verify base >/dev/null 2>&1 ||
		die "no base tree in $BASE_GIT: run scripts/build/get-base.sh first"
	[ -n "$nopatches" ] || compgen -G "$patches/*.patch" >/dev/null ||
		die "no patches in $patches"
	wt=$(variant_src "$name")
	mkdir -p "$(dirname "$wt")"
	selected=()
	for p in "$patches"/*.patch; do
		[ -z "$nopatches" ] || break
		n=$((n + 1))
		if [[ " ${without[*]} " == *" $n "* ]]; then
			log "leaving out $(basename "$p")"
			continue
		fi
		selected+=("$p")
	done
	if up_to_date "$wt" "${selected[@]}"; then
		log "$name: already at the base + ${#selected[@]} of $n patches"
		echo "$wt"
		return
	fi
	prepare_tree "$wt" "series/$name"
	for p in "${selected[@]}"; do
		am_one "$wt" "$p"
		applied=$((applied + 1))
	done
	echo "$(stamp_of "${selected[@]}") $(git -C "$wt" rev-parse HEAD)" \
		>"$(git -C "$wt" rev-parse --git-path ple-series.stamp)"
	log "$name: $applied of $n patches applied on $(git -C "$wt" rev-parse --short base)"
	echo "$wt"
}

main "$@"
