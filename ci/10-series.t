#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The series as it would be taken from the list: it applies with git am on
# the base, in order; patches/ is exactly what format-patch makes of it;
# selftests/ is what it adds; checkpatch --strict has nothing to say; every
# commit it cites is one we verified; it is posted as a first version, and
# every changelog leads with the change (maintainer-kvm-x86.rst,
# "Changelog").
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/export-series.sh
. "$REPO_DIR/scripts/export-series.sh"

plan 11
"$REPO_DIR/scripts/build/get-base.sh" >/dev/null || bail "no base tree"
if tree=$("$REPO_DIR/scripts/build/apply-series.sh" patched 2>/tmp/ple-am.$$); then
	ok "the series applies with git am on $(git -C "$BASE_GIT" log -1 --format=%s base)"
else
	not_ok "the series applies with git am"; diag "$(cat /tmp/ple-am.$$)"
	rm -f /tmp/ple-am.$$
	bail "the series does not apply"
fi
rm -f /tmp/ple-am.$$

# Re-export from the applied branch with the export script's own options.
reexport_matches() {
	local tmp
	tmp=$(mktemp -d)
	format_series "$tree" "base..HEAD" -o "$tmp"
	diff -r "$REPO_DIR/patches" "$tmp"
	local rc=$?
	rm -rf "$tmp"
	return "$rc"
}
check "patches/ is exactly git format-patch of the applied series" reexport_matches

selftests_match() {
	local f n=0
	while read -r f; do
		n=$((n + 1))
		git -C "$tree" show "HEAD:$f" |
			cmp - "$REPO_DIR/selftests/${f#tools/testing/selftests/kvm/}" || return 1
	done < <(git -C "$tree" diff --name-only --diff-filter=A base..HEAD -- tools/testing/selftests/kvm)
	[ "$n" -eq "$(find "$REPO_DIR/selftests" -type f | wc -l)" ] || {
		echo "selftests/ has files the series does not add"; return 1; }
}
check "selftests/ is byte-identical to what the series adds" selftests_match

# UNKNOWN_COMMIT_ID: the base is a tarball import without history, so
# checkpatch cannot look hashes up; ci/verified-commits.txt does instead.
# FILE_PATH_CHANGES: advisory; MAINTAINERS.snippet shows the new file is
# covered by the existing KVM x86 entries.
checkpatch_clean() {
	local p out bad=0
	for p in "$REPO_DIR"/patches/*.patch; do
		out=$(PATH=/usr/bin:$PATH "$tree/scripts/checkpatch.pl" --strict -q \
			--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$p" 2>&1) || true
		if [ -n "$out" ]; then
			echo "$(basename "$p"):"; echo "$out"; bad=1
		fi
	done
	return "$bad"
}
check "checkpatch.pl --strict reports nothing on any patch" checkpatch_clean

# Every "Fixes:" must be listed, hash and subject alike, and every other
# 12-digit hash a changelog cites by hash, in ci/verified-commits.txt
# (checked by hand against the public archive, see the evidence column).
fixes_verified() {
	local line hash subject bad=0
	while read -r line; do
		hash=$(sed -E 's/^([0-9a-f]{12}) .*/\1/' <<<"$line")
		subject=$(sed -E 's/^[0-9a-f]{12} \("(.*)"\)$/\1/' <<<"$line")
		if ! awk -F'\t' -v h="$hash" -v s="$subject" \
			'$1 == h && $2 == s { found = 1 } END { exit !found }' \
			"$REPO_DIR/ci/verified-commits.txt"; then
			echo "not verified: $hash (\"$subject\")"; bad=1
		fi
	done < <(grep -hE '^Fixes: ' "$REPO_DIR"/patches/*.patch | sed 's/^Fixes: //')
	grep -q '^Fixes: ' "$REPO_DIR"/patches/*.patch || { echo "no Fixes: at all"; bad=1; }
	while read -r hash; do
		cut -f1 "$REPO_DIR/ci/verified-commits.txt" | grep -qx "$hash" ||
			{ echo "cited, not verified: $hash"; bad=1; }
	done < <(changelogs | grep -oE '\<[0-9a-f]{12}\>' | sort -u)
	return "$bad"
}
# changelogs: every patch's commit message (up to its "---" line).
changelogs() {
	local p
	for p in "$REPO_DIR"/patches/*.patch; do
		sed -n '/^Subject: /,/^---$/p' "$p"
	done
}
check "every Fixes: tag and every cited hash is a verified commit" fixes_verified

# A first posting: "[PATCH n/N]" subjects, the cover letter's "[PATCH 0/N]",
# and no "Changes since" or "vN:" history no reader can find.
first_version() {
	local n bad=0
	n=$(find "$REPO_DIR/patches" -name '*.patch' | wc -l)
	grep -h '^Subject: ' "$REPO_DIR"/patches/*.patch "$REPO_DIR/COVER_LETTER.txt" |
		grep -vE "^Subject: \[PATCH [0-9]+/$n\] " && bad=1
	grep -q "^Subject: \[PATCH 0/$n\] " "$REPO_DIR/COVER_LETTER.txt" ||
		{ echo "COVER_LETTER.txt: no [PATCH 0/$n] subject"; bad=1; }
	# (a series version has no dot: "since v5.8" is the kernel's)
	grep -niE 'changes since|(since|in) v[0-9]+([^.0-9]|$)|^v[0-9]+( ->|:)' \
		"$REPO_DIR"/patches/*.patch \
		"$REPO_DIR/COVER_LETTER.txt" && bad=1
	# No @PLACEHOLDER@ left to fill (mail-series.sh refuses one too).
	grep -nE "$COVER_FILL_RE" "$REPO_DIR/COVER_LETTER.txt" && bad=1
	return "$bad"
}
check "posted as a first version: [PATCH n/N] subjects, no version history, nothing left to fill" first_version

# leads_with_change: every changelog's first paragraph says what the
# patch does, in the imperative ("Saturate ...", "Add ..."): its first word
# is no article, pronoun or conjunction, and not a third-person, past or
# gerund form (maintainer-kvm-x86.rst: "lead with a short blurb on the
# actual changes").
leads_with_change() {
	local p w bad=0
	for p in "$REPO_DIR"/patches/*.patch; do
		w=$(awk '/^Subject: /{ s = 1; next } s && /^$/{ b = 1; next }
			b && NF { print $1; exit }' "$p")
		case "$w" in
		The | This | These | A | An | It | We | In | On | When | With | If | Since | \
			*s | *ed | *ing | *"()"* | "")
			echo "$(basename "$p"): the changelog begins with '$w'"; bad=1 ;;
		esac
	done
	return "$bad"
}
check "every changelog leads with the change, in the imperative" leads_with_change

# Debian 12's b4 0.12 chokes on folded headers (a long From:), which an
# MTA may fold or not: unfold them, as a list archive's mbox would have.
unfold_headers() {
	awk '/^From [0-9a-f]+ / { hdr = 1 }
	     hdr && /^$/ { hdr = 0 }
	     hdr && /^[ \t]/ { sub(/^[ \t]+/, " "); prev = prev $0; next }
	     { if (started) print prev; prev = $0; started = 1 }
	     END { if (started) print prev }'
}

b4_roundtrip() {
	local tmp rc=0 wt want
	tmp=$(mktemp -d)
	format_series "$tree" base..HEAD --thread --stdout | unfold_headers >"$tmp/series.mbx"
	mkdir "$tmp/out"
	(cd "$tmp" && b4 -q am --no-cover -m series.mbx -o out) >"$tmp/b4.log" 2>&1 || {
		cat "$tmp/b4.log"; rm -rf "$tmp"; return 1; }
	# git am in a work tree of this check's own, at the base, with only the
	# files the series touches checked out (sparse): not a whole kernel tree.
	wt=$tmp/wt
	git -C "$tree" worktree add -q --detach --no-checkout "$wt" base
	git -C "$tree" diff --name-only base..HEAD | sed 's|^|/|' |
		git -C "$wt" sparse-checkout set --no-cone --stdin
	git -C "$wt" checkout -q
	want=$(git -C "$tree" rev-parse 'HEAD^{tree}')
	if ! git -C "$wt" am -q "$tmp"/out/*.mbx; then
		rc=1
	elif [ "$(git -C "$wt" rev-parse 'HEAD^{tree}')" != "$want" ]; then
		echo "b4 am + git am gave another tree"; rc=1
	fi
	git -C "$tree" worktree remove --force "$wt"
	rm -rf "$tmp"
	return "$rc"
}
check "the series as a threaded mbox, through b4 am and git am, gives the same tree" b4_roundtrip

# patches/ carries the project's placeholder identity: the mail for sending
# must not (scripts/mail-series.sh; the sender re-signs, README.md).
refuses_placeholder() {
	local out rc=0
	out=$("$REPO_DIR/scripts/mail-series.sh" --tree "$tree" --branch HEAD \
		--out "$(mktemp -u)" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -ne 0 ] && grep -q "placeholder identity" <<<"$out"
}
check "no mail for sending while the series carries the placeholder identity" refuses_placeholder

# The scripts take their options through one parser (parse_opts,
# scripts/lib/common.sh): an option without its value is a usage error
# naming it, not bash's "unbound variable".
missing_value() {
	local s out rc
	for s in export-series.sh mail-series.sh; do
		rc=0
		out=$("$REPO_DIR/scripts/$s" --tree 2>&1) || rc=$?
		echo "$s --tree: exit $rc: $out"
		[ "$rc" -ne 0 ] || return 1
		grep -q -- "--tree needs a value" <<<"$out" || return 1
	done
}
check "export-series.sh and mail-series.sh: an option without its value is a usage error naming it" missing_value

maintainers_current() {
	"$REPO_DIR/scripts/maintainers.sh" "$tree" | diff "$REPO_DIR/MAINTAINERS.snippet" -
}
check "MAINTAINERS.snippet is what get_maintainer.pl gives for the series" maintainers_current

done_testing
