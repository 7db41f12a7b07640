#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The emulated machines (config/machines) against the hardware, with the
# calibration probe (probes/ple_probe.c, a raw-KVM program, not the
# selftest), per machine and timing model (config/timing-models), on the
# patched kernel:
#  (a) a guest spinning with IF=1 takes host-interrupt exits at about the
#      host tick rate (HZ=1000: ~100 per 100 ms of spin), as hardware does
#      whatever the guest's IF; one spinning with IF=0 takes none (2 on
#      VMX), not the tick: the
#      emulator's deviation (Bochs masks host interrupts in guest mode
#      with the guest's IF; README), which is why the probes spin with IF=1;
#  (b) threshold mode (the zen machine, a Bochs 3.1 you build: PLE_BOCHS;
#      without it these points skip): KVM keeps pause_filter_thresh=128 and
#      the CPU has PFThreshold; PAUSEs closer together than the threshold
#      are counted (100,000 of them exit on the window schedule below,
#      base and patched alike), farther apart they reload the count: with
#      pause_filter_thresh=2, below the 3 Bochs ticks of a loop pass, no
#      PAUSE exit at all;
#  (c) count-only: 100,000 PAUSEs (IF=1) take the PAUSE exits of the
#      window schedule (3000, 6000, 12000, 24000, 48000: 5 undisturbed,
#      fewer when a tick's exit reloads the count, more after a preemption
#      shrinks the window) with the defaults and kvm_amd.pause_filter_thresh=2
#      (KVM zeroes a threshold without PFThreshold: both are count-only
#      mode); kvm_amd.pause_filter_thresh=0 turns PAUSE exiting off, as on
#      every CPU: no PAUSE exit;
#  (d) a PAUSE loop pass takes what the timing model says (pause cycles /
#      clock: 3 / ips), within 1%.
# v7.3-rc7 gives 0 PAUSE exits on count-only (the bug of patch 3): its
# figures are reported as diagnostics.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/../scripts/lib/guests.sh"
guests_init

PROBE=kvm:ple_probe
# name | machine | timing | kernel | params
BOOTS=(
	"k10|count-only|k10-3.2ghz|patched|"
	"bobcat|count-only|bobcat-1.6ghz|patched|"
	"zen2|count-only|zen-2ghz|patched|"
	"zen5|count-only|zen-5ghz|patched|"
	"intel|intel|haswell-3.4ghz|patched|"
	"thresh2|count-only|zen-5ghz|patched|kvm_amd.pause_filter_thresh=2"
	"thresh0|count-only|zen-5ghz|patched|kvm_amd.pause_filter_thresh=0"
	"base|count-only|zen-5ghz|base|"
	"zen|zen|zen-2ghz|patched|"
	"zen-base|zen|zen-2ghz|base|"
	"zen-thresh2|zen|zen-2ghz|patched|kvm_amd.pause_filter_thresh=2"
)
# The boots of (a) and (d): one per machine and timing model.
MODELS=(k10 bobcat zen2 zen5 intel zen)

plan $((2 * ${#MODELS[@]} + 6))
machines_here count-only intel zen
[ -z "${UNAVAILABLE[count-only]}${UNAVAILABLE[intel]}" ] ||
	skip_all "${UNAVAILABLE[count-only]:-${UNAVAILABLE[intel]}}"
# shellcheck disable=SC2034 # read as ${!kernel}
patched=$("$REPO_DIR/scripts/build/build.sh" patched) || bail "the patched kernel does not build"
# shellcheck disable=SC2034 # read as ${!kernel}
base=$("$REPO_DIR/scripts/build/build.sh" base) || bail "the base kernel does not build"
ensure_selftests >/dev/null 2>&1 || bail "the KVM selftests or the probe do not build"
# DIR[NAME]: the boot directory of row NAME.
declare -A DIR
# (the boots of unavailable machines: none)
specs() {
	local b name machine timing kernel params
	for b in "${BOOTS[@]}"; do
		IFS='|' read -r name machine timing kernel params <<<"$b"
		[ -z "${UNAVAILABLE[$machine]}" ] || continue
		boot_spec "$kernel" "${!kernel}" "$machine" "$timing" "$params" "$PROBE"
	done
}
mapfile -t DIRS < <(specs | run_guests calibration)
i=0
for b in "${BOOTS[@]}"; do
	IFS='|' read -r name machine _ <<<"$b"
	[ -z "${UNAVAILABLE[$machine]}" ] || continue
	DIR[$name]=${DIRS[$i]}
	i=$((i + 1))
done

# field NAME: a boot's field (machine, timing, kernel, params).
field() {
	local b n m t k p
	for b in "${BOOTS[@]}"; do
		IFS='|' read -r n m t k p <<<"$b"
		[ "$n" = "$1" ] || continue
		case "$2" in machine) echo "$m" ;; timing) echo "$t" ;; kernel) echo "$k" ;; params) echo "$p" ;; esac
	done
}

# probe NAME MEASUREMENT KEY: a figure of the probe's run NAME.
probe() {
	guestlog lines "${DIR[$1]}" PROBE "$PROBE" |
		sed -n "s/^PROBE: $2: .*\<$3=\([0-9.]*\).*/\1/p" | head -n 1
}

# within VALUE LO HI: LO <= VALUE <= HI (decimals allowed).
within() {
	echo "$*"
	[ -n "$1" ] && awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}

# interrupts NAME: IF=1 spins see the tick, IF=0 ones not (Bochs): none
# on SVM, and on VMX 2 per 100 ms (the same in every run; interrupts that
# were pending at VM entry, it seems), so at most a tenth of the tick.
interrupts() {
	within "$(probe "$1" intr_if1 irq_per_100ms)" 80 120 &&
		within "$(probe "$1" intr_if0 irq_per_100ms)" 0 10
}
for n in "${MODELS[@]}"; do
	check_on "$(field "$n" machine)" "(a) $(field "$n" machine), $(field "$n" timing): an IF=1 spin takes ~100 host-interrupt exits per 100 ms, an IF=0 one not the tick (Bochs)" \
		interrupts "$n"
done

# schedule NAME: 100,000 PAUSEs from the base window of 3000: 5 PAUSE
# exits undisturbed (3001 + 6001 + 12001 + 24001 + 48001 < 100,000); 1 to
# 5 when host interrupts reloaded the count (the window still doubles at
# each PAUSE exit); at least 1 when the vCPU was preempted (its window
# shrinks back to the base at sched-in).
schedule() {
	local irq pre
	irq=$(probe "$1" pause irq_exits) pre=$(probe "$1" pause preempted)
	echo "$1: irq_exits=$irq preempted=$pre"
	if [ "$pre" != 0 ]; then
		within "$(probe "$1" pause pause_exits)" 1 1000000
	elif [ "$irq" = 0 ]; then
		within "$(probe "$1" pause pause_exits)" 5 5
	else
		within "$(probe "$1" pause pause_exits)" 1 5
	fi
}
# on_schedule NAME: count-only mode (threshold 0) and the window schedule.
on_schedule() {
	within "$(probe "$1" pause pause_filter_thresh)" 0 0 && schedule "$1"
}
# threshold NAME: threshold mode, the CPU's and KVM's: PFThreshold in
# CPUID, pause_filter_thresh as loaded (128 unless the boot's params say).
threshold() {
	local want=128
	[[ $(field "$1" params) != *pause_filter_thresh=* ]] || want=${2:?}
	within "$(probe "$1" pause cpuid_pfthreshold)" 1 1 &&
		within "$(probe "$1" pause pause_filter_thresh)" "$want" "$want"
}
# closer: defaults, base and patched: on the window schedule.
closer() {
	threshold zen && threshold zen-base && schedule zen && schedule zen-base
}
# farther: pause_filter_thresh=2, below a loop pass (3 Bochs ticks): every
# PAUSE reloads the count, so none exits (the host's ticks may still).
farther() {
	threshold zen-thresh2 2 && within "$(probe zen-thresh2 pause pause_exits)" 0 0
}
check_on zen "(b) threshold mode: PFThreshold, thresh 128; PAUSEs closer than the threshold exit on the window schedule (base and patched)" \
	closer
check_on zen "(b) threshold mode: PAUSEs farther apart than pause_filter_thresh=2 reload the count: no PAUSE exit" \
	farther

defaults_on_schedule() {
	local n
	for n in k10 bobcat zen2 zen5; do on_schedule "$n" || return 1; done
}
check "(c) count-only, defaults, every timing model: 100,000 PAUSEs exit on the window schedule" \
	defaults_on_schedule
check "(c) count-only, pause_filter_thresh=2 (zeroed: count-only): exits on the window schedule" \
	on_schedule thresh2
# off NAME: PAUSE exiting off (pause_filter_count 0): no PAUSE exit.
off() {
	within "$(probe "$1" pause pause_filter_count)" 0 0 &&
		within "$(probe "$1" pause pause_exits)" 0 0
}
check "(c) count-only, pause_filter_thresh=0: PAUSE exiting off, no PAUSE exit" off thresh0

# pass_time NAME: ns per pass = 3 / ips (pause cycles / clock), within 1%.
pass_time() {
	local ips
	ips=$(timing_ips "$(field "$1" timing)")
	within "$(probe "$1" cost ns_per_pass)" \
		"$(awk -v i="$ips" 'BEGIN { printf "%.4f", 3e9 / i * 0.99 }')" \
		"$(awk -v i="$ips" 'BEGIN { printf "%.4f", 3e9 / i * 1.01 }')"
}
for n in "${MODELS[@]}"; do
	check_on "$(field "$n" machine)" "(d) $(field "$n" machine), $(field "$n" timing): a PAUSE loop pass takes $(awk -v i="$(timing_ips "$(field "$n" timing)")" \
		'BEGIN { printf "%.3f", 3e9 / i }') ns (within 1%)" pass_time "$n"
done

for b in "${BOOTS[@]}"; do
	IFS='|' read -r name machine timing kernel params <<<"$b"
	[ -n "${DIR[$name]:-}" ] || continue
	diag "$name ($machine, $timing, $kernel${params:+, $params}):"
	diag "${DIR[$name]}:"
	diag "$(guestlog lines "${DIR[$name]}" PROBE "$PROBE" 2>&1 | sed 's/^PROBE: /  /')"
done
diag "v7.3-rc7 on count-only (the bug of patch 3), PAUSE exits for 100,000 PAUSEs: $(probe base pause pause_exits)"
no_complaint() {
	local b name bad=0
	for b in "${BOOTS[@]}"; do
		name=${b%%|*}
		[ -z "${DIR[$name]:-}" ] || no_complaints "${DIR[$name]}" || bad=1
	done
	return "$bad"
}
check "no kernel complaint in any probe run" no_complaint

done_testing
