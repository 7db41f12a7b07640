# SPDX-License-Identifier: GPL-2.0
# Helpers for booting kernels under the emulated AMD CPU (demo and checks).
# Sourced after scripts/lib/common.sh.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the checks that source this

KSFT_INSTALL=$SELFTESTS_DIR/install
PLE_TEST=kvm:svm_pause_filter_test
# The timing model of the boots whose result does not depend on it: the
# upstream tests (ci/30, make demo) and the harness's own faults (ci/60).
# Their sleeps, timeouts and the kernel's boot delays are emulated time,
# each costing 10x the Bochs instructions at K10's ips (2.4 G, the
# count-only machine's default) that it does at zen-5ghz's (234 M): the
# 37 upstream tests take ~2 min of Bochs at zen-5ghz and more than the
# 600 s timeout at K10 on a 2-CPU host.
FAST_TIMING=zen-5ghz
# The upstream selftests run on both kernels, with the reasons for the
# ones left out.
UPSTREAM_LIST=$REPO_DIR/ci/upstream-tests.txt

upstream_tests() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$UPSTREAM_LIST"; }

# table_rows FILE: the rows of a table of ci/ (matrix.txt, mutations.txt):
# every line that is neither a comment nor blank.
table_rows() { grep -vE '^[[:space:]]*(#|$)' "$1"; }

# ensure_selftests: every x86 KVM selftest of the patched tree and the
# probes, built by scripts/build/build-selftests.sh into SELFTESTS_DIR
# (which builds nothing when its install is of the same inputs).  The
# patched tree first exists.
ensure_selftests() (
	local src
	# The patched tree's lock covers the selftests built from it too.
	cache_lock v-patched # (apply-series.sh, its child, then leaves it to us)
	src=$("$REPO_DIR/scripts/build/apply-series.sh" patched) || return 1
	"$REPO_DIR/scripts/build/build-selftests.sh" "$src" "$SELFTESTS_DIR" >/dev/null
)

# emulator_missing MACHINE...: succeeds, printing the boot script's
# one-line reason, when a machine's emulator is not there (its --check
# exits 5: a Debian package to install, PLE_BOCHS not set, a host without
# /dev/kvm...); the checks skip with it.  Fails with 1 when every machine
# can boot here, and with 2, the error on standard error, when an emulator
# is there but cannot serve (a PLE_BOCHS without PFThreshold...): no
# reason to skip, an error.
emulator_missing() {
	local m out rc
	for m in "$@"; do
		rc=0
		out=$("$(machine_boot "$m")" --machine "$m" --check 2>&1) || rc=$?
		case "$rc" in
		0) ;;
		5) echo "${out##*error: }"; return 0 ;;
		*) printf 'machine %s: %s\n' "$m" "${out##*error: }" >&2; return 2 ;;
		esac
	done
	return 1
}

# zen_here: for the entry points that add the zen machine's boots when it
# can boot here (make demo, stress.sh): ZEN_MISSING is why it cannot (its
# emulator is not there: PLE_BOCHS unset), "" when it can.  A PLE_BOCHS
# that cannot serve ends the script (the error is above).
zen_here() {
	local rc=0
	ZEN_MISSING=$(emulator_missing zen) || rc=$?
	case "$rc" in
	0) ;;
	1) ZEN_MISSING= ;;
	*) die "the zen machine cannot run (above): fix PLE_BOCHS, or unset it" ;;
	esac
}

# The guest API.  A boot is a line (boot_spec); run_guests boots lines,
# each into a directory of its own, $RUNS_DIR/GROUP/NAME, named by what
# it runs (boot_name), which scripts/guest/run-guest.sh fills: serial.log,
# the emulator's configuration, cmdline, meta, a rerun script, status.
# The runner adds run.out, what run-guest.sh printed.

# boot_spec VARIANT BZIMAGE MACHINE TIMING "PARAMS" "TESTS" [ARG...]: one
# boot as a line for run_guests: the kernel (VARIANT names it: base,
# patched, mutant-3...), the machine of config/machines, its timing model
# ("" for the machine's; QEMU machines have none), the kernel parameters,
# the selftests to run (COLL:TEST ...), then more run-guest.sh arguments
# (--extra DIR, --memory MB, --timeout S).
boot_spec() {
	local IFS=' '
	[ $# -ge 6 ] || die "boot_spec: VARIANT BZIMAGE MACHINE TIMING PARAMS TESTS [ARG...]"
	printf '%s|%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "${*:7}"
}

# boot_name SPEC: VARIANT.MACHINE.TIMING.TESTS[.PARAMS][.ARGS], the
# directory name of a boot: TIMING is the machine's when the spec has none
# ("host" on QEMU), TESTS the test's name, "N-tests-HASH" (HASH: of the
# list) or "extra" (--extra's tree); PARAMS with "," for " "; ARGS, when
# the spec has more run-guest.sh arguments, "args-HASH".
boot_name() {
	local variant bz machine timing params tests args n
	IFS='|' read -r variant bz machine timing params tests args <<<"$1"
	[ -n "$timing" ] || timing=$(machine_field "$machine" timing)
	n=$(wc -w <<<"$tests")
	case "$n" in
	0) tests=extra ;;
	1) tests=${tests##*:} ;;
	*) tests=$n-tests-$(short_hash "$tests") ;;
	esac
	params=$(tr ' /' ',_' <<<"$params")
	echo "$variant.$machine.${timing:-host}.$tests${params:+.$params}${args:+.args-$(short_hash "$args")}"
}

# short_hash TEXT: 8 hex digits of inputs_hash, to tell names apart.
short_hash() { printf '%s' "$1" | inputs_hash | cut -c1-8; }

# boot_one DIR SPEC: run-guest.sh for SPEC into DIR, its output to
# DIR/run.out; DIR/status has its exit status, whatever happened.
boot_one() {
	local dir=$1 variant bz machine timing params tests args rc=0
	IFS='|' read -r variant bz machine timing params tests args <<<"$2"
	mkdir -p "$dir"
	rm -f "$dir/status"
	# shellcheck disable=SC2086 # ARGS: the spec's extra arguments, words
	"$REPO_DIR/scripts/guest/run-guest.sh" --out "$dir" --variant "$variant" \
		--machine "$machine" --kernel "$bz" ${timing:+--timing "$timing"} \
		--append "$params" --timeout "${GUEST_TIMEOUT:-600}" \
		${tests:+--selftests "$KSFT_INSTALL" --tests "$tests"} $args \
		>"$dir/run.out" 2>&1 || rc=$?
	[ -f "$dir/status" ] || echo "$rc" >"$dir/status"
}

# run_guests GROUP: boots the specs of standard input (boot_spec), as many
# at a time as CPUs (Bochs is single-threaded; the tests assert nothing
# about time), starting each as soon as its line comes (so a caller may
# build the next kernel meanwhile); waits for all, then prints their
# directories, one a line, in the order of the specs.  Two specs of one
# name are an error.
run_guests() {
	local group=$1 spec dir d dirs=()
	while IFS= read -r spec; do
		[ -n "$spec" ] || continue
		dir=$RUNS_DIR/$group/$(boot_name "$spec")
		for d in "${dirs[@]}"; do
			[ "$d" != "$dir" ] || die "run_guests: two boots named $dir"
		done
		dirs+=("$dir")
		while [ "$(jobs -rp | wc -l)" -ge "$(njobs)" ]; do wait -n || true; done
		boot_one "$dir" "$spec" &
	done
	wait
	printf '%s\n' "${dirs[@]}"
}

# guest GROUP VARIANT BZIMAGE MACHINE TIMING "PARAMS" "TESTS" [ARG...]: one
# boot (boot_spec's arguments), in the foreground; prints its directory.
guest() {
	local group=$1
	shift
	boot_spec "$@" | run_guests "$group"
}

# boot_status DIR: a boot's exit status (run-guest.sh's: 0 the guest
# finished, 1 setup error, else scripts/guest/watchdog.sh's EXIT_*).
boot_status() { cat "$1/status"; }

# boot_failure DIR: why a boot failed, for a check's diagnostics: what
# run-guest.sh printed last.
boot_failure() { tail -n 15 "$1/run.out"; }

# guests_init: what the guest API needs once per script: the interpreter
# behind python3 (through a pyenv shim, every start of scripts/read/*.py
# would take ~0.2 s more), exported for the boot scripts.
guests_init() {
	GUESTLOG_PYTHON=${GUESTLOG_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
	export GUESTLOG_PYTHON
}

# guestlog CMD LOG...: scripts/read/guestlog.py, the one reader of guest
# serial logs (its docstring has the commands); LOG is a log or a boot
# directory.
guestlog() { "${GUESTLOG_PYTHON:-python3}" "$REPO_DIR/scripts/read/guestlog.py" "$@"; }

# no_complaints LOG: the kernel of LOG (a log or a boot directory) made no
# WARN/BUG/Oops/UBSAN/panic report; its lines when it did.  A log the
# reader cannot read fails too (an empty answer is not a clean log).  A
# known complaint (guestlog.py KNOWN_WARNS) does not count, and is noted.
no_complaints() {
	local c k
	c=$(guestlog complaints "$1") || return 1
	k=$(guestlog complaints --known "$1") || return 1
	[ -z "$k" ] || note "known complaints in $1, not counted:" "$k"
	[ -z "$c" ] || { printf '%s\n' "$c"; return 1; }
}

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

# kut_spec VARIANT BZIMAGE STAGE MACHINE [TIMING]: the boot_spec of a boot
# in KUT mode with the tree of kut_stage.  TIMING defaults to "fast"
# (config/timing-models says why).  $KUT_MEMORY: the guest's RAM (MB).
kut_spec() {
	boot_spec "$1" "$2" "$4" "${5:-fast}" "" "" --extra "$3" \
		--timeout "${GUEST_TIMEOUT:-900}" ${KUT_MEMORY:+--memory "$KUT_MEMORY"}
}
