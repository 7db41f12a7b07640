#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh [--no-subtests] LOG [LOG...]
#
# Reads the KTAP printed by run_kselftest.sh in the guests' serial logs:
#   "# selftests: kvm: NAME"                    (a test starts)
#   "# ok N NAME" / "# not ok N NAME # SKIP"    (its own subtests)
#   "ok N selftests: kvm: NAME [# SKIP]"        (its result)
# and prints one row per test (subtests indented below it) and one column
# per log (label: the file's basename without .log): ok, FAIL, skip, xfail,
# or "-" when absent.  The last row is the guest's PLE-DONE status (rc=N,
# "panic" or "none").  Then, per log, every "# PLE:" line the tests printed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
	echo "usage: ${0##*/} [-h|--help] [--no-subtests] LOG [LOG...]"
}

bad_usage() { usage >&2; die "$*"; }

# shellcheck disable=SC2016 # awk program
AWK_PROG='
function add_row(key, shown) {
	if (!(key in seen)) { seen[key] = 1; order[++nrows] = key; label[key] = shown
		if (length(shown) > width) width = length(shown) }
}
# A subtest row goes under its test, whichever log shows it first.
function add_sub(parent, key, shown) {
	if (!(key in seen)) { seen[key] = 1; subs[parent, ++nsubs[parent]] = key; label[key] = shown
		if (length(shown) > width) width = length(shown) }
}
function print_row(k,    line, c) {
	line = sprintf("%-" width "s", label[k])
	for (c = 1; c <= ncols; c++) line = line sprintf("  %-10s", ((k, c) in res) ? res[k, c] : "-")
	print_trimmed(line)
}
function print_trimmed(s) { sub(/ +$/, "", s); print s }
function result(line,    r) {
	r = (line ~ /^not ok/) ? "FAIL" : "ok"
	if (line ~ /# *SKIP/) r = "skip"
	else if (line ~ /# *XFAIL/) r = "xfail"
	return r
}
function strip_result(line) {
	sub(/^(not )?ok [0-9]+ /, "", line); sub(/ +#.*$/, "", line)
	return line
}
BEGIN {
	# Columns from the arguments: an empty log still gets one.
	for (i = 1; i < ARGC; i++) {
		lbl = ARGV[i]; sub(/^.*\//, "", lbl); sub(/\.log$/, "", lbl)
		cols[++ncols] = lbl; colof[ARGV[i]] = ncols; done[ncols] = "none"
	}
}
FNR == 1 { col = colof[FILENAME]; cur = "" }
{ sub(/\r+$/, "") }
/^# selftests: [^ ]+: [^ ]+$/ { cur = $3 $4; add_row(cur, cur); next }
/^(not )?ok [0-9]+ selftests: / {
	t = strip_result($0); sub(/^selftests: /, "", t); sub(/: /, ":", t)
	add_row(t, t); res[t, col] = result($0); cur = ""; next
}
/^# (not )?ok [0-9]+ / && cur != "" && subtests {
	line = substr($0, 3); key = cur SUBSEP strip_result(line)
	add_sub(cur, key, "  " strip_result(line)); res[key, col] = result(line); next
}
/^(# )+PLE:/ { line = $0; sub(/^(# )+/, "", line); ple[col] = ple[col] "  " cur ": " line "\n"; next }
/^PLE-DONE rc=/ { done[col] = "rc=" substr($0, 13); next }
/Kernel panic - not syncing/ { if (done[col] == "none") done[col] = "panic" }
END {
	if (ncols == 0) exit
	if (width < 16) width = 16
	line = sprintf("%-" width "s", "test")
	for (c = 1; c <= ncols; c++) line = line sprintf("  %-10s", cols[c])
	print_trimmed(line)
	for (i = 1; i <= nrows; i++) {
		print_row(order[i])
		for (j = 1; j <= nsubs[order[i]]; j++) print_row(subs[order[i], j])
	}
	line = sprintf("%-" width "s", "(guest PLE-DONE)")
	for (c = 1; c <= ncols; c++) line = line sprintf("  %-10s", done[c])
	print_trimmed(line)
	for (c = 1; c <= ncols; c++) if (c in ple) printf "\n# PLE lines of %s:\n%s", cols[c], ple[c]
}'

main() {
	local subtests=1 logs=() f
	while [[ $# -gt 0 ]]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		--no-subtests) subtests=0; shift ;;
		-*) bad_usage "unknown option '$1'" ;;
		*) logs+=("$1"); shift ;;
		esac
	done
	[[ ${#logs[@]} -gt 0 ]] || bad_usage "no LOG given"
	for f in "${logs[@]}"; do
		[[ -r $f ]] || die "log '$f' not found or unreadable"
	done
	need_cmd awk mawk
	awk -v subtests="$subtests" "$AWK_PROG" "${logs[@]}"
}

main "$@"
