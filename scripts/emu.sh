# SPDX-License-Identifier: GPL-2.0
# Helpers for booting kernels under the emulated AMD CPU (demo and checks).
# Sourced after scripts/lib.sh.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the checks that source this

KSFT_INSTALL=$BUILD_DIR/selftests/install
PLE_TEST=kvm:pause_loop_exit_test
# The upstream selftests run on both kernels, with the reasons for the
# ones left out.
UPSTREAM_LIST=$REPO_DIR/ci/upstream-tests.txt
mkdir -p "$LOG_DIR"
# One Bochs for every guest of a run (built once, before any boots).
find_bochs

upstream_tests() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$UPSTREAM_LIST"; }

# table_rows FILE: the rows of a table of ci/ (matrix.txt, mutations.txt):
# every line that is neither a comment nor blank.
table_rows() { grep -vE '^[[:space:]]*(#|$)' "$1"; }

# ensure_selftests: every x86 KVM selftest of the patched tree, static, and
# installed with kselftest's install target, with the calibration probe
# (probes/) beside them as kvm:ple_probe.  The patched tree first exists.
ensure_selftests() {
	local src
	src=$("$REPO_DIR/scripts/apply-series.sh" patched) || return 1
	"$REPO_DIR/scripts/build-selftests.sh" "$src" "$BUILD_DIR/selftests" >&2 &&
		"$REPO_DIR/scripts/build-probes.sh" "$src" "$BUILD_DIR/selftests" >&2
}

# The emulated CPUs:
#   zen         Bochs "ryzen": SVM with PauseFilter and, on our Bochs,
#               PFThreshold: KVM runs threshold mode, as on every Zen host
#   count-only  the same, with the guest kernel's clearcpuid=pfthreshold:
#               KVM sees PauseFilter alone, as on AMD families 10h/12h/14h
#   intel       Bochs "corei7_haswell_4770": VMX with PAUSE-loop exiting
#               (the oldest Bochs model with PLE; boots with no workaround)
# On Debian's stock Bochs (find_bochs) "zen" has no PFThreshold either.
AMD_CPU=ryzen
INTEL_CPU=corei7_haswell_4770

# cpu_model CPU: the Bochs model of one of the CPUs above.
cpu_model() {
	case "$1" in
	zen | count-only) echo "$AMD_CPU" ;;
	intel) echo "$INTEL_CPU" ;;
	*) die "unknown CPU '$1' (zen, count-only or intel)" ;;
	esac
}

# cpu_clearcpuid CPU: the features the guest kernel hides for CPU.
cpu_clearcpuid() {
	case "$1" in
	count-only) echo pfthreshold ;;
	esac
}

# guest NAME BZIMAGE "TESTS" ["PARAMS" [CPU [TIMING]]]: boot, run, log to
# $LOG_DIR/NAME.log.  CPU defaults to zen, TIMING to $PLE_TIMING or the
# boot.sh default (config/timing-models).
guest() {
	local cpu=${5:-zen}
	rm -f "$LOG_DIR/$1.log"
	"$REPO_DIR/scripts/run-guest.sh" --kernel "$2" --selftests "$KSFT_INSTALL" \
		--tests "$3" --append "${4:-}" --log "$LOG_DIR/$1.log" \
		--timeout "${GUEST_TIMEOUT:-600}" --cpu "$(cpu_model "$cpu")" \
		--clearcpuid "$(cpu_clearcpuid "$cpu")" \
		--timing "${6:-${PLE_TIMING:-zen-2ghz}}"
}

# guest_bg NAME BZIMAGE "TESTS" ["PARAMS" [CPU [TIMING]]]: guest() in the
# background, once fewer guests than CPUs run (Bochs is single-threaded and
# the tests assert nothing about time); the caller waits for them.
guest_bg() {
	while [ "$(jobs -rp | wc -l)" -ge "$(njobs)" ]; do wait -n || true; done
	guest "$@" >/dev/null 2>&1 &
}

# guestlog CMD LOG...: scripts/guestlog.py, the one reader of guest serial
# logs (its docstring has the commands): results, figure lines, why a test
# failed, PLE-DONE, kernel complaints.  The three below are its old names.
# GUESTLOG_PYTHON: the interpreter behind python3, resolved once (through
# a pyenv shim, every start would take ~0.2 s more); boot.sh takes it too.
GUESTLOG_PYTHON=${GUESTLOG_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
export GUESTLOG_PYTHON
guestlog() { "$GUESTLOG_PYTHON" "$REPO_DIR/scripts/guestlog.py" "$@"; }

# result LOG TEST: ok, fail, skip, xfail or none, from the kselftest runner.
result() { guestlog result "$1" "$2"; }

# ple_lines LOG: the figures the PAUSE selftest printed ("PLE: ...").
ple_lines() { guestlog lines "$1" PLE; }

# kernel_complaints LOG: WARN, BUG, Oops, UBSAN, panic or Call Trace lines.
kernel_complaints() { guestlog complaints "$1"; }

