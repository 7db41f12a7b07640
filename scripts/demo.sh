#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: what a guest spinning on PAUSE gets from v7.3-rc7 and from the
# series on the count-only machine (config/machines: PauseFilter without
# PFThreshold, the CPUs patch 3 is for), under K10 and Zen timing, and in
# threshold mode (every Zen) on the zen machine when PLE_BOCHS names the
# Bochs 3.1 you built (README: "Threshold mode on an emulated CPU"); then
# the selftests on both kernels.
#
# The figures come from the calibration probe (probes/ple_probe.c), which
# counts PAUSE exits as exits - irq_exits over a spin and so runs on
# v7.3-rc7 itself.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/lib/guests.sh"

MACHINE=count-only
# machine | timing model | params | what the row is
ROWS=(
	"count-only|k10-3.2ghz||K10 rev D/E timing (3.2 GHz)"
	"count-only|zen-2ghz||Zen timing, 2 GHz (L1, PauseFilter alone)"
	"count-only|zen-5ghz||Zen timing, 5 GHz (L1, PauseFilter alone)"
	"zen|zen-2ghz||zen: threshold mode, Zen timing, 2 GHz"
)

# probe_figure LOG: "PAUSE exits (+ tick exits)" of the 100,000-PAUSE spin.
probe_figure() {
	guestlog lines "$1" PROBE kvm:ple_probe |
		sed -n 's/^PROBE: pause: .* irq_exits=\([0-9]*\) pause_exits=\([0-9]*\) .*/\2 (+\1 tick exits)/p' |
		grep . || echo "no figure"
}

# intro: what the demo does and how long it takes, before it starts.
intro() {
	echo "make demo: v7.3-rc7 and the series, built and booted on the emulated"
	echo "$MACHINE machine ($(machine_field "$MACHINE" kvm))"
	if [ -z "$ZEN_MISSING" ]; then
		echo "and the zen machine ($(machine_field zen kvm); PLE_BOCHS=${PLE_BOCHS:-}).  It will:"
	else
		echo "(threshold mode, on the zen machine, needs PLE_BOCHS: README, \"Threshold mode"
		echo "on an emulated CPU\").  It will:"
	fi
	echo "  1. build both kernels and the KVM selftests (cold: 20-30 min on 2 CPUs, a progress"
	echo "     line every 30 s; built before: seconds)"
	echo "  2. boot $((2 + 2 * ${#HERE_ROWS[@]})) guests under Bochs, $(njobs) at a time (~3 min on 2 CPUs)"
	echo "  3. print what a 100,000-PAUSE spin gets on each kernel, then every selftest's result"
	echo "Quiet: each step prints one line and keeps its output in a log; V=1 shows it all."
	echo
}

# boot_all BASE PATCHED: every boot, into the boot directories BASE_DIR,
# PATCHED_DIR and PROBE_DIRS (base, patched for each row of ROWS).
boot_all() {
	local base=$1 patched=$2 tests row machine timing params
	tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"
	mapfile -t PROBE_DIRS < <({
		boot_spec base "$base" "$MACHINE" "$FAST_TIMING" "" "$tests"
		boot_spec patched "$patched" "$MACHINE" "$FAST_TIMING" "" "$tests"
		for row in "${HERE_ROWS[@]}"; do
			IFS='|' read -r machine timing params _ <<<"$row"
			boot_spec base "$base" "$machine" "$timing" "$params" kvm:ple_probe
			boot_spec patched "$patched" "$machine" "$timing" "$params" kvm:ple_probe
		done
	} | run_guests demo)
	BASE_DIR=${PROBE_DIRS[0]} PATCHED_DIR=${PROBE_DIRS[1]}
	PROBE_DIRS=("${PROBE_DIRS[@]:2}")
	local d
	for d in "$BASE_DIR" "$PATCHED_DIR" "${PROBE_DIRS[@]}"; do
		[ "$(boot_status "$d")" -eq 0 ] || { boot_failure "$d" >&2; return 1; }
	done
}

# headline: the contrast, under one line saying what it is.
headline() {
	local i=0 row what
	echo "PAUSE exits for 100,000 PAUSEs (count-only: $(machine_field count-only kvm);"
	echo "zen: $(machine_field zen kvm)):"
	printf '  %-44s %-20s %s\n' "" "v7.3-rc7" "patched"
	for row in "${HERE_ROWS[@]}"; do
		what=${row##*|}
		printf '  %-44s %-20s %s\n' "$what" "$(probe_figure "${PROBE_DIRS[$i]}")" \
			"$(probe_figure "${PROBE_DIRS[$((i + 1))]}")"
		i=$((i + 2))
	done
	echo "In parentheses: the host tick's exits (HZ=1000), each of which reloads the"
	echo "count.  Undisturbed, the windows 3000, 6000, 12000, 24000 and 48000 make 5 exits."
	if [ -n "$ZEN_MISSING" ]; then
		echo "Threshold mode (PauseFilter + PFThreshold, every Zen host) was not run:"
		echo "  $ZEN_MISSING"
	else
		echo "In threshold mode both kernels filter: the series must not change it."
	fi
}

# here_rows: the rows of ROWS whose machine can boot here, into HERE_ROWS;
# ZEN_MISSING says why zen cannot (a wrong PLE_BOCHS is an error).
here_rows() {
	local row
	zen_here
	HERE_ROWS=()
	for row in "${ROWS[@]}"; do
		[[ $row == zen\|* && -n $ZEN_MISSING ]] || HERE_ROWS+=("$row")
	done
}

main() {
	local base patched
	here_rows
	intro
	guests_init
	base=$(step "build v7.3-rc7" "$REPO_DIR/scripts/build/build.sh" base)
	patched=$(step "build the series" "$REPO_DIR/scripts/build/build.sh" patched)
	step "build the KVM selftests and probes" ensure_selftests
	step "boot the guests" boot_all "$base" "$patched"
	echo
	headline
	echo
	echo "Then every selftest, per test, on the $MACHINE machine ($FAST_TIMING timing): base (v7.3-rc7) and patched."
	"$REPO_DIR/scripts/report.sh" --no-subtests "$BASE_DIR" "$PATCHED_DIR"
	echo "Boot directories (serial.log, rerun...): $RUNS_DIR/demo/"
}

main "$@"
