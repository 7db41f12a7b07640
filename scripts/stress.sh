#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# stress.sh [-n RUNS] [MACHINE:TIMING...]
#
# Runs svm_pause_filter_test RUNS times (default 50) in one guest per
# machine (config/machines) and timing model (default: count-only under
# k10-3.2ghz, bobcat-1.6ghz, zen-2ghz and zen-5ghz, and zen, threshold
# mode, under zen-2ghz and zen-5ghz when PLE_BOCHS gives it a Bochs 3.1),
# on the patched kernel, and prints per guest how many runs
# passed, failed or skipped, how many cases ran and skipped, and how many
# tries the cases took (a try is repeated when a host interrupt or a
# preemption disturbed it).  Not a check: the figures are for the
# selftest's robustness claim (README, cover letter).
# Exit status 1 if any run failed or a guest did not finish.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/lib/guests.sh"

usage() { echo "usage: ${0##*/} [-n RUNS] [MACHINE:TIMING...]   (e.g. count-only:zen-5ghz)"; }

main() {
	local runs=50 combos=() dirs=() c d i bz bad=0
	while [ $# -gt 0 ]; do
		case "$1" in
		-n) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { usage >&2; die "-n takes a positive number of runs"; }
			runs=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*:*) machine_check "${1%%:*}"; timing_ips "${1#*:}" >/dev/null
			combos+=("$1"); shift ;;
		*) usage >&2; die "unexpected argument '$1'" ;;
		esac
	done
	if [ ${#combos[@]} -eq 0 ]; then
		combos=(count-only:k10-3.2ghz count-only:bobcat-1.6ghz count-only:zen-2ghz
			count-only:zen-5ghz)
		zen_here
		if [ -n "$ZEN_MISSING" ]; then
			log "without zen: $ZEN_MISSING"
		else
			combos+=(zen:zen-2ghz zen:zen-5ghz)
		fi
	fi
	guests_init
	bz=$(step "build the series" "$REPO_DIR/scripts/build/build.sh" patched) ||
		die "the patched kernel does not build"
	step "build the KVM selftests" ensure_selftests >/dev/null || die "the KVM selftests do not build"
	mapfile -t dirs < <(for c in "${combos[@]}"; do
		boot_spec patched "$bz" "${c%%:*}" "${c#*:}" "ple.repeat=$runs" "$PLE_TEST"
	done | GUEST_TIMEOUT=$((120 * runs)) run_guests stress)
	printf '%-11s %-14s %-45s %s\n' machine timing "runs of $PLE_TEST" "the test's own figures"
	for i in "${!combos[@]}"; do
		c=${combos[$i]} d=${dirs[$i]}
		printf '%-11s %-14s %-45s %s\n' "${c%%:*}" "${c#*:}" \
			"$(guestlog tally "$d" "$PLE_TEST")" "$(guestlog tries "$d" "$PLE_TEST")"
		guestlog tally "$d" "$PLE_TEST" | grep -q "runs=$runs .*fail=0 " || {
			bad=1; echo "$d: $(guestlog why "$d" "$PLE_TEST")" >&2; }
	done
	return "$bad"
}

main "$@"
