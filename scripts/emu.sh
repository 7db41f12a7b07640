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

upstream_tests() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$UPSTREAM_LIST"; }

# table_rows FILE: the rows of a table of ci/ (matrix.txt, mutations.txt):
# every line that is neither a comment nor blank.
table_rows() { grep -vE '^[[:space:]]*(#|$)' "$1"; }

# ensure_selftests: every x86 KVM selftest of the patched tree, static, and
# installed with kselftest's install target, with the calibration probe
# (probes/) beside them as kvm:ple_probe.  The patched tree first exists.
# Nothing is built when the install was made from the same inputs (the
# tree's state, probes/, both build scripts, the compiler): make itself
# takes ~4 s to find nothing to do, at every check that boots a guest.
ensure_selftests() (
	local src key stamp=$BUILD_DIR/selftests/.ple-inputs
	# The patched tree's lock covers the selftests built from it too.
	cache_lock v-patched # (apply-series.sh, its child, then leaves it to us)
	src=$("$REPO_DIR/scripts/apply-series.sh" patched) || return 1
	key=$({
		tree_state "$src" &&
			(cd "$REPO_DIR" && sha256sum probes/* scripts/build-selftests.sh \
				scripts/build-probes.sh) &&
			{ dpkg-query -W libc6-dev uuid-dev 2>/dev/null || :; } &&
			toolchain_id
	} | inputs_hash) || return 1
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] &&
		[ -x "$KSFT_INSTALL/run_kselftest.sh" ]; then
		log "KVM selftests and probes built before from the same inputs: $KSFT_INSTALL"
		return 0
	fi
	rm -f "$stamp"
	"$REPO_DIR/scripts/build-selftests.sh" "$src" "$BUILD_DIR/selftests" >&2 &&
		"$REPO_DIR/scripts/build-probes.sh" "$src" "$BUILD_DIR/selftests" >&2 &&
		echo "$key" >"$stamp"
)

# The emulated machines are those of config/machines (scripts/lib.sh
# machine_field): count-only, intel.  Each boot names one.  The tables of
# ci/ keep their rows for threshold mode under the machine name "zen",
# which has no emulator (config/machines says why): they skip.
THRESHOLD_SKIP="threshold mode: no Debian emulator has PFThreshold that boots our kernels; tested on hardware only"

# unavailable MACHINE: succeeds, printing why, for a row's machine that
# no emulator runs (zen); fails for the others.
unavailable() { [ "$1" = zen ] && echo "$THRESHOLD_SKIP"; }

# emulator_missing MACHINE...: succeeds, printing the boot script's
# one-line error (which package to install; for a QEMU/KVM machine, what
# this host lacks), when a machine's emulator or BIOS is missing or it
# cannot run here; the checks that boot skip with it.
emulator_missing() {
	local m out
	for m in "$@"; do
		out=$("$(machine_boot "$m")" --machine "$m" --check 2>&1) || {
			echo "${out##*error: }"; return 0; }
	done
	return 1
}

# guest NAME BZIMAGE "TESTS" "PARAMS" MACHINE [TIMING]: boot, run, log to
# $LOG_DIR/NAME.log.  MACHINE is a machine of config/machines, TIMING a
# model of config/timing-models (default: the machine's).
guest() {
	[ -n "${5:-}" ] || die "guest $1: no machine (one of: $(machine_names))"
	rm -f "$LOG_DIR/$1.log"
	"$REPO_DIR/scripts/run-guest.sh" --machine "$5" --kernel "$2" \
		--selftests "$KSFT_INSTALL" --tests "$3" --append "${4:-}" \
		--log "$LOG_DIR/$1.log" --timeout "${GUEST_TIMEOUT:-600}" \
		${6:+--timing "$6"}
}

# guest_bg NAME BZIMAGE "TESTS" "PARAMS" MACHINE [TIMING]: guest() in the
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


# kernel_complaints LOG: WARN, BUG, Oops, UBSAN, panic or Call Trace lines.
kernel_complaints() { guestlog complaints "$1"; }

# KVM-unit-tests (ci/35-kut.t): Debian's QEMU runs the tests of
# ci/kut-tests.txt with KVM inside the guest (config/init.sh, KUT mode).
KUT_LIST=$REPO_DIR/ci/kut-tests.txt
KUT_QEMU=/usr/bin/qemu-system-x86_64
# What QEMU opens for a multiboot -kernel on the pc machine, besides its
# shared libraries (strace): SeaBIOS and two option ROMs.
KUT_QEMU_DATA="/usr/share/seabios/bios-256k.bin /usr/share/qemu/kvmvapic.bin
	/usr/share/qemu/multiboot_dma.bin"

# kut_tests MACHINE: the rows of ci/kut-tests.txt for MACHINE, as
# NAME|TIMEOUT|SMP|FILE|APPEND|QEMU-PARAMETERS, fields trimmed.
kut_tests() {
	table_rows "$KUT_LIST" | awk -F'|' -v cpu="$1" '
		function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
		{
			n = split(trim($2), cpus, ",")
			for (i = 1; i <= n; i++) if (cpus[i] == cpu) {
				app = trim($6); if (app == "-") app = ""
				print trim($1) "|" trim($5) "|" trim($4) "|" trim($3) "|" app "|" trim($7)
			}
		}'
}

# kut_stage DIR KUT_TREE MACHINE: a tree for mkinitramfs.sh --extra: QEMU,
# the shared libraries it loads, its firmware, the .flat files of its tests
# (in /kut) and the list /etc/ple/kut that switches /init to KUT mode.
kut_stage() {
	local dir=$1 kut=$2 cpu=$3 lib f
	[ -x "$KUT_QEMU" ] || die "$KUT_QEMU missing: install the Debian package qemu-system-x86"
	mkdir -p "$dir"/{usr/bin,lib64,lib/x86_64-linux-gnu,kut,etc/ple}
	cp "$KUT_QEMU" "$dir/usr/bin/"
	for lib in $(ldd "$KUT_QEMU" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\/lib64\// { print $1 }'); do
		case "$lib" in
		/lib64/*) cp -L "$lib" "$dir/lib64/" ;;
		*) cp -L "$lib" "$dir/lib/x86_64-linux-gnu/" ;;
		esac
	done
	for f in $KUT_QEMU_DATA; do
		[ -f "$f" ] || die "$f missing: install qemu-system-x86 (and seabios)"
		mkdir -p "$dir${f%/*}"
		cp -L "$f" "$dir$f"
	done
	kut_tests "$cpu" >"$dir/etc/ple/kut"
	while read -r f; do
		[ -f "$kut/x86/$f" ] || die "$kut/x86/$f missing"
		cp "$kut/x86/$f" "$dir/kut/"
	done < <(cut -d'|' -f4 "$dir/etc/ple/kut" | sort -u)
}

# kut_guest NAME BZIMAGE STAGE MACHINE [TIMING]: boot in KUT mode with the
# tree of kut_stage, log to $LOG_DIR/NAME.log.  TIMING defaults to "fast"
# (config/timing-models says why).  $KUT_MEMORY: the guest's RAM (MB).
kut_guest() {
	rm -f "$LOG_DIR/$1.log"
	"$REPO_DIR/scripts/run-guest.sh" --machine "$4" --kernel "$2" --extra "$3" \
		--log "$LOG_DIR/$1.log" --timeout "${GUEST_TIMEOUT:-900}" \
		--timing "${5:-fast}" ${KUT_MEMORY:+--memory "$KUT_MEMORY"}
}
