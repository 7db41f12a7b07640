#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# boot-bochs.sh --machine NAME --disk IMG --out DIR [--timeout SECONDS]
#         [--timing MODEL|--ips N] [--memory MB]
# boot-bochs.sh --machine NAME --check
#
# --check only says whether machine NAME's emulator and BIOS are there and
# can serve it (exit 0; 5 with the one-line error naming the package or
# PLE_BOCHS, when it is not there; 1 when it is there but cannot serve),
# booting no kernel: the checks skip with that line (scripts/lib/guests.sh
# emulator_missing).  Boots IMG on machine NAME of config/machines (its
# emulator and its CPU model), headless, with com1 written to
# DIR/serial.log, Bochs' own log to DIR/emulator.log and its configuration
# to DIR/bochsrc (run-guest.sh makes DIR).  A watchdog kills Bochs on
# timeout, or when the serial log shows a kernel panic, a BUG or an Oops.
#
# The emulators (config/machines):
#   bochs-2.7  Debian 12's packages bochs, bochsbios, vgabios, bochs-term,
#              run as shipped
#   bochs-3.1  a Bochs 3.1 the user built (README, "Threshold mode on an
#              emulated CPU"): PLE_BOCHS=PREFIX, its `make install` prefix,
#              with PREFIX/bin/bochs, PREFIX/share/bochs/BIOS-bochs-latest
#              and PREFIX/share/bochs/VGABIOS-lgpl-latest.bin.  Before
#              anything boots on it, a boot sector (cpucheck.S) asks it for
#              PFThreshold on the machine's CPU model and for a correct
#              64-bit IDIV: a Bochs without them is refused, saying why.
#
# Timing: --timing names a model of config/timing-models (default: the
# machine's, config/machines), --ips gives Bochs' ips directly.
#
# Display: a 3.1 build has "nogui" (configure --with-nogui), which opens
# nothing.  Debian's 2.7 has no usable "nogui"; the `term` display (package
# bochs-term) runs on a private pty under script(1) and opens no socket.
# Without it, `rfb` is used inside a private network namespace (unshare),
# so its VNC listener cannot be reached; plain rfb is the last resort.
#
# Exit status:
#   0  the log has the "PLE-DONE rc=N" marker (the tests may still have
#      failed: see N and scripts/report.sh); Bochs is stopped as soon as
#      the log is complete, or exits by itself on the guest's poweroff -f
#   1  usage or setup error (a PLE_BOCHS that cannot serve too)
#   2  Bochs exited without the PLE-DONE marker
#   3  timeout: the guest hung (Bochs killed)
#   4  kernel panic, BUG or Oops in the serial log (Bochs killed)
#   5  Bochs, its BIOS or its display plugin is not installed (PLE_BOCHS
#      unset, for bochs-3.1)
# Environment: PLE_BOCHS (above); PLE_BOCHS_CPU0_ERRORS=report keeps
# Bochs' CPU error messages.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname "$0")/../lib/common.sh"

# shellcheck source=scripts/guest/watchdog.sh
source "$(dirname "$0")/watchdog.sh"
EMU_NAME=Bochs
HERE=$(cd "$(dirname "$0")" && pwd)
# Where the README tells how to build a Bochs for PLE_BOCHS.
BUILD_DOC="README.md, \"Threshold mode on an emulated CPU\""
# Bochs' CPU0 "error" messages (RDMSR 0x1d9, every SVM I/O exit: ~300,000
# lines, 15 MB per run) are ignored unless PLE_BOCHS_CPU0_ERRORS=report.
CPU0_ERRORS=${PLE_BOCHS_CPU0_ERRORS:-ignore}

usage() {
	echo "usage: ${0##*/} [-h|--help] --machine NAME --disk IMG --out DIR [--timeout SECONDS]"
	echo "       [--timing MODEL|--ips N]   (machines: config/machines; models: config/timing-models)"
	echo "       [--memory MB]              (guest RAM, default: the machine's)"
	echo "       ${0##*/} --machine NAME --check   (can its emulator serve it?)"
	echo "  exit: 0 PLE-DONE seen (--check: it can), 1 usage or setup error (a PLE_BOCHS"
	echo "  that cannot serve), 2 no marker, 3 timeout, 4 panic/BUG/Oops, 5 no bochs"
}

parse_args() {
	DISK="" OUT="" TIMEOUT=600 MACHINE="" TIMING="" MEMORY="" CHECK=""
	parse_opts 'disk=DISK out=OUT timeout=TIMEOUT machine=MACHINE timing=TIMING
		ips=TIMING memory=MEMORY' 'check=CHECK' "$@"
	no_args
	[[ -n $CHECK || (-n $DISK && -n $OUT) ]] || bad_usage "--disk and --out are required"
	[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || bad_usage "--timeout must be a positive number of seconds"
	[[ -n $MACHINE ]] || bad_usage "--machine is required: one of $(machine_names) (config/machines)"
	machine_check "$MACHINE"
	EMU=$(machine_field "$MACHINE" emulator)
	[[ $EMU == bochs-* ]] ||
		die "machine $MACHINE runs on QEMU: scripts/guest/boot-qemu.sh boots it"
	[[ -n $MEMORY ]] || MEMORY=$(machine_field "$MACHINE" memory)
	[[ $MEMORY =~ ^[1-9][0-9]*$ ]] || bad_usage "--memory must be a number of MB"
	CPU_MODEL=$(machine_field "$MACHINE" cpu)
	[[ -n $TIMING ]] || TIMING=$(machine_field "$MACHINE" timing)
	IPS=$(timing_ips "$TIMING")
	[[ -z $CHECK ]] || return 0
	[[ -f $DISK ]] || die "disk image '$DISK' not found"
	[[ -d $OUT ]] || die "boot directory '$OUT' does not exist"
	DISK=$(cd "$(dirname "$DISK")" && pwd)/$(basename "$DISK")
	OUT=$(cd "$OUT" && pwd)
	LOG=$OUT/serial.log EMU_LOG=$OUT/emulator.log
}

check_bochs() {
	need_cmd setsid util-linux
	need_cmd pgrep procps
	case "$EMU" in
	bochs-2.7) check_debian_bochs ;;
	bochs-3.1) check_user_bochs ;;
	esac
	[[ -z $CHECK ]] || exit 0
	if [[ -e $DISK.lock ]]; then
		die "$DISK is locked by another Bochs ($DISK.lock); remove the file if stale"
	fi
}

# check_debian_bochs: Debian 12's Bochs 2.7 and its BIOSes, or exit 5.
check_debian_bochs() {
	BOCHS=bochs
	BIOS=/usr/share/bochs/BIOS-bochs-latest
	VGABIOS=/usr/share/bochs/VGABIOS-lgpl-latest
	command -v "$BOCHS" >/dev/null 2>&1 ||
		fail $EXIT_NO_EMULATOR "'$BOCHS' not found: install the Debian package 'bochs'"
	[[ -f $BIOS ]] || fail $EXIT_NO_EMULATOR "$BIOS missing: install 'bochsbios'"
	[[ -f $VGABIOS ]] || VGABIOS=/usr/share/vgabios/vgabios.bin
	[[ -f $VGABIOS ]] || fail $EXIT_NO_EMULATOR "no VGA BIOS: install 'vgabios'"
}

# check_user_bochs: the Bochs of PLE_BOCHS can serve machine MACHINE
# (exit 5 when PLE_BOCHS is not set; 1, saying why, when it cannot).
check_user_bochs() {
	local prefix=${PLE_BOCHS:-} f version
	[[ -n $prefix ]] || fail $EXIT_NO_EMULATOR "machine $MACHINE runs on a Bochs 3.1" \
		"you build: set PLE_BOCHS to its install prefix ($BUILD_DOC)"
	[[ -d $prefix ]] || die "PLE_BOCHS=$prefix: no such directory ($BUILD_DOC)"
	# Debian's packages have the binary as bin/bochs-bin, and a bin/bochs
	# that runs whichever bochs-bin is first in PATH.
	BOCHS=$prefix/bin/bochs
	[[ ! -x $prefix/bin/bochs-bin ]] || BOCHS=$prefix/bin/bochs-bin
	BIOS=$prefix/share/bochs/BIOS-bochs-latest
	VGABIOS=$prefix/share/bochs/VGABIOS-lgpl-latest.bin
	[[ -x $BOCHS ]] || die "PLE_BOCHS=$prefix: no bin/bochs there ($BUILD_DOC)"
	version=$(bochs_version) ||
		die "PLE_BOCHS=$prefix: ${BOCHS#"$prefix/"} does not run here: $version ($BUILD_DOC)"
	case "$version" in
	[0-2].*) die "PLE_BOCHS=$prefix: ${BOCHS#"$prefix/"} is Bochs $version, whose CPU models" \
		"have no PFThreshold (Bochs added it after 3.0): build Bochs 3.1 ($BUILD_DOC)" ;;
	esac
	for f in "$BIOS" "$VGABIOS"; do
		[[ -f $f ]] || die "PLE_BOCHS=$prefix: no ${f#"$prefix/"} there (Bochs'" \
			"make install puts it there; $BUILD_DOC)"
	done
	check_cpu "$prefix" "$version"
	log "PLE_BOCHS=$prefix: Bochs $version, its $CPU_MODEL with PauseFilter and" \
		"PFThreshold, 64-bit IDIV right"
}

# bochs_version: the version in Bochs' banner (its --help), or the first
# line of what it said when it did not run.
bochs_version() {
	local out
	out=$(timeout 20 "$BOCHS" --help </dev/null 2>&1) || :
	if [[ $out =~ Bochs\ x86\ Emulator\ ([0-9][^[:space:]]*) ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		head -n 1 <<<"${out:-no output}"
		return 1
	fi
}

# check_cpu PREFIX VERSION: boot cpucheck.S on this Bochs' CPU model (a
# floppy image, COM1 to a file; the nogui display, or term where the build
# has no nogui, as Debian's has not) and read its line: PauseFilter and
# PFThreshold in CPUID 0x8000000A EDX, and the 64-bit IDIVs right.  Sets
# USER_DISPLAY, the display the boots then use.
check_cpu() {
	local prefix=$1 version=$2 img=$WORK/cpucheck.img line edx idiv want
	need_cmd gcc gcc
	need_cmd ld binutils
	if ! gcc -c "$HERE/cpucheck.S" -o "$WORK/cpucheck.o" ||
		! ld -Ttext=0x7c00 --oformat=binary -o "$img" "$WORK/cpucheck.o"; then
		die "cannot assemble $HERE/cpucheck.S"
	fi
	truncate -s 1474560 "$img"
	for USER_DISPLAY in nogui term; do
		run_cpucheck "$img" && break
	done
	line=$(grep -a -m1 '^PLE-CPUCHECK: ' "$WORK/cpucheck.com1" 2>/dev/null) ||
		die "PLE_BOCHS=$prefix: Bochs $version did not run its CPU check (nogui and term" \
			"displays tried; $BUILD_DOC); its last words: $(grep -a -h -E \
			'PANIC|ERROR|error' "$WORK"/cpucheck.*.out "$WORK"/cpucheck.*.log 2>/dev/null |
			tail -n 1)"
	[[ $line =~ svm_edx=([0-9a-f]{8})\ idiv=([0-9a-f]{16},[0-9a-f]{16}) ]] ||
		die "PLE_BOCHS=$prefix: its CPU check printed '$line'"
	edx=$((16#${BASH_REMATCH[1]})) idiv=${BASH_REMATCH[2]}
	((edx & 1 << 10)) || die "PLE_BOCHS=$prefix: Bochs $version's $CPU_MODEL has no" \
		"PauseFilter (CPUID 0x8000000A EDX=${BASH_REMATCH[1]}; $BUILD_DOC)"
	((edx & 1 << 12)) || die "PLE_BOCHS=$prefix: Bochs $version's $CPU_MODEL has no" \
		"PFThreshold (CPUID 0x8000000A EDX=${BASH_REMATCH[1]}): build Bochs 3.1 ($BUILD_DOC)"
	want=00000000000004a9,fffffffffffffffd
	[[ $idiv == "$want" ]] || die "PLE_BOCHS=$prefix: Bochs $version computes 64-bit IDIV" \
		"wrong ((1193182 + 500) / 1000 = 0x${idiv%,*}, -7 / 2 = 0x${idiv#*,}; right:" \
		"0x${want%,*}, 0x${want#*,}), as Debian sid's 3.1+dfsg-1 does: its long_idiv()" \
		"(cpu/wide_int.cc) was miscompiled, by GCC 15 there (Bochs issue #668), and Linux" \
		"dies of it in early boot (a #DE in register_refined_jiffies()); build it with" \
		"GCC 12 ($BUILD_DOC)"
}

# run_cpucheck IMG: cpucheck.S's boot with the display USER_DISPLAY; fails
# when that display is not built in.
run_cpucheck() {
	local rc=$WORK/cpucheck.$USER_DISPLAY.rc out=$WORK/cpucheck.$USER_DISPLAY.out cmd
	cat >"$rc" <<-EOF
		romimage: file="$BIOS", options=fastboot
		vgaromimage: file="$VGABIOS"
		cpu: model=$CPU_MODEL, count=1, ips=50000000
		memory: guest=16, host=16
		clock: sync=none
		floppya: 1_44="$1", status=inserted
		boot: floppy
		com1: enabled=1, mode=file, dev="$WORK/cpucheck.com1"
		display_library: $USER_DISPLAY
		sound: driver=dummy
		mouse: enabled=0
		panic: action=fatal
		log: "$WORK/cpucheck.$USER_DISPLAY.log"
	EOF
	printf 'c\nquit\n' >"$WORK/cpucheck.cmds"
	cmd=("$BOCHS" -q -f "$rc" -rc "$WORK/cpucheck.cmds")
	if [[ $USER_DISPLAY == term ]]; then
		timeout 30 script -qfec "$(printf '%q ' "${cmd[@]}")" /dev/null </dev/null >"$out" 2>&1 || :
	else
		timeout 30 "${cmd[@]}" </dev/null >"$out" 2>&1 || :
	fi
	! grep -qs "'$USER_DISPLAY' not available" "$out" "$WORK/cpucheck.$USER_DISPLAY.log"
}

# pick_display: sets DISPLAY_LINE and the LAUNCH array (command prefix).
pick_display() {
	if [[ $EMU == bochs-3.1 ]]; then
		DISPLAY_LINE="display_library: $USER_DISPLAY"
		LAUNCH=()
		[[ $USER_DISPLAY != term ]] || LAUNCH=(term)
	elif compgen -G '/usr/lib/*/bochs/plugins/libbx_term_gui.so*' >/dev/null &&
		command -v script >/dev/null 2>&1; then
		DISPLAY_LINE="display_library: term"
		LAUNCH=(term)
	else
		DISPLAY_LINE='display_library: rfb, options="timeout=0"'
		if unshare --net true 2>/dev/null; then
			LAUNCH=(unshare --net)
		elif unshare --user --map-root-user --net true 2>/dev/null; then
			LAUNCH=(unshare --user --map-root-user --net)
		else
			log "warning: no bochs-term and no unshare: rfb listens on all interfaces"
			LAUNCH=()
		fi
	fi
}

# write_config: the bochsrc.  "fastboot" skips the BIOS boot-menu delay (3
# emulated seconds, 600 million instructions to emulate at every boot).
# Bochs 3.1 opens the host's sound device unless told not to.
write_config() {
	local SOUND_LINE=
	[[ $EMU != bochs-3.1 ]] || SOUND_LINE="sound: driver=dummy"
	cat >"$OUT/bochsrc" <<-EOF
		romimage: file="$BIOS", options=fastboot
		vgaromimage: file="$VGABIOS"
		cpu: model=$CPU_MODEL, count=$(machine_field "$MACHINE" vcpus), ips=$IPS
		memory: guest=$MEMORY, host=$MEMORY
		clock: sync=none
		boot: disk
		ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
		ata0-master: type=disk, path="$DISK", mode=flat
		com1: enabled=1, mode=file, dev="$LOG"
		$DISPLAY_LINE
		$SOUND_LINE
		mouse: enabled=0
		panic: action=fatal
		error: action=report, cpu0=$CPU0_ERRORS
		info: action=report
		debug: action=ignore
		log: "$EMU_LOG"
	EOF
	printf 'c\nquit\n' >"$WORK/cmds"
}

start_bochs() {
	local cmd=("$BOCHS" -q -f "$OUT/bochsrc" -rc "$WORK/cmds")
	rm -f "$LOG" "$EMU_LOG"
	: >"$LOG"
	if [[ ${LAUNCH[0]:-} == term ]]; then
		setsid script -qfec "$(printf '%q ' "${cmd[@]}")" /dev/null \
			</dev/null >/dev/null 2>"$WORK/stderr" &
	else
		setsid "${LAUNCH[@]}" "${cmd[@]}" </dev/null >/dev/null 2>"$WORK/stderr" &
	fi
	EMU_PID=$!
}

# stop_bochs: bochs-bin ignores SIGTERM, so SIGKILL it (in the term case it
# is the child of script(1), which then reaps it and exits by itself); the
# whole process group (setsid made it Bochs' own) only as a last resort.
stop_bochs() {
	local kids
	kids=$(pgrep -P "$EMU_PID" || true)
	# shellcheck disable=SC2086 # one pid per word
	end_emulator KILL ${kids:-$EMU_PID}
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[[ -z ${EMU_PID:-} ]] || stop_bochs
	# A killed Bochs leaves its lock file behind: it is ours.
	[[ -z ${STARTED:-} ]] || rm -f "$DISK.lock"
	[[ -z ${WORK:-} ]] || rm -rf "$WORK"
}

# shellcheck disable=SC2317 # called by watch_guest (watchdog.sh)
stop_emulator() { stop_bochs; }

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/ple-boot.XXXXXX")
	EMU_STDERR=$WORK/stderr
	trap cleanup EXIT
	check_bochs
	pick_display
	write_config
	start_bochs
	STARTED=1
	log "Bochs pid $EMU_PID, machine $MACHINE ($CPU_MODEL), $TIMING (ips $IPS) (${DISPLAY_LINE#display_library: }), timeout ${TIMEOUT}s, serial log $LOG"
	watch_guest
}

main "$@"
