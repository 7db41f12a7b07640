# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034 # UNAVAILABLE: read by the checks
# TAP helpers for the checks in ci/*.t, run by prove (see Makefile).
# shellcheck shell=bash
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib/common.sh"

TAP_N=0
TAP_FAILED=0
TAP_PLAN=0

plan() { TAP_PLAN=$1; echo "1..$1"; }
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
# skip_all REASON...: every planned point not reported yet skips, with
# REASON; the check ends there (a check that needs what this run lacks).
skip_all() {
	while [ "$TAP_N" -lt "$TAP_PLAN" ]; do skip "$@"; done
	exit 0
}

# machines_here MACHINE...: for a check that boots them (it sources
# scripts/lib/guests.sh): UNAVAILABLE[M] is "" when machine M can boot
# here, else why not (its emulator is not there: the check skips M's
# points with that line).  A machine whose emulator is there but cannot
# serve (a wrong PLE_BOCHS) bails the run out with the error.

declare -A UNAVAILABLE=()
machines_here() {
	local m reason rc
	for m in "$@"; do
		rc=0
		# (the reason on standard output, an error on standard error)
		reason=$(emulator_missing "$m" 2>&1) || rc=$?
		case "$rc" in
		0) UNAVAILABLE[$m]=$reason ;;
		1) UNAVAILABLE[$m]="" ;;
		*) bail "$reason" ;;
		esac
	done
}

# check_on MACHINE DESCRIPTION CMD...: check, or, when MACHINE cannot boot
# here (machines_here), skip the point with the reason.
check_on() {
	local m=$1
	shift
	if [ -n "${UNAVAILABLE[$m]:-}" ]; then
		skip "$1: ${UNAVAILABLE[$m]}"
	else
		check "$@"
	fi
}

# check DESCRIPTION CMD...: one test point from a command's status; its
# output is shown as diagnostics when it fails, its note()s (common.sh)
# always.
#
# CMD runs in a subshell with errexit in force, so that a body failing
# midway fails the test point (`if CMD` or `CMD || ...` would make bash
# ignore `set -e` inside CMD: a body of `false; echo reached` would report
# ok).  It is not run as the condition of anything: errexit is switched off
# in this shell around it instead.  A bail() in CMD still ends the whole
# run: the subshell leaves its reason in a file that check() reads.
check() {
	local _desc=$1 _dir _rc
	shift
	_dir=$(mktemp -d "${TMPDIR:-/tmp}/ple-check.XXXXXX")
	set +e
	# shellcheck disable=SC2030 # bail() reads it in the same subshell
	(
		_TAP_BAIL_FILE=$_dir/bail _TAP_NOTE_FILE=$_dir/note
		shopt -s inherit_errexit
		set -eo pipefail
		"$@"
	) >"$_dir/out" 2>&1
	_rc=$?
	set -e
	if [ -e "$_dir/bail" ]; then
		diag "$(cat "$_dir/out")"
		echo "Bail out! $(cat "$_dir/bail")"
		rm -rf "$_dir"
		exit 1
	fi
	if [ "$_rc" -eq 0 ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "$(cat "$_dir/out")"
	fi
	[ ! -s "$_dir/note" ] || diag "$(cat "$_dir/note")"
	rm -rf "$_dir"
}

# A check that needs a step that failed: bail out of the whole run (from a
# check() body too).
bail() {
	# shellcheck disable=SC2031 # set by check() in the subshell bail() runs in
	[ -z "${_TAP_BAIL_FILE:-}" ] || printf '%s\n' "$*" >"$_TAP_BAIL_FILE"
	echo "Bail out! $*"
	exit 1
}

done_testing() { exit $((TAP_FAILED > 0)); }
