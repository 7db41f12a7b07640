#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# mail-series.sh [--tree DIR] [--branch NAME] --out DIR
#
# Produce the mail for sending: git format-patch --cover-letter of the
# series in the developers' tree (default work/linux, branch ple-series),
# with COVER_LETTER.txt as the cover letter, into DIR.  Refuses while any
# commit, its Signed-off-by, or the sender (git config user.name/email)
# still carries the project's placeholder identity: patches/ is signed by
# the project, but whoever sends the series certifies the DCO in their own
# name.  Re-sign first (README.md, "Sending the series").
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Identities that cannot certify anything: the project's placeholder and
# the scripts' own.
PLACEHOLDER_RE='noreply\.h-seed-|\.example>|@invalid>|svm-ple scripts'

usage() {
	echo "usage: ${0##*/} [--tree DIR] [--branch NAME] --out DIR"
}

# placeholders TREE RANGE: every placeholder identity the range carries.
placeholders() {
	git -C "$1" log --format='%an <%ae>%n%B' "$2" |
		grep -E "^([^:]* <|Signed-off-by: )" | grep -E "$PLACEHOLDER_RE" | sort -u || true
}

check_sender() {
	local tree=$1 who
	who="$(git -C "$tree" config user.name || true) <$(git -C "$tree" config user.email || true)>"
	[ "$who" != " <>" ] || die "no git user.name/user.email in $tree: set your own"
	if grep -qE "$PLACEHOLDER_RE" <<<"$who"; then
		die "the sender is the placeholder identity '$who': set your own user.name/user.email"
	fi
}

# cover TREE OUT: put COVER_LETTER.txt (Subject: line, then the body) into
# the cover letter format-patch made.
cover() {
	local f subject
	f=$(find "$2" -name '0000-cover-letter.patch')
	subject=$(sed -n 's/^Subject: //p;q' "$REPO_DIR/COVER_LETTER.txt")
	[ -n "$subject" ] || die "COVER_LETTER.txt does not start with a Subject: line"
	! grep -nE "$COVER_FILL_RE" "$REPO_DIR/COVER_LETTER.txt" >&2 ||
		die "COVER_LETTER.txt has a @PLACEHOLDER@ still to fill (above)"
	python3 - "$f" "$subject" "$REPO_DIR/COVER_LETTER.txt" <<-'PY'
		import sys
		path, subject, letter = sys.argv[1:]
		body = open(letter).read().split("\n", 1)[1].lstrip("\n")
		text = open(path).read()
		n = text.count("*** SUBJECT HERE ***")
		text = text.replace("*** SUBJECT HERE ***", subject.split("] ", 1)[-1])
		text = text.replace("*** BLURB HERE ***", body.rstrip("\n"))
		if n != 1:
		    sys.exit("unexpected cover letter template in " + path)
		open(path, "w").write(text)
	PY
}

main() {
	local tree=$REPO_DIR/work/linux branch=ple-series out="" bad
	parse_opts 'tree=tree branch=branch out=out' '' "$@"
	no_args
	[[ -n $out ]] || bad_usage "--out DIR is required"
	git -C "$tree" rev-parse -q --verify "$branch" >/dev/null ||
		die "no branch $branch in $tree"
	bad=$(placeholders "$tree" "base..$branch")
	[ -z "$bad" ] || die "the series still carries the placeholder identity:" \
		"$(tr '\n' ';' <<<"$bad")" "re-sign it first (README.md, 'Sending the series')"
	check_sender "$tree"
	[ ! -e "$out" ] || die "$out exists: remove it or choose another --out"
	# The sender's own identity, not the one scripts/lib/common.sh sets for the scripts.
	(
		unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
		format_series "$tree" "base..$branch" --cover-letter -o "$out"
	)
	cover "$tree" "$out"
	log "mail for sending in $out: check it, then git send-email (README.md)"
}

main "$@"
