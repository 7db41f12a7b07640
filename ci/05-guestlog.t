#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The one reader of guest serial logs (scripts/read/guestlog.py), on saved logs
# (ci/testdata/guestlog/*.log, CRLF as the serial console writes them): a
# pass, a fail with its assertion, a whole-test skip and subtest skips, the
# probe's and a benchmark's figures, a panic, a WARN with UBSAN, a hang
# (no PLE-DONE), lines split by the guest's drain messages, a log cut
# mid-line, and what a failed build leaves.  Each log's records are also
# compared whole with its .json (after a deliberate change of the records:
# GUESTLOG_UPDATE=1 prove ci/05-guestlog.t rewrites them; review the diff).
# No kernel, no Bochs; about a second.
# shellcheck disable=SC2317 # the functions run through check()
set -euo pipefail
# shellcheck source=ci/tap.sh
. "$(dirname "$0")/tap.sh"

D=$REPO_DIR/ci/testdata/guestlog
PLE=kvm:pause_loop_exit_test
# The interpreter behind python3 (not a pyenv shim: ~10x faster to start).
PY=$(python3 -c 'import sys; print(sys.executable)')
gl() { "$PY" "$REPO_DIR/scripts/read/guestlog.py" "$@"; }
# fails CMD...: CMD fails (a "! CMD" line in a body would not fail it).
fails() { ! "$@"; }
# is WANT CMD...: CMD prints exactly WANT (shown when it does not).
is() {
	local want=$1 got
	shift
	got=$("$@") || true
	[ "$got" = "$want" ] || { printf 'want: %s\ngot:  %s\n' "$want" "$got"; return 1; }
}

logs=("$D"/*.log)
plan $((${#logs[@]} + 21))

records() {
	local want=${1%.log}.json
	if [ -n "${GUESTLOG_UPDATE:-}" ]; then gl json "$1" >"$want"; fi
	gl json "$1" | diff -u "$want" -
}
for f in "${logs[@]}"; do
	check "${f##*/}: its records are those saved in $(basename "${f%.log}").json" records "$f"
done

pass() {
	is ok gl result "$D/pass.log" "$PLE"
	is ok gl result "$D/pass.log" pause_loop_exit_test
	is ok gl result "$D/pass.log" kvm:x86/pause_loop_exit_test
	is skip gl result "$D/pass.log" kvm:hyperv_svm_test
	is none gl result "$D/pass.log" kvm:no_such_test
	is rc=0 gl status "$D/pass.log"
	[ "$(gl lines "$D/pass.log" PLE "$PLE" | grep -c '^PLE: ')" -eq 6 ]
	is "PLE: kvm_amd: 15000 PAUSEs from window 3000: 2 PAUSE exits" \
		eval "gl lines '$D/pass.log' PLE | grep 15000"
	is "" gl lines "$D/pass.log" PLE kvm:kvm_binary_stats_test
	is "" gl complaints "$D/pass.log"
	is "" gl why "$D/pass.log" "$PLE"
}
check "pass: results ok/skip/none by COLLECTION:NAME or NAME, PLE-DONE rc=0, the test's PLE lines" pass

fail() {
	is fail gl result "$D/fail.log" "$PLE"
	is "Expected 1 PAUSE exits for 3002 PAUSEs from window 3000, got 0 (0 IRQ, 0 other exits) (3 times)" \
		gl why "$D/fail.log" "$PLE"
	is rc=1 gl status "$D/fail.log"
	[ "$(gl lines "$D/fail.log" PLE | wc -l)" -eq 5 ]
}
check "fail: result fail, why is the assertion's message (not its location, pid or sh noise)" fail

skips() {
	is skip gl result "$D/skip.log" "$PLE"
	is "KVM lacks the pause_exits vCPU stat" gl why "$D/skip.log" "$PLE"
	is ok gl result "$D/skip.log" kvm:kvm_binary_stats_test
	is ok gl result "$D/subtest-skip.log" "$PLE"
	gl output "$D/subtest-skip.log" "$PLE" |
		grep -qE 'SKIP exit count: PAUSEs [0-9]+ TSC cycles apart, gap 2'
	gl json "$D/subtest-skip.log" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tests"][0]
assert [s["result"] for s in t["subtests"]] == ["skip"] * 3 + ["ok"], t["subtests"]
assert t["subtests"][0]["reason"] == "exit count: PAUSEs 3 TSC cycles apart, gap 2"
assert t["subtests"][3]["desc"] == "KVM_X86_DISABLE_EXITS_PAUSE"'
}
check "skip: a whole-test skip with its reason; subtest skips inside an ok test (ci/matrix.txt's pattern)" skips

figures() {
	[ "$(gl lines "$D/probe.log" PROBE | wc -l)" -eq 3 ]
	is "BENCH: spin: 100000 PAUSEs in 3.206 ms" gl lines "$D/probe.log" BENCH kvm:ple_probe
	# make demo's figure (scripts/demo.sh probe_figure).
	is "4 (+3 tick exits)" eval "gl lines '$D/probe.log' PROBE | sed -n \
		's/^PROBE: pause: .* irq_exits=\([0-9]*\) pause_exits=\([0-9]*\) .*/\2 (+\1 tick exits)/p'"
	fails gl lines "$D/probe.log" NOPE >/dev/null 2>&1
}
check "figures: PROBE and BENCH lines like PLE ones; an unknown prefix is an error" figures

panic() {
	is panic gl status "$D/panic.log"
	fails gl status "$D/panic.log" >/dev/null
	is none gl result "$D/panic.log" "$PLE"
	is "no result: BUG: kernel NULL pointer dereference, address: 0000000000000008" \
		gl why "$D/panic.log" "$PLE"
	gl complaints --fatal "$D/panic.log" | grep -qx 'Kernel panic - not syncing: Fatal exception'
	gl complaints --fatal "$D/panic.log" | grep -qx 'Oops: Oops: 0000 \[#1\] SMP NOPTI'
	gl complaints --fatal "$D/panic.log" | fails grep -q 'Call Trace'
	gl complaints "$D/panic.log" | grep -qx 'Call Trace:'
}
check "panic: status panic (exit 1), no result, why names the BUG; --fatal is panic/BUG/Oops" panic

# early-de.log: a real one, from Debian sid's Bochs 3.1 (its miscomputed
# 64-bit IDIV, README): an exception before the kernel's handlers are up
# halts for good; the watchdog must not wait for its timeout.
early_exception() {
	is panic gl status "$D/early-de.log"
	gl complaints --fatal "$D/early-de.log" | grep -qx 'PANIC: early exception 0x00 IP 10:ffffffff8175c249 error 0 cr2 0xffff888001821000'
	gl pattern fatal | grep -qF 'PANIC: early exception '
}
check "early-de: an early exception is fatal, for the reader and the watchdog" early_exception

warn() {
	is ok gl result "$D/warn.log" "$PLE"
	is rc=0 gl status "$D/warn.log"
	is "UBSAN: shift-out-of-bounds in arch/x86/kvm/x86.h:412:12
PLE-WARN: the kernel is tainted 516 (W: a WARN fired); its log at warning and worse:
WARNING: arch/x86/kvm/svm/svm.c:3236 at pause_interception+0x71/0x90, CPU#0: pause_loop_exit/88
Call Trace:
UBSAN: shift-out-of-bounds in arch/x86/kvm/x86.h:412:12" gl complaints "$D/warn.log"
	is "" gl complaints --fatal "$D/warn.log"
	# The banner of kernels before __warn()'s 2025 rework is one too; the
	# warnings every boot logs (PLE-WARN's log shows them) are not.
	grep -qE -e "$(gl pattern complaint)" <<<'WARNING: CPU: 0 PID: 88 at pause_interception+0x71/0x90'
	fails grep -qE -e "$(gl pattern complaint)" <<<'!!! setcpuid=/clearcpuid= in use, this is for TESTING ONLY, may break things horribly. Tainting kernel.
[Firmware Bug]: TSC doesn'"'"'t count with P0 frequency!
Warning: Processor Platform Limit event detected, but not handled.'
}
check "warn: a UBSAN report, PLE-WARN and the WARN and Call Trace of its log are complaints, none fatal; the test still ok" warn

hang() {
	is none gl status "$D/hang.log"
	fails gl status "$D/hang.log" >/dev/null
	is ok gl result "$D/hang.log" kvm:kvm_binary_stats_test
	is none gl result "$D/hang.log" "$PLE"
	is "no result: the log ends while it runs" gl why "$D/hang.log" "$PLE"
}
check "hang: no PLE-DONE (status none, exit 1), the test that ran last has no result" hang

split() {
	is ok gl result "$D/split.log" "$PLE"
	is rc=0 gl status "$D/split.log"
	gl lines "$D/split.log" PLE | grep -qx 'PLE: kvm_amd: 15000 PAUSEs from window 3000: 2 PAUSE exits'
	diff <(gl lines "$D/pass.log" PLE "$PLE") <(gl lines "$D/split.log" PLE "$PLE")
	gl output "$D/split.log" "$PLE" | fails grep -q drain
}
check "split: drain messages (one with a printk timestamp) mid-line, PLE-DONE split: read whole" split

kvmmsg() {
	is ok gl result "$D/kvmmsg.log" kvm:nested_tsc_adjust_test
	is ok gl result "$D/kvmmsg.log" kvm:nested_x2apic_test
	gl output "$D/kvmmsg.log" kvm:nested_tsc_adjust_test | fails grep -q 'guest rIP'
}
check "kvmmsg: KVM's unhandled-MSR messages in the middle of result lines: read whole" kvmmsg

truncated() {
	fails gl status "$D/truncated.log" >/dev/null
	is none gl result "$D/truncated.log" "$PLE"
	is "PLE: kvm_amd: base 3000, grow 2, shrink 0, max 65535, gap 128
PLE: PAUSEs 3 TSC cycles apart" gl lines "$D/truncated.log" PLE
}
check "truncated: a line cut by a killed Bochs is no figure; no result, no PLE-DONE" truncated

nobuild() {
	is "not run: no kselftest output (the log begins: build failed)" gl why "$D/nobuild.log" "$PLE"
	is none gl result "$D/nobuild.log" "$PLE"
}
check "a log with no guest output: not run, and what it says instead" nobuild

live_patterns() {
	# boot-bochs.sh's watchdog greps the raw log with the module's patterns.
	is "$D/early-de.log
$D/panic.log" grep -lE -e "$(gl pattern fatal)" "${logs[@]}"
	is "$D/early-de.log
$D/panic.log
$D/warn.log" grep -lE -e "$(gl pattern complaint)" "${logs[@]}"
}
check "pattern fatal/complaint, as grep -E over the raw logs, find what the parser finds" live_patterns

live_done() {
	local f want=""
	# PLE-DONE: every log with a status but split.log, where a drain
	# message cuts the line (boot-bochs.sh waits for the drain, then parses).
	for f in "${logs[@]}"; do
		[ "$f" = "$D/split.log" ] || ! gl status "$f" >/dev/null || want+="${want:+$'\n'}$f"
	done
	is "$want" grep -lE -e "$(gl pattern "done")" "${logs[@]}"
	is "$D/split.log" grep -lE -e "$(gl pattern drain)" "${logs[@]}"
}
check "pattern done/drain, as grep -E over the raw logs, find PLE-DONE lines and drain messages" live_done

unsplice() {
	local tmp rc=0
	tmp=$(mktemp -d)/split.log
	cp "$D/split.log" "$tmp"
	gl unsplice "$tmp"
	fails grep -qE -e "$(gl pattern drain)" "$tmp" || rc=1
	grep -qa $'^PLE-DONE rc=0\r$' "$tmp" || rc=1
	diff <(gl json "$D/split.log" | grep -v '"drains"') <(gl json "$tmp" | grep -v '"drains"') || rc=1
	rm -rf "${tmp%/*}"
	return "$rc"
}
check "unsplice takes the drain messages out of a log: whole lines, the same records" unsplice

report() {
	local out
	out=$("$REPO_DIR/scripts/report.sh" "$D/skip.log" "$D/pass.log" "$D/panic.log")
	echo "$out"
	grep -qE '^test +skip +pass +panic$' <<<"$out"
	grep -qE '^kvm:pause_loop_exit_test +skip +ok +cut$' <<<"$out"
	grep -qE '^  exit count +- +ok +-$' <<<"$out"
	grep -qE '^\(guest PLE-DONE\) +rc=0 +rc=0 +panic$' <<<"$out"
	grep -qx '  kvm:pause_loop_exit_test: PLE: PAUSEs 3 TSC cycles apart' <<<"$out"
	grep -qx '  Kernel panic - not syncing: Fatal exception' <<<"$out"
	"$REPO_DIR/scripts/report.sh" --no-subtests "$D/pass.log" | fails grep -q '^  exit count'
}
check "report.sh: one row per test and subtest, a column per log, PLE-DONE, figures, complaints" report

# A kept boot directory (scripts/guest/run-guest.sh --out), judged from
# its files alone: how the boot ended (status), the guest's PLE-DONE, each
# test's result; a directory without status has not ended.  report labels
# its columns by the directories' kernel variant (meta).
judge() {
	local b=$D/boots
	is "$(printf 'boot: finished (status 0)\nguest: rc=1\nfail\t%s' "$PLE")" gl judge "$b/fail"
	is "$(printf 'boot: timeout (status 3)\nguest: none\nok\tkvm:kvm_binary_stats_test\nnone\t%s' "$PLE")" \
		gl judge "$b/hang"
	is "$(printf 'boot: not ended (no status)\nguest: none\nnone\t%s' "$PLE")" gl judge "$b/cut"
	gl report "$b/fail" "$b/hang" | sed -n 1p | grep -qE '^test +base +patched$'
}
check "judge: a kept boot directory re-judged from its files (status, PLE-DONE, results); report labels it by variant" judge

# boots/fpu is a real boot of ci/25 in which Bochs 2.7's XRSTOR faulted
# and the kernel WARNed (KNOWN_WARNS): in its directory (emulator
# bochs-2.7) its complaints are known, not counted; as a bare log, on
# another emulator, or beside another WARN, they count.
known_warn() {
	local b=$D/boots/fpu tmp
	is "" gl complaints "$b"
	is 3 eval "gl complaints --known $b | grep -c '  \[known: Bochs 2.7: XRSTOR found'"
	is "PLE-WARN: the kernel is tainted 516 (W: a WARN fired); its log at warning and worse:
WARNING: ../src/arch/x86/mm/extable.c:125 at fixup_exception+0x152/0x279, CPU#0: exe/64
Call Trace:" gl complaints "$b/serial.log"
	tmp=$(mktemp -d)
	cp "$b"/* "$tmp/"
	sed -i 's/^emulator=.*/emulator=qemu-kvm/' "$tmp/meta"
	is 3 eval "gl complaints $tmp | wc -l"
	cp "$b/meta" "$tmp/meta"
	sed -i 's|^PLE-DONE|WARNING: arch/x86/kvm/svm/svm.c:3236 at pause_interception+0x71/0x90, CPU#0: x/1\r\n&|' \
		"$tmp/serial.log"
	is "PLE-WARN: the kernel is tainted 516 (W: a WARN fired); its log at warning and worse:
WARNING: arch/x86/kvm/svm/svm.c:3236 at pause_interception+0x71/0x90, CPU#0: x/1" gl complaints "$tmp"
	rm -rf "$tmp"
}
check "a known WARN (Bochs's XRSTOR fault) counts only in a boot directory of its emulator, and alone" known_warn

errors() {
	local rc=0
	gl result "$D/no-such.log" "$PLE" 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ]
	rc=0
	gl frobnicate 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ]
	fails "$REPO_DIR/scripts/report.sh" 2>/dev/null
}
check "a missing log or a bad command is an error (exit 2), report.sh wants a LOG" errors

# closed_pipe CMD...: CMD with its standard output a pipe whose reading end
# is closed before it starts (as when | head has stopped reading): "exit
# STATUS", and what it said on standard error.  Buffered, as by default
# (PYTHONUNBUFFERED would make the write fail inside main()).
closed_pipe() {
	env -u PYTHONUNBUFFERED "$PY" -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE, text=True)
print("exit %d%s" % (p.returncode, p.stderr and ": " + p.stderr.strip()))
' "$@"
}
closed() {
	is "exit 0" closed_pipe "$PY" "$REPO_DIR/scripts/read/guestlog.py" report "$D/pass.log"
	is "exit 0" closed_pipe "$PY" "$REPO_DIR/scripts/read/guestlog.py" judge "$D/boots/fail"
	is "exit 0" closed_pipe "$PY" "$REPO_DIR/scripts/read/guestlog.py" results "$D/pass.log"
	is "exit 0" closed_pipe "$PY" "$REPO_DIR/scripts/read/benchlog.py" tables "$REPO_DIR/ci/testdata/bench/summary.json"
}
check "a reader whose output is closed early (| head) exits 0 and says nothing: report, judge, results, benchlog.py" closed

only_reader() {
	# The patterns of the kselftest runner's lines and of figure lines
	# live in the module only (project issue 9).
	local hits
	hits=$(grep -rnE "'\^# # PLE|\^\(# \)\+PLE|ok \[0-9\]\+ selftests" \
		"$REPO_DIR/scripts" "$REPO_DIR/ci" | grep -v '^[^:]*/scripts/read/guestlog.py:' || true)
	echo "$hits"
	[ -z "$hits" ]
}
check "no script or check but scripts/read/guestlog.py parses the runner's lines" only_reader

done_testing
