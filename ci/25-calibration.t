#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The emulated CPU behaves like the hardware where the tests care: the
# calibration probe (probes/ple_probe.c, a raw-KVM program, not the
# selftest) runs in the emulated host on the patched kernel and shows
#  (a) host interrupts exit a guest spinning with IF=0, at about the host
#      tick rate (HZ=1000: 100 per 100 ms of spin), as with V_INTR_MASKING
#      on hardware;
#  (b) threshold mode on the Zen CPU: a tight PAUSE loop (3 instructions a
#      pass) takes PAUSE exits with the default threshold (128), none with
#      kvm_amd.pause_filter_thresh=2;
#  (c) count-only mode on the count-only CPU (threshold 0): PAUSE exits, at
#      most as many as the undisturbed window schedule (5 for 100,000);
#  (d) a PAUSE loop pass takes the time of the timing model (32 ns for
#      zen-2ghz, 12.8 ns for zen-5ghz), within 2%.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/../scripts/emu.sh"

PROBE=kvm:ple_probe
# name | cpu | timing | params
BOOTS=(
	"zen2|zen|zen-2ghz|"
	"zen5|zen|zen-5ghz|"
	"thresh2|zen|zen-2ghz|kvm_amd.pause_filter_thresh=2"
	"count|count-only|zen-2ghz|"
)

plan 7
patched=$("$REPO_DIR/scripts/build.sh" patched) || bail "the patched kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests or the probe do not build"
for b in "${BOOTS[@]}"; do
	IFS='|' read -r name cpu timing params <<<"$b"
	guest_bg "probe-$name" "$patched" "$PROBE" "$params" "$cpu" "$timing"
done
wait || true

# probe NAME MEASUREMENT KEY: a figure of the probe's run NAME.
probe() {
	guestlog lines "$LOG_DIR/probe-$1.log" PROBE "$PROBE" |
		sed -n "s/^PROBE: $2: .*\<$3=\([0-9.]*\).*/\1/p" | head -n 1
}

# within VALUE LO HI: LO <= VALUE <= HI (decimals allowed).
within() {
	echo "$*"
	[ -n "$1" ] && awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}

ipers() {
	within "$(probe zen2 intr_noexit irq_per_100ms)" 80 120 &&
		within "$(probe zen5 intr_noexit irq_per_100ms)" 80 120
}
check "(a) IF=0 spins take ~100 host-interrupt exits per 100 ms (HZ=1000)" ipers
check "(b) threshold mode, default threshold: a tight PAUSE loop exits" \
	within "$(probe zen2 pause pause_exits)" 1 5
check "(b) threshold mode, pause_filter_thresh=2: no PAUSE exit" \
	within "$(probe thresh2 pause pause_exits)" 0 0
count_only() {
	within "$(probe count pause pause_filter_thresh)" 0 0 &&
		within "$(probe count pause pause_exits)" 1 5
}
check "(c) count-only (threshold 0): PAUSE exits on schedule" count_only
check "(d) zen-2ghz: a PAUSE loop pass takes 32 ns" \
	within "$(probe zen2 cost ns_per_pass)" 31.36 32.64
check "(d) zen-5ghz: a PAUSE loop pass takes 12.8 ns" \
	within "$(probe zen5 cost ns_per_pass)" 12.54 13.06
for b in "${BOOTS[@]}"; do
	IFS='|' read -r name cpu timing params <<<"$b"
	diag "$name ($cpu, $timing${params:+, $params}):"
	diag "$(guestlog lines "$LOG_DIR/probe-$name.log" PROBE "$PROBE" | sed 's/^PROBE: /  /')"
done
no_complaint() {
	local b name bad=0
	for b in "${BOOTS[@]}"; do
		name=${b%%|*}
		[ -z "$(kernel_complaints "$LOG_DIR/probe-$name.log")" ] || bad=1
	done
	return "$bad"
}
check "no kernel complaint in any probe run" no_complaint

done_testing
