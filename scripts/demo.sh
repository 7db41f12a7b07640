#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: what a guest spinning on PAUSE gets from v7.3-rc7 and from the
# series on the count-only machine (config/machines: PauseFilter without
# PFThreshold, the CPUs patch 3 is for), under K10 and Zen timing, then the
# selftests on both kernels.  Threshold mode (every Zen) is not emulated:
# no Debian emulator has PFThreshold that boots our kernels.
#
# The figures come from the calibration probe (probes/ple_probe.c), which
# counts PAUSE exits as exits - irq_exits over a spin and so runs on
# v7.3-rc7 itself.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/emu.sh"

MACHINE=count-only
# name | timing model | params | what the row is
ROWS=(
	"k10|k10-3.2ghz||K10 rev D/E timing (3.2 GHz)"
	"zen2|zen-2ghz||Zen timing, 2 GHz (L1, PauseFilter alone)"
	"zen5|zen-5ghz||Zen timing, 5 GHz (L1, PauseFilter alone)"
)

# probe_figure LOG: "PAUSE exits (+ tick exits)" of the 100,000-PAUSE spin.
probe_figure() {
	guestlog lines "$1" PROBE kvm:ple_probe |
		sed -n 's/^PROBE: pause: .* irq_exits=\([0-9]*\) pause_exits=\([0-9]*\) .*/\2 (+\1 tick exits)/p' |
		grep . || echo "no figure"
}

boot_all() {
	local base=$1 patched=$2 tests row name timing params what
	tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"
	guest_bg base "$base" "$tests" "" "$MACHINE"
	guest_bg patched "$patched" "$tests" "" "$MACHINE"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name timing params what <<<"$row"
		guest_bg "demo-rc7-$name" "$base" kvm:ple_probe "$params" "$MACHINE" "$timing"
		guest_bg "demo-v2-$name" "$patched" kvm:ple_probe "$params" "$MACHINE" "$timing"
	done
	wait || true
}

# headline: the contrast, under one line saying what it is.
headline() {
	local row name timing params what
	echo "PAUSE exits for 100,000 PAUSEs on the $MACHINE machine ($(machine_field "$MACHINE" kvm)):"
	printf '  %-44s %-20s %s\n' "" "v7.3-rc7" "patched"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name timing params what <<<"$row"
		printf '  %-44s %-20s %s\n' "$what" "$(probe_figure "$LOG_DIR/demo-rc7-$name.log")" \
			"$(probe_figure "$LOG_DIR/demo-v2-$name.log")"
	done
	echo "In parentheses: the host tick's exits (HZ=1000), each of which reloads the"
	echo "count.  Undisturbed, the windows 3000, 6000, 12000, 24000 and 48000 make 5 exits."
	echo "Threshold mode (PauseFilter + PFThreshold, every Zen host) was not emulated:"
	echo "no Debian emulator has PFThreshold that boots our kernels; tested on hardware only."
}

main() {
	local base patched
	base=$("$REPO_DIR/scripts/build.sh" base)
	patched=$("$REPO_DIR/scripts/build.sh" patched)
	ensure_selftests
	boot_all "$base" "$patched"
	echo
	headline
	echo
	echo "Then every selftest, per test, on the $MACHINE machine: base (v7.3-rc7) and patched."
	"$REPO_DIR/scripts/report.sh" --no-subtests "$LOG_DIR/base.log" "$LOG_DIR/patched.log"
	echo "Serial logs: $LOG_DIR/{base,patched,demo-*}.log"
}

main "$@"
