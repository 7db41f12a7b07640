#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh [--short]   (make bench)
#
# A benchmark, not a check: what restored PAUSE filtering buys on the
# count-only machine (config/machines: AMD families 10h/12h/14h), and which window
# policy count-only mode should use.  probes/ple_bench.c runs in the
# emulated host on the patched kernel and measures, in guest TSC cycles:
#   - a ticket-spinlock hand-off between 2 and 4 vCPUs on the host's one CPU
#     (2:1 and 4:1 overcommit), waiters spinning on PAUSE with IF=1 (the
#     host's tick exits them, as on hardware: see probes/ple_bench.c);
#   - a legitimate 1/10/100 ms PAUSE busy-wait of one vCPU: PAUSE exits, and
#     the loop passes lost to them.
# Configurations:
#   no filtering  v7.3-rc7 on this CPU.  Its svm_vm_init() disables PAUSE
#                 exiting (kvm_disable_exits(kvm, PAUSE)) whenever
#                 pause_filter_thresh is 0, which is what the bench does with
#                 KVM_CAP_X86_DISABLE_EXITS(PAUSE) on the patched kernel,
#                 whose other code is the same: the honest base, with the
#                 PAUSE-exit count to show that nothing is intercepted.
#   fixed window  kvm_amd.pause_filter_count_grow=0: 3000 PAUSEs always
#                 (KVM before v5.9 on these CPUs, and Xen)
#   growing       the defaults: 3000, x2 per PAUSE exit up to 65535, back
#                 to 3000 when the vCPU is scheduled back in
# "no filtering" and "growing" come from the same boot, "fixed" from a
# second one.  The emulator's clock is an instruction count (Bochs
# `clock: sync=none`), so one ips value gives one deterministic run; each
# timing model (config/timing-models: K10, Bobcat, and Zen for an L1 with
# PauseFilter alone) is one phase of the host tick too, and the figures
# are the median [min-max] over them.  Threshold mode is not measured:
# the bench is about what count-only mode gains from the series.
#
# This script boots; scripts/read/benchlog.py reads the logs' BENCH records and
# does the analysis (the modes, their labels and the record fields are
# defined there).  Prints the tables, the commands that reproduce them,
# where the plot and the JSON summary are ($CACHE_DIR/bench/MODE/), which
# window policy is better, and last, per timing model:
#   overcommit 2:1 hand-off, faster with filtering: <ratio>x (<model>), ...
# (no filtering's median cycles per hand-off over the growing window's).
#
# --short  one timing model (5 GHz Zen, the cheapest to emulate) and short
#          hand-off spans (ci/70-bench.t: the pipeline, not the figures)
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/guests.sh
. "$(dirname "$0")/lib/guests.sh"

BENCH=kvm:ple_bench
# Tick phases: the count-only machine's timing models.
PHASES_FULL=(k10-3.2ghz bobcat-1.6ghz zen-2ghz zen-5ghz)
PHASES_SHORT=(zen-5ghz)
# boot | kvm_amd parameters | ple.bench flags (probes/ple_bench.c)
BOOTS=(
	"growing||"
	"fixed|kvm_amd.pause_filter_count_grow=0|nobase"
)

usage() { echo "usage: ${0##*/} [-h|--help] [--short]"; }

parse_args() {
	SHORT="" CPUS=(count-only)
	parse_opts '' 'short=SHORT' "$@"
	no_args
	if [ -n "$SHORT" ]; then
		PHASES=("${PHASES_SHORT[@]}") MODE=short FLAGS=short
		export GUEST_TIMEOUT=${GUEST_TIMEOUT:-240}
	else
		PHASES=("${PHASES_FULL[@]}") MODE=full FLAGS=""
		export GUEST_TIMEOUT=${GUEST_TIMEOUT:-600}
	fi
	OUT=$CACHE_DIR/bench/$MODE
}

# benchlog CMD ...: scripts/read/benchlog.py, the bench's analysis (its
# docstring has the commands): the records, the tables, the verdict.
benchlog() { "$GUESTLOG_PYTHON" "$REPO_DIR/scripts/read/benchlog.py" "$@"; }

# boot_params BOOT_ROW: the kernel command line of a boot.
boot_params() {
	local kparams flags
	IFS="|" read -r _ kparams flags <<<"$1"
	flags=$(printf '%s\n' "$FLAGS" "$flags" | paste -sd, | sed 's/^,//; s/,$//')
	echo "${kparams:+$kparams }ple.bench=${flags:-full} ple.timeout=$GUEST_TIMEOUT"
}

# plan_boots: every boot, phase x machine x row of BOOTS, once: SPECS (for
# run_guests) and RUNS (benchlog.py's --run words but the log: machine,
# phase, ips, boot), index for index.
plan_boots() {
	local cpu phase row
	SPECS=() RUNS=()
	for phase in "${PHASES[@]}"; do
		for cpu in "${CPUS[@]}"; do
			for row in "${BOOTS[@]}"; do
				SPECS+=("$(boot_spec patched "$KERNEL" "$cpu" "$phase" "$(boot_params "$row")" "$BENCH")")
				RUNS+=("$cpu $phase $(timing_ips "$phase") ${row%%|*}")
			done
		done
	done
}

# boot_all: every boot, into DIRS (index for index with SPECS); every one
# ran the bench to its end, or the bench stops saying where it did not.
boot_all() {
	local i r bad=0
	mapfile -t DIRS < <(printf '%s\n' "${SPECS[@]}" | run_guests "bench-$MODE")
	[ "${#DIRS[@]}" -eq "${#SPECS[@]}" ] || die "the runner returned ${#DIRS[@]} boots of ${#SPECS[@]}"
	for i in "${!DIRS[@]}"; do
		if [ "$(boot_status "${DIRS[$i]}")" -ne 0 ]; then
			log "the boot in ${DIRS[$i]} failed (status $(boot_status "${DIRS[$i]}")); its run.out ends:"
			boot_failure "${DIRS[$i]}" | sed 's/^/  /' >&2
			bad=1
			continue
		fi
		r=$(guestlog result "${DIRS[$i]}" "$BENCH")
		[ "$r" = ok ] && continue
		log "$BENCH gave '$r' in ${DIRS[$i]}: $(guestlog why "${DIRS[$i]}" "$BENCH")"
		bad=1
	done
	[ "$bad" -eq 0 ] || die "the bench did not complete in every boot (boots in $RUNS_DIR/bench-$MODE)"
}

# run_args: benchlog.py's --run arguments, one per boot, into RUN_ARGS.
run_args() {
	local i
	RUN_ARGS=()
	for i in "${!DIRS[@]}"; do
		# shellcheck disable=SC2206 # RUNS: words
		RUN_ARGS+=(--run ${RUNS[$i]} "${DIRS[$i]}")
	done
}

# plot: scripts/read/benchlog.py's plot data through gnuplot, to handoff.svg.
plot() {
	local dat=$OUT/handoff.dat
	benchlog plotdata "$SUMMARY" >"$dat"
	cat >"$OUT/handoff.gp" <<-EOF
		set terminal svg size 800,500 dynamic
		set output '$OUT/handoff.svg'
		set title "Ticket-lock hand-off, count-only CPU (median, min-max over ${#PHASES[@]} tick phase(s))"
		set ylabel 'guest TSC cycles per hand-off'
		set logscale y
		set grid ytics
		set style data histogram
		set style histogram errorbars gap 1 lw 1
		set style fill solid 0.6 border -1
		set key top right
		plot '$dat' using 2:3:4:xtic(1) title '2 vCPUs on 1 CPU', '' using 5:6:7 title '4 vCPUs on 1 CPU'
	EOF
	gnuplot "$OUT/handoff.gp" || die "gnuplot failed on $OUT/handoff.gp"
}

reproduce() {
	echo "Reproduce: make bench (scripts/bench.sh${SHORT:+ --short}); one boot again: its directory's rerun, e.g."
	printf '  %s/rerun\n' "${DIRS[@]:0:${#BOOTS[@]}}"
	echo "  phases (ips): $(for p in "${PHASES[@]}"; do printf '%s (%s) ' "$p" "$(timing_ips "$p")"; done)"
}

report() {
	{
		benchlog tables "$SUMMARY"
		reproduce
	} | tee "$OUT/table.txt"
	plot
	echo "Table: $OUT/table.txt; plot: $OUT/handoff.svg; summary: $SUMMARY; boots: $RUNS_DIR/bench-$MODE"
	benchlog verdict "$SUMMARY"
}

main() {
	local start=$SECONDS
	parse_args "$@"
	guests_init
	need_cmd gnuplot gnuplot-nox
	KERNEL=$(step "build the series" "$REPO_DIR/scripts/build/build.sh" patched) ||
		die "the patched kernel does not build"
	step "build the KVM selftests and probes" ensure_selftests >/dev/null ||
		die "the KVM selftests or probes/ple_bench.c do not build"
	mkdir -p "$OUT"
	rm -f "$OUT"/records.txt "$OUT"/summary.txt "$OUT"/summary.json
	plan_boots
	log "booting ${#SPECS[@]} guests, $(njobs) at a time (phases: ${PHASES[*]})"
	boot_all
	SUMMARY=$OUT/summary.json
	run_args
	benchlog summarize --json "$SUMMARY" "${RUN_ARGS[@]}" ||
		die "the bench's records do not add up (boots in $RUNS_DIR/bench-$MODE)"
	report
	echo "bench wall time: $((SECONDS - start)) s"
	benchlog speedup "$SUMMARY"
}

main "$@"
