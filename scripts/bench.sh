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
# are the median [min-max] over them.  Threshold mode has no emulator
# (config/machines): no Zen reference.
#
# Prints the tables, the commands that reproduce them, where the plot is
# ($CACHE_DIR/bench/MODE/), which window policy is better, and last:
#   overcommit 2:1 hand-off: <ratio>x faster with filtering
# (no filtering's median cycles per hand-off over the growing window's).
#
# --short  one timing model (K10) and short hand-off spans (ci/70-bench.t)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/emu.sh
. "$(dirname "$0")/emu.sh"

BENCH=kvm:ple_bench
# Tick phases: the count-only machine's timing models.
PHASES_FULL=(k10-3.2ghz bobcat-1.6ghz zen-2ghz zen-5ghz)
PHASES_SHORT=(k10-3.2ghz)
# boot | kvm_amd parameters | ple.bench flags (probes/ple_bench.c)
BOOTS=(
	"growing||"
	"fixed|kvm_amd.pause_filter_count_grow=0|nobase"
)
# mode (as ple_bench prints it) | label in the tables
MODES=(
	"nofilter|no filtering (v7.3-rc7)"
	"fixed|fixed window (3000)"
	"growing|growing window (default)"
)

usage() { echo "usage: ${0##*/} [-h|--help] [--short]"; }

parse_args() {
	SHORT="" CPUS=(count-only)
	while [ $# -gt 0 ]; do
		case "$1" in
		-h | --help) usage; exit 0 ;;
		--short) SHORT=1 ;;
		*) usage >&2; die "unexpected argument '$1'" ;;
		esac
		shift
	done
	if [ -n "$SHORT" ]; then
		PHASES=("${PHASES_SHORT[@]}") MODE=short FLAGS=short
		export GUEST_TIMEOUT=${GUEST_TIMEOUT:-240}
	else
		PHASES=("${PHASES_FULL[@]}") MODE=full FLAGS=""
		export GUEST_TIMEOUT=${GUEST_TIMEOUT:-600}
	fi
	OUT=$CACHE_DIR/bench/$MODE
}

# boot_name CPU PHASE BOOT: the guest's log name.
boot_name() { echo "bench-$MODE-$1-$2-$3"; }

# boot_params BOOT_ROW: the kernel command line of a boot.
boot_params() {
	local boot kparams flags
	IFS='|' read -r boot kparams flags <<<"$1"
	flags=$(printf '%s\n' "$FLAGS" "$flags" | paste -sd, | sed 's/^,//; s/,$//')
	echo "${kparams:+$kparams }ple.bench=${flags:-full} ple.timeout=$GUEST_TIMEOUT"
}

# cpu_boots MACHINE: the boots of a machine.
cpu_boots() { printf '%s\n' "${BOOTS[@]}"; }

boot_all() {
	local kernel=$1 cpu phase row
	for phase in "${PHASES[@]}"; do
		for cpu in "${CPUS[@]}"; do
			while read -r row; do
				guest_bg "$(boot_name "$cpu" "$phase" "${row%%|*}")" "$kernel" \
					"$BENCH" "$(boot_params "$row")" "$cpu" "$phase"
			done < <(cpu_boots "$cpu")
		done
	done
	wait || true
}

# records: every BENCH line of the run, each prefixed with its boot, as
# "cpu=C phase=P ips=N boot=B kind: key=value...".
records() {
	local cpu phase row log boot
	for phase in "${PHASES[@]}"; do
		for cpu in "${CPUS[@]}"; do
			while read -r row; do
				boot=${row%%|*}
				log=$LOG_DIR/$(boot_name "$cpu" "$phase" "$boot").log
				[ -f "$log" ] || die "no log $log"
				guestlog lines "$log" BENCH "$BENCH" |
					sed "s/^BENCH: /cpu=$cpu phase=$phase ips=$(timing_ips "$phase") boot=$boot /"
			done < <(cpu_boots "$cpu")
		done
	done
}

# check_logs: every boot ran the bench to its end.
check_logs() {
	local cpu phase row log r bad=0
	for phase in "${PHASES[@]}"; do
		for cpu in "${CPUS[@]}"; do
			while read -r row; do
				log=$LOG_DIR/$(boot_name "$cpu" "$phase" "${row%%|*}").log
				r=$(result "$log" "$BENCH")
				[ "$r" = ok ] && continue
				log "$BENCH gave '$r' in $log: $(guestlog why "$log" "$BENCH")"
				bad=1
			done < <(cpu_boots "$cpu")
		done
	done
	[ "$bad" -eq 0 ] || die "the bench did not complete in every boot (logs in $LOG_DIR)"
}

# summarize: the records reduced over the phases, one line per figure:
#   handoff CPU MODE VCPUS FIELD MEDIAN MIN MAX
#   wait CPU MODE MS FIELD MEDIAN MIN MAX
# "nofilter" waits come from the default boot only (the fixed boot runs
# the same reference waits).
summarize() {
	awk '
	function val(k,   i, kv) {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == k) return kv[2]
		}
		return ""
	}
	function add(key, v) { n[key]++; x[key, n[key]] = v + 0 }
	function sort(key,   i, j, t) {
		for (i = 2; i <= n[key]; i++)
			for (j = i; j > 1 && x[key, j - 1] > x[key, j]; j--) {
				t = x[key, j]; x[key, j] = x[key, j - 1]; x[key, j - 1] = t
			}
	}
	function median(key,   m) {
		m = n[key]
		return m % 2 ? x[key, (m + 1) / 2] : (x[key, m / 2] + x[key, m / 2 + 1]) / 2
	}
	$5 == "handoff:" {
		k = "handoff " val("cpu") " " val("mode") " " val("vcpus")
		ips = val("ips"); span = val("span_cycles")
		add(k " cyc_median", val("cyc_median"))
		add(k " cyc_p10", val("cyc_p10"))
		add(k " cyc_p90", val("cyc_p90"))
		add(k " cyc_mean", val("cyc_mean"))
		add(k " us_median", val("cyc_median") * 1e6 / ips)
		add(k " per_sec", val("per_sec"))
		add(k " pause_exits_per_sec", span ? val("pause_exits") * ips / span : 0)
		add(k " yields_ok_per_handoff", val("handoffs") ? val("yields_ok") / val("handoffs") : 0)
	}
	$5 == "wait:" && !(val("mode") == "nofilter" && val("boot") != "growing") {
		k = "wait " val("cpu") " " val("mode") " " val("ms")
		add(k " pause_exits", val("pause_exits"))
		add(k " pause_exits_per_sec", val("pause_exits_per_sec"))
		add(k " lost_pct", val("lost_pct"))
		add(k " cyc_per_pause_exit", val("cyc_per_pause_exit"))
	}
	END {
		for (key in n) {
			sort(key)
			printf "%s %.6g %.6g %.6g\n", key, median(key), x[key, 1], x[key, n[key]]
		}
	}' "$1" | sort
}

# fig KIND CPU MODE N FIELD: "MEDIAN MIN MAX" of a figure, or "- - -".
fig() {
	awk -v k="$1 $2 $3 $4 $5" '$1" "$2" "$3" "$4" "$5 == k { print $6, $7, $8; f = 1 }
		END { if (!f) print "- - -" }' "$SUMMARY"
}

# med KIND CPU MODE N FIELD: the median alone.
med() { fig "$@" | cut -d' ' -f1; }

# range KIND CPU MODE N FIELD: "MEDIAN [MIN-MAX]", integers.
range() {
	local m lo hi
	read -r m lo hi < <(fig "$@")
	[ "$m" != - ] || { echo "-"; return; }
	if [ ${#PHASES[@]} -eq 1 ]; then
		printf '%.0f' "$m"
	else
		printf '%.0f [%.0f-%.0f]' "$m" "$lo" "$hi"
	fi
}

# cpu_modes MACHINE: the modes measured on a machine.
cpu_modes() { printf '%s\n' "${MODES[@]}"; }

cpu_title() {
	case "$1" in
	count-only) echo "count-only machine (AMD fam. 10h/12h/14h: PauseFilter, no PFThreshold)" ;;
	esac
}

table_handoff() {
	local cpu=$1 row mode label
	echo "Lock hand-off under overcommit, $(cpu_title "$cpu")"
	echo "ticket spinlock, waiters spin on PAUSE with IF=1, critical section 1000 loops;"
	echo "guest TSC cycles per hand-off: median of the run's hand-offs, then median [min-max] over the phases"
	printf '%-27s %-45s %s\n' "" "2 vCPUs / 1 CPU (2:1)" "4 vCPUs / 1 CPU (4:1)"
	printf '%-27s %-25s %-19s %-25s %s\n' configuration cycles/hand-off hand-offs/s \
		cycles/hand-off hand-offs/s
	while IFS='|' read -r mode label; do
		printf '%-27s %-25s %-19s %-25s %s\n' "$label" \
			"$(range handoff "$cpu" "$mode" 2 cyc_median)" \
			"$(range handoff "$cpu" "$mode" 2 per_sec)" \
			"$(range handoff "$cpu" "$mode" 4 cyc_median)" \
			"$(range handoff "$cpu" "$mode" 4 per_sec)"
	done < <(cpu_modes "$cpu")
}

# num FORMAT VALUE: VALUE through printf's FORMAT, or "-".
# shellcheck disable=SC2059 # the format is the argument
num() { if [ "$2" = - ]; then echo -; else printf "$1" "$2"; fi; }

# wait_cell CPU MODE MS: "EXITS (N/s, L%)" of one busy-wait.
wait_cell() {
	printf '%s (%s/s, %s%%)' "$(num %.0f "$(med wait "$@" pause_exits)")" \
		"$(num %.0f "$(med wait "$@" pause_exits_per_sec)")" \
		"$(num %.2f "$(med wait "$@" lost_pct)")"
}

table_wait() {
	local cpu=$1 mode label
	echo "Legitimate busy-wait, $(cpu_title "$cpu")"
	echo "1 vCPU alone, PAUSE loop on the TSC with IF=1: PAUSE exits (per second, loop cycles lost),"
	echo "median over the phases"
	printf '%-27s %-26s %-26s %-26s\n' configuration "1 ms" "10 ms" "100 ms"
	while IFS='|' read -r mode label; do
		printf '%-27s %-26s %-26s %-26s\n' "$label" "$(wait_cell "$cpu" "$mode" 1)" \
			"$(wait_cell "$cpu" "$mode" 10)" "$(wait_cell "$cpu" "$mode" 100)"
	done < <(cpu_modes "$cpu")
}

# table_phases CPU: per phase, the median (p10-p90) of each run.
table_phases() {
	local cpu=$1
	echo "Per phase ($cpu): cycles per hand-off, median (p10-p90) of the run; 100 ms wait PAUSE exits"
	printf '%-22s %-10s %-26s %-26s %s\n' "phase (ips)" mode 2:1 4:1 "wait 100 ms"
	awk -v cpu="$cpu" '
	function val(k,   i, kv) {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] }
		return ""
	}
	val("cpu") != cpu || ($5 != "handoff:" && $5 != "wait:") { next }
	{ p = val("phase") " (" val("ips") ")"; m = val("mode") }
	!(p in seen) { seen[p] = 1; order[++np] = p }
	!((p, m) in seenm) { seenm[p, m] = 1; modes[p, ++nm[p]] = m }
	$5 == "handoff:" {
		h[p, m, val("vcpus")] = sprintf("%d (%d-%d)", val("cyc_median"), val("cyc_p10"), val("cyc_p90"))
	}
	$5 == "wait:" && val("ms") == 100 { w[p, m] = val("pause_exits") }
	END {
		for (i = 1; i <= np; i++)
			for (j = 1; j <= nm[order[i]]; j++) {
				p = order[i]; m = modes[p, j]
				printf "%-22s %-10s %-26s %-26s %s\n", p, m, h[p, m, 2], h[p, m, 4], w[p, m]
			}
	}' "$RECORDS"
}

plot() {
	local cpu=count-only dat=$OUT/handoff.dat mode label
	need_cmd gnuplot gnuplot-nox
	: >"$dat"
	while IFS='|' read -r mode label; do
		printf '"%s" %s %s\n' "${label% (*}" "$(fig handoff "$cpu" "$mode" 2 cyc_median)" \
			"$(fig handoff "$cpu" "$mode" 4 cyc_median)" >>"$dat"
	done < <(cpu_modes "$cpu")
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

# ratio A B: A / B with one decimal.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }

# verdict: which window policy count-only mode should use, with figures.
verdict() {
	local cpu=count-only f2 g2 f4 g4 fx gx fl gl
	f2=$(med handoff "$cpu" fixed 2 cyc_median) g2=$(med handoff "$cpu" growing 2 cyc_median)
	f4=$(med handoff "$cpu" fixed 4 cyc_median) g4=$(med handoff "$cpu" growing 4 cyc_median)
	fx=$(med wait "$cpu" fixed 100 pause_exits_per_sec) gx=$(med wait "$cpu" growing 100 pause_exits_per_sec)
	fl=$(med wait "$cpu" fixed 100 lost_pct) gl=$(med wait "$cpu" growing 100 lost_pct)
	awk -v f2="$f2" -v g2="$g2" -v f4="$f4" -v g4="$g4" -v fx="$fx" -v gx="$gx" \
		-v fl="$fl" -v gl="$gl" 'BEGIN {
		# Within 10% on the hand-off is a tie there; the busy-wait decides.
		gh = g2 <= 1.1 * f2 && g4 <= 1.1 * f4
		fh = f2 <= 1.1 * g2 && f4 <= 1.1 * g4
		if (gh && gx <= fx) w = "growing window (the default)"
		else if (fh && fx <= gx) w = "fixed window (pause_filter_count_grow=0)"
		else w = "neither outright (a trade-off)"
		printf "window policy for count-only mode: %s is better:\n", w
		printf "  hand-off 2:1: fixed %.0f, growing %.0f cycles; 4:1: fixed %.0f, growing %.0f cycles\n", f2, g2, f4, g4
		printf "  100 ms busy-wait: fixed %.0f, growing %.0f PAUSE exits/s (%.2f%% vs %.2f%% of its cycles lost)\n", fx, gx, fl, gl
	}'
}

reproduce() {
	local row cpu=count-only phase=${PHASES[0]}
	echo "Reproduce: make bench (scripts/bench.sh${SHORT:+ --short}); one boot by hand, e.g."
	while read -r row; do
		printf '  scripts/run-guest.sh --machine %s --kernel %s --selftests %s --tests %s --timing %s --append "%s" --log /tmp/%s.log\n' \
			"$cpu" "$KERNEL" "$KSFT_INSTALL" "$BENCH" "$phase" "$(boot_params "$row")" "${row%%|*}"
	done < <(cpu_boots "$cpu")
	echo "  phases (ips): $(for p in "${PHASES[@]}"; do printf '%s (%s) ' "$p" "$(timing_ips "$p")"; done)"
}

report() {
	local cpu
	{
		for cpu in "${CPUS[@]}"; do
			table_handoff "$cpu"
			echo
			table_wait "$cpu"
			echo
			table_phases "$cpu"
			echo
		done
		reproduce
	} | tee "$OUT/table.txt"
	plot
	echo "Table: $OUT/table.txt; plot: $OUT/handoff.svg; raw figures: $RECORDS; logs: $LOG_DIR/bench-$MODE-*.log"
	verdict
}

main() {
	local start=$SECONDS base grow
	parse_args "$@"
	need_cmd gnuplot gnuplot-nox
	KERNEL=$("$REPO_DIR/scripts/build.sh" patched) || die "the patched kernel does not build"
	ensure_selftests >/dev/null || die "the KVM selftests or probes/ple_bench.c do not build"
	mkdir -p "$OUT"
	rm -f "$LOG_DIR"/bench-"$MODE"-*.log
	log "booting $(( ${#PHASES[@]} * (${#BOOTS[@]} * ${#CPUS[@]} - ${#CPUS[@]} + 1) )) guests," \
		"$(njobs) at a time (phases: ${PHASES[*]})"
	boot_all "$KERNEL"
	check_logs
	RECORDS=$OUT/records.txt SUMMARY=$OUT/summary.txt
	records >"$RECORDS"
	summarize "$RECORDS" >"$SUMMARY"
	report
	echo "bench wall time: $((SECONDS - start)) s"
	base=$(med handoff count-only nofilter 2 cyc_median)
	grow=$(med handoff count-only growing 2 cyc_median)
	echo "overcommit 2:1 hand-off: $(ratio "$base" "$grow")x faster with filtering"
}

main "$@"
