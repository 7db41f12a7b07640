# SPDX-License-Identifier: GPL-2.0
# TAP helpers for the checks in ci/*.t, run by prove (see Makefile).
# shellcheck shell=bash
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

TAP_N=0
TAP_FAILED=0

plan() { echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# check DESCRIPTION CMD...: one test point from a command's status; its
# output is shown as diagnostics when it fails.
check() {
	local _check_desc=$1 _check_out
	shift
	if _check_out=$("$@" 2>&1); then
		ok "$_check_desc"
	else
		not_ok "$_check_desc"
		diag "$_check_out"
	fi
}

# A check that needs a step that failed: bail out of the whole run.
bail() { echo "Bail out! $*"; exit 1; }

done_testing() { exit $((TAP_FAILED > 0)); }
