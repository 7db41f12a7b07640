#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: what a guest spinning on PAUSE gets from v7.3-rc7 and from the
# series, on the emulated count-only CPU (the one patch 3 is for) and the
# emulated Zen CPU side by side, then the selftests on both kernels.
#
# The figures come from the calibration probe (probes/ple_probe.c), which
# counts PAUSE exits with the pause_exits stat of patch 4: v7.3-rc7 has no
# such stat, so its PAUSE interception is measured on the series without
# patch 3, whose svm.c is v7.3-rc7's but for the stat.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/emu.sh"

# name | cpu | params | what the row is
ROWS=(
	"count|count-only||count-only CPU (AMD fam. 10h-14h)"
	"zen|zen||Zen CPU, defaults (threshold 128)"
	"zen0|zen|kvm_amd.pause_filter_thresh=0|Zen CPU, pause_filter_thresh=0"
)

# probe_figure LOG: "PAUSE exits (+ tick exits)" of the 100,000-PAUSE spin.
probe_figure() {
	guestlog lines "$1" PROBE kvm:ple_probe |
		sed -n 's/^PROBE: pause: .* irq_exits=\([0-9]*\) pause_exits=\([0-9]*\) .*/\2 (+\1 tick exits)/p' |
		grep . || echo "no figure"
}

boot_all() {
	local base=$1 patched=$2 nosvm=$3 tests row name cpu params what
	tests="$PLE_TEST $(upstream_tests | tr '\n' ' ')"
	guest_bg base "$base" "$tests"
	guest_bg patched "$patched" "$tests"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name cpu params what <<<"$row"
		guest_bg "demo-rc7-$name" "$nosvm" kvm:ple_probe "$params" "$cpu"
		guest_bg "demo-v2-$name" "$patched" kvm:ple_probe "$params" "$cpu"
	done
	wait || true
}

# headline: the three-line contrast, under one line saying what it is.
headline() {
	local row name cpu params what
	echo "PAUSE exits of a guest spinning 100,000 PAUSEs with IF=0, v7.3-rc7 vs the series:"
	printf '  %-40s %-24s %s\n' "" "v7.3-rc7 interception" "patched"
	for row in "${ROWS[@]}"; do
		IFS='|' read -r name cpu params what <<<"$row"
		printf '  %-40s %-24s %s\n' "$what" "$(probe_figure "$LOG_DIR/demo-rc7-$name.log")" \
			"$(probe_figure "$LOG_DIR/demo-v2-$name.log")"
	done
	echo "In parentheses: the host tick's exits (HZ=1000, timing model ${PLE_TIMING:-zen-2ghz}), each of"
	echo "which reloads the count.  Undisturbed, the windows 3000, 6000, 12000, 24000 and"
	echo "48000 make 5 exits."
}

main() {
	local base patched nosvm
	base=$("$REPO_DIR/scripts/build.sh" base)
	patched=$("$REPO_DIR/scripts/build.sh" patched)
	nosvm=$("$REPO_DIR/scripts/build.sh" mutant --without 3)
	ensure_selftests
	boot_all "$base" "$patched" "$nosvm"
	echo
	headline
	echo
	echo "Then every selftest, per test, on the emulated Zen CPU: base (v7.3-rc7) and patched."
	"$REPO_DIR/scripts/report.sh" --no-subtests "$LOG_DIR/base.log" "$LOG_DIR/patched.log"
	echo "Serial logs: $LOG_DIR/{base,patched,demo-*}.log"
}

main "$@"
