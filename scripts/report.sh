#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# report.sh [--no-subtests] LOG [LOG...]   (LOG: a serial log or a boot directory)
#
# One row per test (subtests indented below it, unless --no-subtests) and
# one column per log (label: a boot directory's variant, else the file's basename without .log): ok, FAIL,
# skip, xfail, "cut" (started, no result: a hang or a panic) or "-" when
# absent.  The last row is the guest's PLE-DONE status (rc=N, "panic" or
# "none").  Then, per log, the figure lines the tests printed (PLE:, PROBE:,
# BENCH:), why tests failed, and the kernel's complaints.  The log is read
# by scripts/read/guestlog.py, the one reader of guest logs (this is its
# "report" command).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
	echo "usage: ${0##*/} [-h|--help] [--no-subtests] LOG [LOG...]"
}

main() {
	local NO_SUBTESTS="" logs f
	parse_opts '' 'no-subtests=NO_SUBTESTS' "$@"
	logs=("${ARGS[@]}")
	[[ ${#logs[@]} -gt 0 ]] || bad_usage "no LOG given"
	for f in "${logs[@]}"; do
		[[ -r $f ]] || die "log '$f' not found or unreadable"
	done
	need_cmd python3 python3
	"${GUESTLOG_PYTHON:-python3}" "$REPO_DIR/scripts/read/guestlog.py" report \
		${NO_SUBTESTS:+--no-subtests} -- "${logs[@]}"
}

main "$@"
