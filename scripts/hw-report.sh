#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# hw-report.sh [--out FILE]      (make hw-report)
# hw-report.sh --log FILE [--out FILE]
#
# The series on this host's AMD CPU, through QEMU/KVM: the calibration
# probe (kvm:ple_probe), svm_pause_filter_test and the upstream selftests
# (ci/upstream-tests.txt) on v7.3-rc7 and on the patched kernel, on the
# machines hw-zen (threshold mode) and hw-count-only (count-only mode) of
# config/machines; then the same kernels on tcg-svm (QEMU's TCG: no pause
# filter, the PAUSE test must skip), which runs on any host.  Writes ONE
# text file (default: $PLE_CACHE/reports/hw-report-DATE.txt) and prints
# its path last: the host's CPU and kernel, what ran and what was skipped
# and why (a machine this host cannot run is "not run on hardware:
# <reason>"), the results (scripts/read/guestlog.py report), and the lines to
# paste under "Tested-by:" when every hw machine that could run did and
# passed.  Nothing is sent anywhere.
#
# A machine passes when svm_pause_filter_test is ok on the patched kernel,
# no upstream test that is ok on v7.3-rc7 is not ok on it, and its log has
# no kernel complaint (WARN, BUG, Oops, UBSAN, panic).
#
# --log FILE judges a kselftest log made without this harness (bare metal:
# run_kselftest.sh's or `make -C tools/testing/selftests TARGETS=kvm
# run_tests` output, saved to FILE), booting nothing: the same report,
# with FILE's table.  Run it on the machine FILE comes from: the host
# section and the Tested-by: line describe this host.  FILE passes when no
# test of it failed or has no result, svm_pause_filter_test is ok or
# skipped (it skips on Intel: SVM only), and it has no kernel complaint.
# Environment: HW_TCG_TESTS, the tests of the TCG run (default: the PAUSE
# test and kvm_binary_stats_test); GUEST_TIMEOUT (s, default 600).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=scripts/lib/guests.sh
source "$(dirname "$0")/lib/guests.sh"

HW_MACHINES="hw-zen hw-count-only"
TCG_MACHINE=tcg-svm
REPORT_DIR=$CACHE_DIR/reports
# The SVM feature flags of /proc/cpuinfo (arch/x86/include/asm/cpufeatures.h).
SVM_FLAGS="svm npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid
	decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif x2avic
	v_spec_ctrl vnmi sev sev_es sev_snp"

usage() {
	echo "usage: ${0##*/} [-h|--help] [--log KSELFTEST_LOG] [--out FILE]"
	echo "  writes one report (default: $REPORT_DIR/hw-report-DATE.txt), prints its path"
}

parse_args() {
	OUT="" KLOG=""
	parse_opts 'out=OUT log=KLOG' '' "$@"
	no_args
	[[ -z $KLOG || -r $KLOG ]] || die "cannot read the log '$KLOG'"
	mkdir -p "$REPORT_DIR"
	[[ -n $OUT ]] || OUT=$REPORT_DIR/hw-report-$(date -u +%Y%m%d-%H%M%S).txt
}

# cpuinfo FIELD: the first value of FIELD in /proc/cpuinfo.
cpuinfo() { awk -F': *' -v f="$1" '{ sub(/[ \t]+$/, "", $1) } $1 == f { print $2; exit }' /proc/cpuinfo; }

# svm_flags: the SVM flags this host's first CPU has.
svm_flags() {
	local f have=() flags
	flags=" $(cpuinfo flags) "
	for f in $SVM_FLAGS; do
		[[ $flags != *" $f "* ]] || have+=("$f")
	done
	echo "${have[*]:-(none)}"
}

host_section() {
	echo "== host"
	echo "CPU:      $(cpuinfo 'model name') ($(cpuinfo vendor_id))"
	echo "          family $(cpuinfo 'cpu family'), model $(cpuinfo model), stepping $(cpuinfo stepping)"
	echo "SVM flags of /proc/cpuinfo: $(svm_flags)"
	echo "kernel:   $(uname -r)"
	echo "QEMU:     $(qemu-system-x86_64 --version 2>/dev/null | head -n 1 || echo "not installed")"
	echo "series:   $(git -C "$REPO_DIR" describe --always --dirty 2>/dev/null || echo unknown) of $REPO_DIR"
}

# run_machine MACHINE TESTS: boots base and patched on MACHINE with TESTS,
# into BOOT[MACHINE-base] and BOOT[MACHINE-patched]; on a line of $RUNS,
# what ran or why not ("MACHINE|ran|" or "MACHINE|skipped|REASON").
run_machine() {
	local m=$1 tests=$2 why dirs=()
	if why=$(emulator_missing "$m"); then
		echo "$m|skipped|${why#"machine $m unavailable: "}" >>"$RUNS"
		return 0
	fi
	mapfile -t dirs < <({
		boot_spec base "${KERNEL[base]}" "$m" "" "" "$tests"
		boot_spec patched "${KERNEL[patched]}" "$m" "" "" "$tests"
	} | run_guests hw-report)
	BOOT[$m-base]=${dirs[0]} BOOT[$m-patched]=${dirs[1]}
	echo "$m|ran|" >>"$RUNS"
}

# boot_failures MACHINE: for each kernel whose boot did not reach
# PLE-DONE, its exit status and the boot script's last lines.
boot_failures() {
	local k d rc
	for k in base patched; do
		d=${BOOT[$1-$k]}
		rc=$(boot_status "$d")
		[[ $rc != 0 ]] || continue
		echo "boot of $k: exit $rc (2 no PLE-DONE, 3 timeout, 4 panic/BUG/Oops, 5 unavailable); its last lines:"
		boot_failure "$d" | tail -n 8 | sed 's/^/  /'
	done
}

# res LOG TEST: the test's result, "none" for a log that cannot be read.
res() { guestlog result "$1" "$2" 2>/dev/null || echo none; }

# verdict MACHINE: "passed", or "FAILED: <why>", of a machine that ran.
verdict() {
	local b=${BOOT[$1-base]} p=${BOOT[$1-patched]} t bad=()
	[[ $(boot_status "$p") == 0 ]] || bad+=("the patched kernel's boot failed;")
	[[ $(res "$p" "$PLE_TEST") == ok ]] ||
		bad+=("${PLE_TEST#*:} on the patched kernel: $(res "$p" "$PLE_TEST"): $(guestlog why "$p" "$PLE_TEST" 2>&1);")
	for t in $(upstream_tests); do
		[[ $(res "$b" "$t") != ok || $(res "$p" "$t") == ok ]] || bad+=("$t ok on the base, not on the patched kernel;")
	done
	no_complaints "$p" >/dev/null || bad+=("kernel complaints in $p, or no log to read")
	if ((${#bad[@]})); then
		echo "FAILED: ${bad[*]}"
	else
		echo passed
	fi
}

# machine_section MACHINE STATE REASON: one machine's rows.
machine_section() {
	local m=$1 state=$2 why=$3 hw=""
	[[ $m == "$TCG_MACHINE" ]] || hw=1
	echo
	echo "== $m ($(machine_field "$m" emulator), -cpu $(machine_field "$m" cpu)): $(machine_field "$m" kvm)"
	if [[ $state == skipped && -n $hw ]]; then
		echo "not run on hardware: $why"
		return 0
	elif [[ $state == skipped ]]; then
		echo "not run: $why"
		return 0
	fi
	echo "base boot: ${BOOT[$m-base]}"
	echo "patched boot: ${BOOT[$m-patched]}"
	boot_failures "$m"
	[[ -z $hw ]] || echo "verdict: $(verdict "$m")"
	[[ -n $hw ]] || echo "${PLE_TEST#*:} on the patched kernel: $(res "${BOOT[$m-patched]}" "$PLE_TEST"): $(guestlog why "${BOOT[$m-patched]}" "$PLE_TEST")"
	guestlog report "${BOOT[$m-base]}" "${BOOT[$m-patched]}"
}

# tested_by: the lines for "Tested-by:", when at least one hw machine ran
# and every one that ran passed.
tested_by() {
	local m state why modes=() who
	echo
	echo "== Tested-by"
	while IFS='|' read -r m state why; do
		[[ $m == "$TCG_MACHINE" || $state != ran ]] && continue
		[[ $(verdict "$m") == passed ]] || { echo "(none: $m did not pass)"; return 0; }
		modes+=("$m")
	done <"$RUNS"
	((${#modes[@]})) || { echo "(none: no hw machine ran on this host)"; return 0; }
	who="$(git config user.name 2>/dev/null || echo 'Your Name') <$(git config user.email 2>/dev/null || echo you@example.org)>"
	echo "Tested-by: $who # $(cpuinfo 'model name'), family $(cpuinfo 'cpu family') model $(cpuinfo model) stepping $(cpuinfo stepping): ${modes[*]}"
}

# log_verdict: "passed", or "FAILED: <why>", of the --log file.
log_verdict() {
	local r t bad=()
	while IFS=$'\t' read -r r t; do
		case "$r" in
		fail | none) bad+=("$t: $r: $(guestlog why "$KLOG" "$t");") ;;
		esac
	done < <(guestlog results "$KLOG")
	case "$(res "$KLOG" "$PLE_TEST")" in
	ok | skip | fail) ;;
	*) bad+=("${PLE_TEST#*:} not in the log;") ;;
	esac
	no_complaints "$KLOG" >/dev/null || bad+=("kernel complaints in the log, or no log to read")
	if ((${#bad[@]})); then echo "FAILED: ${bad[*]}"; else echo passed; fi
}

# write_log_report: the report of --log FILE.
write_log_report() {
	local v who
	v=$(log_verdict)
	{
		echo "hw-report.sh --log $KLOG: $(date -u '+%Y-%m-%d %H:%M UTC'); nothing was sent anywhere"
		echo "(the host below is the one this report was written on)"
		host_section
		echo
		echo "== kselftest log $KLOG (no harness, no boot)"
		echo "${PLE_TEST#*:}: $(res "$KLOG" "$PLE_TEST")$(guestlog why "$KLOG" "$PLE_TEST" | sed 's/^/: /')"
		echo "verdict: $v"
		guestlog report "$KLOG"
		echo
		echo "== Tested-by"
		if [[ $v == passed ]]; then
			who="$(git config user.name 2>/dev/null || echo 'Your Name') <$(git config user.email 2>/dev/null || echo you@example.org)>"
			echo "Tested-by: $who # $(cpuinfo 'model name'), family $(cpuinfo 'cpu family') model $(cpuinfo model) stepping $(cpuinfo stepping): KVM selftests, ${PLE_TEST#*:} $(res "$KLOG" "$PLE_TEST")"
		else
			echo "(none: the log did not pass)"
		fi
	} >"$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
}

write_report() {
	local m state why
	{
		echo "hw-report.sh: $(date -u '+%Y-%m-%d %H:%M UTC'); nothing was sent anywhere"
		host_section
		echo
		echo "== what ran"
		while IFS='|' read -r m state why; do
			echo "$m: $state${why:+: $why}"
		done <"$RUNS"
		while IFS='|' read -r m state why; do
			machine_section "$m" "$state" "$why"
		done <"$RUNS"
		tested_by
	} >"$OUT.tmp"
	mv -f "$OUT.tmp" "$OUT"
}

main() {
	local m hw_tests
	parse_args "$@"
	if [[ -n $KLOG ]]; then
		write_log_report
		log "report of $KLOG written"
		echo "$OUT"
		return 0
	fi
	RUNS=$(mktemp "${TMPDIR:-/tmp}/ple-hw.XXXXXX")
	# shellcheck disable=SC2064 # expand now
	trap "rm -f '$RUNS'" EXIT
	guests_init
	declare -gA KERNEL BOOT
	KERNEL[base]=$(step "build v7.3-rc7" "$REPO_DIR/scripts/build/build.sh" base) ||
		die "the base kernel does not build"
	KERNEL[patched]=$(step "build the series" "$REPO_DIR/scripts/build/build.sh" patched) ||
		die "the patched kernel does not build"
	step "build the KVM selftests" ensure_selftests >/dev/null || die "the KVM selftests do not build"
	hw_tests="kvm:ple_probe $PLE_TEST $(upstream_tests | tr '\n' ' ')"
	for m in $HW_MACHINES; do
		run_machine "$m" "$hw_tests"
	done
	run_machine "$TCG_MACHINE" "${HW_TCG_TESTS:-$PLE_TEST kvm:kvm_binary_stats_test}"
	write_report
	log "report written"
	echo "$OUT"
}

main "$@"
