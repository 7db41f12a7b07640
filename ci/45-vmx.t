#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Patches 1 and 2 on VMX (the window helpers they fix are shared with
# SVM), on the intel machine (Debian 12's Bochs 2.7, Haswell: VMX with
# PAUSE-loop exiting; config/machines) under its timing model: the probe
# probes/vmx_ple_window.c (a program of this project, not an upstream
# selftest) with kvm_intel.ple_window_shrink=8192 (at least the default
# ple_window of 4096: subtractive shrinking) and kvm_intel.ple_window_max=1000
# (below it), on v7.3-rc7, the series and the series without patch 1 or 2:
#   sched-in  after a HLT wake, a spin of 3.5 windows takes a PLE exit:
#             without patch 1 the sched-in wraps the window to 4294963200
#             cycles, and no PLE exit comes;
#   grown     after a PLE exit, a spin one cycle shorter than ple_window
#             takes at most 2 exits no stat names: without patch 2 the exit
#             took the window down to 1000 cycles, and it takes 4.
# With both params at once: patch 2 keeps a wrapped window wrapped (it is
# above the max), and patch 1 keeps the window at the base on shrinking.
# "any": not judged.  Without patch 1 the grown case's first spin takes
# no PLE exit either when the vCPU thread was scheduled in before it (the
# window wrapped): seen once, in a cold run of make check.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

PROBE=kvm:vmx_ple_window
PARAMS="kvm_intel.ple_window_shrink=8192 kvm_intel.ple_window_max=1000"
# kernel | build.sh arguments | sched-in | grown
ROWS=(
	"patched|patched|ok|ok"
	"base|base|fail|fail"
	"mutant-1|mutant --without 1|fail|any"
	"mutant-2|mutant --without 2|ok|fail"
)
plan ${#ROWS[@]}
machines_here intel
[ -z "${UNAVAILABLE[intel]}" ] || skip_all "${UNAVAILABLE[intel]}"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests or the probes do not build"

# specs: each row's boot, its kernel built (or found built) first; a
# kernel that does not build gets a path saying so, and its boot fails.
specs() {
	local row k args bz
	for row in "${ROWS[@]}"; do
		IFS='|' read -r k args _ <<<"$row"
		# shellcheck disable=SC2086 # build.sh's arguments, words
		bz=$("$REPO_DIR/scripts/build/build.sh" $args 2>/dev/null) ||
			bz="(the $k kernel did not build)"
		boot_spec "$k" "$bz" intel "" "$PARAMS" "$PROBE"
	done
}
mapfile -t DIRS < <(specs | run_guests vmx)

# wanted CASES NAME WANT: the case NAME's result is WANT (or WANT is any).
wanted() { [ "$3" = any ] || grep -q "^$3	$2: " <<<"$1"; }

# verdict DIR WANT_SCHED_IN WANT_GROWN: the probe's two cases as wanted,
# no kernel complaint.
verdict() {
	local d=$1 cases
	[ "$(boot_status "$d")" -eq 0 ] || { boot_failure "$d"; return 1; }
	cases=$(guestlog subtests "$d" "$PROBE")
	echo "$cases"
	wanted "$cases" sched-in "$2" && wanted "$cases" grown "$3" &&
		no_complaints "$d"
}
i=0
for row in "${ROWS[@]}"; do
	IFS='|' read -r k _ s g <<<"$row"
	check "$k, $PARAMS: sched-in $s, grown $g" verdict "${DIRS[$i]}" "$s" "$g"
	diag "$k: $(guestlog subtests "${DIRS[$i]}" "$PROBE" 2>&1 | tr '\t\n' ' ;')"
	i=$((i + 1))
done

done_testing
