#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The check layer itself (ci/tap.sh), with no kernel: a check() body that
# fails midway must fail its test point and stop there, a bail() inside a
# body must still end the run, a body that succeeds is ok.  Each case is a
# small TAP script sourcing ci/tap.sh, run in a child bash; under a second.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ple-tap.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# tap_script BODY...: run a TAP script whose functions and calls are BODY;
# its output goes to $TMP/out, its status is returned.
tap_script() {
	{
		echo 'set -euo pipefail'
		echo ". '$REPO_DIR/ci/tap.sh'"
		printf '%s\n' "$@"
	} >"$TMP/t.sh"
	bash "$TMP/t.sh" >"$TMP/out" 2>&1
}

plan 8

fails_midway() {
	! tap_script 'body() { false; echo reached; }' 'check "midway" body' \
		'done_testing' &&
		grep -qx 'not ok 1 - midway' "$TMP/out" &&
		! grep -q reached "$TMP/out"
}
check "a body that fails midway fails its test point and stops there" fails_midway

fails_in_substitution() {
	# shellcheck disable=SC2016 # the body is for the child script
	! tap_script 'body() { local x; x=$(false; echo reached); echo "$x"; }' \
		'check "subst" body' 'done_testing' &&
		grep -qx 'not ok 1 - subst' "$TMP/out" && ! grep -q reached "$TMP/out"
}
check "a failure inside a command substitution fails the body" fails_in_substitution

fails_in_pipeline() {
	! tap_script 'body() { false | cat; echo reached; }' 'check "pipe" body' \
		'done_testing' &&
		grep -qx 'not ok 1 - pipe' "$TMP/out" && ! grep -q reached "$TMP/out"
}
check "a failure inside a pipeline fails the body" fails_in_pipeline

bail_in_body() {
	! tap_script 'plan 2' 'body() { bail "no kernel"; echo reached; }' \
		'check "bails" body' 'check "after" true' 'done_testing' &&
		grep -qx 'Bail out! no kernel' "$TMP/out" &&
		! grep -qE 'reached|^(not )?ok' "$TMP/out"
}
check "a bail() inside a body ends the whole run" bail_in_body

passes() {
	tap_script 'plan 2' 'body() { echo quiet; }' 'check "fine" body' \
		'check "status" false' 'skip "why"' 'true' >/dev/null
	grep -qx 'ok 1 - fine' "$TMP/out" && grep -qx 'not ok 2 - status' "$TMP/out" &&
		! grep -q quiet "$TMP/out"
}
check "a body that succeeds is ok and silent; the next check still runs" passes

notes() {
	tap_script 'body() { echo quiet; note "known: not counted"; }' 'check "fine" body' \
		'done_testing' &&
		[ "$(cat "$TMP/out")" = "ok 1 - fine
# known: not counted" ]
}
check "a passing body's note() is shown, its other output is not" notes

exit_status() {
	! tap_script 'check "x" false' 'done_testing' &&
		tap_script 'check "x" true' 'done_testing'
}
check "done_testing exits non-zero when any test point failed" exit_status

skips_the_rest() {
	tap_script 'plan 3' 'check "first" true' 'skip_all "no" "Bochs"' \
		'check "after" true' &&
		[ "$(cat "$TMP/out")" = "1..3
ok 1 - first
ok 2 # SKIP no Bochs
ok 3 # SKIP no Bochs" ]
}
check "skip_all skips every planned point left, with its reason, and ends the check" skips_the_rest

done_testing
