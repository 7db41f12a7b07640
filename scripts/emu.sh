# SPDX-License-Identifier: GPL-2.0
# Helpers for booting kernels under the emulated AMD CPU (demo and checks).
# Sourced after scripts/lib.sh.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the checks that source this

LOG_DIR=$CACHE_DIR/logs
KSFT_INSTALL=$BUILD_DIR/selftests/install
PLE_TEST=kvm:pause_loop_exit_test
# The upstream selftests run on both kernels, with the reasons for the
# ones left out.
UPSTREAM_LIST=$REPO_DIR/ci/upstream-tests.txt
mkdir -p "$LOG_DIR"

upstream_tests() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$UPSTREAM_LIST"; }

# ensure_selftests: every x86 KVM selftest of the patched tree, static, and
# installed with kselftest's install target.
ensure_selftests() {
	"$REPO_DIR/scripts/build-selftests.sh" "$(variant_src patched)" "$BUILD_DIR/selftests" >&2
}

# The emulated CPUs: AMD with PauseFilter and no PFThreshold, and Intel with
# VMX and PAUSE-loop exiting (Haswell is the oldest Bochs model with PLE and
# boots without clearcpuid workarounds).
AMD_CPU=ryzen
INTEL_CPU=corei7_haswell_4770

# cpu_model amd|intel: the Bochs model for a vendor.
cpu_model() {
	case "$1" in
	amd) echo "$AMD_CPU" ;;
	intel) echo "$INTEL_CPU" ;;
	*) die "unknown vendor '$1' (amd or intel)" ;;
	esac
}

# guest NAME BZIMAGE "TESTS" ["PARAMS" [amd|intel]]: boot, run, log to
# $LOG_DIR/NAME.log.
guest() {
	rm -f "$LOG_DIR/$1.log"
	"$REPO_DIR/scripts/run-guest.sh" --kernel "$2" --selftests "$KSFT_INSTALL" \
		--tests "$3" --append "${4:-}" --log "$LOG_DIR/$1.log" \
		--timeout "${GUEST_TIMEOUT:-600}" --cpu "$(cpu_model "${5:-amd}")"
}

# guest_bg NAME BZIMAGE "TESTS" ["PARAMS" [amd|intel]]: guest() in the
# background, once fewer guests than CPUs run (Bochs is single-threaded and
# the tests assert nothing about time); the caller waits for them.
guest_bg() {
	while [ "$(jobs -rp | wc -l)" -ge "$(njobs)" ]; do wait -n || true; done
	guest "$@" >/dev/null 2>&1 &
}

# result LOG TEST: ok, fail, skip or none, from the kselftest runner's line.
result() {
	local name=${2#*:}
	tr -d '\r' <"$1" | awk -v t="$name" '
		$0 ~ "^(not )?ok [0-9]+ selftests: [^:]+: " t "( |$)" {
			r = /^not ok/ ? "fail" : (/# *SKIP/ ? "skip" : "ok")
		}
		END { print r ? r : "none" }' 
}

# ple_lines LOG: the figures the PAUSE selftest printed.
ple_lines() { tr -d '\r' <"$1" | { grep -E '^# # PLE: ' || true; } | sed 's/^# # //'; }

# kernel_complaints LOG: WARN, BUG, Oops or UBSAN reports in a serial log.
kernel_complaints() {
	grep -E 'WARNING: CPU|BUG:|Oops|UBSAN|Call Trace' "$1" || true
}
